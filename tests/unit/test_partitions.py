from datetime import date, datetime

import pytest

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
