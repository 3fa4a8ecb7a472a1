"""Runs the dbt unit tests (quality rules, zone detection, FX and minor units,
the seed-000 value formula) with real dbt on DuckDB. dbt needs the upstream
relations to exist for their column types, so they are created empty first."""

import json
import subprocess

import duckdb

from bizintel_dagster import settings
from bizintel_dagster.defs.raw import landing

# The formulas this suite must always pin; every other unit test in the
# manifest must run and pass too.
CORE_UNIT_TESTS = {
    "seed_000_deductions_one_rule_at_a_time",
    "duplicates_and_conflicting_ids",
    "zone_detection_edges_and_overlaps",
    "fx_to_reporting_minor_units",
    "seed_000_attributed_value",
    "app_event_rules_one_at_a_time",
}


def _dbt(*args, target):
    return subprocess.run(
        [settings.dbt_executable(), *args, "--project-dir", str(settings.DBT_PROJECT_DIR),
         "--profiles-dir", str(settings.DBT_PROJECT_DIR), "--target-path", str(target)],
        capture_output=True, text=True,
    )


def test_dbt_unit_tests_pass(data_env):
    warehouse = settings.warehouse_path()
    warehouse.parent.mkdir(parents=True)
    with duckdb.connect(str(warehouse)) as con:
        landing.ensure_tables(con)
    target = data_env / "dbt_target"
    assert _dbt("seed", target=target).returncode == 0
    built = _dbt("run", "--empty", target=target)
    assert built.returncode == 0, built.stdout[-3000:]
    tested = _dbt("test", "--select", "test_type:unit", target=target)
    assert tested.returncode == 0, tested.stdout[-5000:]
    results = json.loads((target / "run_results.json").read_text())["results"]
    ran = {r["unique_id"].split(".")[-1]: r["status"] for r in results}
    manifest = json.loads((target / "manifest.json").read_text())
    defined = {u["name"] for u in manifest["unit_tests"].values()}
    assert CORE_UNIT_TESTS <= defined, f"core unit tests missing: {CORE_UNIT_TESTS - defined}"
    assert set(ran) == defined, f"defined but not run: {defined - set(ran)}"
    assert all(status == "pass" for status in ran.values()), ran
