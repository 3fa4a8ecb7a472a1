"""Periods: ISO weeks and calendar months (reports), and single days and custom
ranges (the dashboard's period picker).

``resolve("last_week", latest)`` is the last complete ISO week (Monday..Sunday)
ending on or before ``latest`` (the newest KPI date); ``last_month`` the last
complete calendar month. Explicit periods: ``2026-W23`` or ``2026-06``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

RELATIVE = ("last_week", "last_month")


@dataclass(frozen=True)
class Period:
    kind: str  # week | month | day | custom
    start: date
    end: date  # inclusive
    label: str  # 2026-W23 | 2026-06 | 2026-06-03 | 2026-06-01 to 2026-06-10

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def end_exclusive(self) -> date:
        return self.end + timedelta(days=1)

    def previous(self) -> "Period":
        """The week or month before; for a day or a custom range, as many days just before it."""
        if self.kind == "week":
            return week(self.start - timedelta(days=7))
        if self.kind == "month":
            return month(self.start - timedelta(days=1))
        before = self.start - timedelta(days=1)
        return day(before) if self.kind == "day" else custom(before - timedelta(days=self.days - 1), before)

    def describe(self) -> str:
        if self.kind == "week":
            return f"week {self.label} ({self.start:%d %b} - {self.end:%d %b %Y})"
        if self.kind == "month":
            return f"{self.start:%B %Y}"
        return self.label


def week(day: date) -> Period:
    start = day - timedelta(days=day.weekday())
    iso = start.isocalendar()
    return Period("week", start, start + timedelta(days=6), f"{iso.year}-W{iso.week:02d}")


def month(day: date) -> Period:
    start = day.replace(day=1)
    following = (start + timedelta(days=32)).replace(day=1)
    return Period("month", start, following - timedelta(days=1), f"{start:%Y-%m}")


def day(d: date) -> Period:
    return Period("day", d, d, d.isoformat())


def custom(start: date, end: date) -> Period:
    if end < start:
        raise ValueError("a custom period needs an end on or after its start")
    return Period("custom", start, end, f"{start.isoformat()} to {end.isoformat()}")


def resolve(spec: str, latest: date) -> Period:
    """A period from run config: last_week | last_month | YYYY-Www | YYYY-MM."""
    spec = spec.strip()
    if spec == "last_week":
        current = week(latest)
        return current if current.end <= latest else week(current.start - timedelta(days=1))
    if spec == "last_month":
        current = month(latest)
        return current if current.end <= latest else month(current.start - timedelta(days=1))
    if m := re.fullmatch(r"(\d{4})-W(\d{2})", spec):
        try:
            return week(date.fromisocalendar(int(m[1]), int(m[2]), 1))
        except ValueError:
            pass
    elif m := re.fullmatch(r"(\d{4})-(\d{2})", spec):
        if 1 <= int(m[2]) <= 12:
            return month(date(int(m[1]), int(m[2]), 1))
    raise ValueError(f"unknown report period {spec!r}: use last_week, last_month, YYYY-Www (ISO week) or YYYY-MM")
