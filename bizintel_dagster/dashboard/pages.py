"""The dashboard's pages (Streamlit). Each renderer gets the view's read-only
connection, its MetricReader and the sidebar's filters; figures come from the
reader (metric layer), labels and alert / check records from their tables.

Data is shown only through elements that escape it (``st.dataframe``, charts,
``st.metric``, select boxes); ``st.table``, titles and captions are markdown, so they
carry only the dashboard's own words, numbers and dates, never a value from input.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from bizintel_dagster import dbt_vars, metrics, money, settings
from bizintel_dagster.dashboard import data
from bizintel_dagster.reporting import content
from bizintel_dagster.reporting.model import format_value, pct_change
from bizintel_dagster.reporting.safe import neutralise

# the four headline cards above the full table: metric, kind
CARDS = [("revenue", "money"), ("active_users", "int"), ("payer_rate", "pct"), ("quality_score", "float")]
LINE_METRICS = ["landing_lines", "records_accepted", "quarantined_lines", "records_duplicate"]


@dataclass
class Filters:
    period: data.Period
    chosen: dict[str, str] = field(default_factory=dict)  # group-by name -> value

    @property
    def previous(self) -> data.Period:
        return self.period.previous()


def currency() -> str:
    return settings.get("BIZINTEL_REPORTING_CURRENCY")


def _param_date(name: str, default: date) -> date:
    try:
        return date.fromisoformat(st.query_params.get(name, ""))
    except ValueError:
        return default


def sidebar(con, reader: metrics.MetricReader, path: Path) -> Filters:
    """Period and dimension filters; their values are kept in the URL's query
    parameters (period, day, end, and one per filter), so a view can be linked."""
    latest = data.latest_day(con) or date.today()
    side = st.sidebar
    kinds = list(data.PERIOD_KINDS)
    kind = st.query_params.get("period", "week")
    kind = side.radio("Period", kinds, index=kinds.index(kind) if kind in kinds else 1, horizontal=True,
                      format_func=str.capitalize, key="period_kind")
    day = _param_date("day", latest)
    if kind == "custom":
        end = _param_date("end", latest)
        chosen_range = side.date_input("Days", (min(day, end), end), key="period_range")
        start, end = (chosen_range[0], chosen_range[-1]) if chosen_range else (day, end)
        period = data.period("custom", start, end)
    else:
        start = side.date_input("Day in the period", day, key="period_day")
        period, end = data.period(kind, start), None
    st.query_params["period"], st.query_params["day"] = kind, period.start.isoformat()
    if end is not None:
        st.query_params["end"] = end.isoformat()
    chosen = {}
    for label, group_by in data.FILTERS.items():
        values = [data.ALL] + data.filter_values(reader, group_by, period.previous().start, period.end)
        wanted = st.query_params.get(group_by, data.ALL)
        value = side.selectbox(label, values, index=values.index(wanted) if wanted in values else 0, key=group_by)
        if value != data.ALL:
            chosen[group_by] = value
            st.query_params[group_by] = value
        elif group_by in st.query_params:
            del st.query_params[group_by]
    side.caption(f"Analysts' copy published {data.published_at(path):%Y-%m-%d %H:%M %Z}; latest day with data "
                 f"{latest.isoformat()}.")
    return Filters(period, chosen)


def _csv(frame: pd.DataFrame) -> bytes:
    # strings from input are neutralised for spreadsheets, as in the reports' CSV files
    return frame.map(neutralise).to_csv(index=False).encode("utf-8")


def table(title: str, frame: pd.DataFrame, key: str) -> None:
    """A table (st.dataframe: cells as plain text) with its CSV download."""
    st.subheader(title)
    if frame.empty:
        st.info("No rows for this selection.")
        return
    st.dataframe(frame, hide_index=True)
    st.download_button("Download CSV", _csv(frame), file_name=f"{key}.csv", mime="text/csv", key=f"csv_{key}")


def _major(value, kind: str):
    return money.major(value, currency()) if kind == "money" and value is not None else value


def _period_caption(filters: Filters) -> None:
    split = ", ".join(label for label, g in data.FILTERS.items() if g in filters.chosen)
    st.caption(f"{filters.period.label} ({filters.period.start} to {filters.period.end}) compared with "
               f"{filters.previous.label}; time zone {settings.timezone()}, money in {currency()}"
               + (f"; filtered by {split} (see the sidebar)" if split else "") + ".")


# ---------------------------------------------------------------------------
# Executive
# ---------------------------------------------------------------------------


def headline(reader: metrics.MetricReader, filters: Filters) -> tuple[list[tuple], list[str]]:
    """(label, metric, kind, current, previous) per headline KPI of the executive
    report, and the metrics a chosen filter cannot split."""
    names = [m for _, m, _ in content.HEADLINE]
    (now,), unsplit = data.filtered(reader, names, filters.chosen, filters.period.start, filters.period.end)
    (then,), _ = data.filtered(reader, names, filters.chosen, filters.previous.start, filters.previous.end)
    return [(label, m, kind, now.get(m), then.get(m)) for label, m, kind in content.HEADLINE], unsplit


def executive(con, reader: metrics.MetricReader, filters: Filters) -> None:
    st.title("Executive")
    _period_caption(filters)
    rows, unsplit = headline(reader, filters)
    by_metric = {r[1]: r for r in rows}
    for column, (metric, kind) in zip(st.columns(len(CARDS)), CARDS):
        label, _, _, now, then = by_metric[metric]
        change = pct_change(now, then)
        column.metric(label, format_value(now, kind, currency()),
                      None if change is None else format_value(change, "signed_pct", currency()))
    cur = currency()
    shown = pd.DataFrame(
        [(label, format_value(now, kind, cur), format_value(then, kind, cur),
          format_value(pct_change(now, then), "signed_pct", cur)) for label, _, kind, now, then in rows],
        columns=["KPI", filters.period.label, filters.previous.label, "Change %"])
    st.subheader("Headline KPIs")
    st.table(shown.set_index("KPI"))  # markdown cells: only our labels and formatted numbers
    if unsplit:
        st.caption("n/a under the chosen filter (the metric is not split by it): " + ", ".join(unsplit) + ".")
    st.download_button("Download CSV", _csv(pd.DataFrame(
        [(label, m, _major(now, kind), _major(then, kind)) for label, m, kind, now, then in rows],
        columns=["kpi", "metric", "current", "previous"])), file_name="headline.csv", mime="text/csv",
        key="csv_headline")

    _trends(con, reader, filters)
    _revenue_breakdowns(reader, filters)
    alerts = data.active_alerts(con, filters.period.start, filters.period.end)
    table("Active alerts", pd.DataFrame(alerts, columns=[
        "severity", "rule", "subject", "period", "observed", "baseline", "change %", "status", "message"]),
        "alerts")


def _trends(con, reader: metrics.MetricReader, filters: Filters) -> None:
    st.subheader("Trends and forecast")
    end = filters.period.end
    start = end - timedelta(days=data.TREND_DAYS - 1)
    series = [m for m, _, _ in content.FORECAST_METRICS]
    names = [content.FORECAST_SERIES[m] for m in series]
    daily, _ = data.filtered(reader, names + ["days_with_data"], {}, start, end, ["metric_time__day"])
    daily = [r for r in daily if r.get("days_with_data")]  # a day without landing data is missing, not zero
    state = data.forecasts(con)
    for column, (metric, title, kind) in zip(st.columns(len(series)), content.FORECAST_METRICS):
        history = pd.DataFrame([(r["metric_time__day"], _major(r[content.FORECAST_SERIES[metric]], kind))
                                for r in daily], columns=["day", "value"])
        info = state.get(metric) or {}
        forecast = pd.DataFrame([(f[0], *(_major(v, kind) for v in f[2:7])) for f in info.get("forecast") or []
                                 if f[0] > end - timedelta(days=7)][:30],
                                columns=["day", "point", "lower_80", "upper_80", "lower_95", "upper_95"])
        layers = [alt.Chart(history).mark_bar(color="#9DB4CF").encode(
            x=alt.X("day:T", title=None), y=alt.Y("value:Q", title=title))]
        if not forecast.empty:
            band = alt.Chart(forecast).encode(x="day:T")
            layers += [band.mark_area(opacity=0.15, color="#B45309").encode(y="lower_95:Q", y2="upper_95:Q"),
                       band.mark_area(opacity=0.3, color="#B45309").encode(y="lower_80:Q", y2="upper_80:Q"),
                       band.mark_line(color="#B45309", strokeDash=[5, 3]).encode(y="point:Q")]
        column.altair_chart(alt.layer(*layers).properties(title=title, height=260))
        note = ("forecast: " + (info.get("primary_model") or "-") + f" ({info.get('status')}), 80 % and 95 % intervals"
                if not forecast.empty else "no forecast within a week of this period")
        column.caption(f"Daily, last {data.TREND_DAYS // 7} weeks to {end}; {note}.")


def _revenue_breakdowns(reader: metrics.MetricReader, filters: Filters) -> None:
    cur = currency()
    for title, group_by, key in (("Revenue by marketing source (first touch)", "user__marketing_source", "by_source"),
                                 ("Revenue by product", "revenue_line__product", "by_product")):
        now, _ = data.filtered(reader, ["revenue"], filters.chosen, filters.period.start, filters.period.end,
                               [group_by])
        then, _ = data.filtered(reader, ["revenue"], filters.chosen, filters.previous.start, filters.previous.end,
                                [group_by])
        before = {r[group_by]: r["revenue"] for r in then}
        frame = pd.DataFrame([("(none)" if r[group_by] is None else str(r[group_by]), money.major(r["revenue"], cur),
                               money.major(before.get(r[group_by]), cur),
                               pct_change(r["revenue"], before.get(r[group_by])))
                              for r in now if r.get("revenue")],
                             columns=[title.split(" by ")[1].split(" (")[0], f"revenue {cur}",
                                      f"previous {cur}", "change"])
        frame = frame.sort_values(frame.columns[1], ascending=False)
        table(title, frame, key)
        if not frame.empty:
            st.bar_chart(frame.set_index(frame.columns[0])[frame.columns[1]], horizontal=True, height=240)


# ---------------------------------------------------------------------------
# Data integrity
# ---------------------------------------------------------------------------


def data_integrity(con, reader: metrics.MetricReader, filters: Filters) -> None:
    st.title("Data integrity")
    period = filters.period
    _period_caption(Filters(period))  # line accounting has no marketing source or segment
    bar = dbt_vars.quality_bar()
    (overall,), _ = data.filtered(reader, LINE_METRICS + ["unaccounted_lines", "quality_score"], {},
                                  period.start, period.end)
    cards = [("Lines in", "landing_lines", "int"), ("Accepted", "records_accepted", "int"),
             ("Quarantined + unparseable", "quarantined_lines", "int"), ("Duplicates", "records_duplicate", "int"),
             ("Unaccounted", "unaccounted_lines", "int"), (f"Quality score (bar {bar})", "quality_score", "float")]
    for column, (label, metric, kind) in zip(st.columns(len(cards)), cards):
        column.metric(label, format_value(overall.get(metric), kind, currency()))

    per_day, _ = data.filtered(reader, LINE_METRICS, {}, period.start, period.end,
                               ["metric_time__day", "dq_partition__source"])
    frame = pd.DataFrame([(r["metric_time__day"], r["dq_partition__source"], *(r[m] for m in LINE_METRICS))
                          for r in per_day], columns=["day", "source", "lines in", "accepted", "quarantined",
                                                      "duplicates"])
    if not frame.empty:
        st.subheader("Lines per day and source")
        long = frame.melt(id_vars=["day", "source"], value_vars=["accepted", "quarantined", "duplicates"],
                          var_name="outcome", value_name="lines")
        st.altair_chart(alt.Chart(long).mark_bar().encode(
            x=alt.X("day:T", title=None), y=alt.Y("sum(lines):Q", title="lines"), color="outcome:N",
            tooltip=["day:T", "source:N", "outcome:N", "lines:Q"]).properties(height=240))
    table("Lines accounted per day and source", frame, "lines_per_day")

    scores, _ = data.filtered(reader, ["lowest_partition_quality_score", "days_with_data"], {}, period.start,
                              period.end, ["metric_time__day"])
    quality = pd.DataFrame([(r["metric_time__day"], r["lowest_partition_quality_score"],
                             "n/a" if r["lowest_partition_quality_score"] is None
                             else ("pass" if r["lowest_partition_quality_score"] >= bar else "FAIL"))
                            for r in scores if r.get("days_with_data")],
                           columns=["day", "quality score", f"score >= {bar}"])
    if not quality.empty:
        st.subheader("Quality score per day")
        line = alt.Chart(quality).mark_line(point=True, color="#1F3A5F").encode(
            x=alt.X("day:T", title=None), y=alt.Y("quality score:Q", scale=alt.Scale(zero=False)))
        rule = alt.Chart(pd.DataFrame({"bar": [bar]})).mark_rule(color="#B45309", strokeDash=[5, 3]).encode(y="bar:Q")
        st.altair_chart((line + rule).properties(height=220))
        st.caption(f"The day's score as the blocking check judges it (dq_partition_stats.partition_quality_score); "
                   f"dashed: the bar, dbt var quality_bar = {bar}.")
    table("Quality score per day", quality, "quality_per_day")

    reasons = content.quarantine_reasons(con, period.start, period.end) \
        if data.table_exists(con, "cleansed", "quarantine_records") else []
    table("Top quarantine reasons", pd.DataFrame(reasons[:20], columns=["source", "reason", "records"]),
          "quarantine_reasons")

    _freshness(reader)
    _checks()


def _freshness(reader: metrics.MetricReader) -> None:
    rows, _ = data.filtered(reader, ["landing_lines"], {}, None, None, ["dq_partition__source", "metric_time__day"])
    last: dict[str, date] = {}
    for r in rows:
        if r.get("landing_lines"):
            source = r["dq_partition__source"]
            last[source] = max(last.get(source, r["metric_time__day"]), r["metric_time__day"])
    table("Freshness: last day with lines per source", pd.DataFrame(sorted(last.items()),
                                                                     columns=["source", "last day"]), "freshness")


@functools.cache
def _repository():
    from bizintel_dagster import runner

    return runner.load_definitions().get_repository_def()


@st.cache_data(ttl=60, show_spinner="Reading asset-check results from the Dagster instance...")
def _check_rows() -> list[tuple] | None:
    from bizintel_dagster import runner
    from bizintel_dagster.defs.reports.assets import check_rows

    import os

    if not os.environ.get("DAGSTER_HOME"):
        return None
    with runner.default_instance() as instance:
        return check_rows(_repository(), instance)


def _checks() -> None:
    try:
        rows = _check_rows()
    except Exception as exc:  # the instance is optional for the dashboard: say why, keep the page
        st.subheader("Asset checks (latest evaluation)")
        st.warning(f"Asset-check results unavailable: {type(exc).__name__}")
        return
    if rows is None:
        st.subheader("Asset checks (latest evaluation)")
        st.info("Set DAGSTER_HOME to the pipeline's Dagster instance to see its asset-check results.")
        return
    table("Asset checks (latest evaluation)", pd.DataFrame(rows, columns=[
        "asset", "check", "result", "severity", "evaluated at", "description"]), "checks")
