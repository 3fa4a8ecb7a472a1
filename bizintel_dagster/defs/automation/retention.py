"""Retention: raw records older than BIZINTEL_RAW_RETENTION_DAYS (seed 002: 90)
are deleted from the warehouse's ``raw`` schema; every layer built from them
(cleansed, enriched, fused, KPIs, alerts) is kept.

What goes: the raw source tables (``raw.app_events``, ``raw.location_reports``,
``raw.ticketing``, ``raw.billing``: clear PII) and ``raw.rejected_lines``
(excerpts of raw lines). What stays: ``raw.landing_files``, the per-file line
accounting (no record content), so the history of what was loaded survives.
The landing files themselves are not touched: re-running an old partition
reloads it from them.
"""


from datetime import date, timedelta

import dagster as dg
from dagster_duckdb import DuckDBResource

from bizintel_dagster import partitions, settings
from bizintel_dagster.defs.raw.landing import SOURCES
from bizintel_dagster.policies import retry_transient
from bizintel_dagster.warehouse import WAREHOUSE_POOL

RETAINED_TABLES = tuple(f"raw.{source}" for source in SOURCES) + ("raw.rejected_lines",)


class RetentionConfig(dg.Config):
    retention_days: int | None = None
    """Keep this many days of raw records (default BIZINTEL_RAW_RETENTION_DAYS)."""
    as_of_date: str | None = None
    """Count the days back from this date (YYYY-MM-DD; default the last complete business day, the last partition)."""
    dry_run: bool = False
    """Only count what would be deleted."""


def cutoff_date(retention_days: int, as_of: date) -> date:
    """Partitions strictly before this date are removed: ``as_of`` and the
    ``retention_days - 1`` days before it are kept."""
    return as_of - timedelta(days=retention_days - 1)


def purge_raw(con, cutoff: date, dry_run: bool = False) -> dict[str, dict]:
    """Delete raw rows with partition_date < cutoff. One transaction; returns per
    table the rows removed and the oldest / newest partition removed."""
    existing = {f"{s}.{t}" for s, t in con.execute(
        "select table_schema, table_name from information_schema.tables where table_schema = 'raw'").fetchall()}
    report: dict[str, dict] = {}
    con.execute("begin transaction")
    try:
        for table in RETAINED_TABLES:
            if table not in existing:
                continue
            rows, first, last = con.execute(
                f"select count(*), min(partition_date), max(partition_date) from {table} where partition_date < ?",
                [cutoff]).fetchall()[0]
            if rows and not dry_run:
                con.execute(f"delete from {table} where partition_date < ?", [cutoff])
            report[table] = {"rows": int(rows), "oldest_partition": first.isoformat() if first else None,
                             "newest_partition": last.isoformat() if last else None}
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    if not dry_run and any(r["rows"] for r in report.values()):
        con.execute("checkpoint")
    return report


@dg.op(pool=WAREHOUSE_POOL, description="Delete raw records older than the retention period; keep aggregates.")
def purge_expired_raw_records(context: dg.OpExecutionContext, config: RetentionConfig,
                              warehouse: DuckDBResource) -> dg.Output[dict]:
    days = config.retention_days or settings.raw_retention_days()
    if days < 1:
        raise dg.Failure(f"retention_days must be >= 1, got {days}")
    as_of = date.fromisoformat(config.as_of_date) if config.as_of_date else partitions.last_day()
    cutoff = cutoff_date(days, as_of)

    def run() -> dict[str, dict]:
        with warehouse.get_connection() as con:
            return purge_raw(con, cutoff, config.dry_run)

    report = retry_transient(context, run)
    total = sum(r["rows"] for r in report.values())
    verb = "would delete" if config.dry_run else "deleted"
    context.log.info(f"retention {days} days as of {as_of}: {verb} {total} raw rows before {cutoff}: {report}")
    for table, r in report.items():
        schema, name = table.split(".")
        context.log_event(dg.AssetObservation(
            asset_key=dg.AssetKey([schema, name]),
            metadata={"retention_rows_deleted": 0 if config.dry_run else r["rows"],
                      "retention_cutoff": cutoff.isoformat(), "retention_days": days,
                      "retention_dry_run": config.dry_run},
        ))
    return dg.Output(report, metadata={
        "retention_days": days,
        "as_of": as_of.isoformat(),
        "deleted_before": cutoff.isoformat(),
        "dry_run": config.dry_run,
        "rows_deleted" if not config.dry_run else "rows_to_delete": total,
        "per_table": dg.MetadataValue.json(report),
    })


@dg.job(description="Delete raw records older than BIZINTEL_RAW_RETENTION_DAYS (default 90) from the raw "
        "schema; cleansed, enriched, fused, KPI and alert tables are kept.")
def raw_retention_job():
    purge_expired_raw_records()
