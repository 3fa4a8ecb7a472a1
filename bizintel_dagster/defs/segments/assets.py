"""Rule-based segments as an asset: ``segments/segment_membership`` is the
warehouse's ``segments`` schema.

The rules in BIZINTEL_SEGMENTS_CONFIG (config/segments.yaml) are evaluated in
SQL over the attribute tables ``segments.user_attributes`` and
``segments.account_attributes``, dbt models of the analytics step that read the
project's definitions (activity, revenue, the activity window, the account
scorecard), so analysts can join any KPI to a segment on ``member_id``. Each
table states the day it describes (``as_of_date``: the last day with data, never
the wall clock), so a re-run over the same data writes the same rows; the history
keeps one row per segment and as-of date, replaced when that date is re-run.
"""

import json
from dataclasses import dataclass, field
from datetime import date

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from bizintel_dagster.metadata import column_schema, markdown_table
from bizintel_dagster.tables import Table, col, other_tables_metadata
from bizintel_dagster.defs.automation.conditions import condition_for_group
from bizintel_dagster.defs.freshness import freshness_policy_for_group
from bizintel_dagster.policies import OWNERS, retry_transient
from bizintel_dagster.segments import config as segment_config
from bizintel_dagster.segments import sql as segment_sql
from bizintel_dagster.warehouse import WAREHOUSE_POOL

SEGMENT_MEMBERSHIP_KEY = dg.AssetKey(["segments", "segment_membership"])
UPSTREAM_KEYS = [dg.AssetKey(relation.split(".")) for relation in segment_sql.ATTRIBUTE_RELATIONS.values()]

_SEGMENT = col("segment_name", "varchar", "Segment from BIZINTEL_SEGMENTS_CONFIG (config/segments.yaml).", not_null=True)
_ENTITY = col("entity", "varchar", "What the segment groups: user or account.", not_null=True)
_AS_OF = col("as_of_date", "date", "Business-local day the attributes describe (the last day with data).",
             not_null=True)

SEGMENT_DEFINITIONS = Table("segments", "segment_definitions", (
    _SEGMENT, _ENTITY,
    col("description", "varchar", "The segment's description from the config."),
    col("rule_json", "varchar", "The rule tree (AND / OR groups of conditions) as JSON.", not_null=True),
    col("rule_sql", "varchar", "The rule compiled to a SQL condition over segments.<entity>_attributes "
        "(values as ? parameters).", not_null=True),
    col("rule_params", "varchar", "The parameters of rule_sql, as a JSON list.", not_null=True),
))
SEGMENT_MEMBERSHIP = Table("segments", "segment_membership", (
    _SEGMENT, _ENTITY,
    col("member_id", "varchar", "The member: user_key (salted hash) for users, account_id for accounts; joins "
        "to the marts.", not_null=True),
    _AS_OF,
))
SEGMENT_HISTORY = Table("segments", "segment_history", (
    _AS_OF, _SEGMENT, _ENTITY,
    col("members", "bigint", "Members of the segment on as_of_date (a re-run of that date replaces the row).",
        not_null=True),
))
SEGMENT_COUNTS = Table("segments", "segment_counts", (
    _SEGMENT, _ENTITY, _AS_OF,
    col("members", "bigint", "Current members of the segment."),
    col("share_of_entity", "double", "members / all users (or accounts) with attributes, 0-1, 4 decimals; "
        "null without any."),
))

_COUNTS_SQL = """
insert into segments.segment_counts
with population as (
    select 'user' as entity, count(*) as population from segments.user_attributes
    union all
    select 'account', count(*) from segments.account_attributes
),
as_of as (select * from (values ('user', ?), ('account', ?)) as t(entity, as_of_date))
select
    d.segment_name,
    d.entity,
    cast(as_of.as_of_date as date) as as_of_date,
    count(m.member_id) as members,
    round(count(m.member_id) / nullif(any_value(population.population), 0), 4) as share_of_entity
from segments.segment_definitions as d
join population using (entity)
join as_of using (entity)
left join segments.segment_membership as m using (segment_name, entity)
group by all
order by d.entity, d.segment_name
"""


@dataclass
class Summary:
    as_of: dict[str, date]
    counts: list[tuple] = field(default_factory=list)      # (segment, entity, members, share)
    row_counts: dict[str, int] = field(default_factory=dict)


def _as_of_dates(con: duckdb.DuckDBPyConnection) -> dict[str, date]:
    """The day each attribute table describes (its as_of_date column, chosen by its
    dbt model), after checking it has every whitelisted attribute."""
    out = {}
    for entity, relation in segment_sql.ATTRIBUTE_RELATIONS.items():
        schema, table = relation.split(".")
        columns = [r[0] for r in con.execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
            [schema, table]).fetchall()]
        missing = segment_sql.missing_attributes(entity, columns)
        if missing:
            state = f"lacks {', '.join(missing)}" if columns else "does not exist"
            raise dg.Failure(f"{relation} {state}: build it with the analytics job (dbt step dbt_analytics)")
        day = con.execute(f"select max(as_of_date) from {relation}").fetchone()[0]
        if day is None:
            raise dg.Failure(f"no data to segment {entity}s on ({relation} has no rows): "
                             "run the daily pipeline and the analytics job first")
        out[entity] = day
    return out


