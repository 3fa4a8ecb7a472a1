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

Inside the pipeline the reports and the forecasts read the same metrics from the
working warehouse: ``MetricReader(con)`` builds one engine over the connection the
step already holds (DuckDB refuses a second connection to the same file with another
configuration in one process) and answers only the metrics whose tables are there,
so no figure shown to a person is computed outside the semantic layer.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import decimal
import functools
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from typing import TYPE_CHECKING

import duckdb

from bizintel_dagster import settings
from bizintel_dagster.warehouse import table_exists

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
    """MetricFlow's SqlClient over one DuckDB connection: opened read-only on
    ``path``, or ``connection``, borrowed from the caller (who closes it)."""

    def __init__(self, path: Path | None = None, connection: duckdb.DuckDBPyConnection | None = None):
        from metricflow.protocols.sql_client import SqlEngine
        from metricflow.sql.render.duckdb_renderer import DuckDbSqlPlanRenderer

        self._owned = connection is None
        if connection is not None:
            self._con = connection
        elif path is None or not path.exists():
            raise SystemExit(f"no analysts' copy at {path}: run `bizintel run` (or `bizintel publish`) first")
        else:
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
        if self._owned:
            self._con.close()

    def render_bind_parameter_key(self, bind_parameter_key: str) -> str:
        return f"${bind_parameter_key}"

    @staticmethod
    def _params(parameter_set: SqlBindParameterSet | None) -> dict:
        if parameter_set is None:
            return {}
        return dict(parameter_set.param_dict)


class NoSemanticManifest(RuntimeError):
    pass


@functools.lru_cache(maxsize=2)
def _parsed(manifest_path: Path, mtime_ns: int) -> tuple[dict, object]:
    """The manifest JSON and MetricFlow's lookup over it, once per process and
    manifest version: parsing and indexing it is most of an engine's start-up, and
    every report and forecast step of a run needs it."""
    from metricflow_semantics.model.dbt_manifest_parser import parse_manifest_from_dbt_generated_manifest
    from metricflow_semantics.model.semantic_manifest_lookup import SemanticManifestLookup

    manifest = _unqualified(json.loads(manifest_path.read_text()))
    semantic_manifest = parse_manifest_from_dbt_generated_manifest(manifest_json_string=json.dumps(manifest))
    return manifest, SemanticManifestLookup(semantic_manifest)


def _load(manifest_path: Path | None) -> tuple[dict, object]:
    manifest_path = manifest_path or semantic_manifest_path()
    if not manifest_path.exists():
        raise NoSemanticManifest(f"no semantic manifest at {manifest_path}: run `bizintel prepare` first")
    return _parsed(manifest_path.resolve(), manifest_path.stat().st_mtime_ns)


def engine(analytics: Path | None = None, manifest_path: Path | None = None,
           connection: duckdb.DuckDBPyConnection | None = None) -> MetricFlowEngine:
    """MetricFlow over the analysts' copy (default), another DuckDB file
    (``analytics``, opened read-only) or an open ``connection`` (borrowed)."""
    from metricflow.engine.metricflow_engine import MetricFlowEngine

    _, lookup = _load(manifest_path)
    client = (ReadOnlyDuckDbClient(connection=connection) if connection is not None
              else ReadOnlyDuckDbClient(analytics or settings.analytics_path()))
    return MetricFlowEngine(semantic_manifest_lookup=lookup, sql_client=client)


def _plain(value):
    """DuckDB's DECIMAL / HUGEINT sums and MetricFlow's timestamps as int, float, date."""
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime):
        return value.date()
    return value


@dataclass
class Answer:
    """One query's rows ({metric or group-by name: value}) and the metrics left out
    because a table behind them is missing (their values are None in every row)."""

    rows: list[dict]
    missing: dict[str, list[str]] = field(default_factory=dict)  # metric -> relations not found

    def first(self) -> dict:
        return self.rows[0] if self.rows else {}


