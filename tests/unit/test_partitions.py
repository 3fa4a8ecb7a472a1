from datetime import date, datetime, timedelta

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
    late = date.fromisoformat(partitions.daily_partitions.get_last_partition_key()) + timedelta(days=1)
    assert "after the last daily partition" in partitions.uncovered_days_problem(partitions.first_day(), late)
