"""From rule breaches and failed asset checks to recorded, de-duplicated,
notified alerts.

``alerts.alert_events`` holds one row per breach: rule + subject + period (its
``alert_id`` is a hash of the three), so the same breach is recorded once and
notified once however often it is evaluated. A new breach of a rule and subject
that notified less than ``cooldown_minutes`` ago is recorded as ``suppressed``.
Each notified alert gets one ``alerts.alert_deliveries`` row per channel
(pending → sent | failed | skipped); failed and pending deliveries are retried
by every later evaluation, so an alert is never lost to a channel that is down.
``alerts.alert_history`` is the append-only log of all of it, and
``alerts.rule_evaluations`` says what each rule did in each run (including
rules skipped because their table or column does not exist yet).

Alerts are committed before any notification goes out: a crash in between
leaves pending deliveries, which the next evaluation sends.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

import duckdb

from bizintel_dagster import money, settings
from bizintel_dagster.alerts import lifecycle, metric_names, notify
from bizintel_dagster.alerts.config import AlertConfig, Rule
from bizintel_dagster.alerts.evaluate import Breach, RuleOutcome, evaluate_rules

log = logging.getLogger(__name__)

DDL = """
create schema if not exists alerts;
create table if not exists alerts.alert_events (
    alert_id varchar not null,        -- hash of rule_name | subject | period
    rule_name varchar not null,
    rule_kind varchar not null,
    severity varchar not null,        -- critical | high | medium | low
    subject varchar not null,         -- metric (schema.table.column) or asset check
    period varchar not null,          -- day, hour or check partition(s)
    period_start timestamp not null,  -- start of the period (business-local): what cool-down compares
    metric_date date,
    observed double,
    baseline double,
    change_pct double,
    zscore double,
    threshold double,
    message varchar not null,
    figures json,
    channels varchar[],
    status varchar not null,          -- pending | sent | failed | suppressed | unrouted
    status_reason varchar,
    first_seen_at timestamptz not null,
    last_seen_at timestamptz not null,
    occurrences integer not null,
    notified_at timestamptz,
    first_run_id varchar,
    last_run_id varchar
);
create table if not exists alerts.alert_deliveries (
    alert_id varchar not null,
    channel varchar not null,
    status varchar not null,          -- pending | sent | failed | skipped
    attempts integer not null,
    last_error varchar,
    last_attempt_at timestamptz,
    sent_at timestamptz
);
create table if not exists alerts.alert_history (
    alert_id varchar not null,
    event_at timestamptz not null,
    event varchar not null,           -- raised | seen_again | suppressed | delivery_sent | delivery_failed | delivery_skipped
    channel varchar,
    detail varchar,
    run_id varchar
);
create table if not exists alerts.rule_evaluations (
    run_id varchar,
    evaluated_at timestamptz not null,
    rule_name varchar not null,
    rule_kind varchar not null,
    status varchar not null,          -- ok | breached | skipped | error
    reason varchar,
    window_start date,
    window_end date,
    breaches integer not null
);
"""

CHECK_RULE = "asset_check_failed"


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)
    con.execute(lifecycle.DDL)


def alert_id(rule_name: str, subject: str, period: str) -> str:
    return hashlib.sha256(f"{rule_name}|{subject}|{period}".encode()).hexdigest()[:20]


# ----------------------------------------------------------------------------
# Candidates: what an evaluation found
# ----------------------------------------------------------------------------


@dataclass
class Candidate:
    alert_id: str
    rule_name: str
    rule_kind: str
    severity: str
    subject: str
    period: str
    message: str
    figures: dict[str, Any]
    channels: tuple[str, ...]
    cooldown_minutes: int
    period_start: datetime
    metric_date: date | None = None
    observed: float | None = None
    baseline: float | None = None
    change_pct: float | None = None
    zscore: float | None = None
    threshold: float | None = None
    escalation: str | None = None
    observed_at: datetime | None = None


def asset_url(asset_path: str) -> str:
    """The asset's page in the Dagster UI (``kpis.kpi_daily`` or ``kpis/kpi_daily``)."""
    return f"{settings.dagster_ui_url()}/assets/{asset_path.replace('.', '/')}"


