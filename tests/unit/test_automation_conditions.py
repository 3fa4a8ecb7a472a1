"""Declarative automation on the real graph, evaluated the way the daemon's
automation-condition sensor evaluates it (``dg.evaluate_automation_conditions``
over a real instance whose event log holds the materializations of a daily
load): the marts (once their inputs exist) and the analysts' copy follow their
inputs, the forecasts wait for their hour and then for the day's KPIs, nothing
else is automated, and the sensor starts like every bizintel sensor."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from bizintel_dagster import runner, settings
from bizintel_dagster.defs import jobs
from bizintel_dagster.defs.automation import conditions, sensors

KPI_DAILY = dg.AssetKey(["kpis", "kpi_daily"])
# What one day's load materializes that the downstream layers read.
LOADED = (KPI_DAILY, dg.AssetKey(["fused", "fct_revenue"]), dg.AssetKey(["enriched", "enriched_app_events"]),
          dg.AssetKey(["enriched", "enriched_billing"]), dg.AssetKey(["enriched", "dim_users"]))
FORECASTS = {dg.AssetKey(["forecasts", name]) for name in ("daily_forecasts", "backtest", "forecast_accuracy",
                                                           "forecast_status")}
PUBLISH = dg.AssetKey(["analytics", "analytics_warehouse"])


def _requested(result, graph) -> set[dg.AssetKey]:
    return {key for key in graph.get_all_asset_keys() if result.get_num_requested(key)}


def _materialize(instance, graph, keys, day: str) -> None:
    """Materializations as the instance records them (the layers that make them are
    not under test): ``day`` of a partitioned asset, the whole of an unpartitioned one."""
    for key in keys:
        partition = day if graph.get(key).partitions_def else None
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key, partition=partition))


def _evening_before_yesterday():
    """Midnight starting yesterday (business time zone) and the day loaded then."""
    tz = ZoneInfo(settings.timezone())
    today = datetime.now(tz).date()
    midnight = datetime(today.year, today.month, today.day, tzinfo=tz) - timedelta(days=1)
    return midnight, (midnight.date() - timedelta(days=2)).isoformat()


def test_a_first_load_that_stopped_before_the_business_layer_starts_no_mart_over_missing_tables():
    """A fresh warehouse whose first daily run built the seeds, the cleansed layer
    and the dimensions, then failed in the business step: the marts that read the
    dimensions would read enriched tables that do not exist, so they wait; the
    analysts' copy publishes what there is."""
    definitions = runner.load_definitions()
    graph = definitions.resolve_asset_graph()
    midnight, day = _evening_before_yesterday()
    built = (dg.AssetSelection.groups("reference", "raw", "cleansed")
             | dg.AssetSelection.assets(dg.AssetKey(["enriched", "dim_users"]), dg.AssetKey(["enriched", "dim_accounts"])))
    with dg.instance_for_test() as instance:
        first = dg.evaluate_automation_conditions(defs=definitions, instance=instance,
                                                  evaluation_time=midnight + timedelta(minutes=10))
        _materialize(instance, graph, built.resolve(graph), day)
        tick = dg.evaluate_automation_conditions(defs=definitions, instance=instance, cursor=first.cursor,
                                                 evaluation_time=midnight + timedelta(minutes=20))
        assert _requested(tick, graph) == {PUBLISH}


def test_marts_and_publish_follow_a_load_and_forecasts_wait_for_their_hour_and_the_days_kpis():
    definitions = runner.load_definitions()
    graph = definitions.resolve_asset_graph()
    midnight, day = _evening_before_yesterday()
    forecast_hour = int(conditions.cron_for("daily_forecast").split()[1])

    def at(hour: int, minute: int) -> datetime:
        return midnight + timedelta(hours=hour, minutes=minute)

    with dg.instance_for_test() as instance:
        def tick(when: datetime, cursor=None):
            return dg.evaluate_automation_conditions(defs=definitions, instance=instance, evaluation_time=when,
                                                     cursor=cursor)

        # A warehouse built before automation was switched on: switching it on builds nothing.
        _materialize(instance, graph, dg.AssetSelection.groups("reference", *jobs.DAILY_GROUPS).resolve(graph), day)
        first = tick(at(forecast_hour - 1, 0))
        assert first.total_requested == 0

        _materialize(instance, graph, LOADED, day)
        after_load = tick(at(forecast_hour - 1, 10), first.cursor)
        requested = _requested(after_load, graph)
        marts = {key for key in dg.AssetSelection.assets(*LOADED).downstream().resolve(graph)
                 if graph.get(key).group_name in jobs.ANALYTICS_GROUPS}
        assert requested == marts | {PUBLISH}
        for key in ("subscriptions/mrr_account_monthly", "subscriptions/mrr_monthly", "cohorts/cohort_retention",
                    "kpis/kpi_period_rollups", "customers/account_kmeans_segments", "segments/segment_membership"):
            assert dg.AssetKey.from_user_string(key) in requested, key  # mrr_monthly: two hops, one tick
        # before the forecast hour: no forecast; never a daily layer, a report or an alert
        assert not requested & FORECASTS
        assert not {k for k in requested if graph.get(k).partitions_def or k.path[0] in ("reports", "alerts")}

        # Requested once: nothing new, nothing more.
        assert tick(at(forecast_hour - 1, 20), after_load.cursor).total_requested == 0
        # The forecast hour passes: the forecasts wait for inputs updated since then.
        at_hour = tick(at(forecast_hour, 5), after_load.cursor)
        assert not _requested(at_hour, graph) & FORECASTS
        _materialize(instance, graph, LOADED, day)  # the day's rollup, after the forecast hour
        after_rollup = tick(at(forecast_hour + 1, 10), at_hour.cursor)
        assert FORECASTS <= _requested(after_rollup, graph)
        # once a day: a later load the same day re-runs the marts, not the forecasts
        quiet = tick(at(forecast_hour + 1, 20), after_rollup.cursor)
        assert quiet.total_requested == 0
        _materialize(instance, graph, LOADED, day)
        again = tick(at(forecast_hour + 2, 0), quiet.cursor)
        assert PUBLISH in _requested(again, graph) and not _requested(again, graph) & FORECASTS


def test_one_automation_sensor_evaluates_every_condition_and_starts_as_the_setting_says():
    repo = runner.load_definitions().get_repository_def()
    automation = [s for s in repo.sensor_defs if isinstance(s, dg.AutomationConditionSensorDefinition)]
    # ours only: Dagster adds its own default sensor (stopped whatever bizintel's setting)
    # for any condition ours does not target
    assert [s.name for s in automation] == [sensors.automation_sensor.name]
    assert automation[0].default_status == dg.DefaultSensorStatus.STOPPED  # the tests' default, like the others
    script = ("from bizintel_dagster.definitions import defs\n"
              "print(sorted({s.default_status.value for s in defs().get_repository_def().sensor_defs}))")
    env = {**os.environ, "BIZINTEL_AUTOMATION_DEFAULT_STATUS": "running"}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True,
                         timeout=600)
    assert out.stdout.strip() == "['RUNNING']"  # every sensor, the automation one included
