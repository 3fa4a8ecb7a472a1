"""The daily partitioning shared by every event-level asset, and the pure
functions that turn a partition window into dbt ``--vars``.

A partition is a business-local calendar day: the ``dt=`` folder of the landing
zone, the ``partition_date`` column of every partitioned table. The partitions
end at the last *complete* day in the business time zone (``last_day``): a day
is loaded once it has ended there, never while its files are still arriving.
"""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from bizintel_dagster import settings


def daily_partitions_in(timezone: str, start: date) -> dg.DailyPartitionsDefinition:
    """Daily partitions of business-local days from ``start``. ``end_offset=0``:
    Dagster's last partition is the last day whose local midnight-to-midnight
    window has ended in ``timezone``, so today's partition does not exist yet."""
    return dg.DailyPartitionsDefinition(start_date=start.isoformat(), timezone=timezone, end_offset=0)


daily_partitions = daily_partitions_in(settings.timezone(), settings.start_date())


def first_day() -> date:
    return daily_partitions.start.date()


def last_day(now: datetime | None = None, timezone: str | None = None) -> date:
    """The last complete business day at ``now``: yesterday in the business time
    zone (the partitions' own, unless ``timezone`` is given), the same day as
    Dagster's last daily partition. Every caller that would say "today" asks
    this instead. ``now`` defaults to Dagster's partition clock
    (``dg.partition_loading_context``), so a test sets one clock for this and
    for the partitions definitions alike."""
    if now is None:
        with dg.partition_loading_context() as ctx:
            now = ctx.effective_dt
    if now.tzinfo is None:
        raise ValueError(f"last_day needs an aware time, got {now!r}")
    local = now.astimezone(ZoneInfo(timezone or daily_partitions.timezone))
    return local.date() - timedelta(days=1)


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
    end = last_day()
    if last > end:
        return (f"data for {last} is after the last daily partition {end} (the last complete day in "
                f"BIZINTEL_TIMEZONE={daily_partitions.timezone}): a day is loaded once it has ended; "
                f"check the dt= folder or BIZINTEL_TIMEZONE")
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
