"""How dbt nodes become Dagster assets: keys are ``[schema, name]`` (the relation
analysts query), groups are the layers, raw sources map onto the Python raw
assets so lineage runs unbroken from landing files to KPIs. A model can name its
group in dbt (``meta: {dagster: {group: ...}}``), as the unpartitioned KPI
roll-ups in the ``kpis`` schema do: a group is either all daily-partitioned or
all unpartitioned, so jobs can select whole groups."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

from bizintel_dagster.policies import OWNERS

_LAYER_OF_SCHEMA = {"staging": "cleansed"}


class BizintelDbtTranslator(DagsterDbtTranslator):
    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        node = manifest["sources"].get(unique_id) or manifest["nodes"][unique_id]
        schema = node["schema"]
        name = node["name"]
        attributes: dict[str, Any] = {"key": dg.AssetKey([schema, name])}
        if node["resource_type"] != "source":
            group = ((node.get("meta") or {}).get("dagster") or {}).get("group")
            attributes["group_name"] = group or _LAYER_OF_SCHEMA.get(schema, schema)
            attributes["owners"] = OWNERS
        return spec.replace_attributes(**attributes)


translator = BizintelDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))
