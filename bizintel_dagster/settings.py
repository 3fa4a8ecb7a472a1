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
        # BIZINTEL_START_DATE has no default here: unset, the partitions start
        # where the landing files start (start_date() below).
        "BIZINTEL_REPORTING_CURRENCY": "ZAR",
        "BIZINTEL_DUCKDB_MEMORY_LIMIT": "4GB",
        "BIZINTEL_PII_SALT": LOCAL_DEV_PII_SALT,
        # Generated reports (PDF, XLSX, CSV, HTML), one file per report, period and format
        "BIZINTEL_REPORTS_DIR": str(data_dir / "reports"),
        # Automation (seed 001 hours, business time zone above; seed 002 retention)
        "BIZINTEL_ALERTS_CONFIG": str(REPO_ROOT / "config" / "alerts.yaml"),
        "BIZINTEL_ALERT_LOG": str(data_dir / "alerts" / "alerts.log"),
        # Where people open the Dagster UI: alert notifications link the metric's asset there
        "BIZINTEL_DAGSTER_UI_URL": "http://127.0.0.1:3000",
        "BIZINTEL_DAILY_ROLLUP_HOUR": "3",
        "BIZINTEL_DAILY_FORECAST_HOUR": "2",
        "BIZINTEL_WEEKLY_REPORT_HOUR": "4",
        "BIZINTEL_MONTHLY_COHORTS_HOUR": "5",
        "BIZINTEL_RAW_RETENTION_DAYS": "90",
        # A landing file must be this old before the landing sensor picks it up
        # (guards writers that do not write to a temporary name first).
        "BIZINTEL_LANDING_SETTLE_SECONDS": "30",
        # Default status of bizintel's schedules and sensors: stopped | running.
        "BIZINTEL_AUTOMATION_DEFAULT_STATUS": "stopped",
        # Least time between two ticks of each bizintel sensor (the daemon's
        # minimum_interval_seconds); lower it to react faster, e.g. in tests.
        "BIZINTEL_SENSOR_INTERVAL_SECONDS": "60",
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


def duckdb_config() -> dict[str, str]:
    """Configuration of every DuckDB connection bizintel opens (dbt's comes from
    profiles.yml, same variable): without a limit DuckDB may take 80 % of RAM."""
    return {"memory_limit": get("BIZINTEL_DUCKDB_MEMORY_LIMIT")}


def timezone() -> str:
    return get("BIZINTEL_TIMEZONE")


# The first daily partition when BIZINTEL_START_DATE is unset and the landing
# zone is still empty.
FALLBACK_START_DATE = date(2026, 1, 1)


def landing_days(landing: Path | None = None) -> list[date]:
    """The days of the landing zone's ``<source>/dt=YYYY-MM-DD`` folders, sorted
    (folders with another name are the landing sensor's to report)."""
    days = set()
    for folder in (landing or landing_dir()).glob("*/dt=*"):
        try:
            day = date.fromisoformat(folder.name.removeprefix("dt="))
        except ValueError:
            continue
        if folder.is_dir():
            days.add(day)
    return sorted(days)


def start_date() -> date:
    """The first daily partition: BIZINTEL_START_DATE when set, else the earliest
    ``dt=`` day of the landing zone (a user's own history just works), else
    FALLBACK_START_DATE. Read once, when the definitions load (CLI, code server):
    files for earlier days that arrive later are reported by the landing sensor
    and by `bizintel run` until the definitions are reloaded."""
    apply_defaults()
    raw = os.environ.get("BIZINTEL_START_DATE", "").strip()
    if raw:
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise ValueError(f"BIZINTEL_START_DATE={raw!r} is not a date (YYYY-MM-DD)") from None
    days = landing_days()
    return days[0] if days else FALLBACK_START_DATE


def dbt_executable() -> str:
    """dbt from this environment, whether or not the virtualenv is activated (code
    servers started by `dagster dev` may see another sys.executable)."""
    for candidate in (Path(sys.prefix) / "bin" / "dbt", Path(sys.executable).with_name("dbt")):
        if candidate.exists():
            return str(candidate)
    return shutil.which("dbt") or "dbt"


def pii_salt() -> str:
    return get("BIZINTEL_PII_SALT")


def reports_dir() -> Path:
    return Path(get("BIZINTEL_REPORTS_DIR"))


def alerts_config_path() -> Path:
    return Path(get("BIZINTEL_ALERTS_CONFIG"))


def dagster_ui_url() -> str:
    return get("BIZINTEL_DAGSTER_UI_URL")


def alert_log_path() -> Path:
    return Path(get("BIZINTEL_ALERT_LOG"))


def _int_setting(key: str, low: int, high: int) -> int:
    raw = get(key)
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{key}={raw!r} is not an integer") from None
    if not low <= value <= high:
        raise ValueError(f"{key}={value} is outside {low}..{high}")
    return value


def schedule_hour(name: str) -> int:
    """Local hour (business time zone) of a schedule: daily_rollup, daily_forecast,
    weekly_report, monthly_cohorts."""
    return _int_setting(f"BIZINTEL_{name.upper()}_HOUR", 0, 23)


def raw_retention_days() -> int:
    return _int_setting("BIZINTEL_RAW_RETENTION_DAYS", 1, 36500)


def landing_settle_seconds() -> int:
    return _int_setting("BIZINTEL_LANDING_SETTLE_SECONDS", 0, 86400)


def sensor_interval_seconds() -> int:
    return _int_setting("BIZINTEL_SENSOR_INTERVAL_SECONDS", 1, 86400)


def automation_running_by_default() -> bool:
    value = get("BIZINTEL_AUTOMATION_DEFAULT_STATUS").strip().lower()
    if value not in ("stopped", "running"):
        raise ValueError(f"BIZINTEL_AUTOMATION_DEFAULT_STATUS={value!r}: expected 'stopped' or 'running'")
    return value == "running"


apply_defaults()
