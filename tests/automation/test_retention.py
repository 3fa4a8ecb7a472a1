"""Retention removes raw records older than the retention period, keeps every
aggregate and the file accounting, and reports what it removed."""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg
import duckdb

from bizintel_dagster import runner, settings
from bizintel_dagster.defs.automation.retention import cutoff_date
from bizintel_dagster.defs.raw import landing


def _seed_warehouse(days: list[date]) -> None:
    path = settings.warehouse_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        landing.ensure_tables(con)
        con.execute("create schema kpis; create table kpis.kpi_daily (metric_date date, revenue_total_minor bigint)")
        for day in days:
            for source in landing.SOURCES:
                con.execute(f"insert into raw.{source} values (?, 'f.jsonl', 1, '{{}}'), (?, 'f.jsonl', 2, '{{}}')", [day, day])
            con.execute("insert into raw.rejected_lines values (?, 'app_events', 'f.jsonl', 3, 'empty line', '')", [day])
            con.execute("insert into raw.landing_files values (?, 'app_events', 'f.jsonl', 'loaded', null, 10, 3, 2, 1)", [day])
            con.execute("insert into kpis.kpi_daily values (?, 100)", [day])


def _count(sql: str) -> int:
    with duckdb.connect(str(settings.warehouse_path()), read_only=True) as con:
        return con.execute(sql).fetchall()[0][0]


def test_retention_deletes_old_raw_records_keeps_aggregates_and_reports_it(data_env):
    days = [date(2026, 1, 1) + timedelta(days=i) for i in range(10)]
    _seed_warehouse(days)
    assert cutoff_date(5, date(2026, 1, 10)) == date(2026, 1, 6)  # keeps 6..10 January: 5 days
    job = runner.load_definitions().resolve_job_def("raw_retention_job")
    config = {"ops": {"purge_expired_raw_records": {"config": {"retention_days": 5, "as_of_date": "2026-01-10"}}}}
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(run_config=config, instance=instance)
        assert result.success
        report = result.output_for_node("purge_expired_raw_records")
        observations = [e for e in result.all_events if e.event_type_value == "ASSET_OBSERVATION"]
    assert report["raw.app_events"] == {"rows": 10, "oldest_partition": "2026-01-01", "newest_partition": "2026-01-05"}
    assert report["raw.rejected_lines"]["rows"] == 5
    assert "raw.landing_files" not in report
    for source in landing.SOURCES:
        assert _count(f"select min(partition_date) from raw.{source}") == date(2026, 1, 6)
        assert _count(f"select count(*) from raw.{source}") == 10
    assert _count("select count(*) from raw.landing_files") == 10  # accounting kept
    assert _count("select count(*) from kpis.kpi_daily") == 10      # aggregates kept
    assert len(observations) == len(landing.SOURCES) + 1

    # Nothing left to remove: a second run deletes nothing.
    with dg.instance_for_test() as instance:
        again = job.execute_in_process(run_config=config, instance=instance)
    assert sum(r["rows"] for r in again.output_for_node("purge_expired_raw_records").values()) == 0


def test_default_retention_is_90_days():
    assert settings.raw_retention_days() == 90
