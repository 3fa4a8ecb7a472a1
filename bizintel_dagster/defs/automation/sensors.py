"""Sensors.

``landing_zone_sensor`` — new and late landing files → ``daily_pipeline_job``
for exactly the partitions (``dt=`` folders) whose files changed. Its cursor
holds one fingerprint per partition (hash of the names, sizes and modification
times of the paths the raw loader accounts for in it, sub-folders included:
``landing.partition_entries``), so a file is processed once, the cursor survives
restarts (Dagster stores it), and a file that lands later in a past day's folder
changes that day's fingerprint only: one run for that day, which re-materializes
it from raw to KPIs (a partition re-run replaces it). In-flight files (``.``-
prefixed, ``.tmp``, ``.part``) are ignored, and so is a folder while any of its
files is younger than BIZINTEL_LANDING_SETTLE_SECONDS (a writer that writes in
place). Contiguous new days go into one ranged run (the jobs' single-run
backfill policy); late days are requested separately, tagged ``late``. A folder
for a day that has not ended in the business time zone (today's) is **held**:
logged and listed under ``held`` in the cursor, not fingerprinted, so the first
tick after the day ends requests it as new (``partitions.last_day``; the clock
is Dagster's partition clock, ``dg.partition_loading_context`` in tests).

``late_data_sensor`` — what a re-run day makes stale beyond itself. The rolling-
window KPIs (``dbt_rolling``) read the activity of day - W .. day, declared as a
``TimeWindowPartitionMapping`` on their dependency (``activity.window_mapping``).
For each new materialization of such a dependency (a late day's run, a manual
re-run) the sensor maps its day through that mapping to the downstream days
(D .. D + W), keeps those whose rolling materialization is older than the
dependency's (so the day's own run, which rebuilt D after its activity, and days
never loaded are left out) and requests ``rolling_window_job`` for them, which
also rebuilds the week / month roll-ups. It waits for the triggering run to
finish, so the re-run reads the new activity.

``kpi_alert_sensor`` — materializations of ``kpis/kpi_daily`` → one
``alert_evaluation_job`` run over the materialized dates.

``asset_check_alert_sensor`` — finished runs (success or failure) with failed
asset-check evaluations → an ``alert_evaluation_job`` run that records and
notifies them. A failed non-blocking check does not fail its run, so a run-
failure sensor is not enough: the sensor reads the check evaluations of every
finished run from the instance's event log.

``automation_condition_sensor`` — evaluates the assets' automation conditions
(``conditions.py``: the marts and the analysts' copy follow their inputs, the
forecasts run daily once the day's KPIs are in) and launches what they request.

``freshness_alert_sensor`` — assets whose freshness state, as Dagster's freshness
daemon records it (``instance.get_freshness_state_records``), turned WARN or FAIL
since the last tick → one alert through the alert channels (no run: the sensor
only reads the instance). The cursor holds each asset's last state and when it
was recorded, so each transition alerts once.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import dagster as dg

from bizintel_dagster import partitions, settings
from bizintel_dagster.runner import RANGE_END_TAG, RANGE_START_TAG, TRIGGER_TAG
from bizintel_dagster.defs.alerts.assets import ALERT_OP_NAME, KPI_DAILY_KEY
from bizintel_dagster.defs.dbt.assets import dbt_steps
from bizintel_dagster.defs.jobs import alert_evaluation_job, daily_pipeline_job, rolling_window_job
from bizintel_dagster.defs.raw.landing import SOURCES, day_of_folder, is_in_flight, partition_entries

PARTITION_TAG = "dagster/partition"
CURSOR_VERSION = 1


def default_status() -> dg.DefaultSensorStatus:
    return dg.DefaultSensorStatus.RUNNING if settings.automation_running_by_default() else dg.DefaultSensorStatus.STOPPED


# ----------------------------------------------------------------------------
# Landing zone
# ----------------------------------------------------------------------------


@dataclass
class LandingScan:
    fingerprints: dict[str, str]   # partition key -> fingerprint of its settled files
    unsettled: set[str]            # partitions with a file younger than the settle time
    ignored: dict[str, str]        # folder -> why it is not a partition
    held: set[str]                 # days not complete yet: requested once they have ended


def scan_landing(landing: Path, *, settle_seconds: float = 0, now: float | None = None,
                 first_day: date | None = None, last_day: date | None = None) -> LandingScan:
    """Fingerprint every ``<source>/dt=YYYY-MM-DD`` folder of the landing zone by
    its complete (not in-flight, settled) files."""
    now = time.time() if now is None else now
    entries: dict[str, list[str]] = {}
    unsettled: set[str] = set()
    ignored: dict[str, str] = {}
    held: set[str] = set()
    for source in SOURCES:
        base = landing / source
        if not base.is_dir():
            continue
        for folder in sorted(base.iterdir()):
            if not folder.is_dir() or not folder.name.startswith("dt="):
                continue
            # the loader's own reading of the name: dt=20260601 is no partition
            day = day_of_folder(folder.name)
            if day is None:
                ignored[f"{source}/{folder.name}"] = "not a dt=YYYY-MM-DD folder"
                continue
            if first_day and day < first_day:
                ignored[f"{source}/{folder.name}"] = (
                    f"before the first daily partition {first_day}: set BIZINTEL_START_DATE={day} "
                    f"(or unset it) and reload the definitions")
                continue
            if last_day and day > last_day:
                held.add(day.isoformat())
                continue
            key = day.isoformat()
            # Exactly the paths the loader accounts for (partition_entries), sub-folders
            # included: a changed file anywhere it looks changes the fingerprint.
            for path in partition_entries(landing, source, day):
                if is_in_flight(path.name):
                    continue
                stat = path.lstat()
                if now - stat.st_mtime < settle_seconds:
                    unsettled.add(key)
                # top-level files keep the name they had in cursors of earlier releases
                rel = "." if path == folder else path.relative_to(folder).as_posix()
                entries.setdefault(key, []).append(f"{source}/{rel}\t{stat.st_size}\t{stat.st_mtime_ns}")
    fingerprints = {
        key: hashlib.sha256("\n".join(sorted(files)).encode()).hexdigest()[:16]
        for key, files in entries.items() if key not in unsettled
    }
    return LandingScan(fingerprints, unsettled, ignored, held)


def _runs(days: list[str]) -> list[list[str]]:
    """Consecutive days grouped: ["03-01", "03-02", "03-05"] -> [["03-01", "03-02"], ["03-05"]]."""
    groups: list[list[str]] = []
    for key in sorted(days):
        if groups and date.fromisoformat(key) - date.fromisoformat(groups[-1][-1]) == timedelta(days=1):
            groups[-1].append(key)
        else:
            groups.append([key])
    return groups


def day_range_request(days: list[str], run_key: str, tags: dict[str, str]) -> dg.RunRequest:
    """One run for consecutive days: a partition run for one day, else a ranged
    (single-run backfill) run tagged with its first and last day."""
    if len(days) == 1:
        return dg.RunRequest(run_key=run_key, partition_key=days[0], tags=tags)
    return dg.RunRequest(run_key=run_key, tags={**tags, RANGE_START_TAG: days[0], RANGE_END_TAG: days[-1]})


def landing_run_requests(previous: dict[str, str], scan: LandingScan) -> list[dg.RunRequest]:
    new = [k for k in scan.fingerprints if k not in previous]
    late = [k for k, fp in scan.fingerprints.items() if k in previous and previous[k] != fp]
    requests = []
    for kind, days in (("new_files", new), ("late_files", late)):
        for group in _runs(days):
            digest = hashlib.sha256("|".join(scan.fingerprints[k] for k in group).encode()).hexdigest()[:16]
            span = group[0] if len(group) == 1 else f"{group[0]}...{group[-1]}"
            requests.append(day_range_request(group, f"landing:{span}:{digest}", {TRIGGER_TAG: kind}))
    return requests


def _load_cursor(cursor: str | None) -> dict[str, str]:
    if not cursor:
        return {}
    data = json.loads(cursor)
    if data.get("v") != CURSOR_VERSION:
        return {}
    return dict(data.get("partitions", {}))


@dg.sensor(
    name="landing_zone_sensor",
    job=daily_pipeline_job,
    minimum_interval_seconds=settings.sensor_interval_seconds(),
    default_status=default_status(),
    description="New or late landing files -> daily_pipeline_job for exactly the partitions they touch.",
)
def landing_zone_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    previous = _load_cursor(context.cursor)
    last_day = partitions.last_day()
    scan = scan_landing(settings.landing_dir(), settle_seconds=settings.landing_settle_seconds(),
                        first_day=partitions.first_day(), last_day=last_day)
    for folder, why in sorted(scan.ignored.items())[:20]:
        context.log.warning(f"landing folder {folder} ignored: {why}")
    if scan.held:
        context.log.info(f"holding landing day(s) {sorted(scan.held)}: not complete in "
                         f"BIZINTEL_TIMEZONE={settings.timezone()} (last complete day {last_day}); "
                         f"requested on the first tick after each has ended")
    if scan.unsettled:
        context.log.info(f"waiting for files to settle in {sorted(scan.unsettled)}")
    requests = landing_run_requests(previous, scan)
    # Partitions still settling (or held, if an earlier tick saw them) keep their
    # old fingerprint; removed folders drop out (an emptied folder does not
    # trigger a run that would wipe the day).
    current = dict(scan.fingerprints)
    for key in scan.unsettled | scan.held:
        if key in previous:
            current[key] = previous[key]
    state = {"v": CURSOR_VERSION, "partitions": dict(sorted(current.items()))}
    if scan.held:
        state["held"] = sorted(scan.held)  # shown with the cursor in the UI; never read back
    cursor = json.dumps(state, separators=(",", ":"))
    if not requests:
        held = f"; holding {', '.join(sorted(scan.held))} until the day ends" if scan.held else ""
        return dg.SensorResult(skip_reason=f"no new or changed landing files{held}", cursor=cursor)
    for r in requests:
        context.log.info(f"requesting {r.tags[TRIGGER_TAG]} run for "
                         f"{r.partition_key or r.tags[RANGE_START_TAG] + '...' + r.tags[RANGE_END_TAG]}")
    return dg.SensorResult(run_requests=requests, cursor=cursor)


# ----------------------------------------------------------------------------
# Late data: the rolling-window days a re-run day makes stale
# ----------------------------------------------------------------------------


@dataclass(frozen=True)
class WindowDependency:
    child: dg.AssetKey           # a rolling-window asset
    parent: dg.AssetKey          # what it reads over the window
    mapping: dg.PartitionMapping


def window_dependencies(assets_defs: list[dg.AssetsDefinition] = dbt_steps) -> list[WindowDependency]:
    """The dependencies of the dbt steps that span more than one day, read from
    the graph (the translator's partition mappings), not restated here."""
    return [WindowDependency(spec.key, dep.asset_key, dep.partition_mapping)
            for assets_def in assets_defs for spec in assets_def.specs for dep in spec.deps
            if isinstance(dep.partition_mapping, dg.TimeWindowPartitionMapping)]


def downstream_days(dependency: WindowDependency, day: str) -> list[str]:
    """Days of the child that read the parent's ``day`` (day .. day + W, within the partitions)."""
    subset = dependency.mapping.get_downstream_partitions_for_partitions(
        partitions.daily_partitions.subset_with_partition_keys([day]),
        partitions.daily_partitions, partitions.daily_partitions)
    return sorted(subset.get_partition_keys())


def _latest_storage_id(instance: dg.DagsterInstance, key: dg.AssetKey, day: str) -> int | None:
    result = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[day]), limit=1, ascending=False)
    return result.records[0].storage_id if result.records else None


