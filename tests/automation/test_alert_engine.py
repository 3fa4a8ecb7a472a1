"""Alert rules evaluated in DuckDB on a synthetic KPI warehouse with exact
figures, recorded with de-duplication and cool-down, delivered to real local
HTTP and SMTP servers."""

from __future__ import annotations

import json
import logging
from datetime import date, timedelta
from statistics import mean, stdev

import duckdb
import pytest

from bizintel_dagster import settings
from bizintel_dagster.alerts import config as alert_config
from bizintel_dagster.alerts import engine
from tests.automation.conftest import (
    ABUSE_SPIKE, DAYS, DROP_DAYS, ERROR_SPIKE, REVENUE_DROP_RULE, START, build_kpi_warehouse, connector, revenue_of,
    rules_yaml,
)
from tests.automation.servers import SmtpServer, WebhookServer, free_port, make_certificate

FIRST, LAST = START, START + timedelta(days=DAYS - 1)
TZ = "Africa/Johannesburg"


def _rows(path, sql, params=None):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def _evaluate(path, config_text, env, **kwargs):
    cfg = alert_config.parse(config_text, "test-alerts.yaml")
    kwargs.setdefault("start", FIRST)
    kwargs.setdefault("end", LAST)
    return engine.run_evaluation(connector(path), cfg, env=env, sleep=lambda s: None, **kwargs)


def test_trailing_average_drop_matches_an_independent_computation(kpi_warehouse, tmp_path):
    env = {"TEST_ALERT_LOG": str(tmp_path / "alerts.log")}
    summary = _evaluate(kpi_warehouse, rules_yaml(REVENUE_DROP_RULE), env)
    (outcome,) = summary.outcomes
    assert outcome.status == "breached"
    expected = {}
    for i in range(7, DAYS):  # full 7-day history from the 8th day on
        day = START + timedelta(days=i)
        baseline = mean(revenue_of(day - timedelta(days=k)) for k in range(1, 8))
        change = 100 * (revenue_of(day) - baseline) / baseline
        if change <= -40:
            expected[day] = (baseline, change)
    assert set(expected) == set(DROP_DAYS)
    got = {b.metric_date: b for b in outcome.breaches}
    assert set(got) == set(expected)
    for day, (baseline, change) in expected.items():
        assert got[day].baseline == pytest.approx(baseline)
        assert got[day].change_pct == pytest.approx(change)
        assert got[day].observed == revenue_of(day)


def test_seasonal_zscore_uses_the_same_weekday_and_flags_the_outlier(kpi_warehouse, tmp_path):
    rule = """
  - name: revenue_anomaly
    kind: seasonal_zscore
    metric: revenue_consumer
    direction: both
    sensitivity: 3
    weeks: 8
    min_history: 4
    min_stddev_pct: 5
    severity: medium
"""
    summary = _evaluate(kpi_warehouse, rules_yaml(rule), {"TEST_ALERT_LOG": str(tmp_path / "a.log")})
    breaches = {b.metric_date: b for b in summary.outcomes[0].breaches}
    # The weekly pattern and the +-3 % wobble are not anomalies (the deviation is
    # floored at 5 % of the baseline): only the injected drop days are.
    assert set(breaches) == set(DROP_DAYS)
    day = DROP_DAYS[0]
    history = [revenue_of(day - timedelta(weeks=k)) for k in range(1, 9) if day - timedelta(weeks=k) >= START]
    z = (revenue_of(day) - mean(history)) / max(stdev(history), 0.05 * mean(history))
    assert breaches[day].zscore == pytest.approx(z)
    assert breaches[day].history == len(history)
    assert breaches[day].zscore < -3


def test_hourly_threshold_finds_the_spike_hours_in_business_time(kpi_warehouse, tmp_path):
    rules = """
  - name: abuse_spike
    kind: hourly_threshold
    metric: abuse_flags
    above: 50
    severity: high
    format: count
  - name: service_error_spike
    kind: hourly_threshold
    metric: service_errors
    above: 100
    severity: critical
    format: count
"""
    summary = _evaluate(kpi_warehouse, rules_yaml(rules), {"TEST_ALERT_LOG": str(tmp_path / "a.log")})
    abuse, errors = ([(b.period, b.observed) for b in o.breaches] for o in summary.outcomes)
    assert abuse == [(f"{ABUSE_SPIKE[0]} {ABUSE_SPIKE[1]:02d}:00", ABUSE_SPIKE[2])]
    assert errors == [(f"{ERROR_SPIKE[0]} {ERROR_SPIKE[1]:02d}:00", ERROR_SPIKE[2])]
    severities = dict(_rows(kpi_warehouse, "select rule_name, severity from alerts.alert_events"))
    assert severities == {"abuse_spike": "high", "service_error_spike": "critical"}


