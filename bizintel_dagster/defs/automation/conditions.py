"""Declarative automation: which assets follow their inputs when the daemon runs,
by group, in one mapping read by the dbt translator and the Python assets' specs
(like the freshness policies in ``defs/freshness.py``). ``automation_condition_sensor``
(sensors.py) evaluates them; like every bizintel sensor it starts stopped unless
``BIZINTEL_AUTOMATION_DEFAULT_STATUS=running``.

- The analysts' copy **follows its inputs**: once an input was updated (a day
  loaded or re-run, a mart rebuilt, a report or alert written) and nothing
  upstream or itself is still running, it is published again.
- The unpartitioned marts (KPI roll-ups, subscriptions, cohorts, customers,
  experiments, segments) follow their inputs the same way **once every input
  has been built** (a daily input: at least one day), so loading the reference
  seeds into a fresh warehouse does not start marts over tables that do not
  exist yet. They are rebuilt over every day, in one run: a mart whose input is
  requested in the same tick is requested with it.
- The forecasts are calendar-bound: once a day, after
  BIZINTEL_DAILY_FORECAST_HOUR, as soon as each of their inputs has been updated
  since that hour (``on_cron``): a forecast follows the day's KPIs, never runs
  before them.
- The daily layers are started by the landing sensor and the daily rollup
  schedule (they need a day), the reports by the weekly / monthly schedules (the
  period is run config, which an automated run cannot carry), the alerts by
  their sensors (dates, check failures): none has a condition.
"""

from __future__ import annotations

from functools import cache

import dagster as dg

from bizintel_dagster import settings
from bizintel_dagster.defs.automation.schedules import cron_for
from bizintel_dagster.defs.jobs import ANALYTICS_GROUPS


def follow_inputs() -> dg.AutomationCondition:
    """Requested once any input was updated since it was last requested or built,
    when no input and no run of its own is in progress. Unlike ``eager()`` it
    does not wait for every upstream day to exist: a mart over all days has
    daily inputs with days never loaded."""
    return (
        dg.AutomationCondition.any_deps_updated().since_last_handled()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
    ).with_label("follow_inputs")


def daily_after_inputs(name: str) -> dg.AutomationCondition:
    """Once per tick of ``cron_for(name)`` (business time zone), when every input
    has been updated since that tick."""
    return dg.AutomationCondition.on_cron(cron_for(name), settings.timezone())


def follow_built_inputs() -> dg.AutomationCondition:
    """``follow_inputs`` once every input exists (or is requested in the same tick)."""
    inputs_built = dg.AutomationCondition.all_deps_match(
        ~dg.AutomationCondition.missing() | dg.AutomationCondition.will_be_requested())
    return (follow_inputs() & inputs_built).with_label("follow_built_inputs")


@cache
def conditions() -> dict[str, dg.AutomationCondition]:
    return {
        **{group: follow_built_inputs() for group in ANALYTICS_GROUPS},
        "forecasts": daily_after_inputs("daily_forecast"),
        "publish": follow_inputs(),
    }


def condition_for_group(group: str | None) -> dg.AutomationCondition | None:
    return conditions().get(group or "")
