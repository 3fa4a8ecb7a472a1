"""What the Dagster UI says about dbt nodes: the YAML's description, never the
raw SQL dagster-dbt appends by default; every seed described in _seeds.yml; and
each dbt test's asset check described by what it asserts."""

import json

from bizintel_dagster import settings
from bizintel_dagster.defs.dbt.translator import describe_test, translator


def _manifest() -> dict:
    return json.loads((settings.DBT_PROJECT_DIR / "target" / "manifest.json").read_text())


def test_asset_descriptions_are_the_yaml_words_without_sql():
    manifest = _manifest()
    nodes = [n for n in manifest["nodes"].values() if n["resource_type"] in ("model", "seed")]
    assert nodes
    for node in nodes:
        description = translator.get_description(node)
        assert "Raw SQL" not in description and "```" not in description, node["name"]
        assert node["raw_code"].strip()[:40] not in description or not node["raw_code"].strip(), node["name"]
        if node["description"]:
            assert description == node["description"]


def test_every_seed_has_a_description_of_its_own():
    seeds = [n for n in _manifest()["nodes"].values() if n["resource_type"] == "seed"]
    assert seeds
    assert [s["name"] for s in seeds if not s["description"].strip()] == []


def test_dbt_test_checks_say_what_they_assert():
    manifest = _manifest()
    tests = [n for n in manifest["nodes"].values() if n["resource_type"] == "test"]
    generic = [t for t in tests if t.get("test_metadata")]
    singular = [t for t in tests if not t.get("test_metadata")]
    assert generic and singular
    for test in generic:
        text = describe_test(manifest, test)
        assert text.startswith(test["test_metadata"]["name"]) or test["description"], text
        column = test["test_metadata"]["kwargs"].get("column_name")
        if column:
            assert column in text, (test["name"], text)
    unique = next(t for t in generic if t["test_metadata"]["name"] == "unique"
                  and manifest["nodes"][t["attached_node"]]["config"]["materialized"] == "incremental")
    column = unique["test_metadata"]["kwargs"]["column_name"]
    assert describe_test(manifest, unique) == f"unique: {column} has no duplicates, over the rows of the run's partition window."
    ranged = next(t for t in generic if t["test_metadata"]["name"] == "accepted_range")
    kwargs = ranged["test_metadata"]["kwargs"]
    assert str(kwargs.get("min_value", kwargs.get("max_value"))) in describe_test(manifest, ranged)
    for test in singular:
        # a singular test says what it asserts in its leading SQL comment
        first_comment = test["raw_code"].strip().splitlines()[0].removeprefix("--").strip()
        assert describe_test(manifest, test).startswith(first_comment), test["name"]
