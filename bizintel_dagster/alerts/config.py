"""Alert rules and channels from a YAML file, validated on load.

Every problem is reported with the file and line it comes from (PyYAML node
marks), e.g. ``config/alerts.yaml:42: rules[3].threshold_pct: expected a
number > 0, got 'fifteen'``. Secrets never live in the file: channels name the
environment variables that hold URLs, hosts and credentials.

The format is documented in ``config/alerts.yaml`` itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bizintel_dagster.marked_yaml import Marked, compose, describe
from bizintel_dagster.metrics import semantic_manifest_path

SEVERITIES = ("critical", "high", "medium", "low")
RULE_KINDS = ("change_vs_trailing_average", "hourly_threshold", "seasonal_zscore")
CHANNEL_TYPES = ("webhook", "email", "log_file")
DIRECTIONS = ("drop", "rise")
ZSCORE_DIRECTIONS = ("drop", "rise", "both")
FORMATS = ("number", "money_minor", "ratio", "count")

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$")
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class AlertConfigError(ValueError):
    """A problem in the alerts config, with the line it was found on."""


# ----------------------------------------------------------------------------
# The model
# ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Retry:
    attempts: int = 3
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 30.0


@dataclass(frozen=True)
class Channel:
    name: str
    type: str
    line: int
    retry: Retry
    timeout_seconds: float = 10.0
    # webhook
    url_env: str | None = None
    # email
    host_env: str | None = None
    port: int | None = None
    port_env: str | None = None
    starttls: bool = True
    ssl: bool = False
    username_env: str | None = None
    password_env: str | None = None
    sender: str | None = None
    sender_env: str | None = None
    recipients_env: str | None = None
    ca_file_env: str | None = None
    # log file
    path_env: str | None = None


@dataclass(frozen=True)
class Metric:
    """A metric of the semantic layer (dbt_project/models/semantic/metrics.yml), by
    name: the rule's values are that metric per day (per hour for hourly rules)."""

    name: str

    @property
    def subject(self) -> str:
        return self.name


@dataclass(frozen=True)
class Rule:
    name: str
    kind: str
    severity: str
    metric: Metric
    line: int
    description: str = ""
    format: str = "number"
    channels: tuple[str, ...] = ()
    cooldown_minutes: int | None = None
    enabled: bool = True
    # change_vs_trailing_average
    direction: str = "drop"
    threshold_pct: float | None = None
    window_days: int = 7
    min_history: int | None = None
    min_baseline: float = 0.0
    # hourly_threshold
    above: float | None = None
    # seasonal_zscore
    sensitivity: float = 3.0
    weeks: int = 8
    min_stddev_pct: float = 5.0


@dataclass(frozen=True)
class CheckAlerts:
    enabled: bool = True
    severity_blocking: str = "critical"
    severity_error: str = "high"
    severity_warn: str = "medium"
    channels: tuple[str, ...] = ()
    cooldown_minutes: int | None = None


@dataclass(frozen=True)
class AlertConfig:
    source: str
    rules: tuple[Rule, ...]
    channels: dict[str, Channel]
    default_channels: tuple[str, ...]
    cooldown_minutes: int = 1440
    lookback_days: int = 7
    asset_checks: CheckAlerts = field(default_factory=CheckAlerts)

    def rule(self, name: str) -> Rule:
        for rule in self.rules:
            if rule.name == name:
                return rule
        raise KeyError(name)

    def channels_for(self, names: tuple[str, ...]) -> tuple[str, ...]:
        return names or self.default_channels


# ----------------------------------------------------------------------------
# Validation
# ----------------------------------------------------------------------------


