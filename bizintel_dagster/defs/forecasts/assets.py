"""Revenue and DAU forecasts, 90 days ahead, with measured accuracy.

One step (``forecasts``) reads the daily history of the semantic layer's metrics
``revenue`` and ``active_users`` (days with landing data), backtests and fits the
models, writes four tables in one transaction and evaluates the accuracy checks
(warnings, not blocking). Method (``bizintel_dagster/forecasting``):

- model: scikit-learn Ridge (alpha 0.3) on a standardised linear trend, a
  one-hot day of week and a first-of-month flag, fitted on the observed days;
  baseline: seasonal naive (last observed value of the same weekday);
- backtest: rolling origin, every observed day with >= 28 days of history (the
  newest 120 origins), forecasting each observed day up to 90 days ahead;
  MAE, sMAPE, MASE (scaled by the in-sample one-step seasonal-naive MAE of each
  origin's history) and interval coverage per model and horizon bucket;
- intervals: point + s(h) x empirical quantiles (10/90 %, 2.5/97.5 %) of the
  backtest errors standardised by s(h) = a + b*h (non-negative least squares on
  |error| by horizon); coverage is measured out of sample (each origin's interval
  calibrated only on errors known at that origin);
- intervals come from the error distribution, so they can be asymmetric; a
  bound that would leave the point outside (a biased model) moves to the point,
  so every published interval contains its point;
- the model's forecast is floored per weekday at that weekday's lowest value of
  the last 4 weeks, so a one-off spike cannot pull the trend down to zero;
- a model that loses to seasonal naive on the backtest (relative MASE >= 1) is
  not published: status ``baseline``, ``primary_model`` seasonal naive, and the
  message says why (both forecasts stay in ``daily_forecasts``);
- days after the last complete business day (``partitions.last_day``; still
  filling up) are left out of the history;
- short or gappy history: < 14 days or a weekday never observed -> no forecast,
  with the reason in metadata and ``forecast_status``; too few backtest points to
  calibrate the model -> seasonal naive only, intervals from week-on-week
  differences x sqrt(weeks ahead). Missing days are never filled with zeros.
"""


import math
from datetime import datetime, timezone

import dagster as dg
from dagster_duckdb import DuckDBResource

from bizintel_dagster import partitions, settings
from bizintel_dagster.forecasting import store
from bizintel_dagster.forecasting.pipeline import (
    COVERAGE_80_RANGE,
    MetricForecast,
    MetricSpec,
    failed,
    forecast_metric,
    missing_source,
    overall,
)
from bizintel_dagster.forecasting.connection import warehouse_connection
from bizintel_dagster.metadata import markdown_table
from bizintel_dagster.defs.automation.conditions import condition_for_group
from bizintel_dagster.defs.freshness import freshness_policy_for_group
from bizintel_dagster.policies import OWNERS, retry_transient
from bizintel_dagster.warehouse import WAREHOUSE_POOL

KPI_DAILY = dg.AssetKey(["kpis", "kpi_daily"])
# the tables behind the history's metrics (revenue, active_users, days_with_data)
HISTORY_DEPS = [KPI_DAILY, dg.AssetKey(["fused", "fct_revenue"]), dg.AssetKey(["enriched", "enriched_app_events"])]
DAILY_FORECASTS = dg.AssetKey(["forecasts", "daily_forecasts"])
BACKTEST = dg.AssetKey(["forecasts", "backtest"])
ACCURACY = dg.AssetKey(["forecasts", "forecast_accuracy"])
STATUS = dg.AssetKey(["forecasts", "forecast_status"])


def metric_specs() -> list[MetricSpec]:
    currency = settings.get("BIZINTEL_REPORTING_CURRENCY")
    return [
        MetricSpec("revenue", "revenue", f"{currency} minor units", decimals=0),
        MetricSpec("dau", "active_users", "users", decimals=1),
    ]


