"""dbt models as Dagster assets, one ``@dbt_assets`` op per step, built by
``build_step`` from the steps ``dbt_project.yml`` declares per folder
(``steps.py``), so that blocking checks sit between layers. Today, in the order
they run:

- ``dbt_reference``: the versioned seeds (unpartitioned);
- ``dbt_cleansed``: staging views, scored/cleansed tables, quarantine, DQ stats;
- ``dbt_dimensions``: ``dim_users`` and ``dim_accounts``, rebuilt in full
  (unpartitioned), after the cleansed step's blocking checks;
- ``dbt_business``: enriched, fused and the same-day KPI models;
- ``dbt_rolling``: the rolling-window KPIs (WAU, MAU, stickiness, churn) and
  ``kpi_daily``. Its own step because its dependency on the activity spans the
  activity window (``activity.window_mapping``): a re-run of day D makes
  D .. D + W of this step stale, and ``late_data_sensor`` re-runs exactly those;
- ``dbt_analytics``: unpartitioned marts rebuilt in full over all days (KPI
  roll-ups and growth, missing dates, subscriptions / MRR, cohorts, customers,
  experiment counts, MetricFlow's time spine).

A failing blocking check on a cleansed asset (e.g. quality score < 90) stops
every step that reads it for the run. Partitioned steps pass their window to dbt
as vars and backfill ranges in a single run.
"""


import json
import shutil
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from bizintel_dagster import activity, partitions, settings, warehouse
from bizintel_dagster.defs.dbt import steps
from bizintel_dagster.defs.dbt.project import dbt_project
from bizintel_dagster.defs.dbt.translator import translator
from bizintel_dagster.defs.quality.partition_results import window_result_per_day
from bizintel_dagster.metadata import column_schema, query_table
from bizintel_dagster.partitions import daily_partitions, dbt_vars_for_window, single_run_backfill
from bizintel_dagster.policies import retry_transient


# Headline figures of the analytics marts, shown at a glance in the UI: one row
# whose columns become metadata entries (the latest month / best cohort...).
_HEADLINES: dict[tuple[str, ...], str] = {
    ("kpis", "kpi_period_rollups"): """
        select period_start::varchar as last_month, revenue_total_minor as last_month_revenue_minor,
               active_users as last_month_active_users, payer_rate as last_month_payer_rate
        from kpis.kpi_period_rollups where period = 'month' order by period_start desc limit 1""",
    ("kpis", "kpi_missing_dates"): """
        select count(*) as missing_dates, coalesce(string_agg(missing_date::varchar, ', '
               order by missing_date), '-') as missing_date_list
        from kpis.kpi_missing_dates""",
    ("subscriptions", "mrr_monthly"): """
        select month_start::varchar as month, end_mrr_minor as mrr_minor, arr_minor, nrr, grr,
               quick_ratio, customers_end as subscribed_accounts
        from subscriptions.mrr_monthly order by month_start desc limit 1""",
    ("customers", "account_scorecard"): """
        select count(*) filter (where activity_level = 'Active') as active_accounts,
               count(*) filter (where activity_level = 'Dormant') as dormant_accounts,
               count(*) filter (where churn_risk_level = 'high') as high_churn_risk_accounts,
               round(avg(activity_score), 1) as mean_activity_score
        from customers.account_scorecard""",
    ("customers", "revenue_concentration"): """
        select top_20_percent_revenue_share, accounts_with_revenue
        from customers.revenue_concentration where scope = 'all'""",
    ("cohorts", "cohort_retention"): """
        select cohort_month::varchar as best_month_1_cohort, user_retention_rate as best_month_1_retention
        from cohorts.cohort_retention where months_since_signup = 1 and cohort_users >= 10
        order by user_retention_rate desc, cohort_month limit 1""",
}
# Small table previews (markdown) for the key marts.
_PREVIEWS: dict[tuple[str, ...], str] = {
    ("subscriptions", "mrr_monthly"): """
        select month_start::varchar as month, start_mrr_minor as start, new_mrr_minor as new,
               expansion_mrr_minor as expansion, contraction_mrr_minor as contraction,
               churned_mrr_minor as churned, reactivated_mrr_minor as reactivated,
               end_mrr_minor as "end", nrr, grr, quick_ratio
        from subscriptions.mrr_monthly order by month_start desc limit 12""",
    ("kpis", "kpi_period_rollups"): """
        select period_start::varchar as month, is_complete, revenue_total_minor, active_users, payers,
               payer_rate, revenue_total_growth
        from kpis.kpi_period_rollups where period = 'month' order by period_start desc limit 12""",
    ("customers", "account_scorecard"): """
        select churn_priority_rank, account_id, segment, activity_level, days_inactive, churn_risk_score,
               churn_risk_level, mrr_minor, mrr_at_risk_minor
        from customers.account_scorecard order by churn_priority_rank limit 10""",
    ("cohorts", "cohort_retention"): """
        pivot (select cohort_month::varchar as cohort, cohort_users, 'm' || months_since_signup as m,
                      user_retention_rate from cohorts.cohort_retention where months_since_signup <= 6)
        on m using first(user_retention_rate) order by cohort""",
}


