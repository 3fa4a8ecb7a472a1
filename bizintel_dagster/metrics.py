"""`bizintel metrics`: query the semantic layer (dbt_project/models/semantic) by name
against the analysts' copy, through MetricFlow's Python API.

    bizintel metrics list [--dimensions]
    bizintel metrics query --metrics payer_rate,revenue --group-by metric_time__week
                           [--where "{{ Dimension('user__marketing_source') }} = 'search'"]
                           [--start 2026-08-01] [--end 2026-08-31] [--order -metric_time__week]
                           [--limit N] [--csv] [--explain]

The metric definitions are read from dbt's semantic manifest (dbt_project/target/
semantic_manifest.json, written by `bizintel prepare`); the data from the
analysts' copy, opened read-only, so a query never touches the pipeline's warehouse.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import sys
from pathlib import Path

from typing import TYPE_CHECKING

import duckdb

from bizintel_dagster import settings

# MetricFlow takes seconds to import: only `bizintel metrics` pays for it (the
# imports are in the functions below), not every other bizintel command.
if TYPE_CHECKING:
    from metricflow.data_table.mf_table import MetricFlowDataTable
    from metricflow.engine.metricflow_engine import MetricFlowEngine, MetricFlowQueryRequest
    from metricflow_semantics.sql.sql_bind_parameters import SqlBindParameterSet


def semantic_manifest_path() -> Path:
    return settings.DBT_PROJECT_DIR / "target" / "semantic_manifest.json"


def _unqualified(manifest: dict) -> dict:
    """Table references as schema.table, without dbt's database (the warehouse
    file's name): the analysts' copy is another file, so its catalog has another
    name, and unqualified SQL runs in any client opened on the copy (--explain)."""
    relations = [sm["node_relation"] for sm in manifest.get("semantic_models", [])]
    relations += [ts["node_relation"] for ts in manifest.get("project_configuration", {}).get("time_spines", [])]
    for rel in relations:
        rel["relation_name"] = f"{rel['schema_name']}.{rel['alias']}"
        rel["database"] = None
    return manifest


class ReadOnlyDuckDbClient:
    """MetricFlow's SqlClient over one read-only DuckDB connection."""

    def __init__(self, path: Path):
        from metricflow.protocols.sql_client import SqlEngine
        from metricflow.sql.render.duckdb_renderer import DuckDbSqlPlanRenderer

        if not path.exists():
            raise SystemExit(f"no analysts' copy at {path}: run `bizintel run` (or `bizintel publish`) first")
        self._con = duckdb.connect(str(path), read_only=True, config=settings.duckdb_config())
        self.sql_engine_type = SqlEngine.DUCKDB
        self.sql_plan_renderer = DuckDbSqlPlanRenderer()

    def query(self, stmt: str, sql_bind_parameter_set: SqlBindParameterSet | None = None) -> MetricFlowDataTable:
        from metricflow.data_table.mf_table import MetricFlowDataTable

        cursor = self._con.execute(stmt, self._params(sql_bind_parameter_set))
        columns = [d[0] for d in cursor.description]
        return MetricFlowDataTable.create_from_rows(column_names=columns, rows=cursor.fetchall())

    def execute(self, stmt: str, sql_bind_parameter_set: SqlBindParameterSet | None = None) -> None:
        self._con.execute(stmt, self._params(sql_bind_parameter_set))

    def dry_run(self, stmt: str, sql_bind_parameter_set: SqlBindParameterSet | None = None) -> None:
        self._con.execute(f"explain {stmt}", self._params(sql_bind_parameter_set))

    def close(self) -> None:
        self._con.close()

    def render_bind_parameter_key(self, bind_parameter_key: str) -> str:
        return f"${bind_parameter_key}"

    @staticmethod
    def _params(parameter_set: SqlBindParameterSet | None) -> dict:
        if parameter_set is None:
            return {}
        return dict(parameter_set.param_dict)


