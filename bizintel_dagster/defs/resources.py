"""Resources shared by every asset: the warehouse and the dbt CLI.

Both read BIZINTEL_WAREHOUSE (Dagster through EnvVar, dbt through env_var() in
profiles.yml), so there is exactly one place to point bizintel at a warehouse.
"""

import dagster as dg
from dagster_dbt import DbtCliResource
from dagster_duckdb import DuckDBResource

from bizintel_dagster import settings
from bizintel_dagster.defs.dbt.project import dbt_project


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "warehouse": DuckDBResource(
                database=dg.EnvVar("BIZINTEL_WAREHOUSE"),
                connection_config=settings.duckdb_config(),
            ),
            "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=settings.dbt_executable()),
        },
        # One process per run: the steps share the single DuckDB writer anyway,
        # and on small machines separate step processes only add start-up time.
        executor=dg.in_process_executor,
    )
