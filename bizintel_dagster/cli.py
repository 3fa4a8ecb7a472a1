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
from datetime import date
from pathlib import Path

from bizintel_dagster import metrics, settings

LAYER_SCHEMAS = (
    "raw", "reference", "cleansed", "enriched", "fused", "kpis",
    "subscriptions", "cohorts", "customers", "experiments", "segments", "forecasts", "reports", "alerts",
)

# What `bizintel run` materializes, in order: each job reads what the previous ones wrote.
# The daily pipeline is the only partitioned one; it runs as one run over the landing range.
RUN_SEQUENCE = (
    "reference_job",
    "daily_pipeline_job",
    "analytics_job",
    "forecast_job",
    "weekly_report_job",
    "monthly_report_job",
    "alert_evaluation_job",
    "publish_job",
)


def prepare() -> None:
    """Write dbt_project/target/manifest.json (Dagster builds the asset graph from it)."""
    subprocess.run(
        [settings.dbt_executable(), "parse", "--quiet",
         "--project-dir", str(settings.DBT_PROJECT_DIR), "--profiles-dir", str(settings.DBT_PROJECT_DIR)],
        check=True,
    )


def landing_partitions(landing: Path) -> list[date]:
    days = {
        date.fromisoformat(folder.name.removeprefix("dt="))
        for folder in landing.glob("*/dt=*")
        if folder.is_dir()
    }
    return sorted(days)


def generate(args: argparse.Namespace) -> None:
    from bizintel_dagster.demo import generator

    argv = ["--out", str(settings.landing_dir()), "--size", args.size]
    for flag in ("start", "days", "events", "seed"):
        value = getattr(args, flag, None)
        if value is not None:
            argv += [f"--{flag}", str(value)]
    generator.main(argv)


# After a backfill the unpartitioned marts are rebuilt over all days, then published.
BACKFILL_SEQUENCE = ("daily_pipeline_job", "analytics_job", "publish_job")


def materialize_all(first: date, last: date, sequence: tuple[str, ...] = RUN_SEQUENCE) -> dict[str, bool]:
    """The jobs of ``sequence`` in order, the daily pipeline over [first, last] in
    one run. Returns every evaluated check and whether it passed.

    dbt's console output (hundreds of lines per run) goes to a log file, so the
    terminal shows one line per job and the summary."""
    from bizintel_dagster import runner

    definitions = runner.load_definitions()
    instance = runner.default_instance()
    log_path = Path(settings.get("BIZINTEL_DATA_DIR")) / "logs" / f"run-{time.strftime('%Y%m%dT%H%M%S')}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    print(f"  dbt and step output: {log_path}")
    checks: dict[str, bool] = {}
    with log_path.open("w", encoding="utf-8") as log:
        for job_name in sequence:
            window = (first, last) if job_name == "daily_pipeline_job" else ()
            started = time.monotonic()
            with contextlib.redirect_stdout(log):
                result = runner.run_job(definitions, job_name, instance, *window, log_level="WARNING")
            checks.update(runner.check_results(result))
            print(f"  {job_name:<20} {'ok' if result.success else 'FAILED'} in {time.monotonic() - started:.1f}s")
            if not result.success:
                summary(checks)
                raise SystemExit(f"{job_name} failed; see {log_path}, the errors above, or the run in the UI (make ui)")
    return checks


def _headlines(con, per_schema: dict[str, list[int]]) -> list[str]:
    """One line per downstream layer that exists: the figure a person looks for first."""
    lines = []
    if "subscriptions" in per_schema:
        row = con.execute(
            """select strftime(month_start, '%Y-%m'), end_mrr_minor / 100.0, nrr, grr from subscriptions.mrr_monthly
               where not is_latest_month order by month_start desc limit 1"""
        ).fetchall()
        if row:
            month, mrr, nrr, grr = row[0]
            lines.append(f"MRR {month}: {mrr:,.2f}, NRR {nrr}, GRR {grr} (subscriptions.mrr_monthly)")
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


def summary(checks: dict[str, bool] | None = None) -> None:
    from bizintel_dagster import warehouse

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
            """select min(metric_date), max(metric_date), sum(revenue_total_minor) / 100.0,
                      round(avg(data_quality_score), 2), sum(records_quarantined)
               from kpis.kpi_daily"""
        ).fetchall()[0] if "kpis" in per_schema else (None,) * 5
        headlines = _headlines(con, per_schema)
    print("\nbizintel warehouse")
    for schema in LAYER_SCHEMAS:
        if schema in per_schema:
            counts = per_schema[schema]
            print(f"  {schema:<13} {len(counts):>3} tables {sum(counts):>12,} rows")
    if kpi[0]:
        currency = settings.get("BIZINTEL_REPORTING_CURRENCY")
        print(f"  KPIs {kpi[0]} .. {kpi[1]}: revenue {currency} {kpi[2]:,.2f}, "
              f"mean data-quality score {kpi[3]}, {kpi[4]:,} records quarantined (cleansed.quarantine_records)")
    for line in headlines:
        print(f"  {line}")
    if checks is not None:
        failed = [name for name, ok in checks.items() if not ok]
        print(f"  checks: {len(checks) - len(failed)} passed, {len(failed)} failed")
        for name in failed:
            print(f"    FAILED {name}")
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
    days = landing_partitions(landing)
    print(f"materializing {len(days)} daily partitions {days[0]} .. {days[-1]}")
    prepare()
    checks = materialize_all(days[0], days[-1])
    summary(checks)
    if not all(checks.values()):
        raise SystemExit(1)


def backfill(args: argparse.Namespace) -> None:
    first, last = date.fromisoformat(args.start), date.fromisoformat(args.end or args.start)
    if last < first:
        raise SystemExit(f"--end {last} is before --start {first}")
    print(f"backfilling {(last - first).days + 1} daily partitions {first} .. {last} in one run")
    checks = materialize_all(first, last, BACKFILL_SEQUENCE)
    summary(checks)
    if not all(checks.values()):
        raise SystemExit(1)


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


if __name__ == "__main__":
    main()
