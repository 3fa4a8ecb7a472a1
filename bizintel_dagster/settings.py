"""Runtime settings, read from the environment with documented local defaults.

Dagster (``EnvVar``), dbt (``env_var()`` in ``profiles.yml``) and the CLI all read
the same variables, so one export points every tool at the same warehouse.
``apply_defaults()`` fills in the unset ones so that ``dagster dev`` and ``dbt``
work from a fresh clone without any configuration.
"""

from __future__ import annotations

import os
import shutil
import sys
from datetime import date
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"

# The PII salt default is for local demo data only; production sets its own
# secret (see README, "Secrets").
LOCAL_DEV_PII_SALT = "bizintel-local-dev-salt-change-me"


def _defaults() -> dict[str, str]:
    data_dir = Path(os.environ.get("BIZINTEL_DATA_DIR", REPO_ROOT / "data"))
    return {
        "BIZINTEL_DATA_DIR": str(data_dir),
        "BIZINTEL_LANDING": str(data_dir / "landing"),
        "BIZINTEL_WAREHOUSE": str(data_dir / "warehouse" / "bizintel.duckdb"),
        "BIZINTEL_ANALYTICS": str(data_dir / "warehouse" / "analytics.duckdb"),
        "BIZINTEL_TIMEZONE": "Africa/Johannesburg",
        "BIZINTEL_START_DATE": "2026-01-01",
        "BIZINTEL_REPORTING_CURRENCY": "ZAR",
        "BIZINTEL_DUCKDB_MEMORY_LIMIT": "4GB",
        "BIZINTEL_PII_SALT": LOCAL_DEV_PII_SALT,
    }


def apply_defaults() -> None:
    """Set every unset BIZINTEL_* variable to its default (child processes such as
    dbt inherit them)."""
    for key, value in _defaults().items():
        os.environ.setdefault(key, value)


def get(key: str) -> str:
    apply_defaults()
    return os.environ[key]


def landing_dir() -> Path:
    return Path(get("BIZINTEL_LANDING"))


def warehouse_path() -> Path:
    return Path(get("BIZINTEL_WAREHOUSE"))


def analytics_path() -> Path:
    return Path(get("BIZINTEL_ANALYTICS"))


def timezone() -> str:
    return get("BIZINTEL_TIMEZONE")


def start_date() -> date:
    return date.fromisoformat(get("BIZINTEL_START_DATE"))


def dbt_executable() -> str:
    """dbt from this environment, whether or not the virtualenv is activated (code
    servers started by `dagster dev` may see another sys.executable)."""
    for candidate in (Path(sys.prefix) / "bin" / "dbt", Path(sys.executable).with_name("dbt")):
        if candidate.exists():
            return str(candidate)
    return shutil.which("dbt") or "dbt"


def pii_salt() -> str:
    return get("BIZINTEL_PII_SALT")


apply_defaults()
