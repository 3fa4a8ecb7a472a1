"""Daily KPI forecasting: models, rolling-origin backtest, accuracy measures and
prediction intervals. Plain library code (no Dagster), tested on synthetic series."""
