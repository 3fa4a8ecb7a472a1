"""Volume anomaly checks on a real ranged run of the raw layer: each day of the
window gets its own warn-level result, judged against the same weekday of the
weeks before it. A day that landed a tenth of its usual lines fails low, the
generator's service-error spike day fails high, the ordinary day passes."""

from datetime import date, timedelta

import dagster as dg
import pytest

from bizintel_dagster import runner, settings
from bizintel_dagster.defs.quality import volume
from bizintel_dagster.defs.raw import landing
from bizintel_dagster.defs.raw.assets import raw_landing
from bizintel_dagster.defs.resources import resources
from bizintel_dagster.demo import generator
from bizintel_dagster.partitions import daily_partitions
from tests.integration.helpers import data_dir

pytestmark = pytest.mark.integration

FIRST = date(2026, 6, 1)
DAYS = 7 * volume.MIN_BASELINE_DAYS + 3  # the last three days have a full baseline
TRUNCATED = FIRST + timedelta(days=DAYS - 2)


def _truncate_to_a_tenth(folder) -> None:
    for path in folder.glob("*.jsonl"):
        lines = path.read_bytes().splitlines(keepends=True)
        path.write_bytes(b"".join(lines[: max(1, len(lines) // 10)]))


def _raw_only() -> dg.Definitions:
    job = dg.define_asset_job("raw_volume_job", selection=dg.AssetSelection.groups("raw"), partitions_def=daily_partitions)
    return dg.Definitions(assets=[raw_landing], asset_checks=volume.volume_checks, jobs=[job], resources=resources().resources)


def test_each_day_is_judged_against_its_weekdays_and_a_short_day_fails_alone(tmp_path):
    last = FIRST + timedelta(days=DAYS - 1)
    with data_dir(tmp_path):
        summary = generator.generate(settings.landing_dir(), start=FIRST, days=DAYS, app_events=800, seed=11)
        _truncate_to_a_tenth(landing.partition_dir(settings.landing_dir(), "app_events", TRUNCATED))
        settings.warehouse_path().parent.mkdir(parents=True)  # the reference load makes it in a full run
        result = runner.run_job(_raw_only(), "raw_volume_job", dg.DagsterInstance.ephemeral(), FIRST, last)
    assert result.success
    evaluations = {
        (e.asset_key.path[-1], e.partition): e
        for e in result.get_asset_check_evaluations()
        if e.check_name == volume.CHECK_NAME
    }
    days = [(FIRST + timedelta(days=i)).isoformat() for i in range(DAYS)]
    # one result per source and day of the ranged run, each on its own partition
    assert set(evaluations) == {(source, day) for source in landing.SOURCES for day in days}
    assert all(e.severity == dg.AssetCheckSeverity.WARN for e in evaluations.values())

    short = evaluations[("app_events", TRUNCATED.isoformat())]
    assert not short.passed
    low, high = short.metadata["expected_min"].value, short.metadata["expected_max"].value
    assert short.metadata["observed_lines"].value < low < high
    assert short.metadata["baseline_days"].value == volume.MIN_BASELINE_DAYS

    judged = [day for day in days if evaluations[("app_events", day)].metadata["judged"].value]
    assert judged == days[-3:]  # earlier days have too few same weekdays before them
    spike_day = summary["spikes"]["service_error"]["date"]
    assert spike_day in judged and spike_day != TRUNCATED.isoformat()
    spike = evaluations[("app_events", spike_day)]
    assert not spike.passed
    assert spike.metadata["observed_lines"].value > spike.metadata["expected_max"].value
    (ordinary,) = set(judged) - {spike_day, TRUNCATED.isoformat()}
    usual = evaluations[("app_events", ordinary)]
    assert usual.passed, usual.metadata
    assert usual.metadata["expected_min"].value <= usual.metadata["observed_lines"].value <= usual.metadata["expected_max"].value
    assert all(evaluations[("app_events", day)].passed for day in days if day not in judged)
    # the other sources landed as usual that day
    for source in set(landing.SOURCES) - {"app_events"}:
        assert evaluations[(source, TRUNCATED.isoformat())].passed, source
