"""Kill runs with SIGKILL mid-ingestion, mid-dbt, inside a Python mart and inside
publish; re-run, and compare every table with an uninterrupted run: identical
contents, no duplicates, and the analysts' copy never shows a partial run. And an
analyst queries the analysts' copy while `bizintel backfill` rewrites it.

One small generated data set per module, run once without interruption; each
scenario starts from a copy of the warehouse state it needs."""

import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pytest

from bizintel_dagster import runner, settings
from bizintel_dagster.defs.analytics import customers, experiments
from bizintel_dagster.defs.segments import assets as segments
from bizintel_dagster.demo import generator
from tests.integration.helpers import AnalystLoop, data_dir, query, table_fingerprints

pytestmark = [pytest.mark.reliability, pytest.mark.integration]

START = date(2026, 6, 1)
LAST = START + timedelta(days=3)
BACKFILL_LAST = START + timedelta(days=2)

# A job in its own process: `job [first last]` (the daily pipeline's window) or
# `job asset/key ...` (those assets of the job, as a re-execution would select them).
JOB = textwrap.dedent("""
    import sys
    from datetime import date
    import dagster as dg
    from bizintel_dagster import runner
    job, args = sys.argv[1], sys.argv[2:]
    d, i = runner.load_definitions(), runner.default_instance()
    if args and "/" in args[0]:
        keys = [dg.AssetKey.from_user_string(key) for key in args]
        result = d.resolve_job_def(job).execute_in_process(instance=i, asset_selection=keys, raise_on_error=False)
    else:
        result = runner.run_job(d, job, i, *[date.fromisoformat(day) for day in args])
    assert result.success
""")

# The analytics job's Python marts, in the order the job runs them.
PYTHON_MARTS = [customers.SEGMENTS_KEY, experiments.RESULTS_KEY, segments.SEGMENT_MEMBERSHIP_KEY]


def _window(job: str) -> tuple[date, ...]:
    return (START, LAST) if job == "daily_pipeline_job" else ()


def _run(job: str, assets=None):
    definitions, instance = runner.load_definitions(), runner.default_instance()
    if assets:
        result = definitions.resolve_job_def(job).execute_in_process(
            instance=instance, asset_selection=assets, raise_on_error=False)
    else:
        result = runner.run_job(definitions, job, instance, *_window(job))
    assert result.success


def _dbt_log_in_group(pgid: int) -> Path | None:
    """The JSON log of the `dbt build` running in the pipeline's process group
    (dagster-dbt gives each invocation its own DBT_LOG_PATH). Found through the
    process table: other tests (pytest-xdist workers) run dbt in the same project."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[2]) != pgid:
                continue
            argv = (stat.parent / "cmdline").read_bytes().split(b"\0")
            if b"build" not in argv or not any(a.endswith(b"dbt") for a in argv):
                continue
            env = dict(v.split(b"=", 1) for v in (stat.parent / "environ").read_bytes().split(b"\0") if b"=" in v)
            cwd = Path(os.readlink(stat.parent / "cwd"))  # DBT_LOG_PATH may be relative to it
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
        return cwd / env[b"DBT_LOG_PATH"].decode() / "dbt.log"
    return None


def _count(log: Path | None, text: str) -> int:
    try:
        return log.read_text().count(text) if log else 0
    except OSError:
        return 0


def _holds_open(pid: int, path: Path) -> bool:
    """Whether process pid has path open (DuckDB keeps its database file open for
    as long as a connection to it lives)."""
    wanted = os.path.realpath(path)
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(fd) == wanted:
                return True
        except OSError:
            continue  # closed while we looked
    return False


def _kill_when(ready, job="daily_pipeline_job", assets=(), timeout=300, poll=0.05):
    """Start `job` (or only `assets` of it) in its own process group and SIGKILL
    the whole group (Dagster and its dbt child) once ready(pgid) is true. True if
    it was killed before it finished on its own."""
    args = [key.to_user_string() for key in assets] or [str(day) for day in _window(job)]
    proc = subprocess.Popen([sys.executable, "-c", JOB, job, *args], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
    deadline = time.monotonic() + timeout
    while not ready(proc.pid) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(poll)
    finished_early = proc.poll() is not None
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return not finished_early


@contextmanager
def _scenario(tmp_path: Path, landing: Path, working: Path, published: Path | None = None):
    """A data directory holding the landing files, a copy of a warehouse state
    and, optionally, of an analysts' copy."""
    shutil.copytree(landing, tmp_path / "landing")
    with data_dir(tmp_path):
        settings.warehouse_path().parent.mkdir(parents=True)
        shutil.copy(working, settings.warehouse_path())
        if published:
            shutil.copy(published, settings.analytics_path())
        yield


