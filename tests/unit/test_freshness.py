"""Every asset of a group with a cadence carries that group's freshness policy
(dbt models through the translator, Python assets through their specs), and each
scheduled deadline falls after its schedule's tick."""

from datetime import timedelta

from bizintel_dagster import runner
from bizintel_dagster.defs import freshness
from bizintel_dagster.defs.automation.schedules import cron_for


def test_each_asset_carries_its_groups_policy():
    graph = runner.load_definitions().get_repository_def().asset_graph
    policies = freshness.freshness_policies()
    seen = set()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if node.is_external:
            continue
        assert node.freshness_policy == policies.get(node.group_name), key.to_user_string()
        if node.freshness_policy:
            seen.add(node.group_name)
    assert seen == set(policies)  # no policy for a group that does not exist


def test_daily_layers_warn_before_they_fail_a_day_after_the_load():
    policy = freshness.freshness_policies()["kpis"]
    warn, fail = policy.warn_window.to_timedelta(), policy.fail_window.to_timedelta()
    assert timedelta(days=1) < warn < fail < timedelta(days=2)


def test_the_marts_and_forecasts_that_follow_the_daily_load_are_as_fresh_as_it():
    policies = freshness.freshness_policies()
    for group in ("cohorts", "subscriptions", "kpi_rollups", "segments", "forecasts"):
        assert policies[group] == policies["kpis"], group


def test_scheduled_deadlines_follow_their_ticks():
    for group, schedule in (("reports", "weekly_report"),):
        policy = freshness.freshness_policies()[group]
        minute, hour, *rest = cron_for(schedule).split()
        d_minute, d_hour, *d_rest = policy.deadline_cron.split()
        assert (d_minute, d_rest) == (minute, rest)
        assert int(hour) < int(d_hour) <= 23
