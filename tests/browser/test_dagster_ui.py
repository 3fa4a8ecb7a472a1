"""One real `dagster dev` (webserver + daemon + code server) for the whole module,
on a temp DAGSTER_HOME holding a copy of the repo's dagster.yaml and a temp data
directory, with bizintel's schedules and sensors running:

* the Dagster UI in headless Chromium (Selenium): the asset graph lists every
  asset group, the code location's pages list every schedule and sensor
  (names from the loaded Definitions); screenshots go to test-artifacts/;
* the real daemon end to end: landing files appear -> landing_zone_sensor
  launches daily_pipeline_job -> kpi_alert_sensor launches alert_evaluation_job
  -> the generator's injected service-error spike arrives on a real local webhook;
* what that ranged pipeline run shows in the UI, day by day (issue 14), on
  kpis/kpi_daily and cleansed/dq_partition_stats: the Partitions tab has every
  day of the data materialized; the Checks tab lists every check Succeeded and
  each per-day check Passed on each day (its own Partitions tab); the Plots tab
  draws each day's own figure; Overview -> Columns lists the table's columns
  with their DuckDB types;
* two warehouse-writing runs (reference_job) submitted at the same moment
  through GraphQL: the daemon dequeues both, the one-slot `warehouse` pool
  serializes their steps, both succeed; over every run of the module (the
  sensor's pipeline run is launched while the two are in flight) no lock error
  reaches an event log and no two runs' warehouse steps overlap (issue 7).

The two reference_job runs also load the reference seeds the pipeline needs. They
are submitted as soon as the UI is up, so the browser tests run meanwhile.
dagster dev's log and the runs' timings are kept in test-artifacts/.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster_graphql import DagsterGraphQLClient
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from bizintel_dagster import runner, settings
from bizintel_dagster.defs.alerts.assets import ALERT_OP_NAME
from bizintel_dagster.defs.automation.sensors import RANGE_END_TAG, RANGE_START_TAG, TRIGGER_TAG
from bizintel_dagster.demo import generator
from bizintel_dagster.warehouse import WAREHOUSE_POOL
from tests.automation.servers import WebhookServer, free_port
from tests.browser import chrome
from tests.integration.helpers import query

# A hang must not eat CI's time: every wait below also stops at the module's
# deadline, and pytest-timeout is the backstop (signal method, so the fixture's
# teardown still kills dagster dev).
MODULE_BUDGET_SECONDS = 1200
pytestmark = [pytest.mark.integration, pytest.mark.browser,
              pytest.mark.timeout(MODULE_BUDGET_SECONDS, method="signal")]

REPO = settings.REPO_ROOT
ARTIFACTS = REPO / "test-artifacts"
DAGSTER = Path(sys.executable).with_name("dagster")

START = date(2026, 3, 2)
DAYS = 12            # the generator injects its hourly spikes only into windows of >= 12 days...
LANDED_DAYS = 3      # ...but only the days from the service-error spike on land: a third of the runs' events
APP_EVENTS = 3_000   # over all days: tiny, the spikes still stand far above the hourly base rate
SEED = 19
SENSOR_INTERVAL_SECONDS = 3
WEBHOOK_URL_ENV = "BROWSER_E2E_WEBHOOK_URL"
PAIR_TAG = "bizintel-test/concurrent-pair"
SENSOR_TAG = "dagster/sensor_name"
FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}
# What the shipped hourly rules count -> the generator's name for its injected spike.
SPIKE_OF_COLUMN = {"abuse_flags": "abuse_flag", "service_errors": "service_error"}
# DuckDB's message when a second process opens the file ("Could not set lock on
# file ...: Conflicting lock is held"); a bare "lock" word too, not "blocked".
LOCK_ERROR = re.compile(r"could not set lock|conflicting lock|\block\b", re.IGNORECASE)


def _location_name() -> str:
    (entry,) = yaml.safe_load((REPO / "workspace.yaml").read_text())["load_from"]
    return entry["python_module"]["location_name"]


LOCATION = _location_name()


@dataclass
class Stack:
    proc: subprocess.Popen
    port: int
    home: Path
    data: Path
    log: Path
    deadline: float
    hook: WebhookServer
    instance: dg.DagsterInstance
    definitions: dg.Definitions
    staged_landing: Path
    summary: dict
    alert_rules: list[dict]
    pair: list[str] = field(default_factory=list)  # the run ids submitted together

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def landing(self) -> Path:
        return self.data / "landing"

    @property
    def warehouse(self) -> Path:
        return self.data / "warehouse" / "bizintel.duckdb"

    def wait_until(self, what: str, probe, timeout: float, poll: float = 1.0):
        """probe()'s first truthy value; fails naming what it waited for (and the
        log) on timeout, at the module's deadline, or if dagster dev died."""
        end = min(time.monotonic() + timeout, self.deadline)
        while True:
            value = probe()
            if value:
                return value
            if self.proc.poll() is not None:
                pytest.fail(f"dagster dev exited ({self.proc.returncode}) while waiting for {what}; log: {self.log}")
            if time.monotonic() >= end:
                pytest.fail(f"timed out after {timeout:.0f} s (or the module's {MODULE_BUDGET_SECONDS} s budget) "
                            f"waiting for {what}; log: {self.log}")
            time.sleep(poll)


