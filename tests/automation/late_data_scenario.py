"""The late-data scenario of test_late_data.py, run in a child process.

The activity window is read when the definitions load (it is the partition
mapping of the rolling step), so a short window (BIZINTEL_ACTIVITY_WINDOW_DAYS,
set by the test) needs a process of its own. Two worlds over the same files:

- ``late``: the landing files of START .. LAST through the landing sensor, then
  a late file for LATE_DAY that adds active users; the landing sensor's run and
  the late-data sensor's runs are executed the way the daemon would launch them
  (their tags, partitions and job), under a real instance (DAGSTER_HOME with the
  repository's dagster.yaml: the warehouse pool).
- ``clean``: a copy of the late world's warehouse whose rolling KPIs and
  roll-ups are then rebuilt over every day in one run: what they must be for
  the activity now in the warehouse. (A fresh load of every file would also
  re-check that re-running a day replaces it, which tests/integration covers,
  and costs twice this module's budget on a 2-core machine.)

The test reads both warehouses and the late world's instance; this script only
writes what it saw in ``result.json`` (requests, run ids, the KPIs before the
late file).

    python -m tests.automation.late_data_scenario ROOT
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from datetime import date, timedelta
from pathlib import Path

START = date(2026, 3, 2)
DAYS = 11
LAST = START + timedelta(days=DAYS - 1)
LATE_DAY = START + timedelta(days=1)
# Active users of the last day are copied into LATE_DAY's late file: outside the
# windows of D .. D + W - 1, so each of those days gains users in its MAU.
DONOR_DAY = LAST
APP_EVENTS = 6_000
ACTIVITY_TYPES = ("session_start", "product_view")
KPI_SQL = """select metric_date::varchar, dau, wau, mau, stickiness, churned_users
             from kpis.kpi_daily order by 1"""
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def _execute(definitions, sensor, request, instance) -> dict:
    """A sensor's request executed the way the daemon launches it: the sensor's
    job, the request's tags (a range), partition and run config."""
    job = definitions.resolve_job_def(sensor.job_name)
    result = job.execute_in_process(run_config={**QUIET, **(request.run_config or {})}, instance=instance,
                                    tags=request.tags, partition_key=request.partition_key, raise_on_error=False)
    return {"job": sensor.job_name, "run_id": result.run_id, "success": result.success,
            "partition_key": request.partition_key, "tags": dict(request.tags)}


def write_late_file(landing: Path) -> Path:
    """Activity events of DONOR_DAY's users, re-dated to midday of LATE_DAY (UTC
    noon is inside that business day in the session's zone, Africa/Johannesburg),
    with new ids."""
    donor = landing / "app_events" / f"dt={DONOR_DAY}" / f"app_events_{DONOR_DAY}.jsonl"
    lines = []
    for line in donor.read_bytes().splitlines():
        try:  # the generator injects defective lines: copy well-formed events only
            event = json.loads(line)
        except ValueError:
            continue
        if (isinstance(event, dict) and event.get("event_type") in ACTIVITY_TYPES
                and event.get("user_id") and event.get("event_id")):
            event["event_id"] = f"late-{event['event_id']}"
            event["occurred_at"] = f"{LATE_DAY}T12:00:00.000Z"
            lines.append(json.dumps(event, separators=(",", ":")))
    late = landing / "app_events" / f"dt={LATE_DAY}" / f"app_events_{LATE_DAY}_late-77.jsonl"
    late.write_text("\n".join(lines) + "\n")
    return late


def _kpis(duckdb, settings) -> list:
    with duckdb.connect(str(settings.warehouse_path()), read_only=True) as con:
        return [list(row) for row in con.execute(KPI_SQL).fetchall()]


def main(root: Path) -> None:
    import dagster as dg
    import duckdb

    from bizintel_dagster import runner, settings
    from bizintel_dagster.defs.automation import sensors
    from bizintel_dagster.demo import generator
    from tests.integration.helpers import data_dir

    out: dict = {"seconds": {}}
    started = time.monotonic()

    def mark(stage: str) -> None:  # where the time goes, for the suite's budget
        out["seconds"][stage] = round(time.monotonic() - started, 1)
    late_root, clean_root = root / "late", root / "clean"
    with data_dir(late_root):
        generator.generate(settings.landing_dir(), start=START, days=DAYS, app_events=APP_EVENTS, seed=11)
        definitions = runner.load_definitions()
        with dg.DagsterInstance.get() as instance:
            mark("definitions loaded")
            assert runner.run_job(definitions, "reference_job", instance, log_level="WARNING").success
            mark("reference")
            landing_tick = sensors.landing_zone_sensor(dg.build_sensor_context(instance=instance))
            out["initial_runs"] = [_execute(definitions, sensors.landing_zone_sensor, r, instance)
                                   for r in landing_tick.run_requests]
            mark("initial load")
            # A first load makes nothing stale: each day's rolling KPIs were built after its activity.
            quiet = sensors.late_data_sensor(dg.build_sensor_context(instance=instance))
            out["initial_late_requests"] = len(quiet.run_requests or [])
            out["kpis_before"] = _kpis(duckdb, settings)
            # the last event of the initial load: what comes after is the late file's doing
            out["storage_id_before_late_file"] = max(
                instance.get_records_for_run(r["run_id"], limit=1, ascending=False).records[0].storage_id
                for r in out["initial_runs"])

            write_late_file(settings.landing_dir())
            late_tick = sensors.landing_zone_sensor(dg.build_sensor_context(instance=instance,
                                                                            cursor=landing_tick.cursor))
            out["late_landing_requests"] = [_request(r) for r in late_tick.run_requests]
            out["late_runs"] = [_execute(definitions, sensors.landing_zone_sensor, r, instance)
                                for r in late_tick.run_requests]
            mark("late day run")
            window_tick = sensors.late_data_sensor(dg.build_sensor_context(instance=instance, cursor=quiet.cursor))
            out["window_requests"] = [_request(r) for r in window_tick.run_requests]
            out["window_runs"] = [_execute(definitions, sensors.late_data_sensor, r, instance)
                                  for r in window_tick.run_requests]
            mark("rolling window run")
            again = sensors.late_data_sensor(dg.build_sensor_context(instance=instance, cursor=window_tick.cursor))
            out["requests_after_rerun"] = len(again.run_requests or [])

    # The reference answer: the same warehouse with the rolling step and the
    # roll-ups rebuilt over every day in one run (a full run of that layer).
    (clean_root / "warehouse").mkdir(parents=True)
    shutil.copy(late_root / "warehouse" / "bizintel.duckdb", clean_root / "warehouse" / "bizintel.duckdb")
    with data_dir(clean_root), dg.DagsterInstance.ephemeral() as instance:
        assert runner.run_job(definitions, "rolling_window_job", instance, START, LAST, log_level="WARNING").success
    mark("clean world")
    (root / "result.json").write_text(json.dumps(out, indent=1, default=str))


def _request(request) -> dict:
    return {"partition_key": request.partition_key, "tags": dict(request.tags)}


if __name__ == "__main__":
    main(Path(sys.argv[1]))
