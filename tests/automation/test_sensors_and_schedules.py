"""Sensors through Dagster's sensor testing API (build_sensor_context), schedules
through build_schedule_context; cron strings and time zone from settings."""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from bizintel_dagster import settings
from bizintel_dagster.defs.automation import schedules, sensors

RANGE_START, RANGE_END = sensors.RANGE_START_TAG, sensors.RANGE_END_TAG


@pytest.fixture
def landing(data_env, monkeypatch) -> Path:
    monkeypatch.setenv("BIZINTEL_LANDING_SETTLE_SECONDS", "0")
    root = data_env / "landing"
    root.mkdir()
    return root


def _write(landing: Path, source: str, day: str, name: str, lines: int = 3) -> Path:
    folder = landing / source / f"dt={day}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("".join(json.dumps({"event_id": f"e{i}"}) + "\n" for i in range(lines)))
    return path


def _tick(cursor: str | None = None) -> dg.SensorResult:
    with dg.instance_for_test() as instance:
        return sensors.landing_zone_sensor(dg.build_sensor_context(instance=instance, cursor=cursor))


def _partitions(result: dg.SensorResult) -> list[str]:
    return [r.partition_key or f"{r.tags[RANGE_START]}...{r.tags[RANGE_END]}" for r in result.run_requests or []]


def test_a_new_file_requests_its_partition_once(landing):
    _write(landing, "app_events", "2026-06-03", "app_events_2026-06-03.jsonl")
    first = _tick()
    assert _partitions(first) == ["2026-06-03"]
    (request,) = first.run_requests
    assert request.tags[sensors.TRIGGER_TAG] == "new_files" and request.run_key.startswith("landing:2026-06-03:")
    assert json.loads(first.cursor)["partitions"].keys() == {"2026-06-03"}
    # Same file again: nothing, and the cursor survives into a new context (a restart).
    again = _tick(first.cursor)
    assert not again.run_requests and again.cursor == first.cursor


def test_in_flight_files_are_ignored_until_renamed(landing):
    for name in (".app_events_2026-06-04.jsonl.tmp", "app_events_2026-06-04.jsonl.part", "x.jsonl.tmp"):
        _write(landing, "app_events", "2026-06-04", name)
    result = _tick()
    assert not result.run_requests
    tmp = landing / "app_events" / "dt=2026-06-04" / ".app_events_2026-06-04.jsonl.tmp"
    tmp.rename(tmp.with_name("app_events_2026-06-04.jsonl"))
    assert _partitions(_tick(result.cursor)) == ["2026-06-04"]


def test_a_file_still_being_written_waits_for_the_settle_time(landing, monkeypatch):
    monkeypatch.setenv("BIZINTEL_LANDING_SETTLE_SECONDS", "60")
    path = _write(landing, "app_events", "2026-06-05", "app_events_2026-06-05.jsonl")
    waiting = _tick()
    assert not waiting.run_requests
    old = time.time() - 120
    os.utime(path, (old, old))
    assert _partitions(_tick(waiting.cursor)) == ["2026-06-05"]


def test_contiguous_new_days_make_one_ranged_run_and_a_late_file_reruns_exactly_its_day(landing):
    for day in ("2026-06-01", "2026-06-02", "2026-06-03", "2026-06-06"):
        _write(landing, "app_events", day, f"app_events_{day}.jsonl")
        _write(landing, "location_reports", day, f"location_reports_{day}.jsonl")
    first = _tick()
    assert _partitions(first) == ["2026-06-01...2026-06-03", "2026-06-06"]
    assert all(r.tags[sensors.TRIGGER_TAG] == "new_files" for r in first.run_requests)
    # A late file lands in a past day's folder.
    _write(landing, "app_events", "2026-06-02", "app_events_2026-06-02_late-01.jsonl")
    late = _tick(first.cursor)
    (request,) = late.run_requests
    assert request.partition_key == "2026-06-02" and request.tags[sensors.TRIGGER_TAG] == "late_files"
    assert RANGE_START not in request.tags
    assert not _tick(late.cursor).run_requests


def _tick_at(now: datetime, cursor: str | None = None) -> dg.SensorResult:
    """A tick with Dagster's partition clock set to ``now`` (what the sensor and
    the partitions read as the current time)."""
    with dg.partition_loading_context(effective_dt=now):
        return _tick(cursor)


