"""Per-partition data guarantees that dbt's (unpartitioned) tests cannot give.

Each check evaluates the run's partition window and records one result per
day, with that day's figures (``partition_results``), so the UI shows which
day failed. The blocking ones stop the business layer for the run: no KPI
is built on a partition that lost lines or scored below the quality bar.
"""


from datetime import date

import dagster as dg
from dagster_duckdb import DuckDBResource

from bizintel_dagster import dbt_vars
from bizintel_dagster.defs.quality.partition_results import DayResult, per_partition, window_partition_keys
from bizintel_dagster.defs.raw.landing import SOURCES
from bizintel_dagster.metadata import markdown_table
from bizintel_dagster.partitions import daily_partitions, window_dates
from bizintel_dagster.warehouse import WAREHOUSE_POOL

MIN_QUALITY_SCORE = dbt_vars.quality_bar()  # dbt var quality_bar (seed 000: data integrity 90%+)
# A source-day with fewer scored lines than this is too small to judge on its own
# (two invoices, one defective = 50): it is reported, not failed.
MIN_LINES_PER_SOURCE_DAY = 50

def check_window(context: dg.AssetCheckExecutionContext) -> tuple[date, date]:
    return window_dates(*context.op_execution_context.partition_time_window)


def _score_results(
    keys: list[str], rows: list[tuple], min_lines: int = 1
) -> dict[str, DayResult]:
    """rows: (partition_date, quality_score, scored_lines). A day without lines,
    or with fewer than ``min_lines``, passes and says so: there is nothing to
    judge."""
    by_day = {d.isoformat(): (s, n) for d, s, n in rows}
    results = {}
    for key in keys:
        score, lines = by_day.get(key, (None, 0))
        judged = score is not None and lines >= min_lines
        metadata: dict = {"scored_lines": int(lines or 0), "threshold": MIN_QUALITY_SCORE, "judged": judged}
        if score is not None:
            metadata["quality_score"] = float(score)
        results[key] = DayResult(passed=not judged or score >= MIN_QUALITY_SCORE, metadata=metadata)
    return results


@dg.asset_check(
    asset=dg.AssetKey(["cleansed", "dq_partition_stats"]),
    name=f"partition_quality_score_at_least_{MIN_QUALITY_SCORE}",
    description=f"Every partition's data-quality score (line-weighted over all sources; "
    f"unparseable lines score 0) is >= {MIN_QUALITY_SCORE}. Blocking: enriched, fused and "
    "KPI models are not built on a failing partition.",
    blocking=True,
    partitions_def=daily_partitions,
    pool=WAREHOUSE_POOL,
)
def partition_quality_check(context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource):
    start, end = check_window(context)
    with warehouse.get_connection() as con:
        rows = con.execute(
            # the day's score as dbt computes it (macro partition_quality_score), not a second formula
            """select partition_date, any_value(partition_quality_score), sum(quality_scored_lines)
               from cleansed.dq_partition_stats
               where partition_date >= ? and partition_date < ?
               group by 1 order by 1""",
            [start, end],
        ).fetchall()
    yield from per_partition(context, _score_results(window_partition_keys(context), rows), dg.AssetCheckSeverity.ERROR)


def _source_quality_check(source: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(["cleansed", f"cleansed_{source}"]),
        name=f"quality_score_at_least_{MIN_QUALITY_SCORE}",
        description=f"{source}: every partition's quality score is >= {MIN_QUALITY_SCORE} "
        f"(days with fewer than {MIN_LINES_PER_SOURCE_DAY} lines are not judged). Warns only: a low-volume source swings on a handful of records; the partition-level "
        "check on dq_partition_stats is the one that blocks.",
        partitions_def=daily_partitions,
        # No dependency on dq_partition_stats (built in the same dbt step): these
        # diagnostics must still run when the partition-level check blocks it.
        pool=WAREHOUSE_POOL,
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource):
        start, end = check_window(context)
        with warehouse.get_connection() as con:
            rows = con.execute(
                """select partition_date, quality_score, quality_scored_lines
                   from cleansed.dq_partition_stats
                   where source = ? and partition_date >= ? and partition_date < ?
                   order by partition_date""",
                [source, start, end],
            ).fetchall()
        results = _score_results(window_partition_keys(context), rows, MIN_LINES_PER_SOURCE_DAY)
        yield from per_partition(context, results, dg.AssetCheckSeverity.WARN)

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
def conservation_check(context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource):
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
    by_day: dict[str, list[tuple]] = {key: [] for key in window_partition_keys(context)}
    for d, source, n, a, q, dup in rows:
        by_day.setdefault(d.isoformat(), []).append((source, n, a, q, dup))
    results = {}
    for key, sources in by_day.items():
        broken = [(s, n, a, q, dup, n - a - q - dup) for s, n, a, q, dup in sources if n != a + q + dup]
        totals = [sum(r[i] for r in sources) for i in (1, 2, 3, 4)]
        results[key] = DayResult(
            passed=not broken,
            metadata={
                "lines_in": totals[0],
                "accepted": totals[1],
                "quarantined": totals[2],
                "duplicates": totals[3],
                "unaccounted": totals[0] - totals[1] - totals[2] - totals[3],
                "sources_unbalanced": len(broken),
                "unbalanced": markdown_table(
                    ["source", "lines in", "accepted", "quarantined", "duplicates", "unaccounted"], broken),
            },
        )
    yield from per_partition(context, results, dg.AssetCheckSeverity.ERROR)


