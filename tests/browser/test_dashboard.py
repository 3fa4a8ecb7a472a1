"""The live dashboard (`bizintel dashboard`, Streamlit) in headless Chromium, over an
analysts' copy published from a small generated business (two ISO weeks):

* every page loads and renders without an exception; screenshots in test-artifacts/;
* the executive headline shows, for the chosen period and the one before, exactly
  the metric layer's figures (MetricReader on the same copy, formatted as the
  reports format them);
* a filter changes them: the period radio (week -> month) and a marketing source
  (through the page's URL parameter), each equal to the metric layer's answer;
* a marketing source from input that is HTML and markdown reaches no page as markup.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.parse
import urllib.request
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By

from bizintel_dagster import dashboard, metrics, runner, settings
from bizintel_dagster.dashboard import RENDERED
from bizintel_dagster.dashboard import data
from bizintel_dagster.demo import generator
from bizintel_dagster.reporting.content import HEADLINE
from bizintel_dagster.reporting.model import format_value
from tests.automation.servers import free_port
from tests.browser import chrome
from tests.integration.helpers import data_dir

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.timeout(600, method="signal")]

ARTIFACTS = settings.REPO_ROOT / "test-artifacts"
START = date(2026, 3, 2)  # a Monday: two whole ISO weeks
DAYS = 14
LAST = START + timedelta(days=DAYS - 1)
WEEK_DAY = START + timedelta(days=9)  # in the second week (2026-W11), compared with W10
# a first-touch source that is markup (staging lower-cases it): it must stay text
HOSTILE = '<img src=x id=xss onerror=alert(1)>[click](http://evil.example)'
PAGES = {"executive": "", "data-integrity": "data-integrity"}  # the default page is served at /


def _inject_source(landing: Path) -> int:
    replaced = 0
    for path in landing.glob("app_events/dt=*/*.jsonl"):
        text = path.read_text(encoding="utf-8", errors="surrogateescape")  # the generator writes bad bytes too
        needle = '"marketing_source":"instagram"'
        replaced += text.count(needle)
        path.write_text(text.replace(needle, f'"marketing_source":{json.dumps(HOSTILE)}'), encoding="utf-8",
                        errors="surrogateescape")
    return replaced


@pytest.fixture(scope="module")
def copy(tmp_path_factory):
    """The analysts' copy of a two-week business (reference, daily pipeline, publish)."""
    root = tmp_path_factory.mktemp("dashboard")
    with data_dir(root):
        generator.generate(settings.landing_dir(), start=START, days=DAYS, app_events=2_000, seed=5)
        assert _inject_source(settings.landing_dir()) > 0
        definitions, instance = runner.load_definitions(), runner.default_instance()
        for job, window in (("reference_job", ()), ("daily_pipeline_job", (START, LAST)), ("publish_job", ())):
            assert runner.run_job(definitions, job, instance, *window).success, job
        yield root, settings.analytics_path()


@pytest.fixture(scope="module")
def server(copy):
    root, path = copy
    port = free_port()
    env = {**os.environ, "BIZINTEL_DATA_DIR": str(root), "BIZINTEL_ANALYTICS": str(path),
           "BIZINTEL_WAREHOUSE": str(root / "warehouse" / "bizintel.duckdb"), "BIZINTEL_LANDING": str(root / "landing")}
    env.pop("DAGSTER_HOME", None)  # the page says where check results would come from
    log = ARTIFACTS / "dashboard_streamlit.log"
    ARTIFACTS.mkdir(exist_ok=True)
    with log.open("w") as out:
        proc = subprocess.Popen(dashboard.command(port), env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=2).status == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None, f"streamlit exited ({proc.returncode}); log: {log}"
            assert time.monotonic() < deadline, f"streamlit not healthy after 60 s; log: {log}"
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def browser(server):
    driver = chrome.driver()
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def reader(copy):
    with duckdb.connect(str(copy[1]), read_only=True) as con:
        yield metrics.MetricReader(con)


def _open(browser, url: str, page: str, **params) -> None:
    browser.get(f"{url}/{PAGES[page]}" + ("?" + urllib.parse.urlencode(params) if params else ""))
    _settle(browser)


def _settle(browser, label: str = "", timeout: float = 90) -> None:
    """Until the script run for the period ``label`` is over: its last element (the
    render time, dashboard.RENDERED) is drawn and the running indicator is gone."""
    end = time.monotonic() + timeout
    while True:
        assert time.monotonic() < end, "the page did not finish rendering"
        time.sleep(0.3)
        if browser.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]'):
            return
        done = browser.find_elements(By.XPATH, f"//*[@data-testid='stCaptionContainer'][contains(., '{RENDERED}')]"
                                     f"[contains(., 'for {label}')]")
        if done and not browser.find_elements(By.CSS_SELECTOR, '[data-testid="stStatusWidget"]'):
            return


