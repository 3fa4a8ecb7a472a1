"""Small tables in asset and check metadata, rendered as markdown by the UI."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import dagster as dg


def markdown_text(header: Sequence[str], rows: Iterable[Sequence]) -> str:
    """A markdown table as text; None cells are left empty."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def markdown_table(header: Sequence[str], rows: Iterable[Sequence]) -> dg.MetadataValue:
    """A markdown table as asset metadata."""
    return dg.MetadataValue.md(markdown_text(header, rows))


def query_table(con, sql: str) -> dg.MetadataValue:
    """A query's result as a markdown table (a preview of a few rows)."""
    cursor = con.execute(sql)
    return markdown_table([d[0] for d in cursor.description], cursor.fetchall())
