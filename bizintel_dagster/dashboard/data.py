"""What the dashboard shows, without Streamlit: periods, the read-only connection to
the analysts' copy, and the queries of each page as plain rows.

Every figure is a metric of the semantic layer, read through ``metrics.MetricReader``
over a connection opened read-only on the analysts' copy for one page view and
closed after it: the dashboard never holds the file between views (so a newly
published copy, ``os.replace``d over the old one, is what the next view reads) and
never opens the working warehouse. A filter on a dimension (marketing source,
segment) is a group-by of the metric layer from which the chosen value's row is
taken, not a ``where`` string: values come from input, and a MetricFlow filter is a
Jinja template, so no input value is ever pasted into one.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from datetime import date, datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from bizintel_dagster import metrics, settings
from bizintel_dagster.warehouse import table_exists
from bizintel_dagster.reporting import periods

PERIOD_KINDS = ("day", "week", "month", "custom")
# Filters the metric layer can split by: label -> group-by name. A metric is split
# only when its semantic models carry the dimension's entity (MetricReader.entities).
FILTERS = {"Marketing source": "user__marketing_source", "Segment": "account__segment"}
ALL = "(all)"
TREND_DAYS = 56


# The reports' periods (ISO week, calendar month) plus a day and a custom range.
Period = periods.Period


def period(kind: str, anchor: date, end: date | None = None) -> Period:
    """The day, ISO week (Monday to Sunday) or calendar month holding ``anchor``, or
    the custom range ``anchor``..``end``."""
    if kind == "custom":
        if end is None:
            raise ValueError("a custom period needs an end on or after its start")
        return periods.custom(anchor, end)
    builders = {"day": periods.day, "week": periods.week, "month": periods.month}
    if kind not in builders:
        raise ValueError(f"period kind must be one of {PERIOD_KINDS}, not {kind!r}")
    return builders[kind](anchor)


def copy_path() -> Path:
    return settings.analytics_path()


@contextlib.contextmanager
def open_copy(path: Path | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """The analysts' copy, read-only, for one page view (closed after it)."""
    path = path or copy_path()
    if not path.exists():
        raise FileNotFoundError(f"no analysts' copy at {path}: run `bizintel run` (or `bizintel publish`) first")
    con = duckdb.connect(str(path), read_only=True, config=settings.duckdb_config())
    try:
        yield con
    finally:
        con.close()


def published_at(path: Path | None = None) -> datetime:
    """When the copy was published (its file's modification time), business time."""
    stamp = (path or copy_path()).stat().st_mtime
    return datetime.fromtimestamp(stamp, timezone.utc).astimezone(ZoneInfo(settings.timezone()))


def latest_day(con) -> date | None:
    """The last day with landing data (what the period picker starts on)."""
    from bizintel_dagster.reporting.content import latest_kpi_date

    return latest_kpi_date(con)


@functools.cache
def _entities_by_measure(manifest_path: Path, mtime_ns: int) -> dict[str, set[str]]:
    import json

    manifest = json.loads(manifest_path.read_text())
    found = {}
    for sm in manifest.get("semantic_models", []):
        entities = {e["name"] for e in sm.get("entities", [])} | ({sm["primary_entity"]} if sm.get("primary_entity") else set())
        for measure in sm.get("measures", []):
            found[measure["name"]] = entities
    return found


def splittable(metric: str, group_by: str) -> bool:
    """Whether ``metric`` can be grouped by ``group_by`` (entity__dimension): every
    semantic model behind its input measures carries the entity."""
    path = metrics.semantic_manifest_path()
    entities = _entities_by_measure(path.resolve(), path.stat().st_mtime_ns)
    definition = _metric_definitions(path.resolve(), path.stat().st_mtime_ns)[metric]
    measures = [m["name"] for m in (definition.get("type_params") or {}).get("input_measures") or []]
    entity = group_by.split("__")[0]
    return bool(measures) and all(entity in entities.get(m, set()) for m in measures)


@functools.cache
def _metric_definitions(manifest_path: Path, mtime_ns: int) -> dict[str, dict]:
    import json

    return {m["name"]: m for m in json.loads(manifest_path.read_text()).get("metrics", [])}


def filtered(reader: metrics.MetricReader, names: list[str], chosen: dict[str, str], start: date, end: date,
             group_by: list[str] | None = None) -> tuple[list[dict], list[str]]:
    """The metrics for start..end, split by each chosen filter (group-by name ->
    value) and reduced to the chosen value's rows; metrics that cannot be split by a
    chosen filter are None and returned as the second item (shown as such)."""
    group_by = list(group_by or [])
    chosen = {k: v for k, v in chosen.items() if v is not None}
    split = [m for m in names if all(splittable(m, g) for g in chosen)]
    unsplit = [m for m in names if m not in split]
    if not chosen:
        return reader.query(names, group_by or None, start, end).rows, []
    # a filter on the dimension the table is grouped by is that dimension's one row
    extra = [g for g in chosen if g not in group_by]
    rows = [r for r in reader.query(split, group_by + extra, start, end).rows
            if all(str(r.get(g)) == v for g, v in chosen.items())] if split else []
    for row in rows:
        for g in extra:
            row.pop(g, None)
        row.update({m: None for m in unsplit})
    if not group_by and not rows:
        rows = [{m: None for m in names}]
    return rows, unsplit


def filter_values(reader: metrics.MetricReader, group_by: str, start: date, end: date) -> list[str]:
    """The values a filter can take in start..end (from the metric layer's revenue
    or activity rows: a value with no figure has nothing to show)."""
    metric = "revenue" if group_by.startswith("account__") else "active_users"
    return sorted({str(r[group_by]) for r in reader.query([metric], [group_by], start, end).rows
                   if r.get(group_by) is not None})


def active_alerts(con, start: date, end: date) -> list[tuple]:
    """Alerts raised about the days start..end (not suppressed by cool-down), most
    severe first: alert records, not KPI figures."""
    if not table_exists(con, "alerts", "alert_events"):
        return []
    return [tuple(r) for r in con.execute(
        """select severity, rule_name, subject, period, observed, baseline, change_pct, status, message
           from alerts.alert_events
           where coalesce(metric_date, cast(period_start as date)) between ? and ? and status <> 'suppressed'
           order by case severity when 'critical' then 0 when 'high' then 1 when 'medium' then 2 else 3 end,
                    period_start desc, rule_name""", [start, end]).fetchall()]


def forecasts(con) -> dict:
    """Primary forecast per metric with its intervals (reporting.content.forecast_state)."""
    from bizintel_dagster.reporting.content import forecast_state

    return forecast_state(con)
