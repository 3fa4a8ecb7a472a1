"""Escalation, acknowledgement, quiet hours, resolution and the target / trend
rules, on the synthetic KPI warehouse, with real local webhook and SMTP servers,
a real Dagster instance for the escalation sensor, real time passing (delays of
about a second) and the real `bizintel alerts` command in a child process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import pandas as pd
import pytest

from bizintel_dagster import policies
from bizintel_dagster.alerts import cli as alerts_cli
from bizintel_dagster.alerts import config as alert_config
from bizintel_dagster.alerts import engine, lifecycle
from bizintel_dagster.defs.automation import sensors
from tests.automation.conftest import DROP_DAYS, START, DAYS, connector, revenue_of, rules_yaml
from tests.automation.servers import SmtpServer, WebhookServer

TZ = "Africa/Johannesburg"
DELAY_MINUTES = 0.02  # 1.2 s between escalation levels
BUDGET = 60  # seconds to wait for something that should happen in about one


def _channels(quiet: str = "") -> str:
    return f"""
channels:
  webhook:
    type: webhook
    url_env: TEST_WEBHOOK_URL
    timeout_seconds: 5
    retry: {{attempts: 2, backoff_seconds: 0.01}}
{quiet}
  email:
    type: email
    host_env: TEST_SMTP_HOST
    port_env: TEST_SMTP_PORT
    starttls: false
    username_env: TEST_SMTP_USER
    password_env: TEST_SMTP_PASSWORD
    sender: alerts@bizintel.example
    recipients_env: TEST_ALERT_TO
    timeout_seconds: 5
    retry: {{attempts: 2, backoff_seconds: 0.01}}
  log:
    type: log_file
    path_env: TEST_ALERT_LOG
escalation_policies:
  oncall:
    levels:
      - channels: [webhook]
      - {{channels: [email], delay_minutes: {DELAY_MINUTES}}}
      - {{channels: [log], delay_minutes: {DELAY_MINUTES}}}
"""


def _rule(name: str, severity: str, column: str, extra: str = "escalation: oncall") -> str:
    return f"""
  - name: {name}
    kind: change_vs_trailing_average
    metric: {{table: kpis.kpi_daily, date_column: metric_date, value_column: {column}, name: {
        'revenue_consumer' if column.startswith('revenue') else 'payer_rate'}}}
    direction: drop
    threshold_pct: 40
    window_days: 7
    severity: {severity}
    format: {'money_minor' if column.startswith('revenue') else 'ratio'}
    {extra}