def _alert_config() -> tuple[str, list[dict]]:
    """The shipped hourly-threshold rules (seed 001 thresholds), notifying a
    webhook whose URL the test's server provides, plus the log file."""
    shipped = yaml.safe_load((REPO / "config" / "alerts.yaml").read_text())
    rules = [r for r in shipped["rules"] if r["kind"] == "hourly_threshold"]
    assert rules and {r["metric"] for r in rules} <= set(SPIKE_OF_COLUMN), rules
    config = {
        "version": 1,
        "settings": {"cooldown_minutes": shipped["settings"]["cooldown_minutes"], "default_channels": ["webhook", "log"]},
        "channels": {
            "webhook": {"type": "webhook", "url_env": WEBHOOK_URL_ENV, "retry": {"attempts": 2, "backoff_seconds": 0.2}},
            "log": {"type": "log_file", "path_env": "BIZINTEL_ALERT_LOG"},
        },
        "rules": rules,
    }
    return yaml.safe_dump(config, sort_keys=False), rules


def _stage_landing(data: Path) -> tuple[Path, dict]:
    """Generate DAYS days and stage the LANDED_DAYS starting on the injected
    service-error spike hour (an hourly rule needs no history) in a folder next
    to the landing folder, so the whole tree can appear in one rename."""
    generated, staged = data / "generated", data / "landing.incoming"
    summary = generator.generate(generated, start=START, days=DAYS, app_events=APP_EVENTS, seed=SEED)
    first = date.fromisoformat(summary["spikes"]["service_error"]["date"])
    days = {(first + timedelta(days=i)).isoformat() for i in range(LANDED_DAYS)}
    assert max(days) <= summary["last_date"], (days, summary["last_date"])
    for folder in generated.glob("*/dt=*"):
        if folder.name[3:] in days:
            (staged / folder.parent.name).mkdir(parents=True, exist_ok=True)
            folder.rename(staged / folder.parent.name / folder.name)
    return staged, summary


def _graphql(port: int, query: str, variables: dict | None = None) -> dict | None:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=body,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None  # not listening yet


LOCATIONS_QUERY = """{ workspaceOrError { __typename ... on Workspace { locationEntries {
    name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }"""


def _location_loaded(port: int) -> bool:
    answer = _graphql(port, LOCATIONS_QUERY)
    entries = ((answer or {}).get("data") or {}).get("workspaceOrError", {}).get("locationEntries") or []
    for entry in entries:
        if entry["name"] != LOCATION or entry["loadStatus"] != "LOADED":
            continue
        loaded = entry["locationOrLoadError"] or {}
        if loaded.get("__typename") == "PythonError":
            pytest.fail(f"code location {LOCATION} failed to load: {loaded.get('message')}")
        return loaded.get("__typename") == "RepositoryLocation"
    return False


