"""Materialize the whole graph on a small generated data set and hold the
platform to its promises: every check green, every line accounted for, revenue
reconciled, re-runs idempotent, no clear PII for analysts, analysts never
blocked by a run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pytest

from bizintel_dagster import cli, runner, settings
from bizintel_dagster.defs.raw import landing
from bizintel_dagster.demo import generator
from tests.conftest import TEST_SALT
from tests.integration.helpers import (
    AnalystLoop, data_dir, query, salted_hash, stored_check_results, table_fingerprints,
)

pytestmark = pytest.mark.integration

START = date(2026, 6, 1)
DAYS = 10
LAST = START + timedelta(days=DAYS - 1)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline")
    with data_dir(root):
        summary = generator.generate(settings.landing_dir(), start=START, days=DAYS, app_events=8_000, seed=11)
        definitions = runner.load_definitions()
        instance = runner.default_instance()
        results = {
            "reference": runner.run_job(definitions, "reference_job", instance),
            "daily": runner.run_job(definitions, "daily_pipeline_job", instance, START, LAST),
            # the unpartitioned marts too, so the warehouse holds everything a
            # standalone `dbt build` makes (test_dbt_on_its_own_...)
            "analytics": runner.run_job(definitions, "analytics_job", instance),
            "publish": runner.run_job(definitions, "publish_job", instance),
        }
        yield {"root": root, "definitions": definitions, "instance": instance, "results": results, "summary": summary}


def test_every_job_succeeds_and_every_check_passes(pipeline):
    checks = {}
    for name, result in pipeline["results"].items():
        assert result.success, f"{name} failed"
        checks.update(runner.check_results(result))
    failed = [name for name, ok in checks.items() if not ok]
    assert not failed, failed
    for expected in (
        "cleansed/dq_partition_stats:partition_quality_score_at_least_90",
        "cleansed/cleansed_app_events:quality_score_at_least_90",
        "cleansed/cleansed_location_reports:quality_score_at_least_90",
        "cleansed/quarantine_records:conservation_every_line_accounted",
        "kpis/kpi_daily:revenue_reconciles_with_facts",
        "cleansed/cleansed_app_events:unique_cleansed_app_events_event_id",
    ):
        assert expected in checks, f"{expected} was not evaluated"


PARTITIONED_CHECKS = (
    "cleansed/dq_partition_stats:partition_quality_score_at_least_90",
    "cleansed/quarantine_records:conservation_every_line_accounted",
    *(f"cleansed/cleansed_{source}:quality_score_at_least_90" for source in landing.SOURCES),
    "kpis/kpi_daily:revenue_reconciles_with_facts",
    "kpis/kpi_daily:money_totals_known",
)


def _materializations(result) -> dict[str, dict[str, dict]]:
    """asset -> partition -> metadata of a run's materializations."""
    out: dict[str, dict[str, dict]] = {}
    for event in result.get_asset_materialization_events():
        m = event.event_specific_data.materialization
        out.setdefault(m.asset_key.to_user_string(), {})[m.partition] = m.metadata
    return out


def test_every_partitioned_check_has_a_result_for_each_day_of_a_ranged_run(pipeline):
    """The UI shows a check per partition only when its result names the
    partition: a ranged run's checks must not show as Skipped on the days they judged."""
    days = sorted((START + timedelta(days=i)).isoformat() for i in range(DAYS))
    judged: dict[str, list] = {}
    for e in pipeline["results"]["daily"].get_asset_check_evaluations():
        judged.setdefault(f"{e.asset_key.to_user_string()}:{e.check_name}", []).append(e.partition)
    for name in PARTITIONED_CHECKS:
        assert sorted(judged.get(name, [])) == days, name
    # each day's evaluation carries that day's figures, not the window's
    lines = {e.partition: e.metadata["lines_in"].value for e in pipeline["results"]["daily"].get_asset_check_evaluations()
             if e.check_name == "conservation_every_line_accounted"}
    in_warehouse = dict(query("select partition_date::varchar, sum(lines_total) from raw.landing_files group by 1"))
    assert lines == {day: in_warehouse[day] for day in days}
    assert len(set(lines.values())) > 1


