"""What a report is, independent of its format: tables of typed columns, charts
that draw themselves on a matplotlib Axes, and a few lines of summary and notes.

Column kinds (how a value is stored and shown):

========  =====================  ==========================  =====================
kind      value in Python        PDF / HTML                  XLSX / CSV
========  =====================  ==========================  =====================
text      str                    as is (HTML escaped)        neutralised string
int       int                    1,234                       integer
float     float                  1,234.5                     number (0.0)
money     int (minor units)      R 1,234.56 (currency's      number in major units
                                 exponent: ¥ 1,234)
pct       float ratio (0.76)     76.0 %                      number (0.0 %) / ratio
signed_pct  float ratio          +7.6 %                      number (+0.0 %) / ratio
pp        float (ratio change)   +2.9 pp                     number (+0.0 %) / ratio
date      datetime.date          2026-06-01                  date / ISO text
row       per row (row_kinds)    the row's kind              the row's kind
row_change  as row, but a change of a pct row is pp
========  =====================  ==========================  =====================
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from bizintel_dagster import money
from bizintel_dagster.reporting.periods import Period



@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"


@dataclass
class Table:
    name: str  # file / sheet name: lower_snake
    title: str
    columns: Sequence[Column]
    rows: list[tuple]
    note: str = ""
    row_kinds: list[str] | None = None  # for columns of kind "row"

    def kind(self, row: int, col: int) -> str:
        kind = self.columns[col].kind
        if kind not in ("row", "row_change"):
            return kind
        row_kind = self.row_kinds[row] if self.row_kinds else "float"
        # a change of a rate is in percentage points
        return "pp" if kind == "row_change" and row_kind == "pct" else row_kind


@dataclass
class Chart:
    name: str
    title: str
    draw: Callable  # draw(ax) -> None
    left: float = 0.07  # left margin (figure fraction) for long tick labels


@dataclass
class Report:
    report: str  # executive | sponsor_attribution | data_integrity
    title: str
    period: Period
    generated_at: datetime
    currency: str
    summary: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # warnings a reader must see
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)

    @property
    def stem(self) -> str:
        return f"{self.report}_{self.period.label}"

    def table(self, name: str) -> Table:
        return next(t for t in self.tables if t.name == name)


# Money formatting lives in bizintel_dagster.money (the reporting currency's exponent
# from reference.currencies); these names are the report code's entry points.
def currency_symbol(currency: str) -> str:
    return money.symbol(currency)


def money_major(minor: int | float | None, currency: str) -> float | None:
    """Minor units as a major-unit number (for spreadsheet cells)."""
    return money.major(minor, currency)


def money_text(minor: int | float | None, currency: str) -> str:
    """R 1,234.56 / ¥ 1,234 (exact for integer minor units: no float on the way)."""
    return money.text(minor, currency)


def money_csv(minor: int | float | None, currency: str) -> str:
    return money.plain(minor, currency)


def format_value(value, kind: str, currency: str) -> str:
    """A value as a person reads it (PDF and HTML)."""
    if value is None or (isinstance(value, float) and value != value):
        return "n/a"
    if kind == "money":
        return money_text(value, currency)
    if kind == "int":
        return f"{int(value):,}"
    if kind == "float":
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:,.2f}"
    if kind == "pct":
        return f"{100 * value:.1f} %"
    if kind == "signed_pct":
        return f"{100 * value:+.1f} %"
    if kind == "pp":
        return f"{100 * value:+.1f} pp"
    if kind == "date":
        return value.isoformat() if isinstance(value, (date, datetime)) else str(value)
    return str(value)


def pct_change(current, previous) -> float | None:
    if current is None or previous is None or previous == 0:
        return None
    return (current - previous) / abs(previous)
