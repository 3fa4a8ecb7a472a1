"""The unpartitioned analytics job: KPI roll-ups and growth, missing dates,
subscription revenue (MRR and movements), cohorts, B2B customers (activity score,
rankings, Pareto, churn risk, k-means segments) and experiments, rebuilt in full
over every day the daily pipeline has processed. Run it after the daily pipeline
(and before publishing the analysts' copy)."""

import dagster as dg

ANALYTICS_GROUPS = ("kpi_rollups", "subscriptions", "cohorts", "customers", "experiments", "segments")

analytics_job = dg.define_asset_job(
    "analytics_job",
    selection=dg.AssetSelection.groups(*ANALYTICS_GROUPS),
    description="Unpartitioned marts over all days: KPI week/month roll-ups, growth and missing dates; "
    "MRR, movements, NRR/GRR, LTV and revenue attribution; cohorts; account activity, churn risk and "
    "k-means segments; experiment statistics.",
)
