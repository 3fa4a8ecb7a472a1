"""``reports.report_catalog``: one row per report file generated (appended, never
rewritten: re-generating a period adds rows; the newest row per path is current)."""

from __future__ import annotations

from pathlib import Path

from bizintel_dagster.reporting.model import Report

DDL = """
create schema if not exists reports;
create table if not exists reports.report_catalog (
    report varchar not null,
    period varchar not null,
    period_kind varchar not null,
    period_start date not null,
    period_end date not null,
    format varchar not null,
    path varchar not null,
    bytes bigint not null,
    generated_at timestamptz not null,
    run_id varchar
);
"""
COLUMNS = ["report", "period", "period_kind", "period_start", "period_end", "format", "path", "bytes",
           "generated_at", "run_id"]


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