class MetricReader:
    """The semantic layer over one open DuckDB connection (read access is enough):
    one MetricFlow engine for every query a step makes.

    Before a query it checks the relations behind each metric (the semantic
    models of its input measures, the time spine for cumulative metrics) and of each
    group-by: a metric whose table is missing is not queried (MetricFlow would fail
    the whole query) but reported in ``Answer.missing``, so a caller shows "n/a"."""

    def __init__(self, con: duckdb.DuckDBPyConnection, manifest_path: Path | None = None):
        self._con = con
        self._manifest, _ = _load(manifest_path)
        self._engine = engine(manifest_path=manifest_path, connection=con)
        self._present: dict[tuple[str, str], bool] = {}
        models = self._manifest.get("semantic_models", [])
        self._measure_relation = {m["name"]: _relation(sm) for sm in models for m in sm.get("measures", [])}
        self._metrics = {m["name"]: m for m in self._manifest.get("metrics", [])}
        self._dimension_relations: dict[str, set[tuple[str, str]]] = {}
        for sm in models:
            entities = [e["name"] for e in sm.get("entities", []) if e.get("type") in ("primary", "unique", "natural")]
            entities += [sm["primary_entity"]] if sm.get("primary_entity") else []
            for dim in sm.get("dimensions", []):
                for entity in entities:
                    self._dimension_relations.setdefault(f"{entity}__{dim['name']}", set()).add(_relation(sm))
        spines = self._manifest.get("project_configuration", {}).get("time_spines", [])
        self._spine = {(s["node_relation"]["schema_name"], s["node_relation"]["alias"]) for s in spines}

    @property
    def time_spines(self) -> set[tuple[str, str]]:
        return set(self._spine)

    def definition(self, metric: str) -> dict:
        """The metric as the semantic manifest defines it (name, label, description, type, ...)."""
        return self._metrics[metric]

    def relations(self, metric: str) -> set[tuple[str, str]]:
        """(schema, table) of every relation ``metric`` is computed from."""
        definition = self._metrics[metric]
        params = definition.get("type_params") or {}
        found = {self._measure_relation[m["name"]] for m in params.get("input_measures") or []}
        if definition.get("type") == "cumulative" or any(
                m.get("join_to_timespine") for m in params.get("input_measures") or []):
            found |= self._spine
        return found

    def _exists(self, relation: tuple[str, str]) -> bool:
        if relation not in self._present:
            self._present[relation] = table_exists(self._con, *relation)
        return self._present[relation]

    def missing_relations(self, metric: str, group_by: list[str] | tuple = ()) -> list[str]:
        needed = set(self.relations(metric))
        for name in group_by:  # entity__dimension (the last hop for a multi-hop name); metric_time needs none
            needed |= self._dimension_relations.get("__".join(name.split("__")[-2:]), set())
        return sorted(f"{schema}.{table}" for schema, table in needed if not self._exists((schema, table)))

    def query(self, metric_names: list[str], group_by: list[str] | None = None, start: dt.date | None = None,
              end: dt.date | None = None, where: list[str] | None = None) -> Answer:
        """The metrics for the days ``start``..``end`` (inclusive, on metric_time),
        grouped by ``group_by`` (ordered by it)."""
        from metricflow.engine.metricflow_engine import MetricFlowQueryRequest

        group_by = list(group_by or [])
        missing = {m: r for m in metric_names if (r := self.missing_relations(m, group_by))}
        wanted = [m for m in metric_names if m not in missing]
        rows: list[dict] = []
        if wanted:
            constraints = list(where or [])
            # a filter on the day, not time_constraint_*: MetricFlow widens a time
            # constraint to whole weeks / months of a coarser group-by grain (seen with
            # metricflow 0.213), and the days asked for must be the days answered
            if start is not None:
                constraints.append("{{ TimeDimension('metric_time', 'day') }} >= '" + start.isoformat() + "'")
            if end is not None:
                constraints.append("{{ TimeDimension('metric_time', 'day') }} <= '" + end.isoformat() + "'")
            table = self._engine.query(MetricFlowQueryRequest.create(
                metric_names=wanted, group_by_names=group_by or None, where_constraints=constraints or None,
                order_by_names=group_by or None,
            )).result_df
            rows = [dict(zip(table.column_names, (_plain(v) for v in row))) for row in table.rows]
        if not group_by and not rows:
            rows = [{}]  # one row without a group-by, as MetricFlow gives when it ran
        for row in rows:
            row.update({m: None for m in missing})
        return Answer(rows, missing)


def _relation(semantic_model: dict) -> tuple[str, str]:
    rel = semantic_model["node_relation"]
    return rel["schema_name"], rel["alias"]


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
    try:
        mf = engine()
    except NoSemanticManifest as exc:
        raise SystemExit(str(exc)) from None
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

