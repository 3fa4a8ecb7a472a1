"""How dbt nodes become Dagster assets: keys are ``[schema, name]`` (the relation
analysts query), raw sources map onto the Python raw assets so lineage runs
unbroken from landing files to KPIs. Group and step come from the declaration of
the node's folder in ``dbt_project.yml`` (``meta: {dagster: {step, partitioned,
group}}``, ``steps.py``): the group as the asset's group, the step as its
``bizintel/step`` tag (jobs select a step by it). Freshness and automation follow
the group (``defs/freshness.py``, ``defs/automation/conditions.py``).

Descriptions are the YAML's words only: dagster-dbt appends every model's raw
SQL (Jinja and all) to its description, which buries the sentence a data
engineer came for; the SQL is one click away in the repository. dbt tests become
asset checks described by what they assert, built from the test's name and
arguments (a singular test by its YAML description or its leading SQL comment)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

from bizintel_dagster import activity
from bizintel_dagster.defs.automation.conditions import condition_for_group
from bizintel_dagster.defs.dbt import steps
from bizintel_dagster.defs.freshness import freshness_policy_for_group
from bizintel_dagster.policies import OWNERS

# What each generic test asserts, phrased from its arguments.
_GENERIC_TEST_PHRASES = {
    "unique": lambda column, kw: f"{column} has no duplicates",
    "not_null": lambda column, kw: f"{column} is never null",
    "accepted_values": lambda column, kw: f"{column} is one of {', '.join(map(str, kw.get('values', [])))}",
    "accepted_range": lambda column, kw: f"{column} lies in {_range_text(kw)}",
    "relationships": lambda column, kw: f"every {column} exists in {_ref_name(kw.get('to', ''))}.{kw.get('field')}",
    "unique_combination": lambda column, kw: f"no two rows share ({', '.join(kw.get('columns', []))})",
    "expression_is_true": lambda column, kw: f"every row satisfies {kw.get('expression')}",
}


def _range_text(kwargs: Mapping[str, Any]) -> str:
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    return f"[{'-inf' if low is None else low}, {'+inf' if high is None else high}]"


def _ref_name(ref_call: str) -> str:
    match = re.search(r"ref\(\s*['\"]([^'\"]+)['\"]", ref_call)
    return match.group(1) if match else ref_call


def _leading_sql_comment(raw_code: str) -> str:
    lines = []
    for line in raw_code.strip().splitlines():
        stripped = line.strip()
        if not stripped.startswith("--"):
            break
        lines.append(stripped.removeprefix("--").strip())
    return " ".join(lines)


def describe_test(manifest: Mapping[str, Any], test: Mapping[str, Any]) -> str:
    """One sentence on what a dbt test asserts, and over which rows."""
    own = test.get("description") or (test.get("meta") or {}).get("description")
    metadata = test.get("test_metadata")
    if metadata:
        kwargs = metadata.get("kwargs") or {}
        column = kwargs.get("column_name") or test.get("column_name") or ""
        phrase = _GENERIC_TEST_PHRASES.get(metadata["name"])
        arguments = {k: v for k, v in kwargs.items() if k not in ("model", "column_name")}
        if phrase:
            text = f"{metadata['name']}: {phrase(column, kwargs)}"
        else:
            text = f"{metadata['name']}({', '.join([column, *(f'{k}={v}' for k, v in arguments.items())]).strip(', ')})"
        if test["config"].get("where"):
            text += f" where {test['config']['where']}"
        attached = manifest["nodes"].get(test.get("attached_node") or "")
        if attached and attached["config"].get("materialized") == "incremental":
            # get_where_subquery scopes tests on partitioned models to the run's window.
            text += ", over the rows of the run's partition window"
        text += "."
        return f"{own} ({text})" if own else text
    return own or _leading_sql_comment(test.get("raw_code") or "") or f"dbt test {test['name']}"


class BizintelDbtTranslator(DagsterDbtTranslator):
    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        node = manifest["sources"].get(unique_id) or manifest["nodes"][unique_id]
        schema = node["schema"]
        name = node["name"]
        attributes: dict[str, Any] = {"key": dg.AssetKey([schema, name])}
        if node["resource_type"] != "source":
            declared = steps.declaration(node)  # raises when the folder declares none
            group = declared["group"]
            attributes.update(
                group_name=group, owners=OWNERS, freshness_policy=freshness_policy_for_group(group),
                automation_condition=condition_for_group(group),
                tags={**spec.tags, steps.STEP_TAG: declared["step"]})
        return spec.replace_attributes(**attributes)

    def get_partition_mapping(self, dbt_resource_props: Mapping[str, Any],
                              dbt_parent_resource_props: Mapping[str, Any]) -> dg.PartitionMapping | None:
        """A model that reads a parent over the activity window names that parent in
        ``meta: {activity_window_parents: [...]}`` (next to the SQL that reads it):
        day X depends on the parent's days X - W .. X. Every other dependency
        keeps Dagster's default (same day)."""
        meta = {**(dbt_resource_props.get("config") or {}).get("meta", {}), **(dbt_resource_props.get("meta") or {})}
        if dbt_parent_resource_props.get("name") in meta.get("activity_window_parents", ()):
            return activity.window_mapping()
        return None

    def get_description(self, dbt_resource_props: Mapping[str, Any]) -> str:
        return dbt_resource_props.get("description") or (
            f"dbt {dbt_resource_props['resource_type']} {dbt_resource_props['name']} (not yet described in its YAML)"
        )

    def get_asset_check_spec(self, asset_spec, manifest, unique_id, project) -> dg.AssetCheckSpec | None:
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None:
            return None
        return dg.AssetCheckSpec(
            name=spec.name,
            asset=spec.asset_key,
            description=describe_test(manifest, manifest["nodes"][unique_id]),
            additional_deps=spec.additional_deps,
            blocking=spec.blocking,
            metadata=spec.metadata,
            automation_condition=spec.automation_condition,
            **({"partitions_def": spec.partitions_def} if spec.partitions_def else {}),
        )


translator = BizintelDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))
