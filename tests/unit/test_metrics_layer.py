"""The semantic layer (dbt_project/models/semantic) through MetricFlow, checked
against independent pandas computations on a small data set written straight into
a temp DuckDB file laid out like the analysts' copy (schema.table).

The data run 2026-06-24 .. 2026-07-05: ISO week 2026-06-29 .. 07-05 spans the
June / July boundary, and on 2026-07-01 the only app events are abuse flags and
service errors (no active user: the payer rate is undefined, stickiness is 0)."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from bizintel_dagster import activity, metrics, settings

FIRST, LAST = date(2026, 6, 24), date(2026, 7, 5)
NO_ACTIVITY_DAY = date(2026, 7, 1)
NON_ACTIVITY = ("abuse_flag", "service_error")


def _events() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    rows = []
    days = [FIRST + timedelta(days=i) for i in range((LAST - FIRST).days + 1)]
    for day in days:
        kinds = list(NON_ACTIVITY) if day == NO_ACTIVITY_DAY else ["session_start", "product_view", "purchase", *NON_ACTIVITY]
        for _ in range(int(rng.integers(8, 20))):
            user = None if rng.random() < 0.05 else f"u{int(rng.integers(0, 15))}"
            rows.append({"partition_date": day, "user_key": user, "event_type": str(rng.choice(kinds))})
    frame = pd.DataFrame(rows)
    frame["event_id"] = [f"e{i}" for i in range(len(frame))]
    return frame


def _revenue(events: pd.DataFrame) -> pd.DataFrame:
    rng = np.random.default_rng(8)
    purchases = events[events.event_type == "purchase"].copy()
    consumer = pd.DataFrame({
        "partition_date": purchases.partition_date,
        "revenue_id": purchases.event_id,
        "revenue_type": "purchase",
        "revenue_stream": "consumer",
        "user_key": purchases.user_key,
        "account_id": None,
        "amount_reporting_minor": rng.integers(100, 10_000, len(purchases)),
    })
    refund = consumer.iloc[:3].assign(revenue_id=lambda f: f.revenue_id + "r", revenue_type="refund",
                                      amount_reporting_minor=lambda f: -f.amount_reporting_minor // 2)
    b2b = pd.DataFrame({
        "partition_date": [date(2026, 6, 30), date(2026, 7, 2)], "revenue_id": ["b1", "b2"],
        "revenue_type": "subscription_invoice", "revenue_stream": "b2b", "user_key": None,
        "account_id": ["a1", "a2"], "amount_reporting_minor": [50_000, 70_000],
    })
    frame = pd.concat([consumer, refund, b2b], ignore_index=True)
    for column in ("product_id", "product_category", "payment_method_id", "plan_id", "currency_code"):
        frame[column] = None
    return frame


@pytest.fixture(scope="module")
def layer(tmp_path_factory):
    """A MetricFlow engine over a temp copy holding the tables the tested metrics read."""
    root = tmp_path_factory.mktemp("metrics")
    path = root / "analytics.duckdb"
    events, revenue = _events(), _revenue(_events())
    mrr = pd.DataFrame({
        "month_start": [date(2026, 5, 1)] * 3 + [date(2026, 6, 1)] * 3,
        "account_id": ["a1", "a2", "a3"] * 2,
        "plan_id": "p", "movement": "x", "billing_period": "monthly",
        "mrr_minor": [1000, 2000, 500, 1500, 1800, 0],
        "previous_mrr_minor": [800, 2000, 0, 1000, 2000, 500],
        "new_mrr_minor": [0, 0, 500, 0, 0, 0],
        "reactivated_mrr_minor": [0, 0, 0, 0, 0, 0],
        "expansion_mrr_minor": [200, 0, 0, 500, 0, 0],
        "contraction_mrr_minor": [0, 0, 0, 0, 200, 0],
        "churned_mrr_minor": [0, 0, 0, 0, 0, 500],
    })
    with duckdb.connect(str(path)) as con:
        for schema in ("enriched", "fused", "kpis", "subscriptions"):
            con.execute(f"create schema {schema}")
        con.execute("create table enriched.enriched_app_events as select * from events")
        con.execute("create table fused.fct_revenue as select * from revenue")
        con.execute("create table subscriptions.mrr_account_monthly as select * from mrr")
        con.execute("""create table kpis.metricflow_time_spine as
            select cast(unnest(generate_series(date '2026-01-01', date '2026-12-31', interval 1 day)) as date) as date_day""")
    engine = metrics.engine(analytics=path)
    return {"engine": engine, "events": events, "revenue": revenue, "mrr": mrr, "path": path}


def _query(engine, metric_names, group_by, start=FIRST, end=LAST) -> pd.DataFrame:
    from metricflow.engine.metricflow_engine import MetricFlowQueryRequest

    request = MetricFlowQueryRequest.create(
        metric_names=metric_names, group_by_names=group_by, order_by_names=group_by,
        time_constraint_start=pd.Timestamp(start).to_pydatetime(), time_constraint_end=pd.Timestamp(end).to_pydatetime(),
    )
    table = engine.query(request).result_df
    frame = pd.DataFrame([list(r) for r in table.rows], columns=table.column_names)
    frame[group_by[0]] = pd.to_datetime(frame[group_by[0]]).dt.date
    return frame.set_index(group_by[0])


def _active(events: pd.DataFrame) -> pd.DataFrame:
    return events[events.user_key.notna() & ~events.event_type.isin(NON_ACTIVITY)]


def _week(day: date) -> date:
    return day - timedelta(days=day.weekday())


def test_dbt_parse_validates_the_semantic_manifest(tmp_path):
    """dbt parse runs MetricFlow's semantic validations: the project parses, and a
    ratio metric naming a metric that does not exist fails the parse."""
    project = tmp_path / "dbt_project"
    shutil.copytree(settings.DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    seeds = tmp_path / "seeds"
    shutil.copytree(settings.DBT_PROJECT_DIR.parent / "seeds", seeds)

    def parse() -> subprocess.CompletedProcess:
        return subprocess.run(
            [settings.dbt_executable(), "parse", "--project-dir", str(project), "--profiles-dir", str(project),
             "--vars", json.dumps({activity.VAR: 21})],
            capture_output=True, text=True,
        )

    ok = parse()
    assert ok.returncode == 0, ok.stdout[-3000:]
    manifest = json.loads((project / "target" / "semantic_manifest.json").read_text())
    # MAU's window is the activity window var, rendered by dbt (one definition)
    (mau,) = [m for m in manifest["metrics"] if m["name"] == "mau"]
    assert mau["type_params"]["cumulative_type_params"]["window"] == {"count": 21, "granularity": "day"}
    names = {m["name"] for m in manifest["metrics"]}
    assert {"payer_rate", "wau", "mau", "stickiness", "nrr", "grr", "quality_score", "revenue"} <= names
    assert manifest["project_configuration"]["time_spines"], "no time spine"

    metrics_yml = project / "models" / "semantic" / "metrics.yml"
    metrics_yml.write_text(metrics_yml.read_text().replace(
        "{numerator: payers, denominator: active_users}", "{numerator: payers, denominator: no_such_metric}"))
    broken = parse()
    assert broken.returncode != 0
    assert "no_such_metric" in broken.stdout


def test_ratio_payer_rate_is_distinct_payers_over_distinct_active_users_per_week(layer):
    got = _query(layer["engine"], ["payer_rate", "payers", "active_users"], ["metric_time__week"])
    active = _active(layer["events"]).assign(week=lambda f: f.partition_date.map(_week))
    purchases = layer["revenue"][layer["revenue"].revenue_type == "purchase"].assign(week=lambda f: f.partition_date.map(_week))
    expected_active = active.groupby("week").user_key.nunique()
    expected_payers = purchases.groupby("week").user_key.nunique()
    boundary_week = date(2026, 6, 29)
    assert boundary_week in got.index  # the week spanning June / July is one week, not two
    assert list(got.index) == sorted(expected_active.index)
    for week in expected_active.index:
        assert got.loc[week, "active_users"] == expected_active[week]
        assert got.loc[week, "payers"] == expected_payers[week]
        assert got.loc[week, "payer_rate"] == pytest.approx(expected_payers[week] / expected_active[week])
    # distinct over the week, not summed from days
    daily_sum = active.groupby("partition_date").user_key.nunique()
    assert got.loc[boundary_week, "active_users"] < daily_sum[[d for d in daily_sum.index if _week(d) == boundary_week]].sum()


def test_ratio_on_a_day_with_no_active_user_is_undefined(layer):
    got = _query(layer["engine"], ["payer_rate", "active_users"], ["metric_time__day"])
    assert got.loc[NO_ACTIVITY_DAY, "active_users"] == 0
    assert pd.isna(got.loc[NO_ACTIVITY_DAY, "payer_rate"])
    active = _active(layer["events"])
    purchases = layer["revenue"][layer["revenue"].revenue_type == "purchase"]
    for day, users in active.groupby("partition_date").user_key.nunique().items():
        payers = purchases[purchases.partition_date == day].user_key.nunique()
        assert got.loc[day, "payer_rate"] == pytest.approx(payers / users)


def test_cumulative_wau_and_mau_are_distinct_users_of_the_rolling_window(layer):
    got = _query(layer["engine"], ["wau", "mau", "revenue_month_to_date"], ["metric_time__day"])
    active = _active(layer["events"])
    revenue = layer["revenue"]
    for offset in range((LAST - FIRST).days + 1):
        day = FIRST + timedelta(days=offset)
        in_window = lambda n: active[(active.partition_date > day - timedelta(days=n)) & (active.partition_date <= day)]
        assert got.loc[day, "wau"] == in_window(7).user_key.nunique(), day
        assert got.loc[day, "mau"] == in_window(activity.window_days()).user_key.nunique(), day
        month_to_date = revenue[(revenue.partition_date >= day.replace(day=1)) & (revenue.partition_date <= day)]
        assert got.loc[day, "revenue_month_to_date"] == month_to_date.amount_reporting_minor.sum(), day
    # month to date restarts on 1 July
    assert got.loc[date(2026, 7, 1), "revenue_month_to_date"] < got.loc[date(2026, 6, 30), "revenue_month_to_date"]


def test_derived_stickiness_is_dau_over_mau_and_zero_without_activity(layer):
    got = _query(layer["engine"], ["stickiness"], ["metric_time__day"])
    active = _active(layer["events"])
    for offset in range((LAST - FIRST).days + 1):
        day = FIRST + timedelta(days=offset)
        dau = active[active.partition_date == day].user_key.nunique()
        mau = active[(active.partition_date > day - timedelta(days=30)) & (active.partition_date <= day)].user_key.nunique()
        assert got.loc[day, "stickiness"] == pytest.approx(dau / mau), day
    assert got.loc[NO_ACTIVITY_DAY, "stickiness"] == 0


def test_derived_nrr_and_grr_per_month(layer):
    got = _query(layer["engine"], ["nrr", "grr", "mrr", "net_new_mrr"], ["metric_time__month"],
                 start=date(2026, 5, 1), end=date(2026, 6, 30))
    for month, rows in layer["mrr"].groupby("month_start"):
        start = rows.previous_mrr_minor.sum()
        assert got.loc[month, "mrr"] == rows.mrr_minor.sum()
        assert got.loc[month, "nrr"] == pytest.approx(
            (start + rows.expansion_mrr_minor.sum() - rows.contraction_mrr_minor.sum() - rows.churned_mrr_minor.sum()) / start)
        assert got.loc[month, "grr"] == pytest.approx(
            (start - rows.contraction_mrr_minor.sum() - rows.churned_mrr_minor.sum()) / start)
        assert got.loc[month, "net_new_mrr"] == (rows.mrr_minor.sum() - start)


def test_a_reader_on_a_step_connection_answers_what_it_can_and_names_missing_tables(layer):
    """MetricReader (reports, forecasts): one engine over a connection the caller holds;
    a metric or group-by whose table is missing is None and named, not an exception."""
    june_end = date(2026, 6, 30)
    with duckdb.connect(str(layer["path"]), read_only=True, config=settings.duckdb_config()) as con:
        reader = metrics.MetricReader(con)
        answer = reader.query(["revenue", "payer_rate", "zone_visits"], start=FIRST, end=june_end)
        by_source = reader.query(["revenue"], ["user__marketing_source"], start=FIRST, end=LAST)
        # from a Wednesday: the week's figure covers the days asked for, not the whole week
        by_week = reader.query(["revenue"], ["metric_time__week"], start=NO_ACTIVITY_DAY, end=LAST)
        assert con.execute("select 1").fetchall() == [(1,)]  # borrowed, not closed
    revenue, active = layer["revenue"], _active(layer["events"])
    june = revenue[revenue.partition_date <= june_end]
    payers = june[june.revenue_type == "purchase"].user_key.nunique()
    assert answer.first()["revenue"] == june.amount_reporting_minor.sum()
    assert answer.first()["payer_rate"] == pytest.approx(
        payers / active[active.partition_date <= june_end].user_key.nunique())
    assert answer.first()["zone_visits"] is None and answer.missing == {"zone_visits": ["fused.fct_zone_visits"]}
    assert by_source.missing == {"revenue": ["enriched.dim_users"]} and by_source.rows == []
    assert by_week.rows == [{"metric_time__week": date(2026, 6, 29), "revenue": int(
        revenue[revenue.partition_date >= NO_ACTIVITY_DAY].amount_reporting_minor.sum())}]


def test_other_bizintel_commands_do_not_import_metricflow():
    """MetricFlow takes seconds to import: only `bizintel metrics` may pay for it."""
    import sys

    script = ("import sys, bizintel_dagster.cli\n"
              "print(sorted({m.split('.')[0] for m in sys.modules if 'metricflow' in m}))\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
