"""The alerts config is validated on load, and every error names its line."""

from __future__ import annotations

import pytest

from bizintel_dagster import settings
from bizintel_dagster.alerts import config as alert_config
from bizintel_dagster.alerts.config import AlertConfigError

SHIPPED = settings.REPO_ROOT / "config" / "alerts.yaml"


def test_the_shipped_config_has_the_seed_001_defaults():
    cfg = alert_config.load(SHIPPED)
    rules = {r.name: r for r in cfg.rules}
    expected = {
        "revenue_drop": ("change_vs_trailing_average", "drop", 15, "critical"),
        "payer_rate_drop": ("change_vs_trailing_average", "drop", 10, "high"),
        "engagement_drop": ("change_vs_trailing_average", "drop", 15, "medium"),
        "churn_spike": ("change_vs_trailing_average", "rise", 20, "high"),
    }
    for name, (kind, direction, threshold, severity) in expected.items():
        r = rules[name]
        assert (r.kind, r.direction, r.threshold_pct, r.severity, r.window_days) == (kind, direction, threshold, severity, 7)
    assert (rules["abuse_spike"].above, rules["service_error_spike"].above) == (50, 100)
    zscores = [r for r in cfg.rules if r.kind == "seasonal_zscore"]
    assert zscores and all(r.sensitivity == 3 for r in zscores)
    assert {c.type for c in cfg.channels.values()} == {"webhook", "email", "log_file"}
    assert cfg.channels["email"].starttls is True
    assert cfg.asset_checks.enabled


def _error(text: str) -> str:
    with pytest.raises(AlertConfigError) as info:
        alert_config.parse(text, "alerts.yaml")
    return str(info.value)


GOOD_RULE = """version: 1
channels:
  log:
    type: log_file
    path_env: ALERT_LOG
rules:
  - name: revenue_drop
    kind: change_vs_trailing_average
    metric: revenue
    direction: drop
    threshold_pct: 15
    severity: critical
"""


def test_rules_may_name_only_metrics_of_the_semantic_manifest(tmp_path):
    """The names come from dbt's semantic manifest (the metric layer), not a list here."""
    import json

    manifest = json.loads(alert_config.semantic_manifest_path().read_text())
    assert "revenue" in {m["name"] for m in manifest["metrics"]}
    assert alert_config.parse(GOOD_RULE, "alerts.yaml", metric_names={"revenue"}).rules[0].metric.name == "revenue"
    with pytest.raises(AlertConfigError, match="alerts.yaml:9: .*unknown metric 'revenue'"):
        alert_config.parse(GOOD_RULE, "alerts.yaml", metric_names={"arpu"})
    every = {r.metric.name for r in alert_config.load(SHIPPED).rules}
    assert every <= {m["name"] for m in manifest["metrics"]}


def test_a_valid_small_config_loads():
    cfg = alert_config.parse(GOOD_RULE, "alerts.yaml")
    assert [r.name for r in cfg.rules] == ["revenue_drop"] and cfg.default_channels == ("log",)
    assert cfg.rules[0].min_history == 7 and cfg.cooldown_minutes == 1440


@pytest.mark.parametrize(("replace", "by", "line", "fragment"), [
    ("threshold_pct: 15", "threshold_pct: fifteen", 11, "threshold_pct: expected a number, got 'fifteen'"),
    ("severity: critical", "severity: urgent", 12, "'urgent' is not one of critical, high, medium, low"),
    ("direction: drop", "direction: sideways", 10, "'sideways' is not one of drop, rise"),
    ("kind: change_vs_trailing_average", "kind: moving_target", 8, "rules[0].kind: expected one of"),
    ("    severity: critical\n", "    severity: critical\n    treshold: 3\n", 13, "unknown key 'treshold'"),
    ("metric: revenue", "metric: revenue_total", 9, "unknown metric 'revenue_total': not in the semantic layer"),
    ("metric: revenue", "metric: revenue; drop table x", 9, "(a metric name of the semantic layer)"),
    ("metric: revenue", "metric: {table: kpis.kpi_daily}", 9, "expected a non-empty string"),
    ("    path_env: ALERT_LOG\n", "    path: /var/log/alerts.log\n", 5, "come from the environment: use path_env"),
    ("    path_env: ALERT_LOG\n", "    path_env: alert_log\n", 5, "environment variable name"),
    ("    severity: critical\n", "    severity: critical\n    channels: [slack]\n", 13, "unknown channel 'slack'"),
    ("threshold_pct: 15", "threshold_pct: -5", 11, "must be > 0"),
    ("version: 1", "version: 2", 1, "unsupported version 2"),
])
def test_validation_errors_name_the_file_line_and_key(replace, by, line, fragment):
    assert replace in GOOD_RULE
    message = _error(GOOD_RULE.replace(replace, by, 1))
    assert message.startswith(f"alerts.yaml:{line}:"), message
    assert fragment in message, message


def test_yaml_syntax_errors_and_duplicates_name_the_line():
    message = _error(GOOD_RULE + "  - name: [unclosed\n")
    assert message.startswith("alerts.yaml:14: YAML syntax error") and "line 13" in message, message
    duplicate = GOOD_RULE + GOOD_RULE.split("rules:\n")[1]
    message = _error(duplicate)
    assert message.startswith("alerts.yaml:13:") and "duplicate rule name 'revenue_drop' (first on line 7)" in message
    message = _error(GOOD_RULE.replace("    direction: drop\n", "    direction: drop\n    direction: rise\n"))
    assert message.startswith("alerts.yaml:11:") and "duplicate key 'direction'" in message


def test_missing_required_keys_point_at_the_rule():
    message = _error(GOOD_RULE.replace("    threshold_pct: 15\n", ""))
    assert message.startswith("alerts.yaml:7:") and "missing required key 'threshold_pct'" in message


def test_email_channel_rules():
    base = """version: 1
channels:
  mail:
    type: email
    host_env: SMTP_HOST
    recipients_env: ALERT_TO
    sender: a@example.com
"""
    assert alert_config.parse(base, "alerts.yaml").channels["mail"].starttls is True
    assert "'ssl' (implicit TLS) and 'starttls' exclude each other" in _error(base + "    ssl: true\n")
    assert _error(base + "    username_env: SMTP_USER\n").startswith("alerts.yaml:8: channels.mail.username_env: SMTP auth")
    assert "use password_env" in _error(base + "    password: hunter2\n")


def test_a_missing_file_says_which_setting_to_use(tmp_path):
    with pytest.raises(AlertConfigError, match="BIZINTEL_ALERTS_CONFIG"):
        alert_config.load(tmp_path / "nope.yaml")
