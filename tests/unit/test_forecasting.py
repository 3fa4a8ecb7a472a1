"""Forecast accuracy code on synthetic series with known answers, and the
fallbacks for short and gappy history (issue 4)."""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pandas as pd
import pytest

from bizintel_dagster.forecasting import metrics, store
from bizintel_dagster.forecasting.backtest import HorizonIntervals, add_out_of_sample_intervals, rolling_origin
from bizintel_dagster.forecasting.models import NotEnoughHistory, RidgeTrendWeekly, SeasonalNaive, as_series
from bizintel_dagster.forecasting.pipeline import MetricSpec, forecast_metric

WEEK = np.array([10.0, 12.0, 11.0, 13.0, 20.0, 30.0, 25.0])  # Mon..Sun
START = pd.Timestamp("2026-01-05")  # a Monday
SPEC = MetricSpec("revenue", "revenue", "ZAR minor units")


def weekly(days: int, trend: float = 0.0, noise: float = 0.0, seed: int = 0, start=START) -> pd.Series:
    dates = pd.date_range(start, periods=days, freq="D")
    rng = np.random.default_rng(seed)
    values = WEEK[dates.dayofweek] * 10 + trend * np.arange(days) + rng.normal(0, noise, days)
    return as_series(dates, values)


# --- metrics ---------------------------------------------------------------


def test_mae_and_smape_known_values():
    assert metrics.mae([1, 2, 3], [2, 2, 5]) == pytest.approx(1.0)
    # 2|a-f|/(|a|+|f|): 2*1/3, 0, 2*2/8 -> mean 0.3056
    assert metrics.smape([1, 2, 3], [2, 2, 5]) == pytest.approx(100 * (2 / 3 + 0 + 0.5) / 3)
    assert metrics.smape([0, 0], [0, 0]) == 0.0


def test_mase_of_a_perfect_forecast_is_zero_and_of_the_in_sample_naive_is_one():
    y = weekly(35, trend=1.0)
    scale = metrics.seasonal_naive_scale(y)
    assert scale == pytest.approx(7.0)  # a trend of 1/day: y(d) - y(d-7) = 7 exactly
    assert metrics.mase(y, y, scale) == 0.0
    lagged = y.shift(7, freq="D").reindex(y.index).dropna()
    assert metrics.mase(y[lagged.index], lagged, scale) == pytest.approx(1.0)


def test_mase_is_undefined_when_the_seasonal_naive_is_perfect():
    y = weekly(28)
    assert metrics.seasonal_naive_scale(y) == 0.0
    assert math.isnan(metrics.mase(y, y, 0.0))


def test_seasonal_naive_scale_skips_pairs_across_a_gap():
    y = weekly(28, trend=1.0)
    gappy = y.drop(y.index[7:14])  # the second week is missing
    # pairs exist only for weeks 4 vs 3 (7 pairs); week 3 vs 2 lost its partner
    assert metrics.seasonal_naive_scale(gappy) == pytest.approx(7.0)
    assert math.isnan(metrics.seasonal_naive_scale(y[:7]))


def test_coverage_counts_bounds_as_inside_and_skips_points_without_interval():
    actual = [1, 2, 3, 4, 5]
    lower = [0, 2, 4, 0, np.nan]
    upper = [2, 2, 5, 3, np.nan]
    # inside: 1 in [0,2], 2 in [2,2]; outside: 3 < 4, 4 > 3; the NaN interval is not counted
    assert metrics.coverage(actual, lower, upper) == pytest.approx(0.5)
    assert math.isnan(metrics.coverage([1], [np.nan], [np.nan]))


# --- models and backtest -----------------------------------------------------


def test_seasonal_naive_on_a_pure_weekly_pattern_is_exact():
    y = weekly(42)
    future = pd.date_range(y.index[-1] + pd.Timedelta(days=1), periods=90, freq="D")
    np.testing.assert_array_equal(SeasonalNaive().fit(y).predict(future), WEEK[future.dayofweek] * 10)
    points = rolling_origin(y, SeasonalNaive, min_train=14, horizon=90)
    assert len(points) and (points["actual"] == points["point"]).all()


