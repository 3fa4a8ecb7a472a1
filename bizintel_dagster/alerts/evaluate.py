"""Rule evaluation: one set-based DuckDB query per rule.

The metric, its trailing average, the same-weekday baseline and the z-score are
computed by window functions in SQL; Python only builds the statement (from
validated identifiers) and turns the few breaching rows into alerts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

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
    # target: the period-to-date goal (pro rata), projection and pace; trend: the run's first value
    expected: float | None = None
    projected: float | None = None
    pace_pct: float | None = None
    period_first: date | None = None
    period_last: date | None = None

    @property
    def observed_at(self) -> datetime:
        """When the breaching data point is (business-local): a later point within
        bounds resolves the alert."""
        if self.rule.kind == "hourly_threshold":
            return datetime.strptime(self.period, "%Y-%m-%d %H:%M")
        return datetime.combine(self.metric_date, datetime.min.time())


@dataclass
class RuleOutcome:
    rule: Rule
    status: str  # ok | breached | skipped | error
    reason: str = ""
    window: tuple[date, date] | None = None
    breaches: list[Breach] = field(default_factory=list)
    # points of the window that were evaluated and within bounds (business-local)
    within_bounds: list[datetime] = field(default_factory=list)


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


def _daily_values_sql(rule: Rule, aggregate: str = "avg") -> str:
    """The metric per day (averaged when a table has several rows a day, summed
    for a target's period total) from the start of the history the baseline
    needs to the end of the window."""
    m = rule.metric
    day = f"cast({quote_identifier(m.date_column)} as date)"
    return f"""
            select {day} as metric_date, {aggregate}(cast({quote_identifier(m.value_column)} as double)) as value
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
        select metric_date, value, baseline, change_pct, null as zscore, history, ({comparison}) as breached
        from changes
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
        select metric_date, value, baseline, change_pct, zscore, history, ({comparison}) as breached
        from z
        order by metric_date"""
    return sql, days


def _hourly_sql(rule: Rule, hour_type: str) -> str:
    m = rule.metric
    hour = quote_identifier(m.hour_column)
    local = f"timezone($tz, {hour})" if "TIME ZONE" in hour_type.upper() else f"cast({hour} as timestamp)"
    return f"""
        select cast({quote_identifier(m.date_column)} as date) as metric_date,
               strftime({local}, '%Y-%m-%d %H:%M') as period,
               sum(cast({quote_identifier(m.value_column)} as double)) as value,
               sum(cast({quote_identifier(m.value_column)} as double)) > $above as breached
        from {_relation(m.table)}
        where cast({quote_identifier(m.date_column)} as date) between $start and $end
        group by all
        order by 1, 2"""


def _target_sql(rule: Rule) -> str:
    """Period to date against the goal: the sum so far, the goal pro rata for the
    days elapsed, the projection at the pace so far (sum / elapsed days x days
    in the period) and the pace as % of the goal. At risk below at_risk_below_pct."""
    unit = rule.period  # validated: week | month
    return f"""
        with src as ({_daily_values_sql(rule, aggregate="sum")}),
        scored as (
            select metric_date, date_trunc('{unit}', metric_date) as period_start,
                   sum(value) over (partition by date_trunc('{unit}', metric_date) order by metric_date
                                    rows between unbounded preceding and current row) as to_date,
                   datediff('day', date_trunc('{unit}', metric_date), metric_date) + 1 as elapsed,
                   datediff('day', date_trunc('{unit}', metric_date),
                            date_trunc('{unit}', metric_date) + interval 1 {unit}) as period_days
            from src
        ),
        paced as (
            select *, $goal * elapsed / period_days as expected, to_date / elapsed * period_days as projected
            from scored where metric_date between $start and $end and to_date is not null
        )
        select metric_date, cast(period_start as date) as period_start, to_date, expected, projected,
               100.0 * projected / $goal as pace_pct, elapsed, period_days,
               100.0 * projected / $goal < $at_risk_below_pct as breached
        from paced order by metric_date"""


def _trend_sql(rule: Rule) -> str:
    """Complete periods (day / week / month) of the metric, each compared with the
    one before; a breach when each of the last ``periods`` periods declined by
    more than min_decline_pct."""
    unit, n = rule.period, int(rule.periods)
    return f"""
        with src as ({_daily_values_sql(rule)}),
        per_period as (
            select cast(date_trunc('{unit}', metric_date) as date) as period_start, {rule.aggregate}(value) as value
            from src group by 1
        ),
        complete as (
            select *, cast(period_start + interval 1 {unit} - interval 1 day as date) as period_end
            from per_period
            where cast(period_start + interval 1 {unit} - interval 1 day as date) <= (select max(metric_date) from src)
        ),
        steps as (
            select *, lag(value) over (order by period_start) as previous,
                   lag(value, {n}) over (order by period_start) as run_start_value,
                   lag(period_start, {n}) over (order by period_start) as run_start
            from complete
        ),
        declines as (
            select *, coalesce(previous is not null and value < previous * (1 - $min_decline_pct / 100.0), false) as declined
            from steps
        ),
        runs as (
            select *, sum(cast(declined as integer)) over (order by period_start rows between {n - 1} preceding and current row)
                      as declines_in_row
            from declines
        )
        select period_end, period_start, value, run_start_value, run_start,
               100.0 * (value - run_start_value) / nullif(abs(run_start_value), 0) as change_pct,
               declines_in_row = {n} as breached
        from runs where period_end between $start and $end and previous is not null
        order by period_start"""


def _history_days(rule: Rule) -> int:
    """Days before the window the target and trend queries need."""
    if rule.kind == "target":
        return 31 if rule.period == "month" else 7
    length = {"day": 1, "week": 7, "month": 31}[rule.period]
    return length * (int(rule.periods) + 2)


def period_label(rule: Rule, first: date, last: date) -> str:
    if rule.period == "month":
        return first.strftime("%Y-%m")
    if rule.period == "week":
        return f"week {first.isoformat()}..{last.isoformat()}"
    return first.isoformat()


def daily_values(con, rule: Rule, start: date, end: date) -> list[tuple[date, float]]:
    """The metric per day as the rules read it (for the proof that it equals the
    metric layer's daily values)."""
    sql = f"select metric_date, value from ({_daily_values_sql(rule)}) order by 1"
    return con.execute(sql, {"history_start": start, "end": end}).fetchall()


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
    midnight = lambda d: datetime.combine(d, datetime.min.time())  # noqa: E731
    if rule.kind == "hourly_threshold":
        hour_type = tables[rule.metric.table][rule.metric.hour_column]
        sql = _hourly_sql(rule, hour_type)
        params["above"] = rule.above
        if "TIME ZONE" in hour_type.upper():
            params["tz"] = timezone
        rows = con.execute(sql, params).fetchall()
        breaches = [Breach(rule, d, period, value) for d, period, value, hit in rows if hit]
        ok = [datetime.strptime(period, "%Y-%m-%d %H:%M") for d, period, value, hit in rows if not hit]
    elif rule.kind == "target":
        params.update(history_start=first - timedelta(days=_history_days(rule)), goal=rule.goal,
                      at_risk_below_pct=rule.at_risk_below_pct)
        rows = con.execute(_target_sql(rule), params).fetchall()
        breaches, ok = [], []
        for d, period_start, to_date, expected, projected, pace, elapsed, period_days, hit in rows:
            if not hit:
                ok.append(midnight(d))
                continue
            period_end = period_start + timedelta(days=int(period_days) - 1)
            breaches.append(Breach(rule, d, period_label(rule, period_start, period_end), to_date,
                                   expected=expected, projected=projected, pace_pct=pace,
                                   history=int(elapsed), period_first=period_start, period_last=period_end))
    elif rule.kind == "trend":
        params.update(history_start=first - timedelta(days=_history_days(rule)),
                      min_decline_pct=rule.min_decline_pct)
        rows = con.execute(_trend_sql(rule), params).fetchall()
        breaches, ok = [], []
        for period_end, period_start, value, run_start_value, run_start, change, hit in rows:
            if not hit:
                ok.append(midnight(period_end))
                continue
            breaches.append(Breach(rule, period_end, period_label(rule, period_start, period_end), value,
                                   baseline=run_start_value, change_pct=change, history=int(rule.periods),
                                   period_first=period_start, period_last=period_end))
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
            for d, value, baseline, change, z, history, hit in rows if hit
        ]
        ok = [midnight(d) for d, *_, hit in rows if not hit]
    return RuleOutcome(rule, "breached" if breaches else "ok", "", window, breaches, ok)


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
