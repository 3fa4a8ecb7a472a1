"""Kill the pipeline with SIGKILL mid-ingestion and mid-dbt, re-run, and compare
every warehouse table with an uninterrupted run: identical contents, no
duplicates, and the analysts' copy never shows a partial run."""

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from bizintel_dagster import runner, settings
from bizintel_dagster.demo import generator
from tests.integration.helpers import data_dir, table_fingerprints

pytestmark = [pytest.mark.reliability, pytest.mark.integration]

START = date(2026, 6, 1)
LAST = START + timedelta(days=3)

PIPELINE = textwrap.dedent(f"""
    from datetime import date
    from bizintel_dagster import runner
    d, i = runner.load_definitions(), runner.default_instance()
    assert runner.run_job(d, "daily_pipeline_job", i, date.fromisoformat("{START}"), date.fromisoformat("{LAST}")).success
""")


def _run(job: str):
    definitions, instance = runner.load_definitions(), runner.default_instance()
    window = (START, LAST) if job == "daily_pipeline_job" else ()
    assert runner.run_job(definitions, job, instance, *window).success


def _dbt_in_group(pgid: int) -> bool:
    """Whether a `dbt build` runs in the pipeline's process group. The process
    table, not dbt's target folder: other tests (pytest-xdist workers) run dbt too."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[2]) != pgid:
                continue
            argv = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
        if b"build" in argv and any(a.endswith(b"dbt") for a in argv):
            return True
    return False


def _kill_when(ready, timeout=120):
    """Start the pipeline in its own process group and SIGKILL the whole group
    (Dagster and its dbt child) once ready(pgid) is true."""
    proc = subprocess.Popen([sys.executable, "-c", PIPELINE], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
    deadline = time.monotonic() + timeout
    while not ready(proc.pid) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    finished_early = proc.poll() is not None
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return not finished_early


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    root = tmp_path_factory.mktemp("uninterrupted")
    with data_dir(root):
        generator.generate(settings.landing_dir(), start=START, days=4, app_events=6_000, seed=9)
        _run("reference_job")
        # the state every crash starts from: reference data loaded, nothing else
        shutil.copy(settings.warehouse_path(), root / "reference_only.duckdb")
        _run("daily_pipeline_job")
        yield root, table_fingerprints(settings.warehouse_path())


def _crash_then_rerun(tmp_path, baseline_root, ready_factory):
    shutil.copytree(baseline_root / "landing", tmp_path / "landing")
    with data_dir(tmp_path):
        settings.warehouse_path().parent.mkdir(parents=True)
        shutil.copy(baseline_root / "reference_only.duckdb", settings.warehouse_path())
        killed = _kill_when(ready_factory())
        _run("daily_pipeline_job")
        return killed, table_fingerprints(settings.warehouse_path())


def test_killed_during_ingestion(tmp_path, baseline):
    root, expected = baseline

    def ready_factory():
        # the first write of the daily job is the raw loader's transaction
        wal = settings.warehouse_path().with_name(settings.warehouse_path().name + ".wal")
        return lambda pgid: wal.exists()

    killed, got = _crash_then_rerun(tmp_path, root, ready_factory)
    assert killed
    assert got == expected


def test_killed_inside_the_first_dbt_step(tmp_path, baseline):
    """dbt_cleansed is the first dbt build of the daily job; kill it a few
    seconds in, past dbt's start-up, while it writes."""
    root, expected = baseline

    def ready_factory():
        started = []

        def ready(pgid):
            if not started and _dbt_in_group(pgid):
                started.append(time.monotonic())
            return bool(started) and time.monotonic() - started[0] > 5

        return ready

    killed, got = _crash_then_rerun(tmp_path, root, ready_factory)
    assert killed, "the pipeline finished before dbt could be interrupted"
    assert got == expected
