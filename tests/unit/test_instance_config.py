"""The instance config that `make run` and `make ui` use loads and limits the
warehouse pool to one step at a time, and every step that opens the warehouse
claims that pool: together they are why writers never collide on DuckDB's lock."""

import shutil

import dagster as dg

from bizintel_dagster import runner, settings
from bizintel_dagster.defs.publish.assets import PUBLISH_KEY
from bizintel_dagster.warehouse import WAREHOUSE_POOL

# Resources through which a step opens the working warehouse.
WAREHOUSE_RESOURCES = {"warehouse", "dbt"}


def test_dagster_home_config_loads_with_a_single_slot_per_pool(tmp_path, monkeypatch):
    shutil.copy(settings.REPO_ROOT / "dagster_home" / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with dg.DagsterInstance.get() as instance:
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1


def test_every_step_that_opens_the_warehouse_claims_the_warehouse_pool():
    repo = runner.load_definitions().get_repository_def()
    steps = {}
    for definition in [*repo.assets_defs_by_key.values(), *repo.asset_checks_defs_by_key.values()]:
        node = definition.node_def
        if node is None or not (definition.required_resource_keys & WAREHOUSE_RESOURCES):
            continue
        steps[node.name] = node.pool
    steps[repo.assets_defs_by_key[PUBLISH_KEY].node_def.name] = repo.assets_defs_by_key[PUBLISH_KEY].node_def.pool
    assert len(steps) > 20
    assert {name for name, pool in steps.items() if pool != WAREHOUSE_POOL} == set()