def test_seasonal_naive_uses_the_last_observation_of_each_weekday_across_a_gap():
    y = weekly(28, trend=1.0).drop(pd.date_range("2026-01-26", periods=7))  # last week missing
    predicted = SeasonalNaive().fit(y).predict(pd.DatetimeIndex([pd.Timestamp("2026-02-02")]))  # a Monday
    assert predicted[0] == y[pd.Timestamp("2026-01-19")]


def test_seasonal_naive_refuses_a_history_without_every_weekday():
    with pytest.raises(NotEnoughHistory, match="no observation for"):
        SeasonalNaive().fit(weekly(5))


def test_ridge_recovers_trend_plus_weekly_pattern():
    y = weekly(70, trend=2.0)
    model = RidgeTrendWeekly(alpha=1e-6).fit(y)
    future = pd.date_range(y.index[-1] + pd.Timedelta(days=1), periods=30, freq="D")
    expected = WEEK[future.dayofweek] * 10 + 2.0 * np.arange(70, 100)
    np.testing.assert_allclose(model.predict(future), expected, rtol=1e-4)


def test_ridge_beats_seasonal_naive_on_a_trending_noisy_series():
    y = weekly(120, trend=1.5, noise=8, seed=3)
    result = forecast_metric(y, SPEC)
    assert result.status == "ok"
    assert result.beats_naive.passed, result.beats_naive.message
    assert result.beats_naive.values["relative_mase"] < 1


def test_horizon_intervals_cover_their_level_on_fresh_errors():
    rng = np.random.default_rng(7)
    horizons = rng.integers(1, 91, 4000)
    scale = 5 + 0.2 * horizons
    intervals = HorizonIntervals.fit(rng.normal(0, 1, 4000) * scale, horizons)
    fresh_h = rng.integers(1, 91, 4000)
    fresh = rng.normal(0, 1, 4000) * (5 + 0.2 * fresh_h)
    for level in (80, 95):
        lo, hi = intervals.bounds(np.zeros(4000), fresh_h, level)
        assert metrics.coverage(fresh, lo, hi) == pytest.approx(level / 100, abs=0.03)
    assert HorizonIntervals.fit([1.0] * 5, [1] * 5) is None  # too few errors to calibrate


def test_backtest_intervals_use_only_errors_known_at_the_origin():
    y = weekly(60, trend=1.0, noise=5, seed=1)
    points = add_out_of_sample_intervals(rolling_origin(y, RidgeTrendWeekly, min_train=28, horizon=14))
    first = points["origin_date"].min()
    # at the first origin no error is known yet: no interval, so no coverage claim
    assert points.loc[points["origin_date"] == first, "lower_80"].isna().all()
    with_interval = points[points["lower_80"].notna()]
    assert len(with_interval)
    assert (with_interval["lower_95"] <= with_interval["lower_80"]).all()
    assert (with_interval["upper_80"] <= with_interval["upper_95"]).all()


# --- short and gappy history ---------------------------------------------------


def test_five_days_give_no_forecast_and_a_clear_message():
    result = forecast_metric(weekly(5), SPEC)
    assert result.status == "insufficient_history"
    assert result.forecasts.empty and result.backtest.empty
    assert "only 5 day(s) of history" in result.message and "at least 14 days" in result.message
    assert not result.beats_naive.passed and "not evaluated" in result.beats_naive.message


def test_no_history_at_all():
    result = forecast_metric(pd.Series(dtype=float), SPEC)
    assert result.status == "insufficient_history" and "only 0 day(s)" in result.message


def test_a_weekday_never_observed_gives_no_forecast():
    y = weekly(28)
    result = forecast_metric(y[y.index.dayofweek != 2], SPEC)  # no Wednesdays
    assert result.status == "insufficient_history" and "Wednesday" in result.message


def test_three_weeks_fall_back_to_seasonal_naive_with_intervals():
    result = forecast_metric(weekly(21, noise=3, seed=2), SPEC)
    assert result.status == "fallback"
    assert set(result.forecasts["model"]) == {"seasonal_naive"} and len(result.forecasts) == 90
    assert result.forecasts[["lower_80", "upper_80", "lower_95", "upper_95"]].notna().all().all()
    assert "week-on-week differences" in result.interval_method["seasonal_naive"]
    assert "fallback to the seasonal-naive forecast" in result.message


