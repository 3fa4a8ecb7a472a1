"""Retry policy shared by every step that touches the warehouse."""

import dagster as dg

# Transient failures (a lock held a moment too long, a busy disk) retry with
# exponential backoff: 2 s, 4 s, 8 s (+/- jitter).
warehouse_retry = dg.RetryPolicy(
    max_retries=3, delay=2, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)

OWNERS = ["team:data-platform"]
