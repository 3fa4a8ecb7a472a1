"""The analysts' copy of the warehouse: published after the pipeline writes, so
analysts never hold the working file's lock and never see a half-written run.

Its dependencies are not listed by hand: ``definitions.py`` gives it every
asset whose relation lives in a published schema (``warehouse.PUBLISHED_SCHEMAS``,
the first part of the asset key), so the graph draws it last and automation
re-publishes after any of them changes (a report for another period, a forecast
run, an alert run)."""

from collections.abc import Iterable

import dagster as dg

from bizintel_dagster import settings, warehouse
from bizintel_dagster.defs.automation.conditions import condition_for_group
from bizintel_dagster.policies import OWNERS, retry_transient

PUBLISH_KEY = dg.AssetKey(["analytics", "analytics_warehouse"])


def published_keys(keys: Iterable[dg.AssetKey]) -> list[dg.AssetKey]:
    """The assets the copy holds: those whose schema (key prefix) is published."""
    return sorted((k for k in keys if k.path[0] in warehouse.PUBLISHED_SCHEMAS and k != PUBLISH_KEY),
                  key=lambda k: k.to_user_string())


def analytics_warehouse_asset(deps: list[dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(
        key=PUBLISH_KEY,
        group_name="publish",
        deps=deps,
        owners=OWNERS,
        kinds={"duckdb"},
        pool=warehouse.WAREHOUSE_POOL,
        # Re-published whenever a published asset was updated and nothing is still running.
        automation_condition=condition_for_group("publish"),
    )
    def analytics_warehouse(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        """Copy of every analyst-facing schema (reference, cleansed, enriched, fused,
        kpis and the marts, forecasts, reports, alerts) written to a temporary file
        and renamed over BIZINTEL_ANALYTICS. Raw (clear PII, raw lines) and staging
        are not published."""
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

    return analytics_warehouse
