"""A warehouse connection that is closed on error too.

``DuckDBResource.get_connection()`` (dagster-duckdb 0.29) closes its connection
only when the ``with`` block ends normally: after an exception the connection
stays open (referenced by the traceback) and keeps the DuckDB file lock in a
long-lived process; the next connection in that process with another config
then fails ("Can't open a connection to same database file with a different
configuration"). Forecast and report steps open the warehouse through this.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def warehouse_connection(resource) -> Iterator:
    with resource.get_connection() as con:
        try:
            yield con
        except BaseException:
            con.close()
            raise