# Figures of one day that a data engineer plots across partitions (the Plots
# tab): one row per partition_date in the window, each column a metadata entry.
_DAILY_FIGURES: dict[tuple[str, ...], str] = {
    ("kpis", "kpi_daily"): """
        select partition_date, dau, revenue_total_minor, payer_rate, payers, purchases,
               data_quality_score, records_quarantined
        from kpis.kpi_daily where partition_date >= ? and partition_date < ?""",
    ("cleansed", "dq_partition_stats"): """
        select partition_date, sum(lines_total) as lines_in, sum(records_accepted) as records_accepted,
               sum(records_quarantined) + sum(lines_unparseable) as records_quarantined,
               sum(records_duplicate) as records_duplicate
        from cleansed.dq_partition_stats where partition_date >= ? and partition_date < ?
        group by all""",
}


def _with_row_counts(context: dg.AssetExecutionContext, events: list, window: tuple[str, str] | None) -> Iterator:
    """dbt holds the warehouse open while it runs, so row counts (and, for the
    analytics marts, headline figures) are read after it exits and attached to
    each materialization: per partition for partitioned models (that day's rows
    and figures, also in a ranged run), with the column schema as built."""
    con = warehouse.connect(read_only=True)
    try:
        for event in events:
            if window and isinstance(event, dg.AssetCheckResult):
                yield from window_result_per_day(context, event, context.partition_keys,
                                                 f"{window[0]} .. {window[1]} (end exclusive)")
                continue
            if isinstance(event, dg.Output):
                key = context.asset_key_for_output(event.output_name)
                relation = ".".join(warehouse.quote_identifier(part) for part in key.path)
                metadata = column_schema(con, key.path, _declared_columns(context, key))
                if window:
                    for partition_key, day_metadata in _per_partition(con, key, relation, window).items():
                        context.add_asset_metadata(day_metadata, asset_key=key, partition_key=partition_key)
                else:
                    metadata.update(_row_counts(con, relation))
                    metadata.update(_headline(con, tuple(key.path)))
                event = event.with_metadata({**event.metadata, **metadata})
            yield event
    finally:
        con.close()


def _declared_columns(context: dg.AssetExecutionContext, key: dg.AssetKey) -> dict[str, str]:
    """Column descriptions from the model's YAML (dagster-dbt puts them on the spec)."""
    schema = context.assets_def.specs_by_key[key].metadata.get("dagster/column_schema")
    return {c.name: c.description for c in schema.columns} if schema else {}


def _per_partition(con, key: dg.AssetKey, relation: str, window: tuple[str, str]) -> dict[str, dict]:
    """partition key -> that day's metadata (every day of the window, empty days
    too). Views hold no rows of their own (and counting one would recompute
    it), so only tables with a partition_date are counted."""
    days = [d.isoformat() for d in partitions.days_in_window(*map(date.fromisoformat, window))]
    try:
        partitioned_table = con.execute(
            """select count(*) from information_schema.columns c join information_schema.tables t
                 using (table_schema, table_name)
               where table_schema = ? and table_name = ? and column_name = 'partition_date'
                 and table_type = 'BASE TABLE'""",
            list(key.path),
        ).fetchall()[0][0]
        if not partitioned_table:
            return {}
        counts = dict(con.execute(
            f"""select partition_date::varchar, count(*) from {relation}
                where partition_date >= ? and partition_date < ? group by 1""",
            list(window)).fetchall())
        out = {day: {"dagster/row_count": dg.MetadataValue.int(counts.get(day, 0))} for day in days}
        if tuple(key.path) in _DAILY_FIGURES:
            cursor = con.execute(_DAILY_FIGURES[tuple(key.path)], list(window))
            names = [d[0] for d in cursor.description][1:]
            for day, *values in cursor.fetchall():
                out[day.isoformat()].update(
                    {name: _metadata_value(v) for name, v in zip(names, values) if v is not None})
        return out
    except Exception as exc:  # metadata must never fail a materialization
        return {day: {"row_count_error": dg.MetadataValue.text(str(exc)[:200])} for day in days}


