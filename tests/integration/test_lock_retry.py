"""DuckDB allows one writing process. When another process holds the warehouse,
a pipeline step waits and retries with backoff instead of failing the run."""

import subprocess
import sys
import textwrap
import time
from datetime import date

import duckdb
import pytest

from bizintel_dagster import runner, settings
from bizintel_dagster.demo import generator
from tests.integration.helpers import data_dir, query

pytestmark = pytest.mark.integration

DAY = date(2026, 6, 1)

HOLDER = textwrap.dedent("""
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])  # a writer: holds the file lock
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
    con.close()
""")


def _hold_lock(seconds: float) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(settings.warehouse_path()), str(seconds)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    return holder


def _run_step(step: str):
    job = runner.load_definitions().resolve_job_def("daily_pipeline_job")
    started = time.monotonic()
    result = job.execute_in_process(
        instance=runner.default_instance(), partition_key=DAY.isoformat(), raise_on_error=False,
        op_selection=[step],
    )
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
        # with backoff (policies.retry_transient). dbt needs several seconds to start
        # (more on a busy machine), so the lock is held long enough for its first
        # attempt to meet it and short enough for a later attempt (backoff 2+4+8+16 s) to pass.
        holder = _hold_lock(25)
        dbt, dbt_retries, dbt_elapsed = _run_step("dbt_cleansed")
        holder.wait(timeout=30)
        loaded = query("select count(*) from raw.app_events")[0][0]
        cleansed = query("select count(*) from cleansed.cleansed_app_events")[0][0]
    assert raw.success and raw_elapsed >= 2 and loaded > 0
    assert dbt.success and cleansed > 0
    assert dbt_retries, "the locked dbt step should have been retried"
    assert dbt_elapsed >= 2
