"""Write a ``Report`` as PDF (matplotlib, charts and tables), XLSX (openpyxl, one
sheet per table, typed cells), CSV (one file per table) and a self-contained HTML
page (jinja2 with autoescape, charts inlined as base64 PNG).

Every file is written to a temporary name and renamed into place, so a reader
never opens a half-written report. Strings from input reach spreadsheets only
through ``safe.neutralise`` and HTML only through autoescaping; matplotlib's
mathtext is off, so a ``$`` in a sponsor name is shown, not interpreted.
"""

from __future__ import annotations

import base64
import csv
import io
import os
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: files only

import matplotlib.pyplot as plt  # noqa: E402
from jinja2 import Environment  # noqa: E402
from matplotlib.backends.backend_pdf import PdfPages  # noqa: E402
from matplotlib.table import Table as MplTable  # noqa: E402
from openpyxl import Workbook  # noqa: E402
from openpyxl.styles import Alignment, Font, PatternFill  # noqa: E402
from openpyxl.utils import get_column_letter  # noqa: E402

from bizintel_dagster import money  # noqa: E402
from bizintel_dagster.reporting.model import (  # noqa: E402
    Report,
    Table,
    currency_symbol,
    format_value,
    money_csv,
    money_major,
)
from bizintel_dagster.reporting.safe import neutralise  # noqa: E402

FORMATS = ("pdf", "xlsx", "csv", "html")
PAGE_SIZE = (11.69, 8.27)  # A4 landscape, inches
ROWS_PER_PAGE = 22
MAX_PDF_ROWS_PER_TABLE = 3 * ROWS_PER_PAGE  # the full table is in the XLSX / CSV / HTML
PDF_CELL_CHARS = 40
HEADER_FILL = "1F3A5F"
ACCENT = "#1F3A5F"
WARN = "#B45309"
STYLE = {
    "text.parse_math": False,
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titleweight": "bold",
    "axes.titlesize": 11,
}


# ---------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------


