"""Partitioning and step membership are declared once per dbt folder
(``dbt_project.yml``: ``+meta: {dagster: {step, partitioned, group}}``) and the
dbt steps are built from that declaration alone: every model and seed of the
manifest is declared, each step's op holds exactly its declared nodes, and a
model that is not declared fails the definitions instead of becoming daily."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess

import dagster as dg
import pytest

from bizintel_dagster import activity, settings
from bizintel_dagster.defs.dbt import steps
from bizintel_dagster.defs.dbt.assets import MANIFEST, STEPS, dbt_steps


def _key(node) -> dg.AssetKey:
    return dg.AssetKey([node["schema"], node["name"]])


def test_every_model_and_seed_of_the_manifest_is_declared():
    nodes = steps.built_nodes(MANIFEST)
    assert {n["resource_type"] for n in nodes.values()} == {"model", "seed"}
    assert len(nodes) > 50  # the whole project, not an empty manifest
    assert steps.undeclared(MANIFEST) == []
    declared = [uid for step in STEPS for uid in step.unique_ids]
    assert sorted(declared) == sorted(nodes)  # each node in exactly one step


def test_each_step_op_builds_exactly_its_declared_nodes_partitioned_as_declared():
    by_op = {assets_def.node_def.name: assets_def for assets_def in dbt_steps}
    assert list(by_op) == [step.op_name for step in STEPS]
    for step in STEPS:
        assets_def = by_op[step.op_name]
        assert set(assets_def.keys) == {_key(MANIFEST["nodes"][uid]) for uid in step.unique_ids}, step.name
        assert (assets_def.partitions_def is not None) == step.partitioned, step.name
        # ranges run in one run only where there are partitions
        assert (assets_def.backfill_policy is not None) == step.partitioned, step.name
        assert assets_def.specs_by_key[next(iter(assets_def.keys))].tags[steps.STEP_TAG] == step.name
    # the full-rebuild dimensions are not daily partitions (they were, inside the business step)
    for name in ("dim_users", "dim_accounts"):
        (owner,) = [s for s in STEPS if f"model.bizintel.{name}" in s.unique_ids]
        assert (owner.name, owner.partitioned) == ("dimensions", False)


def test_the_steps_run_in_the_order_their_refs_give():
    assert [s.name for s in STEPS] == ["reference", "cleansed", "dimensions", "business", "rolling", "analytics"]


def _without_declaration(manifest, uid):
    broken = copy.deepcopy(manifest)
    del broken["nodes"][uid]["config"]["meta"]["dagster"]
    return broken


def test_a_step_both_partitioned_and_not_or_steps_that_read_each_other_are_refused():
    mixed = copy.deepcopy(MANIFEST)
    mixed["nodes"]["model.bizintel.fct_revenue"]["config"]["meta"]["dagster"]["partitioned"] = False
    with pytest.raises(steps.StepDeclarationError, match="business declared both"):
        steps.read_steps(mixed)
    # kpi_daily_users (business) reads enriched_app_events: moving that to the rolling step,
    # which reads the business step's kpi_daily_quality, makes the two steps read each other
    cycle = copy.deepcopy(MANIFEST)
    cycle["nodes"]["model.bizintel.enriched_app_events"]["config"]["meta"]["dagster"]["step"] = "rolling"
    with pytest.raises(steps.StepDeclarationError, match="cycle"):
        steps.read_steps(cycle)
    with pytest.raises(steps.StepDeclarationError, match=r"kpi_daily_users \(models/kpis/kpi_daily_users.sql\)"):
        steps.read_steps(_without_declaration(MANIFEST, "model.bizintel.kpi_daily_users"))


def test_a_model_in_an_undeclared_folder_or_overriding_its_folder_fails_loudly(tmp_path):
    """A real `dbt parse` of the project with two new models: one in a folder no
    declaration covers, one in a declared folder whose own `meta.dagster` replaces
    the folder's (dbt merges meta one level deep). Both are named with their file."""
    project = tmp_path / "dbt_project"
    shutil.copytree(settings.DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", ".user.yml"))
    shutil.copytree(settings.DBT_PROJECT_DIR.parent / "seeds", tmp_path / "seeds")
    (project / "models" / "marketing").mkdir()
    (project / "models" / "marketing" / "campaign_spend.sql").write_text("select 1 as spend\n")
    (project / "models" / "kpis" / "kpi_daily_sessions.sql").write_text(
        "{{ config(meta={'dagster': {'group': 'kpis'}}) }}\nselect 1 as sessions\n")
    subprocess.run([settings.dbt_executable(), "parse", "--quiet", "--project-dir", str(project),
                    "--profiles-dir", str(project), "--vars", json.dumps(activity.dbt_vars())],
                   check=True, capture_output=True, timeout=300)
    manifest = json.loads((project / "target" / "manifest.json").read_text())
    with pytest.raises(steps.StepDeclarationError) as refused:
        steps.read_steps(manifest)
    message = str(refused.value)
    assert "campaign_spend (models/marketing/campaign_spend.sql): no `+meta" in message
    assert "kpi_daily_sessions (models/kpis/kpi_daily_sessions.sql): its `meta.dagster` lacks" in message
    assert "step (str), partitioned (bool)" in message
    assert message.count("\n") == 2  # those two, and no model of the project itself
