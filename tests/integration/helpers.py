"""Shared helpers for tests that materialize the real graph into a temp warehouse."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
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


# An analyst in a separate process: queries a DuckDB file read-only in a loop
# until told to stop, and reports every answer it got and every error it hit.
_ANALYST_LOOP = r"""
import json, os, sys, time, duckdb
path, sql, stop_file, pause = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
ok, errors, answers, per_file = 0, [], set(), {}
stop_by = None
while True:
    if stop_by is None and os.path.exists(stop_file):
        stop_by = time.monotonic() + 60
    if stop_by is not None:
        wanted = open(stop_file).read().strip()
        if time.monotonic() > stop_by or not wanted or per_file.get(wanted, 0) >= 3:
            break
    try:
        file_id = str(os.stat(path).st_ino)
        with duckdb.connect(path, read_only=True) as con:
            answers.add(repr(con.execute(sql).fetchall()))
        ok += 1
        # which copy was read, when the path did not change under the query
        if str(os.stat(path).st_ino) == file_id:
            per_file[file_id] = per_file.get(file_id, 0) + 1
    except Exception as exc:
        errors.append(repr(exc)[:300])
    time.sleep(pause)
print(json.dumps({"ok": ok, "errors": errors, "answers": sorted(answers), "queries_per_file": per_file}))
"""


class AnalystLoop:
    """An analyst querying ``path`` read-only with ``sql`` in a loop, in its own
    process, ``pause`` seconds apart. ``stop()`` lets it finish after three more
    queries of the file now at ``path`` (so a copy swapped in is read too) and
    returns {ok, errors, answers, queries_per_file (inode -> queries)}."""

    def __init__(self, path: Path, sql: str, workdir: Path, pause: float = 0.05):
        self.path = path
        self._stop_file = workdir / f"stop-analyst-{os.getpid()}-{time.monotonic_ns()}"
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _ANALYST_LOOP, str(path), sql, str(self._stop_file), str(pause)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )

    def stop(self, timeout: float = 120) -> dict:
        # written under another name and renamed, so the analyst never reads it half-written
        partial = self._stop_file.with_name(self._stop_file.name + ".partial")
        partial.write_text(str(self.path.stat().st_ino))
        partial.replace(self._stop_file)
        out, err = self._proc.communicate(timeout=timeout)
        assert self._proc.returncode == 0, err[-2000:]
        return json.loads(out)

    def __enter__(self) -> AnalystLoop:
        return self

    def __exit__(self, *exc) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()


def stored_check_results(instance, run_id: str, check: str) -> dict[str | None, list[str]]:
    """partition -> statuses of a run's executions of ``check`` ("asset/key:check_name"),
    as the instance's event log storage holds them: what the UI's Checks and
    Partitions tabs read (not the run's result object)."""
    asset, _, name = check.partition(":")
    key = dg.AssetCheckKey(dg.AssetKey.from_user_string(asset), name)
    out: dict[str | None, list[str]] = {}
    for record in instance.event_log_storage.get_asset_check_execution_history(key, limit=10_000):
        if record.run_id == run_id:
            out.setdefault(record.partition, []).append(record.status.value)
    return out
