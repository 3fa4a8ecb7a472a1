"""The job that follows a late day: beside the dbt steps it selects (the other
jobs are in defs/jobs.py, which cannot import the dbt assets: the translator's
freshness policies import the schedules, which import those jobs)."""

import dagster as dg

from bizintel_dagster.defs.dbt.assets import dbt_rolling

# What a late day makes stale beyond its own partition: the rolling-window step
# (dbt_rolling: WAU, MAU, stickiness, churn and kpi_daily) for the days whose
# window covers it, then the week / month roll-ups, growth and missing dates,
# rebuilt in full after them in the same run (one writer: every step claims the
# warehouse pool). late_data_sensor launches it for exactly those days.
# The roll-ups' group is declared in dbt_project.yml (kpis/rollups meta).
KPI_ROLLUPS_GROUP = "kpi_rollups"

rolling_window_job = dg.define_asset_job(
    "rolling_window_job",
    selection=dg.AssetSelection.assets(dbt_rolling) | dg.AssetSelection.groups(KPI_ROLLUPS_GROUP),
    description="Rolling-window KPIs (WAU, MAU, stickiness, churn, kpi_daily) for the days whose activity "
    "window a re-run day changed, then the KPI week/month roll-ups.",
)