def _metadata_value(value) -> dg.MetadataValue:
    if isinstance(value, bool) or value is None:
        return dg.MetadataValue.text(str(value))
    if isinstance(value, int):
        return dg.MetadataValue.int(value)
    if isinstance(value, (float, Decimal)):
        return dg.MetadataValue.float(float(value))
    return dg.MetadataValue.text(str(value))


def _headline(con, key: tuple[str, ...]) -> dict:
    metadata: dict = {}
    try:
        if key in _HEADLINES:
            cursor = con.execute(_HEADLINES[key])
            row = cursor.fetchone()
            if row is not None:
                metadata.update({d[0]: _metadata_value(v) for d, v in zip(cursor.description, row)})
        if key in _PREVIEWS:
            metadata["preview"] = query_table(con, _PREVIEWS[key])
    except Exception as exc:  # metadata must never fail a materialization
        metadata["headline_error"] = str(exc)[:200]
    return metadata


def _row_counts(con, relation: str) -> dict:
    try:
        total = con.execute(f"select count(*) from {relation}").fetchall()[0][0]
        return {"dagster/row_count": dg.MetadataValue.int(total)}
    except Exception as exc:  # metadata must never fail a materialization
        return {"row_count_error": str(exc)[:200]}


def _run_dbt(context: dg.AssetExecutionContext, dbt: DbtCliResource, partitioned: bool) -> Iterator:
    settings.warehouse_path().parent.mkdir(parents=True, exist_ok=True)
    # A test runs in the step that builds the last of its parents: relationships
    # tests from a cleansed model to a seed run with the model, not with the seeds.
    args = ["build", "--indirect-selection", "buildable"]
    window = None
    # Every step gets the activity window the graph declares (activity.py).
    dbt_vars: dict = activity.dbt_vars()
    if partitioned:
        dbt_vars.update(dbt_vars_for_window(*context.partition_time_window))
        window = (dbt_vars["partition_start"], dbt_vars["partition_end"])
        context.log.info(f"dbt window {window[0]} .. {window[1]} (end exclusive)")
    args += ["--vars", json.dumps(dbt_vars)]
    # Events are collected before any is yielded, so a transient failure can
    # still be retried as a whole.
    events = retry_transient(context, lambda: _invoke(dbt, args, context))
    yield from _with_row_counts(context, events, window)


def _invoke(dbt: DbtCliResource, args: list[str], context: dg.AssetExecutionContext) -> list:
    """Run dbt and collect its events. dagster-dbt gives every invocation a target
    folder of its own (compiled SQL, manifest copy, run results: megabytes each,
    thousands a year); a successful one's is removed, a failed one's is kept
    for diagnosis."""
    invocation = dbt.cli(args, context=context)
    events = list(invocation.stream())
    shutil.rmtree(invocation.target_path, ignore_errors=True)
    return events


def build_step(step: steps.Step) -> dg.AssetsDefinition:
    """One dbt build over the step's models and seeds: partitioned steps get the
    daily partitions, their window as dbt vars and ranges in one run; the others
    rebuild in full. Every step claims the warehouse pool (one writer)."""

    @dbt_assets(
        manifest=MANIFEST,
        project=dbt_project,
        select=step.select,
        name=step.op_name,
        partitions_def=daily_partitions if step.partitioned else None,
        backfill_policy=single_run_backfill if step.partitioned else None,
        dagster_dbt_translator=translator,
        pool=warehouse.WAREHOUSE_POOL,
    )
    def _step(context: dg.AssetExecutionContext, dbt: DbtCliResource):
        yield from _run_dbt(context, dbt, partitioned=step.partitioned)

    return _step


# Read once: every step and the translator share the parsed manifest.
MANIFEST = json.loads(dbt_project.manifest_path.read_text())
# Raises at load on a model or seed without a declaration (steps.py).
STEPS = steps.read_steps(MANIFEST)
dbt_steps = [build_step(step) for step in STEPS]
