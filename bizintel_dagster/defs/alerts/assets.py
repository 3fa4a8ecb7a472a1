"""Alert evaluation as an asset: ``alerts/alert_events`` is the warehouse's
``alerts`` schema (events, deliveries, history, per-rule outcomes).

Runs of ``alert_evaluation_job`` (``defs/jobs.py``) are launched by sensors: ``kpi_alert_sensor``
when daily KPIs are materialized (with the materialized dates), and
``asset_check_alert_sensor`` when runs finish with failed asset checks (with the
failures). A manual run without config evaluates the latest
``settings.lookback_days`` days and retries undelivered notifications.
"""


from datetime import date

import dagster as dg
from dagster_duckdb import DuckDBResource

from bizintel_dagster import settings
from bizintel_dagster.alerts import config as alert_config
from bizintel_dagster.alerts import engine
from bizintel_dagster.policies import OWNERS, retry_transient
from bizintel_dagster.tables import other_tables_metadata
from bizintel_dagster.warehouse import WAREHOUSE_POOL

ALERT_EVENTS_KEY = dg.AssetKey(["alerts", "alert_events"])
KPI_DAILY_KEY = dg.AssetKey(["kpis", "kpi_daily"])
ALERT_OP_NAME = "alerts__alert_events"


class CheckFailure(dg.Config):
    """A failed asset-check evaluation, as collected by ``asset_check_alert_sensor``."""

    asset_key: str
    check_name: str
    severity: str = "ERROR"
    blocking: bool = False
    partition: str | None = None
    run_id: str = ""
    job_name: str = ""
    description: str = ""
    metadata: dict[str, str] = {}


class AlertEvaluationConfig(dg.Config):
    start_date: str | None = None
    """First metric date to evaluate (YYYY-MM-DD, inclusive). Default: the latest lookback_days."""
    end_date: str | None = None
    """Last metric date to evaluate (YYYY-MM-DD, inclusive)."""
    evaluate_rules: bool = True
    """False: only record the check failures below and retry open deliveries."""
    check_failures: list[CheckFailure] = []


def _date(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise dg.Failure(f"{name}={value!r} is not a date (YYYY-MM-DD)") from None


@dg.asset(
    key=ALERT_EVENTS_KEY,
    group_name="alerts",
    deps=[KPI_DAILY_KEY],
    owners=OWNERS,
    kinds={"duckdb", "python"},
    pool=WAREHOUSE_POOL,
    metadata={**engine.ALERT_EVENTS.metadata(),
              **other_tables_metadata(engine.ALERT_DELIVERIES, engine.ALERT_HISTORY, engine.RULE_EVALUATIONS)},
    description="Alerts raised by the rules in BIZINTEL_ALERTS_CONFIG (config/alerts.yaml) and by failed "
    "asset checks, de-duplicated, with cool-down, notified to webhook / e-mail / log file: "
    "alerts.alert_events, alert_deliveries, alert_history, rule_evaluations.",
)
def alert_events(context: dg.AssetExecutionContext, config: AlertEvaluationConfig,
                 warehouse: DuckDBResource) -> dg.MaterializeResult:
    try:
        rules = alert_config.load(settings.alerts_config_path())
    except alert_config.AlertConfigError as exc:
        raise dg.Failure(f"invalid alerts config: {exc}") from exc
    if not config.evaluate_rules:
        rules = alert_config.AlertConfig(
            source=rules.source, rules=(), channels=rules.channels, default_channels=rules.default_channels,
            cooldown_minutes=rules.cooldown_minutes, lookback_days=rules.lookback_days,
            asset_checks=rules.asset_checks)
    start, end = _date(config.start_date, "start_date"), _date(config.end_date, "end_date")
    if start and end and end < start:
        raise dg.Failure(f"end_date {end} is before start_date {start}")
    failures = [f.model_dump() for f in config.check_failures]
    summary = retry_transient(context, lambda: engine.run_evaluation(
        warehouse.get_connection, rules, start=start, end=end, check_failures=failures,
        run_id=context.run.run_id,
        currency=settings.get("BIZINTEL_REPORTING_CURRENCY"), logger=context.log,
    ))
    meta = summary.as_metadata()
    return dg.MaterializeResult(metadata={
        "config": dg.MetadataValue.path(rules.source),
        "window": f"{start or 'latest'} .. {end or 'latest'}",
        "rules_evaluated": meta["rules_evaluated"],
        "rules_skipped": dg.MetadataValue.json(meta["rules_skipped"]),
        "rules_failed": dg.MetadataValue.json(meta["rules_failed"]),
        "breaches": meta["breaches"],
        "new_alerts": meta["new_alerts"],
        "suppressed_by_cooldown": meta["suppressed_by_cooldown"],
        "already_recorded": meta["already_recorded"],
        "check_failures": len(failures),
        "deliveries": dg.MetadataValue.json(meta["deliveries"]),
    })

