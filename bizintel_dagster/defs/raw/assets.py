"""Raw layer: landing-zone files loaded into the warehouse, one daily partition
(= one ``dt=`` folder per source) at a time, replaced as a whole."""


import dagster as dg
from dagster_duckdb import DuckDBResource

from bizintel_dagster import settings
from bizintel_dagster.defs.raw import landing
from bizintel_dagster.partitions import daily_partitions, days_in_window, single_run_backfill
from bizintel_dagster.defs.freshness import freshness_policy_for_group
from bizintel_dagster.policies import OWNERS, retry_transient
from bizintel_dagster.warehouse import WAREHOUSE_POOL

_DESCRIPTIONS = {
    "app_events": "Mobile-app events, one row per parseable JSON line (payload kept as JSON).",
    "location_reports": "Attendee location reports at venues, one row per parseable JSON line.",
    "ticketing": "Ticketing guest-list export rows (CSV parsed by DuckDB, kept as JSON).",
    "billing": "B2B subscription invoices and sponsorship orders, one row per parseable JSON line.",
    "landing_files": "Every landing file per partition (sub-folders included) with status "
    "(loaded / rejected / skipped), reason and line counts (lines in).",
    "rejected_lines": "Lines that could not be parsed: file, line number, reason, excerpt.",
}


def _spec(name: str) -> dg.AssetSpec:
    return dg.AssetSpec(
        key=["raw", name],
        group_name="raw",
        freshness_policy=freshness_policy_for_group("raw"),
        description=_DESCRIPTIONS[name],
        owners=OWNERS,
        kinds={"duckdb", "python"},
    )


def _load(warehouse: DuckDBResource, landing_dir, days) -> dict[str, dict[str, int]]:
    totals = {s: {"files": 0, "lines_total": 0, "lines_loaded": 0, "lines_rejected": 0, "files_rejected": 0,
                  "files_skipped": 0} for s in landing.SOURCES}
    with warehouse.get_connection() as con:
        landing.ensure_tables(con)
        for source in landing.SOURCES:
            for day in days:
                for result in landing.load_partition(con, landing_dir, source, day):
                    t = totals[source]
                    t["files"] += 1
                    t["files_rejected"] += result.status == landing.REJECTED
                    t["files_skipped"] += result.status == landing.SKIPPED
                    t["lines_total"] += result.lines_total
                    t["lines_loaded"] += result.lines_loaded
                    t["lines_rejected"] += result.lines_rejected
    return totals


@dg.multi_asset(
    specs=[_spec(name) for name in _DESCRIPTIONS],
    partitions_def=daily_partitions,
    backfill_policy=single_run_backfill,
    pool=WAREHOUSE_POOL,
)
def raw_landing(context: dg.AssetExecutionContext, warehouse: DuckDBResource):
    """Load every source's landing files for the partition window. All sources
    load together because landing_files and rejected_lines describe them all."""
    landing_dir = settings.landing_dir()
    days = days_in_window(*context.partition_time_window)
    totals = retry_transient(context, lambda: _load(warehouse, landing_dir, days))
    context.log.info(f"loaded {len(days)} day(s) from {landing_dir}: {totals}")
    for source, t in totals.items():
        yield dg.MaterializeResult(
            asset_key=["raw", source],
            metadata={
                "dagster/row_count": dg.MetadataValue.int(t["lines_loaded"]),
                "files": t["files"],
                "files_rejected": t["files_rejected"],
                "files_skipped": t["files_skipped"],
                "lines_total": t["lines_total"],
                "lines_rejected": t["lines_rejected"],
                "days": len(days),
            },
        )
    all_lines = sum(t["lines_total"] for t in totals.values())
    all_rejected = sum(t["lines_rejected"] for t in totals.values())
    yield dg.MaterializeResult(asset_key=["raw", "landing_files"], metadata={"lines_total": all_lines, "files": sum(t["files"] for t in totals.values())})
    yield dg.MaterializeResult(asset_key=["raw", "rejected_lines"], metadata={"dagster/row_count": dg.MetadataValue.int(all_rejected)})
