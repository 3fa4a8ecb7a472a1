"""Read the warehouse into reports: executive, sponsor attribution, data integrity.

Each builder takes an open DuckDB connection (read access is enough) and a
``Period`` and returns a ``Report``; it never fails on missing data: an empty
period, a missing optional table (forecasts not built yet) or a previous period
without data give "n/a" cells and a note, not an exception.

Every KPI figure is a metric of the semantic layer (dbt_project/models/semantic,
``bizintel metrics list``), queried by name through one MetricFlow engine per report
on the step's connection (``metrics.MetricReader``): the report computes no KPI
itself. A metric whose table is missing is "n/a" with a note naming the table.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import matplotlib.dates as mdates
import numpy as np
from matplotlib.ticker import FuncFormatter

from bizintel_dagster import dbt_vars, metrics, money
from bizintel_dagster.warehouse import table_exists
from bizintel_dagster.reporting.model import (
    Chart,
    Column,
    Report,
    Table,
    currency_symbol,
    format_value,
    money_text,
    pct_change,
)
from bizintel_dagster.reporting.periods import Period

ACCENT = "#1F3A5F"
BAR = "#9DB4CF"
FORECAST = "#B45309"
PERIOD_SHADE = "#FDE68A"
FORECAST_METRICS = (("revenue", "Revenue", "money"), ("dau", "Daily active users", "float"))
# the semantic-layer metric each forecast's history is (defs/forecasts/assets.metric_specs)
FORECAST_SERIES = {"revenue": "revenue", "dau": "active_users"}
PRIMARY_FORECAST_DAYS = 30




def latest_kpi_date(con) -> date | None:
    if not table_exists(con, "kpis", "kpi_daily"):
        return None
    return con.execute("select max(metric_date) from kpis.kpi_daily where has_data").fetchall()[0][0]


def _rows(con, sql: str, params: list) -> list[tuple]:
    return [tuple(r) for r in con.execute(sql, params).fetchall()]


def _num(value):
    """DuckDB sums are HUGEINT/DECIMAL: plain int/float for formatting and cells."""
    if value is None:
        return None
    if isinstance(value, int):
        return value
    return float(value)


def _money_axis(currency: str):
    symbol = currency_symbol(currency)

    def fmt(v, _pos):
        if abs(v) >= 1e6:
            return f"{symbol} {v / 1e6:,.1f}M"
        if abs(v) >= 1e3:
            return f"{symbol} {v / 1e3:,.0f}k"
        return f"{symbol} {v:,.0f}"

    return FuncFormatter(fmt)


def _date_axis(ax) -> None:
    locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.grid(axis="y", color="#E5E7EB", linewidth=0.8)
    ax.set_axisbelow(True)


class _Metrics:
    """The report's one MetricFlow engine, remembering which metrics it could not
    answer (their table missing) for one note per table."""

    def __init__(self, con):
        self._reader = metrics.MetricReader(con)
        self._missing: dict[str, set[str]] = {}

    def query(self, metric_names: list[str], group_by: list[str] | None = None, period: Period | None = None,
              start: date | None = None, end: date | None = None) -> metrics.Answer:
        if period is not None:
            start, end = period.start, period.end
        answer = self._reader.query(metric_names, group_by, start, end)
        by = [g for g in group_by or [] if not g.startswith("metric_time")]
        for metric, relations in answer.missing.items():
            for relation in relations:
                self._missing.setdefault(relation, set()).add(metric + (f" by {', '.join(by)}" if by else ""))
        return answer

    def add_notes(self, report: Report) -> None:
        for relation, names in sorted(self._missing.items()):
            report.notes.append(f"{relation} is not in the warehouse yet: {', '.join(sorted(names))} shown as n/a "
                                "(run the daily pipeline first).")


# ---------------------------------------------------------------------------
# executive
# ---------------------------------------------------------------------------

# the executive headline, shared by the report and the dashboard's executive page
HEADLINE = [
    # label, metric of the semantic layer, kind
    ("Revenue (total, net of refunds)", "revenue", "money"),
    ("Consumer revenue", "revenue_consumer", "money"),
    ("B2B revenue", "revenue_b2b", "money"),
    ("Refunds", "refunds", "money"),
    ("Purchases", "purchases", "int"),
    ("Daily active users (mean of days)", "dau_mean", "float"),
    ("Daily active users (peak day)", "dau_peak", "int"),
    ("Active users (distinct in the period)", "active_users", "int"),
    ("Payers (distinct in the period)", "payers", "int"),
    ("Sign-ups", "signups", "int"),
    ("Payer rate (payers / active users)", "payer_rate", "pct"),
    ("ARPU (consumer revenue / active users)", "arpu", "money"),
    ("Zone visits", "zone_visits", "int"),
    ("Engagement rate (engaged / zone visits)", "engagement_rate", "pct"),
    ("Sponsor value attributed", "sponsor_value", "money"),
    ("Records quarantined (incl. unparseable lines)", "quarantined_lines", "int"),
    ("Data-quality score (line-weighted)", "quality_score", "float"),
    ("Days with data", "days_with_data", "int"),
]
# label -> metric, for anyone checking a headline cell against the semantic layer
HEADLINE_METRICS = {label: metric for label, metric, _ in HEADLINE}
# the daily table's columns after the date; the day's quality score is the one the
# blocking check judged (lowest_partition_quality_score by day = that day's)
_DAILY = ["revenue", "revenue_consumer", "revenue_b2b", "active_users", "payer_rate", "engagement_rate",
          "lowest_partition_quality_score"]


def forecast_state(con) -> dict:
    """Primary forecasts and their status per metric, if the forecast tables exist."""
    if not (table_exists(con, "forecasts", "forecast_status") and table_exists(con, "forecasts", "daily_forecasts")):
        return {}
    state = {}
    columns = ["metric", "status", "message", "primary_model", "last_actual_date", "mase", "mase_seasonal_naive",
               "relative_mase", "coverage_80", "beats_naive", "beats_naive_message", "coverage_ok",
               "coverage_message", "generated_at"]
    for row in con.execute(f"select {', '.join(columns)} from forecasts.forecast_status").fetchall():
        info = dict(zip(columns, row))
        info["forecast"] = con.execute(
            """select forecast_date, horizon_days, point, lower_80, upper_80, lower_95, upper_95
               from forecasts.daily_forecasts where metric = ? and model = ? order by forecast_date""",
            [info["metric"], info["primary_model"]],
        ).fetchall() if info["primary_model"] else []
        state[info["metric"]] = info
    return state


def _trend_chart(title: str, history: list[tuple], forecast: list[tuple], period: Period, kind: str,
                 currency: str) -> Chart:
    scale = 10.0 ** money.exponent(currency) if kind == "money" else 1.0  # minor -> major units

    def draw(ax):
        if history:
            x = np.array([d for d, _ in history], dtype="datetime64[D]")
            y = np.array([np.nan if v is None else v for _, v in history], dtype=float) / scale
            ax.bar(x, y, width=0.8, color=BAR, label="daily")
            if len(y) >= 7:
                kernel = np.ones(7) / 7
                ax.plot(x[6:], np.convolve(y, kernel, mode="valid"), color=ACCENT, linewidth=2, label="7-day average")
        ax.axvspan(np.datetime64(period.start) - np.timedelta64(12, "h"),
                   np.datetime64(period.end) + np.timedelta64(12, "h"),
                   color=PERIOD_SHADE, alpha=0.45, zorder=0, label="report period")
        if forecast:
            fx = np.array([r[0] for r in forecast], dtype="datetime64[D]")
            f = np.array([[np.nan if v is None else v for v in r[2:7]] for r in forecast], dtype=float) / scale
            ax.fill_between(fx, f[:, 3], f[:, 4], color=FORECAST, alpha=0.12, linewidth=0, label="95 % interval")
            ax.fill_between(fx, f[:, 1], f[:, 2], color=FORECAST, alpha=0.25, linewidth=0, label="80 % interval")
            ax.plot(fx, f[:, 0], color=FORECAST, linestyle="--", linewidth=1.8, label="forecast")
        if not history and not forecast:
            ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", color="#666")
        _date_axis(ax)
        if kind == "money":
            ax.yaxis.set_major_formatter(_money_axis(currency))
        ax.set_ylim(bottom=0)
        ax.legend(loc="upper left", bbox_to_anchor=(0, -0.1), fontsize=7.5, ncols=6, frameon=False)

    return Chart(title.lower().replace(" ", "_"), title, draw)


def executive(con, period: Period, currency: str, generated_at: datetime) -> Report:
    label = "Weekly" if period.kind == "week" else "Monthly"
    report = Report("executive", f"{label} executive report", period, generated_at, currency)
    previous = period.previous()
    if not table_exists(con, "kpis", "kpi_daily"):
        report.notes.append("No KPI table (kpis.kpi_daily) in the warehouse yet: run the daily pipeline first.")
        report.tables.append(Table("headline", "Headline KPIs", [Column("kpi", "KPI")], []))
        return report
    mf = _Metrics(con)
    names = [m for _, m, _ in HEADLINE]
    now_row, then_row = mf.query(names, period=period).first(), mf.query(names, period=previous).first()
    days, prev_days = now_row.get("days_with_data") or 0, then_row.get("days_with_data") or 0
    rows = []
    for name, metric, _ in HEADLINE:
        now, then = now_row.get(metric), then_row.get(metric)
        change = None if now is None or then is None else now - then
        rows.append((name, now, then, change, pct_change(now, then)))
    report.tables.append(Table(
        "headline", f"Headline KPIs: {period.label} vs {previous.label}",
        [Column("kpi", "KPI"), Column("current", period.label, "row"), Column("previous", previous.label, "row"),
         Column("change", "Change", "row_change"), Column("change_pct", "Change %", "signed_pct")],
        rows, note=f"{period.describe()} compared with {previous.describe()}. Each figure is a metric of the "
                   "semantic layer (bizintel metrics list): distinct users are counted over the whole period.",
        row_kinds=[kind for _, _, kind in HEADLINE],
    ))
    if days:
        change = pct_change(now_row.get("revenue"), then_row.get("revenue"))
        compared = "" if now_row.get("revenue") is None else (
            f" ({change:+.1%} vs {previous.label})" if change is not None else f" (no data for {previous.label})")
        report.summary.append(
            f"Revenue {money_text(now_row.get('revenue'), currency)}" + compared
            + f"; mean DAU {format_value(now_row.get('dau_mean'), 'float', currency)}; "
            f"payer rate {format_value(now_row.get('payer_rate'), 'pct', currency)}; "
            f"data-quality score {format_value(now_row.get('quality_score'), 'float', currency)}."
        )
    if days < period.days:
        report.notes.append(f"{period.label} has KPI data for {days} of {period.days} days; totals cover those days only.")
    if prev_days < previous.days:
        report.notes.append(f"The comparison period {previous.label} has data for {prev_days} of {previous.days} days.")

    # daily detail and the trend charts' history: one query by day over the charts' window
    lookback = 56 if period.kind == "week" else 182
    latest = latest_kpi_date(con)
    by_day = [r for r in mf.query(_DAILY + ["days_with_data"], ["metric_time__day"],
                                  start=period.end - timedelta(days=lookback - 1),
                                  end=max(period.end, latest or period.end)).rows
              if r["days_with_data"]]  # a day without landing data is missing, not zero
    report.tables.append(Table("daily", "Daily KPIs", [
        Column("date", "Date", "date"), Column("revenue", "Revenue", "money"), Column("consumer", "Consumer", "money"),
        Column("b2b", "B2B", "money"), Column("dau", "DAU", "int"), Column("payer_rate", "Payer rate", "pct"),
        Column("engagement", "Engagement rate", "pct"), Column("quality", "Quality score", "float")],
        [(r["metric_time__day"], *(r[m] for m in _DAILY)) for r in by_day
         if period.start <= r["metric_time__day"] <= period.end]))

    # revenue by marketing source (campaign names come from input: escaped / neutralised downstream)
    group = ["user__marketing_source"]
    source_now, source_then = mf.query(["revenue"], group, period), mf.query(["revenue"], group, previous)
    if not source_now.missing:
        before = {r["user__marketing_source"]: r["revenue"] for r in source_then.rows}
        sources = sorted(((r["user__marketing_source"], r["revenue"] or 0) for r in source_now.rows),
                         key=lambda r: (-r[1], r[0] is None, str(r[0])))
        sources += [(name, 0) for name in sorted(set(before) - {n for n, _ in sources}, key=str)]
        total = sum(v for _, v in sources)
        report.tables.append(Table("marketing_sources", "Revenue by marketing source (first touch)", [
            Column("source", "Marketing source"), Column("revenue", period.label, "money"),
            Column("previous", previous.label, "money"), Column("change_pct", "Change %", "signed_pct"),
            Column("share", "Share", "pct")],
            [("(none)" if name is None else name, now, before.get(name) or 0, pct_change(now, before.get(name)),
              now / total if total else None) for name, now in sources],
            note="Metric revenue by user__marketing_source; (none): revenue without an app user's first touch "
                 "(B2B invoices, sponsorship orders)."))

    # forecasts
    state = forecast_state(con)
    # the forecast belongs on the charts when it starts within one period length of this period's end
    show_forecast = bool(latest) and (latest - period.end).days <= period.days
    forecast_rows, forecast_kinds = [], []
    for metric, title, kind in FORECAST_METRICS:
        history = [(r["metric_time__day"], r[FORECAST_SERIES[metric]]) for r in by_day]
        info = state.get(metric)
        forecast = info["forecast"][:PRIMARY_FORECAST_DAYS] if info and show_forecast else []
        chart_title = f"{title}: daily, last {lookback // 7} weeks" + (" and 30-day forecast" if forecast else "")
        report.charts.append(_trend_chart(chart_title, history, forecast, period, kind, currency))
        if not info:
            continue
        points = [r[2] for r in info["forecast"]]
        agg = (lambda xs: sum(xs)) if metric == "revenue" else (lambda xs: sum(xs) / len(xs) if xs else None)
        failing = [m for ok, m in ((info["beats_naive"], info["beats_naive_message"]),
                                   (info["coverage_ok"], info["coverage_message"])) if not ok and m]
        forecast_rows.append((
            title, info["primary_model"] or "-", info["status"],
            agg(points[:30]) if points else None, agg(points[:90]) if points else None,
            # the MASE of the model actually published (the baseline's when the trend model lost)
            info["mase_seasonal_naive"] if info["status"] == "baseline" else info["mase"],
            info["relative_mase"], info["coverage_80"],
            "pass" if info["beats_naive"] and info["coverage_ok"] else "WARN",
        ))
        forecast_kinds.append(kind)
        if info["status"] == "baseline":
            report.notes.append(f"Forecast ({title}): the seasonal-naive baseline is published, not the trend "
                                f"model, which lost to it on the backtest. {info['message']}")
        elif info["status"] != "ok":
            report.notes.append(f"Forecast ({title}): {info['message']}")
        elif not (info["beats_naive"] and info["coverage_ok"]):
            report.notes.append(f"Forecast ({title}) accuracy check warning: {'; '.join(failing)}. "
                                "Read this forecast with care.")
    if state:
        first = next(iter(state.values()))
        report.tables.append(Table(
            "forecast", "Forecast and measured accuracy", [
                Column("metric", "Metric"), Column("model", "Model"), Column("status", "Status"),
                Column("next_30", "Next 30 days", "row"), Column("next_90", "Next 90 days", "row"),
                Column("mase", "Backtest MASE", "float"), Column("relative_mase", "MASE / seasonal naive", "float"),
                Column("coverage_80", "80 % interval coverage", "pct"), Column("checks", "Checks")],
            forecast_rows, row_kinds=forecast_kinds,
            note=f"Forecast from data up to {first['last_actual_date']}, generated {first['generated_at']:%Y-%m-%d %H:%M}. "
                 "Revenue: sum of daily forecasts; DAU: mean per day. Accuracy from a rolling-origin backtest; "
                 "a trend model that does not beat seasonal naive there is not published (status baseline).",
        ))
        if not show_forecast:
            report.notes.append("The forecast starts more than one period after this one; it is not drawn on the charts.")
    else:
        report.notes.append("No forecast available yet (forecast_job has not run).")
    mf.add_notes(report)
    return report


# ---------------------------------------------------------------------------
# sponsor attribution (seed 000)
# ---------------------------------------------------------------------------


def sponsor_attribution(con, period: Period, currency: str, generated_at: datetime) -> Report:
    report = Report("sponsor_attribution", "Sponsor attribution report", period, generated_at, currency)
    previous = period.previous()
    if not table_exists(con, "fused", "fct_zone_visits"):
        report.notes.append("No zone visits (fused.fct_zone_visits) in the warehouse yet: run the daily pipeline first.")
        report.tables.append(Table("zones", "Zone revenue per sponsor", [Column("sponsor", "Sponsor")], []))
        return report
    mf = _Metrics(con)
    # venue names are reference data (labels), not figures
    venue_names = dict(_rows(con, "select venue_id, venue_name from reference.venues", [])) \
        if table_exists(con, "reference", "venues") else {}
    zone_metrics = ["zone_visits", "engaged_visits", "engagement_rate", "verified_share", "avg_dwell_minutes",
                    "sponsor_value"]
    found = mf.query(zone_metrics, ["zone_visit__sponsor_name", "zone_visit__zone_name", "zone_visit__venue"],
                     period).rows
    zones = sorted(
        [(r["zone_visit__sponsor_name"], r["zone_visit__zone_name"],
          venue_names.get(r["zone_visit__venue"]) or r["zone_visit__venue"], *(r[m] for m in zone_metrics))
         for r in found if r["zone_visits"]],
        key=lambda r: (-(r[8] or 0), str(r[0]), str(r[1])))
    totals = mf.query(["sponsor_value", "zone_visits"], period=period).first()
    total, visits = totals.get("sponsor_value") or 0, totals.get("zone_visits") or 0
    report.tables.append(Table("zones", "Zone revenue per sponsor", [
        Column("sponsor", "Sponsor"), Column("zone", "Zone"), Column("venue", "Venue"),
        Column("visits", "Visits", "int"), Column("engaged", "Engaged visits", "int"),
        Column("engagement_rate", "Engagement", "pct"), Column("verified_share", "Verified", "pct"),
        Column("avg_dwell", "Avg dwell (min)", "float"), Column("value", "Attributed value", "money"),
        Column("share", "Share of value", "pct")],
        [(*r, (r[8] or 0) / total if total else None) for r in zones],
        note="Attributed value = dwell minutes / 60 x hourly rate x 1.5 if engagement is active, else 1.0 (seed 000). "
             "Verified: checked-in ticket and zone detection confidence >= 0.8."))
    sponsor_metrics = ["visited_zones", "zone_visits", "engagement_rate", "sponsor_value"]
    group = ["zone_visit__sponsor", "zone_visit__sponsor_name"]
    before = {(r[group[0]], r[group[1]]): r["sponsor_value"] for r in mf.query(["sponsor_value"], group, previous).rows}
    sponsors = []
    for r in mf.query(sponsor_metrics, group, period).rows:
        value, then = r["sponsor_value"] or 0, before.pop((r[group[0]], r[group[1]]), None)
        sponsors.append((r[group[1]], r["visited_zones"] or 0, r["zone_visits"] or 0, r["engagement_rate"], value,
                         then or 0, pct_change(value, then)))
    sponsors += [(name, 0, 0, None, 0, then or 0, pct_change(0, then)) for (_, name), then in before.items()]
    sponsors.sort(key=lambda r: (-r[4], str(r[0])))
    report.tables.append(Table("sponsors", "Sponsor totals", [
        Column("sponsor", "Sponsor"), Column("zones", "Zones", "int"), Column("visits", "Visits", "int"),
        Column("engagement_rate", "Engagement", "pct"), Column("value", period.label, "money"),
        Column("previous", previous.label, "money"), Column("change_pct", "Change %", "signed_pct")],
        sponsors))
    for r in zones[:5]:
        report.summary.append(f"{r[0]} {r[1]}: {money_text(r[8], currency)} "
                              f"({r[3]:,} visits, {format_value(r[5], 'pct', currency)} engagement)")
    if zones:
        report.summary.append(f"TOTAL ATTRIBUTED VALUE: {money_text(total, currency)} from {visits:,} zone visits "
                              f"in {len(zones)} zones.")
    else:
        report.notes.append(f"No zone visits in {period.label}.")

    top = zones[:15]

    def draw(ax):
        if not top:
            ax.text(0.5, 0.5, "no zone visits", transform=ax.transAxes, ha="center", color="#666")
            ax.axis("off")
            return
        labels = [" ".join(f"{r[0]} - {r[1]}".split()) for r in top][::-1]  # no control characters
        values = [money.major(r[8] or 0, currency) for r in top][::-1]
        bars = ax.barh(range(len(top)), values, color=ACCENT)
        ax.set_yticks(range(len(top)), [lbl if len(lbl) <= 45 else lbl[:44] + "…" for lbl in labels], fontsize=8)
        ax.xaxis.set_major_formatter(_money_axis(currency))
        for bar, r in zip(bars, top[::-1]):
            ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2,
                    f"  {r[3]:,} visits, {format_value(r[5], 'pct', currency)} engaged", va="center", fontsize=7.5)
        ax.set_xlim(0, max(values) * 1.35 if max(values) > 0 else 1)
        ax.grid(axis="x", color="#E5E7EB", linewidth=0.8)
        ax.set_axisbelow(True)

    report.charts.append(Chart("zone_value", f"Attributed value by sponsor zone, {period.label}", draw, left=0.24))
    mf.add_notes(report)
    return report


# ---------------------------------------------------------------------------
# data integrity
# ---------------------------------------------------------------------------

_STAGES = [
    ("1 landing", "raw", "landing_files", "sum(lines_total)"),
    ("2 raw", "raw", "app_events", None), ("2 raw", "raw", "location_reports", None),
    ("2 raw", "raw", "ticketing", None), ("2 raw", "raw", "billing", None),
    ("2 raw", "raw", "rejected_lines", None),
    ("3 cleansed", "cleansed", "cleansed_app_events", None), ("3 cleansed", "cleansed", "cleansed_location_reports", None),
    ("3 cleansed", "cleansed", "cleansed_ticketing", None), ("3 cleansed", "cleansed", "cleansed_billing", None),
    ("3 cleansed", "cleansed", "quarantine_records", None),
    ("4 enriched", "enriched", "enriched_app_events", None), ("4 enriched", "enriched", "enriched_location_reports", None),
    ("4 enriched", "enriched", "enriched_billing", None),
    ("5 fused", "fused", "fct_revenue", None), ("5 fused", "fused", "fct_zone_visits", None),
    ("6 kpis", "kpis", "kpi_daily", None),
]


def quarantine_reasons(con, start: date, end: date) -> list[tuple]:
    """(source, reason, records) of the quarantined records of the days start..end,
    most frequent first: the reasons are a list per record, not a metric of the
    semantic layer (a record can fail several rules). Read by the data-integrity
    report and the dashboard."""
    return _rows(con, """
        with issues as (
            select source, unnest(quality_issues) as issue from cleansed.quarantine_records
            where partition_date between ? and ?)
        select source, issue, count(*) as records from issues group by all order by records desc, 1, 2""",
                 [start, end])


# Lines accounted per source, in the table's column order after the source
_LINE_METRICS = ["landing_lines", "unparseable_lines", "records_accepted", "records_quarantined", "records_duplicate",
                 "unaccounted_lines"]


def data_integrity(con, period: Period, currency: str, generated_at: datetime,
                   check_rows: list[tuple] | None = None) -> Report:
    """check_rows: (asset, check, result, severity, evaluated_at, description) of
    the latest asset-check evaluations, if the caller could read them."""
    report = Report("data_integrity", "Data integrity report", period, generated_at, currency)
    window = [period.start, period.end]
    stages = []
    for stage, schema, table, expr in _STAGES:
        if table_exists(con, schema, table):
            n = con.execute(f'select {expr or "count(*)"} from "{schema}"."{table}" where partition_date between ? and ?',
                            window).fetchall()[0][0]
            stages.append((stage, f"{schema}.{table}", _num(n) or 0))
    report.tables.append(Table("stages", "Rows per pipeline stage", [
        Column("stage", "Stage"), Column("table", "Table"), Column("rows", "Rows in period", "int")], stages,
        note="landing = lines in the landing files; raw = parseable lines loaded; a line is accepted (cleansed), "
             "quarantined or a counted duplicate."))
    if not table_exists(con, "cleansed", "dq_partition_stats"):
        report.notes.append("No data-quality statistics (cleansed.dq_partition_stats) yet: run the daily pipeline first.")
        return report
    mf = _Metrics(con)
    bar = dbt_vars.quality_bar()
    sources = [tuple(r[k] for k in ["dq_partition__source", *_LINE_METRICS, "quality_score"])
               for r in mf.query(_LINE_METRICS + ["quality_score"], ["dq_partition__source"], period).rows]
    report.tables.append(Table("sources", "Lines accounted per source", [
        Column("source", "Source"), Column("lines", "Lines in", "int"), Column("unparseable", "Unparseable", "int"),
        Column("accepted", "Accepted", "int"), Column("quarantined", "Quarantined", "int"),
        Column("duplicates", "Duplicates", "int"), Column("unaccounted", "Unaccounted", "int"),
        Column("quality", "Quality score", "float")], sources,
        note="Lines in = unparseable + accepted + quarantined + duplicates; 'Unaccounted' must be 0. "
             "Quality score: metric quality_score (line-weighted over the source's scored lines)."))
    daily = []
    for r in mf.query(["landing_lines", "records_accepted", "quarantined_lines", "records_duplicate",
                       "lowest_partition_quality_score"], ["metric_time__day"], period).rows:
        # the day's score as the blocking check judged it (dq_partition_stats.partition_quality_score)
        score = r["lowest_partition_quality_score"]
        daily.append((r["metric_time__day"], r["landing_lines"], r["records_accepted"], r["quarantined_lines"],
                      r["records_duplicate"], score, "n/a" if score is None else ("pass" if score >= bar else "FAIL")))
    report.tables.append(Table("daily_quality", "Daily data quality", [
        Column("date", "Date", "date"), Column("lines", "Lines in", "int"), Column("accepted", "Accepted", "int"),
        Column("quarantined", "Quarantined", "int"), Column("duplicates", "Duplicates", "int"),
        Column("score", "Quality score", "float"), Column("bar", f"Score >= {bar}")], daily))
    reasons = quarantine_reasons(con, period.start, period.end)
    report.tables.append(Table("quarantine_reasons", "Quarantine reasons", [
        Column("source", "Source"), Column("reason", "Reason"), Column("records", "Records", "int")],
        [(r[0], r[1], r[2]) for r in reasons],
        note="A record can fail several rules, so reasons add up to more than the quarantined records."))
    if check_rows is not None:
        report.tables.append(Table("checks", "Asset checks (latest evaluation)", [
            Column("asset", "Asset"), Column("check", "Check"), Column("result", "Result"),
            Column("severity", "Severity"), Column("evaluated_at", "Evaluated at"), Column("description", "Description")],
            check_rows))
        failing = [r for r in check_rows if r[2] not in ("passed", "not evaluated")]
        if failing:
            report.notes.append(f"{len(failing)} asset check(s) not passing at their latest evaluation: "
                                + ", ".join(f"{r[0]}:{r[1]}" for r in failing[:8]) + ("..." if len(failing) > 8 else ""))

    overall = mf.query(["landing_lines", "records_accepted", "quarantined_lines", "records_duplicate",
                        "unaccounted_lines", "quality_score"], period=period).first()
    lines, accepted = overall.get("landing_lines") or 0, overall.get("records_accepted") or 0
    quarantined, unaccounted = overall.get("quarantined_lines") or 0, overall.get("unaccounted_lines") or 0
    score = overall.get("quality_score")
    failing_days = [d for d in daily if d[6] == "FAIL"]
    if lines:
        report.summary.append(
            f"{lines:,} lines in: {accepted:,} accepted ({accepted / lines:.1%}), {quarantined:,} quarantined or "
            f"unparseable, {overall.get('records_duplicate') or 0:,} duplicates; "
            + ("every line accounted for." if unaccounted == 0 else f"{unaccounted:,} lines UNACCOUNTED."))
        report.summary.append(f"Data-quality score {format_value(score, 'float', currency)} (bar: {bar}); "
                              f"{len(failing_days)} of {len(daily)} days below the bar.")
    else:
        report.notes.append(f"No landing lines in {period.label}.")
    if unaccounted:
        report.notes.append(f"{unaccounted:,} lines are not accounted for: investigate the conservation check.")

    def draw(ax):
        if not daily:
            ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", color="#666")
            return
        x = np.array([d[0] for d in daily], dtype="datetime64[D]")
        ax.bar(x, [d[3] for d in daily], color=BAR, width=0.8, label="quarantined + unparseable lines")
        ax.set_ylabel("lines")
        twin = ax.twinx()
        twin.plot(x, [np.nan if d[5] is None else d[5] for d in daily], color=ACCENT, marker="o", markersize=3,
                  linewidth=2, label="quality score")
        twin.axhline(bar, color=FORECAST, linestyle="--", linewidth=1, label=f"bar ({bar})")
        twin.set_ylim(min(bar - 10, min((d[5] for d in daily if d[5] is not None), default=bar) - 2), 100.5)
        twin.set_ylabel("score")
        _date_axis(ax)
        handles = ax.get_legend_handles_labels()
        handles2 = twin.get_legend_handles_labels()
        ax.legend(handles[0] + handles2[0], handles[1] + handles2[1], loc="upper left", bbox_to_anchor=(0, -0.1),
                  fontsize=7.5, ncols=3, frameon=False)

    report.charts.append(Chart("daily_quality", "Daily quality score and quarantined lines", draw))
    mf.add_notes(report)
    return report
