"""The metric layer's names and labels, for alert rules that say which metric
they watch (``metric: {name: payer_rate, ...}``).

Read from the metric definitions themselves (dbt_project/models/semantic/
metrics.yml), not from the compiled semantic manifest: validating the alerts
config must not depend on `bizintel prepare` having run, and the YAML is the one
place metrics are defined.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import yaml

from bizintel_dagster import settings

METRICS_YML = settings.DBT_PROJECT_DIR / "models" / "semantic" / "metrics.yml"


@dataclass(frozen=True)
class MetricName:
    name: str
    label: str
    description: str


@lru_cache(maxsize=1)
def catalog() -> dict[str, MetricName]:
    data = yaml.safe_load(METRICS_YML.read_text(encoding="utf-8")) or {}
    return {m["name"]: MetricName(m["name"], m.get("label") or m["name"], " ".join((m.get("description") or "").split()))
            for m in data.get("metrics", [])}


def label(name: str | None) -> str | None:
    if not name:
        return None
    metric = catalog().get(name)
    return metric.label if metric else name