def test_a_missing_week_is_reported_and_not_filled_with_zeros():
    y = weekly(70, trend=1.0, noise=4, seed=5)
    gappy = y.drop(pd.date_range("2026-02-02", periods=7))
    result = forecast_metric(gappy, SPEC)
    assert result.status == "ok"
    assert result.history["missing_days"] == 7 and result.history["largest_gap"] == "2026-02-02..2026-02-08"
    assert "7 missing day(s)" in result.message
    # no backtest target inside the gap, and the forecast is sane (no zeros learned from the gap)
    assert not result.backtest["target_date"].isin(pd.date_range("2026-02-02", periods=7)).any()
    primary = result.forecasts[result.forecasts["model"] == "ridge_trend_weekly"]
    assert len(primary) == 90 and (primary["point"] > 50).all()
    bounds = primary[["lower_95", "lower_80", "point", "upper_80", "upper_95"]].to_numpy()
    assert (np.diff(bounds, axis=1) >= -1e-9).all()


def test_forecast_tables_round_trip_through_duckdb():
    ok = forecast_metric(weekly(60, trend=1.0, noise=4, seed=9), SPEC)
    short = forecast_metric(weekly(5), MetricSpec("dau", "active_users", "users", 1))
    con = duckdb.connect()
    generated = pd.Timestamp("2026-03-01T02:00:00Z").to_pydatetime()
    counts = store.write_tables(con, [(ok, SPEC), (short, MetricSpec("dau", "active_users", "users", 1))], generated)
    assert counts["daily_forecasts"] == 180 and counts["forecast_status"] == 2
    status = dict(con.execute("select metric, status from forecasts.forecast_status").fetchall())
    assert status == {"revenue": "ok", "dau": "insufficient_history"}
    types = dict(con.execute("select column_name, data_type from information_schema.columns "
                             "where table_name = 'daily_forecasts'").fetchall())
    assert types["forecast_date"] == "DATE" and types["point"] == "DOUBLE"
    first = con.execute("select min(forecast_date), min(horizon_days) from forecasts.daily_forecasts").fetchall()[0]
    assert first == (pd.Timestamp("2026-03-06").date(), 1)  # 60 days from 2026-01-05 end on 2026-03-05
    assert con.execute("select count(*) from forecasts.backtest where in_80 is null").fetchall()[0][0] > 0


def test_a_constant_series_is_forecast_without_error():
    y = as_series(pd.date_range(START, periods=60, freq="D"), np.full(60, 42.0))
    result = forecast_metric(y, SPEC)
    assert result.status == "ok"
    assert (result.forecasts["point"] == 42).all()
    assert not result.beats_naive.passed and "undefined" in result.beats_naive.message


def test_history_leaves_out_incomplete_days_and_days_without_data():
    """The history is the semantic layer's metric by day, on days with landing data
    only (kpi_daily.has_data), days after the last complete day left out; a missing table is named."""
    con = duckdb.connect()
    con.execute("create schema kpis; create table kpis.kpi_daily (metric_date date, has_data boolean, dau bigint)")
    con.execute("insert into kpis.kpi_daily values ('2026-06-01', true, 5), ('2026-06-02', false, 0), "
                "('2026-06-03', true, 7), ('2026-06-04', true, 0)")
    con.execute("""create schema enriched; create table enriched.enriched_app_events as
        select * from (values ('2026-06-01'::date, 'e1', 'u1', 'session_start'), ('2026-06-01', 'e2', 'u2', 'product_view'),
                              ('2026-06-01', 'e3', 'u2', 'session_start'), ('2026-06-01', 'e4', 'u3', 'abuse_flag'),
                              ('2026-06-02', 'e5', 'u1', 'session_start'), ('2026-06-03', 'e6', 'u1', 'session_start'))
                      t(partition_date, event_id, user_key, event_type)""")
    spec = MetricSpec("dau", "active_users", "users")
    history = store.read_history(con, [spec, SPEC])
    # 1 June: u1, u2 (the abuse flag is no activity); 2 June has no data; 3 June: u1; 4 June: data, no user = 0
    assert history.series["dau"].to_dict() == {pd.Timestamp("2026-06-01"): 2.0, pd.Timestamp("2026-06-03"): 1.0,
                                               pd.Timestamp("2026-06-04"): 0.0}
    through = store.read_history(con, [spec], through=pd.Timestamp("2026-06-02").date())
    assert through.series["dau"].to_dict() == {pd.Timestamp("2026-06-01"): 2.0}
    assert history.missing == {"revenue": ["fused.fct_revenue"]} and history.series["revenue"].empty
    empty = store.read_history(duckdb.connect(), [spec])
    assert empty.missing == {"dau": ["enriched.enriched_app_events", "kpis.kpi_daily"]}