"""


REVENUE = _rule("revenue_drop", "critical", "revenue_consumer_minor")
PAYER_RATE = _rule("payer_rate_drop", "medium", "payer_rate", "channels: [webhook]")


@pytest.fixture
def world(kpi_warehouse, tmp_path, monkeypatch):
    """Servers, environment (for the sensor and the CLI child process) and a Dagster instance."""
    with WebhookServer() as hook, SmtpServer() as smtp, dg.instance_for_test() as instance:
        env = {"TEST_WEBHOOK_URL": hook.url, "TEST_SMTP_HOST": "127.0.0.1", "TEST_SMTP_PORT": str(smtp.port),
               "TEST_SMTP_USER": "alerts", "TEST_SMTP_PASSWORD": smtp.password, "TEST_ALERT_TO": "ops@example.com",
               "TEST_ALERT_LOG": str(tmp_path / "alerts.log"), "BIZINTEL_WAREHOUSE": str(kpi_warehouse),
               "BIZINTEL_ALERTS_CONFIG": str(tmp_path / "alerts.yaml"), "BIZINTEL_TIMEZONE": TZ}
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        yield {"path": kpi_warehouse, "hook": hook, "smtp": smtp, "instance": instance, "tmp": tmp_path, "env": env}


def _configure(world, text: str) -> alert_config.AlertConfig:
    (world["tmp"] / "alerts.yaml").write_text(text)
    return alert_config.load(world["tmp"] / "alerts.yaml")


def _evaluate(world, cfg, **kwargs):
    kwargs.setdefault("start", START + timedelta(days=7))
    return engine.run_evaluation(connector(world["path"]), cfg, timezone_name=TZ, env=world["env"],
                                 sleep=lambda s: None, **kwargs)


def _tick(world) -> str:
    """One evaluation of the escalation sensor, as the daemon would run it."""
    return sensors.alert_escalation_sensor(dg.build_sensor_context(instance=world["instance"])).skip_message


def _rows(world, sql, params=None):
    with duckdb.connect(str(world["path"]), read_only=True) as con:
        return con.execute(sql, params or {}).fetchall()


def _tick_until(world, condition, what: str):
    deadline = time.monotonic() + BUDGET
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {BUDGET}s"
        _tick(world)
        time.sleep(0.1)


def _bizintel(world, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bizintel_dagster.cli", "alerts", *args], capture_output=True,
                          text=True, timeout=180, env={**os.environ, **world["env"]})


def test_escalation_climbs_when_its_delay_passes_and_acknowledgement_stops_it(world):
    cfg = _configure(world, rules_yaml(REVENUE, channels=_channels()))
    summary = _evaluate(world, cfg, end=DROP_DAYS[0])
    (alert_id,) = summary.new_alerts
    raised_at = time.monotonic()
    (first,) = [m["json"] for m in world["hook"].received]
    assert "Consumer revenue (metric revenue_consumer)" in first["text"]
    assert f"{revenue_of(DROP_DAYS[0]) / 100:,.2f} ZAR" in first["text"]
    assert "http://localhost:3000/assets/kpis/kpi_daily" in first["text"]
    assert world["smtp"].messages == []  # level 2 waits for its delay

    _tick_until(world, lambda: world["smtp"].messages, "level 2 e-mail")
    assert time.monotonic() - raised_at >= DELAY_MINUTES * 60
    (_, _, mail), = world["smtp"].messages
    assert mail["Subject"] == f"[bizintel][CRITICAL][ESCALATED L2] revenue_drop: {DROP_DAYS[0]}"
    body = mail.get_payload(decode=True).decode()
    assert "Escalated to level 2: not acknowledged" in body and f"alerts ack {alert_id[:10]}" in body

    ack = _bizintel(world, "ack", alert_id[:10], "--by", "alice", "--note", "looking")
    assert ack.returncode == 0, ack.stderr
    assert f"alert {alert_id}: open -> acknowledged (by alice)" in ack.stdout
    # let level 3's delay pass (observed on the recorded clock), then tick: nothing more goes out
    (level_at,) = _rows(world, "select level_at from alerts.alert_state where alert_id = $id", {"id": alert_id})[0]
    while datetime.now(timezone.utc) <= level_at + timedelta(minutes=DELAY_MINUTES):
        time.sleep(0.1)
    _tick(world)
    assert not (world["tmp"] / "alerts.log").exists()
    assert len(world["smtp"].messages) == 1 and len(world["hook"].received) == 1
    history = _rows(world, "select event, detail from alerts.alert_history where alert_id = $id order by event_at",
                    {"id": alert_id})
    events = [e for e, _ in history]
    assert events.index("raised") < events.index("escalated") < events.index("acknowledged")
    assert ("acknowledged", "by alice: looking") in history
    assert _rows(world, "select state, state_by, level from alerts.alert_state") == [("acknowledged", "alice", 2)]


def test_quiet_hours_hold_non_critical_and_a_new_process_sends_one_digest_when_they_end(world):
    now = datetime.now(ZoneInfo(TZ))
    end = (now + timedelta(seconds=4)).replace(microsecond=0)
    quiet = (f"    quiet_hours: {{start: \"{(now - timedelta(hours=1)):%H:%M:%S}\", "
             f"end: \"{end:%H:%M:%S}\", bypass: [critical]}}")
    cfg = _configure(world, rules_yaml(REVENUE.replace("escalation: oncall", "channels: [webhook]") + PAYER_RATE,
                                       channels=_channels(quiet)))
    summary = _evaluate(world, cfg, end=DROP_DAYS[0])
    assert len(summary.new_alerts) == 2
    # critical goes through; medium is held, in the warehouse
    assert [m["json"]["text"].split("]")[0] for m in world["hook"].received] == [":red_circle: [CRITICAL"]
    held = _rows(world, """select e.rule_name, d.held_until from alerts.alert_deliveries d join alerts.alert_events e
                           using (alert_id) where d.status = 'held'""")
    assert [r for r, _ in held] == ["payer_rate_drop"] and held[0][1] == end
    _tick(world)  # still quiet: still held
    assert len(world["hook"].received) == 1
    # The process that held it is not the one that sends it: a fresh interpreter
    # ticks the sensor once the quiet hours are over.
    while datetime.now(timezone.utc) < end:
        time.sleep(0.1)
    script = ("import dagster as dg; from bizintel_dagster.defs.automation import sensors\n"
              "with dg.instance_for_test() as i:\n"
              "    print(sensors.alert_escalation_sensor(dg.build_sensor_context(instance=i)).skip_message)\n")
    child = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=180,
                           env={**os.environ, **world["env"]})
    assert child.returncode == 0, child.stderr
    assert len(world["hook"].received) == 2
    digest = world["hook"].received[1]["json"]["text"]
    assert "[MEDIUM][DIGEST]" in digest and "1 notification(s) held during quiet hours" in digest
    assert "Payer rate (metric payer_rate)" in digest
    assert _rows(world, "select status from alerts.alert_deliveries where status = 'held'") == []
    _tick(world)
    assert len(world["hook"].received) == 2  # sent once


def test_a_resolved_alert_stops_escalating_and_its_resolution_is_sent_once(world):
    cfg = _configure(world, rules_yaml(REVENUE, channels=_channels()))
    (alert_id,) = _evaluate(world, cfg, end=DROP_DAYS[0]).new_alerts
    back = DROP_DAYS[-1] + timedelta(days=1)  # the first day back within bounds
    later = _evaluate(world, cfg, end=back + timedelta(days=2))
    assert alert_id in later.resolved
    texts = [m["json"]["text"] for m in world["hook"].received]
    # the later run also raised (and resolved) the third drop day: look at the first alert's notices
    resolutions = [t for t in texts if "[RESOLVED]" in t and f"on {DROP_DAYS[0]} was" in t]
    assert len(resolutions) == 1 and f"back within bounds on {back}" in resolutions[0]
    # the resolved alert's escalation would be due now, and it does not come
    (state_at,) = _rows(world, "select state_at from alerts.alert_state where alert_id = $id", {"id": alert_id})[0]
    while datetime.now(timezone.utc) <= state_at + timedelta(minutes=DELAY_MINUTES):
        time.sleep(0.1)
    _tick(world)
    _evaluate(world, cfg, end=back + timedelta(days=2))
    notices = _rows(world, "select notice, channel, status from alerts.alert_deliveries where alert_id = $id "
                           "order by notice", {"id": alert_id})
    assert notices == [("alert", "webhook", "sent"), ("resolution", "webhook", "sent")]
    assert [t for t in (m["json"]["text"] for m in world["hook"].received)
            if "[RESOLVED]" in t and f"on {DROP_DAYS[0]} was" in t] == resolutions


def test_snooze_holds_escalation_until_it_ends(world):
    cfg = _configure(world, rules_yaml(REVENUE, channels=_channels()))
    (alert_id,) = _evaluate(world, cfg, end=DROP_DAYS[0]).new_alerts
    with duckdb.connect(str(world["path"])) as con:
        change = lifecycle.in_transaction(con, lambda: lifecycle.snooze(
            con, alert_id, by="bob", now=datetime.now(timezone.utc), minutes=DELAY_MINUTES * 2))
    while datetime.now(timezone.utc) <= change.extra["until"] - timedelta(minutes=DELAY_MINUTES):
        time.sleep(0.1)
    _tick(world)  # level 2's delay has passed, but the alert is snoozed
    assert world["smtp"].messages == []
    _tick_until(world, lambda: world["smtp"].messages, "escalation after the snooze")
    assert datetime.now(timezone.utc) >= change.extra["until"] + timedelta(minutes=DELAY_MINUTES)
    assert {"snoozed", "snooze_ended", "escalated"} <= {e for (e,) in _rows(
        world, "select event from alerts.alert_history where alert_id = $id", {"id": alert_id})}


def test_the_cli_waits_for_a_locked_warehouse_and_then_writes(world):
    cfg = _configure(world, rules_yaml(REVENUE, channels=_channels()))
    (alert_id,) = _evaluate(world, cfg, end=DROP_DAYS[0]).new_alerts
    holder = subprocess.Popen([sys.executable, "-c", (
        "import duckdb, sys, time\n"
        f"con = duckdb.connect({str(world['path'])!r})\n"
        "print('locked', flush=True)\n"
        "time.sleep(120)\n")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        ack = lambda con: lifecycle.acknowledge(con, alert_id, by="carol", now=datetime.now(timezone.utc))  # noqa: E731
        with pytest.raises(Exception) as locked:
            alerts_cli._write(ack, waits=(0.05,))
        assert policies.is_transient(locked.value)
    finally:
        holder.kill()
        holder.wait(timeout=60)
    assert alerts_cli._write(ack, waits=(0.05,)).state == "acknowledged"
    assert _rows(world, "select state_by from alerts.alert_state") == [("carol",)]


# ----------------------------------------------------------------------------
# target and trend rules against independent computations
# ----------------------------------------------------------------------------


def test_target_pace_is_period_to_date_projected_over_the_month(kpi_warehouse, tmp_path):
    goal = 30_000_000
    rule = f"""
  - name: revenue_target
    kind: target
    metric: {{table: kpis.kpi_daily, date_column: metric_date, value_column: revenue_total_minor, name: revenue}}
    period: month
    goal: {goal}
    at_risk_below_pct: 95
    severity: high
    format: money_minor
