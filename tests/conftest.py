"""Test session set-up: every test run gets its own data directory, and the dbt
manifest is prepared before any Dagster definitions are imported
(DbtProject.prepare_if_dev() does nothing under pytest)."""

import os
import tempfile
from pathlib import Path

import pytest

_SESSION_DIR = Path(tempfile.mkdtemp(prefix="bizintel-tests-"))
TEST_SALT = "test-salt-not-a-secret"


def pytest_configure(config):
    os.environ["BIZINTEL_DATA_DIR"] = str(_SESSION_DIR)
    for key in ("BIZINTEL_LANDING", "BIZINTEL_WAREHOUSE", "BIZINTEL_ANALYTICS"):
        os.environ.pop(key, None)
    os.environ["BIZINTEL_PII_SALT"] = TEST_SALT
    os.environ.pop("DAGSTER_HOME", None)
    from bizintel_dagster import cli, settings

    settings.apply_defaults()
    # pytest-xdist: the controller prepares the manifest before it starts the
    # workers; workers reading it must not rewrite it under each other.
    if not hasattr(config, "workerinput"):
        cli.prepare()


@pytest.fixture
def data_env(tmp_path, monkeypatch):
    """Point landing, warehouse and analysts' copy at a fresh temp directory."""
    monkeypatch.setenv("BIZINTEL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BIZINTEL_LANDING", str(tmp_path / "landing"))
    monkeypatch.setenv("BIZINTEL_WAREHOUSE", str(tmp_path / "warehouse" / "bizintel.duckdb"))
    monkeypatch.setenv("BIZINTEL_ANALYTICS", str(tmp_path / "warehouse" / "analytics.duckdb"))
    return tmp_path