def test_the_instance_stores_a_result_and_the_figures_of_each_day(pipeline):
    """Over the instance's event log (not the run's result object): every
    partitioned check has one stored, passed execution per day of the ranged run
    and none without a partition (the UI's "Skipped"), and each day's stored
    materialization of kpi_daily carries that day's own DAU."""
    instance, run_id = pipeline["instance"], pipeline["results"]["daily"].run_id
    days = [(START + timedelta(days=i)).isoformat() for i in range(DAYS)]
    for check in PARTITIONED_CHECKS:
        assert stored_check_results(instance, run_id, check) == {day: ["SUCCEEDED"] for day in days}, check
    # dbt's data tests too: each judged the run's window, and every day carries that verdict
    graph = pipeline["definitions"].resolve_asset_graph()
    dbt_checks = {f"{e.asset_key.to_user_string()}:{e.check_name}"
                  for e in pipeline["results"]["daily"].get_asset_check_evaluations()
                  if graph.get(e.asset_key).is_partitioned} - set(PARTITIONED_CHECKS)
    assert len(dbt_checks) > 20, dbt_checks
    for check in dbt_checks:
        stored_days = stored_check_results(instance, run_id, check)
        assert set(stored_days) == set(days), check  # no result without a day ("Skipped" in the UI)
        assert all(len(s) == 1 and s[0] in ("SUCCEEDED", "FAILED") for s in stored_days.values()), check
    stored = {}
    for record in instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(["kpis", "kpi_daily"])), limit=10_000).records:
        if record.run_id == run_id:
            m = record.asset_materialization
            stored[m.partition] = m.metadata["dau"].value
    with data_dir(pipeline["root"]):
        dau = {str(d): n for d, n in query("select metric_date, dau from kpis.kpi_daily")}
    assert stored == dau and sorted(stored) == days
    assert len(set(stored.values())) > 1  # the days' data differ, so do their figures


def test_each_days_materialization_carries_that_days_figures(pipeline):
    """Per-partition metadata of a ranged run is the day's own (the Plots tab
    draws a real series), and row counts are the day's rows."""
    materialized = _materializations(pipeline["results"]["daily"])
    with data_dir(pipeline["root"]):
        kpis = {str(d): (dau, revenue) for d, dau, revenue in query(
            "select metric_date, dau, revenue_total_minor from kpis.kpi_daily")}
        events_per_day = dict(query(
            "select partition_date::varchar, count(*) from cleansed.cleansed_app_events group by 1"))
    kpi_daily = materialized["kpis/kpi_daily"]
    assert set(kpi_daily) == set(kpis)
    assert {day: (m["dau"].value, m["revenue_total_minor"].value) for day, m in kpi_daily.items()} == kpis
    assert len({m["dau"].value for m in kpi_daily.values()}) > 1
    assert all(m["dagster/row_count"].value == 1 for m in kpi_daily.values())
    app_events = materialized["cleansed/cleansed_app_events"]
    assert {day: m["dagster/row_count"].value for day, m in app_events.items()} == events_per_day
    assert not [key for key, days in materialized.items() for m in days.values() if "row_count_error" in m]


def test_materializations_carry_the_typed_column_schema_as_built(pipeline):
    materialized = _materializations(pipeline["results"]["daily"])
    with data_dir(pipeline["root"]):
        built = query("""select column_name, data_type from information_schema.columns
                         where table_schema = 'kpis' and table_name = 'kpi_daily' order by ordinal_position""")
    schema = next(iter(materialized["kpis/kpi_daily"].values()))["dagster/column_schema"].value
    assert [(c.name, c.type) for c in schema.columns] == built
    assert len(built) > 30
    manifest = json.loads((settings.DBT_PROJECT_DIR / "target" / "manifest.json").read_text())
    documented = {name: c["description"] for name, c in manifest["nodes"]["model.bizintel.kpi_daily"]["columns"].items()
                  if c.get("description")}
    assert documented, "kpi_daily documents no column"
    assert {c.name: c.description for c in schema.columns if c.description} == documented


