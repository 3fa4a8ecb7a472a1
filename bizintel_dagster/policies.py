"""Retries for steps that touch the warehouse, and who owns the assets."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import dagster as dg

OWNERS = ["team:data-platform"]

T = TypeVar("T")

# Messages of failures worth another try: DuckDB's single-writer lock held a
# moment too long by another process, a busy or briefly full disk.
_TRANSIENT = ("Could not set lock on file", "Conflicting lock", "database is locked", "No space left on device")
MAX_RETRIES = 4


def is_transient(exc: BaseException) -> bool:
    return any(marker in str(exc) for marker in _TRANSIENT)


def retry_transient(context: dg.OpExecutionContext, fn: Callable[[], T]) -> T:
    """Run fn; on a transient failure ask Dagster to retry the step with exponential
    backoff (2, 4, 8, 16 s). Anything else fails at once: a failing test or a bad
    model does not get better by waiting."""
    try:
        return fn()
    except Exception as exc:
        if is_transient(exc):
            wait = 2 ** (context.retry_number + 1)
            context.log.warning(f"transient failure, retrying in {wait}s: {str(exc)[:300]}")
            raise dg.RetryRequested(max_retries=MAX_RETRIES, seconds_to_wait=wait) from exc
        raise
