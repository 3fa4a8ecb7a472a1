"""Schedules (seed 001) for the calendar-bound work, in the business time zone
(BIZINTEL_TIMEZONE), each at a configurable local hour:

- ``daily_rollup_schedule``: ``daily_pipeline_job`` for yesterday's partition at
  BIZINTEL_DAILY_ROLLUP_HOUR (default 03:00);
- ``weekly_report_schedule``: ``weekly_report_job`` on Mondays at BIZINTEL_WEEKLY_REPORT_HOUR (04:00);
- ``monthly_report_schedule``: ``monthly_report_job`` on the 1st at
  BIZINTEL_MONTHLY_COHORTS_HOUR:30 (05:30);
- ``raw_retention_schedule``: ``raw_retention_job`` daily at 01:30.

What follows its inputs is not scheduled but automated (``conditions.py``): the
marts and the analysts' copy after each load, the forecasts once a day after
BIZINTEL_DAILY_FORECAST_HOUR (``cron_for("daily_forecast")``) once the day's
KPIs are in.
"""

from __future__ import annotations

import dagster as dg

from bizintel_dagster import partitions, settings
from bizintel_dagster.defs.automation.retention import raw_retention_job
from bizintel_dagster.defs.jobs import daily_pipeline_job, monthly_report_job, weekly_report_job
from bizintel_dagster.runner import TRIGGER_TAG


# calendar-bound work -> cron with {hour}, the hour from BIZINTEL_<NAME>_HOUR
CRONS = {
    "daily_rollup": "0 {hour} * * *",
    "daily_forecast": "0 {hour} * * *",  # the forecasts' automation condition (conditions.py)
    "weekly_report": "0 {hour} * * 1",
    "monthly_report": "30 {hour} 1 * *",
}
# The monthly report keeps the hour setting of the monthly marts it once followed.
_HOUR_SETTING = {"monthly_report": "monthly_cohorts"}


def cron_for(name: str) -> str:
    return CRONS[name].format(hour=settings.schedule_hour(_HOUR_SETTING.get(name, name)))


def default_status() -> dg.DefaultScheduleStatus:
    return dg.DefaultScheduleStatus.RUNNING if settings.automation_running_by_default() else dg.DefaultScheduleStatus.STOPPED


@dg.schedule(
    name="daily_rollup_schedule",
    cron_schedule=cron_for("daily_rollup"),
    execution_timezone=settings.timezone(),
    job=daily_pipeline_job,
    default_status=default_status(),
    description="Yesterday's partition (business time zone), raw -> KPIs, every day at BIZINTEL_DAILY_ROLLUP_HOUR.",
)
def daily_rollup_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    # The last complete business day at the tick (not the daemon's wall clock):
    # a late tick still runs the day it was scheduled for.
    day = partitions.last_day(context.scheduled_execution_time).isoformat()
    return dg.RunRequest(run_key=f"daily_rollup:{day}", partition_key=day, tags={TRIGGER_TAG: "daily_rollup"})


raw_retention_schedule = dg.ScheduleDefinition(
    name="raw_retention_schedule",
    cron_schedule="30 1 * * *",
    execution_timezone=settings.timezone(),
    job=raw_retention_job,
    default_status=default_status(),
    description="Delete raw records older than BIZINTEL_RAW_RETENTION_DAYS, daily at 01:30.",
)


def _scheduled(name: str, job, description: str) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name=f"{name}_schedule",
        cron_schedule=cron_for(name),
        execution_timezone=settings.timezone(),
        job=job,
        default_status=default_status(),
        tags={TRIGGER_TAG: name},
        description=description,
    )


weekly_report_schedule = _scheduled(
    "weekly_report", weekly_report_job, "Reports for the last complete week, Mondays at BIZINTEL_WEEKLY_REPORT_HOUR.")
monthly_report_schedule = _scheduled(
    "monthly_report", monthly_report_job,
    "Reports for the last complete month, on the 1st at BIZINTEL_MONTHLY_COHORTS_HOUR:30.")