def format_value(value: float | None, fmt: str, currency: str) -> str:
    if value is None:
        return "n/a"
    if fmt == "money_minor":
        return money.with_code(value, currency)
    if fmt == "ratio":
        return f"{value * 100:.2f} %"
    if fmt == "count":
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
    return f"{value:,.4g}"


def _title(rule: Rule) -> str:
    return rule.name.replace("_", " ").capitalize()


def _kpi(rule: Rule) -> str:
    """The KPI as the metric layer names it (label and metric name), else the column."""
    if rule.metric.name:
        return f"{metric_names.label(rule.metric.name)} (metric {rule.metric.name})"
    return rule.metric.subject


def candidate_from_breach(b: Breach, config: AlertConfig, currency: str) -> Candidate:
    r = b.rule
    fmt = lambda v: format_value(v, r.format, currency)  # noqa: E731
    subject = r.metric.subject
    kpi = _kpi(r)
    figures: dict[str, Any] = {"value": fmt(b.observed)}
    period_start = None
    if r.kind == "change_vs_trailing_average":
        word = "below" if r.direction == "drop" else "above"
        message = (f"{_title(r)}: {kpi} on {b.period} was {fmt(b.observed)}, {abs(b.change_pct):.1f} % {word} "
                   f"its {r.window_days}-day average of {fmt(b.baseline)} (threshold {r.threshold_pct:g} %).")
        figures.update({f"{r.window_days}-day average": fmt(b.baseline), "change": f"{b.change_pct:+.1f} %",
                        "threshold": f"{'-' if r.direction == 'drop' else '+'}{r.threshold_pct:g} %",
                        "history days": b.history})
        threshold = r.threshold_pct
    elif r.kind == "seasonal_zscore":
        weekday = b.metric_date.strftime("%A")
        change = f" ({b.change_pct:+.1f} %)" if b.change_pct is not None else ""
        message = (f"{_title(r)}: {kpi} on {b.period} ({weekday}) was {fmt(b.observed)} against a "
                   f"{weekday} baseline of {fmt(b.baseline)}{change}: z-score {b.zscore:+.2f} "
                   f"(sensitivity {r.sensitivity:g}, {b.history} previous {weekday}s).")
        figures.update({f"{weekday} baseline": fmt(b.baseline), "z-score": f"{b.zscore:+.2f}",
                        "change": f"{b.change_pct:+.1f} %" if b.change_pct is not None else "n/a",
                        "sensitivity": f"{r.sensitivity:g}", "history weeks": b.history})
        threshold = r.sensitivity
    elif r.kind == "target":
        days = (b.period_last - b.period_first).days + 1
        message = (f"{_title(r)}: {kpi} for {r.period} {b.period} to date ({b.history} of {days} days, through "
                   f"{b.metric_date}) is {fmt(b.observed)} against a pro-rata goal of {fmt(b.expected)} "
                   f"(goal {fmt(r.goal)} for the {r.period}): projected {fmt(b.projected)}, {b.pace_pct:.1f} % of the "
                   f"goal: at risk (below {r.at_risk_below_pct:g} %).")
        figures.update({"to date": fmt(b.observed), "expected to date": fmt(b.expected), "goal": fmt(r.goal),
                        "projected": fmt(b.projected), "pace": f"{b.pace_pct:.1f} % of goal", "status": "at risk"})
        threshold, period_start = r.at_risk_below_pct, b.period_first
    elif r.kind == "trend":
        unit = r.period
        value_word = "average" if r.aggregate == "avg" else "total"
        message = (f"{_title(r)}: {kpi} declined {r.periods} {unit}s in a row: {unit} {value_word} "
                   f"{fmt(b.observed)} for {b.period}, against {fmt(b.baseline)} {r.periods} {unit}s earlier "
                   f"({b.change_pct:+.1f} %; each {unit} at least {r.min_decline_pct:g} % below the one before).")
        figures.update({f"{r.periods} {unit}s earlier": fmt(b.baseline), "change": f"{b.change_pct:+.1f} %",
                        f"{unit}s declining": r.periods})
        threshold, period_start = r.min_decline_pct, b.period_first
    else:
        message = (f"{_title(r)}: {kpi} was {fmt(b.observed)} in the hour starting {b.period} "
                   f"(threshold {fmt(r.above)} per hour).")
        figures.update({"threshold per hour": fmt(r.above)})
        threshold = r.above
    if r.description:
        message += f" {r.description}"
    link = asset_url(r.metric.table)
    if r.metric.name:
        figures["metric"] = r.metric.name
    figures["asset"] = link
    message += f" Asset: {link}"
    return Candidate(
        alert_id=alert_id(r.name, subject, b.period), rule_name=r.name, rule_kind=r.kind, severity=r.severity,
        subject=subject, period=b.period, message=message, figures=figures,
        channels=config.channels_for(r.channels, r.escalation),
        cooldown_minutes=config.cooldown_minutes if r.cooldown_minutes is None else r.cooldown_minutes,
        period_start=(datetime.combine(period_start, datetime.min.time()) if period_start else b.observed_at),
        metric_date=b.metric_date, observed=b.observed,
        baseline=b.expected if r.kind == "target" else b.baseline, change_pct=b.change_pct,
        zscore=b.zscore, threshold=threshold, escalation=r.escalation, observed_at=b.observed_at,
    )


