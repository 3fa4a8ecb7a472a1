"""Small tables in asset and check metadata, rendered as markdown by the UI."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import dagster as dg


def markdown_table(header: Sequence[str], rows: Iterable[Sequence]) -> dg.MetadataValue:
    """A markdown table; None cells are left empty."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in rows]
    return dg.MetadataValue.md("\n".join(lines))


def query_table(con, sql: str) -> dg.MetadataValue:
    """A query's result as a markdown table (a preview of a few rows)."""
    cursor = con.execute(sql)
    return markdown_table([d[0] for d in cursor.description], cursor.fetchall())
