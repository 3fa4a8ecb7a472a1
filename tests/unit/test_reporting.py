"""Report library: periods, money formatting, formula neutralisation, HTML
escaping, and every format rendered from a report full of hostile names."""

from __future__ import annotations

import csv
import shutil
import subprocess
from datetime import date, datetime, timezone

import duckdb
import pytest
from openpyxl import load_workbook

from bizintel_dagster.reporting import content, periods, render
from bizintel_dagster.reporting.model import Column, Report, Table, money_text
from bizintel_dagster.reporting.safe import neutralise

HOSTILE = [
    '=HYPERLINK("http://x","click")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\tTabbed",
    "\rReturn",
    "<script>alert(1)</script>",
    "Cash $ and $ signs",
]


@pytest.mark.parametrize("value", HOSTILE[:6])
def test_neutralise_prefixes_formula_triggers(value):
    assert neutralise(value) == "'" + value


@pytest.mark.parametrize("value", ["Nedbank", "Main Stage", "", "a=b", "<script>", 12, -5, 1.5, None])
def test_neutralise_leaves_everything_else(value):
    assert neutralise(value) == value


def test_periods():
    friday = date(2026, 8, 28)
    assert periods.resolve("last_week", friday) == periods.Period("week", date(2026, 8, 17), date(2026, 8, 23), "2026-W34")
    sunday = date(2026, 8, 23)
    assert periods.resolve("last_week", sunday).label == "2026-W34"  # a week ending on the newest day is complete
    assert periods.resolve("last_month", friday).label == "2026-07"
    assert periods.resolve("last_month", date(2026, 7, 31)).label == "2026-07"
    assert periods.resolve("2026-W01", friday).start == date(2025, 12, 29)
    june = periods.resolve("2026-06", friday)
    assert (june.start, june.end, june.previous().label) == (date(2026, 6, 1), date(2026, 6, 30), "2026-05")
    assert periods.resolve("2026-W01", friday).previous().label == "2025-W52"
    for bad in ("yesterday", "2026-13", "2026-W60"):
        with pytest.raises(ValueError, match="unknown report period"):
            periods.resolve(bad, friday)


def test_money_is_exact_with_two_decimals():
    assert money_text(784500, "ZAR") == "R 7,845.00"
    assert money_text(-5, "ZAR") == "-R 0.05"
    assert money_text(123456789012345678, "USD") == "$ 1,234,567,890,123,456.78"


def _hostile_report() -> Report:
    period = periods.resolve("2026-W23", date(2026, 6, 30))
    zones = Table("zones", "Zone revenue per sponsor", [
        Column("sponsor", "Sponsor"), Column("zone", "Zone"), Column("visits", "Visits", "int"),
        Column("rate", "Engagement", "pct"), Column("value", "Attributed value", "money"),
        Column("day", "First day", "date")],
        [(name, f"zone {i}", 10 + i, 0.5, 784512 + i, date(2026, 6, 1)) for i, name in enumerate(HOSTILE)])
    report = Report("sponsor_attribution", "Sponsor attribution report", period,
                    datetime(2026, 6, 8, 6, 0, tzinfo=timezone.utc), "ZAR",
                    summary=[f"{HOSTILE[6]} first"], notes=[f"note about {HOSTILE[0]}"], tables=[zones])
    report.charts.append(content._trend_chart("Revenue", [(date(2026, 6, d), 1000 * d) for d in range(1, 8)], [],
                                              period, "money", "ZAR"))
    return report


def test_html_escapes_input_strings_and_is_self_contained(tmp_path):
    page = render.write_html(_hostile_report(), tmp_path).read_text()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "=HYPERLINK(&#34;http://x&#34;,&#34;click&#34;)" in page
    assert 'src="data:image/png;base64,' in page
    assert 'src="http' not in page and "<link" not in page


def test_csv_neutralises_formulas_and_keeps_numbers(tmp_path):
    [path] = render.write_csv(_hostile_report(), tmp_path)
    assert path.name == "sponsor_attribution_2026-W23.csv"
    rows = list(csv.reader(path.open(encoding="utf-8", newline="")))
    assert rows[0] == ["Sponsor", "Zone", "Visits", "Engagement (ratio)", "Attributed value (ZAR)", "First day"]
    sponsors = [r[0] for r in rows[1:]]
    for value in HOSTILE[:6]:
        assert "'" + value in sponsors
    assert "<script>alert(1)</script>" in sponsors  # harmless in a spreadsheet, escaped in HTML
    assert rows[1][2:] == ["10", "0.5", "7845.12", "2026-06-01"]


def test_xlsx_cells_are_typed_and_formulas_neutralised(tmp_path):
    path = render.write_xlsx(_hostile_report(), tmp_path)
    wb = load_workbook(path)
    assert wb.sheetnames == ["about", "zones"]
    ws = wb["zones"]
    assert [c.value for c in ws[1]] == ["Sponsor", "Zone", "Visits", "Engagement", "Attributed value", "First day"]
    assert ws["A1"].font.bold
    for row in ws.iter_rows(min_row=2):
        assert row[0].data_type == "s" and not str(row[0].value).startswith(("=", "+", "-", "@", "\t", "\r"))
        assert isinstance(row[2].value, int) and row[2].number_format == "#,##0"
        assert isinstance(row[4].value, float) and row[4].number_format.startswith('"R" #,##0.00')
        assert row[3].number_format == "0.0%"
        assert isinstance(row[5].value, datetime) and row[5].value.date() == date(2026, 6, 1)
    assert ws["A2"].value == "'" + HOSTILE[0] and ws["E2"].value == 7845.12
    assert not [c for s in wb for r in s.iter_rows() for c in r if c.data_type == "f"]
    about = {c.value for c in wb["about"]["B"]}
    assert "<script>alert(1)</script> first" in about and f"note about {HOSTILE[0]}" in about


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils not installed")
def test_pdf_renders_hostile_names_as_text(tmp_path):
    path = render.write_pdf(_hostile_report(), tmp_path)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "Sponsor attribution report" in text and "Cash $ and $ signs" in text and "R 7,845.12" in text


def test_reports_on_an_empty_warehouse_explain_instead_of_failing(tmp_path):
    con = duckdb.connect()
    period = periods.resolve("last_week", date(2026, 6, 30))
    now = datetime(2026, 7, 1, tzinfo=timezone.utc)
    for report in (content.executive(con, period, "ZAR", now), content.sponsor_attribution(con, period, "ZAR", now),
                   content.data_integrity(con, period, "ZAR", now)):
        assert report.notes and "run the daily pipeline first" in report.notes[0]
        files = render.write_all(report, tmp_path)
        assert all(p.stat().st_size > 0 for paths in files.values() for p in paths)


def test_a_day_and_a_custom_range_compare_with_as_many_days_just_before():
    """The dashboard's day and custom periods share the reports' Period."""
    day = periods.day(date(2026, 3, 1))
    assert (day.label, day.previous()) == ("2026-03-01", periods.day(date(2026, 2, 28)))
    span = periods.custom(date(2026, 6, 1), date(2026, 6, 10))
    assert span.days == 10 and span.label == "2026-06-01 to 2026-06-10"
    assert span.previous() == periods.custom(date(2026, 5, 22), date(2026, 5, 31))
    assert periods.week(date(2026, 6, 3)).previous() == periods.week(date(2026, 5, 27))
    with pytest.raises(ValueError):
        periods.custom(date(2026, 6, 10), date(2026, 6, 1))