def _specs() -> list[dg.AssetSpec]:
    # built in functions: module-level lists of specs would be loaded as definitions of their own
    common = {"deps": HISTORY_DEPS, "group_name": "forecasts", "freshness_policy": freshness_policy_for_group("forecasts"),
              "automation_condition": condition_for_group("forecasts"), "owners": OWNERS}
    return [
        dg.AssetSpec(
            DAILY_FORECASTS, metadata=store.TABLES["daily_forecasts"].metadata(), kinds={"duckdb", "scikit-learn"}, **common,
            description="Revenue (reporting-currency minor units) and DAU forecast for each of the next 90 days "
            "(horizon_days <= 30 for the 30-day view), with 80 % and 95 % prediction intervals, for the Ridge "
            "trend + weekly model and the seasonal-naive baseline. The published (primary) model per metric is "
            "forecasts.forecast_status.primary_model: the baseline when the model loses to it on the backtest."
            "\n\n" + (__doc__ or ""),
        ),
        dg.AssetSpec(
            BACKTEST, metadata=store.TABLES["backtest"].metadata(), kinds={"duckdb", "scikit-learn"}, **common,
            description="Rolling-origin backtest points: one row per metric, model, origin and target day with "
            "the forecast, the actual, the out-of-sample interval and whether it covered the actual.",
        ),
        dg.AssetSpec(
            ACCURACY, metadata=store.TABLES["forecast_accuracy"].metadata(), kinds={"duckdb"}, **common,
            description="MAE, sMAPE, MASE and 80/95 % interval coverage per metric, model and horizon bucket "
            "(1-7, 8-30, 31-90 days, all).",
        ),
        dg.AssetSpec(
            STATUS, metadata=store.TABLES["forecast_status"].metadata(), kinds={"duckdb"}, **common,
            description="One row per metric: ok / baseline / fallback / insufficient_history / error, the "
            "message, the published (primary) model and why, history length and gaps, and the accuracy-check outcomes (read by the executive report).",
        ),
    ]


def _check_specs() -> list[dg.AssetCheckSpec]:
    low, high = COVERAGE_80_RANGE
    specs = []
    for metric in ("revenue", "dau"):
        specs += [
            dg.AssetCheckSpec(
                f"{metric}_beats_seasonal_naive", asset=DAILY_FORECASTS,
                description=f"{metric}: the model's backtest MASE is below the seasonal-naive baseline's on the "
                "same points (relative MASE < 1); both MASEs in metadata. Warns only: when it fails, the "
                "baseline's forecast is the one published.",
            ),
            dg.AssetCheckSpec(
                f"{metric}_interval_coverage_80", asset=DAILY_FORECASTS,
                description=f"{metric}: the published model's 80 % prediction interval covers {low:.0%}-{high:.0%} "
                "of the backtest points (out of sample). Warns only.",
            ),
        ]
    return specs


def _fmt(value, digits: int = 3) -> str:
    return "n/a" if value is None or (isinstance(value, float) and not math.isfinite(value)) else f"{value:.{digits}f}"


def _accuracy_table(results: list[MetricForecast]) -> dg.MetadataValue:
    rows = [(row["metric"], row["model"], row["horizons"], row["n_points"], _fmt(row["mae"], 1),
             _fmt(row["smape"], 1), _fmt(row["mase"]), _fmt(row["coverage_80"]), _fmt(row["coverage_95"]))
            for r in results for row in r.accuracy.to_dict("records")]
    return markdown_table(["metric", "model", "horizons", "points", "MAE", "sMAPE %", "MASE", "cov 80", "cov 95"],
                          rows or [("-", "-", "-", 0, "", "", "", "", "")])


def _preview_table(results: list[MetricForecast], days: int = 14) -> dg.MetadataValue:
    rows = [(r.metric, row["model"], f"{row['forecast_date']:%Y-%m-%d}", row["horizon_days"], f"{row['point']:,.1f}",
             f"{row['lower_80']:,.1f} - {row['upper_80']:,.1f}", f"{row['lower_95']:,.1f} - {row['upper_95']:,.1f}")
            for r in results
            for row in r.forecasts[r.forecasts["model"] == r.primary_model].head(days).to_dict("records")]
    return markdown_table(["metric", "model", "date", "h", "point", "80 %", "95 %"], rows)


def _run(context, warehouse: DuckDBResource, specs: list[MetricSpec], generated_at: datetime):
    with warehouse_connection(warehouse) as con:
        history = store.read_history(con, specs, through=partitions.last_day())
        results = []
        for spec in specs:
            series = history.series[spec.metric]
            if spec.metric in history.missing:
                results.append((missing_source(spec, history.missing[spec.metric]), spec))
                continue
            try:
                result = forecast_metric(series, spec)
            except Exception as exc:  # one metric's bug must not take the other down
                context.log.exception(f"forecast of {spec.metric} failed")
                result = failed(spec, series, exc)
            results.append((result, spec))
        counts = store.write_tables(con, results, generated_at)
    return history, results, counts


