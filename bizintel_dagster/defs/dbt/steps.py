"""The dbt steps as the project declares them: one ``+meta: {dagster: {step,
partitioned, group}}`` per folder in ``dbt_project.yml`` (seeds included). The
translator reads the group, ``assets.py`` builds one ``@dbt_assets`` op per step
from these, and jobs select a step by the ``bizintel/step`` tag the translator
puts on its assets.

A model or seed without a complete declaration is an error, never a default:
the definitions fail to load and name its file (and ``tests/unit/test_dbt_steps.py``
enumerates the manifest). So is a step declared partitioned in one folder and
not in another, or a model that reads a model of a step that runs after its own
(the steps must form a chain Dagster can order without splitting one)."""

from __future__ import annotations

import graphlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# What dbt builds into the warehouse, each of which becomes a Dagster asset.
BUILT_RESOURCE_TYPES = ("model", "seed", "snapshot")
DECLARATION = {"step": str, "partitioned": bool, "group": str}
# The Dagster tag naming a dbt asset's step (jobs select steps by it).
STEP_TAG = "bizintel/step"


class StepDeclarationError(ValueError):
    """A dbt node's step declaration is missing or contradicts another."""


@dataclass(frozen=True)
class Step:
    name: str
    partitioned: bool
    unique_ids: tuple[str, ...]

    @property
    def op_name(self) -> str:
        return f"dbt_{self.name}"

    @property
    def select(self) -> str:
        """dbt's selection of exactly this step's models and seeds."""
        return f"config.meta.dagster.step:{self.name}"


def built_nodes(manifest: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {uid: node for uid, node in manifest["nodes"].items() if node["resource_type"] in BUILT_RESOURCE_TYPES}


def _problem(node: Mapping[str, Any]) -> str | None:
    declared = ((node.get("config") or {}).get("meta") or {}).get("dagster")
    where = f"{node['resource_type']} {node['name']} ({node.get('original_file_path', '?')})"
    if not isinstance(declared, Mapping):
        return f"{where}: no `+meta: {{dagster: {{step, partitioned, group}}}}` declared for its folder"
    wrong = [f"{key} ({kind.__name__})" for key, kind in DECLARATION.items() if not isinstance(declared.get(key), kind)]
    if wrong:
        return f"{where}: its `meta.dagster` lacks or mistypes {', '.join(wrong)}: {dict(declared)}"
    return None


def declaration(node: Mapping[str, Any]) -> Mapping[str, Any]:
    """The node's ``{step, partitioned, group}``; raises when it is incomplete."""
    problem = _problem(node)
    if problem:
        raise StepDeclarationError(problem)
    return node["config"]["meta"]["dagster"]


def undeclared(manifest: Mapping[str, Any]) -> list[str]:
    """Every built node whose declaration is missing or incomplete, one line each."""
    return sorted(p for node in built_nodes(manifest).values() if (p := _problem(node)))


def read_steps(manifest: Mapping[str, Any]) -> list[Step]:
    """The declared steps in the order they run (the order their models' refs
    give; ties by name). Raises StepDeclarationError on any undeclared node, a
    step both partitioned and not, or steps that read each other."""
    problems = undeclared(manifest)
    if problems:
        raise StepDeclarationError(
            "dbt models / seeds without a step declaration (dbt_project.yml):\n  " + "\n  ".join(problems))
    nodes = built_nodes(manifest)
    step_of = {uid: declaration(node)["step"] for uid, node in nodes.items()}
    partitioned: dict[str, set[bool]] = {}
    for uid, node in nodes.items():
        partitioned.setdefault(step_of[uid], set()).add(declaration(node)["partitioned"])
    mixed = sorted(step for step, flags in partitioned.items() if len(flags) > 1)
    if mixed:
        raise StepDeclarationError(f"step(s) {', '.join(mixed)} declared both partitioned and unpartitioned")
    after: dict[str, set[str]] = {step: set() for step in partitioned}
    for uid, node in nodes.items():
        for parent in node.get("depends_on", {}).get("nodes", []):
            if parent in step_of and step_of[parent] != step_of[uid]:
                after[step_of[uid]].add(step_of[parent])
    sorter = graphlib.TopologicalSorter(after)
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        raise StepDeclarationError(f"dbt steps read each other in a cycle: {' -> '.join(exc.args[1])}") from None
    order = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        order += ready
        sorter.done(*ready)
    return [Step(name, next(iter(partitioned[name])), tuple(sorted(uid for uid, s in step_of.items() if s == name)))
            for name in order]
