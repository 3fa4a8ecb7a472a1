"""Reports people open: executive (weekly / monthly), sponsor attribution and data
integrity, each as PDF (charts), XLSX (one sheet per table, typed cells), CSV
(one file per table) and a self-contained HTML page, written to
``BIZINTEL_REPORTS_DIR`` as ``<report>_<period>.<ext>`` and listed in
``reports.report_catalog``.

The period comes from run config (``period``): ``last_week`` (default) or
``last_month`` - the last complete ISO week / calendar month up to the newest
KPI date - or an explicit ``2026-W23`` / ``2026-06``. ``weekly_report_job`` and
``monthly_report_job`` set it for all three reports.
"""


import functools
import html
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
from dagster_duckdb import DuckDBResource
from pydantic import Field

from bizintel_dagster import money, partitions, settings
from bizintel_dagster.forecasting.connection import warehouse_connection
from bizintel_dagster.defs.freshness import freshness_policy_for_group
from bizintel_dagster.policies import OWNERS, retry_transient
from bizintel_dagster.reporting import catalog, periods
from bizintel_dagster.reporting.model import Report, format_value
from bizintel_dagster.warehouse import WAREHOUSE_POOL

REPORT_KINDS = {"pdf", "excel", "html"}


class ReportConfig(dg.Config):
    period: str = Field(
        default="last_week",
        description="last_week | last_month (last complete ISO week / calendar month up to the newest KPI date) "
        "| YYYY-Www | YYYY-MM",
    )


def _md(text) -> str:
    """A value safe inside a markdown table cell (input strings reach metadata too)."""
    return html.escape(str(text)).replace("|", "\\|").replace("\n", " ")


def preview_markdown(report: Report, files: dict[str, list[Path]], max_rows: int = 15) -> str:
    lines = [f"### {_md(report.title)}: {_md(report.period.describe())}", ""]
    lines += [f"- {_md(s)}" for s in report.summary]
    lines += [f"- **Note:** {_md(n)}" for n in report.notes]
    if report.tables:
        table = report.tables[0]
        lines += ["", f"**{_md(table.title)}**", "",
                  "| " + " | ".join(_md(c.label) for c in table.columns) + " |",
                  "|" + "---|" * len(table.columns)]
        for r, row in enumerate(table.rows[:max_rows]):
            lines.append("| " + " | ".join(_md(format_value(v, table.kind(r, c), report.currency))
                                           for c, v in enumerate(row)) + " |")
        if len(table.rows) > max_rows:
            lines.append(f"\n... {len(table.rows) - max_rows} more rows in the files")
    lines += ["", "Files: " + ", ".join(f"`{p.name}`" for paths in files.values() for p in paths)]
    return "\n".join(lines)


@functools.cache
def _code_location() -> dg.RepositoryDefinition:
    from bizintel_dagster.runner import load_definitions

    return load_definitions().get_repository_def()


def _check_rows(context: dg.AssetExecutionContext) -> list[tuple] | None:
    """Latest evaluation of every asset check in the code location, failing ones
    first; None when the instance cannot tell (the report says so)."""
    try:
        try:
            repository = context.repository_def
        except Exception:  # runs started with execute_in_process (CLI, tests) carry no repository
            repository = _code_location()
        return check_rows(repository, context.instance)
    except Exception as exc:  # check history is a bonus, never a reason to fail a report
        context.log.warning(f"asset-check results unavailable: {exc}")
        return None


