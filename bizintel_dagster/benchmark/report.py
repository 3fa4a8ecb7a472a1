"""The benchmark's results as markdown: printed, and written into BENCHMARKS.md
between two markers so the hand-written analysis around them stays."""

from __future__ import annotations

import os
import platform
import re
import sys
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

import psutil

from bizintel_dagster.metadata import markdown_text

START_MARK = "<!-- bench:results:start -->"
END_MARK = "<!-- bench:results:end -->"

# Issue 6's targets on a 2-core, 24 GiB machine.
TARGETS = {
    "pipeline_vs_floor": 5.0,
    "incremental_growth": 1.2,
    "peak_rss_gib": 2.0,
    "query_p95_ms": 50.0,
}


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = psutil.virtual_memory().total / 2**30
    versions = ", ".join(f"{p} {version(p)}" for p in ("duckdb", "dagster", "dagster-dbt", "dbt-core", "dbt-duckdb"))
    return (f"{os.cpu_count()} cores ({cpu}), {memory:.1f} GiB memory, {platform.system()} "
            f"{platform.release()}, Python {sys.version.split()[0]}; {versions}")


def _gib(n: int) -> float:
    return n / 2**30


def _verdict(ok: bool) -> str:
    return "met" if ok else "**MISSED**"


def headline(r: dict) -> list[tuple[str, str, str, str]]:
    """(measure, value, target, verdict) rows for one size."""
    ratio = r["full"]["wall_seconds"] / r["floor"]["seconds"]
    growth = r["incremental_long"]["median_seconds"] / r["incremental_short"]["median_seconds"]
    peak = _gib(max(r["full"]["peak_rss_bytes"], r["incremental_long"]["peak_rss_bytes"], r["marts"]["peak_rss_bytes"]))
    p95 = r["queries"]["p95_ms"]
    return [
        ("full pipeline / floor", f"{ratio:.1f}x", f"<= {TARGETS['pipeline_vs_floor']:g}x",
         _verdict(ratio <= TARGETS["pipeline_vs_floor"])),
        (f"incremental at {r['history_days']} days / at {r['short_history_days']} days", f"{growth:.2f}",
         f"<= {TARGETS['incremental_growth']:g}", _verdict(growth <= TARGETS["incremental_growth"])),
        ("peak RSS of any run (process tree)", f"{peak:.2f} GiB", f"<= {TARGETS['peak_rss_gib']:g} GiB",
         _verdict(peak <= TARGETS["peak_rss_gib"])),
        ("analyst KPI query p95", f"{p95:.1f} ms", f"<= {TARGETS['query_p95_ms']:g} ms",
         _verdict(p95 <= TARGETS["query_p95_ms"])),
    ]


def _slowest(durations: dict[str, float], n: int = 8) -> list[tuple[str, str]]:
    ranked = sorted(durations.items(), key=lambda kv: -kv[1])[:n]
    return [(name, f"{s:.1f}") for name, s in ranked]


def size_section(r: dict) -> str:
    full = r["full"]
    daily = next(j for j in full["jobs"] if j["job"] == "daily_pipeline_job")
    events = daily["asset_events"]
    rows = [
        ("floor: DuckDB parses every landing file once",
         f"{r['floor']['seconds']:.1f}", f"{r['floor']['records']:,} records, {r['floor']['bytes'] / 1e6:,.0f} MB"),
        (f"full pipeline: reference + {r['history_days']} daily partitions, one run",
         f"{full['wall_seconds']:.1f}", f"peak RSS {_gib(full['peak_rss_bytes']):.2f} GiB; {events:,} asset materializations recorded"),
        (f"daily incremental, {r['history_days']} days of history (median of {len(r['incremental_long']['runs_seconds'])})",
         f"{r['incremental_long']['median_seconds']:.1f}", "runs: " + ", ".join(f"{s:.1f}" for s in r["incremental_long"]["runs_seconds"])),
        (f"daily incremental, {r['short_history_days']} days of history (median of {len(r['incremental_short']['runs_seconds'])})",
         f"{r['incremental_short']['median_seconds']:.1f}", "runs: " + ", ".join(f"{s:.1f}" for s in r["incremental_short"]["runs_seconds"])),
        ("marts (analytics_job, all days) + publish",
         f"{r['marts']['wall_seconds']:.1f}", f"peak RSS {_gib(r['marts']['peak_rss_bytes']):.2f} GiB"),
    ]
    book = daily["planned_events_seconds"] + daily["materialization_events_seconds"]
    rows.insert(2, (
        "  of which Dagster records asset events (the plan, then one materialization per asset and partition)",
        f"{book:.1f}", f"{daily['planned_events_seconds']:.1f} s planned, {daily['materialization_events_seconds']:.1f} s materialized; "
        f"{1000 * daily['materialization_events_seconds'] / max(events, 1):.1f} ms per materialization",
    ))
    q = r["queries"]
    parts = [
        f"### {r['size']}: {r['app_events']:,} app events, {r['days']} days, {r['landing_lines']:,} landing lines",
        "",
        markdown_text(["measure", "value", "target", "verdict"], headline(r)),
        "",
        markdown_text(["stage", "seconds", "notes"], rows),
        "",
        f"Analyst queries ({q['queries']} queries x {q['repeats']} on the published copy): "
        f"p50 {q['p50_ms']:.1f} ms, p95 {q['p95_ms']:.1f} ms; slowest p95: "
        + ", ".join(f"{n} {ms:.1f} ms" for n, ms in sorted(q["per_query_p95_ms"].items(), key=lambda kv: -kv[1])[:2]) + ".",
        "",
        "Where the full run's time went (steps; dbt nodes are inside the dbt steps):",
        "",
        markdown_text(["step", "seconds"], _slowest(
            {f"{job['job']} / {key}": sec for job in full["jobs"] for key, sec in job["steps"].items()})),
        "",
        markdown_text(["dbt node", "seconds"], _slowest(
            {node: sec for job in full["jobs"] for node, sec in job["dbt_nodes"].items()})),
    ]
    return "\n".join(parts)


def render(results: list[dict], command: str) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body = [
        f"Measured {stamp} with `{command}` on {machine()}.",
        "",
        *(size_section(r) + "\n" for r in results),
    ]
    return "\n".join(body).rstrip() + "\n"


def write(path: Path, section: str) -> None:
    """Replace the results between the markers (or append them)."""
    block = f"{START_MARK}\n{section}{END_MARK}"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n\n"
    if START_MARK in text and END_MARK in text:
        text = re.sub(re.escape(START_MARK) + ".*?" + re.escape(END_MARK), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")
