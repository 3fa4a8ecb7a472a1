"""Checks on the landing zone itself: every path that does not follow the raw
contract (docs/raw_contract.md) is reported, none silently ignored."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from bizintel_dagster import settings
from bizintel_dagster.defs.quality.partition_results import DayResult, per_partition, window_partition_keys
from bizintel_dagster.defs.raw import landing
from bizintel_dagster.metadata import markdown_table
from bizintel_dagster.partitions import daily_partitions, window_dates
from bizintel_dagster.warehouse import WAREHOUSE_POOL

_MAX_LISTED = 100


@dg.asset_check(
    asset=dg.AssetKey(["raw", "landing_files"]),
    name="landing_files_follow_the_contract",
    description="Warns when a landing file of the window was rejected or skipped (its lines are counted and "
    "quarantined, or it is still in flight), or when a path of the landing zone belongs to no source and day "
    "(misspelled source folder, file outside a dt= folder): those have no partition, so every run lists them "
    "until they are moved.",
    partitions_def=daily_partitions,
    pool=WAREHOUSE_POOL,
)
def landing_files_follow_the_contract(context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource):
    start, end = window_dates(*context.op_execution_context.partition_time_window)
    with warehouse.get_connection() as con:
        files = con.execute(
            """select partition_date, source, source_file, status, reason, lines_total
               from raw.landing_files
               where partition_date >= ? and partition_date < ? and status <> ?
               order by 1, 2, 3""",
            [start, end, landing.LOADED],
        ).fetchall()
    outside = landing.unpartitioned_paths(settings.landing_dir())
    by_day: dict[str, list[tuple]] = {key: [] for key in window_partition_keys(context)}
    for d, s, f, st, r, n in files:
        by_day.setdefault(d.isoformat(), []).append((f"{s}/dt={d.isoformat()}/{f}", st, n, r))
    results = {
        key: DayResult(
            passed=not listed and not outside,
            metadata={
                "files_rejected": sum(st == landing.REJECTED for _, st, _, _ in listed),
                "files_skipped": sum(st == landing.SKIPPED for _, st, _, _ in listed),
                "lines_in_rejected_files": sum(n for _, st, n, _ in listed if st == landing.REJECTED),
                "paths_outside_any_partition": len(outside),
                "files": markdown_table(["path", "status", "lines", "reason"], listed[:_MAX_LISTED]),
                "outside_partitions": markdown_table(["path", "reason"], outside[:_MAX_LISTED]),
            },
        )
        for key, listed in by_day.items()
    }
    yield from per_partition(context, results, dg.AssetCheckSeverity.WARN)