def test_todays_folder_is_held_until_the_day_has_ended_then_loaded(landing):
    tz = ZoneInfo(settings.timezone())
    _write(landing, "app_events", "2026-06-09", "app_events_2026-06-09.jsonl")
    _write(landing, "app_events", "2026-06-10", "app_events_2026-06-10.jsonl")
    # 23:59 local on 10 June: the 10th is still running, the 9th is complete.
    evening = _tick_at(datetime(2026, 6, 10, 23, 59, 0, tzinfo=tz))
    assert _partitions(evening) == ["2026-06-09"]
    state = json.loads(evening.cursor)
    assert state["held"] == ["2026-06-10"] and "2026-06-10" not in state["partitions"]
    # Still the 10th: nothing new, and the day is still recorded as held (never dropped).
    again = _tick_at(datetime(2026, 6, 10, 23, 59, 30, tzinfo=tz), evening.cursor)
    assert not again.run_requests and "holding 2026-06-10" in again.skip_reason.skip_message
    assert json.loads(again.cursor)["held"] == ["2026-06-10"]
    # First tick after local midnight: the 10th is loaded, once.
    after = _tick_at(datetime(2026, 6, 11, 0, 0, 5, tzinfo=tz), again.cursor)
    (request,) = after.run_requests
    assert request.partition_key == "2026-06-10" and request.tags[sensors.TRIGGER_TAG] == "new_files"
    assert "held" not in json.loads(after.cursor)
    assert not _tick_at(datetime(2026, 6, 11, 0, 1, tzinfo=tz), after.cursor).run_requests


def test_a_changed_file_in_a_sub_folder_reruns_its_day_like_a_top_level_file(landing):
    """The raw loader accounts for files in sub-folders of a dt= folder (rejected,
    their lines counted); the sensor fingerprints the same paths, so a change
    there reloads the day and its line counts stay true."""
    from bizintel_dagster.defs.raw import landing as raw_landing

    _write(landing, "app_events", "2026-06-02", "app_events_2026-06-02.jsonl")
    first = _tick()
    assert _partitions(first) == ["2026-06-02"]
    nested = _write(landing, "app_events", "2026-06-02/retry", "app_events_2026-06-02.jsonl", lines=2)
    added = _tick(first.cursor)
    assert _partitions(added) == ["2026-06-02"] and added.run_requests[0].tags[sensors.TRIGGER_TAG] == "late_files"
    assert not _tick(added.cursor).run_requests
    nested.write_text(nested.read_text() + json.dumps({"event_id": "e9"}) + "\n")
    assert _partitions(_tick(added.cursor)) == ["2026-06-02"]
    # one list for both: what the sensor fingerprints is what the loader reads
    day = datetime(2026, 6, 2).date()
    assert nested in raw_landing.partition_entries(landing, "app_events", day)


def test_a_folder_the_loader_does_not_read_is_not_requested(landing):
    # dt=20260607 parses as a date in Python, but the loader reads dt=YYYY-MM-DD only
    _write(landing, "app_events", "20260607", "app_events_2026-06-07.jsonl")
    assert not _tick().run_requests


def test_folders_outside_the_partitions_are_ignored(landing):
    _write(landing, "app_events", "2025-12-31", "app_events_2025-12-31.jsonl")  # before BIZINTEL_START_DATE
    (landing / "app_events" / "dt=yesterday").mkdir(parents=True)
    assert not _tick().run_requests


def test_kpi_alert_sensor_requests_one_evaluation_over_the_materialized_days():
    with dg.instance_for_test() as instance:
        for day in ("2026-06-01", "2026-06-02", "2026-06-03"):
            instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=["kpis", "kpi_daily"], partition=day))
        first = sensors.kpi_alert_sensor(dg.build_sensor_context(instance=instance))
        (request,) = first.run_requests
        config = request.run_config["ops"][sensors.ALERT_OP_NAME]["config"]
        assert config == {"start_date": "2026-06-01", "end_date": "2026-06-03"}
        assert not sensors.kpi_alert_sensor(dg.build_sensor_context(instance=instance, cursor=first.cursor)).run_requests
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=["kpis", "kpi_daily"], partition="2026-05-20"))
        late = sensors.kpi_alert_sensor(dg.build_sensor_context(instance=instance, cursor=first.cursor))
        assert late.run_requests[0].run_config["ops"][sensors.ALERT_OP_NAME]["config"] == {
            "start_date": "2026-05-20", "end_date": "2026-05-20"}


