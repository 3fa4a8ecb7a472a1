"""Rule evaluation: one set-based DuckDB query per rule.

The metric, its trailing average, the same-weekday baseline and the z-score are
computed by window functions in SQL; Python only builds the statement (from
validated identifiers) and turns the few breaching rows into alerts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta

import duckdb

from bizintel_dagster.alerts.config import AlertConfig, Rule
from bizintel_dagster.warehouse import quote_identifier

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Breach:
    rule: Rule
    metric_date: date
    period: str
    observed: float
    baseline: float | None = None
    change_pct: float | None = None
    zscore: float | None = None
    history: int | None = None


@dataclass
class RuleOutcome:
    rule: Rule
    status: str  # ok | breached | skipped | error
    reason: str = ""
    window: tuple[date, date] | None = None
    breaches: list[Breach] = field(default_factory=list)


def _relation(table: str) -> str:
    schema, name = table.split(".", 1)
    return f"{quote_identifier(schema)}.{quote_identifier(name)}"


def catalog(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str]]:
    """Columns and types of every table and view: ``{"schema.table": {column: type}}``."""
    out: dict[str, dict[str, str]] = {}
    rows = con.execute(
        "select table_schema, table_name, column_name, data_type from information_schema.columns"
    ).fetchall()
    for schema, table, column, dtype in rows:
        out.setdefault(f"{schema}.{table}", {})[column] = dtype
    return out


def _missing(rule: Rule, tables: dict[str, dict[str, str]]) -> str | None:
    m = rule.metric
    if m.table not in tables:
        return f"table {m.table} does not exist (yet)"
    columns = [c for c in (m.date_column, m.value_column, m.hour_column) if c]
    absent = [c for c in columns if c not in tables[m.table]]
    if absent:
        return f"column(s) {', '.join(absent)} of {m.table} do not exist (yet)"
    return None


def _window(con, rule: Rule, start: date | None, end: date | None, lookback_days: int) -> tuple[date, date] | None:
    if start and end:
        return start, end
    m = rule.metric
    latest = con.execute(f"select max(cast({quote_identifier(m.date_column)} as date)) from {_relation(m.table)}").fetchall()[0][0]
    if latest is None:
        return None
    stop = end or latest
    return (start or stop - timedelta(days=lookback_days - 1)), stop


def _daily_values_sql(rule: Rule) -> str:
    """The metric per day (averaged when a table has several rows a day) from
    the start of the history the baseline needs to the end of the window."""
    m = rule.metric
    day = f"cast({quote_identifier(m.date_column)} as date)"
    return f"""
            select {day} as metric_date, avg(cast({quote_identifier(m.value_column)} as double)) as value
            from {_relation(m.table)}
            where {day} between $history_start and $end
            group by 1
        """


def _trailing_sql(rule: Rule) -> tuple[str, int]:
    comparison = "change_pct <= -$threshold" if rule.direction == "drop" else "change_pct >= $threshold"
    sql = f"""
        with src as ({_daily_values_sql(rule)}),
        scored as (
            select metric_date, value,
                   avg(value) over w as baseline,
                   count(value) over w as history
            from src
            window w as (order by metric_date
                         range between interval {int(rule.window_days)} days preceding and interval 1 day preceding)
        ),
        changes as (
            select metric_date, value, baseline, history,
                   100.0 * (value - baseline) / abs(baseline) as change_pct
            from scored
            where metric_date between $start and $end
              and value is not null and baseline is not null and baseline <> 0
              and abs(baseline) >= $min_baseline and history >= $min_history
        )
        select metric_date, value, baseline, change_pct, null as zscore, history
        from changes where {comparison}
        order by metric_date"""
    return sql, int(rule.window_days)


def _zscore_sql(rule: Rule) -> tuple[str, int]:
    days = 7 * int(rule.weeks)
    comparison = {"drop": "zscore <= -$sensitivity", "rise": "zscore >= $sensitivity",
                  "both": "abs(zscore) >= $sensitivity"}[rule.direction]
    sql = f"""
        with src as ({_daily_values_sql(rule)}),
        scored as (
            select metric_date, value,
                   avg(value) over w as baseline,
                   stddev_samp(value) over w as stddev,
                   count(value) over w as history
            from src
            window w as (partition by dayofweek(metric_date) order by metric_date
                         range between interval {days} days preceding and interval 1 day preceding)
        ),
        z as (
            select metric_date, value, baseline, history,
                   100.0 * (value - baseline) / nullif(abs(baseline), 0) as change_pct,
                   (value - baseline) / greatest(coalesce(stddev, 0), abs(baseline) * $min_stddev_pct / 100.0) as zscore
            from scored
            where metric_date between $start and $end
              and value is not null and baseline is not null and history >= $min_history
              and abs(baseline) >= $min_baseline
              and greatest(coalesce(stddev, 0), abs(baseline) * $min_stddev_pct / 100.0) > 0
        )
        select metric_date, value, baseline, change_pct, zscore, history
        from z where {comparison}
        order by metric_date"""
    return sql, days


def _hourly_sql(rule: Rule, hour_type: str) -> str:
    m = rule.metric
    hour = quote_identifier(m.hour_column)
    local = f"timezone($tz, {hour})" if "TIME ZONE" in hour_type.upper() else f"cast({hour} as timestamp)"
    return f"""
        select cast({quote_identifier(m.date_column)} as date) as metric_date,
               strftime({local}, '%Y-%m-%d %H:%M') as period,
               sum(cast({quote_identifier(m.value_column)} as double)) as value
        from {_relation(m.table)}
        where cast({quote_identifier(m.date_column)} as date) between $start and $end
        group by all
        having sum(cast({quote_identifier(m.value_column)} as double)) > $above
        order by 1, 2"""


def evaluate_rule(con, rule: Rule, tables: dict[str, dict[str, str]], *, start: date | None,
                  end: date | None, lookback_days: int, timezone: str) -> RuleOutcome:
    missing = _missing(rule, tables)
    if missing:
        return RuleOutcome(rule, "skipped", missing)
    window = _window(con, rule, start, end, lookback_days)
    if window is None:
        return RuleOutcome(rule, "skipped", f"{rule.metric.table} has no rows")
    first, last = window
    params: dict = {"start": first, "end": last}
    if rule.kind == "hourly_threshold":
        hour_type = tables[rule.metric.table][rule.metric.hour_column]
        sql = _hourly_sql(rule, hour_type)
        params["above"] = rule.above
        if "TIME ZONE" in hour_type.upper():
            params["tz"] = timezone
        rows = con.execute(sql, params).fetchall()
        breaches = [Breach(rule, d, period, value) for d, period, value in rows]
    else:
        if rule.kind == "change_vs_trailing_average":
            sql, history_days = _trailing_sql(rule)
            params.update(threshold=rule.threshold_pct)
        else:
            sql, history_days = _zscore_sql(rule)
            params.update(sensitivity=rule.sensitivity, min_stddev_pct=rule.min_stddev_pct)
        params.update(history_start=first - timedelta(days=history_days), min_history=rule.min_history,
                      min_baseline=rule.min_baseline)
        rows = con.execute(sql, params).fetchall()
        breaches = [
            Breach(rule, d, d.isoformat(), value, baseline, change, z, int(history))
            for d, value, baseline, change, z, history in rows
        ]
    return RuleOutcome(rule, "breached" if breaches else "ok", "", window, breaches)


def evaluate_rules(con, config: AlertConfig, *, start: date | None = None, end: date | None = None,
                   timezone: str = "UTC", logger=None) -> list[RuleOutcome]:
    """Evaluate every enabled rule over [start, end] (metric dates, inclusive; or the
    latest ``lookback_days`` of each table). A rule whose table or column is
    missing is skipped; a rule whose query fails is reported as an error. Neither
    stops the other rules."""
    logger = logger or log
    tables = catalog(con)
    outcomes = []
    for rule in config.rules:
        if not rule.enabled:
            outcomes.append(RuleOutcome(rule, "skipped", "disabled in config"))
            continue
        try:
            outcome = evaluate_rule(con, rule, tables, start=start, end=end,
                                    lookback_days=config.lookback_days, timezone=timezone)
        except duckdb.Error as exc:
            outcome = RuleOutcome(rule, "error", f"{type(exc).__name__}: {exc}"[:500])
        if outcome.status == "skipped":
            logger.warning(f"alert rule {rule.name} skipped: {outcome.reason}")
        elif outcome.status == "error":
            logger.error(f"alert rule {rule.name} failed: {outcome.reason}")
        else:
            logger.info(f"alert rule {rule.name}: {len(outcome.breaches)} breach(es) in "
                        f"{outcome.window[0]}..{outcome.window[1]}")
        outcomes.append(outcome)
    return outcomes