def test_a_rule_on_a_missing_table_or_column_is_skipped_and_the_others_still_run(tmp_path, caplog):
    path = build_kpi_warehouse(tmp_path / "k.duckdb", with_hourly=False)
    shipped = alert_config.load(settings.REPO_ROOT / "config" / "alerts.yaml")
    caplog.set_level(logging.INFO)
    summary = engine.run_evaluation(connector(path), shipped, start=FIRST, end=LAST,
                                    env={"BIZINTEL_ALERT_LOG": str(tmp_path / "a.log")}, sleep=lambda s: None)
    status = {o.rule.name: (o.status, o.reason) for o in summary.outcomes}
    assert status["churn_spike"][0] == "skipped" and "kpis.kpi_daily" in status["churn_spike"][1]
    assert status["abuse_spike"][0] == "skipped" and "kpi_hourly_operations" in status["abuse_spike"][1]
    assert status["revenue_drop"][0] == "breached"
    recorded = dict(_rows(path, "select rule_name, status from alerts.rule_evaluations"))
    assert recorded["churn_spike"] == "skipped" and recorded["service_error_spike"] == "skipped"
    assert any("churn_spike skipped" in r.getMessage() for r in caplog.records)


def test_same_breach_is_recorded_once_and_cooldown_suppresses_the_next_day(kpi_warehouse, tmp_path):
    log = tmp_path / "alerts.log"
    env = {"TEST_ALERT_LOG": str(log)}
    first = _evaluate(kpi_warehouse, rules_yaml(REVENUE_DROP_RULE), env, run_id="run-1")
    # 3 drop days; the 2nd starts within the 1440-minute cool-down of the 1st
    assert len(first.new_alerts) == 2 and len(first.suppressed) == 1
    rows = _rows(kpi_warehouse, "select period, status, occurrences from alerts.alert_events order by period")
    assert [(p, s) for p, s, _ in rows] == [(str(DROP_DAYS[0]), "sent"), (str(DROP_DAYS[1]), "suppressed"),
                                           (str(DROP_DAYS[2]), "sent")]
    lines_after_first = log.read_text().splitlines()
    assert len(lines_after_first) == 2
    second = _evaluate(kpi_warehouse, rules_yaml(REVENUE_DROP_RULE), env, run_id="run-2")
    assert second.new_alerts == [] and second.suppressed == [] and len(second.seen_again) == 3
    assert log.read_text().splitlines() == lines_after_first
    assert _rows(kpi_warehouse, "select distinct rule_name from alerts.alert_events") == [("revenue_drop",)]
    assert [o for _, _, o in _rows(kpi_warehouse, "select period, status, occurrences from alerts.alert_events")] == [2, 2, 2]
    # no cool-down: every drop day notifies
    other = build_kpi_warehouse(tmp_path / "other.duckdb", with_hourly=False)
    summary = _evaluate(other, rules_yaml(REVENUE_DROP_RULE, settings="cooldown_minutes: 0"), env)
    assert len(summary.new_alerts) == 3


