"""The daily partitioning shared by every event-level asset, and the pure
functions that turn a partition window into dbt ``--vars``.

A partition is a business-local calendar day: the ``dt=`` folder of the landing
zone, the ``partition_date`` column of every partitioned table.
"""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta

import dagster as dg

from bizintel_dagster import settings

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=settings.start_date().isoformat(),
    timezone=settings.timezone(),
    end_offset=1,  # today's partition exists, so a running day can be loaded
)



def first_day() -> date:
    return daily_partitions.start.date()


def uncovered_days_problem(first: date, last: date) -> str | None:
    """One line saying why days first..last are not all daily partitions (and
    what to set), or None when they are. Checked before a run starts: Dagster
    would only refuse the range after the reference job had run."""
    start = first_day()
    if first < start:
        if os.environ.get("BIZINTEL_START_DATE", "").strip():
            return (f"data for {first} is before the first daily partition {start} "
                    f"(BIZINTEL_START_DATE={start}): set BIZINTEL_START_DATE={first}, "
                    f"or unset it to start where the landing files start")
        return (f"data for {first} is before the first daily partition {start} (the earliest landing day when "
                f"the definitions loaded): set BIZINTEL_START_DATE={first}, or reload the definitions")
    last_key = daily_partitions.get_last_partition_key()
    if last_key and last > date.fromisoformat(last_key):
        return (f"data for {last} is after the last daily partition {last_key} (today + 1 in "
                f"BIZINTEL_TIMEZONE={settings.timezone()}): check the dt= folder or BIZINTEL_TIMEZONE")
    return None


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