def test_a_ranged_run_plans_one_event_per_asset_and_materializes_every_day(pipeline):
    """The CLI's ranged runs take Dagster's compact plan (runner._one_planned_event_per_asset);
    the record of what was built stays one materialization per asset and day, and
    one for the dimensions rebuilt in full in the same run."""
    run_id = pipeline["results"]["daily"].run_id
    events = [r.event_log_entry.dagster_event
              for r in pipeline["instance"].get_records_for_run(run_id, limit=1_000_000).records
              if r.event_log_entry.dagster_event]
    planned = [e for e in events if e.event_type_value == "ASSET_MATERIALIZATION_PLANNED"]
    materialized = Counter(e.asset_key for e in events if e.event_type_value == "ASSET_MATERIALIZATION")
    assert sorted(e.asset_key for e in planned) == sorted(materialized)
    graph = pipeline["definitions"].resolve_asset_graph()
    partitioned = {key for key in materialized if graph.get(key).partitions_def}
    assert all(len(e.event_specific_data.partitions_subset.get_partition_keys()) == DAYS
               for e in planned if e.asset_key in partitioned)
    assert dict(materialized) == {key: DAYS if key in partitioned else 1 for key in materialized}
    assert {key.to_user_string() for key in set(materialized) - partitioned} == {"enriched/dim_users",
                                                                                "enriched/dim_accounts"}
    assert runner.PLANNED_SUBSET_ENV not in os.environ  # restored after the run


def _landing_line_counts(landing_dir: Path) -> Counter:
    """Lines per (day, source) counted straight from the files, independently of the loader."""
    counts = Counter()
    for source in landing.SOURCES:
        for path in landing_dir.glob(f"{source}/dt=*/*"):
            if landing.is_in_flight(path.name):
                continue
            data = path.read_bytes()
            lines = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
            if path.suffix == ".csv" and lines:
                lines -= 1  # header
            counts[(date.fromisoformat(path.parent.name[3:]), source)] += lines
    return counts


def test_conservation_every_landing_line_is_cleansed_quarantined_or_a_counted_duplicate(pipeline):
    with data_dir(pipeline["root"]):
        expected = _landing_line_counts(settings.landing_dir())
        got = Counter()
        for source, id_column in (("app_events", "event_id"), ("location_reports", "report_id"),
                                  ("ticketing", "ticket_id"), ("billing", "billing_record_id")):
            for day, n in query(f"select partition_date, count(*) from cleansed.cleansed_{source} group by 1"):
                got[(day, source)] += n
            for day, n in query(f"select partition_date, count(*) from cleansed.int_{source}_scored where record_status = 'duplicate' group by 1"):
                got[(day, source)] += n
        for day, source, n in query("select partition_date, source, count(*) from cleansed.quarantine_records group by 1, 2"):
            got[(day, source)] += n
    assert sum(expected.values()) > 8_000
    assert got == expected


def test_quarantine_has_a_reason_and_location_for_every_row(pipeline):
    with data_dir(pipeline["root"]):
        rows = query("""select count(*), count(*) filter (where reason is null or reason = ''),
                               count(*) filter (where source_file is null),
                               count(distinct source)
                        from cleansed.quarantine_records""")[0]
        unparseable = query("select count(*) from cleansed.quarantine_records where line_number is null and source <> 'ticketing'")[0][0]
    total, no_reason, no_file, sources = rows
    assert total > 0 and no_reason == 0 and no_file == 0 and unparseable == 0
    assert sources == 4  # the generator injects defects into every source


def test_revenue_in_kpis_equals_revenue_in_facts_per_day(pipeline):
    with data_dir(pipeline["root"]):
        mismatches = query("""
            select coalesce(f.d, k.d), f.v, k.v from
              (select partition_date d, sum(amount_reporting_minor) v from fused.fct_revenue group by 1) f
              full join (select metric_date d, revenue_total_minor v from kpis.kpi_daily) k on f.d = k.d
            where f.v is distinct from k.v""")
        days = query("select count(*), count(*) filter (where purchases > 0 and dau > 0) from kpis.kpi_daily")[0]
    assert mismatches == []
    assert days == (DAYS, DAYS)


