#!/usr/bin/env bash
# System packages the project needs beyond Python:
#   poppler-utils (pdftoppm, pdftotext) to render and read the PDF reports in tests;
#   chromium and chromium-driver (chromium, chromedriver) for the browser test of
#   the Dagster UI (tests/browser), which drives headless Chromium with Selenium.
# Installed with apt when missing; a machine without apt or root must provide
# them itself.
set -euo pipefail
missing=()
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
[ ${#missing[@]} -eq 0 ] && exit 0
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
elif command -v apt-get >/dev/null 2>&1 && command -v sudo >/dev/null 2>&1; then
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
    echo "warning: please install ${missing[*]} (needed by the PDF report and browser tests)" >&2
fi
