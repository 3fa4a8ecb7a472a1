"""One timed stage of the benchmark, run in its own process so that the parent
can measure the memory of the whole process tree (this process, dbt and its
DuckDB) from outside.

    python -m bizintel_dagster.benchmark.child --out stage.json JOB[:FIRST:LAST] ...

Runs the jobs in order against the instance in DAGSTER_HOME and writes, per job:
wall seconds, success, step durations (from the instance's step stats), dbt
model and test durations (dagster-dbt's ``Execution Duration`` metadata) and the
number of asset materializations Dagster recorded (one per asset and partition).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from datetime import date

import dagster as dg

from bizintel_dagster import runner


def _dbt_durations(records: list) -> dict[str, float]:
    """Seconds per dbt node. A ranged run records one materialization per
    partition, all carrying the node's single execution time: count it once."""
    durations: dict[str, float] = {}
    for record in records:
        event = record.dagster_event
        if event is None or event.event_type not in (
                dg.DagsterEventType.ASSET_MATERIALIZATION, dg.DagsterEventType.ASSET_CHECK_EVALUATION):
            continue
        data = event.event_specific_data
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            name, metadata = data.materialization.asset_key.to_user_string(), data.materialization.metadata
        else:
            name, metadata = f"{data.asset_key.to_user_string()}:{data.check_name}", data.metadata
        value = metadata.get("Execution Duration")
        if value is not None:
            durations[name] = float(getattr(value, "value", value))
    return durations


def _bookkeeping_seconds(records: list) -> dict[str, float]:
    """Time Dagster spends recording the run's asset events rather than computing.
    A run records its plan before the first step starts (one event per asset for
    the CLI's ranged runs, see runner.run_job), and each step emits its
    materializations (one per asset and partition) after its work is done
    (bizintel's steps collect results first), so: planned = run start -> first
    step start; per step = first -> last materialization."""
    starts: list[float] = []
    per_step: dict[str, list[float]] = {}
    for r in records:
        event_type = r.dagster_event.event_type if r.dagster_event else None
        if event_type == dg.DagsterEventType.STEP_START:
            starts.append(r.timestamp)
        elif event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            per_step.setdefault(r.step_key, []).append(r.timestamp)
    planned = (min(starts) - min(r.timestamp for r in records)) if starts else 0.0
    emitting = sum(max(ts) - min(ts) for ts in per_step.values())
    return {"planned_events_seconds": round(planned, 3), "materialization_events_seconds": round(emitting, 3)}


def _materializations(records: list) -> int:
    return sum(1 for r in records if r.dagster_event
               and r.dagster_event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION)


def run_stage(specs: list[str]) -> list[dict]:
    definitions = runner.load_definitions()
    instance = dg.DagsterInstance.get()
    results = []
    for spec in specs:
        job_name, *window = spec.split(":")
        days = tuple(date.fromisoformat(d) for d in window)
        started = time.perf_counter()
        # dbt's console output would dwarf the benchmark's own; it stays in the run's logs.
        with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
            result = runner.run_job(definitions, job_name, instance, *days, log_level="WARNING")
        wall = time.perf_counter() - started
        steps = {
            s.step_key: round((s.end_time or s.start_time) - s.start_time, 3)
            for s in instance.get_run_step_stats(result.run_id) if s.start_time
        }
        # One read of the run's event log (tens of thousands of records for a
        # long range) serves every figure below.
        records = instance.all_logs(result.run_id)
        results.append({
            "job": job_name, "window": [d.isoformat() for d in days], "success": result.success,
            "wall_seconds": round(wall, 3), "steps": steps, "asset_events": _materializations(records),
            "dbt_nodes": _dbt_durations(records), "run_id": result.run_id,
            **_bookkeeping_seconds(records),
        })
        if not result.success:
            break
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bizintel_dagster.benchmark.child")
    parser.add_argument("--out", required=True)
    parser.add_argument("jobs", nargs="+", help="JOB or JOB:FIRST:LAST (inclusive days)")
    args = parser.parse_args(argv)
    results = run_stage(args.jobs)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2)
    if not all(r["success"] for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