def engine(analytics: Path | None = None, manifest_path: Path | None = None) -> MetricFlowEngine:
    from metricflow.engine.metricflow_engine import MetricFlowEngine
    from metricflow_semantics.model.dbt_manifest_parser import parse_manifest_from_dbt_generated_manifest
    from metricflow_semantics.model.semantic_manifest_lookup import SemanticManifestLookup

    manifest_path = manifest_path or semantic_manifest_path()
    if not manifest_path.exists():
        raise SystemExit(f"no semantic manifest at {manifest_path}: run `bizintel prepare` first")
    manifest = _unqualified(json.loads(manifest_path.read_text()))
    semantic_manifest = parse_manifest_from_dbt_generated_manifest(manifest_json_string=json.dumps(manifest))
    return MetricFlowEngine(
        semantic_manifest_lookup=SemanticManifestLookup(semantic_manifest),
        sql_client=ReadOnlyDuckDbClient(analytics or settings.analytics_path()),
    )


def _request(args: argparse.Namespace) -> MetricFlowQueryRequest:
    from metricflow.engine.metricflow_engine import MetricFlowQueryRequest

    def names(value: str | None) -> list[str] | None:
        return [n.strip() for n in value.split(",") if n.strip()] if value else None

    def day(value: str | None) -> dt.datetime | None:
        return dt.datetime.combine(dt.date.fromisoformat(value), dt.time()) if value else None

    group_by = names(args.group_by)
    order = names(args.order) or group_by
    return MetricFlowQueryRequest.create(
        metric_names=names(args.metrics),
        group_by_names=group_by,
        where_constraints=args.where or None,
        time_constraint_start=day(args.start),
        time_constraint_end=day(args.end),
        order_by_names=order,
        limit=args.limit,
    )


def _print_table(table: MetricFlowDataTable, as_csv: bool) -> None:
    rows = [list(row) for row in table.rows]
    if as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(table.column_names)
        writer.writerows(rows)
        return
    shown = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in shown]) for i, c in enumerate(table.column_names)]
    print("  ".join(c.ljust(w) for c, w in zip(table.column_names, widths)))
    for row in shown:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)))


def list_metrics(mf: MetricFlowEngine, with_dimensions: bool) -> None:
    for metric in mf.list_metrics(include_dimensions=with_dimensions):
        print(f"{metric.name}  ({metric.type.value.lower()})  {' '.join((metric.description or '').split())}")
        if with_dimensions:
            dims = sorted({d.dunder_name for d in metric.dimensions})
            print("    group by: " + ", ".join(dims))


def main(args: argparse.Namespace) -> None:
    mf = engine()
    if args.metrics_command == "list":
        list_metrics(mf, args.dimensions)
        return
    request = _request(args)
    if args.explain:
        print(mf.explain(request).sql_statement.without_descriptions.sql)
        return
    result = mf.query(request)
    _print_table(result.result_df, args.csv)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("metrics", help="query the semantic layer's metrics on the analysts' copy")
    msub = p.add_subparsers(dest="metrics_command", required=True)
    lp = msub.add_parser("list", help="every metric, its kind and its formula")
    lp.add_argument("--dimensions", action="store_true", help="also list what each metric can be grouped by")
    q = msub.add_parser("query", help="compute metrics (or print their SQL with --explain)")
    q.add_argument("--metrics", required=True, help="comma-separated metric names")
    q.add_argument("--group-by", help="comma-separated, e.g. metric_time__week,user__marketing_source")
    q.add_argument("--where", action="append", help="MetricFlow filter, e.g. \"{{ Dimension('zone_visit__venue') }} = 'V1'\"")
    q.add_argument("--start", help="first day, YYYY-MM-DD (on metric_time)")
    q.add_argument("--end", help="last day, YYYY-MM-DD (on metric_time)")
    q.add_argument("--order", help="comma-separated; '-' in front for descending (default: the group-by)")
    q.add_argument("--limit", type=int)
    q.add_argument("--csv", action="store_true", help="CSV on stdout")
    q.add_argument("--explain", action="store_true", help="print the SQL MetricFlow compiled instead of running it")

