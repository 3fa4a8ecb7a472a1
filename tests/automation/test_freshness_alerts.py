"""freshness_alert_sensor against Dagster's real freshness daemon: an asset with
a 1-minute warn window is materialized, ``dagster-daemon run`` records its
freshness state (PASS, then WARN a minute later), and the sensor sends one
alert to a real local webhook (and the log channel) per transition, none again
while the state holds."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dagster as dg
import pytest

from bizintel_dagster.defs.automation import sensors
from tests.automation.conftest import REVENUE_DROP_RULE, rules_yaml
from tests.automation.servers import WebhookServer

DAEMON = Path(sys.executable).with_name("dagster-daemon")
KEY = dg.AssetKey(["demo", "hourly_feed"])

DEFS = textwrap.dedent('''
    from datetime import timedelta
    import dagster as dg

    @dg.asset(key=["demo", "hourly_feed"],
              freshness_policy=dg.FreshnessPolicy.time_window(fail_window=timedelta(minutes=30),
                                                              warn_window=timedelta(minutes=1)))
    def hourly_feed():
        return 1

    defs = dg.Definitions(assets=[hourly_feed])
''')


def _state(instance: dg.DagsterInstance) -> str | None:
    record = instance.get_freshness_state_records([KEY]).get(KEY)
    return record.freshness_state.value if record else None


def _wait_for(instance, state: str, deadline: float, daemon: subprocess.Popen, log: Path) -> None:
    while _state(instance) != state:
        assert daemon.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, f"no {state} state recorded: {_state(instance)}\n{log.read_text()[-3000:]}"
        time.sleep(1)


@pytest.fixture
def channels_env(tmp_path, monkeypatch):
    config = tmp_path / "alerts.yaml"
    config.write_text(rules_yaml(REVENUE_DROP_RULE))
    monkeypatch.setenv("BIZINTEL_ALERTS_CONFIG", str(config))
    monkeypatch.setenv("TEST_ALERT_LOG", str(tmp_path / "alerts.log"))
    for name in ("TEST_SMTP_HOST", "TEST_SMTP_PORT", "TEST_ALERT_TO"):
        monkeypatch.delenv(name, raising=False)  # e-mail not configured: skipped
    return tmp_path / "alerts.log"


def test_a_stale_asset_alerts_once_per_transition(tmp_path, channels_env, monkeypatch):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    code = tmp_path / "feed_defs.py"
    code.write_text(DEFS)
    namespace: dict = {}
    exec(compile(DEFS, str(code), "exec"), namespace)  # the same definitions, in this process
    definitions = namespace["defs"]
    env = {**os.environ, "DAGSTER_HOME": str(home), "FRESHNESS_DAEMON_INTERVAL_SECONDS": "2"}
    log = tmp_path / "daemon.log"
    with dg.DagsterInstance.from_config(str(home)) as instance, WebhookServer() as hook:
        monkeypatch.setenv("TEST_WEBHOOK_URL", hook.url)
        # Materialized first: the 1-minute warn window runs while the daemon starts.
        assert dg.materialize([namespace["hourly_feed"]],
                              instance=instance).success
        with open(log, "w") as out:
            daemon = subprocess.Popen([str(DAEMON), "run", "-f", str(code)], cwd=tmp_path, env=env,
                                      stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 150

            def tick(cursor):
                context = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=definitions)
                return sensors.freshness_alert_sensor(context)

            _wait_for(instance, "PASS", deadline, daemon, log)
            fresh = tick(None)
            assert hook.received == [] and json.loads(fresh.cursor)["states"][KEY.to_user_string()][0] == "PASS"
            _wait_for(instance, "WARN", deadline, daemon, log)
        finally:
            os.killpg(daemon.pid, signal.SIGKILL)  # the daemon and the code server it started
            daemon.wait()
        stale = tick(fresh.cursor)
        (posted,) = hook.received
        text = json.dumps(posted["json"])
        assert "demo/hourly_feed (WARN)" in text and "asset_freshness" in text and "[MEDIUM]" in text
        (logged,) = [json.loads(line) for line in channels_env.read_text().splitlines()]
        assert logged["rule_name"] == "asset_freshness" and logged["subject"] == "demo/hourly_feed"
        # Still WARN on the next tick: nothing new.
        again = tick(stale.cursor)
        assert len(hook.received) == 1 and again.cursor == stale.cursor
