"""Test session set-up: every test run gets its own data directory, and the dbt
manifest is prepared before any Dagster definitions are imported
(DbtProject.prepare_if_dev() does nothing under pytest)."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

def _use_ram_backed_temp() -> None:
    """Put the tests' temporary files on /dev/shm when it is there with room.

    The suite commits constantly: Dagster's SQLite instance storage writes every
    asset event in its own fsync'ed transaction (a ranged run records one per
    asset and day), and every DuckDB checkpoint syncs too. On a RAM-backed
    file system those commits cost a fifth as much (BENCHMARKS.md) and nothing the
    tests assert changes: a SIGKILL leaves the page cache either way. Child
    processes (dagster dev, the CLI, dbt) inherit TMPDIR."""
    shm = Path("/dev/shm")
    try:
        if not os.access(shm, os.W_OK) or shutil.disk_usage(shm).free < 4 * 2**30:
            return
    except OSError:
        return
    root = shm / f"bizintel-pytest-{os.getuid()}"
    root.mkdir(mode=0o700, exist_ok=True)
    tempfile.tempdir = str(root)
    os.environ["TMPDIR"] = str(root)


_use_ram_backed_temp()
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="bizintel-tests-"))
TEST_SALT = "test-salt-not-a-secret"


def pytest_configure(config):
    os.environ["BIZINTEL_DATA_DIR"] = str(_SESSION_DIR)
    for key in ("BIZINTEL_LANDING", "BIZINTEL_WAREHOUSE", "BIZINTEL_ANALYTICS"):
        os.environ.pop(key, None)
    os.environ["BIZINTEL_PII_SALT"] = TEST_SALT
    # Unset, the partitions would start at the earliest landing day seen when the
    # definitions first load in this process: whichever test wrote landing files first.
    os.environ.setdefault("BIZINTEL_START_DATE", "2026-01-01")
    os.environ.pop("DAGSTER_HOME", None)
    from bizintel_dagster import cli, settings

    settings.apply_defaults()
    # pytest-xdist: the controller prepares the manifest before it starts the
    # workers; workers reading it must not rewrite it under each other.
    if not hasattr(config, "workerinput"):
        cli.prepare()


# The slowest modules (each materializes real graphs or starts dagster dev),
# longest first. pytest-xdist's loadfile scheduler hands files to free workers
# in collection order, so starting the long ones first keeps the two workers'
# finishing times close (longest-processing-time-first scheduling).
_SLOW_FIRST = (
    "tests/browser/test_dagster_ui.py",
    "tests/reliability/test_crash_recovery.py",
    "tests/integration/test_pipeline.py",
    "tests/integration/test_time_zones.py",
    "tests/integration/test_reporting_currency.py",
    "tests/automation/test_end_to_end.py",
    "tests/automation/test_late_data.py",
    "tests/integration/test_analytics.py",
    "tests/integration/test_segments.py",
    "tests/integration/test_forecasts_reports.py",
    "tests/reliability/test_bad_input.py",
    "tests/integration/test_lock_retry.py",
    "tests/integration/test_blocking_checks.py",
)


def pytest_collection_modifyitems(config, items):
    rank = {path: i for i, path in enumerate(_SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))


@pytest.fixture
def data_env(tmp_path, monkeypatch):
    """Point landing, warehouse and analysts' copy at a fresh temp directory."""
    monkeypatch.setenv("BIZINTEL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BIZINTEL_LANDING", str(tmp_path / "landing"))
    monkeypatch.setenv("BIZINTEL_WAREHOUSE", str(tmp_path / "warehouse" / "bizintel.duckdb"))
    monkeypatch.setenv("BIZINTEL_ANALYTICS", str(tmp_path / "warehouse" / "analytics.duckdb"))
    return tmp_path
