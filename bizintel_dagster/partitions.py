"""The daily partitioning shared by every event-level asset, and the pure
functions that turn a partition window into dbt ``--vars``.

A partition is a business-local calendar day: the ``dt=`` folder of the landing
zone, the ``partition_date`` column of every partitioned table.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import dagster as dg

from bizintel_dagster import settings

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=settings.start_date().isoformat(),
    timezone=settings.timezone(),
    end_offset=1,  # today's partition exists, so a running day can be loaded
)

# Ranges are processed in one run: one dbt invocation over the window, one
# transaction per source and day in the raw loader.
single_run_backfill = dg.BackfillPolicy.single_run()


def window_dates(start: datetime | date, end: datetime | date) -> tuple[date, date]:
    """Half-open [start, end) window as dates (Dagster time windows end at the
    next partition's start)."""
    as_date = lambda v: v.date() if isinstance(v, datetime) else v  # noqa: E731
    first, stop = as_date(start), as_date(end)
    if stop <= first:
        raise ValueError(f"empty partition window: {first} .. {stop}")
    return first, stop


def days_in_window(start: datetime | date, end: datetime | date) -> list[date]:
    first, stop = window_dates(start, end)
    return [first + timedelta(days=i) for i in range((stop - first).days)]


def dbt_vars_for_window(start: datetime | date, end: datetime | date) -> dict[str, str]:
    """The dbt vars that scope incremental models to a partition window."""
    first, stop = window_dates(start, end)
    return {"partition_start": first.isoformat(), "partition_end": stop.isoformat()}
