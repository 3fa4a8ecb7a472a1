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
from bizintel_dagster.alerts import channels as channel_mod
from bizintel_dagster.alerts.config import AlertConfig, Rule
from bizintel_dagster.alerts.evaluate import Breach, RuleOutcome, evaluate_rules
from bizintel_dagster.metrics import MetricReader
from bizintel_dagster.tables import Table, col

log = logging.getLogger(__name__)

_ALERT_ID = col("alert_id", "varchar", "Hash of rule_name | subject | period: one alert per rule, subject and period.",
                not_null=True)
_RUN_ID = "Dagster run id"

ALERT_EVENTS = Table("alerts", "alert_events", (
    _ALERT_ID,
    col("rule_name", "varchar", "Rule from config/alerts.yaml, or asset_check_failed for a failed check.", not_null=True),
    col("rule_kind", "varchar", "change_vs_trailing_average | hourly_threshold | seasonal_zscore | asset_check.",
        not_null=True),
    col("severity", "varchar", "critical | high | medium | low.", not_null=True),
    col("subject", "varchar", "What breached: metric of the semantic layer (by name) or asset check (asset:check).",
        not_null=True),
    col("period", "varchar", "Day, hour or check partition(s) the alert is about.", not_null=True),
    col("period_start", "timestamp", "Start of the period, business-local time: what the cool-down compares.",
        not_null=True),
    col("metric_date", "date", "Business-local day of the observation (null for some check alerts)."),
    col("observed", "double", "Observed value, in the metric's unit (money: reporting-currency minor units)."),
    col("baseline", "double", "Baseline the rule compared with (trailing average, seasonal mean), same unit."),
    col("change_pct", "double", "Change of observed vs baseline, percent."),
    col("zscore", "double", "Standard scores from the seasonal baseline (seasonal_zscore rules)."),
    col("threshold", "double", "The rule's threshold (percent, count or z), as configured."),
    col("message", "varchar", "The alert text as notified.", not_null=True),
    col("figures", "json", "Every figure of the evaluation (rule-specific), for the notification and audits."),
    col("channels", "varchar[]", "Channels the alert is routed to (webhook, email, log, ...)."),
    col("status", "varchar", "pending | sent | failed | suppressed | unrouted.", not_null=True),
    col("status_reason", "varchar", "Why the status (cool-down, no channel, delivery error)."),
    col("first_seen_at", "timestamptz", "First evaluation that found it (UTC).", not_null=True),
    col("last_seen_at", "timestamptz", "Latest evaluation that found it (UTC).", not_null=True),
    col("occurrences", "integer", "Evaluations that found it.", not_null=True),
    col("notified_at", "timestamptz", "When it was first delivered (null: not yet)."),
    col("first_run_id", "varchar", f"{_RUN_ID} of the first evaluation."),
    col("last_run_id", "varchar", f"{_RUN_ID} of the latest evaluation."),
))
ALERT_DELIVERIES = Table("alerts", "alert_deliveries", (
    _ALERT_ID,
    col("channel", "varchar", "Channel name from config/alerts.yaml.", not_null=True),
    col("status", "varchar", "pending | sent | failed | skipped.", not_null=True),
    col("attempts", "integer", "Delivery attempts so far (retries included).", not_null=True),
    col("last_error", "varchar", "Error of the latest failed attempt."),
    col("last_attempt_at", "timestamptz", "Latest attempt (UTC)."),
    col("sent_at", "timestamptz", "Successful delivery (UTC; null: not sent)."),
))
ALERT_HISTORY = Table("alerts", "alert_history", (
    _ALERT_ID,
    col("event_at", "timestamptz", "When it happened (UTC).", not_null=True),
    col("event", "varchar", "raised | seen_again | suppressed | delivery_sent | delivery_failed | delivery_skipped.",
        not_null=True),
    col("channel", "varchar", "Channel of a delivery event."),
    col("detail", "varchar", "Free-text detail (error, suppression reason)."),
    col("run_id", "varchar", f"{_RUN_ID} of the evaluation."),
))
RULE_EVALUATIONS = Table("alerts", "rule_evaluations", (
    col("run_id", "varchar", f"{_RUN_ID} of the evaluation."),
    col("evaluated_at", "timestamptz", "When the rule was evaluated (UTC).", not_null=True),
    col("rule_name", "varchar", "Rule from config/alerts.yaml.", not_null=True),
    col("rule_kind", "varchar", "The rule's kind.", not_null=True),
    col("status", "varchar", "ok | breached | skipped | error.", not_null=True),
    col("reason", "varchar", "Why skipped or errored, or what breached."),
    col("window_start", "date", "First business-local day evaluated."),
    col("window_end", "date", "Last business-local day evaluated."),
    col("breaches", "integer", "Breaches found (alerts raised or seen again).", not_null=True),
))
TABLES = (ALERT_EVENTS, ALERT_DELIVERIES, ALERT_HISTORY, RULE_EVALUATIONS)
DDL = "\n".join(t.ddl() for t in TABLES)

