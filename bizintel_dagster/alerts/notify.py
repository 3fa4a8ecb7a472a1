"""Sending what is due: open deliveries one by one, deliveries held by a
channel's quiet hours as one digest per channel when the quiet hours end.

A delivery (``alerts.alert_deliveries``) is one notice to one channel: the alert
itself (``notice = 'alert'``, level 1), an escalation (``'escalation'``, level
2, 3 ...) or the resolution (``'resolution'``). Its status moves pending →
sent | failed | skipped, or pending → held → sent (in a digest). Held is a row
with ``held_until`` in the warehouse, so a restart between holding and the end
of the quiet hours loses nothing: whichever process looks next sends it.

No connection is held while talking to the network: the due work is read and
committed first, the sends happen, then their outcomes are recorded.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from bizintel_dagster.alerts import channels as channel_mod
from bizintel_dagster.alerts.config import SEVERITIES, AlertConfig, QuietHours

log = logging.getLogger(__name__)

NOTICES = ("alert", "escalation", "resolution")


# ----------------------------------------------------------------------------
# Quiet hours
# ----------------------------------------------------------------------------


def quiet_until(quiet: QuietHours, now: datetime, timezone_name: str) -> datetime | None:
    """End of the quiet window ``now`` is in (aware), or None outside it. Clock
    times are the business time zone's; a window with start > end spans midnight."""
    tz = ZoneInfo(timezone_name)
    local = now.astimezone(tz)
    clock, today = local.time().replace(tzinfo=None), local.date()
    if quiet.start < quiet.end:
        inside, end_day = quiet.start <= clock < quiet.end, today
    else:
        inside = clock >= quiet.start or clock < quiet.end
        end_day = today + timedelta(days=1) if clock >= quiet.start else today
    if not inside:
        return None
    return datetime.combine(end_day, quiet.end, tzinfo=tz)


def _window_text(quiet: QuietHours) -> str:
    fmt = lambda t: t.strftime("%H:%M:%S" if t.second else "%H:%M")  # noqa: E731
    return f"{fmt(quiet.start)}-{fmt(quiet.end)}"


def hold_in_quiet_hours(con, config: AlertConfig, now: datetime, timezone_name: str, run_id: str | None) -> int:
    """Mark pending / failed deliveries of non-bypass severities to channels now in
    quiet hours as held until the window ends. Committed before anything is sent."""
    held = 0
    for name, channel in config.channels.items():
        if channel.quiet_hours is None:
            continue
        until = quiet_until(channel.quiet_hours, now, timezone_name)
        if until is None:
            continue
        bypass = list(channel.quiet_hours.bypass) or ["-"]
        rows = con.execute(
            """update alerts.alert_deliveries d set status = 'held', held_until = $until
               from alerts.alert_events e
               where d.alert_id = e.alert_id and d.channel = $channel and d.status in ('pending', 'failed')
                 and e.severity not in (select unnest($bypass))
               returning d.alert_id, d.notice, d.level""",
            {"until": until, "channel": name, "bypass": bypass}).fetchall()
        for alert, notice, level in rows:
            con.execute("insert into alerts.alert_history values ($id, $now, 'held', $channel, $detail, $run)",
                        {"id": alert, "now": now, "channel": name, "run": run_id,
                         "detail": f"{notice} (level {level}) held: quiet hours {_window_text(channel.quiet_hours)} "
                                   f"({timezone_name}) until {until.isoformat(timespec='seconds')}"})
        held += len(rows)
        if rows:
            refresh_status(con, sorted({r[0] for r in rows}))
    return held


# ----------------------------------------------------------------------------
# What is due
# ----------------------------------------------------------------------------


@dataclass
class Due:
    single: list[dict[str, Any]]                 # one notification each
    digests: dict[str, list[dict[str, Any]]]     # channel -> held items whose quiet hours are over


_ITEMS_SQL = """
    select d.alert_id, d.channel, d.notice, d.level, d.status, e.severity, e.rule_name, e.subject, e.period,
           e.message, e.figures, s.resolution_note, s.escalation_policy
    from alerts.alert_deliveries d
    join alerts.alert_events e using (alert_id)
    left join alerts.alert_state s using (alert_id)
    where {where}
    order by e.first_seen_at, d.alert_id, d.notice, d.level, d.channel"""


def _item(row, config: AlertConfig) -> dict[str, Any]:
    (alert, channel, notice, level, status, severity, rule, subject, period, message, figures, resolution,
     policy) = row
    figures = json.loads(figures) if figures else {}
    item = {"alert_id": alert, "channel": channel, "notice": notice, "level": level, "severity": severity,
            "rule_name": rule, "subject": subject, "period": period, "figures": figures, "headline": None}
    ack = f"Acknowledge: bizintel alerts ack {alert[:10]} --by NAME"
    if notice == "escalation":
        levels = config.escalation_policies[policy].levels if policy in config.escalation_policies else ()
        delay = levels[level - 1].delay_minutes if 0 < level <= len(levels) else None
        waited = f" {delay:g} min after level {level - 1}" if delay is not None else ""
        item["headline"] = f"ESCALATED L{level}"
        item["message"] = f"Escalated to level {level}: not acknowledged{waited}. {message} {ack}"
    elif notice == "resolution":
        item["headline"] = "RESOLVED"
        item["message"] = f"Resolved: {resolution or 'resolved'}. Was: {message}"
    else:
        item["message"] = f"{message} {ack}"
    return item


def due(con, config: AlertConfig, now: datetime) -> Due:
    single = [_item(r, config) for r in con.execute(
        _ITEMS_SQL.format(where="d.status in ('pending', 'failed')")).fetchall()]
    digests: dict[str, list[dict[str, Any]]] = {}
    for r in con.execute(_ITEMS_SQL.format(where="d.status = 'held' and d.held_until <= $now"), {"now": now}).fetchall():
        item = _item(r, config)
        digests.setdefault(item["channel"], []).append(item)
    return Due(single, digests)


