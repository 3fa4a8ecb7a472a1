"""The analysts' copy of the warehouse: published after the pipeline writes, so
analysts never hold the working file's lock and never see a half-written run."""

import dagster as dg

from bizintel_dagster import settings, warehouse
from bizintel_dagster.defs.dbt.assets import dbt_business, dbt_reference
from bizintel_dagster.policies import OWNERS, retry_transient


@dg.asset(
    key=["analytics", "analytics_warehouse"],
    group_name="publish",
    deps=list(dbt_business.keys) + list(dbt_reference.keys),
    owners=OWNERS,
    kinds={"duckdb"},
    pool=warehouse.WAREHOUSE_POOL,
    # Re-publish whenever a layer below was updated and nothing is still running.
    automation_condition=dg.AutomationCondition.any_deps_updated()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress(),
)
def analytics_warehouse(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """Copy of every analyst-facing schema (reference, cleansed, enriched, fused,
    kpis) written to a temporary file and renamed over BIZINTEL_ANALYTICS.
    Raw (clear PII, raw lines) and staging are not published."""
    counts = retry_transient(context, warehouse.publish_analytics_copy)
    path = settings.analytics_path()
    context.log.info(f"published {len(counts)} tables to {path}")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "tables": len(counts),
            "dagster/row_count": dg.MetadataValue.int(sum(counts.values())),
            "rows_per_table": dg.MetadataValue.json(counts),
        }
    )