def candidate_from_check(failure: Mapping[str, Any], config: AlertConfig, now: datetime) -> Candidate:
    """A failed asset-check evaluation (as collected by the check sensor)."""
    checks = config.asset_checks
    if failure.get("blocking"):
        severity = checks.severity_blocking
    elif str(failure.get("severity", "ERROR")).upper() == "WARN":
        severity = checks.severity_warn
    else:
        severity = checks.severity_error
    subject = f"{failure['asset_key']}:{failure['check_name']}"
    period = failure.get("partition") or f"run {failure.get('run_id', '')[:8]}"
    metadata = failure.get("metadata") or {}
    figures = {"check": subject, "run": failure.get("run_id", ""), "job": failure.get("job_name", ""),
               "blocking": "yes" if failure.get("blocking") else "no", **{k: v for k, v in list(metadata.items())[:6]}}
    details = ", ".join(f"{k}={v}" for k, v in list(metadata.items())[:6])
    message = (f"Asset check {subject} failed for {period} (run {failure.get('run_id', '')[:8]}, "
               f"job {failure.get('job_name', '?')}). {failure.get('description') or ''}".strip())
    if details:
        message += f" [{details}]"
    link = asset_url(str(failure["asset_key"])) + "?view=checks"
    figures["asset"] = link
    message += f" Asset: {link}"
    return Candidate(
        alert_id=alert_id(CHECK_RULE, subject, period), rule_name=CHECK_RULE, rule_kind="asset_check",
        severity=severity, subject=subject, period=period, message=message, figures=figures,
        channels=config.channels_for(checks.channels, checks.escalation),
        cooldown_minutes=config.cooldown_minutes if checks.cooldown_minutes is None else checks.cooldown_minutes,
        period_start=_period_start(failure.get("partition"), now), escalation=checks.escalation,
    )


def _period_start(partition: str | None, now: datetime) -> datetime:
    """First day of a check's partition (range ``a...b``), else the time it was seen."""
    try:
        return datetime.combine(date.fromisoformat((partition or "").split("...")[0]), datetime.min.time())
    except ValueError:
        return now.replace(tzinfo=None)


# ----------------------------------------------------------------------------
# Recording
# ----------------------------------------------------------------------------


@dataclass
class EvaluationSummary:
    outcomes: list[RuleOutcome] = field(default_factory=list)
    new_alerts: list[str] = field(default_factory=list)
    suppressed: list[str] = field(default_factory=list)
    seen_again: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    escalated: list[tuple[str, int]] = field(default_factory=list)
    deliveries: dict[str, int] = field(default_factory=dict)  # status -> count, this run

    def as_metadata(self) -> dict[str, Any]:
        return {
            "rules_evaluated": sum(o.status in ("ok", "breached") for o in self.outcomes),
            "rules_skipped": [f"{o.rule.name}: {o.reason}" for o in self.outcomes if o.status == "skipped"],
            "rules_failed": [f"{o.rule.name}: {o.reason}" for o in self.outcomes if o.status == "error"],
            "breaches": sum(len(o.breaches) for o in self.outcomes),
            "new_alerts": len(self.new_alerts),
            "suppressed_by_cooldown": len(self.suppressed),
            "already_recorded": len(self.seen_again),
            "resolved": len(self.resolved),
            "escalated": len(self.escalated),
            "deliveries": dict(self.deliveries),
        }


