"""End to end under a real Dagster instance (temp DAGSTER_HOME, the repo's
dagster.yaml): generated landing files -> landing sensor -> pipeline run ->
KPI sensor -> alert run -> the injected revenue drop arrives on a real local
webhook and a real local SMTP server; a second evaluation notifies nobody; a
range of normal days raises nothing; a late file re-runs exactly its day."""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from statistics import mean

import dagster as dg
import duckdb
import pytest

from bizintel_dagster import runner, settings
from bizintel_dagster.defs.automation import sensors
from bizintel_dagster.demo import generator
from tests.automation.conftest import REVENUE_DROP_RULE, rules_yaml
from tests.automation.servers import SmtpServer, WebhookServer
from tests.integration.helpers import data_dir

pytestmark = pytest.mark.integration

START = date(2026, 3, 2)
DAYS = 20
LAST = START + timedelta(days=DAYS - 1)
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}

# The seed-001 rule kinds with thresholds above this small data set's day-to-day
# noise (8,000 events a day: +-30 % swings in daily revenue are ordinary
# here), so that "normal" means normal. The shipped thresholds are checked
# against the same data in test_shipped_rules_catch_the_injected_drop.
E2E_CHANNELS = """
channels:
  webhook:
    type: webhook
    url_env: E2E_WEBHOOK_URL
    retry: {attempts: 2, backoff_seconds: 0.05}
  email:
    type: email
    host_env: E2E_SMTP_HOST
    port_env: E2E_SMTP_PORT
    starttls: false
    username_env: E2E_SMTP_USER
    password_env: E2E_SMTP_PASSWORD
    sender: bizintel@example.com
    recipients_env: E2E_ALERT_TO
    retry: {attempts: 2, backoff_seconds: 0.05}
  log:
    type: log_file
    path_env: BIZINTEL_ALERT_LOG
"""
PAYER_RATE_DROP_RULE = """
  - name: payer_rate_drop
    kind: change_vs_trailing_average
    metric: payer_rate
    direction: drop
    threshold_pct: 40
    window_days: 7
    severity: high
    format: ratio
"""
RULES = rules_yaml(REVENUE_DROP_RULE + PAYER_RATE_DROP_RULE, channels=E2E_CHANNELS)