def _submit_together(port: int, job_name: str, count: int) -> list[str]:
    """Submit `count` runs of a job through GraphQL from `count` threads released
    by one barrier, so the requests reach the webserver at the same moment."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def submit(i: int) -> None:
        client = DagsterGraphQLClient("127.0.0.1", port_number=port, timeout=60)
        try:
            barrier.wait(timeout=30)
            results[i] = client.submit_job_execution(job_name, repository_location_name=LOCATION,
                                                     tags={PAIR_TAG: str(i)})
        except Exception as exc:  # reported below, in the test's thread
            results[i] = exc

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    failures = [r for r in results if not isinstance(r, str)]
    assert not failures, f"submitting {job_name} through GraphQL failed: {failures}"
    return results


def _stop(proc: subprocess.Popen) -> None:
    """SIGKILL for dagster dev's whole process group: webserver, daemon, code
    servers and run workers. A polite Ctrl-C took over 5 s to end them, and
    nothing of this temp instance needs a clean shutdown (the log is a file)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    started = time.monotonic()
    root = tmp_path_factory.mktemp("dagster-dev")
    home, data = root / "dagster_home", root / "data"
    home.mkdir()
    data.mkdir()
    shutil.copy(REPO / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    config_text, rules = _alert_config()
    (root / "alerts.yaml").write_text(config_text)
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / "dagster-dev.log"
    port = free_port()
    with WebhookServer() as hook:
        # Only what this test sets: the worker's own BIZINTEL_* defaults point at
        # the session's data dir; the child derives the rest from BIZINTEL_DATA_DIR.
        env = {k: v for k, v in os.environ.items() if not k.startswith("BIZINTEL_") and k != "DAGSTER_HOME"}
        env.update({
            "PATH": f"{DAGSTER.parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONUNBUFFERED": "1",
            "DAGSTER_HOME": str(home),
            "BIZINTEL_PII_SALT": settings.pii_salt(),
            "BIZINTEL_DATA_DIR": str(data),
            "BIZINTEL_LANDING": str(data / "landing"),
            "BIZINTEL_WAREHOUSE": str(data / "warehouse" / "bizintel.duckdb"),
            "BIZINTEL_ANALYTICS": str(data / "warehouse" / "analytics.duckdb"),
            "BIZINTEL_AUTOMATION_DEFAULT_STATUS": "running",
            "BIZINTEL_SENSOR_INTERVAL_SECONDS": str(SENSOR_INTERVAL_SECONDS),
            # The landing tree appears in one rename (below), never half-written.
            "BIZINTEL_LANDING_SETTLE_SECONDS": "0",
            "BIZINTEL_ALERTS_CONFIG": str(root / "alerts.yaml"),
            "BIZINTEL_ALERT_LOG": str(data / "alerts" / "alerts.log"),
            WEBHOOK_URL_ENV: hook.url,
        })
        # Dagster creates its SQLite storage on first use; create it here, so that
        # dagster dev's webserver, daemon and code server do not race to create
        # and stamp the same fresh database ("alembic_version has more than one
        # head", seen once in a full run of the suite).
        with dg.DagsterInstance.from_config(str(home)) as fresh:
            fresh.get_runs(limit=1)
            fresh.get_latest_materialization_event(dg.AssetKey(["raw", "app_events"]))
            fresh.all_instigator_state()
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [str(DAGSTER), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
                cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        try:
            # While dagster dev starts: the expected names and the landing files
            # (written next to the landing folder, renamed into place later).
            definitions = runner.load_definitions()
            staged, summary = _stage_landing(data)
            with dg.DagsterInstance.from_config(str(home)) as instance:
                stack = Stack(proc=proc, port=port, home=home, data=data, log=log_path,
                              deadline=started + MODULE_BUDGET_SECONDS - 15, hook=hook, instance=instance,
                              definitions=definitions, staged_landing=staged, summary=summary, alert_rules=rules)
                stack.wait_until(f"the webserver on port {port} with code location {LOCATION} loaded",
                                 lambda: _location_loaded(port), timeout=400, poll=0.5)
                stack.pair = _submit_together(port, "reference_job", 2)
                yield stack
        finally:
            _stop(proc)


# ----------------------------------------------------------------------------
# The UI in headless Chromium
# ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(stack):
    driver = chrome.driver()
    try:
        driver.get(stack.url + "/")
        # A fresh DAGSTER_HOME opens the "Join the Dagster community" dialog a
        # second after the first page loads; skip it as a user would, so that it
        # does not cover the screenshots.
        try:
            WebDriverWait(driver, 20).until(
                ec.element_to_be_clickable((By.XPATH, "//*[@role='dialog']//button[normalize-space()='Skip']"))).click()
            WebDriverWait(driver, 10).until(ec.invisibility_of_element_located((By.XPATH, "//*[@role='dialog']")))
        except TimeoutException:
            pass  # no dialog (Dagster only shows it once per DAGSTER_HOME)
        yield driver
    finally:
        driver.quit()


def _page_line_list(driver) -> list[str]:
    try:
        return [line.strip() for line in driver.find_element(By.TAG_NAME, "body").text.splitlines()]
    except StaleElementReferenceException:
        return []  # React replaced the page while we read it


def _page_lines(driver) -> set[str]:
    return set(_page_line_list(driver))


def _assert_png(path: Path) -> None:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR", f"{path} is not a PNG"
    width, height = struct.unpack(">II", head[16:24])
    assert width >= 800 and height >= 600, (path, width, height)


def _show_page(driver, stack: Stack, path: str, expected: set[str], screenshot: str) -> None:
    """Open a UI page, wait until every expected name is shown (the UI is a React
    app: rendered after the document loads), save a screenshot either way."""
    assert expected
    driver.get(stack.url + path)
    shot = ARTIFACTS / screenshot
    try:
        WebDriverWait(driver, 60, poll_frequency=0.5).until(lambda d: expected <= _page_lines(d))
    except TimeoutException:
        pass  # reported by the assertion below, with what is missing
    finally:
        driver.save_screenshot(str(shot))
    missing = expected - _page_lines(driver)
    assert not missing, f"{path} does not show {sorted(missing)} (screenshot: {shot})"
    _assert_png(shot)


def test_the_asset_graph_lists_every_asset_group(browser, stack):
    graph = stack.definitions.get_repository_def().asset_graph
    groups = {graph.get(key).group_name for key in graph.get_all_asset_keys()}
    _show_page(browser, stack, "/asset-groups", groups, "dagster-ui-asset-graph.png")


def test_the_schedules_page_lists_every_schedule(browser, stack):
    schedules = {s.name for s in stack.definitions.get_repository_def().schedule_defs}
    _show_page(browser, stack, f"/locations/{LOCATION}/schedules", schedules, "dagster-ui-schedules.png")


def test_the_sensors_page_lists_every_sensor(browser, stack):
    sensors = {s.name for s in stack.definitions.get_repository_def().sensor_defs}
    _show_page(browser, stack, f"/locations/{LOCATION}/sensors", sensors, "dagster-ui-sensors.png")


# ----------------------------------------------------------------------------
# The daemon end to end: landing files -> pipeline run -> alert run -> webhook
# ----------------------------------------------------------------------------


def _runs_finished(instance: dg.DagsterInstance, run_ids: list[str]) -> list[dg.DagsterRun] | None:
    runs = [instance.get_run_by_id(run_id) for run_id in run_ids]
    return runs if all(r is not None and r.status in FINISHED for r in runs) else None


def _sensor_runs(instance: dg.DagsterInstance, job_name: str, sensor: str) -> list[dg.DagsterRun]:
    return list(instance.get_runs(dg.RunsFilter(job_name=job_name, tags={SENSOR_TAG: sensor})))


IN_PROGRESS = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
               dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]


def _query(stack: Stack, sql: str, copy: Path):
    """Query a copy of the warehouse taken while no run is in progress. Even a
    read-only connection locks the file, and a step of a run the daemon starts
    meanwhile would meet that lock (a retried step: what the concurrency test
    asserts never happens); copying a closed DuckDB file takes no lock."""
    def idle_stat():
        if list(stack.instance.get_runs(dg.RunsFilter(statuses=IN_PROGRESS), limit=1)):
            return None
        files = sorted(stack.warehouse.parent.glob(stack.warehouse.name + "*"))  # with its .wal, if any
        return [(f.name, f.stat().st_mtime_ns, f.stat().st_size) for f in files]

    while True:
        before = stack.wait_until("no run in progress, to copy the warehouse", idle_stat, timeout=300, poll=0.5)
        copy.mkdir(parents=True, exist_ok=True)
        for name, _, _ in before:
            shutil.copy(stack.warehouse.parent / name, copy / name)
        if idle_stat() == before:  # nothing wrote the file while it was copied
            break
    return query(sql, path=copy / stack.warehouse.name)


@pytest.fixture(scope="module")
def landed(stack):
    """The landing files appear once the first reference_job run holds the
    warehouse slot: every pipeline step needs that slot, so none can start before
    the reference seeds are in, and the sensor launches its run while the pair is
    still in flight (three writers at once; the daemon holds it back)."""
    def a_pair_run_holds_the_slot():
        started = any(stack.instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_START).records
                      for run_id in stack.pair)
        return started or _runs_finished(stack.instance, stack.pair)

    stack.wait_until("a reference_job run to start its warehouse step", a_pair_run_holds_the_slot, timeout=400,
                     poll=0.5)
    stack.staged_landing.rename(stack.landing)  # the whole landing tree appears at once
    days = sorted({p.name[3:] for p in stack.landing.glob("*/dt=*")})
    assert days, "the generator wrote no dt= folders"

    def pipeline_runs():
        runs = _sensor_runs(stack.instance, "daily_pipeline_job", "landing_zone_sensor")
        return runs if runs and all(r.status in FINISHED for r in runs) else None

    runs = stack.wait_until("landing_zone_sensor's daily_pipeline_job run to finish", pipeline_runs, timeout=600,
                            poll=0.5)
    return {"days": days, "pipeline_runs": runs}


