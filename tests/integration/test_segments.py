"""Materialize the shipped segments on five weeks of generated data and check
them against the marts they come from: a counts row per segment, membership
equal to independent SQL, idempotent re-runs, and a KPI joined to a segment."""

from datetime import date, timedelta

import dagster as dg
import pytest
from dagster_duckdb import DuckDBResource

from bizintel_dagster import activity, dbt_vars, runner, settings
from bizintel_dagster.defs.segments.assets import segment_membership
from bizintel_dagster.demo import generator
from bizintel_dagster.segments import config as segment_config
from tests.integration.helpers import data_dir, query, table_fingerprints

pytestmark = pytest.mark.integration

START = date(2026, 4, 1)
DAYS = 35
LAST = START + timedelta(days=DAYS - 1)


def _not_activity() -> str:
    """The project's non-activity event types as a SQL list (dbt var non_activity_event_types)."""
    return ", ".join(f"'{t}'" for t in dbt_vars.get("non_activity_event_types"))


def _materialize():
    return dg.materialize([segment_membership],
                          resources={"warehouse": DuckDBResource(database=str(settings.warehouse_path()))})


def _segment_tables(path) -> dict:
    return {name: fp for name, fp in table_fingerprints(path).items() if name.startswith("segments.")}


@pytest.fixture(scope="module")
def segmented(tmp_path_factory):
    root = tmp_path_factory.mktemp("segments")
    with data_dir(root), pytest.MonkeyPatch.context() as mp:
        mp.delenv("BIZINTEL_SEGMENTS_CONFIG", raising=False)     # the shipped config
        generator.generate(settings.landing_dir(), start=START, days=DAYS, app_events=6_000, seed=7)
        definitions = runner.load_definitions()
        instance = runner.default_instance()
        for name, window in (("reference_job", ()), ("daily_pipeline_job", (START, LAST)), ("analytics_job", ())):
            assert runner.run_job(definitions, name, instance, *window, log_level="WARNING").success, name
        first = _materialize()
        tables_after_first = _segment_tables(settings.warehouse_path())
        second = _materialize()
        yield {"root": root, "first": first, "second": second, "tables_after_first": tables_after_first,
               "config": segment_config.load()}


def test_every_segment_has_a_counts_row_matching_its_members(segmented):
    assert segmented["first"].success and segmented["second"].success
    with data_dir(segmented["root"]):
        counts = {r[0]: r[1:] for r in query("select segment_name, entity, as_of_date, members from segments.segment_counts")}
        members = dict(query("select segment_name, count(*) from segments.segment_membership group by 1"))
        populations = dict(query("""select 'user', count(*) from segments.user_attributes
                                    union all select 'account', count(*) from segments.account_attributes"""))
    expected = {s.name: s.entity for s in segmented["config"].segments}
    assert {name: c[0] for name, c in counts.items()} == expected
    for name, (entity, as_of, n) in counts.items():
        assert as_of == LAST, name                         # the data's last day, not today
        assert n == members.get(name, 0), name
        assert 0 <= n <= populations[entity]
    assert populations["user"] > 0 and populations["account"] > 0
    assert any(n for _, _, n in counts.values())             # the demo segments are not all empty
    metadata = segmented["first"].get_asset_materialization_events()[0].materialization.metadata
    assert all(f"| {name} |" in metadata["segment_counts"].value for name in expected)


def test_users_are_everyone_seen_in_the_data(segmented):
    with data_dir(segmented["root"]):
        expected = query(f"""select count(*) from (
            select user_key from enriched.dim_users
            union select user_key from enriched.enriched_app_events
            where user_key is not null and event_type not in ({_not_activity()}))""")
        assert query("select count(*), count(distinct user_key) from segments.user_attributes") == [expected[0] * 2]


def test_the_users_active_in_the_window_are_the_as_of_days_mau(segmented):
    """The attributes' window is the activity window and their activity is DAU / MAU's:
    as many users have activity in it as kpi_daily counts in MAU on the as-of day."""
    with data_dir(segmented["root"]):
        active = query("select count(*) from segments.user_attributes where active_days_in_window > 0")[0][0]
        mau = query("select mau from kpis.kpi_daily where metric_date = ?", [LAST])[0][0]
    assert active == mau > 0


