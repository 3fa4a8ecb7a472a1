"""The dbt project's vars (``vars:`` in dbt_project/dbt_project.yml) for Python code
that applies the same rule as the SQL: one value, read by both sides.

Only literal values are read here; a var that is a Jinja expression
(``reporting_currency``) has its own setting in ``settings``.
"""

from __future__ import annotations

from functools import lru_cache

import yaml

from bizintel_dagster import settings


@lru_cache(maxsize=1)
def _vars() -> dict:
    with (settings.DBT_PROJECT_DIR / "dbt_project.yml").open(encoding="utf-8") as f:
        return yaml.safe_load(f).get("vars") or {}


def get(name: str):
    values = _vars()
    if name not in values:
        raise KeyError(f"dbt var {name!r} is not set in {settings.DBT_PROJECT_DIR / 'dbt_project.yml'}")
    return values[name]


def quality_bar() -> int | float:
    """The lowest data-quality score (0-100) a partition may have: dbt var
    ``quality_bar``. Returned as written (90, not 90.0): it is part of check names."""
    value = get("quality_bar")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100:
        raise ValueError(f"dbt var quality_bar must be a number from 0 to 100, not {value!r}")
    return value
