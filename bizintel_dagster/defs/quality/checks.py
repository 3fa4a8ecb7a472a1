"""Per-partition data guarantees that dbt's (unpartitioned) tests cannot give.

Each check evaluates the run's partition window and reports every failing day
in its metadata. The blocking ones stop the business layer for the run: no KPI
is built on a partition that lost lines or scored below the quality bar.
"""


from datetime import date

import dagster as dg
from dagster_duckdb import DuckDBResource

from bizintel_dagster.defs.raw.landing import SOURCES
from bizintel_dagster.metadata import markdown_table
from bizintel_dagster.partitions import daily_partitions, window_dates
from bizintel_dagster.warehouse import WAREHOUSE_POOL

MIN_QUALITY_SCORE = 90  # seed 000: data integrity 90%+
# A source-day with fewer scored lines than this is too small to judge on its own
# (two invoices, one defective = 50): it is reported, not failed.
MIN_LINES_PER_SOURCE_DAY = 50

_ID_COLUMNS = {
    "app_events": "event_id",
    "location_reports": "report_id",
    "ticketing": "ticket_id",
    "billing": "billing_record_id",
}


def check_window(context: dg.AssetCheckExecutionContext) -> tuple[date, date]:
    return window_dates(*context.op_execution_context.partition_time_window)


def _score_result(rows: list[tuple], severity: dg.AssetCheckSeverity, min_lines: int = 1) -> dg.AssetCheckResult:
    """rows: (partition_date, quality_score, scored_lines) for the window."""
    scored = [(d, s, n) for d, s, n in rows if s is not None and n >= min_lines]
    failing = [(d.isoformat(), s, n) for d, s, n in scored if s < MIN_QUALITY_SCORE]
    lowest = min(scored, key=lambda r: r[1]) if scored else None
    return dg.AssetCheckResult(
        passed=not failing,
        severity=severity,
        metadata={
            "partitions_checked": len(rows),
            "partitions_failing": len(failing),
            "lowest_score": float(lowest[1]) if lowest else None,
            "lowest_score_partition": lowest[0].isoformat() if lowest else None,
            "threshold": MIN_QUALITY_SCORE,
            "partitions_too_small_to_judge": len(rows) - len(scored),
            "failing_partitions": markdown_table(["partition", "score", "lines"], failing[:50]),
        },
    )


@dg.asset_check(
    asset=dg.AssetKey(["cleansed", "dq_partition_stats"]),
    name="partition_quality_score_at_least_90",
    description=f"Every partition's data-quality score (line-weighted over all sources; "
    f"unparseable lines score 0) is >= {MIN_QUALITY_SCORE}. Blocking: enriched, fused and "
    "KPI models are not built on a failing partition.",
    blocking=True,
    partitions_def=daily_partitions,
    pool=WAREHOUSE_POOL,
)
def partition_quality_check(context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource) -> dg.AssetCheckResult:
    start, end = check_window(context)
    with warehouse.get_connection() as con:
        rows = con.execute(
            """select partition_date,
                      round(sum(quality_score_sum) / nullif(sum(quality_scored_lines), 0), 2),
                      sum(quality_scored_lines)
               from cleansed.dq_partition_stats
               where partition_date >= ? and partition_date < ?
               group by 1 order by 1""",
            [start, end],
        ).fetchall()
    return _score_result(rows, dg.AssetCheckSeverity.ERROR)


def _source_quality_check(source: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(["cleansed", f"cleansed_{source}"]),
        name="quality_score_at_least_90",
        description=f"{source}: every partition's quality score is >= {MIN_QUALITY_SCORE} "
        f"(days with fewer than {MIN_LINES_PER_SOURCE_DAY} lines are not judged). Warns only: a low-volume source swings on a handful of records; the partition-level "
        "check on dq_partition_stats is the one that blocks.",
        partitions_def=daily_partitions,
        # No dependency on dq_partition_stats (built in the same dbt step): these
        # diagnostics must still run when the partition-level check blocks it.
        pool=WAREHOUSE_POOL,
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource) -> dg.AssetCheckResult:
        start, end = check_window(context)
        with warehouse.get_connection() as con:
            rows = con.execute(
                """select partition_date, quality_score, quality_scored_lines
                   from cleansed.dq_partition_stats
                   where source = ? and partition_date >= ? and partition_date < ?
                   order by partition_date""",
                [source, start, end],
            ).fetchall()
        return _score_result(rows, dg.AssetCheckSeverity.WARN, MIN_LINES_PER_SOURCE_DAY)

    return _check


source_quality_checks = [_source_quality_check(source) for source in SOURCES]