def stale_window_days(instance: dg.DagsterInstance, dependency: WindowDependency,
                      after: int | None) -> tuple[list[str], int | None]:
    """(child days to re-run, new cursor) for the parent's materializations after
    ``after``. Materializations of runs still going are left for a later tick (their
    run may yet rebuild the child, and a re-run now could read half-written days)."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dependency.parent, after_storage_id=after), limit=1000, ascending=True).records
    finished: dict[str, bool] = {}
    changed: dict[str, int] = {}  # child day -> newest parent change it must follow
    cursor = after
    for record in records:
        if record.run_id not in finished:
            run = instance.get_run_by_id(record.run_id)
            finished[record.run_id] = run is None or run.is_finished
        if not finished[record.run_id]:
            break
        cursor = record.storage_id
        if record.partition_key:
            for day in downstream_days(dependency, record.partition_key):
                changed[day] = max(changed.get(day, 0), record.storage_id)
    stale = []
    for day, parent_id in sorted(changed.items()):
        child_id = _latest_storage_id(instance, dependency.child, day)
        # never built: not loaded yet (its own landing run builds it); newer: rebuilt since
        if child_id is not None and child_id < parent_id:
            stale.append(day)
    return stale, cursor


@dg.sensor(
    name="late_data_sensor",
    job=rolling_window_job,
    minimum_interval_seconds=settings.sensor_interval_seconds(),
    default_status=default_status(),
    description="A re-run day (late files) -> rolling_window_job for exactly the later days whose "
    "activity window covers it (the partition mapping), then the KPI roll-ups.",
)
def late_data_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    cursors: dict[str, int] = json.loads(context.cursor) if context.cursor else {}
    stale: set[str] = set()
    for dependency in window_dependencies():
        name = dependency.parent.to_user_string()
        days, cursors[name] = stale_window_days(context.instance, dependency, cursors.get(name))
        stale.update(days)
    cursor = json.dumps(cursors, sort_keys=True)
    if not stale:
        return dg.SensorResult(skip_reason="no rolling-window day made stale", cursor=cursor)
    requests = []
    for group in _runs(sorted(stale)):
        requests.append(day_range_request(group, f"late_data:{group[0]}...{group[-1]}:{cursor}",
                                          {TRIGGER_TAG: "late_data"}))
        context.log.info(f"requesting rolling-window re-run for {group[0]} .. {group[-1]}")
    return dg.SensorResult(run_requests=requests, cursor=cursor)


# ----------------------------------------------------------------------------
# Declarative automation
# ----------------------------------------------------------------------------

# Evaluates every asset's automation condition (defs/automation/conditions.py).
# Declared here so that it starts like the other sensors: Dagster's implicit
# default_automation_condition_sensor starts stopped whatever bizintel's setting,
# so nothing was ever automated unless someone switched it on in the UI.
automation_sensor = dg.AutomationConditionSensorDefinition(
    "automation_condition_sensor",
    target=dg.AssetSelection.all(),
    default_status=default_status(),
    minimum_interval_seconds=settings.sensor_interval_seconds(),
    description="Declarative automation: the marts and the analysts' copy follow their inputs, the "
    "forecasts run once a day after BIZINTEL_DAILY_FORECAST_HOUR once the day's KPIs are in.",
)


# ----------------------------------------------------------------------------
# Alerts
# ----------------------------------------------------------------------------


def alert_run_config(**config) -> dict:
    return {"ops": {ALERT_OP_NAME: {"config": config}}}


@dg.sensor(
    name="kpi_alert_sensor",
    job=alert_evaluation_job,
    minimum_interval_seconds=settings.sensor_interval_seconds(),
    default_status=default_status(),
    description="kpis/kpi_daily materialized -> alert_evaluation_job over the materialized dates.",
)
def kpi_alert_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    after = int(context.cursor) if context.cursor else None
    result = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=KPI_DAILY_KEY, after_storage_id=after), limit=1000, ascending=True)
    if not result.records:
        return dg.SensorResult(skip_reason="no new kpis/kpi_daily materializations", cursor=context.cursor)
    last = result.records[-1].storage_id
    days = sorted({r.partition_key for r in result.records if r.partition_key})
    config = {"start_date": days[0], "end_date": days[-1]} if days else {}
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=f"kpi_daily:{last}", run_config=alert_run_config(**config),
                                    tags={TRIGGER_TAG: "kpis_materialized"})],
        cursor=str(last),
    )


def _check_partition(evaluation, run: dg.DagsterRun | None) -> str | None:
    if getattr(evaluation, "partition", None):
        return evaluation.partition
    tags = run.tags if run else {}
    if RANGE_START_TAG in tags and RANGE_END_TAG in tags:
        start, end = tags[RANGE_START_TAG], tags[RANGE_END_TAG]
        return start if start == end else f"{start}...{end}"
    return tags.get(PARTITION_TAG)


def _metadata_text(metadata) -> dict[str, str]:
    out = {}
    for key, value in (metadata or {}).items():
        raw = getattr(value, "value", value)
        if isinstance(raw, (int, float, str, bool)) and len(str(raw)) <= 200:
            out[key] = str(raw)
    return out


def failed_checks_of_run(instance: dg.DagsterInstance, run_id: str, job_name: str) -> list[dict]:
    run = instance.get_run_by_id(run_id)
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
    failures = []
    for record in records:
        evaluation = record.event_log_entry.dagster_event.asset_check_evaluation_data
        if evaluation.passed:
            continue
        failures.append({
            "asset_key": evaluation.asset_key.to_user_string(),
            "check_name": evaluation.check_name,
            "severity": evaluation.severity.value,
            "blocking": bool(evaluation.blocking),
            "partition": _check_partition(evaluation, run),
            "run_id": run_id,
            "job_name": job_name,
            "description": evaluation.description or "",
            "metadata": _metadata_text(evaluation.metadata),
        })
    return failures


@dg.sensor(
    name="asset_check_alert_sensor",
    job=alert_evaluation_job,
    minimum_interval_seconds=settings.sensor_interval_seconds(),
    default_status=default_status(),
    description="Finished runs with failed asset checks -> alert_evaluation_job that records and notifies them.",
)
def asset_check_alert_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    after = int(context.cursor) if context.cursor else None
    limit = 100
    finished = []
    cursor = after
    bounds = []
    for event_type in (dg.DagsterEventType.RUN_SUCCESS, dg.DagsterEventType.RUN_FAILURE):
        result = context.instance.fetch_run_status_changes(
            dg.RunStatusChangeRecordsFilter(event_type=event_type, after_storage_id=after), limit=limit, ascending=True)
        finished += result.records
        if len(result.records) == limit:  # more to come: do not skip past what is unread
            bounds.append(result.records[-1].storage_id)
    finished.sort(key=lambda r: r.storage_id)
    if bounds:
        finished = [r for r in finished if r.storage_id <= min(bounds)]
    if not finished:
        return dg.SensorResult(skip_reason="no finished runs", cursor=context.cursor)
    cursor = finished[-1].storage_id
    failures = []
    for record in finished:
        entry = record.event_log_entry
        if entry.job_name == alert_evaluation_job.name:
            continue
        failures += failed_checks_of_run(context.instance, entry.run_id, entry.job_name or "")
    if not failures:
        return dg.SensorResult(skip_reason=f"{len(finished)} finished run(s), no failed checks", cursor=str(cursor))
    context.log.info(f"{len(failures)} failed asset check(s): "
                     + ", ".join(f"{f['asset_key']}:{f['check_name']}" for f in failures[:10]))
    return dg.SensorResult(
        run_requests=[dg.RunRequest(
            run_key=f"asset_checks:{cursor}",
            run_config=alert_run_config(evaluate_rules=False, check_failures=failures),
            tags={TRIGGER_TAG: "asset_check_failed"},
        )],
        cursor=str(cursor),
    )


# ----------------------------------------------------------------------------
# Freshness
# ----------------------------------------------------------------------------

FRESHNESS_RULE = "asset_freshness"
# Freshness states (Dagster's FreshnessState values) that alert, and how loudly.
STALE_SEVERITY = {"FAIL": "high", "WARN": "medium"}


def _freshness_cursor(cursor: str | None) -> dict[str, list]:
    if not cursor:
        return {}
    data = json.loads(cursor)
    return dict(data.get("states", {})) if data.get("v") == CURSOR_VERSION else {}


def stale_transitions(previous: dict[str, list], records) -> tuple[dict[str, list], list[dict]]:
    """(new cursor states, assets that went WARN / FAIL since the last tick).

    A transition is identified by the state and the time Dagster recorded it
    (``updated_at``), so an asset that recovers and goes stale again alerts again,
    and one that stays stale alerts once."""
    current, stale = {}, []
    for key, record in records.items():
        state = getattr(record.freshness_state, "value", str(record.freshness_state))
        since = record.updated_at.timestamp()
        name = key.to_user_string()
        current[name] = [state, since]
        if state in STALE_SEVERITY and previous.get(name) != [state, since]:
            stale.append({"asset_key": name, "state": state, "since": record.updated_at})
    return current, stale


def freshness_alert(stale: list[dict]) -> dict:
    """One alert for the assets that went stale in one tick (a missed daily load
    turns a whole layer stale at once: one notification, not one per asset)."""
    from bizintel_dagster.alerts.engine import alert_id

    worst = "FAIL" if any(s["state"] == "FAIL" for s in stale) else "WARN"
    names = sorted(s["asset_key"] for s in stale)
    subject = names[0] if len(names) == 1 else f"{len(names)} assets"
    period = max(s["since"] for s in stale).isoformat(timespec="seconds")
    listed = ", ".join(f"{s['asset_key']} ({s['state']})" for s in sorted(stale, key=lambda s: s["asset_key"])[:20])
    more = f" and {len(names) - 20} more" if len(names) > 20 else ""
    return {
        "alert_id": alert_id(FRESHNESS_RULE, "|".join(f"{s['asset_key']}={s['state']}" for s in stale), period),
        "rule_name": FRESHNESS_RULE,
        "severity": STALE_SEVERITY[worst],
        "subject": subject,
        "period": period,
        "message": f"Stale against its freshness policy (defs/freshness.py): {listed}{more}.",
        "figures": {"assets_fail": sum(s["state"] == "FAIL" for s in stale),
                    "assets_warn": sum(s["state"] == "WARN" for s in stale)},
    }


@dg.sensor(
    name="freshness_alert_sensor",
    minimum_interval_seconds=settings.sensor_interval_seconds(),
    default_status=default_status(),
    description="Assets whose freshness state (Dagster's freshness daemon) turns WARN or FAIL -> one alert "
    "through the alert channels (BIZINTEL_ALERTS_CONFIG), once per transition.",
)
def freshness_alert_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    from bizintel_dagster.alerts import channels as channel_mod
    from bizintel_dagster.alerts import config as alert_config

    graph = context.repository_def.asset_graph
    keys = [key for key in graph.get_all_asset_keys() if graph.get(key).freshness_policy]
    previous = _freshness_cursor(context.cursor)
    current, stale = stale_transitions(previous, context.instance.get_freshness_state_records(keys))

    def cursor(states: dict) -> str:
        return json.dumps({"v": CURSOR_VERSION, "states": dict(sorted(states.items()))}, separators=(",", ":"))

    if not stale:
        return dg.SensorResult(skip_reason=f"{len(current)} asset(s) with a freshness state, none newly stale",
                               cursor=cursor(current))
    alert = freshness_alert(stale)
    config = alert_config.load(settings.alerts_config_path())
    results = {name: channel_mod.deliver(config.channels[name], alert) for name in config.default_channels}
    for name, result in results.items():
        context.log.info(f"freshness alert {alert['alert_id']} via {name}: {result.status}"
                         + (f" ({result.error})" if result.error else ""))
    if results and all(r.status == "failed" for r in results.values()):
        # Nothing got through: keep the old states so the next tick tries again.
        kept = {**current, **{s["asset_key"]: previous.get(s["asset_key"]) for s in stale}}
        return dg.SensorResult(skip_reason="freshness alert not delivered; retrying next tick",
                               cursor=cursor({k: v for k, v in kept.items() if v is not None}))
    return dg.SensorResult(skip_reason=f"alerted {len(stale)} stale asset(s): {alert['subject']}",
                           cursor=cursor(current))