@dg.multi_asset(specs=_specs(), check_specs=_check_specs(), pool=WAREHOUSE_POOL, name="forecasts")
def forecasts(context: dg.AssetExecutionContext, warehouse: DuckDBResource):
    specs = metric_specs()
    generated_at = datetime.now(timezone.utc)
    history, pairs, counts = retry_transient(context, lambda: _run(context, warehouse, specs, generated_at))
    results = [r for r, _ in pairs]
    for metric, relations in history.missing.items():
        context.log.warning(f"{metric}: {', '.join(relations)} not in the warehouse yet: no forecast "
                            "(run the daily pipeline first)")
    for r in results:
        (context.log.info if r.status == "ok" else context.log.warning)(r.message)

    per_metric = {}
    for r, spec in pairs:
        primary = r.forecasts[r.forecasts["model"] == r.primary_model]
        entry = {"status": r.status, "message": r.message, "primary_model": r.primary_model, "unit": spec.unit,
                 **{k: v for k, v in r.history.items() if k != "largest_gap"}}
        if not primary.empty:
            agg = "sum" if spec.metric == "revenue" else "mean"
            entry[f"next_30_days_{agg}"] = float(getattr(primary.head(30)["point"], agg)())
            entry[f"next_90_days_{agg}"] = float(getattr(primary.head(90)["point"], agg)())
        per_metric[r.metric] = entry

    status_md = "\n".join(f"- **{r.metric}**: `{r.status}` - {r.message}" for r in results)
    yield dg.MaterializeResult(asset_key=DAILY_FORECASTS, metadata={
        "dagster/row_count": dg.MetadataValue.int(counts["daily_forecasts"]),
        "status": dg.MetadataValue.md(status_md),
        "forecast": dg.MetadataValue.json(per_metric),
        "preview": _preview_table(results),
        "interval_method": dg.MetadataValue.json({r.metric: r.interval_method for r in results}),
        "generated_at": generated_at.isoformat(),
    })
    backtest_metadata = {
        "dagster/row_count": dg.MetadataValue.int(counts["backtest"]),
        "accuracy": _accuracy_table(results),
        "method": "rolling origin: each observed day with >= 28 days of history (newest 120), all observed days "
                  "up to 90 days ahead; MASE scaled by each origin's in-sample one-step seasonal-naive MAE; "
                  "coverage out of sample",
    }
    for r in results:
        for model in r.accuracy["model"].unique() if len(r.accuracy) else []:
            row = overall(r.accuracy, model)
            for measure in ("mae", "smape", "mase", "coverage_80", "coverage_95"):
                value = row.get(measure)
                if value is not None and math.isfinite(value):
                    backtest_metadata[f"{r.metric}/{model}/{measure}"] = dg.MetadataValue.float(float(value))
            backtest_metadata[f"{r.metric}/{model}/points"] = dg.MetadataValue.int(int(row.get("n_points", 0)))
    yield dg.MaterializeResult(asset_key=BACKTEST, metadata=backtest_metadata)
    yield dg.MaterializeResult(asset_key=ACCURACY, metadata={
        "dagster/row_count": dg.MetadataValue.int(counts["forecast_accuracy"]),
        "accuracy": _accuracy_table(results),
    })
    yield dg.MaterializeResult(asset_key=STATUS, metadata={
        "dagster/row_count": dg.MetadataValue.int(counts["forecast_status"]),
        "status": dg.MetadataValue.md(status_md),
    })
    for r in results:
        for name, outcome in ((f"{r.metric}_beats_seasonal_naive", r.beats_naive),
                              (f"{r.metric}_interval_coverage_80", r.coverage_80)):
            values = {k: (float(v) if isinstance(v, float) and math.isfinite(v) else v)
                      for k, v in outcome.values.items() if not (isinstance(v, float) and not math.isfinite(v))}
            yield dg.AssetCheckResult(
                asset_key=DAILY_FORECASTS, check_name=name, passed=bool(outcome.passed),
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"message": outcome.message, "status": r.status, **values},
            )