def test_a_channel_that_is_down_is_retried_recorded_and_delivered_on_the_next_evaluation(kpi_warehouse, tmp_path):
    port = free_port()  # nothing listens here yet: the webhook is down
    env = {"TEST_WEBHOOK_URL": f"http://127.0.0.1:{port}/hook", "TEST_ALERT_LOG": str(tmp_path / "alerts.log")}
    first = _evaluate(kpi_warehouse, rules_yaml(REVENUE_DROP_RULE), env, end=DROP_DAYS[0])
    assert len(first.new_alerts) == 1
    deliveries = dict((c, (s, a, e)) for c, s, a, e in _rows(
        kpi_warehouse, "select channel, status, attempts, last_error from alerts.alert_deliveries"))
    assert deliveries["webhook"][:2] == ("failed", 3) and "Connection refused" in deliveries["webhook"][2]
    assert deliveries["log"][:2] == ("sent", 1)
    assert deliveries["email"][0] == "skipped"  # not configured: no TEST_SMTP_HOST
    assert _rows(kpi_warehouse, "select status from alerts.alert_events") == [("failed",)]

    with WebhookServer(port) as hook:
        hook.fail_next = 1  # one more failure, then it answers: retried within the same evaluation
        second = _evaluate(kpi_warehouse, rules_yaml(REVENUE_DROP_RULE), env, end=DROP_DAYS[0])
    assert second.new_alerts == [] and second.deliveries == {"sent": 1}
    assert len(hook.received) == 1 and hook.requests == 2
    assert str(DROP_DAYS[0]) in hook.received[0]["json"]["text"]
    status, attempts = _rows(kpi_warehouse, "select status, attempts from alerts.alert_deliveries where channel = 'webhook'")[0]
    assert (status, attempts) == ("sent", 5)
    assert _rows(kpi_warehouse, "select status from alerts.alert_events") == [("sent",)]
    history = [e for (e,) in _rows(kpi_warehouse, "select event from alerts.alert_history where channel = 'webhook' order by event_at")]
    assert history == ["delivery_failed", "delivery_sent"]


def test_webhook_gets_slack_json_and_email_goes_through_starttls_and_auth(kpi_warehouse, tmp_path):
    certificate = make_certificate(tmp_path)
    if certificate is None:
        pytest.skip("openssl is needed to make a certificate for the STARTTLS test")
    channels = f"""
channels:
  webhook:
    type: webhook
    url_env: TEST_WEBHOOK_URL
  email:
    type: email
    host_env: TEST_SMTP_HOST
    port_env: TEST_SMTP_PORT
    starttls: true
    username_env: TEST_SMTP_USER
    password_env: TEST_SMTP_PASSWORD
    sender_env: TEST_ALERT_FROM
    recipients_env: TEST_ALERT_TO
    ca_file_env: TEST_SMTP_CA
"""
    with WebhookServer() as hook, SmtpServer(certificate) as smtp:
        env = {"TEST_WEBHOOK_URL": hook.url, "TEST_SMTP_HOST": "127.0.0.1", "TEST_SMTP_PORT": str(smtp.port),
               "TEST_SMTP_USER": "alerts", "TEST_SMTP_PASSWORD": smtp.password, "TEST_SMTP_CA": str(certificate[0]),
               "TEST_ALERT_FROM": "bizintel@example.com", "TEST_ALERT_TO": "ops@example.com, cfo@example.com"}
        summary = _evaluate(kpi_warehouse, rules_yaml(REVENUE_DROP_RULE, channels=channels), env, end=DROP_DAYS[0],
                            ui_url="http://ui.example:3000/")
    assert summary.deliveries == {"sent": 2}
    payload = hook.received[0]["json"]
    assert hook.received[0]["content_type"] == "application/json"
    assert set(payload) >= {"text", "blocks", "attachments"}
    assert "[CRITICAL]" in payload["text"] and str(DROP_DAYS[0]) in payload["text"]
    assert payload["blocks"][0]["type"] == "header" and "CRITICAL" in payload["blocks"][0]["text"]["text"]
    assert smtp.logins == ["alerts"]
    (sender, recipients, message), = smtp.messages
    assert recipients == ["ops@example.com", "cfo@example.com"]
    assert message["X-Bizintel-Severity"] == "critical"
    assert message["Subject"] == f"[bizintel][CRITICAL] revenue_drop: {DROP_DAYS[0]}"
    body = message.get_payload(decode=True).decode()
    baseline = mean(revenue_of(DROP_DAYS[0] - timedelta(days=k)) for k in range(1, 8))
    assert f"{revenue_of(DROP_DAYS[0]) / 100:,.2f} ZAR" in body and f"{baseline / 100:,.2f} ZAR" in body
    assert f"{100 * (revenue_of(DROP_DAYS[0]) - baseline) / baseline:+.1f} %" in body
    # the metric as the semantic layer names and describes it, observed vs expected, a link to its asset
    assert "Consumer revenue (revenue_consumer) on 2026-03-02 was" in payload["text"]
    assert f"expected about {baseline / 100:,.2f} ZAR" in payload["text"]
    assert "Sum of consumer purchase lines minus consumer refunds" in payload["text"]
    assert "http://ui.example:3000/assets/fused/fct_revenue" in payload["text"] and "/assets/fused/fct_revenue" in body