def _execute(definitions, job_name: str, request: dg.RunRequest, instance) -> dg.ExecuteInProcessResult:
    """Launch what a sensor requested, the way the daemon would: same job, tags,
    partition and run config, recorded in the instance."""
    job = definitions.resolve_job_def(job_name)
    return job.execute_in_process(run_config={**QUIET, **(request.run_config or {})}, instance=instance,
                                  tags=request.tags, partition_key=request.partition_key, raise_on_error=False)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("automation-e2e")
    home = root / "dagster_home"
    home.mkdir()
    shutil.copy(settings.REPO_ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    rules = root / "alerts.yaml"
    rules.write_text(RULES)
    with data_dir(root), pytest.MonkeyPatch.context() as mp, WebhookServer() as hook, SmtpServer() as smtp:
        for key, value in {
            "DAGSTER_HOME": str(home), "BIZINTEL_LANDING_SETTLE_SECONDS": "0", "BIZINTEL_ALERTS_CONFIG": str(rules),
            "BIZINTEL_ALERT_LOG": str(root / "alerts.log"), "E2E_WEBHOOK_URL": hook.url,
            "E2E_SMTP_HOST": "127.0.0.1", "E2E_SMTP_PORT": str(smtp.port), "E2E_SMTP_USER": "alerts",
            "E2E_SMTP_PASSWORD": smtp.password, "E2E_ALERT_TO": "ops@example.com",
        }.items():
            mp.setenv(key, value)
        summary = generator.generate(settings.landing_dir(), start=START, days=DAYS, app_events=160_000, seed=7)
        definitions = runner.load_definitions()
        with dg.DagsterInstance.get() as instance:
            assert runner.run_job(definitions, "reference_job", instance, log_level="WARNING").success
            landing_tick = sensors.landing_zone_sensor(dg.build_sensor_context(instance=instance))
            pipeline_runs = [_execute(definitions, "daily_pipeline_job", r, instance) for r in landing_tick.run_requests]
            kpi_tick = sensors.kpi_alert_sensor(dg.build_sensor_context(instance=instance))
            first_alert_run = _execute(definitions, "alert_evaluation_job", kpi_tick.run_requests[0], instance)
            yield {"root": root, "summary": summary, "definitions": definitions, "instance": instance,
                   "hook": hook, "smtp": smtp, "landing_tick": landing_tick, "pipeline_runs": pipeline_runs,
                   "kpi_tick": kpi_tick, "first_alert_run": first_alert_run}


def _kpis(world, sql, params=None):
    with data_dir(world["root"]), duckdb.connect(str(settings.warehouse_path()), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def _alert_metadata(result: dg.ExecuteInProcessResult) -> dict:
    (event,) = result.get_asset_materialization_events()
    return {k: getattr(v, "value", v) for k, v in event.materialization.metadata.items()}


def test_the_landing_sensor_launched_one_run_for_all_new_days(world):
    (request,) = world["landing_tick"].run_requests
    assert request.tags[sensors.RANGE_START_TAG] == START.isoformat()
    assert request.tags[sensors.RANGE_END_TAG] == LAST.isoformat()
    assert request.tags[sensors.TRIGGER_TAG] == "new_files"
    (run,) = world["pipeline_runs"]
    assert run.success
    assert _kpis(world, "select count(*) from kpis.kpi_daily")[0][0] == DAYS


def test_kpis_launch_an_alert_run_and_the_injected_drop_arrives_on_both_channels(world):
    (request,) = world["kpi_tick"].run_requests
    config = request.run_config["ops"][sensors.ALERT_OP_NAME]["config"]
    assert config == {"start_date": START.isoformat(), "end_date": LAST.isoformat()}
    assert world["first_alert_run"].success
    drop_days = world["summary"]["revenue_drop_dates"]
    hooks = [m["json"] for m in world["hook"].received]
    revenue = [p for p in hooks if "Revenue drop" in p["text"]]
    assert revenue, [p["text"] for p in hooks]
    # every revenue alert is about an injected drop day, and says so as critical
    notified_days = [d for d in drop_days if any(d in p["text"] for p in revenue)]
    assert notified_days and len(notified_days) == len(revenue)
    day = date.fromisoformat(notified_days[0])
    payload = next(p for p in revenue if day.isoformat() in p["text"])
    assert payload["text"].startswith(":red_circle: [CRITICAL]")
    # figures, computed here independently from kpi_daily
    values = dict(_kpis(world, "select metric_date, revenue_consumer_minor from kpis.kpi_daily"))
    baseline = mean(values[day - timedelta(days=k)] for k in range(1, 8))
    change = 100 * (values[day] - baseline) / baseline
    assert change <= -40
    for figure in (f"{values[day] / 100:,.2f} ZAR", f"{baseline / 100:,.2f} ZAR", f"{abs(change):.1f} %"):
        assert figure in payload["text"], figure
    mails = [m for _, _, m in world["smtp"].messages if m["Subject"] == f"[bizintel][CRITICAL] revenue_drop: {day}"]
    assert len(mails) == 1 and mails[0]["X-Bizintel-Severity"] == "critical"
    body = mails[0].get_payload(decode=True).decode()
    assert f"{values[day] / 100:,.2f} ZAR" in body and f"{change:+.1f} %" in body
    assert world["smtp"].logins  # the SMTP auth path was used
    logged = [json.loads(line) for line in (world["root"] / "alerts.log").read_text().splitlines()]
    assert any(e["rule_name"] == "revenue_drop" and e["period"] == day.isoformat() for e in logged)


def test_a_second_evaluation_does_not_notify_again(world):
    before = (len(world["hook"].received), len(world["smtp"].messages))
    with data_dir(world["root"]):
        again = _execute(world["definitions"], "alert_evaluation_job", world["kpi_tick"].run_requests[0], world["instance"])
    assert again.success
    meta = _alert_metadata(again)
    assert meta["new_alerts"] == 0 and meta["already_recorded"] > 0 and meta["deliveries"] == {}
    assert (len(world["hook"].received), len(world["smtp"].messages)) == before


def test_normal_days_raise_no_alert(world):
    drop_start = date.fromisoformat(world["summary"]["revenue_drop_dates"][0])
    normal = dg.RunRequest(run_config={"ops": {sensors.ALERT_OP_NAME: {"config": {
        "start_date": (START + timedelta(days=7)).isoformat(),           # a full 7-day history
        "end_date": (drop_start - timedelta(days=1)).isoformat()}}}})   # before the drop
    before = (len(world["hook"].received), len(world["smtp"].messages))
    with data_dir(world["root"]):
        result = _execute(world["definitions"], "alert_evaluation_job", normal, world["instance"])
    meta = _alert_metadata(result)
    assert result.success and meta["breaches"] == 0 and meta["new_alerts"] == 0 and meta["rules_evaluated"] == 2
    assert (len(world["hook"].received), len(world["smtp"].messages)) == before


def test_shipped_rules_catch_the_injected_drop(world, tmp_path):
    """The seed-001 defaults (config/alerts.yaml) flag the drop days as critical."""
    from bizintel_dagster.alerts import config as alert_config
    from bizintel_dagster.alerts import engine
    from tests.automation.conftest import connector

    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(world["root"] / "warehouse" / "bizintel.duckdb", copy)
    shipped = alert_config.load(settings.REPO_ROOT / "config" / "alerts.yaml")
    summary = engine.run_evaluation(connector(copy), shipped, start=START, end=LAST,
                                    env={"BIZINTEL_ALERT_LOG": str(tmp_path / "a.log")}, sleep=lambda s: None)
    revenue = next(o for o in summary.outcomes if o.rule.name == "revenue_drop")
    flagged = {b.metric_date.isoformat() for b in revenue.breaches}
    assert set(world["summary"]["revenue_drop_dates"][1:]) <= flagged
    assert revenue.rule.severity == "critical"


# The KPI column of kpis.kpi_daily (dbt's own SQL, written by the pipeline) each
# shipped rule's metric equals by day: an independent figure for the proof below.
KPI_DAILY_COLUMN = {"revenue_consumer": "revenue_consumer_minor", "payer_rate": "payer_rate",
                    "engagement_rate": "engagement_rate", "churned_users": "churned_users", "active_users": "dau"}


def test_alert_values_are_the_metric_layers_daily_values(world, tmp_path):
    """Issue 15's proof for alerts: on a generated data set, every value the shipped
    rules judged is the metric layer's answer for that day (hour) and the KPI
    table's figure."""
    from metricflow.engine.metricflow_engine import MetricFlowQueryRequest

    from bizintel_dagster import metrics
    from bizintel_dagster.alerts import config as alert_config
    from bizintel_dagster.alerts import engine
    from tests.automation.conftest import connector

    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(world["root"] / "warehouse" / "bizintel.duckdb", copy)
    shipped = alert_config.load(settings.REPO_ROOT / "config" / "alerts.yaml")
    summary = engine.run_evaluation(connector(copy), shipped, start=START, end=LAST,
                                    env={"BIZINTEL_ALERT_LOG": str(tmp_path / "a.log")}, sleep=lambda s: None)
    judged = {o.rule.metric.name: o.values for o in summary.outcomes}
    assert all(o.status in ("ok", "breached") for o in summary.outcomes), [(o.rule.name, o.reason) for o in summary.outcomes]
    assert set(judged) == set(KPI_DAILY_COLUMN) | {"abuse_flags", "service_errors"}

    with duckdb.connect(str(copy), read_only=True) as con:
        kpi_daily = {name: {d: None if v is None else float(v) for d, v in con.execute(
            f"select metric_date, {column} from kpis.kpi_daily").fetchall()} for name, column in KPI_DAILY_COLUMN.items()}
        hours = dict(con.execute(
            "select strftime(hour_start_local, '%Y-%m-%d %H:%M'), abuse_flags from kpis.kpi_hourly_operations").fetchall())
    for name in KPI_DAILY_COLUMN:
        kpi = kpi_daily[name]
        # kpi_daily stores rates rounded to 4 decimals; the metric layer does not round
        tolerance = {"abs": 5.01e-5} if name.endswith("_rate") else {"rel": 1e-12}
        assert judged[name] == pytest.approx({d: kpi[d] for d in judged[name]}, **tolerance), name

    mf = metrics.engine(analytics=copy)  # read-only: after the connection above is closed
    for name, values in judged.items():
        hourly = name in ("abuse_flags", "service_errors")
        group_by = ["metric_time__day"] + (["operations_hour__local_hour_start"] if hourly else [])
        table = mf.query(MetricFlowQueryRequest.create(metric_names=[name], group_by_names=group_by)).result_df
        layer = {}
        for row in table.rows:
            record = dict(zip(table.column_names, row))
            day = record["metric_time__day"].date()
            if START <= day <= LAST:
                key = record["operations_hour__local_hour_start"] if hourly else day
                layer[key] = None if record[name] is None else float(record[name])
        assert values == pytest.approx(layer), name
        # every day (hour) of the window, except engagement on days without zone visits (no rate)
        assert len(values) == (DAYS * 24 if hourly else DAYS) or name == "engagement_rate", name
    assert judged["abuse_flags"] == pytest.approx({h: float(hours[h]) for h in judged["abuse_flags"]})


def test_a_late_file_reruns_exactly_its_partition_and_re_evaluates_it(world):
    late_day = START + timedelta(days=3)
    with data_dir(world["root"]):
        source = settings.landing_dir() / "app_events" / f"dt={late_day}" / f"app_events_{late_day}.jsonl"
        late = source.with_name(f"app_events_{late_day}_late-99.jsonl")
        late.write_bytes(source.read_bytes().splitlines(keepends=True)[0].replace(b'"event_id":"', b'"event_id":"late-'))
        instance = world["instance"]
        tick = sensors.landing_zone_sensor(dg.build_sensor_context(instance=instance, cursor=world["landing_tick"].cursor))
        (request,) = tick.run_requests
        assert request.partition_key == late_day.isoformat() and request.tags[sensors.TRIGGER_TAG] == "late_files"
        run = _execute(world["definitions"], "daily_pipeline_job", request, instance)
        assert run.success
        events = run.get_asset_materialization_events()
        # every daily asset for the late day only; the dimensions (unpartitioned) are rebuilt in full
        assert {e.partition for e in events if e.partition is not None} == {late_day.isoformat()}
        assert {e.asset_key.to_user_string() for e in events if e.partition is None} == {
            "enriched/dim_users", "enriched/dim_accounts"}
        kpi_tick = sensors.kpi_alert_sensor(dg.build_sensor_context(instance=instance, cursor=world["kpi_tick"].cursor))
        (alert_request,) = kpi_tick.run_requests
        assert alert_request.run_config["ops"][sensors.ALERT_OP_NAME]["config"] == {
            "start_date": late_day.isoformat(), "end_date": late_day.isoformat()}


def test_the_alerts_tables_hold_status_and_history(world):
    statuses = dict(_kpis(world, "select status, count(*) from alerts.alert_events group by 1"))
    assert statuses.get("sent", 0) >= 1 and set(statuses) <= {"sent", "suppressed"}
    deliveries = dict(_kpis(world, "select channel, count(*) filter (where status = 'sent') from alerts.alert_deliveries group by 1"))
    assert deliveries["webhook"] == deliveries["email"] == deliveries["log"] == statuses["sent"]
    events = {e for (e,) in _kpis(world, "select distinct event from alerts.alert_history")}
    assert {"raised", "delivery_sent"} <= events
    rules = _kpis(world, "select count(distinct run_id) from alerts.rule_evaluations")[0][0]
    assert rules >= 2
