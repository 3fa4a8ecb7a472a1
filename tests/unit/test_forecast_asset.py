"""The forecasts asset and the executive report on a tiny warehouse: five days of a
new business, a history with a missing week, and a warehouse holding only
kpis.kpi_daily. Neither may crash; both must say what happened.

The forecasts read the semantic layer (metrics revenue, active_users and
days_with_data by day), so the tiny warehouse holds the tables behind them:
kpis.kpi_daily, one revenue line per day in fused.fct_revenue and each day's
active users as session events in enriched.enriched_app_events."""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg
import duckdb
import numpy as np
import pytest
from dagster_duckdb import DuckDBResource

from bizintel_dagster.defs.forecasts.assets import forecasts
from bizintel_dagster.defs.reports.assets import executive_report


def _warehouse(path, days: list[date], revenue: list[int] | None = None, facts: bool = True) -> None:
    rng = np.random.default_rng(1)
    with duckdb.connect(str(path)) as con:
        con.execute("""create schema kpis; create table kpis.kpi_daily (
            metric_date date, has_data boolean, revenue_total_minor bigint, revenue_consumer_minor bigint,
            revenue_b2b_minor bigint, refunds_minor bigint, purchases bigint, payers bigint, dau bigint,
            signups bigint, zone_visits bigint, engagement_rate double, sponsor_value_minor bigint,
            records_quarantined bigint, payer_rate double, data_quality_score double)""")
        daily = []
        for i, day in enumerate(days):
            dau = int(200 + i + 40 * (day.weekday() >= 4) + rng.integers(0, 10))
            day_revenue = revenue[i] if revenue is not None else int(dau * 1500 + rng.integers(0, 20_000))
            daily.append((day, day_revenue, dau))
            con.execute("insert into kpis.kpi_daily values (?, true, ?, ?, 0, 0, ?, ?, ?, 3, 50, 0.5, 1000, 2, ?, 97.5)",
                        [day, day_revenue, day_revenue, dau // 4, dau // 10, dau, (dau // 10) / dau])
        if not facts:
            return
        con.execute("create temp table daily (day date, revenue bigint, dau bigint)")
        con.executemany("insert into daily values (?, ?, ?)", daily)
        # the columns semantic_models.yml reads from each table
        con.execute("""create schema fused; create table fused.fct_revenue as
            select day as partition_date, 'r' || day as revenue_id, 'u0' as user_key, null::varchar as account_id,
                   'consumer' as revenue_stream, 'purchase' as revenue_type, null::varchar as payment_method_id,
                   null::varchar as product_id, null::varchar as product_category, null::varchar as plan_id,
                   'ZAR' as currency_code, revenue as amount_reporting_minor
            from daily""")
        con.execute("""create schema enriched; create table enriched.enriched_app_events as
            select day as partition_date, 'e' || day || '-' || u as event_id, 'u' || u as user_key,
                   'session_start' as event_type
            from daily, lateral (select unnest(range(dau)) as u)""")


def _materialize(tmp_path, days, monkeypatch, revenue=None, facts=True):
    path = tmp_path / "wh.duckdb"
    _warehouse(path, days, revenue, facts)
    monkeypatch.setenv("BIZINTEL_REPORTS_DIR", str(tmp_path / "reports"))
    result = dg.materialize([forecasts, executive_report], resources={"warehouse": DuckDBResource(database=str(path))},
                            run_config={"ops": {"reports__executive_report": {"config": {"period": "last_week"}}}},
                            raise_on_error=False)
    with duckdb.connect(str(path), read_only=True) as con:
        status = con.execute("select metric, status, message from forecasts.forecast_status order by 1").fetchall()
        rows = con.execute("select count(*) from forecasts.daily_forecasts").fetchall()[0][0]
    return result, status, rows


def test_five_days_give_a_clear_message_and_warnings_not_a_crash(tmp_path, monkeypatch):
    days = [date(2026, 6, 1) + timedelta(days=i) for i in range(5)]
    result, status, rows = _materialize(tmp_path, days, monkeypatch)
    assert result.success
    assert rows == 0
    assert [s[1] for s in status] == ["insufficient_history", "insufficient_history"]
    assert all("only 5 day(s) of history" in s[2] for s in status)
    checks = result.get_asset_check_evaluations()
    assert len(checks) == 4 and not any(c.passed for c in checks)
    assert {c.severity for c in checks} == {dg.AssetCheckSeverity.WARN}
    metadata = result.asset_materializations_for_node("forecasts")[0].metadata
    assert "insufficient_history" in metadata["status"].md_str
    html = (tmp_path / "reports").glob("executive_*.html")
    page = next(html).read_text(encoding="utf-8")
    assert "Forecast (Revenue): revenue: no forecast - only 5 day(s) of history" in page


def test_a_warehouse_with_only_kpi_daily_says_which_tables_are_missing(tmp_path, monkeypatch):
    days = [date(2026, 4, 1) + timedelta(days=i) for i in range(30)]
    result, status, rows = _materialize(tmp_path, days, monkeypatch, facts=False)
    assert result.success and rows == 0
    assert dict((s[0], s[1]) for s in status) == {"dau": "insufficient_history", "revenue": "insufficient_history"}
    messages = dict((s[0], s[2]) for s in status)
    assert "fused.fct_revenue not in the warehouse yet" in messages["revenue"]
    assert "enriched.enriched_app_events not in the warehouse yet" in messages["dau"]
    # the executive report: "n/a" cells and a note per missing table, not an exception
    page = next((tmp_path / "reports").glob("executive_*.html")).read_text(encoding="utf-8")
    for table in ("fused.fct_revenue", "enriched.enriched_app_events", "fused.fct_zone_visits",
                  "cleansed.dq_partition_stats"):
        assert f"{table} is not in the warehouse yet" in page, table
    assert "n/a" in page


@pytest.mark.parametrize("gap_start", [20, 50])
def test_a_missing_week_is_skipped_and_reported(tmp_path, monkeypatch, gap_start):
    days = [date(2026, 4, 1) + timedelta(days=i) for i in range(70) if not gap_start <= i < gap_start + 7]
    result, status, rows = _materialize(tmp_path, days, monkeypatch)
    assert result.success
    assert [s[1] for s in status] == ["ok", "ok"] and rows == 2 * 2 * 90
    assert all("7 missing day(s)" in s[2] for s in status)


def test_an_unexpected_error_in_one_metric_is_recorded_and_the_other_still_forecast(tmp_path, monkeypatch):
    from bizintel_dagster.defs.forecasts import assets as forecast_assets

    real = forecast_assets.forecast_metric

    def flaky(series, spec):
        if spec.metric == "revenue":
            raise ZeroDivisionError("synthetic bug")
        return real(series, spec)

    monkeypatch.setattr(forecast_assets, "forecast_metric", flaky)
    days = [date(2026, 4, 1) + timedelta(days=i) for i in range(60)]
    result, status, rows = _materialize(tmp_path, days, monkeypatch)
    assert result.success
    assert status[0][:2] == ("dau", "ok") and status[1][:2] == ("revenue", "error")
    assert "ZeroDivisionError: synthetic bug" in status[1][2] and rows == 2 * 90


def test_warehouse_connection_is_closed_when_the_step_fails(tmp_path):
    from bizintel_dagster.forecasting.connection import warehouse_connection

    path = str(tmp_path / "wh.duckdb")
    resource = DuckDBResource(database=path, connection_config={"memory_limit": "1GB"})
    with pytest.raises(RuntimeError):
        with warehouse_connection(resource) as con:
            con.execute("create table t as select 1 as x")
            raise RuntimeError("step failed")
    # another configuration in the same process: refused while a connection is left open
    with duckdb.connect(path, read_only=True) as con:
        assert con.execute("select x from t").fetchall() == [(1,)]


def test_revenue_the_model_loses_on_publishes_the_baseline_and_the_report_says_so(tmp_path, monkeypatch):
    # one bulk order in the first week, then a slowly declining weekly pattern: the linear
    # trend loses to seasonal naive on the backtest (the real purchase log of issue 13)
    days = [date(2026, 4, 6) + timedelta(days=i) for i in range(120)]
    rng = np.random.default_rng(3)
    week = np.array([10, 12, 11, 13, 20, 30, 25]) * 10_000
    revenue = [int(week[d.weekday()] * (1 - 0.2 * i / 120) + rng.integers(0, 4_000)) for i, d in enumerate(days)]
    revenue[6] += 400_000_000
    result, status, rows = _materialize(tmp_path, days, monkeypatch, revenue)
    assert result.success
    assert [s[1] for s in status] == ["ok", "baseline"]
    assert "seasonal_naive forecast published" in status[1][2]
    path = tmp_path / "wh.duckdb"
    with duckdb.connect(str(path), read_only=True) as con:
        primary = dict(con.execute("select metric, primary_model from forecasts.forecast_status").fetchall())
        outside = con.execute("""select count(*) from forecasts.daily_forecasts
                                 where not (lower_95 <= lower_80 and lower_80 <= point and point <= upper_80
                                            and upper_80 <= upper_95)""").fetchall()[0][0]
        low = con.execute("""select min(point) from forecasts.daily_forecasts
                             where metric = 'revenue' and model = 'seasonal_naive'""").fetchall()[0][0]
    assert primary == {"dau": "ridge_trend_weekly", "revenue": "seasonal_naive"}
    assert outside == 0 and low > 0
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert not checks["revenue_beats_seasonal_naive"].passed
    page = next((tmp_path / "reports").glob("executive_*.html")).read_text(encoding="utf-8")
    assert "Forecast (Revenue): the seasonal-naive baseline is published" in page
