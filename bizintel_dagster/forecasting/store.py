"""Read KPI history from the warehouse and write the forecast tables.

Tables (schema ``forecasts``), replaced as a whole in one transaction per run:

- ``daily_forecasts``: metric, model, forecast_date, horizon_days, point,
  lower_80, upper_80, lower_95, upper_95, unit, generated_at
- ``backtest``: one row per metric, model, origin and target day: actual,
  point, out-of-sample interval bounds, abs_error, mase_scale, in_80, in_95
- ``forecast_accuracy``: MAE, sMAPE, MASE, coverage per metric, model and
  horizon bucket (1-7, 8-30, 31-90, all)
- ``forecast_status``: one row per metric: status, message, primary model,
  history, check outcomes, interval method
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd

from bizintel_dagster.forecasting.models import as_series
from bizintel_dagster.forecasting.pipeline import MetricForecast, MetricSpec
from bizintel_dagster.tables import Table, col

SCHEMA = "forecasts"

_METRIC = col("metric", "varchar", "Forecast metric: revenue (revenue_total_minor of kpis.kpi_daily) or dau.",
              not_null=True)
_MODEL = col("model", "varchar", "ridge_trend_weekly (Ridge trend + weekday model) or seasonal_naive (same weekday of "
             "the previous week, the baseline).", not_null=True)
_VALUE = "in the metric's unit (revenue: reporting-currency minor units, e.g. ZAR cents; dau: users)"
_GENERATED_AT = col("generated_at", "timestamptz", "When the forecast run wrote the row (UTC).", not_null=True)
_BOUNDS = (
    col("lower_80", "double", f"Lower bound of the 80 % prediction interval, {_VALUE}."),
    col("upper_80", "double", f"Upper bound of the 80 % prediction interval, {_VALUE}."),
    col("lower_95", "double", f"Lower bound of the 95 % prediction interval, {_VALUE}."),
    col("upper_95", "double", f"Upper bound of the 95 % prediction interval, {_VALUE}."),
)

TABLES = {t.name: t for t in (
    Table(SCHEMA, "daily_forecasts", (
        _METRIC, _MODEL,
        col("forecast_date", "date", "Business-local day forecast.", not_null=True),
        col("horizon_days", "integer", "Days from the last actual day to forecast_date (1..90; <= 30 is the "
            "30-day view).", not_null=True),
        col("point", "double", f"Point forecast, {_VALUE}."),
        *_BOUNDS,
        col("unit", "varchar", "Unit of point and bounds (e.g. 'ZAR minor units', 'users')."),
        _GENERATED_AT)),
    Table(SCHEMA, "backtest", (
        _METRIC, _MODEL,
        col("origin_date", "date", "Last day of history the backtest forecast was made from.", not_null=True),
        col("target_date", "date", "Day forecast (and observed).", not_null=True),
        col("horizon_days", "integer", "target_date - origin_date in days.", not_null=True),
        col("actual", "double", f"Observed value on target_date, {_VALUE}."),
        col("point", "double", f"Out-of-sample point forecast, {_VALUE}."),
        *_BOUNDS,
        col("abs_error", "double", f"|actual - point|, {_VALUE}."),
        col("mase_scale", "double", "In-sample MAE of the seasonal-naive forecast up to origin_date: the "
            "denominator of MASE."),
        col("in_80", "boolean", "Whether actual lies inside the 80 % interval."),
        col("in_95", "boolean", "Whether actual lies inside the 95 % interval."),
        _GENERATED_AT)),
    Table(SCHEMA, "forecast_accuracy", (
        _METRIC, _MODEL,
        col("horizons", "varchar", "Horizon bucket in days: 1-7, 8-30, 31-90 or all.", not_null=True),
        col("n_points", "integer", "Backtest points in the bucket."),
        col("n_origins", "integer", "Distinct forecast origins in the bucket."),
        col("mae", "double", f"Mean absolute error, {_VALUE}."),
        col("smape", "double", "Symmetric mean absolute percentage error, 0-200 (percent)."),
        col("mase", "double", "Mean absolute scaled error (MAE / seasonal-naive in-sample MAE); < 1 beats naive."),
        col("coverage_80", "double", "Share (0-1) of actuals inside the 80 % interval."),
        col("coverage_95", "double", "Share (0-1) of actuals inside the 95 % interval."),
        col("n_interval_points", "integer", "Backtest points with an interval (coverage denominator)."),
        _GENERATED_AT)),
    Table(SCHEMA, "forecast_status", (
        _METRIC,
        col("status", "varchar", "ok | baseline | fallback | insufficient_history | error.", not_null=True),
        col("message", "varchar", "Why the status (e.g. which check the model lost)."),
        col("primary_model", "varchar", "The published model of the metric in daily_forecasts."),
        col("unit", "varchar", "Unit of the metric's forecasts."),
        col("history_days", "integer", "Days with data in the history the model was fitted on."),
        col("first_actual_date", "date", "First day of that history."),
        col("last_actual_date", "date", "Last day of that history (the last complete day with data)."),
        col("missing_days", "integer", "Days without data between first_actual_date and last_actual_date."),
        col("mase", "double", "Backtest MASE of the model (all horizons)."),
        col("mase_seasonal_naive", "double", "Backtest MASE of the seasonal-naive baseline."),
        col("relative_mase", "double", "mase / mase_seasonal_naive; >= 1: the model loses, the baseline is published."),
        col("coverage_80", "double", "Backtest share (0-1) of actuals inside the model's 80 % interval."),
        col("beats_naive", "boolean", "Outcome of the beats-seasonal-naive check."),
        col("beats_naive_message", "varchar", "That check's message."),
        col("coverage_ok", "boolean", "Outcome of the 80 % coverage check (within its accepted range)."),
        col("coverage_message", "varchar", "That check's message."),
        col("interval_method", "varchar", "How each model's intervals were built (model: method; ...)."),
        _GENERATED_AT)),
)}


@dataclass
class History:
    series: dict[str, pd.Series]  # forecast metric -> daily values
    missing: dict[str, list[str]]  # forecast metric -> tables not in the warehouse


def read_history(con, specs: list[MetricSpec], through: date | None = None) -> History:
    """Each metric's daily series from the semantic layer (``spec.source_metric`` by
    metric_time__day, one query), on days with landing data only (metric
    days_with_data: a day without data is missing, not zero), up to ``through``
    (the last complete day: a later day, loaded by hand, may still be filling
    up). A metric whose table is missing gets an
    empty series and its tables in ``missing``."""
    from bizintel_dagster import metrics

    reader = metrics.MetricReader(con)  # imported here: MetricFlow takes seconds to import
    names = list(dict.fromkeys([spec.source_metric for spec in specs] + ["days_with_data"]))
    answer = reader.query(names, ["metric_time__day"])
    if "days_with_data" in answer.missing:  # no day is known to have data
        rows = []
    else:
        rows = [r for r in answer.rows if r["days_with_data"] and (through is None or r["metric_time__day"] <= through)]
    days = [r["metric_time__day"] for r in rows]
    series, missing = {}, {}
    for spec in specs:
        relations = sorted({*answer.missing.get(spec.source_metric, []), *answer.missing.get("days_with_data", [])})
        if relations:
            missing[spec.metric] = relations
            series[spec.metric] = pd.Series(dtype=float)
        else:
            series[spec.metric] = as_series(days, [r[spec.source_metric] for r in rows])
    return History(series, missing)


def _finite(value):
    return float(value) if value is not None and isinstance(value, (int, float)) and math.isfinite(value) else None


def status_row(result: MetricForecast, spec: MetricSpec, generated_at: datetime) -> dict:
    beats, cov = result.beats_naive.values, result.coverage_80.values
    return {
        "metric": result.metric, "status": result.status, "message": result.message,
        "primary_model": result.primary_model, "unit": spec.unit,
        "history_days": result.history["observed_days"],
        "first_actual_date": result.history["first_date"], "last_actual_date": result.history["last_date"],
        "missing_days": result.history["missing_days"],
        "mase": _finite(beats.get("mase")), "mase_seasonal_naive": _finite(beats.get("mase_seasonal_naive")),
        "relative_mase": _finite(beats.get("relative_mase")), "coverage_80": _finite(cov.get("coverage_80")),
        "beats_naive": result.beats_naive.passed, "beats_naive_message": result.beats_naive.message,
        "coverage_ok": result.coverage_80.passed, "coverage_message": result.coverage_80.message,
        "interval_method": "; ".join(f"{m}: {d}" for m, d in result.interval_method.items()),
        "generated_at": generated_at,
    }


def write_tables(con, results: list[tuple[MetricForecast, MetricSpec]], generated_at: datetime) -> dict[str, int]:
    """Replace the four forecast tables in one transaction; returns row counts."""
    frames = {
        "daily_forecasts": pd.concat([r.forecasts.assign(unit=s.unit) for r, s in results], ignore_index=True)
        if results else pd.DataFrame(),
        "backtest": pd.concat([r.backtest for r, _ in results], ignore_index=True) if results else pd.DataFrame(),
        "forecast_accuracy": pd.concat([r.accuracy for r, _ in results], ignore_index=True)
        if results else pd.DataFrame(),
        "forecast_status": pd.DataFrame([status_row(r, s, generated_at) for r, s in results]),
    }
    counts = {}
    con.execute("begin transaction")
    try:
        for table, declared in TABLES.items():
            con.execute(declared.ddl(replace=True))
            frame = frames[table]
            if frame.empty:
                counts[table] = 0
                continue
            frame = frame.copy()
            if "generated_at" not in frame.columns:
                frame["generated_at"] = generated_at
            columns = declared.column_names
            frame = frame[columns].astype(object).where(frame[columns].notna(), None)
            con.register("_forecast_frame", frame)
            try:
                column_list = ", ".join(columns)
                con.execute(f"insert into {declared.relation} ({column_list}) select {column_list} from _forecast_frame")
            finally:
                con.unregister("_forecast_frame")
            counts[table] = len(frame)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return counts
