"""A partition made mostly of bad lines fails the blocking quality check on that
day only, and nothing downstream of the cleansed layer is built for the run."""

from datetime import date, timedelta

import pytest

from bizintel_dagster import runner, settings
from bizintel_dagster.defs.raw import landing
from bizintel_dagster.demo import generator
from tests.integration.helpers import data_dir, query, stored_check_results

pytestmark = pytest.mark.integration

FIRST = date(2026, 7, 1)
BAD = FIRST + timedelta(days=1)  # the middle one of three days
LAST = FIRST + timedelta(days=2)


def _by_day(result, check_name: str) -> dict[str, bool]:
    return {e.partition: e.passed for e in result.get_asset_check_evaluations() if e.check_name == check_name
            and (check_name != "quality_score_at_least_90" or e.asset_key.path[-1] == "cleansed_app_events")}


def test_a_mostly_bad_partition_fails_on_its_day_and_blocks_its_downstream(tmp_path):
    with data_dir(tmp_path):
        generator.generate(settings.landing_dir(), start=FIRST, days=3, app_events=3_000, seed=3)
        folder = landing.partition_dir(settings.landing_dir(), "app_events", BAD)
        good = sum(p.read_bytes().count(b"\n") for p in folder.glob("*.jsonl"))
        # three garbage lines for every good one: the day's score falls far below 90
        (folder / "app_events_garbage.jsonl").write_bytes(b"{not json at all\n" * (3 * good))
        definitions = runner.load_definitions()
        instance = runner.default_instance()
        assert runner.run_job(definitions, "reference_job", instance).success
        result = runner.run_job(definitions, "daily_pipeline_job", instance, FIRST, LAST)
        checks = runner.check_results(result)
        business_ran = query("select count(*) from duckdb_tables() where schema_name in ('enriched', 'fused', 'kpis')")[0][0]
        score = query("select quality_score from cleansed.dq_partition_stats where source = 'app_events' and partition_date = ?", [BAD])[0][0]
        quarantined = query("select count(*) from cleansed.quarantine_records where source_file = 'app_events_garbage.jsonl'")[0][0]
    assert not result.success
    assert checks["cleansed/dq_partition_stats:partition_quality_score_at_least_90"] is False
    assert checks["cleansed/cleansed_app_events:quality_score_at_least_90"] is False
    assert checks["cleansed/cleansed_location_reports:quality_score_at_least_90"] is True
    days = {FIRST.isoformat(): True, BAD.isoformat(): False, LAST.isoformat(): True}
    assert _by_day(result, "partition_quality_score_at_least_90") == days
    assert _by_day(result, "quality_score_at_least_90") == days
    assert _by_day(result, "conservation_every_line_accounted") == dict.fromkeys(days, True)
    # ...and so the instance stores it: failed on the bad day, passed on the others
    stored = {day: ["SUCCEEDED" if ok else "FAILED"] for day, ok in days.items()}
    assert stored_check_results(instance, result.run_id,
                                "cleansed/dq_partition_stats:partition_quality_score_at_least_90") == stored
    assert stored_check_results(instance, result.run_id, "cleansed/cleansed_app_events:quality_score_at_least_90") == stored
    assert score < 30
    assert quarantined == 3 * good  # rejected, not lost
    assert business_ran == 0  # enriched, fused and KPI models were never built for the run
