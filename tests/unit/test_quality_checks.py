"""kpi_daily:money_totals_known fails on a day whose money total is unknown
(overflowed BIGINT, NULL in kpi_daily and
flagged money_total_unknown by dbt) and names the day and the totals; a day with
known totals, or without a kpi_daily row, passes. The flag's SQL is pinned by
the dbt unit tests kpi_daily_flags_unknown_money_totals and
money_totals_overflowed_or_unknown_are_null_never_zero."""

from datetime import date

import duckdb

from bizintel_dagster.defs.quality.checks import MONEY_TOTALS, money_total_results


def _kpi_daily(rows):
    con = duckdb.connect()
    con.execute("create schema kpis")
    columns = ", ".join(f"{c} bigint" for c in MONEY_TOTALS)
    con.execute(f"create table kpis.kpi_daily (partition_date date, money_total_unknown boolean, {columns})")
    for day, flagged, values in rows:
        con.execute("insert into kpis.kpi_daily values (?, ?, ?, ?, ?, ?, ?)", [day, flagged, *values])
    return con


def test_an_unknown_total_fails_its_day_and_names_it():
    con = _kpi_daily([
        (date(2026, 6, 1), True, [None, None, 700, 0, 0]),
        (date(2026, 6, 2), False, [0, 0, 0, 0, 0]),
        (date(2026, 6, 3), True, [500, 500, 0, 0, None]),
        (date(2026, 6, 9), True, [None, None, 0, 0, 0]),  # outside the window
    ])
    keys = ["2026-06-01", "2026-06-02", "2026-06-03", "2026-06-04"]
    results = money_total_results(con, date(2026, 6, 1), date(2026, 6, 5), keys)
    assert set(results) == set(keys)
    assert not results["2026-06-01"].passed
    problem = results["2026-06-01"].metadata["problem"]
    assert problem.startswith("2026-06-01: revenue_total_minor, revenue_consumer_minor unknown")
    assert "not 0" in problem
    assert results["2026-06-01"].metadata["unknown_totals"] == 2
    assert not results["2026-06-03"].passed
    assert "sponsor_value_minor" in results["2026-06-03"].metadata["problem"]
    assert results["2026-06-02"].passed and "problem" not in results["2026-06-02"].metadata
    assert results["2026-06-04"].passed  # no kpi_daily row: nothing unknown
