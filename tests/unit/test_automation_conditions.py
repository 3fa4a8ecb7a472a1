"""Declarative automation on the real graph, evaluated the way the daemon's
automation-condition sensor evaluates it (``dg.evaluate_automation_conditions``
over a real instance whose event log holds the materializations of a daily
load): the marts and the analysts' copy follow their inputs, the forecasts wait
for their hour and then for the day's KPIs, nothing else is automated, and the
sensor starts like every bizintel sensor."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from bizintel_dagster import runner, settings
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


def _load(instance, day: str) -> None:
    """The day's load as the instance records it (the layers below are not under test)."""
    for key in LOADED:
        partition = None if key.path[-1] == "dim_users" else day
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key, partition=partition))


def test_marts_and_publish_follow_a_load_and_forecasts_wait_for_their_hour_and_the_days_kpis():
    definitions = runner.load_definitions()
    graph = definitions.resolve_asset_graph()
    tz = ZoneInfo(settings.timezone())
    today = datetime.now(tz).date()
    evening = datetime(today.year, today.month, today.day, tzinfo=tz) - timedelta(days=1)  # yesterday 00:00
    day = (evening.date() - timedelta(days=2)).isoformat()
    forecast_hour = int(conditions.cron_for("daily_forecast").split()[1])

    def at(hour: int, minute: int) -> datetime:
        return evening + timedelta(hours=hour, minutes=minute)

    with dg.instance_for_test() as instance:
        def tick(when: datetime, cursor=None):
            return dg.evaluate_automation_conditions(defs=definitions, instance=instance, evaluation_time=when,
                                                     cursor=cursor)

        # Switching automation on builds nothing by itself.
        first = tick(at(forecast_hour - 1, 0))
        assert first.total_requested == 0

        _load(instance, day)
        after_load = tick(at(forecast_hour - 1, 10), first.cursor)
        requested = _requested(after_load, graph)
        followers = {key for key in dg.AssetSelection.assets(*LOADED).downstream().resolve(graph)
                     if graph.get(key).automation_condition == conditions.follow_inputs()}
        assert requested == followers
        for key in ("subscriptions/mrr_account_monthly", "subscriptions/mrr_monthly", "cohorts/cohort_retention",
                    "kpis/kpi_period_rollups", "customers/account_kmeans_segments", "segments/segment_membership"):
            assert dg.AssetKey.from_user_string(key) in requested, key  # mrr_monthly: two hops, one tick
        assert PUBLISH in requested
        # before the forecast hour: no forecast; never a daily layer, a report or an alert
        assert not requested & FORECASTS
        assert not {k for k in requested if graph.get(k).partitions_def or k.path[0] in ("reports", "alerts")}

        # Requested once: nothing new, nothing more.
        assert tick(at(forecast_hour - 1, 20), after_load.cursor).total_requested == 0
        # The forecast hour passes: the forecasts wait for inputs updated since then.
        at_hour = tick(at(forecast_hour, 5), after_load.cursor)
        assert not _requested(at_hour, graph) & FORECASTS
        _load(instance, day)  # the day's rollup, after the forecast hour
        after_rollup = tick(at(forecast_hour + 1, 10), at_hour.cursor)
        assert FORECASTS <= _requested(after_rollup, graph)
        # once a day: a later load the same day re-runs the marts, not the forecasts
        quiet = tick(at(forecast_hour + 1, 20), after_rollup.cursor)
        assert quiet.total_requested == 0
        _load(instance, day)
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