def test_engaged_payers_equal_an_independent_query(segmented):
    """purchases_in_window >= 1 and active_days_in_window >= 5, straight from the events."""
    with data_dir(segmented["root"]):
        expected = {r[0] for r in query(f"""
            select user_key from enriched.enriched_app_events
            where user_key is not null and event_type not in ({_not_activity()})
              and partition_date between ? - ? and ?
            group by user_key
            having count(*) filter (where event_type = 'purchase') >= 1 and count(distinct partition_date) >= 5""",
            [LAST, activity.window_days() - 1, LAST])}
        actual = {r[0] for r in query(
            "select member_id from segments.segment_membership where segment_name = 'engaged_payers'")}
    assert expected and actual == expected


def test_enterprise_at_risk_equals_an_independent_query(segmented):
    with data_dir(segmented["root"]):
        expected = {r[0] for r in query("""
            select account_id from customers.account_scorecard
            where segment = 'Enterprise'
              and (churn_risk_level in ('high', 'medium') or activity_level in ('Low', 'Dormant'))""")}
        actual = {r[0] for r in query(
            "select member_id from segments.segment_membership where segment_name = 'enterprise_at_risk'")}
    assert expected and actual == expected


def test_a_rerun_is_idempotent(segmented):
    with data_dir(segmented["root"]):
        assert _segment_tables(settings.warehouse_path()) == segmented["tables_after_first"]
        history = query("select as_of_date, segment_name, count(*) from segments.segment_history group by all")
    assert len(history) == len(segmented["config"].segments)
    assert all(n == 1 for _, _, n in history)


def test_analysts_can_join_a_kpi_to_a_segment(segmented):
    """Consumer revenue of the paying segments by day, from the revenue fact; over
    the activity window it adds up to the members' revenue_in_window_minor attribute."""
    with data_dir(segmented["root"]):
        by_day = query("""
            select r.metric_date, m.segment_name, sum(r.amount_reporting_minor) as revenue_minor
            from (select partition_date as metric_date, user_key, amount_reporting_minor
                  from fused.fct_revenue where revenue_stream = 'consumer') as r
            join segments.segment_membership as m on m.entity = 'user' and m.member_id = r.user_key
            where m.segment_name = 'engaged_payers' and r.metric_date > ? - ?
            group by all""", [LAST, activity.window_days()])
        attribute_total = query("""
            select sum(a.revenue_in_window_minor) from segments.user_attributes as a
            join segments.segment_membership as m on m.member_id = a.user_key and m.entity = 'user'
            where m.segment_name = 'engaged_payers'""")[0][0]
        # the same join against the daily KPI table: the segment's share of each day's consumer revenue
        share = query("""
            select k.metric_date, k.revenue_consumer_minor, coalesce(s.revenue_minor, 0)
            from kpis.kpi_daily as k
            left join (select r.partition_date as metric_date, sum(r.amount_reporting_minor) as revenue_minor
                       from fused.fct_revenue as r
                       join segments.segment_membership as m on m.member_id = r.user_key
                       where m.segment_name = 'engaged_payers' and r.revenue_stream = 'consumer'
                       group by 1) as s using (metric_date)""")
    assert by_day and sum(r[2] for r in by_day) == attribute_total > 0
    assert all(0 <= segment <= total for _, total, segment in share if total > 0)


# DuckDB types a rule's value kind compares with (segments.config.Attribute.type).
_KIND_TYPES = {"number": {"bigint", "integer", "hugeint", "double", "decimal"}, "string": {"varchar"},
               "date": {"date"}, "boolean": {"boolean"}}


def test_the_attribute_tables_have_the_whitelisted_attributes_with_their_types(segmented):
    """The dbt models the rules read have the member key, as_of_date and every
    whitelisted attribute, in order, of a type the attribute's kind compares with."""
    from bizintel_dagster.segments import sql as segment_sql

    with data_dir(segmented["root"]):
        for entity, relation in segment_sql.ATTRIBUTE_RELATIONS.items():
            schema, name = relation.split(".")
            built = query("""select column_name, lower(data_type) from information_schema.columns
                             where table_schema = ? and table_name = ? order by ordinal_position""", [schema, name])
            attributes = segment_config.ATTRIBUTES[entity]
            assert [c for c, _ in built] == [segment_sql.MEMBER_KEYS[entity], "as_of_date", *attributes], relation
            kinds = {c: t.split("(")[0] for c, t in built}
            assert all(kinds[a.name] in _KIND_TYPES[a.type] for a in attributes.values()), (relation, kinds)
            assert query(f"select count(*) from {relation}")[0][0] > 0, relation
