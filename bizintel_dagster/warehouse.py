"""Warehouse access and the analysts' published copy.

DuckDB allows one writing process per file. Writers are serialized by the
Dagster pool ``warehouse`` (one slot); analysts never open the working file:
they read ``analytics.duckdb``, a copy written to a temporary file and renamed
into place after each successful run. The rename is atomic, so a reader sees
either the previous copy or the new one, and an open reader keeps its snapshot.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from bizintel_dagster import settings

WAREHOUSE_POOL = "warehouse"

# Schemas analysts get. `raw` (clear PII, raw lines) and `staging` (views over
# raw) stay private to the pipeline.
PUBLISHED_SCHEMAS = ("reference", "cleansed", "enriched", "fused", "kpis", "alerts", "subscriptions", "cohorts", "customers", "experiments", "segments", "forecasts", "reports")
# The copy is written in an older storage format so analysts' tools on any DuckDB
# 1.2+ (the duckdb CLI, DBeaver, Python) can open it, whatever DuckDB the
# pipeline itself runs.
ANALYTICS_STORAGE_VERSION = "v1.2.0"
# Views that read raw would break in the copy; tables only.
_TABLES_SQL = """
    select table_schema, table_name from information_schema.tables
    where table_catalog = 'wh' and table_type = 'BASE TABLE' and table_schema in ({})
    order by 1, 2
"""


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    """Whether ``schema.table`` (a table or a view) exists on ``con``."""
    return bool(con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, table]
    ).fetchall()[0][0])


def connect(path: Path | None = None, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    path = path or settings.warehouse_path()
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(
        str(path), read_only=read_only,
        config=settings.duckdb_config(),
    )


def _literal(path: Path) -> str:
    """A file path as a SQL string literal (ATTACH takes no bound parameters)."""
    return "'" + str(path).replace("'", "''") + "'"


def quote_identifier(identifier: str) -> str:
    """A schema, table or column name as a quoted SQL identifier (names are
    validated or come from the catalog; quoting keeps odd ones harmless)."""
    return '"' + identifier.replace('"', '""') + '"'


def _remove_abandoned_copies(target: Path) -> None:
    """Delete the temporary files (and their WAL) of publishes whose process is
    gone: a publish killed mid-copy leaves a partial copy of every published
    table that nothing else would ever remove. Files of live processes are left
    to them."""
    prefix = f".{target.name}."
    for path in target.parent.glob(f"{prefix}*.tmp*"):
        pid = path.name[len(prefix):].split(".", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            path.unlink(missing_ok=True)
        except PermissionError:
            pass  # alive, another user's


def publish_analytics_copy(source: Path | None = None, target: Path | None = None) -> dict[str, int]:
    """Copy the published schemas' tables into a fresh file and atomically swap it
    in. Returns row counts per published table."""
    source = source or settings.warehouse_path()
    target = target or settings.analytics_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_copies(target)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    counts: dict[str, int] = {}
    # In memory, but limited like every connection: copying the 10M-event warehouse
    # peaked at 3.6 GiB without the limit (BENCHMARKS.md).
    con = duckdb.connect(config=settings.duckdb_config())
    try:
        con.execute(f"attach {_literal(tmp)} as pub (storage_version '{ANALYTICS_STORAGE_VERSION}')")
        con.execute("use pub")
        con.execute(f"attach {_literal(source)} as wh (read_only)")
        placeholders = ", ".join("?" for _ in PUBLISHED_SCHEMAS)
        tables = con.execute(_TABLES_SQL.format(placeholders), list(PUBLISHED_SCHEMAS)).fetchall()
        for schema, table in tables:
            q_schema, q_table = quote_identifier(schema), quote_identifier(table)
            con.execute(f"create schema if not exists {q_schema}")
            con.execute(f"create table {q_schema}.{q_table} as select * from wh.{q_schema}.{q_table}")
            counts[f"{schema}.{table}"] = con.execute(f"select count(*) from {q_schema}.{q_table}").fetchall()[0][0]
        con.execute("detach wh")
        con.execute("checkpoint pub")
        con.execute("use memory")
        con.execute("detach pub")
    finally:
        con.close()
    os.replace(tmp, target)
    return counts