def test_failed_checks_of_a_successful_run_raise_an_alert_run():
    @dg.asset(key=["demo", "numbers"])
    def numbers():
        return 1

    @dg.asset_check(asset=numbers, name="numbers_are_positive")  # non-blocking: the run succeeds
    def numbers_are_positive():
        return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.WARN,
                                   metadata={"negatives": 3}, description="3 negative numbers")

    with dg.instance_for_test() as instance:
        clean = dg.materialize([numbers], instance=instance)  # a run without failed checks
        quiet = sensors.asset_check_alert_sensor(dg.build_sensor_context(instance=instance))
        assert clean.success and not quiet.run_requests
        checked = dg.materialize([numbers, numbers_are_positive], instance=instance)
        assert checked.success and not checked.get_asset_check_evaluations()[0].passed
        tick = sensors.asset_check_alert_sensor(dg.build_sensor_context(instance=instance, cursor=quiet.cursor))
        (request,) = tick.run_requests
        config = request.run_config["ops"][sensors.ALERT_OP_NAME]["config"]
        assert config["evaluate_rules"] is False
        (failure,) = config["check_failures"]
        assert failure["asset_key"] == "demo/numbers" and failure["check_name"] == "numbers_are_positive"
        assert failure["severity"] == "WARN" and failure["metadata"] == {"negatives": "3"}
        # processed once
        assert not sensors.asset_check_alert_sensor(
            dg.build_sensor_context(instance=instance, cursor=tick.cursor)).run_requests


def test_schedule_crons_and_time_zone_come_from_settings(monkeypatch):
    assert schedules.daily_rollup_schedule.cron_schedule == f"0 {settings.schedule_hour('daily_rollup')} * * *"
    assert schedules.daily_rollup_schedule.execution_timezone == settings.timezone()
    assert schedules.daily_rollup_schedule.job_name == "daily_pipeline_job"
    assert schedules.cron_for("daily_rollup") == "0 3 * * *"  # seed 001 defaults
    assert schedules.cron_for("daily_forecast") == "0 2 * * *"  # the forecasts' on_cron condition
    assert schedules.cron_for("weekly_report") == "0 4 * * 1"
    assert schedules.cron_for("monthly_report") == "30 5 1 * *"  # BIZINTEL_MONTHLY_COHORTS_HOUR
    jobs = {s.name: (s.job_name, s.cron_schedule, s.execution_timezone) for s in (
        schedules.weekly_report_schedule, schedules.monthly_report_schedule, schedules.raw_retention_schedule)}
    tz = settings.timezone()
    assert jobs == {
        "weekly_report_schedule": ("weekly_report_job", "0 4 * * 1", tz),
        "monthly_report_schedule": ("monthly_report_job", "30 5 1 * *", tz),
        "raw_retention_schedule": ("raw_retention_job", "30 1 * * *", tz),
    }
    monkeypatch.setenv("BIZINTEL_WEEKLY_REPORT_HOUR", "6")
    assert schedules.cron_for("weekly_report") == "0 6 * * 1"
    monkeypatch.setenv("BIZINTEL_DAILY_ROLLUP_HOUR", "24")
    with pytest.raises(ValueError, match="BIZINTEL_DAILY_ROLLUP_HOUR"):
        schedules.cron_for("daily_rollup")


def test_daily_rollup_targets_yesterday_in_the_business_time_zone():
    tz = ZoneInfo(settings.timezone())
    # 03:00 on 2 June in Johannesburg is still 1 June in UTC: the partition is 1 June (local yesterday).
    scheduled = datetime(2026, 6, 2, 3, 0, tzinfo=tz)
    assert scheduled.astimezone(timezone.utc).date().isoformat() == "2026-06-02"
    context = dg.build_schedule_context(scheduled_execution_time=scheduled)
    request = schedules.daily_rollup_schedule(context)
    assert request.partition_key == "2026-06-01" and request.run_key == "daily_rollup:2026-06-01"
    # Just after local midnight (still the previous day in UTC): yesterday is the local one.
    context = dg.build_schedule_context(scheduled_execution_time=datetime(2026, 6, 2, 0, 30, tzinfo=tz))
    assert schedules.daily_rollup_schedule(context).partition_key == "2026-06-01"


def test_every_job_of_the_schedules_and_sensors_is_in_the_code_location():
    from bizintel_dagster import runner

    repo = runner.load_definitions().get_repository_def()
    names = {s.name for s in repo.sensor_defs} | {s.name for s in repo.schedule_defs}
    assert {"landing_zone_sensor", "late_data_sensor", "kpi_alert_sensor", "asset_check_alert_sensor",
            "freshness_alert_sensor", "automation_condition_sensor", "daily_rollup_schedule",
            "weekly_report_schedule", "monthly_report_schedule", "raw_retention_schedule"} <= names
    assert repo.get_job("alert_evaluation_job") and repo.get_job("raw_retention_job")
    # what follows its inputs is automated, not scheduled as well (no second run at a wall-clock hour)
    assert not {"daily_forecast_schedule", "monthly_cohorts_schedule"} & names
