from datetime import date, datetime, timedelta, timezone

import dagster as dg
import pytest

from bizintel_dagster import partitions, settings
from bizintel_dagster.partitions import days_in_window, dbt_vars_for_window, window_dates


@pytest.mark.parametrize(
    "start, end, expected",
    [
        (date(2026, 6, 1), date(2026, 6, 2), {"partition_start": "2026-06-01", "partition_end": "2026-06-02"}),
        (datetime(2026, 6, 1), datetime(2026, 6, 8), {"partition_start": "2026-06-01", "partition_end": "2026-06-08"}),
        # month and year boundaries
        (date(2026, 1, 31), date(2026, 2, 1), {"partition_start": "2026-01-31", "partition_end": "2026-02-01"}),
        (date(2025, 12, 31), date(2026, 1, 2), {"partition_start": "2025-12-31", "partition_end": "2026-01-02"}),
    ],
)
def test_dbt_vars_for_window(start, end, expected):
    assert dbt_vars_for_window(start, end) == expected


@pytest.mark.parametrize(
    "start, end, days",
    [
        (date(2026, 6, 1), date(2026, 6, 2), 1),
        (date(2026, 6, 1), date(2026, 7, 1), 30),
        (date(2026, 2, 27), date(2026, 3, 2), 3),
    ],
)
def test_days_in_window(start, end, days):
    result = days_in_window(start, end)
    assert len(result) == days
    assert result[0] == start and all((b - a).days == 1 for a, b in zip(result, result[1:]))


@pytest.mark.parametrize("start, end", [(date(2026, 6, 2), date(2026, 6, 2)), (date(2026, 6, 3), date(2026, 6, 2))])
def test_empty_or_reversed_window_is_an_error(start, end):
    with pytest.raises(ValueError, match="empty partition window"):
        window_dates(start, end)


def _landing_day(landing, source: str, day: str) -> None:
    (landing / source / f"dt={day}").mkdir(parents=True)


@pytest.fixture
def landing(monkeypatch, tmp_path):
    monkeypatch.setenv("BIZINTEL_LANDING", str(tmp_path / "landing"))
    monkeypatch.delenv("BIZINTEL_START_DATE", raising=False)
    return tmp_path / "landing"


def test_start_follows_the_earliest_landing_day_when_unset(landing):
    _landing_day(landing, "billing", "2024-07-15")
    _landing_day(landing, "app_events", "2019-03-04")
    (landing / "app_events" / "dt=yesterday").mkdir()  # not a day: the sensor reports it
    assert settings.start_date() == date(2019, 3, 4)


def test_start_falls_back_on_an_empty_landing_zone(landing):
    assert settings.start_date() == settings.FALLBACK_START_DATE


def test_the_setting_wins_over_the_landing_zone(landing, monkeypatch):
    _landing_day(landing, "app_events", "2019-03-04")
    monkeypatch.setenv("BIZINTEL_START_DATE", "2021-02-03")
    assert settings.start_date() == date(2021, 2, 3)
    monkeypatch.setenv("BIZINTEL_START_DATE", "03/02/2021")
    with pytest.raises(ValueError, match="BIZINTEL_START_DATE='03/02/2021' is not a date"):
        settings.start_date()


def test_days_outside_the_partitions_name_the_setting_and_the_value():
    assert partitions.uncovered_days_problem(partitions.first_day(), partitions.first_day()) is None
    early = partitions.first_day() - timedelta(days=400)
    problem = partitions.uncovered_days_problem(early, partitions.first_day())
    assert f"set BIZINTEL_START_DATE={early}" in problem
    today = partitions.last_day() + timedelta(days=1)  # not complete yet: not a partition
    assert "after the last daily partition" in partitions.uncovered_days_problem(partitions.first_day(), today)
    assert partitions.uncovered_days_problem(partitions.first_day(), today - timedelta(days=1)) is None


UTC = timezone.utc


@pytest.mark.parametrize(
    "zone, now, expected",
    [
        # West of UTC (EDT, UTC-4): 03:59 UTC on 10 June is still 9 June in New York.
        ("America/New_York", datetime(2026, 6, 10, 3, 59, 59, tzinfo=UTC), date(2026, 6, 8)),
        ("America/New_York", datetime(2026, 6, 10, 4, 0, 0, tzinfo=UTC), date(2026, 6, 9)),
        # ... and across the spring-forward night (EST, UTC-5, before it).
        ("America/New_York", datetime(2026, 3, 8, 4, 59, 59, tzinfo=UTC), date(2026, 3, 6)),
        ("America/New_York", datetime(2026, 3, 8, 5, 0, 0, tzinfo=UTC), date(2026, 3, 7)),
        # East of UTC (NZST, UTC+12): 12:00 UTC on 10 June is already 11 June in Auckland.
        ("Pacific/Auckland", datetime(2026, 6, 10, 11, 59, 59, tzinfo=UTC), date(2026, 6, 9)),
        ("Pacific/Auckland", datetime(2026, 6, 10, 12, 0, 0, tzinfo=UTC), date(2026, 6, 10)),
        # NZDT (UTC+13) in January: local midnight is 11:00 UTC the day before.
        ("Pacific/Auckland", datetime(2026, 1, 14, 10, 59, 59, tzinfo=UTC), date(2026, 1, 13)),
        ("Pacific/Auckland", datetime(2026, 1, 14, 11, 0, 0, tzinfo=UTC), date(2026, 1, 14)),
    ],
)
def test_last_day_is_the_last_complete_business_day_and_dagsters_last_partition(zone, now, expected):
    assert partitions.last_day(now, timezone=zone) == expected
    # The same clock through Dagster's partition clock, and Dagster's own last
    # partition of the same definition agrees: the rule lives once.
    with dg.partition_loading_context(effective_dt=now):
        assert partitions.last_day(timezone=zone) == expected
        defn = partitions.daily_partitions_in(zone, date(2025, 12, 1))
        assert defn.get_last_partition_key() == expected.isoformat()
        assert not defn.has_partition_key((expected + timedelta(days=1)).isoformat())


def test_last_day_refuses_a_naive_time():
    with pytest.raises(ValueError, match="aware"):
        partitions.last_day(datetime(2026, 6, 10, 12, 0))