def test_data_quality_score_is_high_but_not_perfect_on_demo_data(pipeline):
    with data_dir(pipeline["root"]):
        low, high = query("select min(data_quality_score), max(data_quality_score) from kpis.kpi_daily")[0]
    # 3-5 % defective records: every day is below 100 and above the 90 bar
    assert 90 <= low and high < 100


def test_a_cli_backfill_of_a_range_changes_nothing(pipeline, capsys):
    """`bizintel backfill` re-runs days in one run, rebuilds the marts and publishes:
    identical tables, no duplicates (a single partition is re-run by the
    concurrent-reader test below)."""
    with data_dir(pipeline["root"]):
        before = table_fingerprints(settings.warehouse_path())
        cli.main(["backfill", "--start", str(START + timedelta(days=2)), "--end", str(START + timedelta(days=5))])
        after_range = table_fingerprints(settings.warehouse_path())
    assert "daily_pipeline_job   ok" in capsys.readouterr().out
    assert len(before) > 30
    assert after_range == before


def test_dbt_on_its_own_rebuilds_exactly_what_dagster_built(pipeline):
    """The dbt project is a real dbt project: `dbt build` with its own profile and
    default vars (every partition) reproduces the warehouse the Dagster runs made."""
    with data_dir(pipeline["root"]):
        before = table_fingerprints(settings.warehouse_path())
        built = subprocess.run(
            [settings.dbt_executable(), "build", "--project-dir", str(settings.DBT_PROJECT_DIR),
             "--profiles-dir", str(settings.DBT_PROJECT_DIR), "--target-path", str(pipeline["root"] / "dbt_target")],
            capture_output=True, text=True, timeout=600,
        )
        after = table_fingerprints(settings.warehouse_path())
    assert built.returncode == 0, built.stdout[-3000:]
    assert after == before


def test_no_clear_pii_reaches_the_analysts_copy(pipeline):
    with data_dir(pipeline["root"]):
        warehouse, analytics = settings.warehouse_path(), settings.analytics_path()
        pii = {v for (v,) in query("""
            select unnest([payload -> 'properties' ->> 'email', payload -> 'properties' ->> 'full_name',
                           payload -> 'properties' ->> 'phone'])
            from raw.app_events where payload ->> 'event_type' = 'signup'
            union
            select unnest([payload ->> 'attendee_name', payload ->> 'attendee_email', payload ->> 'attendee_phone'])
            from raw.ticketing""", path=warehouse) if v}
        user_id, = query("select payload ->> 'user_id' from raw.app_events where payload ->> 'user_id' like 'usr_%' limit 1", path=warehouse)[0]
        text_columns = query("""select table_schema, table_name, column_name from information_schema.columns
                                where data_type = 'VARCHAR'""", path=analytics)
        schemas = {s for (s,) in query("select distinct table_schema from information_schema.tables", path=analytics)}
        import duckdb
        with duckdb.connect(str(analytics), read_only=True) as con:
            con.execute("create temp table pii (v varchar)")
            con.executemany("insert into pii values (?)", [[v] for v in pii])
            leaks = [
                (s, t, c) for s, t, c in text_columns
                if con.execute(f'select count(*) from "{s}"."{t}" where "{c}" in (select v from pii)').fetchall()[0][0]
            ]
            keys = con.execute("select count(*) from cleansed.cleansed_app_events where user_key = ?",
                               [salted_hash(user_id, TEST_SALT)]).fetchall()[0][0]
    assert len(pii) > 100
    assert "raw" not in schemas and "staging" not in schemas
    assert leaks == []
    assert keys > 0  # ids are salted SHA-256 of the trimmed, lower-cased value


def test_the_duckdb_cli_reads_the_analysts_copy(pipeline):
    """Analysts' own tool, a DuckDB CLI possibly older than the pipeline's DuckDB."""
    cli = Path(sys.executable).with_name("duckdb")
    with data_dir(pipeline["root"]):
        out = subprocess.run(
            [str(cli), "-readonly", "-csv", "-noheader", str(settings.analytics_path()),
             "select count(*), sum(revenue_total_minor) > 0 from kpis.kpi_daily"],
            capture_output=True, text=True, timeout=60,
        )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"{DAYS},true"


