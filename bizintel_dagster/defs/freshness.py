"""Freshness per layer: when each group's assets are expected to have been
materialized again, in one mapping (group -> policy) that the dbt translator and
the Python asset specs read. Dagster's freshness daemon (part of `dagster dev`
and `dagster-daemon run`) evaluates the policies, shows PASS / WARN / FAIL on the
asset pages, and records each asset's state, which ``freshness_alert_sensor``
(defs/automation/sensors.py) reads: an asset turning WARN or FAIL raises one
alert through the alert channels.

The windows follow what starts each layer (defs/automation/):

- the daily layers (raw -> KPIs) are loaded every day (landing sensor, daily
  rollup at BIZINTEL_DAILY_ROLLUP_HOUR), and the marts and forecasts follow them
  by automation (conditions.py): a materialization older than a day plus
  ``DAILY_WARN_GRACE`` warns, plus ``DAILY_FAIL_GRACE`` fails (a missed or late
  daily load, or a layer that did not follow it);
- the reports are rendered weekly (Mondays) and monthly by schedule: each week's
  must exist by ``SCHEDULED_GRACE`` after the weekly tick.

Reference seeds, alerts and the analysts' copy have no cadence of their own
(loaded on demand, or after every run) and no policy."""

from __future__ import annotations

from datetime import timedelta
from functools import cache

import dagster as dg

from bizintel_dagster import settings
from bizintel_dagster.defs.automation.schedules import cron_for
from bizintel_dagster.defs.jobs import ANALYTICS_GROUPS, DAILY_GROUPS

DAILY_WARN_GRACE = timedelta(hours=2)
DAILY_FAIL_GRACE = timedelta(hours=6)
# Time after a scheduled tick within which its run is expected to have finished.
SCHEDULED_GRACE = timedelta(hours=3)
# How long before the deadline a materialization still counts for that tick (a
# run launched by hand the day before a schedule counts).
SCHEDULED_LOWER_BOUND = timedelta(days=1)



def _daily() -> dg.FreshnessPolicy:
    return dg.FreshnessPolicy.time_window(
        fail_window=timedelta(days=1) + DAILY_FAIL_GRACE, warn_window=timedelta(days=1) + DAILY_WARN_GRACE
    )


def _after_schedule(schedule: str) -> dg.FreshnessPolicy:
    """Deadline = the schedule's cron shifted by SCHEDULED_GRACE (whole hours), on
    the tick's own day (capped at 23:00: a late tick gets a shorter grace, never a
    deadline before its run)."""
    minute, hour, *rest = cron_for(schedule).split()
    deadline_hour = min(int(hour) + int(SCHEDULED_GRACE.total_seconds() // 3600), 23)
    return dg.FreshnessPolicy.cron(
        deadline_cron=" ".join([minute, str(deadline_hour), *rest]),
        lower_bound_delta=SCHEDULED_LOWER_BOUND,
        timezone=settings.timezone(),
    )


@cache
def freshness_policies() -> dict[str, dg.FreshnessPolicy]:
    # Cached: the translator asks once per dbt node, and a cron policy costs
    # ~10 ms to build (Dagster measures its smallest interval), which made up most
    # of the definitions' load time in every Dagster process.
    return {
        **{group: _daily() for group in (*DAILY_GROUPS, *ANALYTICS_GROUPS, "forecasts")},
        "reports": _after_schedule("weekly_report"),
    }


def freshness_policy_for_group(group: str | None) -> dg.FreshnessPolicy | None:
    return freshness_policies().get(group or "")