def _record(con, candidates: list[Candidate], run_id: str | None, now: datetime,
            summary: EvaluationSummary) -> None:
    """Insert new alerts (with cool-down) and their pending deliveries; touch the
    ones already recorded. One transaction. Alerts are few: a loop is fine.

    Cool-down is measured in data time: a breach is suppressed when the same rule
    notified for the same subject for a period starting at most
    ``cooldown_minutes`` before or after this one. Evaluating a month at once
    or day by day therefore records the same alerts."""
    con.execute("begin transaction")
    try:
        known = {r[0] for r in con.execute(
            "select alert_id from alerts.alert_events where alert_id in (select unnest($ids))",
            {"ids": [c.alert_id for c in candidates] or [""]}).fetchall()}
        notified: dict[tuple[str, str], list[datetime]] = {}
        for rule, subject, period_start in con.execute(
                """select rule_name, subject, period_start from alerts.alert_events
                   where status not in ('suppressed', 'unrouted')""").fetchall():
            notified.setdefault((rule, subject), []).append(period_start)
        for c in sorted(candidates, key=lambda c: (c.rule_name, c.subject, c.period_start, c.period)):
            if c.alert_id in known:
                con.execute(
                    """update alerts.alert_events set last_seen_at = $now, occurrences = occurrences + 1,
                       last_run_id = $run where alert_id = $id""", {"now": now, "run": run_id, "id": c.alert_id})
                summary.seen_again.append(c.alert_id)
                continue
            known.add(c.alert_id)
            window = timedelta(minutes=c.cooldown_minutes)
            near = [p for p in notified.get((c.rule_name, c.subject), []) if abs(c.period_start - p) <= window]
            suppressed = c.cooldown_minutes > 0 and bool(near)
            status = "suppressed" if suppressed else ("pending" if c.channels else "unrouted")
            reason = (f"cool-down: {c.rule_name} already notified for {c.subject} for the period starting "
                      f"{min(near, key=lambda p: abs(c.period_start - p)):%Y-%m-%d %H:%M} "
                      f"(cool-down {c.cooldown_minutes} min)" if suppressed else None)
            con.execute(
                """insert into alerts.alert_events values ($id, $rule, $kind, $severity, $subject, $period,
                   $period_start, $metric_date, $observed, $baseline, $change, $z, $threshold, $message, $figures,
                   $channels, $status, $reason, $now, $now, 1, null, $run, $run)""",
                {"id": c.alert_id, "rule": c.rule_name, "kind": c.rule_kind, "severity": c.severity,
                 "subject": c.subject, "period": c.period, "period_start": c.period_start,
                 "metric_date": c.metric_date, "observed": c.observed,
                 "baseline": c.baseline, "change": c.change_pct, "z": c.zscore, "threshold": c.threshold,
                 "message": c.message, "figures": json.dumps(c.figures, default=str), "channels": list(c.channels),
                 "status": status, "reason": reason, "now": now, "run": run_id})
            con.execute("insert into alerts.alert_history values ($id, $now, $event, null, $detail, $run)",
                        {"id": c.alert_id, "now": now, "event": "suppressed" if suppressed else "raised",
                         "detail": reason or c.message, "run": run_id})
            if suppressed:
                summary.suppressed.append(c.alert_id)
                continue
            summary.new_alerts.append(c.alert_id)
            if not c.channels:
                continue
            notified.setdefault((c.rule_name, c.subject), []).append(c.period_start)
            lifecycle.start(con, c.alert_id, c.rule_name, c.subject, c.observed_at, c.escalation, now)
            lifecycle.queue(con, c.alert_id, c.channels, "alert", 1)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def _record_outcomes(con, outcomes: list[RuleOutcome], run_id: str | None, now: datetime) -> None:
    rows = [(run_id, now, o.rule.name, o.rule.kind, o.status, o.reason or None,
             o.window[0] if o.window else None, o.window[1] if o.window else None, len(o.breaches))
            for o in outcomes]
    if rows:
        con.executemany("insert into alerts.rule_evaluations values (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def _recovered(outcomes: list[RuleOutcome]) -> dict[str, list[tuple[datetime, str]]]:
    out: dict[str, list[tuple[datetime, str]]] = {}
    for o in outcomes:
        hourly = o.rule.kind == "hourly_threshold"
        if o.within_bounds:
            out[o.rule.name] = [(p, p.strftime("%Y-%m-%d %H:%M") if hourly else p.date().isoformat())
                                for p in o.within_bounds]
    return out


def run_evaluation(
    connect: Callable[[], Any],
    config: AlertConfig,
    *,
    start: date | None = None,
    end: date | None = None,
    check_failures: Iterable[Mapping[str, Any]] = (),
    run_id: str | None = None,
    timezone_name: str = "UTC",
    currency: str = "ZAR",
    env: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] | None = None,
    now: datetime | None = None,
    logger=None,
) -> EvaluationSummary:
    """Evaluate the rules (and the given check failures), record alerts, deliver
    every open delivery (new and earlier ones), record the outcome.

    ``connect`` is a context-manager factory for a warehouse connection (e.g.
    ``DuckDBResource.get_connection``); it is opened twice so that no connection
    is held while talking to the network."""
    logger = logger or log
    now = now or datetime.now(timezone.utc)
    summary = EvaluationSummary()
    with connect() as con:
        ensure_schema(con)
        money.load_exponent(con, currency)
        summary.outcomes = evaluate_rules(con, config, start=start, end=end, timezone=timezone_name, logger=logger)
        candidates = [candidate_from_breach(b, config, currency) for o in summary.outcomes for b in o.breaches]
        if config.asset_checks.enabled:
            candidates += [candidate_from_check(f, config, now) for f in check_failures]
        _record_outcomes(con, summary.outcomes, run_id, now)
        _record(con, candidates, run_id, now, summary)
        summary.resolved, summary.escalated = lifecycle.in_transaction(con, lambda: (
            lifecycle.resolve_recovered(con, _recovered(summary.outcomes), now, run_id),
            lifecycle.escalate_due(con, config, now, run_id)))
    summary.deliveries = notify.dispatch(connect, config, now=now, timezone_name=timezone_name, env=env,
                                         sleep=sleep or time.sleep, run_id=run_id, logger=logger)
    logger.info(f"alert evaluation: {summary.as_metadata()}")
    return summary


