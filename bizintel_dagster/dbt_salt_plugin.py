"""dbt-duckdb plugin: hand the PII salt to DuckDB as a session variable.

Models hash PII with ``getvariable('pii_salt')`` (macro ``pii_hash``). Binding
the salt as a parameter keeps it out of compiled SQL in ``target/``, out of
dbt's logs and out of the repository. Session variables belong to one
connection, and dbt-duckdb runs models on cursors (connections of their own),
so the variable is set on each of them.
"""

from __future__ import annotations

from dbt.adapters.duckdb.plugins import BasePlugin

from bizintel_dagster import settings


def _set_salt(conn) -> None:
    salt = settings.pii_salt().strip()
    # An empty salt would make hashes guessable: leave the variable unset so that
    # any model that hashes PII fails with a clear message.
    if salt:
        conn.execute("set variable pii_salt = ?", [salt]).fetchall()


class Plugin(BasePlugin):
    def configure_connection(self, conn) -> None:
        _set_salt(conn)

    def configure_cursor(self, cursor) -> None:
        _set_salt(cursor)
