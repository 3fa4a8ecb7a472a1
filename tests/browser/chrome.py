"""Headless Chromium for the browser tests: the distribution's chromium and
chromedriver (scripts/install_system_packages.sh), never a downloaded driver."""

from __future__ import annotations

from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
INSTALL_HINT = "install them with `bash scripts/install_system_packages.sh` (run by `make install` / `make test`)"


def driver(window: str = "1600,1000") -> webdriver.Chrome:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).is_file()]
    if missing:
        pytest.fail(f"{', '.join(missing)} not found: {INSTALL_HINT}")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", f"--window-size={window}"):
        options.add_argument(arg)
    # An explicit driver path: Selenium Manager never looks for (or downloads) one.
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
