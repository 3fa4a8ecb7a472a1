"""Asset-check results recorded per partition, also in ranged runs.

Dagster gives an ``AssetCheckResult`` a partition only when the step runs one
partition; a ranged (single-run) backfill records it without one, and the UI
then shows the check as "Skipped" on every day it actually judged. A check
that judges each day therefore reports one ``AssetCheckEvaluation`` per day of
its window, with that day's figures, so the Checks and Partitions tabs show a
failed day as failed on that day only. A failed blocking evaluation of ERROR
severity still fails the step and stops what depends on it.

Each evaluation names the day's materialization it judged, as Dagster does for
an ``AssetCheckResult``: the check's Partitions tab counts a day as passed or
failed only when its result targets the day's latest materialization, and
would show every judged day as missing otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import dagster as dg


@dataclass(frozen=True)
class DayResult:
    passed: bool
    metadata: Mapping[str, Any] = field(default_factory=dict)


def window_partition_keys(context: dg.AssetCheckExecutionContext) -> list[str]:
    return list(context.op_execution_context.partition_keys)


def judged_materializations(instance: dg.DagsterInstance, asset_key: dg.AssetKey,
                            partitions: list[str]) -> dict[str, Any]:
    """Each partition's latest materialization as an evaluation's target (absent
    when the partition was never materialized), read in pages of the asset's
    newest records rather than one query per day. Dagster exports no constructor
    for the target's type (AssetCheckEvaluationTargetMaterializationData, an
    argument of the public AssetCheckEvaluation), so it is built from its
    serialized form, the one every instance stores for each check result."""
    wanted, found, cursor = set(partitions), {}, None
    while wanted - found.keys():
        page = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=sorted(wanted - found.keys())),
            limit=max(100, 2 * len(wanted)), cursor=cursor)
        for record in page.records:  # newest first: the first seen per partition is its latest
            found.setdefault(record.partition_key, record)
        if not page.has_more:
            break
        cursor = page.cursor
    return {partition: dg.deserialize_value(json.dumps({
        "__class__": "AssetCheckEvaluationTargetMaterializationData",
        "storage_id": record.storage_id, "run_id": record.run_id, "timestamp": record.timestamp,
    })) for partition, record in found.items()}


def per_partition(
    context: dg.AssetCheckExecutionContext,
    results: Mapping[str, DayResult],
    severity: dg.AssetCheckSeverity,
) -> Iterator[dg.AssetCheckEvaluation | dg.Output]:
    """One evaluation per partition key of the run's window (``results`` must
    hold each of them), then the check's output so the step completes."""
    (spec,) = context.check_specs
    keys = window_partition_keys(context)
    missing = [key for key in keys if key not in results]
    if missing:
        raise ValueError(f"{spec.key.to_user_string()}: no result for partitions {missing[:5]}")
    targets = judged_materializations(context.instance, spec.asset_key, keys)
    for key in keys:
        result = results[key]
        yield dg.AssetCheckEvaluation(
            asset_key=spec.asset_key,
            check_name=spec.name,
            passed=result.passed,
            metadata=dict(result.metadata),
            severity=severity,
            blocking=spec.blocking,
            partition=key,
            target_materialization_data=targets.get(key),
        )
    (output,) = context.op_execution_context.op_def.output_defs
    yield dg.Output(None, output_name=output.name)


def window_result_per_day(context: dg.AssetExecutionContext, result: dg.AssetCheckResult,
                          partition_keys: list[str], window: str) -> Iterator[dg.AssetCheckEvaluation | dg.Output]:
    """A dbt test's result over a ranged step's window, recorded for each day of
    it: Dagster plans the test per day and would show every day "Skipped" beside
    one result without a day. The test judged the window's rows together (its
    SQL sees the whole window), so each day carries that verdict and says so in
    ``judged_window``; a failing window marks each of its days failed."""
    key = dg.AssetCheckKey(result.asset_key, result.check_name)
    spec = context.assets_def.get_spec_for_check_key(key)
    targets = judged_materializations(context.instance, key.asset_key, partition_keys)
    for partition in partition_keys:
        yield dg.AssetCheckEvaluation(
            asset_key=key.asset_key, check_name=key.name, passed=result.passed,
            metadata={**result.metadata, "judged_window": dg.MetadataValue.text(window)},
            severity=result.severity, description=result.description, blocking=spec.blocking,
            partition=partition, target_materialization_data=targets.get(partition))
    yield dg.Output(None, output_name=context.assets_def.get_output_name_for_asset_check_key(key))