CHECK_RULE = "asset_check_failed"


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)


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


@dataclass(frozen=True)
class MetricText:
    """How a notification names a rule's metric: as the semantic manifest names and
    describes it, and where its table is in the Dagster UI."""

    label: str
    description: str
    asset_url: str | None = None


def metric_texts(reader: MetricReader, config: AlertConfig, ui_url: str) -> dict[str, MetricText]:
    out = {}
    for rule in config.rules:
        name = rule.metric.name
        definition = reader.definition(name)
        # the table the metric is computed from: asset key = schema / table
        relations = sorted(reader.relations(name) - reader.time_spines)
        url = f"{ui_url.rstrip('/')}/assets/{relations[0][0]}/{relations[0][1]}" if relations else None
        out[name] = MetricText(definition.get("label") or name,
                               " ".join((definition.get("description") or "").split()), url)
    return out


def candidate_from_breach(b: Breach, config: AlertConfig, currency: str,
                          texts: Mapping[str, MetricText] | None = None) -> Candidate:
    r = b.rule
    fmt = lambda v: format_value(v, r.format, currency)  # noqa: E731
    subject = r.metric.subject
    text = (texts or {}).get(subject) or MetricText(subject, "")
    kpi = f"{text.label} ({subject})"
    figures: dict[str, Any] = {"metric": kpi, "observed": fmt(b.observed)}
    if r.kind == "change_vs_trailing_average":
        word = "below" if r.direction == "drop" else "above"
        message = (f"{_title(r)}: {kpi} on {b.period} was {fmt(b.observed)}, expected about {fmt(b.baseline)} "
                   f"(its {r.window_days}-day average): {abs(b.change_pct):.1f} % {word} it "
                   f"(threshold {r.threshold_pct:g} %).")
        figures.update({"expected": f"{fmt(b.baseline)} ({r.window_days}-day average)",
                        "change": f"{b.change_pct:+.1f} %",
                        "threshold": f"{'-' if r.direction == 'drop' else '+'}{r.threshold_pct:g} %",
                        "history days": b.history})
        threshold = r.threshold_pct
    elif r.kind == "seasonal_zscore":
        weekday = b.metric_date.strftime("%A")
        change = f" ({b.change_pct:+.1f} %)" if b.change_pct is not None else ""
        message = (f"{_title(r)}: {kpi} on {b.period} ({weekday}) was {fmt(b.observed)}, expected about "
                   f"{fmt(b.baseline)} (the {weekday} baseline){change}: z-score {b.zscore:+.2f} "
                   f"(sensitivity {r.sensitivity:g}, {b.history} previous {weekday}s).")
        figures.update({"expected": f"{fmt(b.baseline)} ({weekday} baseline)", "z-score": f"{b.zscore:+.2f}",
                        "change": f"{b.change_pct:+.1f} %" if b.change_pct is not None else "n/a",
                        "sensitivity": f"{r.sensitivity:g}", "history weeks": b.history})
        threshold = r.sensitivity
    else:
        message = (f"{_title(r)}: {kpi} was {fmt(b.observed)} in the hour starting {b.period} "
                   f"(expected at most {fmt(r.above)} per hour).")
        figures.update({"expected": f"at most {fmt(r.above)} per hour"})
        threshold = r.above
    if text.description:
        message += f" {text.label}: {text.description}"
    if text.asset_url:
        message += f" Asset: {text.asset_url}"
        figures["asset"] = text.asset_url
    return Candidate(
        alert_id=alert_id(r.name, subject, b.period), rule_name=r.name, rule_kind=r.kind, severity=r.severity,
        subject=subject, period=b.period, message=message, figures=figures,
        channels=config.channels_for(r.channels),
        cooldown_minutes=config.cooldown_minutes if r.cooldown_minutes is None else r.cooldown_minutes,
        period_start=(datetime.strptime(b.period, "%Y-%m-%d %H:%M") if r.kind == "hourly_threshold"
                      else datetime.combine(b.metric_date, datetime.min.time())),
        metric_date=b.metric_date, observed=b.observed, baseline=b.baseline, change_pct=b.change_pct,
        zscore=b.zscore, threshold=threshold,
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
    return Candidate(
        alert_id=alert_id(CHECK_RULE, subject, period), rule_name=CHECK_RULE, rule_kind="asset_check",
        severity=severity, subject=subject, period=period, message=message, figures=figures,
        channels=config.channels_for(checks.channels),
        cooldown_minutes=config.cooldown_minutes if checks.cooldown_minutes is None else checks.cooldown_minutes,
        period_start=_period_start(failure.get("partition"), now),
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
            for channel in c.channels:
                con.execute("insert into alerts.alert_deliveries values ($id, $channel, 'pending', 0, null, null, null)",
                            {"id": c.alert_id, "channel": channel})
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


def _open_deliveries(con) -> list[dict[str, Any]]:
    rows = con.execute(
        """select d.alert_id, d.channel, d.attempts, e.severity, e.rule_name, e.subject, e.period, e.message,
                  e.figures
           from alerts.alert_deliveries d join alerts.alert_events e using (alert_id)
           where d.status in ('pending', 'failed')
           order by e.first_seen_at, d.alert_id, d.channel""").fetchall()
    out = []
    for alert, channel, attempts, severity, rule, subject, period, message, figures in rows:
        out.append({"alert_id": alert, "channel": channel, "attempts": attempts, "severity": severity,
                    "rule_name": rule, "subject": subject, "period": period, "message": message,
                    "figures": json.loads(figures) if figures else {}})
    return out


def _deliver_all(config: AlertConfig, open_deliveries: list[dict[str, Any]], env, sleep,
                 logger) -> list[tuple[dict[str, Any], channel_mod.DeliveryResult, datetime]]:
    results = []
    for item in open_deliveries:
        channel = config.channels.get(item["channel"])
        if channel is None:
            result = channel_mod.DeliveryResult("failed", 0, f"channel {item['channel']!r} is no longer in the config")
        else:
            result = channel_mod.deliver(channel, item, env=env, sleep=sleep)
        emit = logger.warning if result.status == "failed" else logger.info
        emit(f"alert {item['alert_id']} ({item['severity']} {item['rule_name']} {item['period']}) "
                          f"-> {item['channel']}: {result.status}"
                          + (f" after {result.attempts} attempt(s): {result.error}" if result.error else ""))
        results.append((item, result, datetime.now(timezone.utc)))
    return results


def _record_deliveries(con, results, run_id: str | None, summary: EvaluationSummary) -> None:
    con.execute("begin transaction")
    try:
        touched = set()
        for item, result, at in results:
            summary.deliveries[result.status] = summary.deliveries.get(result.status, 0) + 1
            con.execute(
                """update alerts.alert_deliveries
                   set status = $status, attempts = attempts + $attempts, last_error = $error,
                       last_attempt_at = $at, sent_at = case when $status = 'sent' then $at else sent_at end
                   where alert_id = $id and channel = $channel""",
                {"status": result.status, "attempts": result.attempts, "error": result.error, "at": at,
                 "id": item["alert_id"], "channel": item["channel"]})
            con.execute("insert into alerts.alert_history values ($id, $at, $event, $channel, $detail, $run)",
                        {"id": item["alert_id"], "at": at, "event": f"delivery_{result.status}",
                         "channel": item["channel"],
                         "detail": result.error or f"attempt(s): {result.attempts}", "run": run_id})
            touched.add(item["alert_id"])
        if touched:
            # Alert status from its deliveries: any failed -> failed, any pending -> pending,
            # any sent -> sent, else (all skipped: no channel configured) -> unrouted.
            con.execute(
                """update alerts.alert_events e set
                       status = s.status,
                       notified_at = coalesce(e.notified_at, s.first_sent)
                   from (select alert_id,
                                case when bool_or(status = 'failed') then 'failed'
                                     when bool_or(status = 'pending') then 'pending'
                                     when bool_or(status = 'sent') then 'sent'
                                     else 'unrouted' end as status,
                                min(sent_at) as first_sent
                         from alerts.alert_deliveries where alert_id in (select unnest($ids)) group by alert_id) s
                   where e.alert_id = s.alert_id""",
                {"ids": sorted(touched)})
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def run_evaluation(
    connect: Callable[[], Any],
    config: AlertConfig,
    *,
    start: date | None = None,
    end: date | None = None,
    check_failures: Iterable[Mapping[str, Any]] = (),
    run_id: str | None = None,
    currency: str = "ZAR",
    ui_url: str | None = None,
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
        reader = MetricReader(con) if config.rules else None
        summary.outcomes = evaluate_rules(con, config, start=start, end=end, logger=logger, reader=reader)
        texts = metric_texts(reader, config, ui_url or settings.dagster_ui_url()) if reader else {}
        candidates = [candidate_from_breach(b, config, currency, texts) for o in summary.outcomes for b in o.breaches]
        if config.asset_checks.enabled:
            candidates += [candidate_from_check(f, config, now) for f in check_failures]
        _record_outcomes(con, summary.outcomes, run_id, now)
        _record(con, candidates, run_id, now, summary)
        open_deliveries = _open_deliveries(con)
    results = _deliver_all(config, open_deliveries, env, sleep or time.sleep, logger)
    if results:
        with connect() as con:
            _record_deliveries(con, results, run_id, summary)
    logger.info(f"alert evaluation: {summary.as_metadata()}")
    return summary