def _minor_metadata(value: int | None) -> int | str:
    """A money figure as metadata: an int when it fits 64 bits (a sum of facts
    may not), else its digits; an unknown (NULL) KPI says so instead of 0."""
    if value is None:
        return "unknown (NULL: see money_totals_known)"
    return int(value) if -(2**63) <= value < 2**63 else str(value)


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
def revenue_reconciliation_check(context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource):
    start, end = check_window(context)
    params = {"start": start, "end": end}
    window = "partition_date >= $start and partition_date < $end"
    with warehouse.get_connection() as con:
        per_day = con.execute(
            f"""with facts as (select partition_date, sum(amount_reporting_minor) as v
                               from fused.fct_revenue where {window} group by all),
                     kpis as (select partition_date, revenue_total_minor as v
                              from kpis.kpi_daily where {window})
                -- a NULL KPI is an unknown total (money_totals_known names it), never 0
                select partition_date, coalesce(facts.v, 0), kpis.v
                from facts full join kpis using (partition_date) order by 1""",
            params,
        ).fetchall()
        by_dimension = con.execute(
            f"""with facts as (select partition_date, coalesce(sum(amount_reporting_minor), 0) as v
                               from fused.fct_revenue where {window} group by all)
                select d.partition_date, d.dimension, sum(d.value_minor), any_value(coalesce(facts.v, 0))
                from kpis.kpi_daily_revenue_by_dimension d left join facts using (partition_date)
                where {window} and d.measure = 'revenue'
                group by all order by 1, 2""",
            params,
        ).fetchall()
    facts = {d.isoformat(): (f, k) for d, f, k in per_day}
    mismatched_breakdowns: dict[str, list[tuple]] = {}
    for d, dimension, value, fact in by_dimension:
        if value != fact:
            mismatched_breakdowns.setdefault(d.isoformat(), []).append((dimension, value, fact))
    results = {}
    for key in window_partition_keys(context):
        fact, kpi = facts.get(key, (0, 0))
        breakdowns = mismatched_breakdowns.get(key, [])
        results[key] = DayResult(
            passed=fact == kpi and not breakdowns,
            metadata={
                "revenue_in_facts_minor": _minor_metadata(fact),
                "revenue_in_kpis_minor": _minor_metadata(kpi),
                "breakdowns_mismatched": len(breakdowns),
                "mismatches": markdown_table(["dimension", "breakdown total", "facts"], breakdowns),
            },
        )
    yield from per_partition(context, results, dg.AssetCheckSeverity.ERROR)


# kpi_daily's money totals; each is NULL (never 0) when it does not fit BIGINT
# (dbt macro sum_minor). A record whose conversion overflowed counts in no revenue
# (warned in enriched), as in the metric layer.
MONEY_TOTALS = ("revenue_total_minor", "revenue_consumer_minor", "revenue_b2b_minor", "refunds_minor",
                "sponsor_value_minor")


def money_total_results(con, start: date, end: date, keys: list[str]) -> dict[str, DayResult]:
    """Per day of [start, end): fails when kpi_daily flags a money total as
    unknown, naming the day and the totals."""
    nulls = ", ".join(f"{column} is null" for column in MONEY_TOTALS)
    rows = con.execute(
        f"""select partition_date, money_total_unknown, [{nulls}]
            from kpis.kpi_daily where partition_date >= ? and partition_date < ?""",
        [start, end],
    ).fetchall()
    by_day = {d.isoformat(): (flagged, [c for c, null in zip(MONEY_TOTALS, is_null) if null]) for d, flagged, is_null in rows}
    results = {}
    for key in keys:
        flagged, unknown = by_day.get(key, (False, []))
        metadata: dict = {"unknown_totals": len(unknown)}
        if flagged:
            metadata["problem"] = (
                f"{key}: {', '.join(unknown) or 'a money total'} unknown (shown as NULL, not 0): the day's sum "
                "does not fit BIGINT")
        results[key] = DayResult(passed=not flagged, metadata=metadata)
    return results


@dg.asset_check(
    asset=dg.AssetKey(["kpis", "kpi_daily"]),
    name="money_totals_known",
    description="Every money total of kpi_daily (revenue, refunds, sponsor value) is known: "
    "a total that overflowed BIGINT is NULL and "
    "flagged money_total_unknown, never shown as 0; this check fails on that day and names it.",
    partitions_def=daily_partitions,
    pool=WAREHOUSE_POOL,
)
def money_totals_known_check(context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource):
    start, end = check_window(context)
    with warehouse.get_connection() as con:
        results = money_total_results(con, start, end, window_partition_keys(context))
    yield from per_partition(context, results, dg.AssetCheckSeverity.ERROR)