def digest_message(channel: str, items: list[dict[str, Any]], config: AlertConfig) -> dict[str, Any]:
    """One notification for everything a channel held: the most severe first."""
    order = {s: i for i, s in enumerate(SEVERITIES)}
    items = sorted(items, key=lambda i: (order.get(i["severity"], 9), i["period"], i["rule_name"]))
    quiet = config.channels[channel].quiet_hours if channel in config.channels else None
    window = f" ({_window_text(quiet)})" if quiet else ""
    lines = [f"{len(items)} notification(s) held during quiet hours{window}:"]
    for i in items:
        tag = f" {i['headline']}" if i["headline"] else ""
        lines.append(f"- [{i['severity'].upper()}{tag}] {i['message']}")
    ids = sorted(f"{i['alert_id']}:{i['notice']}:{i['level']}" for i in items)
    return {"alert_id": "digest-" + hashlib.sha256("|".join(ids).encode()).hexdigest()[:12],
            "channel": channel, "severity": items[0]["severity"], "rule_name": "quiet-hours digest",
            "subject": "digest", "period": f"{len(items)} held", "headline": "DIGEST",
            "message": "\n".join(lines), "figures": {"alerts": len(items)}}


# ----------------------------------------------------------------------------
# Sending and recording
# ----------------------------------------------------------------------------


def send(config: AlertConfig, work: Due, env, sleep: Callable[[float], None], logger=None):
    """Deliver what is due; returns [(item, result, at, digest_id | None)]."""
    logger = logger or log
    results = []

    def one(item, channel_name):
        channel = config.channels.get(channel_name)
        if channel is None:
            return channel_mod.DeliveryResult("failed", 0, f"channel {channel_name!r} is no longer in the config")
        return channel_mod.deliver(channel, item, env=env, sleep=sleep)

    for item in work.single:
        result = one(item, item["channel"])
        emit = logger.warning if result.status == "failed" else logger.info
        emit(f"alert {item['alert_id']} {item['notice']} L{item['level']} ({item['severity']} {item['rule_name']} "
             f"{item['period']}) -> {item['channel']}: {result.status}"
             + (f" after {result.attempts} attempt(s): {result.error}" if result.error else ""))
        results.append((item, result, datetime.now(timezone.utc), None))
    for channel_name, items in work.digests.items():
        message = digest_message(channel_name, items, config)
        result = one(message, channel_name)
        logger.info(f"digest of {len(items)} held notification(s) -> {channel_name}: {result.status}"
                    + (f": {result.error}" if result.error else ""))
        at = datetime.now(timezone.utc)
        results += [(item, result, at, message["alert_id"]) for item in items]
    return results


def record(con, results, run_id: str | None) -> dict[str, int]:
    """Delivery outcomes, history, and each alert's status from its alert deliveries."""
    counts: dict[str, int] = {}
    con.execute("begin transaction")
    try:
        touched = set()
        for item, result, at, digest in results:
            counts[result.status] = counts.get(result.status, 0) + 1
            con.execute(
                """update alerts.alert_deliveries
                   set status = $status, attempts = attempts + $attempts, last_error = $error,
                       last_attempt_at = $at, sent_at = case when $status = 'sent' then $at else sent_at end
                   where alert_id = $id and channel = $channel and notice = $notice and level = $level""",
                {"status": result.status, "attempts": result.attempts, "error": result.error, "at": at,
                 "id": item["alert_id"], "channel": item["channel"], "notice": item["notice"], "level": item["level"]})
            detail = result.error or f"attempt(s): {result.attempts}"
            if digest:
                detail = f"in digest {digest}; {detail}"
            con.execute("insert into alerts.alert_history values ($id, $at, $event, $channel, $detail, $run)",
                        {"id": item["alert_id"], "at": at, "event": f"delivery_{result.status}",
                         "channel": item["channel"], "detail": f"{item['notice']} L{item['level']}: {detail}",
                         "run": run_id})
            touched.add(item["alert_id"])
        if touched:
            refresh_status(con, sorted(touched))
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return counts


def refresh_status(con, alert_ids: list[str]) -> None:
    """Alert status from its first-level deliveries: any failed -> failed, any
    pending -> pending, any held -> held, any sent -> sent, else (all skipped: no
    channel configured) -> unrouted."""
    con.execute(
        """update alerts.alert_events e set
               status = s.status,
               notified_at = coalesce(e.notified_at, s.first_sent)
           from (select alert_id,
                        case when bool_or(status = 'failed') then 'failed'
                             when bool_or(status = 'pending') then 'pending'
                             when bool_or(status = 'held') then 'held'
                             when bool_or(status = 'sent') then 'sent'
                             else 'unrouted' end as status,
                        min(sent_at) as first_sent
                 from alerts.alert_deliveries where alert_id in (select unnest($ids)) and notice = 'alert'
                 group by alert_id) s
           where e.alert_id = s.alert_id""",
        {"ids": alert_ids})


def dispatch(connect: Callable[[], Any], config: AlertConfig, *, now: datetime, timezone_name: str,
             env: Mapping[str, str] | None, sleep: Callable[[float], None], run_id: str | None = None,
             logger=None) -> dict[str, int]:
    """Hold what quiet hours hold, send everything else that is due, record it."""
    with connect() as con:
        con.execute("begin transaction")
        try:
            hold_in_quiet_hours(con, config, now, timezone_name, run_id)
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        work = due(con, config, now)
    if not work.single and not work.digests:
        return {}
    results = send(config, work, env, sleep, logger)
    with connect() as con:
        return record(con, results, run_id)

