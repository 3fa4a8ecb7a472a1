"""Every asset job of the code location, each a selection of the asset graph by
group, step tag or key: the units that schedules, sensors, backfills and
`bizintel run` launch. No assets are imported here, so freshness, automation
conditions, schedules and sensors can import the jobs and their groups without a
cycle (the dbt translator reads freshness and conditions while the dbt assets
are being built). The order in which `bizintel run` materializes jobs is not
kept here: it is the asset graph's (``runner.jobs_in_graph_order``).

(``raw_retention_job``, an op job that deletes old raw rows, is in
``defs/automation/retention.py``.)"""

import dagster as dg

from bizintel_dagster.defs.dbt.steps import STEP_TAG

# Raw -> KPIs, partitioned by day (the dimensions in it are rebuilt in full).
DAILY_GROUPS = ("raw", "cleansed", "enriched", "fused", "kpis")
# Unpartitioned marts rebuilt in full over every day the daily pipeline processed.
ANALYTICS_GROUPS = ("kpi_rollups", "subscriptions", "cohorts", "customers", "experiments", "segments")
ROLLING_STEP = "rolling"
REPORT_OPS = ("reports__executive_report", "reports__sponsor_attribution_report", "reports__data_integrity_report")


def period_run_config(period: str) -> dict:
    """Run config that sets the period of every report asset."""
    return {"ops": {op: {"config": {"period": period}} for op in REPORT_OPS}}


reference_job = dg.define_asset_job(
    "reference_job",
    selection=dg.AssetSelection.groups("reference"),
    description="Load the versioned reference seeds (venues, zones, accounts, FX...).",
)

daily_pipeline_job = dg.define_asset_job(
    "daily_pipeline_job",
    selection=dg.AssetSelection.groups(*DAILY_GROUPS),
    description="Landing files -> raw -> cleansed -> enriched -> fused -> daily KPIs for a day or a range "
    "(the dimensions dim_users / dim_accounts rebuilt in full in the same run).",
)

# What a late day makes stale beyond its own partition: the rolling step
# (WAU, MAU, stickiness, churn and kpi_daily) for the days whose activity window
# covers it, then the week / month roll-ups, growth and missing dates, rebuilt in
# full after them in the same run. late_data_sensor launches it for exactly those days.
rolling_window_job = dg.define_asset_job(
    "rolling_window_job",
    selection=dg.AssetSelection.tag(STEP_TAG, ROLLING_STEP) | dg.AssetSelection.groups("kpi_rollups"),
    description="Rolling-window KPIs (WAU, MAU, stickiness, churn, kpi_daily) for the days whose activity "
    "window a re-run day changed, then the KPI week/month roll-ups.",
)

analytics_job = dg.define_asset_job(
    "analytics_job",
    selection=dg.AssetSelection.groups(*ANALYTICS_GROUPS),
    description="Unpartitioned marts over all days: KPI week/month roll-ups, growth and missing dates; "
    "MRR, movements, NRR/GRR, LTV and revenue attribution; cohorts; account activity, churn risk and "
    "k-means segments; experiment statistics; segment membership.",
)

forecast_job = dg.define_asset_job(
    "forecast_job",
    selection=dg.AssetSelection.groups("forecasts"),
    description="Backtest and forecast revenue and DAU 90 days ahead from all of kpis.kpi_daily "
    "(forecasts.daily_forecasts, backtest, forecast_accuracy, forecast_status) and run the accuracy checks.",
)

# The same three reports for the last complete ISO week or calendar month
# (relative to the newest KPI date); any other period by overriding `period` in
# the launchpad (YYYY-Www / YYYY-MM). Scheduled, not automated: the period is run config.
weekly_report_job = dg.define_asset_job(
    "weekly_report_job",
    selection=dg.AssetSelection.groups("reports"),
    config=period_run_config("last_week"),
    description="Executive, sponsor attribution and data integrity reports for the last complete ISO week.",
)

monthly_report_job = dg.define_asset_job(
    "monthly_report_job",
    selection=dg.AssetSelection.groups("reports"),
    config=period_run_config("last_month"),
    description="Executive, sponsor attribution and data integrity reports for the last complete calendar month.",
)

alert_evaluation_job = dg.define_asset_job(
    "alert_evaluation_job",
    selection=dg.AssetSelection.groups("alerts"),
    description="Evaluate alert rules on the KPI tables, record alerts and notify the configured channels.",
)

publish_job = dg.define_asset_job(
    "publish_job",
    selection=dg.AssetSelection.groups("publish"),
    description="Publish the analysts' read-only copy of the warehouse.",
)

# What `bizintel run` materializes (the whole landing range in one run of the
# partitioned job) and what `bizintel backfill` refreshes after re-running days.
# Sets, not sequences: the asset graph orders them.
RUN_JOBS = frozenset(job.name for job in (
    reference_job, daily_pipeline_job, analytics_job, forecast_job, weekly_report_job, monthly_report_job,
    alert_evaluation_job, publish_job))
BACKFILL_JOBS = frozenset(job.name for job in (daily_pipeline_job, analytics_job, publish_job))
