"""Read KPI history from the warehouse and write the forecast tables.

Tables (schema ``forecasts``, declared in ``forecasting.schema``), replaced as a whole
in one transaction per run:

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
# The tables are declared in forecasting.schema (the pipeline builds its frames from
# the same declaration); re-exported here for the assets that show their schemas.
from bizintel_dagster.forecasting.schema import SCHEMA, TABLES  # noqa: F401

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