def test_failed_checks_become_alerts_with_severity_from_the_check(kpi_warehouse, tmp_path):
    env = {"TEST_ALERT_LOG": str(tmp_path / "alerts.log")}
    failures = [
        {"asset_key": "cleansed/dq_partition_stats", "check_name": "partition_quality_score_at_least_90",
         "severity": "ERROR", "blocking": True, "partition": "2026-03-02", "run_id": "abcdef123456",
         "job_name": "daily_pipeline_job", "description": "", "metadata": {"lowest_score": "81.5"}},
        {"asset_key": "cleansed/cleansed_billing", "check_name": "quality_score_at_least_90",
         "severity": "WARN", "blocking": False, "partition": "2026-03-02", "run_id": "abcdef123456",
         "job_name": "daily_pipeline_job", "description": "", "metadata": {}},
    ]
    summary = _evaluate(kpi_warehouse, rules_yaml(REVENUE_DROP_RULE), env, end=FIRST, check_failures=failures)
    assert len(summary.new_alerts) == 2
    rows = dict(_rows(kpi_warehouse, "select subject, severity from alerts.alert_events"))
    assert rows == {"cleansed/dq_partition_stats:partition_quality_score_at_least_90": "critical",
                    "cleansed/cleansed_billing:quality_score_at_least_90": "medium"}
    logged = [json.loads(line) for line in (tmp_path / "alerts.log").read_text().splitlines()]
    assert any("lowest_score=81.5" in entry["message"] for entry in logged)
    again = _evaluate(kpi_warehouse, rules_yaml(REVENUE_DROP_RULE), env, end=FIRST, check_failures=failures)
    assert again.new_alerts == [] and len(again.seen_again) == 2


def test_alerts_schema_is_published_to_analysts():
    from bizintel_dagster.warehouse import PUBLISHED_SCHEMAS

    assert "alerts" in PUBLISHED_SCHEMAS and "raw" not in PUBLISHED_SCHEMAS


def test_unknown_dates_window_defaults_to_the_latest_lookback_days(kpi_warehouse, tmp_path):
    summary = _evaluate(kpi_warehouse, rules_yaml(REVENUE_DROP_RULE, settings="lookback_days: 3"),
                        {"TEST_ALERT_LOG": str(tmp_path / "a.log")}, start=None, end=None)
    assert summary.outcomes[0].window == (LAST - timedelta(days=2), LAST)
    assert summary.outcomes[0].status == "ok"
    assert date(2026, 3, 2) not in [b.metric_date for b in summary.outcomes[0].breaches]


def test_a_day_with_data_but_no_revenue_line_is_judged_as_zero_revenue(tmp_path):
    """The metric layer has no revenue row on a day without revenue lines; a day
    with landing data (kpi_daily.has_data) is then a revenue of 0, the worst drop,
    and must alert. A day without landing data stays missing, not zero."""
    path = build_kpi_warehouse(tmp_path / "k.duckdb", with_hourly=False)
    empty, unloaded = START + timedelta(days=9), START + timedelta(days=10)
    with duckdb.connect(str(path)) as con:
        con.execute("delete from fused.fct_revenue where partition_date in (?, ?)", [empty, unloaded])
        con.execute("create schema kpis")
        con.execute("""create table kpis.kpi_daily as
            select d::date as metric_date, d::date as partition_date, d::date <> ? as has_data
            from generate_series(?::date, ?::date, interval 1 day) t(d)""", [unloaded, FIRST, LAST])
    summary = _evaluate(path, rules_yaml(REVENUE_DROP_RULE), {"TEST_ALERT_LOG": str(tmp_path / "a.log")})
    (outcome,) = summary.outcomes
    breaches = {b.metric_date: b.observed for b in outcome.breaches}
    assert breaches.get(empty) == 0, breaches
    assert unloaded not in breaches and outcome.values.get(empty) == 0 and unloaded not in outcome.values
