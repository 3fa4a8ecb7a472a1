"""Rule evaluation: the rule's metric from the semantic layer, judged in DuckDB.

A rule names a metric of dbt_project/models/semantic/metrics.yml; its daily (for
hourly rules: per business-local hour) values come from ``MetricReader`` on the
step's connection, so an alert's observed value is the metric layer's number and
no KPI formula lives here. The trailing average, the same-weekday baseline and the
z-score are window functions in SQL over those values (one statement per rule);
Python only turns the few breaching rows into alerts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta


from bizintel_dagster.alerts.config import AlertConfig, Rule
from bizintel_dagster.metrics import MetricReader

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
    # what the rule judged: the metric layer's value per day (hourly rules: per
    # "YYYY-MM-DD HH:MM" hour) of the window, for audits and tests
    values: dict = field(default_factory=dict)


DAY = "metric_time__day"
# The business-local hour of the hourly metrics (semantic model operations_hours).
HOUR = "operations_hour__local_hour_start"


def _zero_filled(reader: MetricReader, metric: str) -> bool:
    """Whether the metric counts a day without rows as 0 (``fill_nulls_with: 0``)."""
    measure = (reader.definition(metric).get("type_params") or {}).get("measure") or {}
    return isinstance(measure, dict) and measure.get("fill_nulls_with") == 0


def _daily_values(reader: MetricReader, rule: Rule, first: date | None, last: date | None) -> dict[str, list]:
    """The rule's metric per day from the metric layer: ``{"days": [...], "values": [...]}``.

    A metric over facts has no row on a day without facts: a day with landing data
    but no revenue line is the worst revenue day there is, not a day without a
    value. For a metric that counts an empty day as 0, every day with data
    (metric days_with_data) without a row is 0; days without landing data stay
    absent (missing, not zero)."""
    name = rule.metric.name
    wanted = [name, "days_with_data"] if _zero_filled(reader, name) and name != "days_with_data" else [name]
    answer = reader.query(wanted, [DAY], start=first, end=last)
    rows = answer.rows
    if len(wanted) == 2 and "days_with_data" not in answer.missing:
        rows = [{**r, name: 0 if r[name] is None else r[name]} for r in rows if r["days_with_data"]]
    return {"days": [r[DAY] for r in rows], "values": [_number(r[name]) for r in rows]}


def _number(value) -> float | None:
    return None if value is None else float(value)


def _window(series: dict[str, list], start: date | None, end: date | None,
            lookback_days: int) -> tuple[date, date] | None:
    if start and end:
        return start, end
    days = [d for d, v in zip(series["days"], series["values"]) if v is not None and (end is None or d <= end)]
    if not days:
        return None
    stop = end or max(days)
    return (start or stop - timedelta(days=lookback_days - 1)), stop


# The metric layer's daily values as a relation: the baselines below are window
# functions over it, in DuckDB, not Python loops.
_SRC = """
            select cast(unnest($days) as date) as metric_date, cast(unnest($values) as double) as value
        """


def _trailing_sql(rule: Rule) -> tuple[str, int]:
    comparison = "change_pct <= -$threshold" if rule.direction == "drop" else "change_pct >= $threshold"
    sql = f"""
        with src as ({_SRC}),
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
        with src as ({_SRC}),
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


_HOURLY_SQL = """
        select metric_date, period, value
        from (select cast(unnest($days) as date) as metric_date, cast(unnest($periods) as varchar) as period,
                     cast(unnest($values) as double) as value)
        where value > $above
        order by 1, 2"""


def evaluate_rule(reader: MetricReader, con, rule: Rule, *, start: date | None,
                  end: date | None, lookback_days: int) -> RuleOutcome:
    missing = reader.missing_relations(rule.metric.name)
    if missing:
        return RuleOutcome(rule, "skipped", f"metric {rule.metric.name}: table(s) {', '.join(missing)} "
                           "do not exist (yet)")
    history_days = {"change_vs_trailing_average": int(rule.window_days),
                    "seasonal_zscore": 7 * int(rule.weeks)}.get(rule.kind, 0)
    # With both dates, ask only for the window and the history its baselines need;
    # otherwise the whole series up to `end`, to find the latest day with a value.
    series = _daily_values(reader, rule, start - timedelta(days=history_days) if start and end else None, end)
    window = _window(series, start, end, lookback_days)
    if window is None:
        return RuleOutcome(rule, "skipped", f"metric {rule.metric.name} has no values")
    first, last = window
    params: dict = {"start": first, "end": last, **series}
    if rule.kind == "hourly_threshold":
        rows = reader.query([rule.metric.name], [DAY, HOUR], start=first, end=last).rows
        hourly = {"days": [r[DAY] for r in rows], "periods": [r[HOUR] for r in rows],
                  "values": [_number(r[rule.metric.name]) for r in rows], "above": rule.above}
        values = dict(zip(hourly["periods"], hourly["values"]))
        if not rows:
            return RuleOutcome(rule, "ok", "", window, [], values)
        breaches = [Breach(rule, d, period, value) for d, period, value in con.execute(_HOURLY_SQL, hourly).fetchall()]
    else:
        values = {d: v for d, v in zip(series["days"], series["values"]) if first <= d <= last}
        if not series["days"]:
            return RuleOutcome(rule, "ok", "", window, [], values)
        if rule.kind == "change_vs_trailing_average":
            sql, _ = _trailing_sql(rule)
            params.update(threshold=rule.threshold_pct)
        else:
            sql, _ = _zscore_sql(rule)
            params.update(sensitivity=rule.sensitivity, min_stddev_pct=rule.min_stddev_pct)
        params.update(min_history=rule.min_history, min_baseline=rule.min_baseline)
        rows = con.execute(sql, params).fetchall()
        breaches = [
            Breach(rule, d, d.isoformat(), value, baseline, change, z, int(history))
            for d, value, baseline, change, z, history in rows
        ]
    return RuleOutcome(rule, "breached" if breaches else "ok", "", window, breaches, values)


def evaluate_rules(con, config: AlertConfig, *, start: date | None = None, end: date | None = None,
                   logger=None, reader: MetricReader | None = None) -> list[RuleOutcome]:
    """Evaluate every enabled rule over [start, end] (metric dates, inclusive; or the
    latest ``lookback_days`` of each table). A rule whose table or column is
    missing is skipped; a rule whose query fails is reported as an error. Neither
    stops the other rules."""
    logger = logger or log
    reader = reader or MetricReader(con)
    outcomes = []
    for rule in config.rules:
        if not rule.enabled:
            outcomes.append(RuleOutcome(rule, "skipped", "disabled in config"))
            continue
        try:
            outcome = evaluate_rule(reader, con, rule, start=start, end=end, lookback_days=config.lookback_days)
        except Exception as exc:  # noqa: BLE001 - MetricFlow's and DuckDB's errors: one rule fails, not the run
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
