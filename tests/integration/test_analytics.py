"""Materialize the daily pipeline and the unpartitioned analytics (KPI roll-ups,
subscriptions, cohorts, customers, experiments) on three months of generated data and hold
the marts to their promises: the MRR identity every month, MRR equal to the
invoices it comes from, cohorts without gaps, sane experiment statistics, and the
analysts' one-query answers in the published copy."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

import pytest

from bizintel_dagster import runner, settings
from bizintel_dagster.demo import generator
from tests.integration.helpers import data_dir, query

pytestmark = pytest.mark.integration

START = date(2026, 4, 1)   # invoices are issued on the 1st: start on one
DAYS = 62                  # April, May and 1 June: three billing months
LAST = START + timedelta(days=DAYS - 1)


@pytest.fixture(scope="module")
def analytics(tmp_path_factory):
    root = tmp_path_factory.mktemp("analytics")
    with data_dir(root):
        generator.generate(settings.landing_dir(), start=START, days=DAYS, app_events=40_000, seed=7)
        definitions = runner.load_definitions()
        instance = runner.default_instance()
        results = {
            "reference": runner.run_job(definitions, "reference_job", instance, log_level="WARNING"),
            "daily": runner.run_job(definitions, "daily_pipeline_job", instance, START, LAST, log_level="WARNING"),
            "analytics": runner.run_job(definitions, "analytics_job", instance, log_level="WARNING"),
            "publish": runner.run_job(definitions, "publish_job", instance, log_level="WARNING"),
        }
        yield {"root": root, "results": results}


def test_analytics_job_succeeds_with_every_check_green(analytics):
    for name, result in analytics["results"].items():
        assert result.success, f"{name} failed"
    checks = runner.check_results(analytics["results"]["analytics"])
    assert not [name for name, ok in checks.items() if not ok]
    for expected in ("subscriptions/mrr_monthly:mrr_start_plus_movements_equals_end",
                     "subscriptions/mrr_monthly:assert_mrr_months_chain",
                     "cohorts/cohort_retention:cohort_months_have_no_gaps",
                     "experiments/experiment_results:no_sample_ratio_mismatch"):
        assert expected in checks, f"{expected} was not evaluated"
    materialized = {e.materialization.asset_key.to_user_string(): e.materialization.metadata
                    for e in analytics["results"]["analytics"].get_asset_materialization_events()}
    assert materialized["subscriptions/mrr_monthly"]["mrr_minor"].value > 0
    assert "preview" in materialized["experiments/experiment_results"]


def test_mrr_identity_holds_every_month(analytics):
    with data_dir(analytics["root"]):
        months = query("""select month_start, start_mrr_minor, opening_mrr_minor, new_mrr_minor, reactivated_mrr_minor,
                                 expansion_mrr_minor, contraction_mrr_minor, churned_mrr_minor, end_mrr_minor, nrr, grr
                          from subscriptions.mrr_monthly order by month_start""")
        per_account = dict(query("select month_start, sum(mrr_minor) from subscriptions.mrr_account_monthly group by 1"))
    assert [m[0] for m in months] == [date(2026, 4, 1), date(2026, 5, 1), date(2026, 6, 1)]
    previous_end = 0
    for month, start, opening, new, reactivated, expansion, contraction, churned, end, nrr, grr in months:
        assert start == previous_end, month
        assert start + opening + new + reactivated + expansion - contraction - churned == end, month
        assert per_account[month] == end, month
        previous_end = end
    assert months[0][2] == months[0][8] > 0        # the first month is all opening balance
    assert any(m[6] or m[7] for m in months[1:])   # the demo subscriptions do move
    for month in months[1:]:
        assert 0 < month[10] <= 1 and month[9] >= month[10]  # GRR <= 1, NRR >= GRR


def test_mrr_equals_the_invoices_spread_over_their_service_months(analytics):
    """Independent of the SQL: every non-void invoice, amount / months covered
    (half up), in each month of its period within the billing months."""
    with data_dir(analytics["root"]):
        invoices = query("""select account_id, billing_period, period_start_date, period_end_date, amount_reporting_minor
                            from enriched.enriched_billing
                            where record_type = 'subscription_invoice' and billing_status <> 'void'
                              and account_id is not null and period_start_date is not null""")
        got = dict(query("select month_start, end_mrr_minor from subscriptions.mrr_monthly"))
    expected = defaultdict(int)
    for _, period, start, end, amount in invoices:
        months = {"monthly": 1, "annual": 12}.get(period) or max(
            1, (end + timedelta(days=1)).year * 12 + (end + timedelta(days=1)).month - start.year * 12 - start.month)
        for i in range(months):
            index = start.year * 12 + start.month - 1 + i
            month = date(index // 12, index % 12 + 1, 1)
            if month in got:
                expected[month] += (amount * 2 + months) // (months * 2)
    assert any(period == "annual" for _, period, *_ in invoices)
    assert {m: expected[m] for m in got} == got


def test_cohorts_have_a_row_for_every_month_and_sane_rates(analytics):
    with data_dir(analytics["root"]):
        rows = query("""select cohort_month, months_since_signup, activity_month, cohort_users, active_users,
                               user_retention_rate, revenue_minor, cumulative_revenue_minor
                        from cohorts.cohort_retention order by 1, 2""")
        last_month = query("select max(date_trunc('month', partition_date))::date from enriched.enriched_app_events")[0][0]
        signups = dict(query("select date_trunc('month', signup_date)::date, count(*) from enriched.dim_users group by 1"))
    by_cohort = defaultdict(list)
    for row in rows:
        by_cohort[row[0]].append(row)
    assert set(by_cohort) == set(signups)
    for cohort, cohort_rows in by_cohort.items():
        assert [r[1] for r in cohort_rows] == list(range(len(cohort_rows)))  # 0, 1, 2, ... no gaps
        assert cohort_rows[-1][2] == last_month
        assert cohort_rows[0][5] == 1.0                                      # sign-up is activity
        assert all(r[3] == signups[cohort] and 0 <= r[5] <= 1 for r in cohort_rows)
        running = 0
        for r in cohort_rows:
            running += r[6]
            assert r[7] == running  # cumulative revenue (LTV numerator) is the running sum
    assert len(by_cohort) >= 2 and max(len(v) for v in by_cohort.values()) >= 3


def test_experiment_statistics_are_sane_and_the_better_treatment_wins(analytics):
    with data_dir(analytics["root"]):
        rows = query("""select experiment_id, variant, is_control, exposed_users, converted_users, conversion_rate,
                               absolute_lift, relative_lift, p_value, lift_ci_low, lift_ci_high, srm_detected,
                               required_sample_size_per_variant
                        from experiments.experiment_results order by 1, 2""")
        exposed = dict(query("""select experiment_id || '/' || variant, count(distinct user_key)
                                from enriched.enriched_app_events where event_type = 'experiment_exposure'
                                group by 1"""))
    assert {(r[0], r[1]) for r in rows} == {(e, v) for e, *_ in generator.EXPERIMENTS for v in generator.VARIANTS}
    for (experiment, variant, is_control, n, c, rate, lift, rel, p, low, high, srm, needed) in rows:
        assert n == exposed[f"{experiment}/{variant}"]  # no user is in two variants in the demo data
        assert 0 <= c <= n and rate == pytest.approx(c / n)
        assert not srm
        assert needed > 0
        if is_control:
            assert lift is None and p is None
        else:
            assert 0 <= p <= 1 and low <= lift <= high
    control, treatment = (r for r in rows if r[0] == "exp_checkout_cta")
    assert treatment[5] > control[5] and treatment[7] > 0   # the generator's better CTA


def test_daily_kpis_roll_ups_and_missing_dates(analytics):
    with data_dir(analytics["root"]):
        daily = query("""select count(*), count(*) filter (where dau <= wau and wau <= mau),
                                sum(abuse_flags), sum(service_errors), sum(churned_users)
                         from kpis.kpi_daily""")[0]
        hourly = query("select count(*), sum(abuse_flags), sum(service_errors) from kpis.kpi_hourly_operations")[0]
        events = query("""select count(*) filter (where event_type = 'abuse_flag'),
                                 count(*) filter (where event_type = 'service_error')
                          from enriched.enriched_app_events""")[0]
        months = query("""select r.period_start, r.revenue_total_minor, sum(d.revenue_total_minor)
                          from kpis.kpi_period_rollups r
                          join kpis.kpi_daily d on date_trunc('month', d.metric_date) = r.period_start
                          where r.period = 'month' group by all""")
        missing = query("select count(*) from kpis.kpi_missing_dates")[0][0]
    assert daily[0] == DAYS and daily[1] == DAYS
    assert hourly == (DAYS * 24, daily[2], daily[3]) and (daily[2], daily[3]) == events
    assert daily[4] > 0  # users do go quiet for 30 days in two months
    assert len(months) == 3 and all(rollup == total for _, rollup, total in months)
    assert missing == 0


def test_analysts_answer_nrr_and_best_cohort_with_one_query_each(analytics):
    with data_dir(analytics["root"]):
        analytics_copy = settings.analytics_path()
        nrr = query("""select nrr from subscriptions.mrr_monthly
                       where month_start = date '2026-06-01' - interval 1 month""", path=analytics_copy)
        best = query("""select cohort_month, user_retention_rate from cohorts.cohort_retention
                        where months_since_signup = 1 and is_complete_month
                        order by user_retention_rate desc limit 1""", path=analytics_copy)
        experiments = query("select count(*) from experiments.experiment_results", path=analytics_copy)[0][0]
    assert nrr and 0 < nrr[0][0] < 2
    assert best and 0 <= best[0][1] <= 1
    assert experiments == 6


def test_customers_scores_segments_and_concentration(analytics):
    with data_dir(analytics["root"]):
        scorecard = query("""select count(*), count(distinct account_id), min(activity_score), max(activity_score),
                                    count(*) filter (where activity_level not in ('Active', 'Medium', 'Low', 'Dormant')),
                                    count(*) filter (where is_top_20_percent)
                             from customers.account_scorecard""")[0]
        accounts = query("select count(*) from enriched.dim_accounts where account_level <> 'group'")[0][0]
        segments = query("select count(*), min(k), max(k), count(distinct kmeans_segment) from customers.account_kmeans_segments")[0]
        share = query("select top_20_percent_revenue_share from customers.revenue_concentration where scope = 'all'")[0][0]
    materialized = {e.materialization.asset_key.to_user_string(): e.materialization.metadata
                    for e in analytics["results"]["analytics"].get_asset_materialization_events()}
    assert scorecard[0] == scorecard[1] == accounts
    assert 0 <= scorecard[2] <= scorecard[3] <= 100 and scorecard[4] == 0 and scorecard[5] > 0
    assert segments[0] == accounts and segments[1] == segments[2] == segments[3] >= 2
    assert 0.2 <= share <= 1  # the top fifth brings at least a fifth of the revenue
    meta = materialized["customers/account_kmeans_segments"]
    assert meta["k"].value == segments[1] and str(segments[1]) in meta["silhouette_by_k"].value