@dataclass
class States:
    """Warehouse files of an uninterrupted run, kept by name."""
    root: Path
    _fingerprints: dict[str, dict[str, tuple[int, str]]] = field(default_factory=dict)

    def path(self, name: str) -> Path:
        return self.root / f"{name}.duckdb"

    def keep(self, name: str, source: Path) -> None:
        shutil.copy(source, self.path(name))

    def fingerprints(self, name: str) -> dict[str, tuple[int, str]]:
        if name not in self._fingerprints:
            self._fingerprints[name] = table_fingerprints(self.path(name))
        return self._fingerprints[name]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    """The daily pipeline over the generated days, and the analysts' copy of it."""
    root = tmp_path_factory.mktemp("uninterrupted")
    states = States(root / "states")
    states.root.mkdir()
    with data_dir(root):
        generator.generate(settings.landing_dir(), start=START, days=4, app_events=6_000, seed=9)
        _run("reference_job")
        # where the ingestion and dbt crashes start: reference data, nothing else
        states.keep("reference_only", settings.warehouse_path())
        _run("daily_pipeline_job")
        states.keep("daily", settings.warehouse_path())
        _run("publish_job")
        states.keep("daily_copy", settings.analytics_path())
    return root / "landing", states


# Valid on both copies; the table count tells the copy without marts from the one with them.
ANALYST_SQL = """
    select (select count(*) from duckdb_tables()), (select count(*) from kpis.kpi_daily),
           (select sum(revenue_total_minor) from kpis.kpi_daily), (select count(*) from fused.fct_revenue)
"""


@dataclass
class Backfill:
    process: subprocess.CompletedProcess
    analyst: dict
    copy_before: int  # inodes of the analysts' copy
    copy_after: int


@pytest.fixture(scope="module")
def backfilled(baseline, tmp_path_factory):
    """`bizintel backfill` of three of the days (a real process: the daily
    pipeline over the range, the marts, publish) over the baseline, while an
    analyst queries the analysts' copy in a loop. Its result is also the
    uninterrupted run of the marts that the mart and publish crashes compare with."""
    landing, states = baseline
    root = tmp_path_factory.mktemp("backfill")
    with _scenario(root, landing, states.path("daily"), states.path("daily_copy")):
        copy = settings.analytics_path()
        copy_before = copy.stat().st_ino
        with AnalystLoop(copy, ANALYST_SQL, root, pause=0.2) as analyst:
            process = subprocess.run(
                [Path(sys.executable).with_name("bizintel"), "backfill",
                 "--start", str(START), "--end", str(BACKFILL_LAST)],
                capture_output=True, text=True, env=os.environ.copy(), timeout=900,
            )
            copy_after = copy.stat().st_ino
            seen = analyst.stop()
        assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
        states.keep("full", settings.warehouse_path())
        states.keep("full_copy", copy)
    return Backfill(process, seen, copy_before, copy_after)


def _crash_then_rerun(tmp_path, baseline, ready, poll=0.05, inspect=lambda: None):
    """Kill the daily pipeline from the reference-only state, inspect the crashed
    warehouse, re-run the job. Returns whether it was killed, what inspect saw and
    the tables after the re-run."""
    landing, states = baseline
    with _scenario(tmp_path, landing, states.path("reference_only")):
        killed = _kill_when(ready, poll=poll)
        seen = inspect()
        _run("daily_pipeline_job")
        return killed, seen, table_fingerprints(settings.warehouse_path())


def test_killed_during_ingestion(tmp_path, baseline):
    """The raw loader replaces each source and day in its own transaction: killed
    once the write-ahead log holds committed rows (it has outgrown the few hundred
    bytes of the loader's table definitions), with some partitions loaded and
    others not."""
    def ready(pgid):
        path = settings.warehouse_path()
        try:
            return path.with_name(path.name + ".wal").stat().st_size > 64 * 1024
        except FileNotFoundError:
            return False

    def files_loaded():
        return query("select count(*) from raw.landing_files")[0][0]

    killed, loaded, got = _crash_then_rerun(tmp_path, baseline, ready, poll=0.01, inspect=files_loaded)
    expected = baseline[1].fingerprints("daily")
    assert killed
    assert 0 < loaded < expected["raw.landing_files"][0]
    assert got == expected


INCREMENTAL_STARTED, INCREMENTAL_DONE = "START sql incremental model", "OK created sql incremental model"
CLEANSED_INCREMENTAL_MODELS = 6


def test_killed_inside_the_first_dbt_step(tmp_path, baseline):
    """dbt_cleansed is the first dbt build of the daily job; it is killed when its
    own log says it started writing its second incremental model (the first one
    has replaced its window), i.e. between two of its transactions or in one."""
    log = [None]

    def ready(pgid):
        log[0] = log[0] or _dbt_log_in_group(pgid)
        return _count(log[0], INCREMENTAL_STARTED) >= 2

    killed, _, got = _crash_then_rerun(tmp_path, baseline, ready, poll=0.02)
    assert killed, "the pipeline finished before dbt could be interrupted"
    # dbt's log is final after the kill: some incremental models were written, not all
    assert 1 <= _count(log[0], INCREMENTAL_DONE) < CLEANSED_INCREMENTAL_MODELS
    assert got == baseline[1].fingerprints("daily")


