"""Small tables in asset and check metadata, rendered as markdown by the UI."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

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


def column_schema(con, relation: Sequence[str], descriptions: Mapping[str, str | None] | None = None) -> dict:
    """``dagster/column_schema`` of a warehouse table or view as built (names and
    DuckDB types in column order), with the documented descriptions: the UI's
    column list then matches what analysts query, not only what the YAML lists."""
    schema, name = relation
    try:
        rows = con.execute(
            """select column_name, data_type from information_schema.columns
               where table_schema = ? and table_name = ? order by ordinal_position""",
            [schema, name],
        ).fetchall()
    except Exception:  # metadata must never fail a materialization
        return {}
    if not rows:
        return {}
    descriptions = descriptions or {}
    columns = [dg.TableColumn(column, data_type, description=descriptions.get(column) or None) for column, data_type in rows]
    return {"dagster/column_schema": dg.TableSchema(columns=columns)}