def test_analysts_query_while_a_run_writes_and_neither_side_fails(pipeline, tmp_path):
    with data_dir(pipeline["root"]):
        before = table_fingerprints(settings.warehouse_path())
        with AnalystLoop(settings.analytics_path(),
                         "select metric_date, revenue_total_minor from kpis.kpi_daily order by 1",
                         tmp_path, pause=0.02) as analyst:
            time.sleep(1)
            definitions, instance = pipeline["definitions"], pipeline["instance"]
            daily = runner.run_job(definitions, "daily_pipeline_job", instance, LAST)
            publish = runner.run_job(definitions, "publish_job", instance)
            seen = analyst.stop()
        after = table_fingerprints(settings.warehouse_path())
    assert daily.success and publish.success
    assert after == before  # re-running one partition replaced it
    assert seen["errors"] == [], seen["errors"][:5]
    assert seen["ok"] > 20


def _bizintel_metrics(*args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "bizintel_dagster.cli", "metrics", *args],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def _csv_rows(text: str) -> list[dict[str, str]]:
    import csv
    import io

    return list(csv.DictReader(io.StringIO(text)))


def test_bizintel_metrics_lists_queries_and_explains_on_the_analysts_copy(pipeline):
    """The semantic layer answers on the published copy what the KPI marts hold:
    revenue and payer rate per day = kpis.kpi_daily, payer rate and active users per
    month = kpis.kpi_period_rollups (distinct users over the month); --explain's SQL
    runs unchanged in the DuckDB CLI on the copy and gives the same answer."""
    import json

    with data_dir(pipeline["root"]):
        listing = _bizintel_metrics("list")
        manifest = json.loads((settings.DBT_PROJECT_DIR / "target" / "semantic_manifest.json").read_text())
        listed = {line.split()[0] for line in listing.splitlines() if line.strip()}
        assert listed == {m["name"] for m in manifest["metrics"]}
        assert "Distinct payers in the period / distinct active users in the period" in listing

        daily = {r["metric_time__day"][:10]: r for r in _csv_rows(_bizintel_metrics(
            "query", "--metrics", "revenue,payer_rate", "--group-by", "metric_time__day", "--csv"))}
        kpi_daily = query("select metric_date::varchar, revenue_total_minor, payer_rate from kpis.kpi_daily",
                          path=settings.analytics_path())
        assert len(kpi_daily) == DAYS
        for day, revenue, payer_rate in kpi_daily:
            assert int(daily[day]["revenue"]) == revenue, day
            assert round(float(daily[day]["payer_rate"]), 4) == pytest.approx(payer_rate), day

        monthly = _bizintel_metrics("query", "--metrics", "payer_rate,active_users",
                                    "--group-by", "metric_time__month", "--csv")
        rollups = query("select period_start::varchar, payer_rate, active_users from kpis.kpi_period_rollups "
                        "where period = 'month'", path=settings.analytics_path())
        by_month = {r["metric_time__month"][:10]: r for r in _csv_rows(monthly)}
        assert set(by_month) == {m for m, _, _ in rollups}
        for month, payer_rate, active_users in rollups:
            assert int(by_month[month]["active_users"]) == active_users
            assert round(float(by_month[month]["payer_rate"]), 4) == pytest.approx(payer_rate)

        sql = _bizintel_metrics("query", "--metrics", "payer_rate,active_users",
                                "--group-by", "metric_time__month", "--explain")
        duckdb_cli = Path(sys.executable).with_name("duckdb")
        out = subprocess.run([str(duckdb_cli), "-readonly", "-csv", str(settings.analytics_path()), sql],
                             capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    via_sql = {r["metric_time__month"][:10]: r for r in _csv_rows(out.stdout)}
    assert {m: int(r["active_users"]) for m, r in via_sql.items()} == \
        {m: int(r["active_users"]) for m, r in by_month.items()}
