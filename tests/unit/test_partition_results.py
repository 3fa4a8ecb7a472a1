"""A per-day check evaluation of a ranged run names the day's materialization it
judged, as Dagster does for an AssetCheckResult: the check's Partitions tab
counts a day passed or failed only when its result targets the day's latest
materialization (without the target every judged day shows as missing)."""

from datetime import date

import dagster as dg

from bizintel_dagster.defs.quality.partition_results import DayResult, per_partition, window_partition_keys
from bizintel_dagster.runner import range_tags

DAYS = dg.DailyPartitionsDefinition(start_date="2026-06-01", end_date="2026-06-10")
FAILING_DAY = "2026-06-02"


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run())
def table(context: dg.AssetExecutionContext) -> None:
    for key in context.partition_keys:
        context.add_asset_metadata({"day": key}, partition_key=key)


@dg.asset_check(asset=table, partitions_def=DAYS)
def day_check(context: dg.AssetCheckExecutionContext):
    results = {key: DayResult(passed=key != FAILING_DAY) for key in window_partition_keys(context)}
    yield from per_partition(context, results, dg.AssetCheckSeverity.WARN)


def test_each_days_result_targets_that_days_materialization_and_counts_in_the_ui(tmp_path):
    with dg.DagsterInstance.local_temp(str(tmp_path)) as instance:
        run = dg.materialize([table, day_check], instance=instance,
                             tags=range_tags(date(2026, 6, 1), date(2026, 6, 3)))
        assert run.success
        key = dg.AssetCheckKey(table.key, "day_check")
        latest = {
            day: instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=table.key, asset_partitions=[day]), limit=1).records[0].storage_id
            for day in ("2026-06-01", "2026-06-02", "2026-06-03")
        }
        targets = {}
        for record in instance.event_log_storage.get_asset_check_execution_history(key, limit=100):
            target = record.event.dagster_event.event_specific_data.target_materialization_data
            targets[record.partition] = target.storage_id if target else None
        assert targets == latest
        # what the UI's per-partition check status reads
        infos = instance.event_log_storage.get_asset_check_partition_info([key])
        assert {i.partition_key: (i.latest_execution_status.value, i.is_current) for i in infos} == {
            "2026-06-01": ("SUCCEEDED", True), FAILING_DAY: ("FAILED", True), "2026-06-03": ("SUCCEEDED", True)}
