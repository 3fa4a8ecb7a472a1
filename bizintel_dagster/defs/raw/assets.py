"""Raw layer: landing-zone files loaded into the warehouse, one daily partition
(= one ``dt=`` folder per source) at a time, replaced as a whole."""


from datetime import date

import dagster as dg
from dagster_duckdb import DuckDBResource

from bizintel_dagster import settings
from bizintel_dagster.defs.raw import landing
from bizintel_dagster.metadata import column_schema
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
        metadata=landing.raw_tables()[name].metadata(),
    )


_COUNTS = ("files", "files_rejected", "files_skipped", "lines_total", "lines_loaded", "lines_rejected")


def _load(warehouse: DuckDBResource, landing_dir, days) -> dict[tuple[str, date], dict[str, int]]:
    """(source, day) -> that day's file and line counts."""
    counts = {(s, d): dict.fromkeys(_COUNTS, 0) for s in landing.SOURCES for d in days}
    with warehouse.get_connection() as con:
        landing.ensure_tables(con)
        for source in landing.SOURCES:
            for day in days:
                t = counts[(source, day)]
                for result in landing.load_partition(con, landing_dir, source, day):
                    t["files"] += 1
                    t["files_rejected"] += result.status == landing.REJECTED
                    t["files_skipped"] += result.status == landing.SKIPPED
                    t["lines_total"] += result.lines_total
                    t["lines_loaded"] += result.lines_loaded
                    t["lines_rejected"] += result.lines_rejected
    return counts


def _sum(counts: dict[tuple[str, date], dict[str, int]], day: date, sources=landing.SOURCES) -> dict[str, int]:
    return {k: sum(counts[(s, day)][k] for s in sources) for k in _COUNTS}


@dg.multi_asset(
    specs=[_spec(name) for name in _DESCRIPTIONS],
    partitions_def=daily_partitions,
    backfill_policy=single_run_backfill,
    pool=WAREHOUSE_POOL,
)
def raw_landing(context: dg.AssetExecutionContext, warehouse: DuckDBResource):
    """Load every source's landing files for the partition window. All sources
    load together because landing_files and rejected_lines describe them all.
    Each day's materialization carries that day's counts (also in a ranged run)."""
    landing_dir = settings.landing_dir()
    days = days_in_window(*context.partition_time_window)
    counts = retry_transient(context, lambda: _load(warehouse, landing_dir, days))
    context.log.info(f"loaded {len(days)} day(s) from {landing_dir}")
    for day in days:
        partition_key = day.isoformat()
        for source in landing.SOURCES:
            t = counts[(source, day)]
            context.add_asset_metadata(
                {"dagster/row_count": dg.MetadataValue.int(t["lines_loaded"]),
                 **{k: v for k, v in t.items() if k != "lines_loaded"}},
                asset_key=dg.AssetKey(["raw", source]), partition_key=partition_key)
        day_total = _sum(counts, day)
        context.add_asset_metadata(
            {"lines_total": day_total["lines_total"], "files": day_total["files"],
             "files_rejected": day_total["files_rejected"], "files_skipped": day_total["files_skipped"]},
            asset_key=dg.AssetKey(["raw", "landing_files"]), partition_key=partition_key)
        context.add_asset_metadata(
            {"dagster/row_count": dg.MetadataValue.int(day_total["lines_rejected"])},
            asset_key=dg.AssetKey(["raw", "rejected_lines"]), partition_key=partition_key)
    with warehouse.get_connection() as con:
        schemas = {name: column_schema(con, ("raw", name), landing.raw_tables()[name].descriptions)
                   for name in _DESCRIPTIONS}
    for name in _DESCRIPTIONS:
        yield dg.MaterializeResult(asset_key=["raw", name], metadata=schemas[name])
