"""The bizintel code location: every module under ``defs/`` contributes its
assets, checks, jobs and resources; the analysts' copy is added last, with the
published assets of all of them as its dependencies."""

from pathlib import Path

import dagster as dg

from bizintel_dagster.defs.publish.assets import analytics_warehouse_asset, published_keys


@dg.definitions
def defs() -> dg.Definitions:
    loaded = dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
    keys = published_keys(loaded.resolve_all_asset_keys())
    return dg.Definitions.merge(loaded, dg.Definitions(assets=[analytics_warehouse_asset(keys)]))
