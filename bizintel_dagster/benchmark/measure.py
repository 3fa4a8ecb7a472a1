"""The benchmark's measurements: the floor scan, a timed stage in a child
process with the peak memory of its whole process tree, and analyst query
latency on the published copy."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import psutil

from bizintel_dagster.defs.raw.landing import SOURCES, partition_dir


def landing_files(landing: Path, days: list[date]) -> dict[str, list[str]]:
    files: dict[str, list[str]] = {}
    for source, fmt in SOURCES.items():
        files[source] = sorted(
            str(p) for day in days for p in partition_dir(landing, source, day).glob(f"*.{fmt}")
        )
    return files


def floor_scan(landing: Path, days: list[date], memory_limit: str) -> dict:
    """What no pipeline can beat: DuckDB parses every landing file of ``days``
    once (JSON lines into JSON values, the CSV into columns), nothing written."""
    files = landing_files(landing, days)
    con = duckdb.connect(config={"memory_limit": memory_limit})
    records = 0
    started = time.perf_counter()
    for source, paths in files.items():
        if not paths:
            continue
        if SOURCES[source] == "jsonl":
            sql = """select count(*), count(json_type(json)) from read_json_objects(
                         ?, format = 'newline_delimited', ignore_errors = true)"""
        else:
            sql = "select count(*), count(columns(*)) from read_csv(?, header = true, all_varchar = true, ignore_errors = true)"
        records += con.execute(sql, [paths]).fetchall()[0][0]
    seconds = time.perf_counter() - started
    con.close()
    return {"seconds": round(seconds, 3), "records": records,
            "bytes": sum(os.path.getsize(p) for paths in files.values() for p in paths)}


@dataclass
class TreeMemory:
    """Peak resident memory of a process and all its descendants (sum of RSS,
    sampled; shared pages count once per process, so this errs high)."""

    pid: int
    interval: float = 0.05
    peak_bytes: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def _sample(self) -> None:
        try:
            root = psutil.Process(self.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        total = 0
        for p in procs:
            try:
                total += p.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        self.peak_bytes = max(self.peak_bytes, total)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> TreeMemory:
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def timed_stage(jobs: list[str], env: dict[str, str], workdir: Path, name: str) -> dict:
    """Run ``jobs`` (see ``child``) in a child process; wall time, peak RSS of the
    tree, and the child's per-job figures."""
    out = workdir / f"{name}.json"
    log = workdir / f"{name}.log"
    cpu_before = _children_cpu()
    started = time.perf_counter()
    with log.open("w") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bizintel_dagster.benchmark.child", "--out", str(out), *jobs],
            env=env, stdout=log_file, stderr=subprocess.STDOUT,
        )
        with TreeMemory(proc.pid) as memory:
            code = proc.wait()
    wall = time.perf_counter() - started
    if code != 0:
        raise RuntimeError(f"benchmark stage {name} failed (exit {code}); see {log}")
    return {"wall_seconds": round(wall, 3), "cpu_seconds": round(_children_cpu() - cpu_before, 3),
            "peak_rss_bytes": memory.peak_bytes, "jobs": json.loads(out.read_text())}


def _children_cpu() -> float:
    """User + system CPU seconds of every finished child process tree (dbt is
    waited for by its Dagster process, so it counts too)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# Typical questions analysts ask of the KPI marts (README: "Querying").
ANALYST_QUERIES: dict[str, str] = {
    "last 7 days": "select * from kpis.kpi_daily order by metric_date desc limit 7",
    "revenue and DAU by month": """
        select date_trunc('month', metric_date) as month, sum(revenue_total_minor) as revenue_minor,
               round(avg(dau)) as avg_dau, round(avg(payer_rate), 4) as payer_rate
        from kpis.kpi_daily group by 1 order by 1""",
    "revenue by dimension, last 30 days": """
        select measure, dimension, dimension_value, sum(value_minor) as value_minor
        from kpis.kpi_daily_revenue_by_dimension
        where metric_date > (select max(metric_date) from kpis.kpi_daily) - 30
        group by all order by measure, dimension, value_minor desc""",
    "sponsor value by week": """
        select date_trunc('week', metric_date) as week, sum(zone_visits) as visits,
               sum(sponsor_value_minor) as value_minor, round(avg(engagement_rate), 3) as engagement
        from kpis.kpi_daily_zones group by 1 order by 1 desc limit 12""",
    "noisiest hours, last 7 days": """
        select local_hour, sum(abuse_flags) as abuse_flags, sum(service_errors) as service_errors
        from kpis.kpi_hourly_operations
        where partition_date > (select max(partition_date) from kpis.kpi_hourly_operations) - 7
        group by local_hour order by service_errors desc limit 5""",
    "week over week": """
        select date_trunc('week', metric_date) as week, sum(revenue_total_minor) as revenue_minor,
               sum(revenue_total_minor) / nullif(lag(sum(revenue_total_minor)) over (order by 1), 0) - 1 as growth
        from kpis.kpi_daily group by 1 order by 1 desc limit 8""",
}


def analyst_latency(copy: Path, repeats: int) -> dict:
    """Latency of each analyst query on an open read-only connection to the
    published copy (what a notebook or BI tool holds), after one warm-up."""
    con = duckdb.connect(str(copy), read_only=True)
    samples: dict[str, list[float]] = {}
    try:
        for name, sql in ANALYST_QUERIES.items():
            con.execute(sql).fetchall()
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                con.execute(sql).fetchall()
                times.append(time.perf_counter() - started)
            samples[name] = times
    finally:
        con.close()
    every = [t for ts in samples.values() for t in ts]
    return {
        "queries": len(samples), "repeats": repeats,
        "p50_ms": round(_percentile(every, 50) * 1000, 2),
        "p95_ms": round(_percentile(every, 95) * 1000, 2),
        "per_query_p95_ms": {n: round(_percentile(ts, 95) * 1000, 2) for n, ts in samples.items()},
    }


def _percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (a value that was measured, never interpolated)."""
    return float(np.percentile(values, pct, method="inverted_cdf"))
