"""Read the warehouse into reports: executive, sponsor attribution, data integrity.

Each builder takes an open DuckDB connection (read access is enough) and a
``Period`` and returns a ``Report``; it never fails on missing data: an empty
period, a missing optional table (forecasts not built yet) or a previous period
without data give "n/a" cells and a note, not an exception.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import matplotlib.dates as mdates
import numpy as np
from matplotlib.ticker import FuncFormatter

from bizintel_dagster import money
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
PRIMARY_FORECAST_DAYS = 30


def table_exists(con, schema: str, table: str) -> bool:
    return bool(con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, table]
    ).fetchall()[0][0])


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


# ---------------------------------------------------------------------------
# executive
# ---------------------------------------------------------------------------

def _money_sum(column: str) -> str:
    """A period's money total: unknown (NULL, shown n/a) when one of its days is
    unknown in kpi_daily (overflowed or unconverted, money_total_unknown), never
    the sum of the other days."""
    return f"case when count(*) filter (where {column} is null) > 0 then null else sum({column}) end"


_HEADLINE = [
    # label, SQL over kpis.kpi_daily rows of the period, kind
    ("Revenue (total, net of refunds)", _money_sum("revenue_total_minor"), "money"),
    ("Consumer revenue", _money_sum("revenue_consumer_minor"), "money"),
    ("B2B revenue", _money_sum("revenue_b2b_minor"), "money"),
    ("Refunds", _money_sum("refunds_minor"), "money"),
    ("Purchases", "sum(purchases)", "int"),
    ("Daily active users (mean)", "avg(dau)", "float"),
    ("Daily active users (peak)", "max(dau)", "int"),
    ("Sign-ups", "sum(signups)", "int"),
    ("Payer rate (payers / DAU)", "sum(payers) / nullif(sum(dau), 0)", "pct"),
    ("ARPU (consumer revenue / DAU)", f"round({_money_sum('revenue_consumer_minor')} / nullif(sum(dau), 0))", "money"),
    ("Zone visits", "sum(zone_visits)", "int"),
    ("Engagement rate", "sum(engagement_rate * zone_visits) / nullif(sum(zone_visits) filter (where engagement_rate is not null), 0)", "pct"),
    ("Sponsor value attributed", _money_sum("sponsor_value_minor"), "money"),
    ("Records quarantined", "sum(records_quarantined)", "int"),
]


def _period_kpis(con, period: Period) -> tuple[int, list]:
    select = ", ".join(expr for _, expr, _ in _HEADLINE)
    row = con.execute(
        f"select count(*), {select} from kpis.kpi_daily where has_data and metric_date between ? and ?",
        [period.start, period.end],
    ).fetchall()[0]
    days, values = row[0], [_num(v) for v in row[1:]]
    quality = con.execute(
        """select round(sum(quality_score_sum) / nullif(sum(quality_scored_lines), 0), 2)
           from cleansed.dq_partition_stats where partition_date between ? and ?""",
        [period.start, period.end],
    ).fetchall()[0][0] if table_exists(con, "cleansed", "dq_partition_stats") else None
    return days, values + [_num(quality)]


def _forecast_state(con) -> dict:
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
    days, current = _period_kpis(con, period)
    prev_days, before = _period_kpis(con, previous)
    labels = [h[0] for h in _HEADLINE] + ["Data-quality score (line-weighted)"]
    kinds = [h[2] for h in _HEADLINE] + ["float"]
    rows = []
    for name, now, then in zip(labels, current, before):
        change = None if now is None or then is None else now - then
        rows.append((name, now, then, change, pct_change(now, then)))
    rows.append(("Days with data", days, prev_days, days - prev_days, pct_change(days, prev_days)))
    kinds.append("int")
    report.tables.append(Table(
        "headline", f"Headline KPIs: {period.label} vs {previous.label}",
        [Column("kpi", "KPI"), Column("current", period.label, "row"), Column("previous", previous.label, "row"),
         Column("change", "Change", "row_change"), Column("change_pct", "Change %", "signed_pct")],
        rows, note=f"{period.describe()} compared with {previous.describe()}.", row_kinds=kinds,
    ))
    revenue, revenue_before = current[0], before[0]
    if days:
        change = pct_change(revenue, revenue_before)
        report.summary.append(
            f"Revenue {money_text(revenue, currency)}"
            + (f" ({change:+.1%} vs {previous.label})" if change is not None else f" (no data for {previous.label})")
            + f"; mean DAU {format_value(current[5], 'float', currency)}; payer rate {format_value(current[8], 'pct', currency)}; "
            f"data-quality score {format_value(current[-1], 'float', currency)}."
        )
    unknown = [d.isoformat() for (d,) in _rows(con, """
        select metric_date from kpis.kpi_daily
        where money_total_unknown and metric_date between ? and ? order by 1""", [previous.start, period.end])]
    if unknown:
        report.notes.append(
            f"Money totals unknown on {', '.join(unknown)} (a sum beyond BIGINT or an amount without an FX rate; "
            "check kpi_daily:money_totals_known): the totals of those periods are n/a, not the other days' sum.")
    if days < period.days:
        report.notes.append(f"{period.label} has KPI data for {days} of {period.days} days; totals cover those days only.")
    if prev_days < previous.days:
        report.notes.append(f"The comparison period {previous.label} has data for {prev_days} of {previous.days} days.")

    # daily detail
    daily = _rows(con, """
        select metric_date, revenue_total_minor, revenue_consumer_minor, revenue_b2b_minor, dau, payer_rate,
               engagement_rate, data_quality_score
        from kpis.kpi_daily where has_data and metric_date between ? and ? order by 1""", [period.start, period.end])
    report.tables.append(Table("daily", "Daily KPIs", [
        Column("date", "Date", "date"), Column("revenue", "Revenue", "money"), Column("consumer", "Consumer", "money"),
        Column("b2b", "B2B", "money"), Column("dau", "DAU", "int"), Column("payer_rate", "Payer rate", "pct"),
        Column("engagement", "Engagement rate", "pct"), Column("quality", "Quality score", "float")],
        [tuple(_num(v) if not isinstance(v, date) else v for v in r) for r in daily]))

    # revenue by marketing source (campaign names come from input: escaped / neutralised downstream)
    if table_exists(con, "kpis", "kpi_daily_revenue_by_dimension"):
        sources = _rows(con, """
            select dimension_value,
                   sum(value_minor) filter (where metric_date between $s and $e) as now,
                   sum(value_minor) filter (where metric_date between $ps and $pe) as before
            from kpis.kpi_daily_revenue_by_dimension
            where measure = 'revenue' and dimension = 'marketing_source' and metric_date between $ps and $e
            group by 1 order by now desc nulls last, 1""",
            {"s": period.start, "e": period.end, "ps": previous.start, "pe": previous.end})
        total = sum(_num(r[1]) or 0 for r in sources)
        report.tables.append(Table("marketing_sources", "Revenue by marketing source (first touch)", [
            Column("source", "Marketing source"), Column("revenue", period.label, "money"),
            Column("previous", previous.label, "money"), Column("change_pct", "Change %", "signed_pct"),
            Column("share", "Share", "pct")],
            [(r[0], _num(r[1]) or 0, _num(r[2]) or 0, pct_change(_num(r[1]) or 0, _num(r[2])),
              (_num(r[1]) or 0) / total if total else None) for r in sources]))

    # forecasts
    state = _forecast_state(con)
    lookback = 56 if period.kind == "week" else 182
    latest = con.execute("select max(metric_date) from kpis.kpi_daily where has_data").fetchall()[0][0]
    # the forecast belongs on the charts when it starts within one period length of this period's end
    show_forecast = bool(latest) and (latest - period.end).days <= period.days
    forecast_rows, forecast_kinds = [], []
    for metric, title, kind in FORECAST_METRICS:
        column = "revenue_total_minor" if metric == "revenue" else "dau"
        history = _rows(con, f"""select metric_date, {column} from kpis.kpi_daily
                                 where has_data and metric_date between ? and ? order by 1""",
                        [period.end - timedelta(days=lookback - 1), max(period.end, latest or period.end)])
        info = state.get(metric)
        forecast = info["forecast"][:PRIMARY_FORECAST_DAYS] if info and show_forecast else []
        chart_title = f"{title}: daily, last {lookback // 7} weeks" + (" and 30-day forecast" if forecast else "")
        report.charts.append(_trend_chart(chart_title, [(d, _num(v)) for d, v in history], forecast, period, kind, currency))
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
    venues = "left join reference.venues ven using (venue_id)" if table_exists(con, "reference", "venues") else ""
    venue_name = "coalesce(ven.venue_name, v.venue_id)" if venues else "v.venue_id"
    zones = _rows(con, f"""
        select v.sponsor_name, v.zone_name, {venue_name} as venue,
               count(*) as visits,
               count(*) filter (where v.is_engaged) as engaged,
               count(*) filter (where v.is_engaged) / count(*) as engagement_rate,
               count(*) filter (where v.verification_status = 'verified') / count(*) as verified_share,
               avg(v.dwell_minutes) as avg_dwell,
               sum(v.attributed_value_minor) as value
        from fused.fct_zone_visits v {venues}
        where v.partition_date between ? and ?
        group by all order by value desc, 1, 2""", [period.start, period.end])
    total = sum(_num(r[8]) or 0 for r in zones)
    visits = sum(r[3] for r in zones)
    report.tables.append(Table("zones", "Zone revenue per sponsor", [
        Column("sponsor", "Sponsor"), Column("zone", "Zone"), Column("venue", "Venue"),
        Column("visits", "Visits", "int"), Column("engaged", "Engaged visits", "int"),
        Column("engagement_rate", "Engagement", "pct"), Column("verified_share", "Verified", "pct"),
        Column("avg_dwell", "Avg dwell (min)", "float"), Column("value", "Attributed value", "money"),
        Column("share", "Share of value", "pct")],
        [(r[0], r[1], r[2], r[3], r[4], _num(r[5]), _num(r[6]), _num(r[7]), _num(r[8]),
          (_num(r[8]) or 0) / total if total else None) for r in zones],
        note="Attributed value = dwell minutes / 60 x hourly rate x 1.5 if engagement is active, else 1.0 (seed 000). "
             "Verified: checked-in ticket and zone detection confidence >= 0.8."))
    sponsors = _rows(con, """
        select sponsor_name,
               count(distinct zone_id) filter (where partition_date between $s and $e),
               count(*) filter (where partition_date between $s and $e) as visits,
               count(*) filter (where partition_date between $s and $e and is_engaged)
                   / nullif(count(*) filter (where partition_date between $s and $e), 0),
               sum(attributed_value_minor) filter (where partition_date between $s and $e) as value,
               sum(attributed_value_minor) filter (where partition_date between $ps and $pe) as before
        from fused.fct_zone_visits where partition_date between $ps and $e
        group by sponsor_id, sponsor_name order by value desc nulls last, 1""",
        {"s": period.start, "e": period.end, "ps": previous.start, "pe": previous.end})
    report.tables.append(Table("sponsors", "Sponsor totals", [
        Column("sponsor", "Sponsor"), Column("zones", "Zones", "int"), Column("visits", "Visits", "int"),
        Column("engagement_rate", "Engagement", "pct"), Column("value", period.label, "money"),
        Column("previous", previous.label, "money"), Column("change_pct", "Change %", "signed_pct")],
        [(r[0], r[1], r[2], _num(r[3]), _num(r[4]) or 0, _num(r[5]) or 0, pct_change(_num(r[4]) or 0, _num(r[5])))
         for r in sponsors]))
    for r in zones[:5]:
        report.summary.append(f"{r[0]} {r[1]}: {money_text(_num(r[8]), currency)} "
                              f"({r[3]:,} visits, {format_value(_num(r[5]), 'pct', currency)} engagement)")
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
        values = [money.major(_num(r[8]) or 0, currency) for r in top][::-1]
        bars = ax.barh(range(len(top)), values, color=ACCENT)
        ax.set_yticks(range(len(top)), [lbl if len(lbl) <= 45 else lbl[:44] + "…" for lbl in labels], fontsize=8)
        ax.xaxis.set_major_formatter(_money_axis(currency))
        for bar, r in zip(bars, top[::-1]):
            ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2,
                    f"  {r[3]:,} visits, {format_value(_num(r[5]), 'pct', currency)} engaged", va="center", fontsize=7.5)
        ax.set_xlim(0, max(values) * 1.35 if max(values) > 0 else 1)
        ax.grid(axis="x", color="#E5E7EB", linewidth=0.8)
        ax.set_axisbelow(True)

    report.charts.append(Chart("zone_value", f"Attributed value by sponsor zone, {period.label}", draw, left=0.24))
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
    sources = _rows(con, """
        select source, sum(lines_total), sum(lines_unparseable), sum(records_accepted), sum(records_quarantined),
               sum(records_duplicate),
               sum(lines_total) - sum(lines_unparseable) - sum(records_accepted) - sum(records_quarantined)
                   - sum(records_duplicate),
               round(sum(quality_score_sum) / nullif(sum(quality_scored_lines), 0), 2)
        from cleansed.dq_partition_stats where partition_date between ? and ? group by 1 order by 1""", window)
    sources = [tuple(_num(v) if not isinstance(v, str) else v for v in r) for r in sources]
    report.tables.append(Table("sources", "Lines accounted per source", [
        Column("source", "Source"), Column("lines", "Lines in", "int"), Column("unparseable", "Unparseable", "int"),
        Column("accepted", "Accepted", "int"), Column("quarantined", "Quarantined", "int"),
        Column("duplicates", "Duplicates", "int"), Column("unaccounted", "Unaccounted", "int"),
        Column("quality", "Quality score", "float")], sources,
        note="Lines in = unparseable + accepted + quarantined + duplicates; 'Unaccounted' must be 0."))
    daily = _rows(con, """
        select partition_date, sum(lines_total), sum(records_accepted), sum(records_quarantined) + sum(lines_unparseable),
               sum(records_duplicate), round(sum(quality_score_sum) / nullif(sum(quality_scored_lines), 0), 2)
        from cleansed.dq_partition_stats where partition_date between ? and ? group by 1 order by 1""", window)
    daily = [(r[0], _num(r[1]), _num(r[2]), _num(r[3]), _num(r[4]), _num(r[5]),
              "n/a" if r[5] is None else ("pass" if r[5] >= 90 else "FAIL")) for r in daily]
    report.tables.append(Table("daily_quality", "Daily data quality", [
        Column("date", "Date", "date"), Column("lines", "Lines in", "int"), Column("accepted", "Accepted", "int"),
        Column("quarantined", "Quarantined", "int"), Column("duplicates", "Duplicates", "int"),
        Column("score", "Quality score", "float"), Column("bar", "Score >= 90")], daily))
    reasons = _rows(con, """
        with issues as (
            select source, unnest(quality_issues) as issue from cleansed.quarantine_records
            where partition_date between ? and ?)
        select source, issue, count(*) as records from issues group by all order by records desc, 1, 2""", window)
    quarantined = sum(r[4] + r[2] for r in sources) if sources else 0
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

    lines = sum(r[1] for r in sources)
    accepted = sum(r[3] for r in sources)
    unaccounted = sum(r[6] for r in sources)
    score = con.execute("""select round(sum(quality_score_sum) / nullif(sum(quality_scored_lines), 0), 2)
                           from cleansed.dq_partition_stats where partition_date between ? and ?""", window).fetchall()[0][0]
    failing_days = [d for d in daily if d[6] == "FAIL"]
    if lines:
        report.summary.append(
            f"{lines:,} lines in: {accepted:,} accepted ({accepted / lines:.1%}), {quarantined:,} quarantined or "
            f"unparseable, {sum(r[5] for r in sources):,} duplicates; "
            + ("every line accounted for." if unaccounted == 0 else f"{unaccounted:,} lines UNACCOUNTED."))
        report.summary.append(f"Data-quality score {format_value(_num(score), 'float', currency)} (bar: 90); "
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
        twin.axhline(90, color=FORECAST, linestyle="--", linewidth=1, label="bar (90)")
        twin.set_ylim(min(80, min((d[5] for d in daily if d[5] is not None), default=90) - 2), 100.5)
        twin.set_ylabel("score")
        _date_axis(ax)
        handles = ax.get_legend_handles_labels()
        handles2 = twin.get_legend_handles_labels()
        ax.legend(handles[0] + handles2[0], handles[1] + handles2[1], loc="upper left", bbox_to_anchor=(0, -0.1),
                  fontsize=7.5, ncols=3, frameon=False)

    report.charts.append(Chart("daily_quality", "Daily quality score and quarantined lines", draw))
    return report
