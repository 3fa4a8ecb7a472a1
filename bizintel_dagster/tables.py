"""Warehouse tables written by Python (not dbt), declared once: the same
declaration creates the table and gives the Dagster UI its column schema
(``dagster/column_schema``: DuckDB type and description of every column), so
the two cannot drift apart. dbt models get theirs from their YAML instead
(``defs/dbt``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import dagster as dg

COLUMN_SCHEMA = "dagster/column_schema"


@dataclass(frozen=True)
class Column:
    name: str
    type: str            # DuckDB type, as created
    description: str     # what it means; units; money in minor units of the stated currency
    not_null: bool = False


def col(name: str, type_: str, description: str, *, not_null: bool = False) -> Column:
    return Column(name, type_, description, not_null)


@dataclass(frozen=True)
class Table:
    schema: str
    name: str
    columns: tuple[Column, ...]

    @property
    def relation(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def descriptions(self) -> dict[str, str]:
        return {c.name: c.description for c in self.columns}

    def ddl(self, *, replace: bool = False) -> str:
        """``create [or replace] table [if not exists]`` with the declared columns
        (the schema is created too)."""
        body = ",\n    ".join(f"{c.name} {c.type}{' not null' if c.not_null else ''}" for c in self.columns)
        verb = "create or replace table" if replace else "create table if not exists"
        return f"create schema if not exists {self.schema};\n{verb} {self.relation} (\n    {body}\n);"

    def table_schema(self) -> "dg.TableSchema":
        import dagster as dg  # plain-logic modules (the landing loader) declare tables without Dagster

        return dg.TableSchema(columns=[
            dg.TableColumn(c.name, c.type.lower(), description=c.description,
                           constraints=dg.TableColumnConstraints(nullable=not c.not_null))
            for c in self.columns])

    def metadata(self) -> dict:
        """Definition metadata of the asset that owns the table. The table name is
        qualified like dagster-dbt's (database = the warehouse file's stem)."""
        from bizintel_dagster import settings

        return {COLUMN_SCHEMA: self.table_schema(),
                "dagster/table_name": f"{settings.warehouse_path().stem}.{self.relation}"}


def other_tables_metadata(*tables: Table) -> dict:
    """Column schemas of the further tables an asset writes (Dagster has one
    ``dagster/column_schema`` per asset): shown as tables on the asset page."""
    import dagster as dg

    return {f"columns of {t.relation}": dg.MetadataValue.table_schema(t.table_schema()) for t in tables}