class _Section:
    """Typed access to one mapping of the file; every error names its line."""

    def __init__(self, source: str, path: str, node: Marked, allowed: set[str]):
        self.source, self.path, self.node = source, path, node
        if not isinstance(node.value, dict):
            self.fail(node.line, f"expected a mapping, got {describe(node.value)}")
        self.items: dict[str, Marked] = node.value
        for key, value in self.items.items():
            if key not in allowed:
                self.fail(value.line, f"unknown key {key!r} (allowed: {', '.join(sorted(allowed))})", key)

    def fail(self, line: int, message: str, key: str | None = None):
        where = f"{self.path}.{key}" if key else self.path
        raise AlertConfigError(f"{self.source}:{line}: {where}: {message}")

    def has(self, key: str) -> bool:
        return key in self.items and self.items[key].value is not None

    def line(self, key: str | None = None) -> int:
        return self.items[key].line if key and key in self.items else self.node.line

    def require(self, key: str):
        if not self.has(key):
            self.fail(self.node.line, f"missing required key {key!r}")

    def str(self, key: str, default: str | None = None, *, pattern: re.Pattern | None = None,
            choices: tuple[str, ...] | None = None, hint: str = "") -> str | None:
        if not self.has(key):
            return default
        item = self.items[key]
        if not isinstance(item.value, str) or not item.value.strip():
            self.fail(item.line, f"expected a non-empty string, got {describe(item.value)}", key)
        value = item.value.strip()
        if choices and value not in choices:
            self.fail(item.line, f"{value!r} is not one of {', '.join(choices)}", key)
        if pattern and not pattern.match(value):
            self.fail(item.line, f"{value!r} is not valid{hint}", key)
        return value

    def num(self, key: str, default: float | None = None, *, minimum: float | None = None,
            exclusive: bool = False, integer: bool = False) -> Any:
        if not self.has(key):
            return default
        item = self.items[key]
        ok_type = isinstance(item.value, int) if integer else isinstance(item.value, (int, float))
        if isinstance(item.value, bool) or not ok_type:
            kind = "an integer" if integer else "a number"
            self.fail(item.line, f"expected {kind}, got {describe(item.value)}", key)
        if minimum is not None and (item.value <= minimum if exclusive else item.value < minimum):
            self.fail(item.line, f"must be {'>' if exclusive else '>='} {minimum}, got {item.value}", key)
        return item.value

    def bool(self, key: str, default: bool) -> bool:
        if not self.has(key):
            return default
        item = self.items[key]
        if not isinstance(item.value, bool):
            self.fail(item.line, f"expected true or false, got {describe(item.value)}", key)
        return item.value

    def names(self, key: str) -> tuple[str, ...]:
        if not self.has(key):
            return ()
        item = self.items[key]
        if not isinstance(item.value, list) or not item.value:
            self.fail(item.line, f"expected a non-empty list of names, got {describe(item.value)}", key)
        out = []
        for entry in item.value:
            if not isinstance(entry.value, str) or not _NAME.match(entry.value):
                self.fail(entry.line, f"expected a name (lower_case), got {describe(entry.value)}", key)
            out.append(entry.value)
        return tuple(out)

    def section(self, key: str, allowed: set[str]) -> "_Section | None":
        if key not in self.items or self.items[key].value is None:
            return None
        return _Section(self.source, f"{self.path}.{key}" if self.path else key, self.items[key], allowed)


_CHANNEL_KEYS = {
    "webhook": {"url_env"},
    "email": {"host_env", "port", "port_env", "starttls", "ssl", "username_env", "password_env",
              "sender", "sender_env", "recipients_env", "ca_file_env"},
    "log_file": {"path_env"},
}
_SECRET_LITERALS = {"url", "host", "password", "username", "user", "recipients", "path", "token"}


def _channel(source: str, name: str, node: Marked) -> Channel:
    if not _NAME.match(name):
        raise AlertConfigError(f"{source}:{node.line}: channels.{name}: channel names are lower_case")
    path = f"channels.{name}"
    probe = node.value if isinstance(node.value, dict) else {}
    for key, value in probe.items():
        if key in _SECRET_LITERALS:
            raise AlertConfigError(
                f"{source}:{value.line}: {path}.{key}: URLs, hosts, credentials and paths come from the "
                f"environment: use {key}_env: NAME_OF_VARIABLE")
    ctype_node = probe.get("type")
    ctype = ctype_node.value if ctype_node else None
    if ctype not in CHANNEL_TYPES:
        line = ctype_node.line if ctype_node else node.line
        raise AlertConfigError(f"{source}:{line}: {path}.type: expected one of {', '.join(CHANNEL_TYPES)}, got {describe(ctype)}")
    s = _Section(source, path, node, {"type", "retry", "timeout_seconds"} | _CHANNEL_KEYS[ctype])
    retry = Retry()
    r = s.section("retry", {"attempts", "backoff_seconds", "max_backoff_seconds"})
    if r:
        retry = Retry(
            attempts=r.num("attempts", 3, minimum=1, integer=True),
            backoff_seconds=float(r.num("backoff_seconds", 1.0, minimum=0)),
            max_backoff_seconds=float(r.num("max_backoff_seconds", 30.0, minimum=0)),
        )
    env = lambda key: s.str(key, pattern=_ENV_NAME, hint=" (an environment variable name, UPPER_CASE)")  # noqa: E731
    kwargs: dict[str, Any] = {"timeout_seconds": float(s.num("timeout_seconds", 10.0, minimum=0, exclusive=True))}
    if ctype == "webhook":
        s.require("url_env")
        kwargs["url_env"] = env("url_env")
    elif ctype == "email":
        s.require("host_env")
        s.require("recipients_env")
        if s.has("sender") == s.has("sender_env"):
            s.fail(s.line(), "give exactly one of 'sender' or 'sender_env'")
        if s.has("port") and s.has("port_env"):
            s.fail(s.line("port_env"), "give 'port' or 'port_env', not both")
        starttls, ssl = s.bool("starttls", True), s.bool("ssl", False)
        if starttls and ssl:
            s.fail(s.line("ssl"), "'ssl' (implicit TLS) and 'starttls' exclude each other")
        if s.has("username_env") != s.has("password_env"):
            given = "username_env" if s.has("username_env") else "password_env"
            s.fail(s.line(given), "SMTP auth needs both 'username_env' and 'password_env'", given)
        kwargs.update(
            host_env=env("host_env"), port=s.num("port", None, minimum=1, integer=True), port_env=env("port_env"),
            starttls=starttls, ssl=ssl, username_env=env("username_env"), password_env=env("password_env"),
            sender=s.str("sender"), sender_env=env("sender_env"), recipients_env=env("recipients_env"),
            ca_file_env=env("ca_file_env"),
        )
    else:
        s.require("path_env")
        kwargs["path_env"] = env("path_env")
    return Channel(name=name, type=ctype, line=node.line, retry=retry, **kwargs)


