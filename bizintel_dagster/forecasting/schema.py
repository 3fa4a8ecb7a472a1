"""The forecast tables (schema ``forecasts``), declared once: ``store`` creates
them from this declaration, the assets show it as their column schema, and
``pipeline`` builds its frames with these columns (less the ones ``store`` adds
when it writes). Plain logic: no Dagster import.
"""

from __future__ import annotations

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

# Columns store.write_tables fills in (the forecast's unit, the run's time), not
# the pipeline's frames.
ADDED_ON_WRITE = frozenset({"unit", "generated_at"})


def frame_columns(table: str) -> list[str]:
    """The columns of the pipeline's frame for a forecast table, in the table's order."""
    return [c for c in TABLES[table].column_names if c not in ADDED_ON_WRITE]