def check_rows(repository: dg.RepositoryDefinition, instance: dg.DagsterInstance) -> list[tuple]:
    """(asset, check, result, severity, evaluated_at, description) of the latest
    evaluation of every asset check of ``repository`` recorded in ``instance``,
    failing ones first: the data-integrity report's and the dashboard's table."""
    graph = repository.asset_graph
    rows = []
    for key in graph.asset_check_keys:
        spec = graph.get_check_spec(key)
        record = instance.get_latest_asset_check_evaluation_record(key)
        result, severity, when = "not evaluated", "", ""
        if record is not None:
            result = {"SUCCEEDED": "passed", "FAILED": "FAILED", "PLANNED": "planned"}.get(
                record.status.value, record.status.value.lower())
            evaluation = getattr(getattr(record.event, "dagster_event", None), "event_specific_data", None)
            if evaluation is not None and getattr(evaluation, "severity", None) is not None:
                severity = evaluation.severity.value
                if result == "FAILED" and severity == "WARN":
                    result = "warning"
            when = datetime.fromtimestamp(record.create_timestamp, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        description = (spec.description or "").split("\n")[0][:160]
        rows.append((key.asset_key.to_user_string(), key.name, result, severity, when, description))
    order = {"FAILED": 0, "warning": 1, "planned": 2, "not evaluated": 3, "passed": 4}
    return sorted(rows, key=lambda r: (order.get(r[2], 5), r[0], r[1]))


def _build(name: str, con, period, currency: str, generated_at: datetime, checks) -> Report:
    from bizintel_dagster.reporting import content

    if name == "executive":
        return content.executive(con, period, currency, generated_at)
    if name == "sponsor_attribution":
        return content.sponsor_attribution(con, period, currency, generated_at)
    return content.data_integrity(con, period, currency, generated_at, checks)


def _report_asset(name: str, deps: list[dg.AssetKey], description: str) -> dg.AssetsDefinition:
    @dg.asset(
        key=["reports", f"{name}_report"],
        group_name="reports",
        freshness_policy=freshness_policy_for_group("reports"),
        deps=deps,
        owners=OWNERS,
        kinds=REPORT_KINDS,
        pool=WAREHOUSE_POOL,
        description=description + "\n\n" + (__doc__ or ""),
    )
    def _asset(context: dg.AssetExecutionContext, config: ReportConfig, warehouse: DuckDBResource) -> dg.MaterializeResult:
        # The report modules bring matplotlib: imported by the run that renders, not by
        # every Dagster process that loads the definitions (~1 s each).
        from bizintel_dagster.reporting import content, render

        currency = settings.get("BIZINTEL_REPORTING_CURRENCY")
        tz = ZoneInfo(settings.timezone())
        generated_at = datetime.now(tz)
        checks = _check_rows(context) if name == "data_integrity" else None

        def read() -> tuple[Report, str]:
            with warehouse_connection(warehouse) as con:
                money.load_exponent(con, currency)
                latest = content.latest_kpi_date(con)
                try:
                    period = periods.resolve(config.period, latest or partitions.last_day())
                except ValueError as exc:
                    raise dg.Failure(description=str(exc)) from None
                basis = (f"newest KPI date {latest}" if latest
                         else "no KPI data yet: relative to the last complete day")
                return _build(name, con, period, currency, generated_at, checks), basis

        report, basis = retry_transient(context, read)
        context.log.info(f"{name}: {report.period.describe()} ({config.period}; {basis})")
        out_dir = settings.reports_dir()
        files = render.write_all(report, out_dir)
        entries = catalog.entries(report, files, context.run_id)

        def record() -> None:
            with warehouse_connection(warehouse) as con:
                catalog.record(con, entries)

        retry_transient(context, record)

        metadata = {
            "period": report.period.label,
            "period_start": report.period.start.isoformat(),
            "period_end": report.period.end.isoformat(),
            "period_basis": basis,
            "preview": dg.MetadataValue.md(preview_markdown(report, files)),
            "notes": dg.MetadataValue.json(report.notes),
            "reports_dir": dg.MetadataValue.path(str(out_dir)),
            "files": dg.MetadataValue.json([e["path"] for e in entries]),
            "bytes": sum(e["bytes"] for e in entries),
        }
        for fmt, paths in files.items():
            metadata[fmt] = dg.MetadataValue.path(str(paths[0]))
        return dg.MaterializeResult(metadata=metadata)

    return _asset


KPI = ["kpis", "kpi_daily"]
# deps: the tables behind the metrics each report queries (semantic_models.yml)
executive_report = _report_asset(
    "executive",
    [dg.AssetKey(KPI), dg.AssetKey(["fused", "fct_revenue"]), dg.AssetKey(["enriched", "enriched_app_events"]),
     dg.AssetKey(["enriched", "dim_users"]), dg.AssetKey(["fused", "fct_zone_visits"]),
     dg.AssetKey(["cleansed", "dq_partition_stats"]),
     dg.AssetKey(["forecasts", "daily_forecasts"]), dg.AssetKey(["forecasts", "forecast_status"])],
    "Executive report: headline KPIs with change vs the previous period, daily KPIs, revenue by marketing "
    "source, revenue and DAU trend charts with the 30-day forecast and its measured accuracy (warnings when "
    "an accuracy check fails).",
)
sponsor_attribution_report = _report_asset(
    "sponsor_attribution",
    [dg.AssetKey(["fused", "fct_zone_visits"]), dg.AssetKey(["reference", "venues"])],
    "Sponsor attribution report (seed 000): attributed zone value per sponsor and zone, visits, engagement "
    "and verified share, sponsor totals vs the previous period, a bar chart by zone.",
)
data_integrity_report = _report_asset(
    "data_integrity",
    [dg.AssetKey(["cleansed", "dq_partition_stats"]), dg.AssetKey(["cleansed", "quarantine_records"]),
     dg.AssetKey(KPI)],
    "Data integrity report: rows per pipeline stage, lines accounted per source, daily quality score vs the "
    "bar (dbt var quality_bar), quarantine reasons, and the latest result of every asset check.",
)


@dg.asset(
    key=["reports", "report_catalog"],
    group_name="reports",
    freshness_policy=freshness_policy_for_group("reports"),
    deps=[executive_report.key, sponsor_attribution_report.key, data_integrity_report.key],
    owners=OWNERS,
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,
    metadata=catalog.TABLE.metadata(),
    description="reports.report_catalog: every report file generated (report, period, format, path, bytes, "
    "generated_at, run_id). Rows are appended by the report assets; this asset summarises the catalog and "
    "flags files that no longer exist.",
)
def report_catalog(context: dg.AssetExecutionContext, warehouse: DuckDBResource) -> dg.MaterializeResult:
    def read() -> list[dict]:
        with warehouse_connection(warehouse) as con:
            return catalog.read(con)

    rows = retry_transient(context, read)
    missing = [r for r in rows if not Path(r["path"]).exists()]
    latest = rows[:20]
    table = ["| report | period | format | bytes | generated_at | file |", "|---|---|---|---|---|---|"]
    table += [f"| {r['report']} | {r['period']} | {r['format']} | {r['bytes']:,} | {r['generated_at']:%Y-%m-%d %H:%M} "
              f"| `{Path(r['path']).name}` |" for r in latest]
    return dg.MaterializeResult(metadata={
        "dagster/row_count": dg.MetadataValue.int(len(rows)),
        "reports_dir": dg.MetadataValue.path(str(settings.reports_dir())),
        "latest": dg.MetadataValue.md("\n".join(table)),
        "files_missing": len(missing),
        "missing": dg.MetadataValue.json([r["path"] for r in missing[:50]]),
    })
