"""Report jobs: the same three reports for the last complete ISO week or calendar
month (relative to the newest KPI date). The automation layer schedules them
(weekly on Monday morning, monthly on the 1st, business time zone); any other
period can be run by overriding ``period`` in the launchpad (YYYY-Www / YYYY-MM)."""

import dagster as dg

REPORT_OPS = ("reports__executive_report", "reports__sponsor_attribution_report", "reports__data_integrity_report")


def period_run_config(period: str) -> dict:
    """Run config that sets the period of every report asset."""
    return {"ops": {op: {"config": {"period": period}} for op in REPORT_OPS}}


weekly_report_job = dg.define_asset_job(
    "weekly_report_job",
    selection=dg.AssetSelection.groups("reports"),
    config=period_run_config("last_week"),
    description="Executive, sponsor attribution and data integrity reports for the last complete ISO week.",
)

monthly_report_job = dg.define_asset_job(
    "monthly_report_job",
    selection=dg.AssetSelection.groups("reports"),
    config=period_run_config("last_month"),
    description="Executive, sponsor attribution and data integrity reports for the last complete calendar month.",
)
