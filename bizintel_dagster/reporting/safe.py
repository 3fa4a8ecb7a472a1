"""Strings from input (sponsor, zone, campaign names...) in spreadsheets.

A spreadsheet program evaluates a cell that starts with ``=``, ``+``, ``-`` or
``@`` as a formula (and a leading tab or carriage return can hide one), so
``=HYPERLINK("http://x")`` in a sponsor name would run in the analyst's Excel.
Every string written to a CSV or XLSX cell goes through ``neutralise``, which
prefixes such a value with a single quote (OWASP "CSV injection"). Numbers are
written as numbers and are not touched. HTML is escaped by jinja2's autoescape.
"""

from __future__ import annotations

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """The value to write into a CSV/XLSX cell: strings starting with a formula
    trigger get a leading ``'``; anything else is returned unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value