@contextmanager
def _atomic(path: Path, mode: str = "wb", **kwargs) -> Iterator:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, mode, **kwargs) as handle:
            yield handle
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_all(report: Report, out_dir: Path, formats: tuple[str, ...] = FORMATS) -> dict[str, list[Path]]:
    """Write every format; returns the files per format (CSV: one per table, the
    first table as ``<report>_<period>.csv``)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    writers = {"pdf": write_pdf, "xlsx": write_xlsx, "csv": write_csv, "html": write_html}
    files: dict[str, list[Path]] = {}
    for fmt in formats:
        written = writers[fmt](report, out_dir)
        files[fmt] = written if isinstance(written, list) else [written]
    return files


def csv_paths(report: Report, out_dir: Path) -> list[Path]:
    return [out_dir / (f"{report.stem}.csv" if i == 0 else f"{report.stem}.{t.name}.csv")
            for i, t in enumerate(report.tables)]


# ---------------------------------------------------------------------------
# charts
# ---------------------------------------------------------------------------


def chart_png(chart, dpi: int = 110, size: tuple[float, float] = (10, 3.6)) -> bytes:
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=size)
        try:
            chart.draw(ax)
            ax.set_title(chart.title, loc="left")
            fig.tight_layout()
            fig.subplots_adjust(left=max(fig.subplotpars.left, chart.left * 0.9))
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=dpi)
        finally:
            plt.close(fig)
    return buffer.getvalue()


# ---------------------------------------------------------------------------
# PDF
# ---------------------------------------------------------------------------


_CONTROL = {c: " " for c in range(32)}


def _printable(text: str) -> str:
    """Control characters (tabs, CR from input) have no glyph in a PDF: show a space."""
    return text.translate(_CONTROL)


def _cell_text(table: Table, row: int, col: int, currency: str) -> str:
    text = _printable(format_value(table.rows[row][col], table.kind(row, col), currency))
    return text if len(text) <= PDF_CELL_CHARS else text[: PDF_CELL_CHARS - 1] + "…"


ROW_INCHES = 0.27


def rows_that_fit(ax) -> int:
    return max(int(_axes_height_inches(ax) / ROW_INCHES) - 1, 1)


def _axes_height_inches(ax) -> float:
    return ax.get_position().height * ax.figure.get_figheight()


def _draw_table(ax, table: Table, rows: range, currency: str) -> None:
    ax.axis("off")
    if not rows:
        ax.text(0, 0.97, "(no rows for this period)", color="#666", transform=ax.transAxes, va="top")
        return
    cells = [[_cell_text(table, r, c, currency) for c in range(len(table.columns))] for r in rows]
    labels = [c.label for c in table.columns]
    widths = [max(int(len(labels[c]) * 1.15), *(len(row[c]) for row in cells)) + 3 for c in range(len(labels))]
    total = max(sum(widths), 60)  # narrow tables stay narrow
    # ~ characters of 8.5 pt text across the axes; wider tables get a smaller font
    capacity = ax.get_position().width * ax.figure.get_figwidth() / 0.075
    fontsize = 8.5 * min(1.0, capacity / total)
    height = ROW_INCHES / _axes_height_inches(ax)
    tbl = MplTable(ax, loc="upper left")
    for c, label in enumerate(labels):
        numeric = table.columns[c].kind not in ("text", "date")
        cell = tbl.add_cell(0, c, widths[c] / total, height, text=label, loc="right" if numeric else "left",
                            facecolor=ACCENT, edgecolor="#D0D7DE")
        cell.get_text().set_color("white")
        cell.get_text().set_fontweight("bold")
    for i, row in enumerate(cells, start=1):
        for c, text in enumerate(row):
            numeric = table.columns[c].kind not in ("text", "date")
            tbl.add_cell(i, c, widths[c] / total, height, text=text, loc="right" if numeric else "left",
                         facecolor="#F3F6F9" if i % 2 == 0 else "white", edgecolor="#D0D7DE")
    tbl.auto_set_font_size(False)
    tbl.set_fontsize(fontsize)
    ax.add_table(tbl)


def _page(report: Report, number: int) -> plt.Figure:
    fig = plt.figure(figsize=PAGE_SIZE)
    fig.text(0.05, 0.025, f"bizintel · {report.title} · {report.period.describe()}", size=7.5, color="#666")
    fig.text(0.95, 0.025, f"page {number}", size=7.5, color="#666", ha="right")
    return fig


def _wrapped(lines: list[str], width: int) -> list[str]:
    out = []
    for line in lines:
        out += textwrap.wrap(line, width) or [""]
    return out


def write_pdf(report: Report, out_dir: Path) -> Path:
    path = out_dir / f"{report.stem}.pdf"
    metadata = {"Title": f"{report.title} - {report.period.label}", "Author": "bizintel",
                "Subject": report.period.describe(), "CreationDate": report.generated_at}
    with plt.rc_context(STYLE), _atomic(path) as handle, PdfPages(handle, metadata=metadata) as pdf:
        page = 1
        fig = _page(report, page)
        fig.text(0.05, 0.92, report.title, size=20, weight="bold", color=ACCENT)
        fig.text(0.05, 0.88, f"{report.period.describe()}  ·  generated {report.generated_at:%Y-%m-%d %H:%M %Z}",
                 size=10.5, color="#444")
        y = 0.83
        for line in _wrapped([_printable(s) for s in report.summary], 150):
            fig.text(0.06, y, line, size=10)
            y -= 0.028
        for line in _wrapped([f"Note: {_printable(n)}" for n in report.notes], 140):
            fig.text(0.06, y, line, size=9.5, color=WARN, weight="bold")
            y -= 0.026
        tables = list(report.tables)
        if tables and y > 0.3:
            first = tables.pop(0)
            fig.text(0.05, y - 0.015, first.title, size=11, weight="bold")
            ax = fig.add_axes([0.05, 0.07, 0.9, y - 0.11])
            shown = range(min(len(first.rows), rows_that_fit(ax)))
            _draw_table(ax, first, shown, report.currency)
            if len(shown) < len(first.rows):
                tables.insert(0, Table(first.name, f"{first.title} (continued)", first.columns,
                                       first.rows[len(shown):], first.note,
                                       first.row_kinds[len(shown):] if first.row_kinds else None))
        pdf.savefig(fig)
        plt.close(fig)

        for i in range(0, len(report.charts), 2):
            page += 1
            fig = _page(report, page)
            pair = report.charts[i : i + 2]
            for j, chart in enumerate(pair):
                left = chart.left
                ax = fig.add_axes([left, 0.6 - 0.45 * j, 0.95 - left, 0.3] if len(pair) == 2
                                  else [left, 0.16, 0.95 - left, 0.72])
                chart.draw(ax)
                ax.set_title(chart.title, loc="left")
            pdf.savefig(fig)
            plt.close(fig)

        for table in tables:
            shown = min(len(table.rows), MAX_PDF_ROWS_PER_TABLE)
            for start in range(0, max(shown, 1), ROWS_PER_PAGE):
                page += 1
                fig = _page(report, page)
                title = table.title + (" (continued)" if start else "")
                fig.text(0.05, 0.93, title, size=13, weight="bold", color=ACCENT)
                if table.note and not start:
                    fig.text(0.05, 0.895, table.note, size=8.5, color="#555")
                end = min(start + ROWS_PER_PAGE, shown)
                if end == shown and shown < len(table.rows):
                    fig.text(0.05, 0.05, f"... {len(table.rows) - shown} more rows in the XLSX, CSV and HTML "
                             "versions of this report.", size=8.5, color=WARN)
                ax = fig.add_axes([0.05, 0.08, 0.9, 0.79])
                _draw_table(ax, table, range(start, end), report.currency)
                pdf.savefig(fig)
                plt.close(fig)
    return path


# ---------------------------------------------------------------------------
# XLSX
# ---------------------------------------------------------------------------


def _xlsx_cell(value, kind: str, currency: str):
    """(value, number_format) of a typed spreadsheet cell."""
    if value is None or (isinstance(value, float) and value != value):
        return None, None
    if kind == "money":
        symbol = currency_symbol(currency).replace('"', "")
        exp = money.exponent(currency)
        digits = "#,##0" + ("." + "0" * exp if exp else "")
        return money_major(value, currency), f'"{symbol}" {digits};-"{symbol}" {digits}'
    if kind == "int":
        return int(value), "#,##0"
    if kind == "float":
        return float(value), "#,##0.00"
    if kind in ("pct", "signed_pct", "pp"):
        return float(value), "0.0%" if kind == "pct" else "+0.0%;-0.0%;0.0%"
    if kind == "date":
        return value, "yyyy-mm-dd"
    return neutralise(str(value)), "@"


_SHEET_FORBIDDEN = str.maketrans({c: "_" for c in "[]:*?/\\"})


def write_xlsx(report: Report, out_dir: Path) -> Path:
    path = out_dir / f"{report.stem}.xlsx"
    wb = Workbook()
    about = wb.active
    about.title = "about"
    header_font = Font(bold=True, color="FFFFFF")
    header_fill = PatternFill("solid", fgColor=HEADER_FILL)
    rows = [
        ("Report", report.title), ("Period", report.period.describe()),
        ("Period start", report.period.start), ("Period end", report.period.end),
        ("Generated at", report.generated_at.replace(tzinfo=None)),
        ("Currency", report.currency),
    ]
    rows += [("Summary", line) for line in report.summary] + [("Note", line) for line in report.notes]
    rows += [("Sheet", f"{t.name}: {t.title}") for t in report.tables]
    for r, (key, value) in enumerate(rows, start=1):
        about.cell(r, 1, key).font = Font(bold=True)
        cell = about.cell(r, 2, neutralise(value) if isinstance(value, str) else value)
        if isinstance(value, datetime):
            cell.number_format = "yyyy-mm-dd hh:mm"
        elif isinstance(value, date):
            cell.number_format = "yyyy-mm-dd"
    about.column_dimensions["A"].width = 14
    about.column_dimensions["B"].width = 110

    for table in report.tables:
        ws = wb.create_sheet(table.name.translate(_SHEET_FORBIDDEN)[:31])
        for c, column in enumerate(table.columns, start=1):
            cell = ws.cell(1, c, column.label)
            cell.font, cell.fill = header_font, header_fill
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        widths = [len(c.label) + 2 for c in table.columns]
        for r, row in enumerate(table.rows):
            for c, value in enumerate(row):
                kind = table.kind(r, c)
                cell_value, number_format = _xlsx_cell(value, kind, report.currency)
                cell = ws.cell(r + 2, c + 1, cell_value)
                if cell_value is not None and kind == "text":
                    cell.data_type = "s"  # never a formula, whatever the text
                if number_format:
                    cell.number_format = number_format
                widths[c] = max(widths[c], min(len(format_value(value, kind, report.currency)) + 2, 60))
        for c, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(c)].width = width
        ws.freeze_panes = "A2"
        if table.rows:
            ws.auto_filter.ref = f"A1:{get_column_letter(len(table.columns))}{len(table.rows) + 1}"
    with _atomic(path) as handle:
        wb.save(handle)
    return path


# ---------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------


def _csv_value(value, kind: str, currency: str):
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if kind == "money":
        return money_csv(value, currency)
    if kind == "int":
        return int(value)
    if kind in ("float", "pct", "signed_pct", "pp"):
        return round(float(value), 6)
    if kind == "date":
        return value.isoformat()
    return neutralise(str(value))


def _csv_header(column, currency: str) -> str:
    if column.kind == "money":
        return f"{column.label} ({currency})"
    if column.kind in ("pct", "signed_pct"):
        return f"{column.label} (ratio)"
    if column.kind == "row_change":
        return f"{column.label} (rates: ratio)"
    return column.label


def write_csv(report: Report, out_dir: Path) -> list[Path]:
    paths = csv_paths(report, out_dir)
    for table, path in zip(report.tables, paths):
        with _atomic(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow([neutralise(_csv_header(c, report.currency)) for c in table.columns])
            for r, row in enumerate(table.rows):
                writer.writerow([_csv_value(v, table.kind(r, c), report.currency) for c, v in enumerate(row)])
    return paths


# ---------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------

HTML_TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="bizintel">
<title>{{ report.title }} - {{ report.period.label }}</title>
<style>
  body { font-family: -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 2rem auto;
         max-width: 1100px; color: #1f2328; padding: 0 1rem; }
  h1 { color: #1F3A5F; margin-bottom: .2rem; }
  .meta { color: #57606a; margin-top: 0; }
  .summary li { margin: .2rem 0; }
  .note { background: #FFF4E5; border-left: 4px solid #B45309; padding: .5rem .8rem; margin: .4rem 0; color: #7a3e00; }
  table { border-collapse: collapse; margin: .5rem 0 1.5rem; font-size: .9rem; }
  th { background: #1F3A5F; color: #fff; text-align: left; padding: .35rem .6rem; }
  td { border-bottom: 1px solid #d0d7de; padding: .3rem .6rem; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  tr:nth-child(even) td { background: #f6f8fa; }
  .tablenote { color: #57606a; font-size: .85rem; margin: 0; }
  img { max-width: 100%; height: auto; }
  footer { color: #57606a; font-size: .8rem; margin-top: 2rem; }
</style>
</head>
<body>
<h1>{{ report.title }}</h1>
<p class="meta">{{ report.period.describe() }} &middot; generated {{ generated }}</p>
{% if report.summary %}<ul class="summary">{% for line in report.summary %}<li>{{ line }}</li>{% endfor %}</ul>{% endif %}
{% for note in report.notes %}<div class="note">{{ note }}</div>{% endfor %}
{% for chart in charts %}<figure><img alt="{{ chart.title }}" src="data:image/png;base64,{{ chart.png }}"></figure>{% endfor %}
{% for table in tables %}
<h2>{{ table.title }}</h2>
{% if table.note %}<p class="tablenote">{{ table.note }}</p>{% endif %}
<table>
<thead><tr>{% for label in table.labels %}<th>{{ label }}</th>{% endfor %}</tr></thead>
<tbody>
{% for row in table.rows %}<tr>{% for cell in row %}<td{% if cell.num %} class="num"{% endif %}>{{ cell.text }}</td>{% endfor %}</tr>
{% else %}<tr><td colspan="{{ table.labels|length }}">(no rows for this period)</td></tr>
{% endfor %}
</tbody>
</table>
{% endfor %}
<footer>bizintel &middot; {{ report.report }} &middot; {{ report.period.label }}</footer>
</body>
</html>
"""

_ENV = Environment(autoescape=True, keep_trailing_newline=True)
_TEMPLATE = _ENV.from_string(HTML_TEMPLATE)


def render_html(report: Report) -> str:
    tables = []
    for table in report.tables:
        rows = [
            [{"text": format_value(v, table.kind(r, c), report.currency),
              "num": table.kind(r, c) not in ("text", "date")} for c, v in enumerate(row)]
            for r, row in enumerate(table.rows)
        ]
        tables.append({"title": table.title, "note": table.note, "labels": [c.label for c in table.columns], "rows": rows})
    charts = [{"title": c.title, "png": base64.b64encode(chart_png(c)).decode("ascii")} for c in report.charts]
    return _TEMPLATE.render(report=report, tables=tables, charts=charts,
                            generated=f"{report.generated_at:%Y-%m-%d %H:%M %Z}")


def write_html(report: Report, out_dir: Path) -> Path:
    path = out_dir / f"{report.stem}.html"
    with _atomic(path, "w", encoding="utf-8") as handle:
        handle.write(render_html(report))
    return path
