"""Forecasts and reports on a generated business, read the way a person reads
them: PDF pages rendered to PNG (non-blank, expected text), the XLSX opened
and checked against the warehouse, hostile input names escaped in HTML and
neutralised in CSV/XLSX (issue 4).

Hostile names enter twice: as marketing sources in the landing files (through
the whole pipeline) and as sponsor / zone names written into
fused.fct_zone_visits before the reports run.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from matplotlib import image as mpimg
from openpyxl import load_workbook

from bizintel_dagster import metrics, money, runner, settings
from bizintel_dagster.defs.jobs import period_run_config
from bizintel_dagster.demo import generator
from bizintel_dagster.reporting.content import HEADLINE_METRICS
from bizintel_dagster.reporting.model import format_value, money_text
from tests.integration.helpers import data_dir, query

pytestmark = pytest.mark.integration

START = date(2026, 6, 1)
DAYS = 45
LAST = START + timedelta(days=DAYS - 1)  # 2026-07-15, a Wednesday
WEEK, MONTH = "2026-W28", "2026-06"  # last complete ISO week (6-12 Jul) and month before LAST
WEEK_START, WEEK_END = date(2026, 7, 6), date(2026, 7, 12)

FORMULA = '=HYPERLINK("http://x","click")'
SCRIPT = "<script>alert(1)</script>"
SPONSOR_FORMULA = "@SUM(1+1)*cmd|' /C calc'!A0"
MARKETING = {"google_ads": FORMULA, "instagram": SCRIPT}  # lower-cased by staging: =hyperlink(...)
NEEDS_POPPLER = pytest.mark.skipif(not shutil.which("pdftoppm"), reason="poppler-utils not installed")


def _inject_marketing_sources(landing: Path) -> int:
    replaced = 0
    for path in landing.glob("app_events/dt=*/*.jsonl"):
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        for plain, hostile in MARKETING.items():
            needle = f'"marketing_source":"{plain}"'
            replaced += text.count(needle)
            text = text.replace(needle, f'"marketing_source":{json.dumps(hostile)}')
        path.write_text(text, encoding="utf-8", errors="surrogateescape")
    return replaced


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("reports")
    with data_dir(root), pytest.MonkeyPatch.context() as mp:
        mp.setenv("BIZINTEL_REPORTS_DIR", str(root / "reports"))
        generator.generate(settings.landing_dir(), start=START, days=DAYS, app_events=15_000, seed=23)
        assert _inject_marketing_sources(settings.landing_dir()) > 0
        definitions = runner.load_definitions()
        instance = runner.default_instance()
        results = {
            "reference": runner.run_job(definitions, "reference_job", instance),
            "daily": runner.run_job(definitions, "daily_pipeline_job", instance, START, LAST),
        }
        with duckdb.connect(str(settings.warehouse_path())) as con:
            con.execute("update fused.fct_zone_visits set sponsor_name = ? where sponsor_id = 'spn_mtn'", [FORMULA])
            con.execute("update fused.fct_zone_visits set zone_name = ? where zone_id = 'zn_jhb_food'", [SCRIPT])
            con.execute("update fused.fct_zone_visits set sponsor_name = ? where sponsor_id = 'spn_vodacom'",
                        [SPONSOR_FORMULA])
        results["forecast"] = runner.run_job(definitions, "forecast_job", instance)
        results["weekly"] = runner.run_job(definitions, "weekly_report_job", instance)
        results["monthly"] = runner.run_job(definitions, "monthly_report_job", instance)
        yield {"root": root, "reports": root / "reports", "results": results, "instance": instance,
               "definitions": definitions}


def _q(world, sql, params=None):
    return query(sql, params, world["root"] / "warehouse" / "bizintel.duckdb")


def test_jobs_succeed_and_forecast_checks_warn_only(world):
    for name, result in world["results"].items():
        assert result.success, name
    evaluations = {e.check_name: e for e in world["results"]["forecast"].get_asset_check_evaluations()}
    assert set(evaluations) == {"revenue_beats_seasonal_naive", "revenue_interval_coverage_80",
                                "dau_beats_seasonal_naive", "dau_interval_coverage_80"}
    assert all(e.severity.value == "WARN" for e in evaluations.values())


def test_forecast_tables(world):
    last = _q(world, "select max(metric_date) from kpis.kpi_daily where has_data")[0][0]
    assert last == LAST
    status = {r[0]: r[1:] for r in _q(world, "select metric, status, primary_model, history_days from forecasts.forecast_status")}
    assert status == {"revenue": ("ok", "ridge_trend_weekly", DAYS), "dau": ("ok", "ridge_trend_weekly", DAYS)}
    rows = _q(world, """select metric, model, count(*), min(forecast_date), max(horizon_days),
                               count(*) filter (where not (lower_95 <= lower_80 and lower_80 <= point
                                                and point <= upper_80 and upper_80 <= upper_95) or point < 0)
                        from forecasts.daily_forecasts group by all order by 1, 2""")
    # intervals are nested, non-negative and contain their own point (issue 13)
    assert [(r[0], r[1]) for r in rows] == [("dau", "ridge_trend_weekly"), ("dau", "seasonal_naive"),
                                            ("revenue", "ridge_trend_weekly"), ("revenue", "seasonal_naive")]
    for _, _, n, first, horizon, unordered in rows:
        assert (n, first, horizon, unordered) == (90, LAST + timedelta(days=1), 90, 0)
    accuracy = _q(world, """select metric, model, mae, smape, mase, coverage_80 from forecasts.forecast_accuracy
                           where horizons = 'all' order by 1, 2""")
    assert len(accuracy) == 4 and all(r[2] > 0 and r[3] > 0 and r[4] > 0 for r in accuracy)
    # backtest points recompute to the recorded MAE
    mae = _q(world, "select avg(abs_error) from forecasts.backtest where metric = 'dau' and model = 'seasonal_naive'")[0][0]
    assert mae == pytest.approx([r[2] for r in accuracy if r[:2] == ("dau", "seasonal_naive")][0])


def test_backtest_metadata_records_accuracy(world):
    event = world["instance"].get_latest_materialization_event(dg.AssetKey(["forecasts", "backtest"]))
    metadata = event.asset_materialization.metadata
    for metric in ("revenue", "dau"):
        for model in ("ridge_trend_weekly", "seasonal_naive"):
            for measure in ("mae", "smape", "mase", "coverage_80"):
                assert f"{metric}/{model}/{measure}" in metadata


def _files(world, report: str, period: str) -> dict[str, Path]:
    base = world["reports"]
    return {ext: base / f"{report}_{period}.{ext}" for ext in ("pdf", "xlsx", "csv", "html")}


def test_dated_files_and_catalog(world):
    for report in ("executive", "sponsor_attribution", "data_integrity"):
        for period in (WEEK, MONTH):
            for path in _files(world, report, period).values():
                assert path.exists() and path.stat().st_size > 200, path
    catalog = _q(world, "select path, bytes, format, report, period from reports.report_catalog")
    on_disk = {str(p.resolve()) for p in world["reports"].iterdir() if not p.name.startswith(".")}
    assert {r[0] for r in catalog} == on_disk
    for path, size, *_ in catalog:
        assert Path(path).stat().st_size == size
    assert {(r[3], r[4]) for r in catalog if r[2] == "pdf"} == {
        (r, p) for r in ("executive", "sponsor_attribution", "data_integrity") for p in (WEEK, MONTH)}


def test_materializations_record_files_and_preview(world):
    event = world["instance"].get_latest_materialization_event(dg.AssetKey(["reports", "executive_report"]))
    metadata = event.asset_materialization.metadata
    assert metadata["period"].value == MONTH  # monthly ran last
    for fmt in ("pdf", "xlsx", "csv", "html"):
        assert isinstance(metadata[fmt], dg.PathMetadataValue) and Path(metadata[fmt].path).exists()
    assert "Headline KPIs" in metadata["preview"].md_str
    sponsor = world["instance"].get_latest_materialization_event(
        dg.AssetKey(["reports", "sponsor_attribution_report"])).asset_materialization.metadata
    assert "&lt;script&gt;" in sponsor["preview"].md_str and SCRIPT not in sponsor["preview"].md_str


def _pdf_pages(pdf: Path, out: Path) -> list[Path]:
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(out / pdf.stem)], check=True)
    return sorted(out.glob(f"{pdf.stem}-*.png"))


def _pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


@NEEDS_POPPLER
def test_pdf_pages_are_not_blank_and_carry_the_numbers(world, tmp_path):
    week_start, week_end = WEEK_START, WEEK_END
    revenue, mean_dau = _q(world, """select sum(revenue_total_minor), avg(dau) from kpis.kpi_daily
                                     where has_data and metric_date between ? and ?""", [week_start, week_end])[0]
    for report, expected in (
        ("executive", ["Weekly executive report", "week 2026-W28", "Headline KPIs: 2026-W28 vs 2026-W27",
                       money_text(int(revenue), "ZAR"), format_value(float(mean_dau), "float", "ZAR"),
                       "Forecast and measured accuracy"]),
        ("sponsor_attribution", ["Sponsor attribution report", "Zone revenue per sponsor", FORMULA,
                                 "TOTAL ATTRIBUTED VALUE"]),
        ("data_integrity", ["Data integrity report", "Rows per pipeline stage", "Quarantine reasons",
                            "every line accounted for", "Asset checks (latest evaluation)"]),
    ):
        pdf = _files(world, report, WEEK)["pdf"]
        pages = _pdf_pages(pdf, tmp_path)
        assert len(pages) >= 2, report
        for page in pages:
            pixels = mpimg.imread(page)
            assert pixels.std() > 0.02, f"{page.name} looks blank"
            assert (pixels[..., :3] < 0.5).mean() > 0.002, f"{page.name} has almost no ink"
        text = " ".join(_pdf_text(pdf).split())
        for snippet in expected:
            assert " ".join(snippet.split()) in text, (report, snippet)


def test_executive_xlsx_matches_the_warehouse(world):
    wb = load_workbook(_files(world, "executive", MONTH)["xlsx"])
    assert wb.sheetnames == ["about", "headline", "daily", "marketing_sources", "forecast"]
    headline = {row[0].value: row for row in wb["headline"].iter_rows(min_row=2)}
    june = _q(world, """select sum(revenue_total_minor), sum(purchases), count(*)
                        from kpis.kpi_daily where has_data and metric_date between '2026-06-01' and '2026-06-30'""")[0]
    # payer rate: distinct payers / distinct active users of the month (one definition, issue 15)
    payer_rate = _q(world, """
        select (select count(distinct user_key) from fused.fct_revenue
                where revenue_type = 'purchase' and partition_date between '2026-06-01' and '2026-06-30')
             / (select count(distinct user_key) from enriched.enriched_app_events
                where user_key is not null and event_type not in ('abuse_flag', 'service_error')
                  and partition_date between '2026-06-01' and '2026-06-30')""")[0][0]
    revenue = headline["Revenue (total, net of refunds)"]
    assert isinstance(revenue[1].value, float) and round(revenue[1].value * 100) == june[0]
    assert revenue[1].number_format.startswith('"R" #,##0.00')
    assert revenue[2].value is None or revenue[2].value == 0  # May has no data
    assert headline["Purchases"][1].value == june[1] and isinstance(headline["Purchases"][1].value, int)
    assert headline["Payer rate (payers / active users)"][1].value == pytest.approx(float(payer_rate))
    assert headline["Payer rate (payers / active users)"][1].number_format == "0.0%"
    assert headline["Days with data"][1].value == june[2] == 30
    daily = list(wb["daily"].iter_rows(min_row=2, values_only=True))
    warehouse_daily = _q(world, """select metric_date, revenue_total_minor, dau from kpis.kpi_daily
                                   where has_data and metric_date between '2026-06-01' and '2026-06-30' order by 1""")
    assert [(r[0].date(), round(r[1] * 100), r[4]) for r in daily] == warehouse_daily
    sources = {r[0]: r for r in wb["marketing_sources"].iter_rows(min_row=2, values_only=True)}
    assert "'" + FORMULA.lower() in sources and SCRIPT in sources
    assert FORMULA.lower() not in sources


@pytest.mark.parametrize("period, current, previous", [
    (MONTH, (date(2026, 6, 1), date(2026, 6, 30)), (date(2026, 5, 1), date(2026, 5, 31))),
    (WEEK, (WEEK_START, WEEK_END), (WEEK_START - timedelta(days=7), WEEK_END - timedelta(days=7))),
])
def test_every_executive_headline_cell_is_the_metric_layers_answer(world, period, current, previous):
    """Issue 15's proof: each headline cell of the XLSX (current and previous period)
    equals what MetricFlow answers for that metric and period on the same warehouse."""
    wb = load_workbook(_files(world, "executive", period)["xlsx"])
    headline = {row[0].value: row for row in wb["headline"].iter_rows(min_row=2)}
    assert set(headline) == set(HEADLINE_METRICS), "a headline row that is not a named metric"
    kinds = {}
    with duckdb.connect(str(world["root"] / "warehouse" / "bizintel.duckdb"), read_only=True) as con:
        reader = metrics.MetricReader(con)
        answers = [reader.query(list(HEADLINE_METRICS.values()), start=start, end=end) for start, end in (current, previous)]
        kinds = {label: row[1].number_format for label, row in headline.items()}
    assert not answers[0].missing and not answers[1].missing
    compared = 0
    for label, metric in HEADLINE_METRICS.items():
        for column, answer in ((1, answers[0].first()), (2, answers[1].first())):
            cell, expected = headline[label][column].value, answer[metric]
            if expected is None:
                assert cell is None, (label, column)
                continue
            if '"R"' in kinds[label]:  # money: major units in the cell
                expected = money.major(expected, "ZAR")
            assert cell == pytest.approx(expected, rel=1e-9, abs=1e-9), (period, label, column)
            compared += 1
    assert compared >= len(HEADLINE_METRICS) + 5  # the previous month (May) has no data: zeros / n/a
    # not a tautology: the period's figures are real
    assert answers[0].first()["revenue"] > 0 and 0 < answers[0].first()["payer_rate"] < 1


def test_data_integrity_daily_scores_are_the_checks_figure_against_the_dbt_var(world):
    """The daily quality table shows the score the blocking check judged (one dbt
    macro: kpi_daily.data_quality_score is the same figure) against var quality_bar."""
    from bizintel_dagster import dbt_vars

    ws = load_workbook(_files(world, "data_integrity", WEEK)["xlsx"])["daily_quality"]
    header = [c.value for c in ws[1]]
    assert header[-1] == f"Score >= {dbt_vars.quality_bar()}"
    got = {r[0].date(): (r[5], r[6]) for r in ws.iter_rows(min_row=2, values_only=True)}
    expected = dict(_q(world, """select metric_date, data_quality_score from kpis.kpi_daily
                                 where metric_date between ? and ?""", [WEEK_START, WEEK_END]))
    assert set(got) == set(expected) and len(got) == 7
    for day, (score, verdict) in got.items():
        assert score == pytest.approx(expected[day]), day
        assert verdict == ("pass" if expected[day] >= dbt_vars.quality_bar() else "FAIL")


def test_sponsor_xlsx_csv_and_html_are_safe(world):
    files = _files(world, "sponsor_attribution", WEEK)
    wb = load_workbook(files["xlsx"])
    zones = wb["zones"]
    assert [c.value for c in zones[1]][:4] == ["Sponsor", "Zone", "Venue", "Visits"]
    cells = [c for ws in wb for row in ws.iter_rows() for c in row]
    assert not [c for c in cells if c.data_type == "f"], "a cell became a formula"
    assert not [c for c in cells if isinstance(c.value, str) and c.value.startswith(("=", "+", "-", "@"))]
    sponsors = [r[0].value for r in zones.iter_rows(min_row=2)]
    assert "'" + FORMULA in sponsors and "'" + SPONSOR_FORMULA in sponsors
    visits = {(r[0].value, r[1].value): r[3].value for r in zones.iter_rows(min_row=2)}
    expected = _q(world, """select sponsor_name, zone_name, count(*) from fused.fct_zone_visits
                            where partition_date between ? and ? group by all""", [WEEK_START, WEEK_END])
    assert {(s if not s.startswith(("=", "@")) else "'" + s, z): n for s, z, n in expected} == visits
    assert all(isinstance(v, int) for v in visits.values())

    rows = list(csv.reader(files["csv"].open(encoding="utf-8", newline="")))
    assert rows[0][:4] == ["Sponsor", "Zone", "Venue", "Visits"]
    first_cells = [r[0] for r in rows[1:]]
    assert "'" + FORMULA in first_cells and FORMULA not in first_cells
    assert SCRIPT in [r[1] for r in rows[1:]]
    value = _q(world, """select sum(attributed_value_minor) from fused.fct_zone_visits
                         where partition_date between ? and ?""", [WEEK_START, WEEK_END])[0][0]
    assert sum(round(float(r[8]) * 100) for r in rows[1:]) == value

    page = files["html"].read_text(encoding="utf-8")
    assert SCRIPT not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "=HYPERLINK(&#34;http://x&#34;,&#34;click&#34;)" in page
    assert page.count('src="data:image/png;base64,') >= 1 and 'src="http' not in page


def test_report_for_an_explicit_period_and_a_bad_one(world):
    with data_dir(world["root"]), pytest.MonkeyPatch.context() as mp:
        mp.setenv("BIZINTEL_REPORTS_DIR", str(world["reports"]))
        job = world["definitions"].resolve_job_def("weekly_report_job")
        ok = job.execute_in_process(run_config=period_run_config("2026-W23"), instance=world["instance"],
                                    raise_on_error=False)
        assert ok.success and _files(world, "executive", "2026-W23")["pdf"].exists()
        bad = job.execute_in_process(run_config=period_run_config("next tuesday"), instance=world["instance"],
                                     raise_on_error=False)
        assert not bad.success
        failures = [e for e in bad.all_events if e.is_step_failure]
        assert failures and "unknown report period" in str(failures[0].event_specific_data.error.message)
    # week 23 (1-7 Jun) has no previous week: the report says so
    html = _files(world, "executive", "2026-W23")["html"].read_text(encoding="utf-8")
    assert "The comparison period 2026-W22 has data for 0 of 7 days." in html


def test_executive_report_says_when_a_forecast_check_warns(world):
    page = _files(world, "executive", WEEK)["html"].read_text(encoding="utf-8")
    titles = {"revenue": "Revenue", "dau": "Daily active users"}
    for metric, beats, coverage_ok, message in _q(
            world, "select metric, beats_naive, coverage_ok, coverage_message from forecasts.forecast_status"):
        warned = f"Forecast ({titles[metric]}) accuracy check warning" in page
        assert warned == (not (beats and coverage_ok)), metric
        if not coverage_ok:
            assert message in page
