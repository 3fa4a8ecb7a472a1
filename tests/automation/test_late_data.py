"""Late data re-materializes exactly the partitions it touches (issue 16).

The rolling-window KPIs of day X read the activity of X - W .. X, declared as a
partition mapping in the graph. A late file for day D: the landing sensor re-runs
D, then ``late_data_sensor`` re-runs the rolling step (and kpi_daily, the week /
month roll-ups) for D + 1 .. D + W, and nothing after. The scenario runs in a
child process with a short window (late_data_scenario.py says why); the
assertions read its instance and warehouses here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from bizintel_dagster import activity, settings
from bizintel_dagster import dbt_vars as project_vars
from tests.automation import late_data_scenario as scenario

pytestmark = pytest.mark.integration

W = 8  # the activity window of the scenario: short, so days after D + W exist in 11 days
D = scenario.LATE_DAY
ROLLING = dg.AssetKey(["kpis", "kpi_daily_active_users"])
KPI_DAILY = dg.AssetKey(["kpis", "kpi_daily"])
ACTIVITY = dg.AssetKey(["enriched", "enriched_app_events"])
ROLLUPS = dg.AssetKey(["kpis", "kpi_period_rollups"])


def _days(first, last) -> list[str]:
    return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("late-data")
    home = root / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((settings.REPO_ROOT / "dagster_home" / "dagster.yaml").read_text())
    env = {**os.environ, "DAGSTER_HOME": str(home), activity.ENV: str(W),
           "BIZINTEL_START_DATE": scenario.START.isoformat(), "BIZINTEL_LANDING_SETTLE_SECONDS": "0"}
    done = subprocess.run([sys.executable, "-m", "tests.automation.late_data_scenario", str(root)], env=env,
                          cwd=settings.REPO_ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    result = json.loads((root / "result.json").read_text())
    print("late-data scenario seconds:", result["seconds"])
    with dg.DagsterInstance.from_config(str(home)) as instance:
        yield {"root": root, "result": result, "instance": instance}


def _materialized(world, key: dg.AssetKey) -> list[str]:
    """Partitions of ``key`` materialized after the late file landed (sorted, repeats kept)."""
    records = world["instance"].fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, after_storage_id=world["result"]["storage_id_before_late_file"]),
        limit=10_000).records
    return sorted(r.partition_key or "-" for r in records)


def _query(world, name: str, sql: str) -> list:
    with duckdb.connect(str(world["root"] / name / "warehouse" / "bizintel.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_the_graph_declares_the_window_read_from_the_dbt_var():
    from bizintel_dagster.defs.automation.sensors import window_dependencies
    from bizintel_dagster.defs.dbt.assets import dbt_steps
    from bizintel_dagster.defs.jobs import rolling_window_job

    (dependency,) = window_dependencies()
    assert (dependency.child, dependency.parent) == (ROLLING, ACTIVITY)
    assert isinstance(dependency.mapping, dg.TimeWindowPartitionMapping)
    assert (dependency.mapping.start_offset, dependency.mapping.end_offset) == (-activity.window_days(), 0)
    # this process loaded the project's own value
    assert activity.window_days() == int(project_vars.get(activity.VAR)) >= activity.MIN_DAYS
    # the same-day dependency of the rolling model keeps the default mapping
    (rolling_step,) = [step for step in dbt_steps if ROLLING in step.keys]
    deps = {d.asset_key: d.partition_mapping for d in rolling_step.specs_by_key[ROLLING].deps}
    assert deps[dg.AssetKey(["kpis", "kpi_daily_quality"])] is None
    # the step declared for kpis/rolling (dbt_project.yml) holds the rolling KPIs and kpi_daily
    assert rolling_step.node_def.name == "dbt_rolling" and {ROLLING, KPI_DAILY} == set(rolling_step.keys)
    # what the late-data sensor requests re-runs that step and the roll-ups
    assert rolling_window_job.selection.resolve(_asset_graph()) == set(rolling_step.keys) | {
        ROLLUPS, dg.AssetKey(["kpis", "kpi_daily_growth"]), dg.AssetKey(["kpis", "kpi_missing_dates"]),
        dg.AssetKey(["kpis", "metricflow_time_spine"])}


def _asset_graph():
    from bizintel_dagster import runner

    return runner.load_definitions().resolve_asset_graph()


def test_a_window_shorter_than_a_week_is_refused(monkeypatch):
    monkeypatch.setenv(activity.ENV, "6")
    with pytest.raises(ValueError, match="at least 7"):
        activity.window_days()


def test_the_late_file_requests_its_day_then_exactly_the_days_whose_window_covers_it(world):
    result = world["result"]
    assert [r["success"] for r in result["initial_runs"]] == [True]
    assert result["initial_late_requests"] == 0  # a first load leaves nothing stale
    assert result["late_landing_requests"] == [{"partition_key": D.isoformat(), "tags": {"bizintel/trigger": "late_files"}}]
    assert [r["success"] for r in result["late_runs"]] == [True]
    (request,) = result["window_requests"]
    assert request["tags"]["dagster/asset_partition_range_start"] == (D + timedelta(days=1)).isoformat()
    assert request["tags"]["dagster/asset_partition_range_end"] == (D + timedelta(days=W)).isoformat()
    assert request["tags"]["bizintel/trigger"] == "late_data"
    assert [(r["job"], r["success"]) for r in result["window_runs"]] == [("rolling_window_job", True)]
    assert result["requests_after_rerun"] == 0  # re-run once, not again


def test_only_the_late_day_and_the_w_days_after_it_were_rematerialized(world):
    window = _days(D, D + timedelta(days=W))
    assert scenario.LAST > D + timedelta(days=W)  # there are later days that must stay untouched
    assert _materialized(world, ROLLING) == window
    assert _materialized(world, KPI_DAILY) == window
    assert _materialized(world, ACTIVITY) == [D.isoformat()]
    assert _materialized(world, ROLLUPS) == ["-"]  # the roll-ups, once, in the window run


KPI_COLUMNS = "metric_date::varchar, dau, wau, mau, stickiness, churned_users"


def test_rolling_kpis_equal_a_full_rebuild_and_the_late_file_changed_them(world):
    sql = f"select {KPI_COLUMNS} from kpis.kpi_daily order by 1"
    late, clean = _query(world, "late", sql), _query(world, "clean", sql)
    assert len(late) == scenario.DAYS
    assert late == clean
    rolling = f"select {KPI_COLUMNS} from kpis.kpi_daily_active_users order by 1"
    assert _query(world, "late", rolling) == _query(world, "clean", rolling)
    # The test can fail: before the sensor's runs, every day of D+1 .. D+W-1 had a
    # smaller MAU (D's new users were missing), and days after D+W are unchanged.
    before = {row[0]: row for row in world["result"]["kpis_before"]}
    after = {row[0]: row for row in late}
    for day in _days(D + timedelta(days=1), D + timedelta(days=W - 1)):
        assert after[day][3] > before[day][3], day
    for day in _days(D + timedelta(days=W + 1), scenario.LAST):
        assert list(after[day]) == before[day], day


def test_week_and_month_rollups_equal_a_full_rebuild(world):
    sql = "select * from kpis.kpi_period_rollups order by period, period_start"
    late, clean = _query(world, "late", sql), _query(world, "clean", sql)
    periods = {(row[0], str(row[1])) for row in late}
    assert {"week", "month"} <= {p for p, _ in periods}
    assert late == clean
    growth = "select * from kpis.kpi_daily_growth order by all"
    assert _query(world, "late", growth) == _query(world, "clean", growth)