def test_new_landing_files_launch_one_pipeline_run_that_succeeds(landed):
    (run,) = landed["pipeline_runs"]
    assert run.status == dg.DagsterRunStatus.SUCCESS, run.run_id
    assert run.tags[TRIGGER_TAG] == "new_files"
    assert (run.tags[RANGE_START_TAG], run.tags[RANGE_END_TAG]) == (landed["days"][0], landed["days"][-1])


def test_the_warehouse_has_daily_kpis_for_every_landed_day(landed, stack, tmp_path):
    kpi_days = [d.isoformat() for (d,) in _query(stack, "select metric_date from kpis.kpi_daily order by 1", tmp_path)]
    assert kpi_days == landed["days"]


# ----------------------------------------------------------------------------
# The pipeline run's days in the UI (issue 14): Partitions, Checks, Plots and
# Columns of two assets, after the landing sensor's ranged run over every day
# ----------------------------------------------------------------------------

# asset -> a figure of its per-day metadata whose plot must draw each day's own value
PLOTTED = {"kpis/kpi_daily": "dau", "cleansed/dq_partition_stats": "lines_in"}
INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"}


def _asset_path(asset: str) -> str:
    return "/assets/" + asset


def _data_range(landed: dict) -> str:
    """The landed days as the UI's partition range syntax."""
    return f"[{landed['days'][0]}...{landed['days'][-1]}]"


