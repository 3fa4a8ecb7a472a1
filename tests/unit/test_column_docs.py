"""Every column of every dbt model (staging to marts) is declared in its YAML
with a description, and every declared column exists: the descriptions are what
the Dagster UI's column schema and the dbt docs show analysts. The models are
built empty (no data, real SQL), so the columns compared are the ones the SQL
actually outputs. A new model or column without a description fails here,
listing every missing one."""

import json

import duckdb
import pytest

from bizintel_dagster.settings import REPO_ROOT
from tests.unit.dbt_build import build_empty

SEEDS_DIR = REPO_ROOT / "seeds"

# A floor: the schemas the project's models are known to build into (a model in
# a new schema is checked too, this only guards the enumeration itself).
MODEL_SCHEMAS = ("staging", "cleansed", "enriched", "fused", "kpis", "subscriptions", "cohorts", "customers",
                 "experiments")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(warehouse, manifest) with every model built empty."""
    return build_empty(tmp_path_factory.mktemp("column-docs"))


def test_every_column_of_every_model_is_declared_and_described(built):
    warehouse, manifest = built
    models = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    assert set(MODEL_SCHEMAS) <= {m["schema"] for m in models}
    problems = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for model in models:
            relation = f'"{model["schema"]}"."{model["alias"] or model["name"]}"'
            actual = [row[0].lower() for row in con.execute(f"describe {relation}").fetchall()]
            declared = {name.lower(): (col.get("description") or "").strip() for name, col in model["columns"].items()}
            undeclared = [c for c in actual if c not in declared]
            undescribed = [c for c in actual if c in declared and not declared[c]]
            # money is integer minor units: its description says so (and of which currency)
            undescribed += [c for c in actual if c.endswith("_minor") and declared.get(c)
                            and "minor unit" not in declared[c].lower()]
            absent = sorted(set(declared) - set(actual))
            if undeclared or undescribed or absent:
                problems[f"{model['schema']}.{model['name']}"] = {
                    "undeclared": undeclared, "undescribed": undescribed, "declared_but_not_output": absent}
    assert not problems, json.dumps(problems, indent=1)


def test_every_column_of_every_seed_is_declared_and_described(built):
    """The reference tables too: a seed's columns are its CSV header, each declared
    and described in seeds/_seeds.yml (the UI's column schema of reference/*)."""
    _, manifest = built
    seeds = [n for n in manifest["nodes"].values() if n["resource_type"] == "seed"]
    assert len(seeds) >= 9
    problems = {}
    for seed in seeds:
        header = (SEEDS_DIR / f"{seed['name']}.csv").read_text().splitlines()[0]
        actual = [c.strip().lower() for c in header.split(",")]
        declared = {name.lower(): (col.get("description") or "").strip() for name, col in seed["columns"].items()}
        missing = [c for c in actual if not declared.get(c)]
        money = [c for c in actual if c.endswith("_minor") and declared.get(c) and "minor unit" not in declared[c].lower()]
        absent = sorted(set(declared) - set(actual))
        if missing or money or absent:
            problems[seed["name"]] = {"undescribed": missing, "minor_units_unsaid": money, "not_in_csv": absent}
    assert not problems, json.dumps(problems, indent=1)
