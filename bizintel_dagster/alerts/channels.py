"""Notification channels: Slack-compatible webhook, SMTP e-mail, JSON-lines log file.

Every URL, host, address and credential is read from the environment variables
the channel config names, at send time. ``deliver`` retries a failed send with
exponential backoff and returns what happened; it never raises, so one broken
channel cannot stop the others (or lose the alert: the caller records the
outcome and retries later).
"""

from __future__ import annotations

import json
import os
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from bizintel_dagster.alerts.config import Channel

SEVERITY_COLOR = {"critical": "#B71C1C", "high": "#E65100", "medium": "#F9A825", "low": "#1565C0"}
SEVERITY_ICON = {"critical": ":red_circle:", "high": ":large_orange_circle:", "medium": ":large_yellow_circle:",
                 "low": ":large_blue_circle:"}


class NotConfigured(Exception):
    """The channel's environment variables are not set: nothing to send to."""


@dataclass(frozen=True)
class DeliveryResult:
    status: str  # sent | failed | skipped
    attempts: int
    error: str | None = None


def _env(env: Mapping[str, str], name: str | None, what: str, required: bool = True) -> str | None:
    value = (env.get(name) or "").strip() if name else ""
    if not value:
        if required:
            raise NotConfigured(f"{what}: environment variable {name} is not set")
        return None
    return value


def subject_line(alert: Mapping[str, Any]) -> str:
    return f"[bizintel][{alert['severity'].upper()}] {alert['rule_name']}: {alert['period']}"


def slack_payload(alert: Mapping[str, Any]) -> dict:
    """Slack incoming-webhook JSON: ``text`` (fallback and notification), ``blocks``
    for the message, and a coloured ``attachments`` bar for the severity."""
    figures = alert.get("figures") or {}
    fields = [{"type": "mrkdwn", "text": f"*Severity*\n{alert['severity']}"},
              {"type": "mrkdwn", "text": f"*Period*\n{alert['period']}"}]
    for label, value in list(figures.items())[:8]:
        fields.append({"type": "mrkdwn", "text": f"*{label}*\n{value}"})
    text = f"{SEVERITY_ICON.get(alert['severity'], '')} [{alert['severity'].upper()}] {alert['message']}".strip()
    return {
        "text": text,
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": f"{alert['severity'].upper()}: {alert['rule_name']}"[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": alert["message"][:3000]}},
            {"type": "section", "fields": fields[:10]},
            {"type": "context", "elements": [{"type": "mrkdwn",
                                              "text": f"subject `{alert['subject']}` · alert `{alert['alert_id']}`"}]},
        ],
        "attachments": [{"color": SEVERITY_COLOR.get(alert["severity"], "#607D8B"), "fallback": text}],
    }


def email_body(alert: Mapping[str, Any]) -> str:
    lines = [alert["message"], "", f"Severity: {alert['severity']}", f"Rule: {alert['rule_name']}",
             f"Subject: {alert['subject']}", f"Period: {alert['period']}"]
    for label, value in (alert.get("figures") or {}).items():
        lines.append(f"{label}: {value}")
    lines += ["", f"Alert id: {alert['alert_id']}", "-- bizintel alerts"]
    return "\n".join(lines) + "\n"


def send_webhook(channel: Channel, alert: Mapping[str, Any], env: Mapping[str, str]) -> None:
    url = _env(env, channel.url_env, f"channel {channel.name}")
    body = json.dumps(slack_payload(alert)).encode()
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", "User-Agent": "bizintel-alerts"})
    with urllib.request.urlopen(request, timeout=channel.timeout_seconds) as response:  # noqa: S310 - URL from env
        if response.status >= 300:
            raise RuntimeError(f"webhook answered HTTP {response.status}")


def send_email(channel: Channel, alert: Mapping[str, Any], env: Mapping[str, str]) -> None:
    what = f"channel {channel.name}"
    host = _env(env, channel.host_env, what)
    recipients = [r.strip() for r in _env(env, channel.recipients_env, what).split(",") if r.strip()]
    sender = channel.sender or _env(env, channel.sender_env, what)
    port_text = _env(env, channel.port_env, what, required=False) if channel.port_env else None
    port = int(port_text) if port_text else channel.port or (465 if channel.ssl else 587 if channel.starttls else 25)
    username = _env(env, channel.username_env, what, required=False) if channel.username_env else None
    password = _env(env, channel.password_env, what, required=False) if channel.password_env else None

    message = EmailMessage()
    message["Subject"] = subject_line(alert)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["X-Bizintel-Alert-Id"] = alert["alert_id"]
    message["X-Bizintel-Severity"] = alert["severity"]
    message.set_content(email_body(alert))

    # A private relay's CA (PEM file named by ca_file_env), else the system's CAs.
    ca_file = _env(env, channel.ca_file_env, what, required=False) if channel.ca_file_env else None
    context = ssl.create_default_context(cafile=ca_file)
    smtp_class = smtplib.SMTP_SSL if channel.ssl else smtplib.SMTP
    kwargs = {"context": context} if channel.ssl else {}
    with smtp_class(host, port, timeout=channel.timeout_seconds, **kwargs) as smtp:
        smtp.ehlo()
        if channel.starttls and not channel.ssl:
            smtp.starttls(context=context)
            smtp.ehlo()
        if username and password:
            smtp.login(username, password)
        smtp.send_message(message, from_addr=sender, to_addrs=recipients)


def send_log_file(channel: Channel, alert: Mapping[str, Any], env: Mapping[str, str]) -> None:
    path = Path(_env(env, channel.path_env, f"channel {channel.name}"))
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"logged_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              **{k: alert[k] for k in ("alert_id", "severity", "rule_name", "subject", "period", "message")},
              "figures": alert.get("figures") or {}}
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record, default=str) + "\n")
        f.flush()
        os.fsync(f.fileno())


SENDERS: dict[str, Callable[[Channel, Mapping[str, Any], Mapping[str, str]], None]] = {
    "webhook": send_webhook,
    "email": send_email,
    "log_file": send_log_file,
}


def _describe(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    return f"{type(exc).__name__}: {exc}"[:500]


def deliver(channel: Channel, alert: Mapping[str, Any], *, env: Mapping[str, str] | None = None,
            sleep: Callable[[float], None] = time.sleep) -> DeliveryResult:
    """Send with up to ``channel.retry.attempts`` tries, waiting backoff, 2x backoff,
    4x backoff ... (capped) between them."""
    env = os.environ if env is None else env
    send = SENDERS[channel.type]
    error = None
    for attempt in range(1, channel.retry.attempts + 1):
        try:
            send(channel, alert, env)
            return DeliveryResult("sent", attempt)
        except NotConfigured as exc:
            return DeliveryResult("skipped", 0, f"not configured: {exc}")
        except Exception as exc:  # noqa: BLE001 - any failure is recorded and retried
            error = _describe(exc)
            if attempt < channel.retry.attempts:
                sleep(min(channel.retry.backoff_seconds * 2 ** (attempt - 1), channel.retry.max_backoff_seconds))
    return DeliveryResult("failed", channel.retry.attempts, error)