def _wait_for(driver, what: str, probe, screenshot: str | None = None, show: str | None = None,
              timeout: float = 60):
    """probe(driver)'s first truthy value (the UI renders after the document
    loads, and again as its GraphQL answers arrive); on timeout the test fails
    naming what it waited for. The screenshot is saved either way, scrolled to
    the element the XPath ``show`` finds first, if any."""
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.5,
                             ignored_exceptions=(StaleElementReferenceException,)).until(probe)
    except TimeoutException:
        expected = getattr(probe, "expected", None)  # a _shows_lines probe: say which lines are missing
        missing = f", missing {sorted(expected - _page_lines(driver))}" if expected else ""
        pytest.fail(f"the UI did not show {what} within {timeout:.0f} s{missing}"
                    + (f" (screenshot: {ARTIFACTS / screenshot})" if screenshot else ""))
    finally:
        if screenshot:
            for element in driver.find_elements(By.XPATH, show or "/.."):
                driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
                break
            driver.save_screenshot(str(ARTIFACTS / screenshot))


def _shows_lines(expected: set[str]):
    def probe(driver) -> bool:
        return expected <= _page_lines(driver)
    probe.expected = expected
    return probe


def _click_check_tab(driver, label: str) -> None:
    """Click a tab of the open check (the asset has a Partitions tab of its own)."""
    check_tabs = "//*[@role='tablist'][.//*[@role='tab' and normalize-space()='Execution history']]"
    _wait_for(driver, f"the check's {label!r} tab", ec.element_to_be_clickable(
        (By.XPATH, f"{check_tabs}//*[@role='tab' and normalize-space()='{label}']"))).click()


def _set_partition_range(driver, text: str) -> None:
    """Type a range into the partition range box, as a user narrows the view."""
    box = _wait_for(driver, "the partition range box", lambda d: next(
        (i for i in d.find_elements(By.TAG_NAME, "input") if (i.get_attribute("value") or "").startswith("[")), None))
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(text, Keys.ENTER)


def _check_specs(stack: Stack, asset: str) -> dict[str, bool]:
    """check name -> whether it is partitioned (judges day by day), from the definitions."""
    graph = stack.definitions.get_repository_def().asset_graph
    key = dg.AssetKey.from_user_string(asset)
    return {c.name: graph.get(c).partitions_def is not None for c in graph.asset_check_keys if c.asset_key == key}


CHECK_EXECUTIONS_QUERY = """query($assetKey: AssetKeyInput!, $checkName: String!) {
    assetCheckExecutions(assetKey: $assetKey, checkName: $checkName, limit: 1000) { runId partition status } }"""


def _check_executions(stack: Stack, asset: str, check: str, run_id: str) -> dict[str | None, list[str]]:
    """partition -> statuses of a run's executions of a check, through the query
    the check's Execution history tab makes."""
    answer = _graphql(stack.port, CHECK_EXECUTIONS_QUERY,
                      {"assetKey": {"path": asset.split("/")}, "checkName": check})
    assert answer and "errors" not in answer, answer
    out: dict[str | None, list[str]] = {}
    for execution in answer["data"]["assetCheckExecutions"]:
        if execution["runId"] == run_id:
            out.setdefault(execution["partition"], []).append(execution["status"])
    return out


def _check_row_status(driver, name: str) -> str | None:
    """The status line of the Checks tab's row for a check. The row shows a
    long dbt test name cut in the middle; its full name is the row's title."""
    return driver.execute_script("""
        for (const title of document.querySelectorAll('[class*="checkRow"] [title]')) {
            if (title.getAttribute('title') === arguments[0]) {
                const lines = title.closest('[class*="checkRow"]').innerText.split('\\n').map(l => l.trim());
                return lines[lines.length - 1];
            }
        }
        return null;""", name)


@pytest.mark.parametrize("asset", list(PLOTTED))
def test_the_partitions_tab_shows_every_day_of_the_data_materialized(browser, stack, landed, asset):
    """Partitions tab over the data's days: each materialized, none missing or
    failed (days after the data's last day are partitions too, without data);
    the last day's panel names the pipeline run that materialized it."""
    days = landed["days"]
    name = asset.split("/")[-1]
    run_id = landed["pipeline_runs"][0].run_id
    browser.get(f"{stack.url}{_asset_path(asset)}?view=partitions&default_range={_data_range(landed)}"
                f"&partition={days[-1]}")
    _wait_for(browser, f"{asset}'s {len(days)} days all materialized",
              _shows_lines({f"{len(days)} Partitions Selected", f"Materialized ({len(days)})", "Missing (0)",
                            "Failed (0)", *days, run_id[:8]}),
              f"dagster-ui-{name}-partitions.png")