def test_analyst_queries_while_a_cli_backfill_rewrites_and_neither_side_fails(baseline, backfilled):
    """The backfill and the analyst ran in the backfilled fixture, which fails if
    the backfill does; here is what each side saw."""
    states = baseline[1]
    out = backfilled.process.stdout
    for job in ("daily_pipeline_job", "analytics_job", "publish_job"):
        assert re.search(rf"{job}\s+ok in", out), out
    # a backfill of unchanged input: every table the daily pipeline wrote is as before
    full, daily = states.fingerprints("full"), states.fingerprints("daily")
    assert {name: full.get(name) for name in daily} == daily
    assert len(full) > len(daily)  # and it built the marts
    seen = backfilled.analyst
    assert seen["errors"] == []
    assert seen["ok"] > 100
    # only whole copies were read: the previous one, then the new one
    old, new = (repr(query(ANALYST_SQL, path=states.path(name))) for name in ("daily_copy", "full_copy"))
    assert old != new
    assert seen["answers"] == sorted([old, new])
    assert backfilled.copy_after != backfilled.copy_before
    assert seen["queries_per_file"].get(str(backfilled.copy_before), 0) > 0
    assert seen["queries_per_file"].get(str(backfilled.copy_after), 0) > 0


def test_killed_inside_publish_leaves_the_previous_copy(tmp_path, baseline, backfilled):
    """publish_job over the warehouse with the marts, killed while it writes the
    new copy (its temporary file exists), the previous copy (without marts) in place."""
    landing, states = baseline
    previous, new = states.fingerprints("daily_copy"), states.fingerprints("full_copy")
    assert previous != new  # otherwise the old and new copy could not be told apart
    with _scenario(tmp_path, landing, states.path("full"), published=states.path("daily_copy")):
        copy = settings.analytics_path()

        def temp_files():
            return sorted(p.name for p in copy.parent.glob(f".{copy.name}.*"))

        seen, own = [], []

        def ready(pgid):
            # the in-process executor publishes from the run's own process
            own[:] = [f".{copy.name}.{pgid}.tmp"]
            seen[:] = temp_files()
            return bool(seen)

        killed = _kill_when(ready, "publish_job", poll=0.01)
        left_by_crash = temp_files()
        after_crash = table_fingerprints(copy)  # opens read-only, as analysts do
        _run("publish_job")
        republished = table_fingerprints(copy)
        left_after_rerun = temp_files()

    assert killed and seen, "publish finished before its temporary file was seen"
    assert own[0] in seen
    # still there after the kill: the rename that consumes it never happened
    assert own[0] in left_by_crash
    assert after_crash == previous
    assert republished == new
    assert left_after_rerun == []  # the next publish clears what the crash left


def _step_events(instance: dg.DagsterInstance, job: str) -> dict[str, set[str]]:
    """Event types recorded so far per step of the latest run of job."""
    runs = instance.get_run_records(filters=dg.RunsFilter(job_name=job), limit=1)
    if not runs:
        return {}
    kinds = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE}
    steps: dict[str, set[str]] = {}
    for record in instance.get_records_for_run(runs[0].dagster_run.run_id, of_type=kinds).records:
        event = record.event_log_entry.dagster_event
        steps.setdefault(event.step_key, set()).add(event.event_type_value)
    return steps


def test_killed_inside_a_python_mart(tmp_path, baseline, backfilled, monkeypatch):
    """The analytics job's Python marts re-run over a warehouse that has them,
    killed once the last one, segments/segment_membership, has started and
    opened the warehouse: its write is the longest (attribute tables, membership,
    counts and history in one transaction). The run writes to a real
    DAGSTER_HOME, whose event log tells from outside which step is running.
    Then the interrupted run is re-executed."""
    landing, states = baseline
    full = states.fingerprints("full")
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    steps = [key.to_python_identifier() for key in PYTHON_MARTS]
    with dg.DagsterInstance.get() as instance, _scenario(tmp_path, landing, states.path("full")):
        path = settings.warehouse_path()
        held_open = []

        def ready(pgid):
            if "STEP_START" not in _step_events(instance, "analytics_job").get(steps[-1], ()):
                return False
            # the step's connection lives a fraction of a second: watch closely
            until = time.monotonic() + 10
            while time.monotonic() < until:
                if _holds_open(pgid, path):
                    held_open.append(True)
                    return True
                time.sleep(0.001)
            return False

        killed = _kill_when(ready, "analytics_job", assets=PYTHON_MARTS)
        events = _step_events(instance, "analytics_job")
        crashed = table_fingerprints(path)
        _run("analytics_job", PYTHON_MARTS)
        got = table_fingerprints(path)

    assert killed and held_open, "the marts finished before the last one's write could be interrupted"
    # the event log is final after the kill: the other marts ended, the last one never did
    assert [events.get(step) for step in steps] == [{"STEP_START", "STEP_SUCCESS"}] * 2 + [{"STEP_START"}]
    # A run over unchanged data rewrites identical rows, so a table emptied,
    # dropped or half-filled by the kill shows up as a difference.
    assert crashed == full
    assert got == full
