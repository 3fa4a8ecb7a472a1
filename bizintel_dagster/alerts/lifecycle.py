"""What happens to an alert after it is raised: escalation, acknowledgement,
snooze, resolution.

``alerts.alert_state`` has one row per notified alert: its state (open |
acknowledged | snoozed | resolved), who set it and when, its escalation policy,
the level it has reached and when that level was notified. Every change is also
a row of ``alerts.alert_history`` (with who, for the command line's changes).

- An open alert with a policy climbs a level when the next level's
  ``delay_minutes`` have passed since the current one; the new level's channels
  get an ``escalation`` delivery. ``escalate_due`` runs on every tick of
  ``alert_escalation_sensor`` (and in every evaluation run), so the timing
  survives restarts: it is all in the warehouse.
- Acknowledged alerts never escalate again; snoozed ones wait until the snooze
  ends, then the current level's delay starts again.
- An alert resolves when its rule finds the KPI within bounds at a later point
  (``resolve_recovered``) or when someone resolves it; either way it stops
  escalating and one ``resolution`` delivery goes to each channel it reached.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bizintel_dagster.alerts.config import AlertConfig

STATES = ("open", "acknowledged", "snoozed", "resolved")
ACTIVE = ("open", "acknowledged", "snoozed")

DDL = """
create table if not exists alerts.alert_state (
    alert_id varchar not null,
    rule_name varchar not null,
    subject varchar not null,
    observed_at timestamp,            -- the breaching data point (business-local): later points within bounds resolve
    escalation_policy varchar,
    level integer not null,           -- highest level notified (1 = the alert itself)
    level_at timestamptz not null,    -- when that level was queued: the next level's delay counts from here
    state varchar not null,           -- open | acknowledged | snoozed | resolved
    state_by varchar,
    state_at timestamptz not null,
    snoozed_until timestamptz,
    resolved_at timestamptz,
    resolution_note varchar
);
alter table alerts.alert_deliveries add column if not exists notice varchar default 'alert';
alter table alerts.alert_deliveries add column if not exists level integer default 1;
alter table alerts.alert_deliveries add column if not exists held_until timestamptz;
"""


class AlertNotFound(LookupError):
    pass


class InvalidTransition(ValueError):
    pass


def _history(con, alert_id: str, now: datetime, event: str, detail: str, run_id: str | None = None,
             channel: str | None = None) -> None:
    con.execute("insert into alerts.alert_history values ($id, $now, $event, $channel, $detail, $run)",
                {"id": alert_id, "now": now, "event": event, "channel": channel, "detail": detail, "run": run_id})


def queue(con, alert_id: str, channels: Iterable[str], notice: str, level: int) -> None:
    for channel in channels:
        con.execute(
            """insert into alerts.alert_deliveries (alert_id, channel, status, attempts, notice, level)
               select $id, $channel, 'pending', 0, $notice, $level
               where not exists (select 1 from alerts.alert_deliveries
                                 where alert_id = $id and channel = $channel and notice = $notice and level = $level)""",
            {"id": alert_id, "channel": channel, "notice": notice, "level": level})


def start(con, alert_id: str, rule_name: str, subject: str, observed_at: datetime | None,
          escalation_policy: str | None, now: datetime) -> None:
    """The state of a newly notified alert: open at level 1."""
    con.execute(
        """insert into alerts.alert_state values ($id, $rule, $subject, $observed_at, $policy, 1, $now, 'open',
                                                  null, $now, null, null, null)""",
        {"id": alert_id, "rule": rule_name, "subject": subject, "observed_at": observed_at,
         "policy": escalation_policy, "now": now})


# ----------------------------------------------------------------------------
# Escalation
# ----------------------------------------------------------------------------


def escalate_due(con, config: AlertConfig, now: datetime, run_id: str | None = None) -> list[tuple[str, int]]:
    """Snoozes that ended reopen; open alerts whose next level's delay has passed
    climb one level. Returns [(alert_id, new level)]. Caller commits."""
    for alert_id, until in con.execute(
            "select alert_id, snoozed_until from alerts.alert_state where state = 'snoozed' and snoozed_until <= $now",
            {"now": now}).fetchall():
        con.execute("update alerts.alert_state set state = 'open', state_at = $now, level_at = $now, state_by = null "
                    "where alert_id = $id", {"id": alert_id, "now": now})
        _history(con, alert_id, now, "snooze_ended", f"snoozed until {until.isoformat(timespec='seconds')}", run_id)
    climbed = []
    rows = con.execute("""select alert_id, escalation_policy, level, level_at from alerts.alert_state
                          where state = 'open' and escalation_policy is not null""").fetchall()
    for alert_id, policy_name, level, level_at in rows:
        policy = config.escalation_policies.get(policy_name)
        if policy is None or level >= len(policy.levels):
            continue
        nxt = policy.levels[level]  # levels are 1-based in the table, 0-based here
        if level_at + timedelta(minutes=nxt.delay_minutes) > now:
            continue
        queue(con, alert_id, nxt.channels, "escalation", level + 1)
        con.execute("update alerts.alert_state set level = $level, level_at = $now where alert_id = $id",
                    {"id": alert_id, "level": level + 1, "now": now})
        _history(con, alert_id, now, "escalated",
                 f"level {level + 1} ({', '.join(nxt.channels)}): not acknowledged {nxt.delay_minutes:g} min "
                 f"after level {level}", run_id)
        climbed.append((alert_id, level + 1))
    return climbed


# ----------------------------------------------------------------------------
# Resolution
# ----------------------------------------------------------------------------


def _reached_channels(con, alert_id: str) -> list[str]:
    return [c for (c,) in con.execute(
        """select distinct channel from alerts.alert_deliveries
           where alert_id = $id and notice in ('alert', 'escalation') order by 1""", {"id": alert_id}).fetchall()]


def resolve(con, alert_id: str, now: datetime, *, by: str, note: str, run_id: str | None = None) -> None:
    """Resolve an active alert and queue one resolution notice per channel it
    reached. Caller commits."""
    con.execute("""update alerts.alert_state set state = 'resolved', state_by = $by, state_at = $now,
                   resolved_at = $now, resolution_note = $note, snoozed_until = null where alert_id = $id""",
                {"id": alert_id, "by": by, "now": now, "note": note})
    _history(con, alert_id, now, "resolved", f"by {by}: {note}", run_id)
    queue(con, alert_id, _reached_channels(con, alert_id), "resolution", 0)


def resolve_recovered(con, recovered: dict[str, list[tuple[datetime, str]]], now: datetime,
                      run_id: str | None = None) -> list[str]:
    """``recovered``: rule name -> [(point within bounds, how it read)]. An active
    alert of the rule whose breach came before such a point is resolved by it
    (the earliest one). Caller commits."""
    resolved = []
    if not recovered:
        return resolved
    rows = con.execute(
        """select alert_id, rule_name, observed_at from alerts.alert_state
           where state in ('open', 'acknowledged', 'snoozed') and rule_name in (select unnest($rules))
             and observed_at is not null""", {"rules": sorted(recovered)}).fetchall()
    for alert_id, rule, observed_at in rows:
        later = sorted(p for p in recovered[rule] if p[0] > observed_at)
        if not later:
            continue
        point, reading = later[0]
        resolve(con, alert_id, now, by="bizintel", note=f"back within bounds on {reading}", run_id=run_id)
        resolved.append(alert_id)
    return resolved


# ----------------------------------------------------------------------------
# People: acknowledge, snooze, resolve (the `bizintel alerts` command)
# ----------------------------------------------------------------------------


def find(con, alert_ref: str) -> tuple[str, str]:
    """The alert an id or unique id prefix names: (alert_id, state)."""
    rows = con.execute("select alert_id, state from alerts.alert_state where starts_with(alert_id, $ref)",
                       {"ref": alert_ref.strip().lower()}).fetchall()
    if not rows:
        known = con.execute("select count(*) from alerts.alert_events where starts_with(alert_id, $ref)",
                            {"ref": alert_ref.strip().lower()}).fetchone()[0]
        why = " (it was not notified: suppressed or unrouted alerts have no state)" if known else ""
        raise AlertNotFound(f"no notified alert with id {alert_ref!r}{why}")
    if len(rows) > 1:
        raise AlertNotFound(f"{alert_ref!r} matches {len(rows)} alerts: give more of the id")
    return rows[0]


@dataclass
class Change:
    alert_id: str
    previous: str
    state: str
    detail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def acknowledge(con, alert_ref: str, *, by: str, now: datetime, note: str = "") -> Change:
    alert_id, state = find(con, alert_ref)
    if state == "resolved":
        raise InvalidTransition(f"alert {alert_id} is already resolved")
    if state == "acknowledged":
        raise InvalidTransition(f"alert {alert_id} is already acknowledged")
    con.execute("""update alerts.alert_state set state = 'acknowledged', state_by = $by, state_at = $now,
                   snoozed_until = null where alert_id = $id""", {"id": alert_id, "by": by, "now": now})
    _history(con, alert_id, now, "acknowledged", f"by {by}" + (f": {note}" if note else ""))
    return Change(alert_id, state, "acknowledged")


def snooze(con, alert_ref: str, *, by: str, now: datetime, minutes: float, note: str = "") -> Change:
    alert_id, state = find(con, alert_ref)
    if state == "resolved":
        raise InvalidTransition(f"alert {alert_id} is already resolved")
    until = now + timedelta(minutes=minutes)
    con.execute("""update alerts.alert_state set state = 'snoozed', state_by = $by, state_at = $now,
                   snoozed_until = $until where alert_id = $id""",
                {"id": alert_id, "by": by, "now": now, "until": until})
    _history(con, alert_id, now, "snoozed", f"by {by} until {until.isoformat(timespec='seconds')}"
             + (f": {note}" if note else ""))
    return Change(alert_id, state, "snoozed", extra={"until": until})


def resolve_by(con, alert_ref: str, *, by: str, now: datetime, note: str = "") -> Change:
    alert_id, state = find(con, alert_ref)
    if state == "resolved":
        raise InvalidTransition(f"alert {alert_id} is already resolved")
    resolve(con, alert_id, now, by=by, note=note or f"resolved by {by}")
    return Change(alert_id, state, "resolved")


def in_transaction(con, fn: Callable[[], Any]) -> Any:
    con.execute("begin transaction")
    try:
        out = fn()
        con.execute("commit")
        return out
    except BaseException:
        con.execute("rollback")
        raise
