"""Jobs: the units that schedules, sensors, backfills and `bizintel run` launch."""

import dagster as dg

from bizintel_dagster.partitions import daily_partitions

reference_job = dg.define_asset_job(
    "reference_job",
    selection=dg.AssetSelection.groups("reference"),
    description="Load the versioned reference seeds (venues, zones, accounts, FX...).",
)

daily_pipeline_job = dg.define_asset_job(
    "daily_pipeline_job",
    selection=dg.AssetSelection.groups("raw", "cleansed", "enriched", "fused", "kpis"),
    partitions_def=daily_partitions,
    description="Landing files -> raw -> cleansed -> enriched -> fused -> daily KPIs for a day or a range.",
)

publish_job = dg.define_asset_job(
    "publish_job",
    selection=dg.AssetSelection.groups("publish"),
    description="Publish the analysts' read-only copy of the warehouse.",
)
