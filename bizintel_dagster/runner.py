"""Run bizintel's jobs in-process: what `bizintel run` and the tests use.

Runs go to the instance in DAGSTER_HOME when it is set (so `make ui` shows
them), else to an ephemeral one.
"""

from __future__ import annotations

import graphlib
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

import dagster as dg

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
# What launched a run (landing files, late data, a schedule...): set by bizintel's sensors and schedules.
TRIGGER_TAG = "bizintel/trigger"
# Dagster's opt-in (dagster-io/dagster#29288): a ranged run records one "planned"
# event per asset instead of one per asset and partition.
PLANNED_SUBSET_ENV = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"


def load_definitions() -> dg.Definitions:
    from bizintel_dagster.definitions import defs

    return defs()


def default_instance() -> dg.DagsterInstance:
    return dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()


def selected_assets(definitions: dg.Definitions, job_name: str) -> frozenset[dg.AssetKey]:
    return frozenset(definitions.resolve_job_def(job_name).asset_layer.selected_asset_keys)


def jobs_in_graph_order(definitions: dg.Definitions, job_names: Iterable[str]) -> list[str]:
    """The jobs in an order where none runs before a job that materializes one of
    its upstream assets (the asset graph decides, transitively; jobs it does not
    order by name). Raises ValueError when two jobs each need the other first."""
    graph = definitions.resolve_asset_graph()
    selected = {name: selected_assets(definitions, name) for name in job_names}
    upstream = {name: dg.AssetSelection.assets(*keys).upstream().resolve(graph) - keys
                for name, keys in selected.items()}
    sorter = graphlib.TopologicalSorter({
        name: {other for other, keys in selected.items() if other != name and (keys - selected[name]) & upstream[name]}
        for name in selected})
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        raise ValueError(f"jobs that need each other first: {' -> '.join(exc.args[1])}") from None
    order: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        order += ready
        sorter.done(*ready)
    return order


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
    with _one_planned_event_per_asset(bool(first and last and last > first)):
        return job.execute_in_process(run_config=run_config, instance=instance, tags=tags, raise_on_error=False)


@contextmanager
def _one_planned_event_per_asset(ranged: bool) -> Iterator[None]:
    """Record a ranged run's plan as one event per asset, for this run only.

    With SQLite instance storage each event costs ~15 ms, and a 179-day backfill
    of the daily pipeline planned 6,444 of them (185 s of a 436 s run, see
    BENCHMARKS.md). The price Dagster names for the opt-in: if the run fails,
    the UI shows its partitions as missing rather than failed. The CLI reports
    the failure itself, so bulk runs from here take the trade; runs launched by
    the daemon (schedules, sensors) keep Dagster's default. The variable is read
    when the run is created, so it is set around this run and then restored:
    processes started later (a `dagster dev` in a test) never inherit it.
    """
    if not ranged or PLANNED_SUBSET_ENV in os.environ:
        yield
        return
    os.environ[PLANNED_SUBSET_ENV] = "true"
    try:
        yield
    finally:
        del os.environ[PLANNED_SUBSET_ENV]


@dataclass(frozen=True)
class CheckOutcome:
    passed: bool
    severity: dg.AssetCheckSeverity

    @property
    def blocks(self) -> bool:
        """A failed ERROR check fails the run's command; a failed WARN check is
        reported and never blocks."""
        return not self.passed and self.severity == dg.AssetCheckSeverity.ERROR


def check_outcomes(result: dg.ExecuteInProcessResult) -> dict[str, CheckOutcome]:
    """Every evaluated check of the run: ``asset:check`` -> passed and severity.
    Checks that judge each day record one evaluation per partition: the check
    passed when every one of them did."""
    outcomes: dict[str, CheckOutcome] = {}
    for e in result.get_asset_check_evaluations():
        name = f"{e.asset_key.to_user_string()}:{e.check_name}"
        earlier = outcomes.get(name)
        outcomes[name] = CheckOutcome(e.passed and (earlier is None or earlier.passed), e.severity)
    return outcomes


def check_results(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    return {name: outcome.passed for name, outcome in check_outcomes(result).items()}


def step_failures(result: dg.ExecuteInProcessResult) -> dict[str, str]:
    """Failed step -> the first line of its error's message (the trace is in the run's log)."""
    failures = {}
    for event in result.get_step_failure_events():
        error = event.step_failure_data.error
        # Dagster wraps a user exception ("Error occurred while executing op ...");
        # the innermost cause is the one that says what went wrong.
        while error is not None and error.cause is not None:
            error = error.cause
        message = (error.message if error else "").strip() or "no error message"
        failures[event.step_key] = error_headline(message)
    return failures


_DBT_ERRORS = "Errors parsed from dbt logs:"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def error_headline(message: str) -> str:
    """One line that says what went wrong. dagster-dbt's error starts with the dbt
    command line and ends with the errors dbt logged: there, the first
    "... Error in <node>" line (else "Failure in <node>") and the line after it."""
    if _DBT_ERRORS in message:
        lines = [line.strip() for line in _ANSI.sub("", message.split(_DBT_ERRORS, 1)[1]).splitlines() if line.strip()]
        for marker in (" Error in ", "Failure in "):
            for i, line in enumerate(lines):
                if marker in line:
                    detail = f": {lines[i + 1]}" if i + 1 < len(lines) else ""
                    return f"dbt {line}{detail}"
        if lines:
            return f"dbt: {lines[0]}"
    return message.splitlines()[0]