_RULE_COMMON = {"name", "kind", "severity", "description", "metric", "format", "channels",
                "cooldown_minutes", "enabled"}
_RULE_KEYS = {
    "change_vs_trailing_average": _RULE_COMMON | {"direction", "threshold_pct", "window_days", "min_history", "min_baseline"},
    "hourly_threshold": _RULE_COMMON | {"above"},
    "seasonal_zscore": _RULE_COMMON | {"direction", "sensitivity", "weeks", "min_history", "min_stddev_pct", "min_baseline"},
}


def _rule(source: str, index: int, node: Marked, known_channels: dict[str, Channel],
          metric_names: Collection[str]) -> Rule:
    path = f"rules[{index}]"
    probe = node.value if isinstance(node.value, dict) else {}
    kind_node = probe.get("kind")
    kind = kind_node.value if kind_node else None
    if kind not in RULE_KINDS:
        line = kind_node.line if kind_node else node.line
        raise AlertConfigError(f"{source}:{line}: {path}.kind: expected one of {', '.join(RULE_KINDS)}, got {describe(kind)}")
    s = _Section(source, path, node, _RULE_KEYS[kind])
    for key in ("name", "severity", "metric"):
        s.require(key)
    name = s.str("name", pattern=_NAME, hint=" (lower_case letters, digits, _)")
    s.path = f"rules[{index}] ({name})"
    s.str("metric", pattern=_NAME, hint=" (a metric name of the semantic layer)")
    metric_name = s.items["metric"].value.strip()
    if metric_name not in metric_names:
        close = sorted(n for n in metric_names if metric_name.split("_")[0] in n)[:8]
        s.fail(s.line("metric"), f"unknown metric {metric_name!r}: not in the semantic layer "
               f"(dbt_project/models/semantic/metrics.yml; `bizintel metrics list`)"
               + (f"; similar: {', '.join(close)}" if close else ""), "metric")
    metric = Metric(metric_name)
    kwargs: dict[str, Any] = dict(
        name=name, kind=kind, metric=metric, line=node.line,
        severity=s.str("severity", choices=SEVERITIES),
        description=s.str("description", "") or "",
        format=s.str("format", "number", choices=FORMATS),
        channels=s.names("channels"),
        cooldown_minutes=s.num("cooldown_minutes", None, minimum=0, integer=True),
        enabled=s.bool("enabled", True),
    )
    for channel in kwargs["channels"]:
        if channel not in known_channels:
            s.fail(s.line("channels"), f"unknown channel {channel!r} (defined: {', '.join(known_channels) or 'none'})",
                   "channels")
    if kind == "change_vs_trailing_average":
        s.require("direction")
        s.require("threshold_pct")
        window = s.num("window_days", 7, minimum=1, integer=True)
        kwargs.update(
            direction=s.str("direction", choices=DIRECTIONS),
            threshold_pct=float(s.num("threshold_pct", minimum=0, exclusive=True)),
            window_days=window,
            min_history=s.num("min_history", window, minimum=1, integer=True),
            min_baseline=float(s.num("min_baseline", 0.0, minimum=0)),
        )
        if kwargs["min_history"] > window:
            s.fail(s.line("min_history"), f"min_history ({kwargs['min_history']}) cannot exceed window_days ({window})", "min_history")
    elif kind == "hourly_threshold":
        s.require("above")
        kwargs["above"] = float(s.num("above", minimum=0))
    else:
        weeks = s.num("weeks", 8, minimum=2, integer=True)
        kwargs.update(
            direction=s.str("direction", "both", choices=ZSCORE_DIRECTIONS),
            sensitivity=float(s.num("sensitivity", 3.0, minimum=0, exclusive=True)),
            weeks=weeks,
            min_history=s.num("min_history", 4, minimum=2, integer=True),
            min_stddev_pct=float(s.num("min_stddev_pct", 5.0, minimum=0)),
            min_baseline=float(s.num("min_baseline", 0.0, minimum=0)),
        )
        if kwargs["min_history"] > weeks:
            s.fail(s.line("min_history"), f"min_history ({kwargs['min_history']}) cannot exceed weeks ({weeks})", "min_history")
    return Rule(**kwargs)