def materialize_segments(con: duckdb.DuckDBPyConnection, cfg: segment_config.SegmentConfig) -> Summary:
    """Rebuild the ``segments`` schema in one transaction: a failure leaves the
    previous membership and history untouched."""
    summary = Summary(as_of=_as_of_dates(con))
    con.execute("begin transaction")
    try:
        con.execute(SEGMENT_DEFINITIONS.ddl(replace=True))
        con.execute(SEGMENT_MEMBERSHIP.ddl(replace=True))
        con.execute(SEGMENT_HISTORY.ddl())  # kept across runs: one row per segment and as-of date
        con.execute(SEGMENT_COUNTS.ddl(replace=True))
        for seg in cfg.segments:
            select, params = segment_sql.membership_sql(seg.rule, seg.entity)
            where, _ = segment_sql.compile_rule(seg.rule, seg.entity)
            con.execute("insert into segments.segment_definitions values (?, ?, ?, ?, ?, ?)",
                        [seg.name, seg.entity, seg.description, json.dumps(segment_config.rule_to_json(seg.rule)),
                         where, json.dumps([segment_config.jsonable(p) for p in params])])
            con.execute(f"insert into segments.segment_membership select ?, ?, member_id, as_of_date from ({select})",
                        [seg.name, seg.entity, *params])
        con.execute(_COUNTS_SQL, [summary.as_of["user"], summary.as_of["account"]])
        # Idempotent history: a re-run for the same day replaces that day's rows.
        con.execute("""delete from segments.segment_history as h
                       using (select distinct entity, as_of_date from segments.segment_counts) as c
                       where h.entity = c.entity and h.as_of_date = c.as_of_date""")
        con.execute("""insert into segments.segment_history
                       select as_of_date, segment_name, entity, members from segments.segment_counts""")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    summary.counts = con.execute(
        "select segment_name, entity, members, share_of_entity from segments.segment_counts").fetchall()
    for table in ("user_attributes", "account_attributes", "segment_membership", "segment_counts",
                  "segment_definitions", "segment_history"):
        summary.row_counts[f"segments.{table}"] = con.execute(f"select count(*) from segments.{table}").fetchone()[0]
    return summary


def _counts_table(counts: list[tuple]) -> dg.MetadataValue:
    return markdown_table(["segment", "entity", "members", "share_of_entity"],
                          [(name, entity, members, "n/a" if share is None else share)
                           for name, entity, members, share in counts])


@dg.asset(
    key=SEGMENT_MEMBERSHIP_KEY,
    group_name="segments",
    freshness_policy=freshness_policy_for_group("segments"),
    automation_condition=condition_for_group("segments"),
    deps=UPSTREAM_KEYS,
    owners=OWNERS,
    kinds={"duckdb", "python"},
    pool=WAREHOUSE_POOL,
    metadata={**SEGMENT_MEMBERSHIP.metadata(),
              **other_tables_metadata(SEGMENT_COUNTS, SEGMENT_HISTORY, SEGMENT_DEFINITIONS)},
    description="Rule-based user and account segments from BIZINTEL_SEGMENTS_CONFIG (config/segments.yaml): "
    "segments.segment_membership (current members), segment_counts, segment_history (one row per segment "
    "and as-of date) and segment_definitions, evaluated over the dbt models segments.user_attributes / "
    "account_attributes.",
)
def segment_membership(context: dg.AssetExecutionContext, warehouse: DuckDBResource) -> dg.MaterializeResult:
    try:
        cfg = segment_config.load()
    except segment_config.SegmentConfigError as exc:
        raise dg.Failure(f"invalid segments config: {exc}") from exc

    def write() -> tuple[Summary, dict]:
        with warehouse.get_connection() as con:
            return materialize_segments(con, cfg), column_schema(
                con, ("segments", "segment_membership"), SEGMENT_MEMBERSHIP.descriptions)

    summary, schema = retry_transient(context, write)
    return dg.MaterializeResult(metadata={
        **schema,
        "dagster/row_count": dg.MetadataValue.int(summary.row_counts["segments.segment_membership"]),
        "config": dg.MetadataValue.path(cfg.source),
        "as_of_date": dg.MetadataValue.json({entity: day.isoformat() for entity, day in summary.as_of.items()}),
        "segments": dg.MetadataValue.int(len(cfg.segments)),
        "segment_counts": _counts_table(summary.counts),
        "row_counts": dg.MetadataValue.json(summary.row_counts),
    })
