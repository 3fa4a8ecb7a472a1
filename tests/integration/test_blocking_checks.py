"""A partition made mostly of bad lines fails the blocking quality check, and
nothing downstream of the cleansed layer is built for it."""

from datetime import date

import pytest

from bizintel_dagster import runner, settings
from bizintel_dagster.defs.raw import landing
from bizintel_dagster.demo import generator
from tests.integration.helpers import data_dir, query

pytestmark = pytest.mark.integration

DAY = date(2026, 7, 1)


def test_a_mostly_bad_partition_blocks_its_downstream(tmp_path):
    with data_dir(tmp_path):
        generator.generate(settings.landing_dir(), start=DAY, days=1, app_events=1_500, seed=3)
        folder = landing.partition_dir(settings.landing_dir(), "app_events", DAY)
        good = sum(p.read_bytes().count(b"\n") for p in folder.glob("*.jsonl"))
        # three garbage lines for every good one: the day's score falls far below 90
        (folder / "app_events_garbage.jsonl").write_bytes(b"{not json at all\n" * (3 * good))
        definitions = runner.load_definitions()
        instance = runner.default_instance()
        assert runner.run_job(definitions, "reference_job", instance).success
        result = runner.run_job(definitions, "daily_pipeline_job", instance, DAY)
        checks = runner.check_results(result)
        business_ran = query("select count(*) from duckdb_tables() where schema_name in ('enriched', 'fused', 'kpis')")[0][0]
        score = query("select quality_score from cleansed.dq_partition_stats where source = 'app_events'")[0][0]
        quarantined = query("select count(*) from cleansed.quarantine_records where source_file = 'app_events_garbage.jsonl'")[0][0]
    assert not result.success
    assert checks["cleansed/dq_partition_stats:partition_quality_score_at_least_90"] is False
    assert checks["cleansed/cleansed_app_events:quality_score_at_least_90"] is False
    assert checks["cleansed/cleansed_location_reports:quality_score_at_least_90"] is True
    assert score < 30
    assert quarantined == 3 * good  # rejected, not lost
    assert business_ran == 0  # enriched, fused and KPI models were never built
