"""DuckDB allows one writing process. When another process holds the warehouse,
a pipeline step waits and retries with backoff instead of failing the run."""

import subprocess
import sys
import textwrap
import threading
import time
import uuid
from datetime import date

import dagster as dg
import pytest

from bizintel_dagster import runner, settings
from bizintel_dagster.demo import generator
from tests.integration.helpers import data_dir, query

pytestmark = pytest.mark.integration

DAY = date(2026, 6, 1)

# Generous: a busy machine (load 8-14) takes minutes to start dbt, never this long.
BUDGET_SECONDS = 600

HOLDER = textwrap.dedent("""
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])  # a writer: holds the file lock
    print("locked", flush=True)
    if sys.argv[2] == "release-on-stdin":
        sys.stdin.readline()
    else:
        time.sleep(float(sys.argv[2]))
    con.close()
""")


def _hold_lock(seconds: float | None = None) -> subprocess.Popen:
    """A process holding the warehouse's write lock for `seconds`, or (None)
    until _release() is called."""
    until = "release-on-stdin" if seconds is None else str(seconds)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(settings.warehouse_path()), until],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    return holder


def _release(holder: subprocess.Popen) -> None:
    holder.stdin.write("release\n")
    holder.stdin.close()
    holder.wait(timeout=60)


def _run_step(step: str):
    job = runner.load_definitions().resolve_job_def("daily_pipeline_job")
    started = time.monotonic()
    result = job.execute_in_process(
        instance=runner.default_instance(), partition_key=DAY.isoformat(), raise_on_error=False,
        op_selection=[step],
    )
    retries = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    return result, retries, time.monotonic() - started


def _run_step_releasing_on_retry(step: str, holder: subprocess.Popen):
    """Run `step` in a thread; release the lock once the step's first
    STEP_UP_FOR_RETRY is in the event log (or fail if the step ends without one)."""
    run_id = str(uuid.uuid4())
    job = runner.load_definitions().resolve_job_def("daily_pipeline_job")
    outcome: dict = {}
    with dg.instance_for_test() as instance:
        def execute() -> None:
            try:
                outcome["result"] = job.execute_in_process(
                    instance=instance, partition_key=DAY.isoformat(), raise_on_error=False,
                    op_selection=[step], run_id=run_id)
            except BaseException as exc:  # re-raised in the test's thread
                outcome["error"] = exc

        started = time.monotonic()
        worker = threading.Thread(target=execute, daemon=True)
        worker.start()
        while not instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_UP_FOR_RETRY):
            assert worker.is_alive(), f"{step} ended without a retry: {outcome}"
            assert time.monotonic() - started < BUDGET_SECONDS, f"no retry of {step} within {BUDGET_SECONDS} s"
            time.sleep(0.2)
        _release(holder)
        worker.join(timeout=BUDGET_SECONDS)
        assert not worker.is_alive(), f"{step} still running {BUDGET_SECONDS} s after the lock was released"
    if "error" in outcome:
        raise outcome["error"]
    result = outcome["result"]
    retries = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    return result, retries, time.monotonic() - started


def test_writers_wait_for_a_held_lock_instead_of_failing(tmp_path):
    with data_dir(tmp_path):
        generator.generate(settings.landing_dir(), start=DAY, days=1, app_events=500, seed=5)
        assert runner.run_job(runner.load_definitions(), "reference_job", runner.default_instance()).success

        # The raw loader connects through DuckDBResource, which retries the connection.
        holder = _hold_lock(3)
        raw, _, raw_elapsed = _run_step("raw_landing")
        holder.wait(timeout=30)

        # dbt opens the file itself: the step fails on the lock and Dagster retries it
        # with backoff (policies.retry_transient). The lock is held until that
        # first retry is observed in the run's event log, then released, so a
        # later attempt must pass, however long dbt takes to start.
        holder = _hold_lock()
        try:
            dbt, dbt_retries, dbt_elapsed = _run_step_releasing_on_retry("dbt_cleansed", holder)
        finally:
            if holder.poll() is None:
                holder.kill()
        loaded = query("select count(*) from raw.app_events")[0][0]
        cleansed = query("select count(*) from cleansed.cleansed_app_events")[0][0]
    assert raw.success and raw_elapsed >= 2 and loaded > 0
    assert dbt.success and cleansed > 0
    assert dbt_retries, "the locked dbt step should have been retried"
    assert dbt_elapsed >= 2
