"""`bizintel run` / `backfill`'s verdict on real Dagster results: a job of trivial
assets with a WARN and an ERROR check and a failing step, executed in-process
through runner.run_job, the code path of cli.materialize_all, in the order the
asset graph gives. And the check of the landing range against the daily
partitions, before anything runs."""

from datetime import date

import dagster as dg
import pytest

from bizintel_dagster import cli, settings
from bizintel_dagster.partitions import first_day

DAY = date(2026, 6, 1)


@dg.asset(key=["t", "broken"])
def broken():
    raise ValueError("landing file app.jsonl is unreadable\nsecond line of the detail")


@dg.asset(key=["t", "warned"], deps=[broken])
def warned():
    return dg.MaterializeResult()


@dg.asset_check(asset=warned, name="spread_looks_wide")
def spread_looks_wide():
    return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.WARN)


@dg.asset_check(asset=warned, name="has_rows")
def has_rows():
    return dg.AssetCheckResult(passed=True)


@dg.asset(key=["t", "blocked"])
def blocked():
    return dg.MaterializeResult()


@dg.asset_check(asset=blocked, name="totals_reconcile")
def totals_reconcile():
    return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.ERROR)


DEFS = dg.Definitions(
    assets=[warned, blocked, broken],
    asset_checks=[spread_looks_wide, has_rows, totals_reconcile],
    jobs=[dg.define_asset_job(name, selection=dg.AssetSelection.assets(asset))
          for name, asset in (("warn_job", warned), ("error_job", blocked), ("broken_job", broken))],
)


@pytest.fixture(autouse=True)
def data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("BIZINTEL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BIZINTEL_LANDING", str(tmp_path / "landing"))
    monkeypatch.setenv("BIZINTEL_WAREHOUSE", str(tmp_path / "warehouse" / "bizintel.duckdb"))
    return tmp_path


def _verdict(sequence, capsys):
    outcome = cli.materialize_all(DAY, DAY, sequence, definitions=DEFS)
    try:
        cli.finish(outcome)
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    return outcome, code, capsys.readouterr().out


def test_warnings_only_exit_0_and_are_listed(capsys):
    outcome, code, out = _verdict(("warn_job",), capsys)
    assert code == 0 and outcome.exit_code == 0
    assert outcome.warnings == ["t/warned:spread_looks_wide"] and not outcome.errors
    assert "WARN   t/warned:spread_looks_wide" in out
    assert "1 passed, 0 ERROR, 1 WARN" in out and "result: ok, 1 warnings" in out


def test_a_failed_error_check_exits_1(capsys):
    outcome, code, out = _verdict(("warn_job", "error_job"), capsys)
    assert code == 1
    assert outcome.errors == ["t/blocked:totals_reconcile"]
    assert "FAILED t/blocked:totals_reconcile" in out
    assert "result: FAILED, 1 failures (0 steps, 1 ERROR checks)" in out


def test_a_failed_step_exits_1_with_one_line_and_the_trace_in_the_log(capsys):
    # Named in the wrong order: the graph runs broken_job first (t/warned reads t/broken).
    outcome, code, out = _verdict(("warn_job", "broken_job"), capsys)
    assert code == 1
    # The run stops at the failed job: what follows reads what it writes.
    assert "warn_job" not in out and not outcome.checks
    lines = [line for line in out.splitlines() if "t__broken" in line]
    assert lines == ["    FAILED broken_job t__broken: ValueError: landing file app.jsonl is unreadable"]
    assert " 0 failed" not in out and "result: FAILED, 1 failures (1 steps" in out
    log = outcome.log_path.read_text()
    assert ", in broken" in log and "second line of the detail" in log  # the stack and the whole message


def test_jobs_run_in_graph_order_and_jobs_that_need_each_other_first_are_refused():
    from bizintel_dagster.runner import jobs_in_graph_order

    assert jobs_in_graph_order(DEFS, ["warn_job", "error_job", "broken_job"]) == ["broken_job", "error_job", "warn_job"]

    @dg.asset
    def a(): ...

    @dg.asset(deps=[a])
    def b(): ...

    @dg.asset(deps=[b])
    def c(): ...

    crossed = dg.Definitions(assets=[a, b, c], jobs=[
        dg.define_asset_job("ends_job", selection=dg.AssetSelection.assets(a, c)),
        dg.define_asset_job("middle_job", selection=dg.AssetSelection.assets(b))])
    with pytest.raises(ValueError, match="jobs that need each other first"):
        jobs_in_graph_order(crossed, ["ends_job", "middle_job"])


def _landing_day(landing, day: str) -> None:
    folder = landing / "app_events" / f"dt={day}"
    folder.mkdir(parents=True)
    (folder / f"app_events_{day}.jsonl").write_text("{}\n")


def test_run_refuses_history_before_the_partitions_before_anything_runs(data_dir, monkeypatch, capsys):
    assert first_day() == date(2026, 1, 1)  # pinned for the session (tests/conftest.py)
    _landing_day(data_dir / "landing", "2019-03-04")
    _landing_day(data_dir / "landing", "2026-06-01")
    with pytest.raises(SystemExit) as refused:
        cli.main(["run"])
    message = str(refused.value.code)
    assert "2019-03-04" in message and "BIZINTEL_START_DATE=2019-03-04" in message
    assert "materializing" not in capsys.readouterr().out
    assert not (data_dir / "logs").exists() and not settings.warehouse_path().exists()


def test_backfill_refuses_days_before_the_partitions(capsys):
    with pytest.raises(SystemExit, match=r"set BIZINTEL_START_DATE=2025-12-30"):
        cli.main(["backfill", "--start", "2025-12-30", "--end", "2026-01-02"])
    assert "backfilling" not in capsys.readouterr().out


def test_a_failed_dbt_step_is_summed_up_by_the_error_dbt_logged_not_the_command_line():
    """dagster-dbt's error starts with the command line; the summary's one line
    is the dbt error (ANSI colours stripped) and what it says."""
    from bizintel_dagster.runner import error_headline

    message = (
        "The dbt CLI process with command\n\n`dbt build --select tag:cleansed`\n\nfailed with exit code `1`.\n\n"
        "Errors parsed from dbt logs:\n\n27 of 50 ERROR creating sql incremental model cleansed.dq_partition_stats "
        "[\x1b[31mERROR\x1b[0m in 1.55s]\n\n\x1b[31mFailure in model dq_partition_stats (models/x.sql)\x1b[0m\n\n"
        "  Compilation Error in model dq_partition_stats (models/x.sql)\n  \n"
        "      The source and target schemas on this incremental model are out of sync!\n")
    assert error_headline(message) == ("dbt Compilation Error in model dq_partition_stats (models/x.sql): "
                                       "The source and target schemas on this incremental model are out of sync!")
    failed_test = message.split("Errors parsed")[0] + ("Errors parsed from dbt logs:\n\nFailure in test not_null_x "
                                                        "(models/y.yml)\n  Got 3 results, configured to fail if != 0\n")
    assert error_headline(failed_test) == "dbt Failure in test not_null_x (models/y.yml): Got 3 results, configured to fail if != 0"
    assert error_headline("division by zero\n  at line 3") == "division by zero"