def parse(text: str, source: str = "<alerts config>", metric_names: Collection[str] | None = None) -> AlertConfig:
    """``metric_names``: the metrics a rule may name (default: the semantic manifest's)."""
    if metric_names is None:
        metric_names = semantic_metric_names()
    root = compose(text, source, AlertConfigError)
    if root is None:
        raise AlertConfigError(f"{source}:1: the file is empty")
    top = _Section(source, "", root, {"version", "settings", "channels", "asset_checks", "rules"})
    top.path = "(top level)"
    top.require("version")
    if top.items["version"].value != 1:
        top.fail(top.line("version"), f"unsupported version {top.items['version'].value!r} (expected 1)", "version")
    top.path = ""

    channels: dict[str, Channel] = {}
    ch_node = top.items.get("channels")
    if ch_node is not None and ch_node.value is not None:
        if not isinstance(ch_node.value, dict):
            raise AlertConfigError(f"{source}:{ch_node.line}: channels: expected a mapping of name -> channel")
        for name, node in ch_node.value.items():
            channels[name] = _channel(source, name, node)

    settings = top.section("settings", {"cooldown_minutes", "lookback_days", "default_channels"})
    default_channels = settings.names("default_channels") if settings else ()
    if not default_channels:
        default_channels = tuple(channels)
    cooldown = settings.num("cooldown_minutes", 1440, minimum=0, integer=True) if settings else 1440
    lookback = settings.num("lookback_days", 7, minimum=1, integer=True) if settings else 7

    def check_channels(names: tuple[str, ...], line: int, where: str):
        for n in names:
            if n not in channels:
                raise AlertConfigError(f"{source}:{line}: {where}: unknown channel {n!r} (defined: {', '.join(channels) or 'none'})")

    if settings:
        check_channels(default_channels, settings.line("default_channels"), "settings.default_channels")

    checks = CheckAlerts()
    c = top.section("asset_checks", {"enabled", "severity", "channels", "cooldown_minutes"})
    if c:
        sev = c.section("severity", {"blocking", "error", "warn"})
        checks = CheckAlerts(
            enabled=c.bool("enabled", True),
            severity_blocking=sev.str("blocking", "critical", choices=SEVERITIES) if sev else "critical",
            severity_error=sev.str("error", "high", choices=SEVERITIES) if sev else "high",
            severity_warn=sev.str("warn", "medium", choices=SEVERITIES) if sev else "medium",
            channels=c.names("channels"),
            cooldown_minutes=c.num("cooldown_minutes", None, minimum=0, integer=True),
        )
        check_channels(checks.channels, c.line("channels"), "asset_checks.channels")

    rules: list[Rule] = []
    rules_node = top.items.get("rules")
    if rules_node is not None and rules_node.value is not None:
        if not isinstance(rules_node.value, list):
            raise AlertConfigError(f"{source}:{rules_node.line}: rules: expected a list of rules")
        seen: dict[str, int] = {}
        for i, node in enumerate(rules_node.value):
            rule = _rule(source, i, node, channels, metric_names)
            if rule.name in seen:
                raise AlertConfigError(f"{source}:{node.line}: rules[{i}]: duplicate rule name {rule.name!r} (first on line {seen[rule.name]})")
            seen[rule.name] = node.line
            rules.append(rule)
    return AlertConfig(source=source, rules=tuple(rules), channels=channels, default_channels=default_channels,
                       cooldown_minutes=cooldown, lookback_days=lookback, asset_checks=checks)


def semantic_metric_names() -> frozenset[str]:
    """Metric names of dbt's semantic manifest (plain JSON: no MetricFlow import)."""
    path = semantic_manifest_path()
    if not path.exists():
        raise AlertConfigError(f"{path}: no semantic manifest to check the rules' metrics against: "
                               "run `bizintel prepare` first")
    return frozenset(m["name"] for m in json.loads(path.read_text()).get("metrics", []))


def load(path: Path | str, metric_names: Collection[str] | None = None) -> AlertConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AlertConfigError(f"{path}: alerts config not found (set BIZINTEL_ALERTS_CONFIG)") from None
    return parse(text, str(path), metric_names)
