"""Run bizintel's jobs in-process: what `bizintel run` and the tests use.

Runs go to the instance in DAGSTER_HOME when it is set (so `make ui` shows
them), else to an ephemeral one.
"""

from __future__ import annotations

import os
from datetime import date

import dagster as dg

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def load_definitions() -> dg.Definitions:
    from bizintel_dagster.definitions import defs

    return defs()


def default_instance() -> dg.DagsterInstance:
    return dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()


def range_tags(first: date, last: date) -> dict[str, str]:
    """Tags that make one run cover the partitions first..last (inclusive)."""
    return {RANGE_START_TAG: first.isoformat(), RANGE_END_TAG: last.isoformat()}


def run_job(
    definitions: dg.Definitions,
    job_name: str,
    instance: dg.DagsterInstance,
    first: date | None = None,
    last: date | None = None,
    log_level: str = "DEBUG",
) -> dg.ExecuteInProcessResult:
    tags = range_tags(first, last or first) if first else {}
    job = definitions.resolve_job_def(job_name)
    run_config = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    return job.execute_in_process(run_config=run_config, instance=instance, tags=tags, raise_on_error=False)


def check_results(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    return {
        f"{e.asset_key.to_user_string()}:{e.check_name}": e.passed
        for e in result.get_asset_check_evaluations()
    }
