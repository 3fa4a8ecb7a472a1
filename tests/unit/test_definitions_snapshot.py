"""A snapshot of the code location: every asset (group, partitioned or not, the
step that builds it, its automation condition), every dependency that spans
more than one day (its partition mapping), every check and every job, in the
order `bizintel run` materializes them. An accidental change to the graph fails
here; an intended one is accepted with `UPDATE_SNAPSHOTS=1 make test`."""

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from bizintel_dagster import runner
from bizintel_dagster.defs import jobs

SNAPSHOT = Path(__file__).parent.parent / "snapshots" / "definitions.txt"


def _describe() -> str:
    repo = runner.load_definitions().get_repository_def()
    graph = repo.asset_graph
    lines = ["# assets: key | group | partitioned | step (op) | automation condition"]
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        # the condition's name: its cron and time zone are deployment settings
        condition = node.automation_condition.get_label().split("(")[0] if node.automation_condition else "-"
        lines.append(f"{key.to_user_string()} | {node.group_name} | {'daily' if node.partitions_def else '-'} | "
                     f"{repo.assets_defs_by_key[key].node_def.name} | {condition}")
    lines.append("# dependencies across days: asset <- upstream | partition mapping")
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        for parent in sorted(node.parent_keys, key=lambda k: k.to_user_string()):
            mapping = graph.get_partition_mapping(key, parent)
            if isinstance(mapping, dg.TimeWindowPartitionMapping) and (mapping.start_offset, mapping.end_offset) != (0, 0):
                lines.append(f"{key.to_user_string()} <- {parent.to_user_string()} | "
                             f"days {mapping.start_offset:+d} .. {mapping.end_offset:+d}")
    lines.append("# checks: asset:check | blocking")
    for check_key in sorted(graph.asset_check_keys, key=lambda k: (k.asset_key.to_user_string(), k.name)):
        spec = graph.get_check_spec(check_key)
        lines.append(f"{check_key.asset_key.to_user_string()}:{check_key.name} | {'blocking' if spec.blocking else '-'}")
    definitions = runner.load_definitions()
    lines.append("# jobs `bizintel run` materializes, in graph order")
    lines += runner.jobs_in_graph_order(definitions, jobs.RUN_JOBS)
    lines.append("# other jobs")
    lines += sorted(job.name for job in repo.get_all_jobs() if not job.name.startswith("__") and job.name not in jobs.RUN_JOBS)
    return "\n".join(lines) + "\n"


def test_definitions_match_the_snapshot():
    current = _describe()
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(current)
    # A missing snapshot fails: writing it here would compare the graph with itself.
    assert SNAPSHOT.exists(), f"{SNAPSHOT} is missing: review the graph, then UPDATE_SNAPSHOTS=1 make test"
    assert current == SNAPSHOT.read_text(), "asset graph changed: review, then UPDATE_SNAPSHOTS=1 make test"


def test_the_code_location_loads_the_way_dagster_dev_loads_it():
    dagster = Path(sys.executable).with_name("dagster")
    result = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        capture_output=True, text=True, cwd=Path(__file__).parents[2], timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_publish_depends_on_everything_it_copies_and_is_drawn_last():
    """The analysts' copy holds every table of the published schemas, so it must
    follow each of them (a report for another period, a forecast run) and
    nothing may follow it."""
    from bizintel_dagster.defs.publish.assets import PUBLISH_KEY
    from bizintel_dagster.warehouse import PUBLISHED_SCHEMAS

    graph = runner.load_definitions().get_repository_def().asset_graph
    parents = graph.get(PUBLISH_KEY).parent_keys
    in_published_schemas = {k for k in graph.get_all_asset_keys() if k.path[0] in PUBLISHED_SCHEMAS}
    assert parents == in_published_schemas
    for key in ("reports/report_catalog", "forecasts/daily_forecasts", "alerts/alert_events",
                "kpis/kpi_daily", "subscriptions/mrr_monthly", "segments/segment_membership"):
        assert dg.AssetKey.from_user_string(key) in parents, key
    assert not any(k.path[0] in ("raw", "staging") for k in parents)
    assert not graph.get(PUBLISH_KEY).child_keys


def test_bizintel_run_never_runs_a_job_before_one_that_materializes_its_inputs():
    """The order `bizintel run` and `backfill` use comes from the graph: for every
    job, no later job materializes an asset upstream of it (other than its own)."""
    definitions = runner.load_definitions()
    graph = definitions.resolve_asset_graph()
    for names in (jobs.RUN_JOBS, jobs.BACKFILL_JOBS):
        order = runner.jobs_in_graph_order(definitions, names)
        assert sorted(order) == sorted(names)
        for i, name in enumerate(order):
            own = runner.selected_assets(definitions, name)
            inputs = dg.AssetSelection.assets(*own).upstream().resolve(graph) - own
            for later in order[i + 1:]:
                assert not inputs & runner.selected_assets(definitions, later), (name, later)
    order = runner.jobs_in_graph_order(definitions, jobs.RUN_JOBS)
    assert order[:2] == ["reference_job", "daily_pipeline_job"] and order[-1] == "publish_job"
    assert order.index("forecast_job") < order.index("weekly_report_job")  # the executive report reads forecasts