@pytest.mark.parametrize("asset", list(PLOTTED))
def test_the_checks_tab_shows_each_check_passed_and_each_daily_check_passed_on_every_day(
        browser, stack, landed, asset):
    """Every check of the asset is listed as Succeeded (found by its full name
    in the tab's filter box: long dbt test names are cut in the middle); each
    check that judges day by day shows every day of the data Passed on its own
    Partitions tab (none missing, skipped or failed), and the run stored one
    passed result per day for it."""
    run_id = landed["pipeline_runs"][0].run_id
    days = landed["days"]
    name = asset.split("/")[-1]
    checks = _check_specs(stack, asset)
    daily = sorted(c for c, partitioned in checks.items() if partitioned)
    assert daily, f"{asset} has no per-day check: the test would prove nothing"
    browser.get(f"{stack.url}{_asset_path(asset)}?view=checks")
    _wait_for(browser, f"{asset}'s Checks tab listing {len(checks)} checks", _shows_lines({f"Checks ({len(checks)})"}))
    search = browser.find_element(By.CSS_SELECTOR, "input[placeholder='Filter checks']")
    statuses = {}
    for check in sorted(checks):
        search.send_keys(Keys.CONTROL, "a")
        search.send_keys(check)
        statuses[check] = _wait_for(browser, f"the row of {check}", lambda d, c=check: _check_row_status(d, c))
    search.send_keys(Keys.CONTROL, "a")
    search.send_keys(Keys.BACKSPACE)
    _wait_for(browser, "the whole list again", lambda d: _check_row_status(d, sorted(checks)[0]),
              f"dagster-ui-{name}-checks.png")
    assert statuses == {check: "Succeeded" for check in checks}
    for check in daily:
        assert _check_executions(stack, asset, check, run_id) == {day: ["SUCCEEDED"] for day in days}, check
        browser.get(f"{stack.url}{_asset_path(asset)}?view=checks&checkDetail={check}")
        _click_check_tab(browser, "Partitions")
        _set_partition_range(browser, _data_range(landed))
        _wait_for(browser, f"{check} passed on each of the {len(days)} days",
                  _shows_lines({f"{len(days)} Partitions Selected", f"Passed ({len(days)})", "Missing (0)",
                                "Skipped (0)", "Failed (0)", "Execution Failed (0)", *days}),
                  f"dagster-ui-{name}-check-{check}.png")


@pytest.mark.parametrize("asset", list(PLOTTED))
def test_dbt_test_checks_show_a_result_for_each_day_not_skipped(browser, stack, landed, asset):
    run_id = landed["pipeline_runs"][0].run_id
    days = landed["days"]
    window_checks = sorted(c for c, partitioned in _check_specs(stack, asset).items() if not partitioned)
    assert window_checks, f"{asset} has no dbt test: the test would prove nothing"
    for check in window_checks:
        assert _check_executions(stack, asset, check, run_id) == {day: ["SUCCEEDED"] for day in days}, check
    browser.get(f"{stack.url}{_asset_path(asset)}?view=checks&checkDetail={window_checks[0]}")
    _click_check_tab(browser, "Execution history")
    # its only executions are the run's, one row each (an unpartitioned check's rows name no day)
    _wait_for(browser, f"{window_checks[0]}'s execution history with {len(days)} passed results, none skipped",
              lambda d: _page_line_list(d).count("Passed") == len(days) and "Skipped" not in _page_line_list(d),
              f"dagster-ui-{asset.split('/')[-1]}-dbt-check-history.png")


CANVAS_DRAWN = """
    const canvas = arguments[0];
    const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 3; i < pixels.length; i += 4) { if (pixels[i] > 0) return true; }
    return false;"""

EVENT_SERIES_QUERY = """query($assetKey: AssetKeyInput!) { assetOrError(assetKey: $assetKey) { ... on Asset {
    assetEventHistory(limit: 100, eventTypeSelectors: [MATERIALIZATION]) { results {
      ... on MaterializationEvent { runId partition metadataEntries { label
        ... on IntMetadataEntry { intValue } ... on FloatMetadataEntry { floatValue } } } } } } } }"""


def _plotted_series(stack: Stack, asset: str, label: str, run_id: str) -> dict[str, float]:
    """partition -> the figure, from the query the Plots tab's event view draws
    (the last 100 materializations) for the run's materializations."""
    answer = _graphql(stack.port, EVENT_SERIES_QUERY, {"assetKey": {"path": asset.split("/")}})
    assert answer and "errors" not in answer, answer
    series = {}
    for event in answer["data"]["assetOrError"]["assetEventHistory"]["results"]:
        for entry in event["metadataEntries"]:
            if event["runId"] == run_id and entry["label"] == label:
                series[event["partition"]] = entry.get("intValue", entry.get("floatValue"))
    return series