# --- publishing: never worse than naive, never outside its own interval (issue 13) ----------


def _assert_points_inside_intervals(forecasts: pd.DataFrame) -> None:
    bounds = forecasts[["lower_95", "lower_80", "point", "upper_80", "upper_95"]].to_numpy(float)
    assert np.isfinite(bounds).all()
    assert (np.diff(bounds, axis=1) >= 0).all(), "a point outside its interval, or intervals not nested"


def _spike_then_decline(days: int = 150) -> pd.Series:
    """A one-off spike early (a bulk order), then a slowly declining weekly series: the
    shape of the real purchase log whose linear trend forecast 0 on 85 of 90 days."""
    dates = pd.date_range(START, periods=days, freq="D")
    rng = np.random.default_rng(11)
    values = WEEK[dates.dayofweek] * 10 * np.linspace(1.0, 0.8, days) + rng.normal(0, 4, days)
    values[6] += 40_000
    return as_series(dates, values)


def test_a_model_that_loses_to_seasonal_naive_is_not_published():
    result = forecast_metric(_spike_then_decline(), SPEC)
    relative = result.beats_naive.values["relative_mase"]
    assert relative >= 1, relative  # the construction: the trend model loses
    assert result.status == "baseline" and result.primary_model == "seasonal_naive"
    assert "seasonal_naive forecast published" in result.message and f"relative {relative:.3f}" in result.message
    assert not result.beats_naive.passed and "published instead" in result.beats_naive.message
    # the coverage check judges what is published
    assert result.coverage_80.values["model"] == "seasonal_naive"
    for _, frame in result.forecasts.groupby("model"):
        _assert_points_inside_intervals(frame)


def test_a_one_off_spike_does_not_drive_the_forecast_to_zero():
    y = _spike_then_decline()
    model = RidgeTrendWeekly().fit(y)
    future = pd.date_range(y.index[-1] + pd.Timedelta(days=1), periods=90, freq="D")
    recent_low = y[-28:].groupby(y[-28:].index.dayofweek).min()
    predicted = model.predict(future)
    # the floor: never below the lowest value of the same weekday in the last 4 weeks
    assert (predicted >= recent_low.reindex(future.dayofweek).to_numpy() - 1e-9).all()
    assert predicted.min() > 0.5 * y[-28:].min()


def test_a_model_that_wins_is_published_with_its_points_inside_its_intervals():
    result = forecast_metric(weekly(120, trend=1.5, noise=8, seed=3), SPEC)
    assert result.status == "ok" and result.primary_model == "ridge_trend_weekly"
    assert "published instead" not in result.beats_naive.message
    for _, frame in result.forecasts.groupby("model"):
        _assert_points_inside_intervals(frame)


def test_a_biased_baselines_interval_is_widened_to_hold_its_point():
    # on a steep trend every seasonal-naive error is positive: raw bounds lie above the point
    result = forecast_metric(weekly(120, trend=5.0, noise=1, seed=4), SPEC)
    naive = result.forecasts[result.forecasts["model"] == "seasonal_naive"]
    assert (naive["lower_80"] == naive["point"]).any()
    _assert_points_inside_intervals(naive)


def test_the_fallback_forecast_holds_its_points_inside_its_intervals():
    result = forecast_metric(weekly(21, trend=3.0, noise=1, seed=2), SPEC)
    assert result.status == "fallback"
    _assert_points_inside_intervals(result.forecasts)
