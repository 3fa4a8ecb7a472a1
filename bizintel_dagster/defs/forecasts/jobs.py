"""The forecast job (scheduled by the automation layer, e.g. daily after the rollup)."""

import dagster as dg

forecast_job = dg.define_asset_job(
    "forecast_job",
    selection=dg.AssetSelection.groups("forecasts"),
    description="Backtest and forecast revenue and DAU 90 days ahead from all of kpis.kpi_daily "
    "(forecasts.daily_forecasts, backtest, forecast_accuracy, forecast_status) and run the accuracy checks.",
)
