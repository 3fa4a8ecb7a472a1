"""Volume anomaly checks: did each source land about as many lines on a day as it
usually does on that weekday?

Traffic has a weekly rhythm (event days, weekends), so a day is compared with the
same weekday of the ``BASELINE_WEEKS`` weeks before it, not with yesterday. The
expected range is the baseline's median +- ``MAD_K`` scaled median absolute
deviations, widened to at least ``MIN_RELATIVE_BAND`` of the median (a very
steady baseline would otherwise flag ordinary noise). A day whose source landed
nothing counts 0 lines and fails. With fewer than ``MIN_BASELINE_DAYS`` baseline
days (the first weeks of data) the day is not judged: it passes, saying so.

Warn-level: a spike or a drop is worth a look but may be real (a sold-out event),
so it never stops the pipeline. One result per day of the run's window, each
recorded on its own partition, with the observed count and the expected range as
numbers, so the check's Plots tab draws them across partitions.
"""

from collections.abc import Iterator

import dagster as dg
from dagster_duckdb import DuckDBResource

from bizintel_dagster.defs.quality.checks import check_window
from bizintel_dagster.defs.quality.partition_results import DayResult, per_partition
from bizintel_dagster.defs.raw.landing import SOURCES
from bizintel_dagster.partitions import daily_partitions
from bizintel_dagster.warehouse import WAREHOUSE_POOL

CHECK_NAME = "volume_within_weekday_baseline"
BASELINE_WEEKS = 6
MIN_BASELINE_DAYS = 3
MAD_K = 4.0
# 1.4826 x MAD estimates the standard deviation of normally distributed counts.
MAD_TO_SD = 1.4826
MIN_RELATIVE_BAND = 0.3

# One row per day of [start, end): lines landed (every line of every file,
# loaded or rejected) and the expected range from the same weekdays before it.
_VOLUME_SQL = f"""
with days as (
    select cast(d as date) as partition_date
    from generate_series(cast($start as date), cast($end as date) - 1, interval 1 day) as t(d)
),
daily as (
    select partition_date, sum(lines_total) as lines
    from raw.landing_files
    where source = $source
      and partition_date >= cast($start as date) - {7 * BASELINE_WEEKS}
      and partition_date < cast($end as date)
    group by partition_date
),
baseline as (
    select days.partition_date, daily.lines
    from days
    join daily
      on daily.partition_date < days.partition_date
     and daily.partition_date >= days.partition_date - {7 * BASELINE_WEEKS}
     and date_diff('day', daily.partition_date, days.partition_date) % 7 = 0
),
centre as (
    select partition_date, median(lines) as median_lines, count(*) as baseline_days
    from baseline group by partition_date
),
spread as (
    select baseline.partition_date, median(abs(baseline.lines - centre.median_lines)) as mad_lines
    from baseline join centre using (partition_date)
    group by baseline.partition_date
),
bands as (
    select partition_date, median_lines, baseline_days,
           greatest({MAD_K} * {MAD_TO_SD} * mad_lines, {MIN_RELATIVE_BAND} * median_lines) as half_width
    from centre join spread using (partition_date)
)
select days.partition_date,
       coalesce(daily.lines, 0) as observed_lines,
       coalesce(bands.baseline_days, 0) as baseline_days,
       bands.median_lines,
       greatest(bands.median_lines - bands.half_width, 0) as expected_min,
       bands.median_lines + bands.half_width as expected_max
from days
left join daily using (partition_date)
left join bands using (partition_date)
order by days.partition_date
"""


def day_results(con, source: str, start, end) -> dict[str, DayResult]:
    rows = con.execute(_VOLUME_SQL, {"source": source, "start": start, "end": end}).fetchall()
    results = {}
    for day, observed, baseline_days, median, low, high in rows:
        judged = baseline_days >= MIN_BASELINE_DAYS
        metadata: dict = {"observed_lines": int(observed), "baseline_days": int(baseline_days), "judged": judged}
        if judged:
            metadata |= {"expected_min": float(low), "expected_max": float(high), "baseline_median": float(median)}
        results[day.isoformat()] = DayResult(passed=not judged or low <= observed <= high, metadata=metadata)
    return results


def _volume_check(source: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(["raw", source]),
        name=CHECK_NAME,
        description=(
            f"Lines landed per day for {source} lie within the median +- {MAD_K:g} scaled MADs "
            f"(at least +- {MIN_RELATIVE_BAND:.0%}) of the same weekday over the previous {BASELINE_WEEKS} "
            "weeks. Warn-level; one result per partition."
        ),
        blocking=False,
        partitions_def=daily_partitions,
        pool=WAREHOUSE_POOL,
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource) -> Iterator[dg.AssetCheckEvaluation | dg.Output]:
        start, end = check_window(context)
        with warehouse.get_connection() as con:
            results = day_results(con, source, start, end)
        yield from per_partition(context, results, dg.AssetCheckSeverity.WARN)

    return _check


volume_checks = [_volume_check(source) for source in SOURCES]
