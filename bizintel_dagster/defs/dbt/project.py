"""The dbt project as Dagster sees it. The manifest is prepared by `make install`
(`bizintel prepare`) and by the test session; `dagster dev` prepares it itself."""

from dagster_dbt import DbtProject

from bizintel_dagster import settings

dbt_project = DbtProject(project_dir=settings.DBT_PROJECT_DIR, profiles_dir=settings.DBT_PROJECT_DIR)
dbt_project.prepare_if_dev()