@pytest.mark.parametrize("asset", list(PLOTTED))
def test_the_plots_tab_draws_each_days_own_figure(browser, stack, landed, asset, tmp_path):
    """The Plots tab draws the figure (its chart's canvas is drawn on), and the
    series it requests holds one value per day, not one figure repeated: for
    kpi_daily the days' DAU as the warehouse holds them. Plotted by event: the
    partition view plots the latest 120 partitions, days after this data."""
    label, days = PLOTTED[asset], landed["days"]
    browser.get(f"{stack.url}{_asset_path(asset)}?view=overview")
    for toggle in ("Plots", "Events"):
        _wait_for(browser, f"the {toggle!r} button", ec.element_to_be_clickable(
            (By.XPATH, f"//button[normalize-space()='{toggle}']"))).click()
    # the canvas under the chart's title (the Columns table may name the figure too)
    chart = f"//*[normalize-space(text())='{label}']/ancestor::*[.//canvas][1][count(.//canvas)=1]//canvas"
    _wait_for(browser, f"the {label} chart drawn",
              lambda d: any(c.size["width"] > 0 and d.execute_script(CANVAS_DRAWN, c)
                            for c in d.find_elements(By.XPATH, chart)),
              f"dagster-ui-{asset.split('/')[-1]}-plots.png", show=chart)
    series = _plotted_series(stack, asset, label, landed["pipeline_runs"][0].run_id)
    assert sorted(series) == days and len(set(series.values())) > 1, series
    if asset == "kpis/kpi_daily":
        dau = _query(stack, "select metric_date::varchar, dau from kpis.kpi_daily", tmp_path)
        assert series == dict(dau)


COLUMNS_TABLE = "//table[thead[contains(., 'Column name')]]"
SHOWN_COLUMN = {"kpis/kpi_daily": "dau", "cleansed/dq_partition_stats": "lines_total"}  # in the screenshot
COLUMNS_JS = """
    for (const table of document.querySelectorAll('table')) {
        const head = table.querySelector('thead');
        if (!head || !head.innerText.includes('Column name')) continue;
        return Array.from(table.querySelectorAll('tbody tr')).map(
            row => Array.from(row.children).slice(0, 2).map(cell => cell.innerText.trim()));
    }
    return null;"""


@pytest.mark.parametrize("asset", list(PLOTTED))
def test_the_overview_lists_every_column_with_its_type(browser, stack, landed, asset, tmp_path):
    """Overview -> Columns: the table's columns as DuckDB holds them, each with
    its type (kpi_daily's dau an integer)."""
    schema, table = asset.split("/")
    browser.get(f"{stack.url}{_asset_path(asset)}?view=overview")
    shown_row = f"{COLUMNS_TABLE}//td[normalize-space()='{SHOWN_COLUMN[asset]}']"
    rows = _wait_for(browser, f"{asset}'s columns", lambda d: d.execute_script(COLUMNS_JS),
                     f"dagster-ui-{table}-columns.png", show=shown_row)
    shown = {name: column_type for name, column_type in rows}
    held = dict(_query(stack, f"""select column_name, data_type from information_schema.columns
                                  where table_schema = '{schema}' and table_name = '{table}'""", tmp_path))
    assert shown == held
    if asset == "kpis/kpi_daily":
        assert shown["dau"] in INTEGER_TYPES, shown["dau"]


@pytest.fixture(scope="module")
def alerted(stack, landed):
    if any(r.status != dg.DagsterRunStatus.SUCCESS for r in landed["pipeline_runs"]):
        pytest.fail("the pipeline run failed, so no KPIs to alert on")
    wanted = {date.fromisoformat(d) for d in landed["days"]}

    def alert_runs():
        runs = _sensor_runs(stack.instance, "alert_evaluation_job", "kpi_alert_sensor")
        if not runs or any(r.status not in FINISHED for r in runs):
            return None
        covered = set()
        for r in runs:
            config = r.run_config["ops"][ALERT_OP_NAME]["config"]
            first, last = date.fromisoformat(config["start_date"]), date.fromisoformat(config["end_date"])
            covered |= {first + timedelta(days=i) for i in range((last - first).days + 1)}
        return runs if wanted <= covered else None

    return stack.wait_until("kpi_alert_sensor's alert_evaluation_job runs over every landed day", alert_runs,
                            timeout=300, poll=0.5)


def test_kpi_materializations_launch_alert_runs_that_succeed(alerted):
    assert alerted and all(r.status == dg.DagsterRunStatus.SUCCESS for r in alerted), \
        [(r.run_id, r.status) for r in alerted]
    assert all(r.tags[TRIGGER_TAG] == "kpis_materialized" for r in alerted)


def test_the_injected_hourly_spike_reaches_the_webhook(alerted, landed, stack, tmp_path):
    by_rule: dict[str, list[dict]] = {}
    for message in stack.hook.received:
        payload = message["json"]
        _, _, rule = payload["blocks"][0]["text"]["text"].partition(": ")
        by_rule.setdefault(rule, []).append(payload)
    spikes = stack.summary["spikes"]
    expected = 0
    for rule in stack.alert_rules:
        spike = spikes[SPIKE_OF_COLUMN[rule["metric"]]]
        hour = f"{spike['date']} {spike['local_hour']:02d}:00"
        texts = [p["text"] for p in by_rule.get(rule["name"], [])]
        if spike["date"] not in landed["days"]:
            assert texts == [], (rule["name"], "its spike did not land, the base rate is far below the threshold")
            continue
        expected += 1
        # exactly the injected hour, once, with the rule's severity
        assert len(texts) == 1 and hour in texts[0], (rule["name"], hour, texts)
        assert f"[{rule['severity'].upper()}]" in texts[0]
    assert expected, "no injected spike landed: the test would prove nothing"
    (sent,) = _query(stack, "select count(*) from alerts.alert_deliveries where channel = 'webhook' and status = 'sent'",
                     tmp_path)
    assert sent[0] == len(stack.hook.received)


