"""The activity window W in days, as Dagster sees it.

W is defined once, as the dbt var ``activity_window_days`` in
``dbt_project/dbt_project.yml`` (read by the SQL through the macro
``activity_window_days()`` in ``macros/activity.sql``): MAU counts the W days
ending on a day and churned users left MAU W days after their last activity, so
a day's rolling KPIs read the activity of day - W .. day. Dagster declares that
span as the partition mapping of the rolling models' dependency on the activity
they read (``defs/dbt/translator.py``), and passes the same W to every dbt call
(``dbt_vars``) so the SQL and the graph never disagree.

``BIZINTEL_ACTIVITY_WINDOW_DAYS`` overrides the project's value for a whole
deployment (both Dagster's mapping and the dbt runs it launches); the tests use
it to keep a late-data scenario short. It is read when the definitions load.
"""

from __future__ import annotations

import os

import dagster as dg

from bizintel_dagster import dbt_vars as project_vars  # this module has its own dbt_vars()

VAR = "activity_window_days"
ENV = "BIZINTEL_ACTIVITY_WINDOW_DAYS"
# WAU's 7 days must lie inside the window (the SQL macro refuses the same).
MIN_DAYS = 7


def window_days() -> int:
    raw = os.environ.get(ENV, "").strip()
    value = int(raw) if raw else int(project_vars.get(VAR))
    if value < MIN_DAYS:
        raise ValueError(f"{ENV if raw else VAR}={value}: the activity window must be at least {MIN_DAYS} days")
    return value


def dbt_vars() -> dict[str, int]:
    """The var every dbt invocation gets, so the SQL reads the W the graph declares."""
    return {VAR: window_days()}


def window_mapping() -> dg.TimeWindowPartitionMapping:
    """Day X of a rolling model reads days X - W .. X of the activity: a change on
    day D makes D .. D + W of the rolling model stale."""
    # The first W days have no earlier activity: their missing upstream days are expected.
    return dg.TimeWindowPartitionMapping(start_offset=-window_days(), end_offset=0,
                                         allow_nonexistent_upstream_partitions=True)
