"""A tiny run of `bizintel bench`: every stage runs end to end and the report
carries the figures it measured. Speed targets are not asserted here: they
live in BENCHMARKS.md, measured on real sizes (README, "Benchmarks").

It starts about a dozen Dagster and dbt processes (~3 min of CPU), so it is
marked ``bench`` and left out of `make test`: ``pytest -m bench``. The parts
that can be checked cheaply are in tests/unit/test_bench_report.py."""

from __future__ import annotations

import json
import os
import re
from datetime import date, timedelta

import pytest

from bizintel_dagster import cli
from bizintel_dagster.benchmark import report

pytestmark = [pytest.mark.integration, pytest.mark.bench]


def test_a_tiny_bench_measures_every_stage_and_writes_the_report(tmp_path, capsys):
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("# Benchmarks\n\nHand-written analysis stays.\n")
    cli.main(["bench", "--sizes", "small", "--days", "4", "--events", "1500", "--history-days", "1",
              "--repeats", "1", "--query-repeats", "3", "--memory-limit", "512MB",
              "--workdir", str(tmp_path / "bench"), "--out", str(out)])

    results = json.loads((tmp_path / "bench" / "results.json").read_text())
    (r,) = results
    summary = json.loads((tmp_path / "bench" / "small" / "landing" / "_generator_summary.json").read_text())
    assert r["landing_lines"] == sum(c["lines"] for c in summary["counts"].values())
    assert 0 < r["floor"]["records"] <= r["landing_lines"]
    assert r["history_days"] == 3 and r["short_history_days"] == 1
    full_jobs = {j["job"]: j for j in r["full"]["jobs"]}
    assert set(full_jobs) == {"reference_job", "daily_pipeline_job"}
    daily = full_jobs["daily_pipeline_job"]
    day_before_last = (date.fromisoformat(summary["last_date"]) - timedelta(days=1)).isoformat()
    assert daily["success"] and daily["window"] == [summary["first_date"], day_before_last]
    # one materialization per partitioned asset and day: three days recorded
    assert daily["asset_events"] % 3 == 0 and daily["asset_events"] > 0
    assert "cleansed/cleansed_app_events" in daily["dbt_nodes"]
    assert r["full"]["peak_rss_bytes"] > 50 * 2**20 and r["full"]["cpu_seconds"] > 0
    for key in ("incremental_long", "incremental_short"):
        assert r[key]["first_run"]["success"] and r[key]["first_run"]["window"] == [summary["last_date"]] * 2
    assert 0 < r["queries"]["p50_ms"] <= r["queries"]["p95_ms"]

    text = out.read_text()
    assert text.startswith("# Benchmarks\n\nHand-written analysis stays.")
    block = text.split(report.START_MARK)[1].split(report.END_MARK)[0]
    for measure, value, _target, verdict in report.headline(r):
        assert f"| {measure} | {value} |" in block and verdict in block
    assert re.search(r"\| full pipeline / floor \| [0-9.]+x \|", block)
    assert f"{os.cpu_count()} cores" in block
    assert "| full pipeline / floor |" in capsys.readouterr().out