@dg.asset_check(
    asset=dg.AssetKey(["cleansed", "quarantine_records"]),
    name="conservation_every_line_accounted",
    description="Per partition and source: landing lines = cleansed rows + quarantined rows "
    "(incl. unparseable lines) + exact duplicates. Blocking.",
    blocking=True,
    partitions_def=daily_partitions,
    additional_deps=[dg.AssetKey(["cleansed", f"cleansed_{s}"]) for s in SOURCES]
    + [dg.AssetKey(["raw", "landing_files"])],
    pool=WAREHOUSE_POOL,
)
def conservation_check(context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource) -> dg.AssetCheckResult:
    start, end = check_window(context)
    window = "partition_date >= $start and partition_date < $end"
    accepted = " union all ".join(
        f"select partition_date, '{s}' as source, count(*) as n from cleansed.cleansed_{s} where {window} group by all"
        for s in SOURCES
    )
    duplicates = " union all ".join(
        f"select partition_date, '{s}' as source, count(*) as n from cleansed.int_{s}_scored "
        f"where {window} and record_status = 'duplicate' group by all"
        for s in SOURCES
    )
    sql = f"""
        with lines as (
            select partition_date, source, sum(lines_total) as n from raw.landing_files
            where {window} group by all),
        accepted as ({accepted}),
        quarantined as (
            select partition_date, source, count(*) as n from cleansed.quarantine_records
            where {window} group by all),
        duplicates as ({duplicates}),
        keys as (
            select partition_date, source from lines union select partition_date, source from accepted
            union select partition_date, source from quarantined union select partition_date, source from duplicates)
        select keys.partition_date, keys.source, coalesce(lines.n, 0) as lines_in,
               coalesce(accepted.n, 0) as accepted, coalesce(quarantined.n, 0) as quarantined,
               coalesce(duplicates.n, 0) as duplicates
        from keys
        left join lines using (partition_date, source)
        left join accepted using (partition_date, source)
        left join quarantined using (partition_date, source)
        left join duplicates using (partition_date, source)
        order by 1, 2
    """
    with warehouse.get_connection() as con:
        rows = con.execute(sql, {"start": start, "end": end}).fetchall()
    broken = [
        (d.isoformat(), s, n, a, q, dup, n - a - q - dup)
        for d, s, n, a, q, dup in rows
        if n != a + q + dup
    ]
    totals = [sum(r[i] for r in rows) for i in (2, 3, 4, 5)]
    return dg.AssetCheckResult(
        passed=not broken,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "lines_in": totals[0],
            "accepted": totals[1],
            "quarantined": totals[2],
            "duplicates": totals[3],
            "partition_sources_checked": len(rows),
            "partition_sources_unbalanced": len(broken),
            "unbalanced": markdown_table(
                ["partition", "source", "lines in", "accepted", "quarantined", "duplicates", "unaccounted"],
                broken[:50],
            ),
        },
    )


@dg.asset_check(
    asset=dg.AssetKey(["kpis", "kpi_daily"]),
    name="revenue_reconciles_with_facts",
    description="Revenue in kpi_daily (per day) and in every breakdown of "
    "kpi_daily_revenue_by_dimension equals revenue in fused.fct_revenue.",
    partitions_def=daily_partitions,
    additional_deps=[
        dg.AssetKey(["fused", "fct_revenue"]),
        dg.AssetKey(["kpis", "kpi_daily_revenue_by_dimension"]),
    ],
    pool=WAREHOUSE_POOL,
)
def revenue_reconciliation_check(context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource) -> dg.AssetCheckResult:
    start, end = check_window(context)
    params = {"start": start, "end": end}
    window = "partition_date >= $start and partition_date < $end"
    with warehouse.get_connection() as con:
        per_day = con.execute(
            f"""with facts as (select partition_date, sum(amount_reporting_minor) as v
                               from fused.fct_revenue where {window} group by all),
                     kpis as (select partition_date, revenue_total_minor as v
                              from kpis.kpi_daily where {window})
                select partition_date, coalesce(facts.v, 0), coalesce(kpis.v, 0)
                from facts full join kpis using (partition_date)
                where coalesce(facts.v, 0) <> coalesce(kpis.v, 0) order by 1""",
            params,
        ).fetchall()
        facts_total = con.execute(
            f"select coalesce(sum(amount_reporting_minor), 0) from fused.fct_revenue where {window}", params
        ).fetchall()[0][0]
        by_dimension = con.execute(
            f"""select dimension, sum(value_minor) from kpis.kpi_daily_revenue_by_dimension
                where {window} and measure = 'revenue' group by all order by 1""",
            params,
        ).fetchall()
    kpi_total = facts_total - sum(f - k for _, f, k in per_day)
    dimension_mismatch = [(d, v, facts_total) for d, v in by_dimension if v != facts_total]
    return dg.AssetCheckResult(
        passed=not per_day and not dimension_mismatch,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "revenue_in_facts_minor": int(facts_total),
            "revenue_in_kpis_minor": int(kpi_total),
            "days_mismatched": len(per_day),
            "breakdowns_mismatched": len(dimension_mismatch),
            "mismatches": markdown_table(["day", "facts", "kpi_daily"], [(d.isoformat(), f, k) for d, f, k in per_day[:50]]),
        },
    )
