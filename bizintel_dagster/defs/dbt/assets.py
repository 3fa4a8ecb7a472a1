"""dbt models as Dagster assets, in three steps so that blocking checks sit
between layers:

- ``dbt_reference``: the versioned seeds (unpartitioned);
- ``dbt_cleansed``: staging views, scored/cleansed tables, quarantine, DQ stats;
- ``dbt_business``: enriched, fused and KPI models.

A failing blocking check on a cleansed asset (e.g. quality score < 90) stops
``dbt_business`` for the run. Partitioned steps pass their window to dbt as vars
and backfill ranges in a single run.
"""


import json
from collections.abc import Iterator

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from bizintel_dagster import settings, warehouse
from bizintel_dagster.defs.dbt.project import dbt_project
from bizintel_dagster.defs.dbt.translator import translator
from bizintel_dagster.partitions import daily_partitions, dbt_vars_for_window, single_run_backfill
from bizintel_dagster.policies import retry_transient


def _with_row_counts(context: dg.AssetExecutionContext, events: list, window: tuple[str, str] | None) -> Iterator:
    """dbt holds the warehouse open while it runs, so row counts are read after it
    exits and attached to each materialization."""
    con = warehouse.connect(read_only=True)
    try:
        for event in events:
            if isinstance(event, dg.Output):
                key = context.asset_key_for_output(event.output_name)
                relation = ".".join(f'"{part}"' for part in key.path)
                metadata = _row_counts(con, relation, window)
                event = event.with_metadata({**event.metadata, **metadata})
            yield event
    finally:
        con.close()


def _row_counts(con, relation: str, window: tuple[str, str] | None) -> dict:
    try:
        total = con.execute(f"select count(*) from {relation}").fetchall()[0][0]
        metadata = {"dagster/row_count": dg.MetadataValue.int(total)}
        if window:
            columns = {r[0] for r in con.execute(f"describe {relation}").fetchall()}
            if "partition_date" in columns:
                in_window = con.execute(
                    f"select count(*) from {relation} where partition_date >= ? and partition_date < ?",
                    list(window),
                ).fetchall()[0][0]
                metadata["rows_in_window"] = dg.MetadataValue.int(in_window)
        return metadata
    except Exception as exc:  # metadata must never fail a materialization
        return {"row_count_error": str(exc)[:200]}


def _run_dbt(context: dg.AssetExecutionContext, dbt: DbtCliResource, partitioned: bool) -> Iterator:
    settings.warehouse_path().parent.mkdir(parents=True, exist_ok=True)
    # A test runs in the step that builds the last of its parents: relationships
    # tests from a cleansed model to a seed run with the model, not with the seeds.
    args = ["build", "--indirect-selection", "buildable"]
    window = None
    if partitioned:
        dbt_vars = dbt_vars_for_window(*context.partition_time_window)
        window = (dbt_vars["partition_start"], dbt_vars["partition_end"])
        args += ["--vars", json.dumps(dbt_vars)]
        context.log.info(f"dbt window {window[0]} .. {window[1]} (end exclusive)")
    # Events are collected before any is yielded, so a transient failure can
    # still be retried as a whole.
    events = retry_transient(context, lambda: list(dbt.cli(args, context=context).stream()))
    yield from _with_row_counts(context, events, window)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    select="resource_type:seed",
    name="dbt_reference",
    dagster_dbt_translator=translator,
    pool=warehouse.WAREHOUSE_POOL,
)
def dbt_reference(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    yield from _run_dbt(context, dbt, partitioned=False)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    select="tag:cleansed",
    name="dbt_cleansed",
    partitions_def=daily_partitions,
    backfill_policy=single_run_backfill,
    dagster_dbt_translator=translator,
    pool=warehouse.WAREHOUSE_POOL,
)
def dbt_cleansed(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    yield from _run_dbt(context, dbt, partitioned=True)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    select="resource_type:model",
    exclude="tag:cleansed",
    name="dbt_business",
    partitions_def=daily_partitions,
    backfill_policy=single_run_backfill,
    dagster_dbt_translator=translator,
    pool=warehouse.WAREHOUSE_POOL,
)
def dbt_business(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    yield from _run_dbt(context, dbt, partitioned=True)
