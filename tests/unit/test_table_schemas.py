"""Every warehouse table a Python asset writes shows a typed, described column
schema in the Dagster UI, and that schema is the table as created (one
declaration, ``bizintel_dagster.tables``, does both).

The assets are enumerated from the loaded code location, not listed here: a new
Python asset that writes a table fails until it declares its columns."""

from __future__ import annotations

from datetime import datetime, timezone

import dagster as dg
import duckdb
import pytest

from bizintel_dagster import runner
from bizintel_dagster.tables import COLUMN_SCHEMA
from bizintel_dagster.warehouse import PUBLISHED_SCHEMAS

# Schemas of the working warehouse that Python writes into (staging is dbt's alone).
WAREHOUSE_SCHEMAS = {"raw", *PUBLISHED_SCHEMAS}


@pytest.fixture(scope="module")
def specs() -> list[dg.AssetSpec]:
    return list(runner.load_definitions().resolve_all_asset_specs())


def _table_writing_python_assets(specs) -> list[dg.AssetSpec]:
    """Assets that are not dbt models, are of kind duckdb and whose key names a
    warehouse schema (``forecasts/backtest`` is the table forecasts.backtest)."""
    return [s for s in specs
            if "duckdb" in s.kinds and "dbt" not in s.kinds and s.key.path[0] in WAREHOUSE_SCHEMAS]


def _schemas(spec: dg.AssetSpec) -> dict[str, dg.TableSchema]:
    """The asset's own column schema and those of the further tables it writes."""
    out = {}
    for key, value in spec.metadata.items():
        schema = value.value if isinstance(value, dg.TableSchemaMetadataValue) else value
        if isinstance(schema, dg.TableSchema):
            out[key] = schema
    return out


def test_the_enumeration_finds_the_python_writers(specs):
    found = {s.key.to_user_string() for s in _table_writing_python_assets(specs)}
    # a floor, not the list: proves the filter sees each family of Python writers
    assert {"raw/app_events", "forecasts/daily_forecasts", "reports/report_catalog", "alerts/alert_events",
            "experiments/experiment_results", "segments/segment_membership",
            "customers/account_kmeans_segments"} <= found


def test_every_table_written_by_python_has_a_typed_described_column_schema(specs):
    problems = {}
    for spec in _table_writing_python_assets(specs):
        name = spec.key.to_user_string()
        schemas = _schemas(spec)
        if COLUMN_SCHEMA not in schemas:
            problems[name] = f"no {COLUMN_SCHEMA} in the asset's definition metadata"
            continue
        for key, schema in schemas.items():
            bad = [c.name for c in schema.columns
                   if not c.type or c.type.strip() in ("?", "unknown") or not (c.description or "").strip()]
            if not schema.columns or bad:
                problems[f"{name} {key}"] = bad or "no columns"
        table_name = spec.metadata.get("dagster/table_name")
        table_name = getattr(table_name, "value", table_name) or ""
        if not table_name.endswith(".".join(spec.key.path)):
            problems[f"{name} dagster/table_name"] = table_name
    assert not problems, problems


def _catalog(con) -> dict[str, list[tuple[str, str]]]:
    rows = con.execute("""select table_schema || '.' || table_name, column_name, lower(data_type)
                          from information_schema.columns order by table_schema, table_name, ordinal_position""")
    out: dict[str, list[tuple[str, str]]] = {}
    for relation, column, data_type in rows.fetchall():
        out.setdefault(relation, []).append((column, data_type))
    return out


def test_the_declared_schemas_are_the_tables_the_code_creates(specs):
    """The code paths that create the tables (run here on an empty warehouse)
    produce exactly the declared names and types, in order. The pandas writers
    (experiments, k-means segments, segments) create the declared table and
    insert ``by name``, so an undeclared column is an error there at run time."""
    from bizintel_dagster.alerts import engine
    from bizintel_dagster.defs.raw import landing
    from bizintel_dagster.forecasting import store
    from bizintel_dagster.reporting import catalog

    con = duckdb.connect()
    landing.ensure_tables(con)
    engine.ensure_schema(con)
    catalog.read(con)
    store.write_tables(con, [], datetime(2026, 6, 1, tzinfo=timezone.utc))
    built = _catalog(con)
    declared = {}
    for spec in _table_writing_python_assets(specs):
        for key, schema in _schemas(spec).items():
            relation = ".".join(spec.key.path) if key == COLUMN_SCHEMA else key.removeprefix("columns of ")
            # the UI shows the declared spelling (timestamptz); the catalog its canonical name
            declared[relation] = [(c.name, con.execute(f"select lower(typeof(null::{c.type}))").fetchone()[0])
                                  for c in schema.columns]
    checked = set(built) & set(declared)
    assert {"raw.app_events", "raw.landing_files", "alerts.alert_events", "alerts.alert_deliveries",
            "reports.report_catalog", "forecasts.daily_forecasts", "forecasts.forecast_status"} <= checked
    assert {r: built[r] for r in checked} == {r: declared[r] for r in checked}