"""
    cfg = alert_config.parse(rules_yaml(rule), "t.yaml")
    first, last = datetime(2026, 2, 1).date(), datetime(2026, 3, 15).date()
    summary = engine.run_evaluation(connector(kpi_warehouse), cfg, start=first, end=last, timezone_name=TZ,
                                    env={"TEST_ALERT_LOG": str(tmp_path / "a.log")}, sleep=lambda s: None)
    expected = {}
    for i in range((last - first).days + 1):
        day = first + timedelta(days=i)
        month_start = day.replace(day=1)
        next_month = (month_start + timedelta(days=32)).replace(day=1)
        to_date = sum(revenue_of(month_start + timedelta(days=k)) for k in range((day - month_start).days + 1)
                      if month_start + timedelta(days=k) >= START)
        elapsed, days = (day - month_start).days + 1, (next_month - month_start).days
        projected = to_date / elapsed * days
        expected[day] = (to_date, projected, 100 * projected / goal)
    at_risk = {d for d, (_, _, pace) in expected.items() if pace < 95}
    (outcome,) = summary.outcomes
    assert at_risk and {b.metric_date for b in outcome.breaches} == at_risk
    for b in outcome.breaches:
        to_date, projected, pace = expected[b.metric_date]
        assert (b.observed, b.projected, b.pace_pct) == pytest.approx((to_date, projected, pace))
        assert b.period == b.metric_date.strftime("%Y-%m")
    # one alert per month at risk; its text says pace and goal with units
    events = dict(((p, m) for p, m in duckdb.connect(str(kpi_warehouse), read_only=True).execute(
        "select period, message from alerts.alert_events").fetchall()))
    assert set(events) == {d.strftime("%Y-%m") for d in at_risk}
    some = next(iter(events.values()))
    assert "Revenue (metric revenue)" in some and "at risk (below 95 %)" in some and "300,000.00 ZAR" in some


def test_trend_flags_a_sustained_weekly_decline_and_resolves_when_it_stops(kpi_warehouse, tmp_path):
    weeks = [1000, 1000, 1000, 1000, 1000, 900, 800, 700, 700, 700]  # declines in weeks 6, 7, 8
    frame = pd.DataFrame([(START + timedelta(days=7 * w + d), float(v)) for w, v in enumerate(weeks) for d in range(7)],
                         columns=["metric_date", "value"])
    with duckdb.connect(str(kpi_warehouse)) as con:
        con.execute("create table kpis.declining as select * from frame")
    rule = """
  - name: value_decline
    kind: trend
    metric: {table: kpis.declining, date_column: metric_date, value_column: value}
    period: week
    periods: 3
    min_decline_pct: 5
    severity: medium
    format: count
"""
    cfg = alert_config.parse(rules_yaml(rule), "t.yaml")
    summary = engine.run_evaluation(connector(kpi_warehouse), cfg, start=START, end=START + timedelta(days=DAYS - 1),
                                    timezone_name=TZ, env={"TEST_ALERT_LOG": str(tmp_path / "a.log")},
                                    sleep=lambda s: None)
    (outcome,) = summary.outcomes
    week8 = START + timedelta(weeks=7)
    assert [(b.period_first, b.observed, b.baseline) for b in outcome.breaches] == [(week8, 700, 1000)]
    assert outcome.breaches[0].change_pct == pytest.approx(-30)
    lines = [json.loads(line) for line in (tmp_path / "a.log").read_text().splitlines()]
    assert [line["notice"] for line in lines] == ["alert", "resolution"]
    assert "declined 3 weeks in a row" in lines[0]["message"]
    assert f"back within bounds on {week8 + timedelta(days=13)}" in lines[1]["message"]
