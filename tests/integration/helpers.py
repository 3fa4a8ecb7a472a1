"""Shared helpers for tests that materialize the real graph into a temp warehouse."""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

from bizintel_dagster import settings


@contextmanager
def data_dir(root: Path):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BIZINTEL_DATA_DIR", str(root))
        mp.setenv("BIZINTEL_LANDING", str(root / "landing"))
        mp.setenv("BIZINTEL_WAREHOUSE", str(root / "warehouse" / "bizintel.duckdb"))
        mp.setenv("BIZINTEL_ANALYTICS", str(root / "warehouse" / "analytics.duckdb"))
        yield root


def query(sql: str, params=None, path: Path | None = None):
    with duckdb.connect(str(path or settings.warehouse_path()), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def table_fingerprints(path: Path) -> dict[str, tuple[int, str]]:
    """Row count and an order-independent content hash (a sum, so a duplicated row
    changes it) of every table."""
    out = {}
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() order by 1, 2"
        ).fetchall()
        for schema, table in tables:
            rel = f'"{schema}"."{table}"'
            n, digest = con.execute(
                f"select count(*), coalesce(sum(hash(t::varchar)::hugeint), 0)::varchar from {rel} as t"
            ).fetchall()[0]
            out[f"{schema}.{table}"] = (n, digest)
    return out


def salted_hash(value: str, salt: str) -> str:
    return hashlib.sha256(f"{salt}|{value.strip().lower()}".encode()).hexdigest()
