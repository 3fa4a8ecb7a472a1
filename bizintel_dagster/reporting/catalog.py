"""``reports.report_catalog``: one row per report file generated (appended, never
rewritten: re-generating a period adds rows; the newest row per path is current)."""

from __future__ import annotations

from pathlib import Path

from bizintel_dagster.reporting.model import Report
from bizintel_dagster.tables import Table, col

TABLE = Table("reports", "report_catalog", (
    col("report", "varchar", "Report name: executive, sponsor_attribution or data_integrity.", not_null=True),
    col("period", "varchar", "Period label (ISO week YYYY-Www or month YYYY-MM).", not_null=True),
    col("period_kind", "varchar", "week or month.", not_null=True),
    col("period_start", "date", "First business-local day of the period.", not_null=True),
    col("period_end", "date", "Last business-local day of the period (inclusive).", not_null=True),
    col("format", "varchar", "File format: pdf, xlsx, csv or html.", not_null=True),
    col("path", "varchar", "Absolute path of the file under BIZINTEL_REPORTS_DIR.", not_null=True),
    col("bytes", "bigint", "File size in bytes when written.", not_null=True),
    col("generated_at", "timestamptz", "When the report was rendered (business time zone).", not_null=True),
    col("run_id", "varchar", "Dagster run that wrote the file (null outside Dagster)."),
))
DDL = TABLE.ddl()
COLUMNS = TABLE.column_names


def entries(report: Report, files: dict[str, list[Path]], run_id: str | None = None) -> list[dict]:
    return [
        {"report": report.report, "period": report.period.label, "period_kind": report.period.kind,
         "period_start": report.period.start, "period_end": report.period.end, "format": fmt,
         "path": str(path.resolve()), "bytes": path.stat().st_size, "generated_at": report.generated_at,
         "run_id": run_id}
        for fmt, paths in files.items() for path in paths
    ]


def record(con, rows: list[dict]) -> None:
    con.execute(DDL)
    placeholders = ", ".join("?" for _ in COLUMNS)
    con.executemany(f"insert into reports.report_catalog ({', '.join(COLUMNS)}) values ({placeholders})",
                    [[row[c] for c in COLUMNS] for row in rows])


def read(con) -> list[dict]:
    con.execute(DDL)
    cursor = con.execute(f"select {', '.join(COLUMNS)} from reports.report_catalog order by generated_at desc, path")
    return [dict(zip(COLUMNS, r)) for r in cursor.fetchall()]
