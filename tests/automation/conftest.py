"""Fixtures for automation and alert tests: a small synthetic KPI warehouse
(exact figures, so the SQL can be checked against an independent computation)
and a connection factory like DuckDBResource.get_connection."""

from __future__ import annotations

import contextlib
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd
import pytest

START = date(2026, 1, 5)  # a Monday
DAYS = 70
DROP_DAYS = [date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)]  # Mon..Wed of week 9
ABUSE_SPIKE = (date(2026, 3, 10), 21, 75)
ERROR_SPIKE = (date(2026, 3, 12), 19, 140)
WEEKDAY = [0.85, 0.85, 0.90, 0.95, 1.15, 1.30, 1.10]
WOBBLE = [1.00, 1.02, 0.98, 1.01, 0.99, 1.03, 0.97, 1.00, 1.01]


def revenue_of(day: date) -> int:
    """Flat business with weekly seasonality and a small deterministic wobble;
    half the revenue on the drop days."""
    i = (day - START).days
    value = 1_000_000 * WEEKDAY[day.weekday()] * WOBBLE[i % len(WOBBLE)]
    return int(round(value * (0.5 if day in DROP_DAYS else 1.0)))


def build_kpi_warehouse(path: Path, timezone: str = "Africa/Johannesburg", with_hourly: bool = True) -> Path:
    """The tables the alert rules' metrics read, laid out as the pipeline writes them:
    one consumer purchase line a day in fused.fct_revenue (revenue_consumer of the
    day = revenue_of(day)) and 24 business-local hours a day in
    kpis.kpi_hourly_operations (abuse_flags, service_errors). No kpis.kpi_daily, no
    app events: metrics over those (churned_users, payer_rate, ...) are skipped."""
    con = duckdb.connect(str(path))
    con.execute("create schema fused")
    days = [START + timedelta(days=i) for i in range(DAYS)]
    revenue = pd.DataFrame({
        "partition_date": days, "revenue_id": [f"r{d}" for d in days], "revenue_type": "purchase",
        "revenue_stream": "consumer", "user_key": "u1", "account_id": None,
        "amount_reporting_minor": [revenue_of(d) for d in days],
        "product_id": None, "product_category": None, "payment_method_id": None, "plan_id": None,
        "currency_code": "ZAR",
    })
    con.execute("create table fused.fct_revenue as select * from revenue")
    if with_hourly:
        con.execute("create schema kpis")
        tz = ZoneInfo(timezone)
        hours = []
        for day in days:
            for h in range(24):
                abuse = ABUSE_SPIKE[2] if (day, h) == ABUSE_SPIKE[:2] else 2
                errors = ERROR_SPIKE[2] if (day, h) == ERROR_SPIKE[:2] else 3
                local = datetime(day.year, day.month, day.day, h)
                hours.append((day, day, local.replace(tzinfo=tz), local, h, abuse, errors))
        hourly = pd.DataFrame(hours, columns=["partition_date", "metric_date", "hour_start_at", "hour_start_local",
                                              "local_hour", "abuse_flags", "service_errors"])
        con.execute("create table kpis.kpi_hourly_operations as select * from hourly")
    con.close()
    return path


def connector(path: Path):
    @contextlib.contextmanager
    def connect():
        con = duckdb.connect(str(path))
        try:
            yield con
        finally:
            con.close()

    return connect


@pytest.fixture
def kpi_warehouse(tmp_path) -> Path:
    return build_kpi_warehouse(tmp_path / "warehouse.duckdb")


CHANNELS_YAML = """
channels:
  webhook:
    type: webhook
    url_env: TEST_WEBHOOK_URL
    timeout_seconds: 5
    retry: {attempts: 3, backoff_seconds: 0.01}
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
    retry: {attempts: 2, backoff_seconds: 0.01}
  log:
    type: log_file
    path_env: TEST_ALERT_LOG
"""


def rules_yaml(rules: str, *, settings: str = "cooldown_minutes: 1440", channels: str = CHANNELS_YAML) -> str:
    return f"version: 1\nsettings:\n  {settings}\n{channels}\nrules:\n{rules}"


REVENUE_DROP_RULE = """
  - name: revenue_drop
    kind: change_vs_trailing_average
    metric: revenue_consumer
    direction: drop
    threshold_pct: 40
    window_days: 7
    severity: critical
    format: money_minor
"""
