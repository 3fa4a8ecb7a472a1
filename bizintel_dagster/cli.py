"""`bizintel` command line: the steps behind `make run`.

    bizintel prepare            parse the dbt project (writes the manifest Dagster loads)
    bizintel generate           write demo landing files
    bizintel run                generate (if needed), materialize everything (daily pipeline,
                                analytics, forecasts, reports, alerts), publish, summarize
    bizintel backfill --start D --end D
                                re-materialize days D..D (one run), refresh the marts, publish
    bizintel publish            publish the analysts' copy
    bizintel summary            print rows per layer and where to look
    bizintel metrics list | query --metrics M[,M] [--group-by D] [--explain]
                                the semantic layer's metrics on the analysts' copy
    bizintel dashboard [--port 8501]
                                the live dashboard (Streamlit) on 127.0.0.1, from the analysts' copy
    bizintel bench [--sizes 1m,10m]
                                benchmark: floor scan vs full pipeline, daily incremental,
                                memory, analyst queries; results into BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from bizintel_dagster import dashboard, metrics, money, settings

if TYPE_CHECKING:  # the runner imports Dagster; `bizintel prepare` and `generate` need not
    from bizintel_dagster.runner import CheckOutcome

LAYER_SCHEMAS = (
    "raw", "reference", "cleansed", "enriched", "fused", "kpis",
    "subscriptions", "cohorts", "customers", "experiments", "segments", "forecasts", "reports", "alerts",
)


def prepare() -> None:
    """Write dbt_project/target/manifest.json (Dagster builds the asset graph from it)."""
    from bizintel_dagster import activity

    # the same vars as every dbt run: the semantic manifest's MAU window is the
    # activity window (var activity_window_days, BIZINTEL_ACTIVITY_WINDOW_DAYS)
    subprocess.run(
        [settings.dbt_executable(), "parse", "--quiet",
         "--project-dir", str(settings.DBT_PROJECT_DIR), "--profiles-dir", str(settings.DBT_PROJECT_DIR),
         "--vars", json.dumps(activity.dbt_vars())],
        check=True,
    )


def landing_partitions(landing: Path) -> list[date]:
    return settings.landing_days(landing)


def require_partitions(first: date, last: date) -> None:
    """Fail before anything runs when days first..last are not all daily partitions."""
    from bizintel_dagster import partitions

    problem = partitions.uncovered_days_problem(first, last)
    if problem:
        raise SystemExit(f"bizintel: {problem}")


def generate(args: argparse.Namespace) -> None:
    from bizintel_dagster.demo import generator

    argv = ["--out", str(settings.landing_dir()), "--size", args.size]
    for flag in ("start", "days", "events", "seed"):
        value = getattr(args, flag, None)
        if value is not None:
            argv += [f"--{flag}", str(value)]
    generator.main(argv)


@dataclass
class RunOutcome:
    """What `bizintel run` / `backfill` report: every evaluated check with its
    severity, and every failed step with the first line of its error."""

    checks: dict[str, CheckOutcome] = field(default_factory=dict)
    failed_steps: dict[str, str] = field(default_factory=dict)  # "job step" -> message
    log_path: Path | None = None

    @property
    def warnings(self) -> list[str]:
        return [name for name, c in self.checks.items() if not c.passed and not c.blocks]

    @property
    def errors(self) -> list[str]:
        return [name for name, c in self.checks.items() if c.blocks]

    @property
    def exit_code(self) -> int:
        """1 on a failed step or a failed ERROR check; WARN checks never block."""
        return 1 if self.failed_steps or self.errors else 0


def materialize_all(first: date, last: date, jobs: Collection[str] | None = None,
                    definitions=None) -> RunOutcome:
    """The jobs (default: what `bizintel run` materializes, ``defs/jobs.py``
    RUN_JOBS) in the asset graph's order (``runner.jobs_in_graph_order``), each
    partitioned one over [first, last] in one run; stops after the first job that
    fails (the next ones read what it writes). Returns every evaluated check and
    every failed step.

    dbt's console output (hundreds of lines per run) and the failed steps' full
    traces go to a log file, so the terminal shows one line per job and the summary."""
    from bizintel_dagster import runner

    try:
        money.check_reporting_currency(settings.get("BIZINTEL_REPORTING_CURRENCY"))
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    definitions = definitions or runner.load_definitions()
    if jobs is None:
        from bizintel_dagster.defs.jobs import RUN_JOBS

        jobs = RUN_JOBS
    order = runner.jobs_in_graph_order(definitions, jobs)
    instance = runner.default_instance()
    log_path = Path(settings.get("BIZINTEL_DATA_DIR")) / "logs" / f"run-{time.strftime('%Y%m%dT%H%M%S')}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    print(f"  dbt and step output: {log_path}")
    outcome = RunOutcome(log_path=log_path)
    with log_path.open("w", encoding="utf-8") as log:
        for job_name in order:
            window = (first, last) if definitions.resolve_job_def(job_name).partitions_def else ()
            started = time.monotonic()
            with contextlib.redirect_stdout(log):
                result = runner.run_job(definitions, job_name, instance, *window, log_level="WARNING")
            outcome.checks.update(runner.check_outcomes(result))
            failures = runner.step_failures(result)
            for event in result.get_step_failure_events():
                error = event.step_failure_data.error
                log.write(f"\n{job_name} step {event.step_key} failed (run {result.run_id}):\n"
                          f"{error.to_string() if error else 'no error recorded'}\n")
            if not result.success and not failures:
                failures = {"(run)": f"run {result.run_id} failed; see the run in the UI (make ui)"}
            outcome.failed_steps.update({f"{job_name} {step}": message for step, message in failures.items()})
            print(f"  {job_name:<20} {'ok' if result.success else 'FAILED'} in {time.monotonic() - started:.1f}s")
            if not result.success:
                break
    return outcome


def report(outcome: RunOutcome) -> None:
    """Checks and failures, one line each; the traces are in the log file."""
    passed = sum(c.passed for c in outcome.checks.values())
    print(f"  checks: {passed} passed, {len(outcome.errors)} ERROR, {len(outcome.warnings)} WARN (never block)")
    for name in outcome.warnings:
        print(f"    WARN   {name}")
    for name in outcome.errors:
        print(f"    FAILED {name}")
    if outcome.failed_steps:
        print(f"  steps: {len(outcome.failed_steps)} failed (full traces in {outcome.log_path})")
        for step, message in outcome.failed_steps.items():
            print(f"    FAILED {step}: {message}")
    if outcome.exit_code:
        failed = len(outcome.failed_steps) + len(outcome.errors)
        print(f"  result: FAILED, {failed} failures ({len(outcome.failed_steps)} steps, "
              f"{len(outcome.errors)} ERROR checks)")
    else:
        print(f"  result: ok{f', {len(outcome.warnings)} warnings' if outcome.warnings else ''}")


def finish(outcome: RunOutcome) -> None:
    summary(outcome)
    if outcome.exit_code:
        raise SystemExit(outcome.exit_code)


def _headlines(con, per_schema: dict[str, list[int]], currency: str) -> list[str]:
    """One line per downstream layer that exists: the figure a person looks for first."""
    lines = []
    if "subscriptions" in per_schema:
        row = con.execute(
            """select strftime(month_start, '%Y-%m'), end_mrr_minor, nrr, grr from subscriptions.mrr_monthly
               where not is_latest_month order by month_start desc limit 1"""
        ).fetchall()
        if row:
            month, mrr, nrr, grr = row[0]
            lines.append(f"MRR {month}: {money.text(mrr, currency)}, NRR {nrr}, GRR {grr} (subscriptions.mrr_monthly)")
    if "forecasts" in per_schema:
        for metric, status, mase, naive, cov in con.execute(
            """select metric, status, round(mase, 2), round(mase_seasonal_naive, 2), round(coverage_80, 3)
               from forecasts.forecast_status order by metric"""
        ).fetchall():
            lines.append(f"forecast {metric}: {status}, backtest MASE {mase} (seasonal naive {naive}), "
                         f"80% interval coverage {cov} (forecasts.forecast_status)")
    if "reports" in per_schema:
        n = con.execute("select count(distinct path) from reports.report_catalog").fetchall()[0][0]
        lines.append(f"reports: {n} files under {settings.reports_dir()} (reports.report_catalog)")
    if "alerts" in per_schema:
        rows = con.execute(
            "select severity, count(*) from alerts.alert_events group by 1 order by 1"
        ).fetchall()
        listed = ", ".join(f"{n} {severity}" for severity, n in rows) or "none"
        lines.append(f"alerts raised: {listed} (alerts.alert_events; log {settings.alert_log_path()})")
    return lines


def summary(outcome: RunOutcome | None = None) -> None:
    from bizintel_dagster import warehouse

    if not settings.warehouse_path().exists():
        print(f"\nbizintel warehouse: none yet at {settings.warehouse_path()}")
        if outcome is not None:
            report(outcome)
        return
    with warehouse.connect(read_only=True) as con:
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() where schema_name in (select unnest(?)) order by 1, 2",
            [list(LAYER_SCHEMAS)],
        ).fetchall()
        per_schema: dict[str, list[int]] = {}
        for schema, table in tables:
            relation = f"{warehouse.quote_identifier(schema)}.{warehouse.quote_identifier(table)}"
            rows = con.execute(f"select count(*) from {relation}").fetchall()[0][0]
            per_schema.setdefault(schema, []).append(rows)
        kpi = con.execute(
            """select min(metric_date), max(metric_date), sum(revenue_total_minor),
                      round(avg(data_quality_score), 2), sum(records_quarantined)
               from kpis.kpi_daily"""
        ).fetchall()[0] if "kpis" in per_schema else (None,) * 5
        currency = settings.get("BIZINTEL_REPORTING_CURRENCY")
        money.load_exponent(con, currency)
        headlines = _headlines(con, per_schema, currency)
    print("\nbizintel warehouse")
    for schema in LAYER_SCHEMAS:
        if schema in per_schema:
            counts = per_schema[schema]
            print(f"  {schema:<13} {len(counts):>3} tables {sum(counts):>12,} rows")
    if kpi[0]:
        print(f"  KPIs {kpi[0]} .. {kpi[1]}: revenue {money.text(kpi[2], currency)} ({currency}), "
              f"mean data-quality score {kpi[3]}, {kpi[4]:,} records quarantined (cleansed.quarantine_records)")
    for line in headlines:
        print(f"  {line}")
    if outcome is not None:
        report(outcome)
    analytics = settings.analytics_path()
    print(f"\n  analysts' copy (query this): {analytics}")
    print(f"    .venv/bin/python -c \"import duckdb; print(duckdb.connect('{analytics}', read_only=True)"
          f".sql('select * from kpis.kpi_daily order by metric_date desc limit 7'))\"")
    print(f"  working warehouse (pipeline only, single writer): {settings.warehouse_path()}")
    print("  Dagster UI: make ui, then open http://127.0.0.1:3000")
    if settings.pii_salt() == settings.LOCAL_DEV_PII_SALT:
        print("  note: PII is hashed with the documented local demo salt; set BIZINTEL_PII_SALT for real data")


def run(args: argparse.Namespace) -> None:
    landing = settings.landing_dir()
    if args.regenerate or not landing_partitions(landing):
        print(f"generating demo data ({args.size}) into {landing}")
        generate(args)
    from bizintel_dagster import partitions

    # Days that have not ended in the business time zone are not partitions yet:
    # they are held (like the landing sensor holds them), not refused.
    end = partitions.last_day()
    landed = landing_partitions(landing)
    days = [d for d in landed if d <= end]
    held = [d for d in landed if d > end]
    if held:
        print(f"holding {len(held)} landing day(s) {held[0]} .. {held[-1]}: a day is loaded once it has "
              f"ended in BIZINTEL_TIMEZONE={settings.timezone()} (the last complete day is {end})")
    if not days:
        raise SystemExit(f"bizintel: no complete day in the landing zone yet (the last complete day is {end})")
    require_partitions(days[0], days[-1])
    print(f"materializing {len(days)} daily partitions {days[0]} .. {days[-1]}")
    prepare()
    finish(materialize_all(days[0], days[-1]))


def backfill(args: argparse.Namespace) -> None:
    first, last = date.fromisoformat(args.start), date.fromisoformat(args.end or args.start)
    if last < first:
        raise SystemExit(f"--end {last} is before --start {first}")
    require_partitions(first, last)
    print(f"backfilling {(last - first).days + 1} daily partitions {first} .. {last} in one run")
    from bizintel_dagster.defs.jobs import BACKFILL_JOBS

    finish(materialize_all(first, last, BACKFILL_JOBS))


def bench(args: argparse.Namespace) -> None:
    from bizintel_dagster.benchmark import report, suite

    sizes = suite.sizes_from(args.sizes.split(","), args.days, args.events)
    workdir = Path(args.workdir or Path(settings.get("BIZINTEL_DATA_DIR")) / "bench")
    results = []
    for size in sizes:
        results.append(suite.bench_size(
            size, workdir, memory_limit=args.memory_limit, history_days=args.history_days,
            incremental_repeats=args.repeats, query_repeats=args.query_repeats))
    (workdir / "results.json").write_text(json.dumps(results, indent=2, default=str))
    command = "bizintel bench " + " ".join(args.raw_argv)
    section = report.render(results, command.strip())
    print("\n" + section)
    if args.out:
        report.write(Path(args.out), section)
        print(f"written to {args.out}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bizintel", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("prepare", help="parse the dbt project")
    for name in ("generate", "run"):
        p = sub.add_parser(name)
        p.add_argument("--size", default="demo", help="small | demo | 1m | 10m")
        p.add_argument("--start")
        p.add_argument("--days", type=int)
        p.add_argument("--events", type=int)
        p.add_argument("--seed", type=int)
        if name == "run":
            p.add_argument("--regenerate", action="store_true", help="rewrite the landing zone first")
    p = sub.add_parser("backfill", help="re-materialize a range of days in one run (replaces those partitions)")
    p.add_argument("--start", required=True, help="first day, YYYY-MM-DD")
    p.add_argument("--end", help="last day, YYYY-MM-DD (default: --start)")
    sub.add_parser("publish")
    metrics.add_parser(sub)
    dashboard.add_parser(sub)
    sub.add_parser("summary")
    p = sub.add_parser("bench", help="benchmark the pipeline (see BENCHMARKS.md)")
    p.add_argument("--sizes", default="1m,10m", help="comma-separated generator sizes (small, demo, 1m, 10m)")
    p.add_argument("--days", type=int, help="override every size's number of days")
    p.add_argument("--events", type=int, help="override every size's number of app events")
    p.add_argument("--history-days", type=int, default=30, help="short history for the incremental comparison")
    p.add_argument("--repeats", type=int, default=3, help="daily incremental runs per history")
    p.add_argument("--query-repeats", type=int, default=50, help="runs of each analyst query")
    p.add_argument("--memory-limit", default="1GB", help="DuckDB memory limit of every connection")
    p.add_argument("--workdir", help="where data and warehouses go (default: $BIZINTEL_DATA_DIR/bench)")
    p.add_argument("--out", default=str(settings.REPO_ROOT / "BENCHMARKS.md"), help="markdown file to update ('' = none)")
    args = parser.parse_args(argv)
    args.raw_argv = list(argv if argv is not None else sys.argv[1:])[1:]
    if args.command == "prepare":
        prepare()
    elif args.command == "generate":
        generate(args)
    elif args.command == "run":
        run(args)
    elif args.command == "backfill":
        backfill(args)
    elif args.command == "publish":
        from bizintel_dagster import warehouse

        counts = warehouse.publish_analytics_copy()
        print(f"published {len(counts)} tables to {settings.analytics_path()}")
    elif args.command == "summary":
        summary()
    elif args.command == "bench":
        bench(args)
    elif args.command == "metrics":
        metrics.main(args)
    elif args.command == "dashboard":
        dashboard.main(args)


if __name__ == "__main__":
    main()
