"""Runs the dbt unit tests (quality rules, zone detection, FX and minor units,
the seed-000 value formula, the KPI / MRR / cohort / experiment formulas) with
real dbt on DuckDB. dbt needs the upstream relations to exist for their column
types, so they are created empty first.

They run once per business time zone west and east of UTC (half-hour offset and
southern-hemisphere DST included): a unit test whose expectation depends on the
zone must pin it (``overrides: vars: business_timezone``), otherwise it fails in
another zone and no KPI is built there."""

import json

import pytest

from tests.unit.dbt_build import build_empty, dbt

# The formulas this suite must always pin; every other unit test in the
# manifest must run and pass too.
CORE_UNIT_TESTS = {
    "seed_000_deductions_one_rule_at_a_time",
    "duplicates_and_conflicting_ids",
    "zone_detection_edges_and_overlaps",
    "fx_to_reporting_minor_units",
    "fx_triangulated_to_usd_reporting",
    "seed_000_attributed_value",
    "app_event_rules_one_at_a_time",
    # records that break the contract: cross-day ids, money bound, billing periods, strict timestamps, duplicate keys
    "ids_accepted_on_one_day_only",
    "refunds_checked_against_their_purchases",
    "billing_period_status_and_money_rules",
    "strict_timestamps_and_duplicate_json_keys",
    # daily KPIs, roll-ups and missing dates
    "active_users_rolling_windows_and_churn",
    "funnel_counts_users_who_did_every_earlier_step",
    "operations_per_business_local_hour",
    "growth_vs_previous_day_week_and_month",
    "period_rollups_count_distinct_users_over_the_period",
    # money sums: an overflowed or unknown total is NULL and flagged, never 0 or an error
    "money_totals_overflowed_or_unknown_are_null_never_zero",
    "kpi_daily_flags_unknown_money_totals",
    "cohort_revenue_near_the_bigint_bound_is_null_not_an_error",
    "revenue_concentration_near_the_bigint_bound",
    "missing_dates_between_first_and_last_day",
    # subscriptions, cohorts, experiments
    "mrr_spread_and_movements_per_account",
    "mrr_monthly_saas_metrics",
    "cohort_retention_revenue_and_ltv",
    "experiment_counts_assignment_and_conversion_order",
    # customers (seed 004)
    "seed_004_activity_score_components_and_trend",
    "scorecard_rankings_pareto_and_churn_risk",
    "churn_risk_rises_with_inactivity_and_ranks_by_mrr_at_risk",
    "revenue_concentration_top_20_percent",
    # segments: user attributes from the activity macro, the revenue fact and the window var
    "user_attributes_read_activity_revenue_and_the_window",
}


# West of UTC, UTC itself, a half-hour offset, and DST in the southern hemisphere.
BUSINESS_ZONES = ("America/New_York", "UTC", "Asia/Kolkata", "Pacific/Auckland")


def _unit_tests_reading_the_zone(manifest: dict) -> dict[str, bool]:
    """Unit test -> whether it pins business_timezone, for every unit test whose
    model's SQL reads the business zone (directly or through local_date())."""
    models = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    out = {}
    for test in manifest["unit_tests"].values():
        code = models[test["model"]]["raw_code"]
        if "business_timezone" in code or "local_date(" in code:
            out[test["name"]] = "business_timezone" in (test.get("overrides") or {}).get("vars", {})
    return out


@pytest.fixture(scope="module")
def empty_warehouse(tmp_path_factory):
    """Seeds and every model built empty, once for all zones."""
    warehouse, _ = build_empty(tmp_path_factory.mktemp("dbt-unit"))
    return warehouse


@pytest.mark.parametrize("zone", BUSINESS_ZONES)
def test_dbt_unit_tests_pass(empty_warehouse, tmp_path, monkeypatch, zone):
    monkeypatch.setenv("BIZINTEL_WAREHOUSE", str(empty_warehouse))
    monkeypatch.setenv("BIZINTEL_TIMEZONE", zone)
    target = tmp_path / "dbt_target"
    # The daily pipeline's `dbt build` runs the unit tests with the run's window:
    # a unit test of a windowed model must pin the window its rows need, so they
    # run here with a window no fixture uses.
    window = json.dumps({"partition_start": "2031-01-01", "partition_end": "2031-01-02"})
    tested = dbt("test", "--select", "test_type:unit", "--vars", window, target=target)
    assert tested.returncode == 0, tested.stdout[-5000:]
    results = json.loads((target / "run_results.json").read_text())["results"]
    ran = {r["unique_id"].split(".")[-1]: r["status"] for r in results}
    manifest = json.loads((target / "manifest.json").read_text())
    defined = {u["name"] for u in manifest["unit_tests"].values()}
    assert CORE_UNIT_TESTS <= defined, f"core unit tests missing: {CORE_UNIT_TESTS - defined}"
    assert set(ran) == defined, f"defined but not run: {defined - set(ran)}"
    assert all(status == "pass" for status in ran.values()), ran
    reading = _unit_tests_reading_the_zone(manifest)
    assert reading, "no unit test covers a model that reads the business time zone"
    assert all(reading.values()), f"unit tests that depend on the zone without pinning it: {reading}"