def _errors(browser) -> list[str]:
    return [e.text for e in browser.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]')]


def _headline(browser) -> dict[str, tuple[str, str]]:
    """Label -> (current, previous) as shown in the headline table."""
    for _ in range(5):
        try:
            (table,) = browser.find_elements(By.CSS_SELECTOR, '[data-testid="stTable"] table')
            rows = {}
            for tr in table.find_elements(By.CSS_SELECTOR, "tbody tr"):
                cells = [c.text.strip() for c in tr.find_elements(By.CSS_SELECTOR, "th, td")]
                rows[cells[0]] = (cells[1], cells[2])
            return rows
        except StaleElementReferenceException:
            time.sleep(0.5)
    raise AssertionError("the headline table kept changing")


def _expected(reader, period: data.Period, chosen: dict | None = None) -> dict[str, tuple[str, str]]:
    currency = settings.get("BIZINTEL_REPORTING_CURRENCY")
    names = [m for _, m, _ in HEADLINE]
    shown = {}
    for p in (period, period.previous()):
        (row,), _ = data.filtered(reader, names, chosen or {}, p.start, p.end)
        for label, metric, kind in HEADLINE:
            shown.setdefault(label, []).append(format_value(row.get(metric), kind, currency))
    return {label: tuple(values) for label, values in shown.items()}


def _screenshot(browser, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / f"dashboard_{name}.png"))


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_loads_without_errors(browser, server, page):
    _open(browser, server, page, period="week", day=WEEK_DAY.isoformat())
    _screenshot(browser, page)
    assert not _errors(browser), _errors(browser)
    body = browser.find_element(By.TAG_NAME, "body").text
    assert settings.timezone() in body and settings.get("BIZINTEL_REPORTING_CURRENCY") in body
    assert "2026-W11" in body  # the chosen period is the one shown


def test_executive_headline_is_the_metric_layers_and_the_period_filter_changes_it(browser, server, reader):
    _open(browser, server, "executive", period="week", day=WEEK_DAY.isoformat())
    week = _headline(browser)
    assert week == _expected(reader, data.period("week", WEEK_DAY))
    assert week["Revenue (total, net of refunds)"][0] not in ("n/a", "R 0.00")

    month_radio = browser.find_element(
        By.XPATH, "//*[@data-testid='stSidebar']//label[.//p[normalize-space()='Month']]")
    month_radio.click()
    _settle(browser, "2026-03")
    month = _headline(browser)
    _screenshot(browser, "executive_month")
    assert not _errors(browser), _errors(browser)
    assert month == _expected(reader, data.period("month", WEEK_DAY))
    assert month["Revenue (total, net of refunds)"] != week["Revenue (total, net of refunds)"]


def test_a_marketing_source_filter_gives_that_sources_figures(browser, server, reader):
    period = data.period("week", WEEK_DAY)
    sources = data.filter_values(reader, "user__marketing_source", period.previous().start, period.end)
    source = next(s for s in sources if s != HOSTILE.lower())
    _open(browser, server, "executive", period="week", day=WEEK_DAY.isoformat(), user__marketing_source=source)
    shown = _headline(browser)
    _screenshot(browser, "executive_by_source")
    assert not _errors(browser), _errors(browser)
    assert shown == _expected(reader, period, {"user__marketing_source": source})
    unfiltered = _expected(reader, period)
    assert shown["Revenue (total, net of refunds)"] != unfiltered["Revenue (total, net of refunds)"]
    assert shown["Days with data"][0] == "n/a"  # a per-day metric is not split by a user's source


def test_a_name_from_input_is_text_not_markup(browser, server, reader):
    period = data.period("week", WEEK_DAY)
    assert HOSTILE.lower() in data.filter_values(reader, "user__marketing_source", period.previous().start, period.end)
    for page in PAGES:
        _open(browser, server, page, period="week", day=WEEK_DAY.isoformat())
        assert not browser.find_elements(By.ID, "xss"), page
        assert not browser.find_elements(By.CSS_SELECTOR, "a[href^='http://evil']"), page
    # chosen as the filter, it is a value of the select box and a group-by row, nothing more
    _open(browser, server, "executive", period="week", day=WEEK_DAY.isoformat(),
          user__marketing_source=HOSTILE.lower())
    assert not _errors(browser), _errors(browser)
    assert not browser.find_elements(By.ID, "xss")
    assert not browser.find_elements(By.CSS_SELECTOR, "a[href^='http://evil']")
    _screenshot(browser, "executive_hostile_source")
