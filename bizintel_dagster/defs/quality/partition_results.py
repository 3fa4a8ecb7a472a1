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


def judged_materialization(instance: dg.DagsterInstance, asset_key: dg.AssetKey, partition: str):
    """The partition's latest materialization as an evaluation's target (None
    when the partition was never materialized). Dagster exports no constructor
    for the target's type (AssetCheckEvaluationTargetMaterializationData, an
    argument of the public AssetCheckEvaluation), so it is built from its
    serialized form, the one every instance stores for each check result."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=[partition]), limit=1).records
    if not records:
        return None
    latest = records[0]
    return dg.deserialize_value(json.dumps({
        "__class__": "AssetCheckEvaluationTargetMaterializationData",
        "storage_id": latest.storage_id, "run_id": latest.run_id, "timestamp": latest.timestamp,
    }))


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
            target_materialization_data=judged_materialization(context.instance, spec.asset_key, key),
        )
    (output,) = context.op_execution_context.op_def.output_defs
    yield dg.Output(None, output_name=output.name)
