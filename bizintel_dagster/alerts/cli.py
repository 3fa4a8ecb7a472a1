"""`bizintel alerts`: see notified alerts and act on them.

    bizintel alerts list [--all]
    bizintel alerts ack ID --by NAME [--note TEXT]         stops escalation
    bizintel alerts snooze ID --by NAME --minutes N        no escalation until then
    bizintel alerts resolve ID --by NAME [--note TEXT]     stops escalation, sends one resolution notice

ID is the alert id or a unique prefix of it (notifications print its first 10
characters). Each change is one short write transaction on the working
warehouse, recorded with who and when in ``alerts.alert_history``. DuckDB lets
one process write at a time: while a pipeline run holds the file the command
waits and retries (``policies.BACKOFF_SECONDS``), then says so and exits 2.
The resolution notice is sent by ``alert_escalation_sensor`` (or the next alert run).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone

from bizintel_dagster import policies, settings, warehouse
from bizintel_dagster.alerts import engine, lifecycle

LOCKED_EXIT = 2


def _write(change, waits=policies.BACKOFF_SECONDS):
    def attempt():
        with warehouse.connect() as con:
            engine.ensure_schema(con)
            return lifecycle.in_transaction(con, lambda: change(con))

    def waiting(wait, exc):
        print(f"warehouse is locked by another process, retrying in {wait:g}s", file=sys.stderr)

    return policies.retry_locked(attempt, waits=waits, on_wait=waiting)


def _list(show_all: bool) -> None:
    if not settings.warehouse_path().exists():
        raise SystemExit(f"no warehouse at {settings.warehouse_path()}")
    with warehouse.connect(read_only=True) as con:
        exists = con.execute("select count(*) from duckdb_tables() where schema_name = 'alerts' "
                             "and table_name = 'alert_state'").fetchone()[0]
        if not exists:
            print("no notified alerts yet")
            return
        rows = con.execute(
            f"""select left(s.alert_id, 10), e.severity, e.rule_name, e.period, s.state, s.level,
                       coalesce(s.state_by, ''), strftime(s.state_at, '%Y-%m-%d %H:%M')
                from alerts.alert_state s join alerts.alert_events e using (alert_id)
                {'' if show_all else "where s.state <> 'resolved'"}
                order by e.first_seen_at desc""").fetchall()
    header = ("id", "severity", "rule", "period", "state", "level", "by", "since (UTC)")
    shown = [header] + [tuple(str(v) for v in r) for r in rows]
    widths = [max(len(r[i]) for r in shown) for i in range(len(header))]
    for r in shown:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())


def main(args: argparse.Namespace) -> None:
    if args.alerts_command == "list":
        _list(args.all)
        return
    now = datetime.now(timezone.utc)
    action = {
        "ack": lambda con: lifecycle.acknowledge(con, args.id, by=args.by, now=now, note=args.note or ""),
        "resolve": lambda con: lifecycle.resolve_by(con, args.id, by=args.by, now=now, note=args.note or ""),
        "snooze": lambda con: lifecycle.snooze(con, args.id, by=args.by, now=now, minutes=args.minutes,
                                               note=args.note or ""),
    }[args.alerts_command]
    try:
        change = _write(action)
    except (lifecycle.AlertNotFound, lifecycle.InvalidTransition) as exc:
        raise SystemExit(f"bizintel alerts {args.alerts_command}: {exc}") from None
    except Exception as exc:
        if policies.is_transient(exc):
            print(f"bizintel alerts {args.alerts_command}: the warehouse {settings.warehouse_path()} is still locked "
                  f"by another process (a pipeline run?) after {len(policies.BACKOFF_SECONDS) + 1} tries; nothing "
                  f"was changed. Try again when the run has finished. ({str(exc)[:200]})", file=sys.stderr)
            raise SystemExit(LOCKED_EXIT) from None
        raise
    extra = f" until {change.extra['until']:%Y-%m-%d %H:%M:%S %Z}" if "until" in change.extra else ""
    print(f"alert {change.alert_id}: {change.previous} -> {change.state}{extra} (by {args.by})")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("alerts", help="list notified alerts; acknowledge, snooze or resolve one")
    asub = p.add_subparsers(dest="alerts_command", required=True)
    lp = asub.add_parser("list", help="alerts not yet resolved (--all: every notified alert)")
    lp.add_argument("--all", action="store_true")
    for name, text in (("ack", "acknowledge: I'm on it (stops escalation)"),
                       ("resolve", "resolve: stops escalation and sends one resolution notice"),
                       ("snooze", "no escalation for --minutes, then the current level's delay starts again")):
        q = asub.add_parser(name, help=text)
        q.add_argument("id", help="alert id or a unique prefix")
        q.add_argument("--by", required=True, help="who (recorded in alerts.alert_history)")
        q.add_argument("--note", help="why (recorded too)")
        if name == "snooze":
            q.add_argument("--minutes", type=float, required=True)
