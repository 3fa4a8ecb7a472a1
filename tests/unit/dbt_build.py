"""Real dbt against a scratch warehouse, for the unit modules that need the
project's relations to exist (column types for unit tests, output columns for
the column docs) but no data: seeds loaded, every model built ``--empty``."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import duckdb
import pytest

from bizintel_dagster import settings
from bizintel_dagster.defs.raw import landing


def dbt(*args, target: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [settings.dbt_executable(), *args, "--project-dir", str(settings.DBT_PROJECT_DIR),
         "--profiles-dir", str(settings.DBT_PROJECT_DIR), "--target-path", str(target)],
        capture_output=True, text=True,
    )


def build_empty(root: Path) -> tuple[Path, dict]:
    """(warehouse, manifest) of a scratch warehouse with every model built empty."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BIZINTEL_WAREHOUSE", str(root / "warehouse" / "bizintel.duckdb"))
        warehouse = settings.warehouse_path()
        warehouse.parent.mkdir(parents=True)
        with duckdb.connect(str(warehouse)) as con:
            landing.ensure_tables(con)
        target = root / "dbt_target"
        seeded = dbt("seed", target=target)
        assert seeded.returncode == 0, seeded.stdout[-3000:]
        built = dbt("run", "--empty", target=target)
        assert built.returncode == 0, built.stdout[-3000:]
        return warehouse, json.loads((target / "manifest.json").read_text())
