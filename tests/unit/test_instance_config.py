"""The instance config that `make run` and `make ui` use loads, and limits the
warehouse pool to one step at a time."""

import shutil

import dagster as dg

from bizintel_dagster import settings
from bizintel_dagster.warehouse import WAREHOUSE_POOL


def test_dagster_home_config_loads_with_a_single_warehouse_slot(tmp_path, monkeypatch):
    shutil.copy(settings.REPO_ROOT / "dagster_home" / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with dg.DagsterInstance.get() as instance:
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
        assert WAREHOUSE_POOL == "warehouse"
