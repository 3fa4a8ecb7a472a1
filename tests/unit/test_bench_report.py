"""The benchmark's measuring parts, cheaply: the floor scan, the process-tree
memory sampler, percentiles, the target verdicts and the BENCHMARKS.md block.
The whole command runs in tests/benchmark (pytest -m bench)."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta

import pytest

from bizintel_dagster.benchmark import measure, report
from bizintel_dagster.demo import generator


def test_the_floor_scan_parses_every_landing_file_of_the_days(tmp_path):
    summary = generator.generate(tmp_path, start=date(2025, 6, 1), days=2, app_events=800)
    lines = sum(c["lines"] for c in summary["counts"].values())
    days = [date(2025, 6, 1) + timedelta(days=i) for i in range(2)]
    floor = measure.floor_scan(tmp_path, days, "256MB")
    # every line but the unparseable defects (a few per cent) is a record
    assert 0.9 * lines <= floor["records"] <= lines
    assert floor["bytes"] == sum(p.stat().st_size for p in tmp_path.glob("*/dt=*/*") if p.is_file())
    assert measure.floor_scan(tmp_path, days[:1], "256MB")["records"] < floor["records"]


def test_tree_memory_sees_a_childs_allocation():
    proc = subprocess.Popen([sys.executable, "-c", "import time; b = bytearray(200 * 2**20); time.sleep(1.5)"])
    with measure.TreeMemory(proc.pid) as memory:
        proc.wait()
    assert memory.peak_bytes >= 200 * 2**20


@pytest.mark.parametrize("values, pct, expected", [
    ([1.0], 95, 1.0),
    ([1.0, 2.0, 3.0, 4.0], 50, 2.0),
    ([float(i) for i in range(1, 101)], 95, 95.0),
    ([float(i) for i in range(1, 21)], 95, 19.0),
])
def test_nearest_rank_percentile(values, pct, expected):
    assert measure._percentile(values, pct) == expected


def _result(full=50.0, floor=10.0, long=12.0, short=10.0, rss=2**30, p95=10.0) -> dict:
    stage = {"wall_seconds": full, "peak_rss_bytes": rss}
    return {"full": stage, "floor": {"seconds": floor}, "incremental_long": {"median_seconds": long, "peak_rss_bytes": 0},
            "incremental_short": {"median_seconds": short}, "marts": {"peak_rss_bytes": 0},
            "queries": {"p95_ms": p95}, "history_days": 364, "short_history_days": 30}


@pytest.mark.parametrize("changes, missed", [
    ({}, set()),
    ({"full": 50.1}, {"full pipeline / floor"}),
    ({"long": 12.1}, {"incremental at 364 days / at 30 days"}),
    ({"rss": 2 * 2**30 + 1}, {"peak RSS of any run (process tree)"}),
    ({"p95": 50.5}, {"analyst KPI query p95"}),
])
def test_each_target_is_judged_on_its_own_figure(changes, missed):
    rows = report.headline(_result(**changes))
    assert {m for m, _v, _t, verdict in rows if verdict != "met"} == missed


def test_the_results_block_is_replaced_and_the_analysis_kept(tmp_path):
    path = tmp_path / "BENCHMARKS.md"
    path.write_text("# Benchmarks\n\nWhat dominated: bookkeeping.\n")
    report.write(path, "first results\n")
    report.write(path, "second results\n")
    text = path.read_text()
    assert text.startswith("# Benchmarks\n\nWhat dominated: bookkeeping.\n")
    assert "second results" in text and "first results" not in text
    assert text.count(report.START_MARK) == 1 and text.count(report.END_MARK) == 1
