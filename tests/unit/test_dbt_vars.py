"""The quality bar is one dbt var (dbt_project.yml `quality_bar`) that the checks
judge with: a day exactly at the bar passes, just below it fails, and the checks'
names say the bar."""

from __future__ import annotations

from datetime import date

import pytest

from bizintel_dagster import dbt_vars
from bizintel_dagster.defs.quality import checks


def test_checks_judge_with_the_dbt_var_and_name_it():
    bar = dbt_vars.quality_bar()
    assert bar == 90  # seed 000: data integrity 90 %+
    assert checks.MIN_QUALITY_SCORE == bar
    results = checks._score_results(
        ["2026-06-01", "2026-06-02", "2026-06-03"],
        [(date(2026, 6, 1), bar, 100), (date(2026, 6, 2), bar - 0.01, 100)])
    assert results["2026-06-01"].passed and not results["2026-06-02"].passed
    assert results["2026-06-03"].passed and results["2026-06-03"].metadata["judged"] is False  # no lines
    assert results["2026-06-02"].metadata["threshold"] == bar
    names = {spec.name for spec in checks.partition_quality_check.check_specs}
    assert names == {f"partition_quality_score_at_least_{bar}"}


@pytest.mark.parametrize("value", ["90", None, True, -1, 101])
def test_a_bad_quality_bar_is_refused(monkeypatch, value):
    monkeypatch.setattr(dbt_vars, "_vars", lambda: {"quality_bar": value})
    with pytest.raises(ValueError, match="quality_bar"):
        dbt_vars.quality_bar()


def test_a_missing_var_names_the_file(monkeypatch):
    monkeypatch.setattr(dbt_vars, "_vars", lambda: {})
    with pytest.raises(KeyError, match="dbt_project.yml"):
        dbt_vars.quality_bar()