@dataclass
class DueSummary:
    escalated: list[tuple[str, int]]
    deliveries: dict[str, int]

    def describe(self) -> str:
        climbed = ", ".join(f"{a[:10]} -> L{level}" for a, level in self.escalated) or "none"
        sent = ", ".join(f"{n} {status}" for status, n in sorted(self.deliveries.items())) or "none"
        return f"escalated: {climbed}; deliveries: {sent}"


def process_due(connect: Callable[[], Any], config: AlertConfig, *, timezone_name: str = "UTC",
                env: Mapping[str, str] | None = None, sleep: Callable[[float], None] | None = None,
                now: datetime | None = None, logger=None) -> DueSummary:
    """What time alone makes due, without evaluating rules: escalations whose delay
    passed, snoozes that ended, digests whose quiet hours ended, deliveries to retry.
    Run by ``alert_escalation_sensor`` on every tick; everything it needs is in the
    warehouse, so a restarted daemon picks up exactly where the last tick stopped."""
    now = now or datetime.now(timezone.utc)
    with connect() as con:
        ensure_schema(con)
        escalated = lifecycle.in_transaction(con, lambda: lifecycle.escalate_due(con, config, now))
    deliveries = notify.dispatch(connect, config, now=now, timezone_name=timezone_name, env=env,
                                 sleep=sleep or time.sleep, logger=logger)
    return DueSummary(escalated, deliveries)
