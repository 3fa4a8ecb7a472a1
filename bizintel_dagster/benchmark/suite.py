"""`bizintel bench`: where the time goes, per data size.

For each size the demo generator writes the landing zone (outside the timed
region; reused when it already holds the same arguments), then:

1. **floor** - DuckDB parses every landing file of the history once;
2. **full pipeline** - reference seeds + the daily pipeline over every day but
   the last, one ranged run into an empty warehouse (wall, per step, per dbt node,
   peak RSS of the process tree);
3. **daily incremental at full history** - the last day, as the daily schedule
   would run it (repeated; the first run is the new day, the others replace it);
4. **marts + publish** - analytics_job and publish_job (rebuilt over all days;
   reported, not a target);
5. **analyst queries** - typical KPI questions on the published copy, p50 / p95;
6. **daily incremental at short history** - a second warehouse holding only
   the ``history_days`` days before the last, then the same last day.

Every stage runs in a child process (``benchmark.child``) against its own
DAGSTER_HOME with the repository's instance config, so the figures include
Dagster's own bookkeeping, as a scheduled run would.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from bizintel_dagster import settings
from bizintel_dagster.benchmark import measure
from bizintel_dagster.demo import generator

# A fixed past window: every day is an existing partition whatever today is, and
# the reference FX rates (2025-2027) cover it.
BENCH_START = date(2025, 6, 1)


@dataclass(frozen=True)
class Size:
    label: str
    days: int
    app_events: int


def sizes_from(labels: list[str], days: int | None = None, events: int | None = None) -> list[Size]:
    out = []
    for label in labels:
        if label not in generator.SIZES:
            raise SystemExit(f"unknown size {label!r}; choose from {', '.join(generator.SIZES)}")
        spec = generator.SIZES[label]
        out.append(Size(label, days or spec["days"], events or spec["app_events"]))
    return out


def _ensure_landing(landing: Path, size: Size) -> dict:
    """Generate unless the landing zone already holds exactly these arguments."""
    summary_path = landing / generator.SUMMARY_FILE
    wanted = {"start": BENCH_START.isoformat(), "days": size.days, "app_events": size.app_events}
    if summary_path.exists():
        summary = json.loads(summary_path.read_text())
        if all(summary["arguments"].get(k) == v for k, v in wanted.items()):
            return summary
        shutil.rmtree(landing)
    return generator.generate(landing, start=BENCH_START, days=size.days, app_events=size.app_events)


def _environment(root: Path, name: str, memory_limit: str) -> dict[str, str]:
    """A clean warehouse and Dagster instance for one measured history."""
    home = root / f"dagster_home_{name}"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    shutil.copy(settings.REPO_ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    warehouse = root / f"warehouse_{name}"
    shutil.rmtree(warehouse, ignore_errors=True)
    env = dict(os.environ)
    env.update({
        "DAGSTER_HOME": str(home),
        "BIZINTEL_DATA_DIR": str(root),
        "BIZINTEL_LANDING": str(root / "landing"),
        "BIZINTEL_WAREHOUSE": str(warehouse / "bizintel.duckdb"),
        "BIZINTEL_ANALYTICS": str(warehouse / "analytics.duckdb"),
        "BIZINTEL_REPORTS_DIR": str(root / f"reports_{name}"),
        "BIZINTEL_START_DATE": BENCH_START.isoformat(),
        "BIZINTEL_DUCKDB_MEMORY_LIMIT": memory_limit,
    })
    return env


def _incremental(env: dict, root: Path, name: str, day: date, repeats: int) -> dict:
    runs = [measure.timed_stage([f"daily_pipeline_job:{day}:{day}"], env, root, f"{name}_{i}")
            for i in range(repeats)]
    walls = [r["wall_seconds"] for r in runs]
    return {"median_seconds": round(statistics.median(walls), 3), "runs_seconds": walls,
            "first_run": runs[0]["jobs"][0], "peak_rss_bytes": max(r["peak_rss_bytes"] for r in runs)}


def bench_size(size: Size, workdir: Path, *, memory_limit: str, history_days: int,
               incremental_repeats: int, query_repeats: int, log=print) -> dict:
    root = workdir / size.label
    root.mkdir(parents=True, exist_ok=True)
    log(f"[{size.label}] landing zone: {size.days} days, {size.app_events:,} app events")
    summary = _ensure_landing(root / "landing", size)
    days = [BENCH_START + timedelta(days=i) for i in range(size.days)]
    history, new_day = days[:-1], days[-1]
    short = days[-1 - history_days:-1]
    if not short or len(short) >= len(history):
        raise SystemExit(f"--history-days {history_days} must be between 1 and {len(history) - 1}")

    log(f"[{size.label}] floor scan")
    floor = measure.floor_scan(root / "landing", history, memory_limit)
    env = _environment(root, "full", memory_limit)
    log(f"[{size.label}] full pipeline over {len(history)} days")
    full = measure.timed_stage(
        ["reference_job", f"daily_pipeline_job:{history[0]}:{history[-1]}"], env, root, "full")
    log(f"[{size.label}] daily incremental with {len(history)} days of history")
    incremental_long = _incremental(env, root, "incremental_full_history", new_day, incremental_repeats)
    log(f"[{size.label}] marts and publish")
    marts = measure.timed_stage(["analytics_job", "publish_job"], env, root, "marts")
    log(f"[{size.label}] analyst queries")
    latency = measure.analyst_latency(Path(env["BIZINTEL_ANALYTICS"]), query_repeats)

    env_short = _environment(root, "short", memory_limit)
    log(f"[{size.label}] daily incremental with {len(short)} days of history")
    measure.timed_stage(["reference_job", f"daily_pipeline_job:{short[0]}:{short[-1]}"], env_short, root, "short_history")
    incremental_short = _incremental(env_short, root, "incremental_short_history", new_day, incremental_repeats)

    counts = summary["counts"]
    return {
        "size": size.label, "days": size.days, "app_events": size.app_events,
        "landing_lines": sum(c["lines"] for c in counts.values()),
        "history_days": len(history), "short_history_days": len(short),
        "floor": floor, "full": full, "incremental_long": incremental_long,
        "incremental_short": incremental_short, "marts": marts, "queries": latency,
    }