# ----------------------------------------------------------------------------
# Two runs launched at once (issue 7), and every other run the daemon ran
# ----------------------------------------------------------------------------


def _describe_run(stack: Stack, run: dg.DagsterRun) -> dict:
    """Status, timings and warehouse-step intervals of a run, from the instance."""
    record = stack.instance.get_run_record_by_id(run.run_id)
    events = [r.event_log_entry for r in stack.instance.get_records_for_run(run.run_id).records]
    job = stack.definitions.resolve_job_def(run.job_name)
    warehouse_steps = {node.name for node in job.graph.nodes if node.definition.pool == WAREHOUSE_POOL}
    starts, ends = {}, {}
    for entry in events:
        kind = entry.dagster_event.event_type if entry.dagster_event else None
        if kind == dg.DagsterEventType.STEP_START:
            starts[entry.step_key] = entry.timestamp
        elif kind in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
            ends[entry.step_key] = entry.timestamp
    return {
        "run_id": run.run_id, "job": run.job_name, "status": run.status.value,
        "created": record.create_timestamp.timestamp(), "started": record.start_time, "ended": record.end_time,
        # a step without an end event (its run was killed) held the slot until its run ended
        "warehouse_steps": {key: [starts[key], ends.get(key, record.end_time)] for key in starts
                            if key in warehouse_steps},
        "event_types": sorted({e.dagster_event.event_type_value for e in events if e.dagster_event}),
        "lock_messages": [f"{m.group(0)!r} in {e.dagster_event.event_type_value if e.dagster_event else 'log'}: "
                          f"{(e.user_message or '')[:300]}"
                          for e in events if (m := LOCK_ERROR.search(dg.serialize_value(e)))],
    }


def _relative(report: list[dict], t0: float, pair: list[str]) -> list[dict]:
    return [{**r, **{k: round(r[k] - t0, 2) for k in ("created", "started", "ended") if r[k]},
             "warehouse_steps": {k: [round(v - t0, 2) for v in span if v] for k, span in r["warehouse_steps"].items()},
             "pair": r["run_id"] in pair} for r in report]


@pytest.fixture(scope="module")
def pair_runs(stack):
    runs = stack.wait_until("both reference_job runs to finish", lambda: _runs_finished(stack.instance, stack.pair),
                            timeout=600)
    return [_describe_run(stack, r) for r in runs]


@pytest.fixture(scope="module")
def finished_runs(stack, pair_runs, landed):
    """Every finished run, with the sensor's pipeline run among them; written to
    test-artifacts/concurrent-runs.json with times relative to the first run."""
    pair = [r["run_id"] for r in pair_runs]
    runs = [r for r in stack.instance.get_runs() if r.status in FINISHED]
    report = sorted((_describe_run(stack, r) for r in runs), key=lambda r: r["created"])
    (ARTIFACTS / "concurrent-runs.json").write_text(json.dumps(_relative(report, report[0]["created"], pair), indent=2))
    return {r["run_id"]: r for r in report}


def test_two_runs_launched_at_once_both_succeed(pair_runs):
    a, b = pair_runs
    for run in (a, b):
        assert run["status"] == "SUCCESS", (run["run_id"], run["event_types"])
        assert run["warehouse_steps"], f"{run['job']} ran no step in the warehouse pool: the test would prove nothing"
    assert max(a["created"], b["created"]) < min(a["started"], b["started"]), "the runs were not queued together"


def test_no_run_shows_a_lock_error_or_overlaps_another_runs_warehouse_step(finished_runs, stack):
    """Over everything the daemon ran: the pair, the sensor's pipeline run
    launched while they ran, the alert runs."""
    assert {r["job"] for r in finished_runs.values()} >= {"reference_job", "daily_pipeline_job"}, finished_runs
    for run in finished_runs.values():
        assert not run["lock_messages"], (run["job"], run["run_id"], run["lock_messages"])
        # a lock collision would surface as a retried (transient) or failed step
        assert not {"STEP_UP_FOR_RETRY", "STEP_RESTARTED", "STEP_FAILURE"} & set(run["event_types"]), run
    intervals = [(start, end, run["run_id"], step) for run in finished_runs.values()
                 for step, (start, end) in run["warehouse_steps"].items()]
    overlaps = [(x, y) for i, x in enumerate(intervals) for y in intervals[i + 1:]
                if x[2] != y[2] and x[0] < y[1] and y[0] < x[1]]
    assert not overlaps, overlaps
