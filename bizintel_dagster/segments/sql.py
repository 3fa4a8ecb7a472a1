"""SQL for segments: the attribute tables and a rule as a WHERE expression.

Rules come from a file analysts edit, so nothing from it is ever spliced into
SQL: a column name comes from the whitelist in ``config.ATTRIBUTES`` (looked up,
not copied from the rule) and every value is a ``?`` parameter. The only SQL
text is the code's own.
"""

from __future__ import annotations

from typing import Any

from bizintel_dagster.segments.config import ATTRIBUTES, Condition, Group, Rule
from bizintel_dagster.tables import Table, col
from bizintel_dagster.warehouse import quote_identifier

# Which column identifies a member.
MEMBER_KEYS = {"user": "user_key", "account": "account_id"}
_MEMBER_KEY_DESCRIPTIONS = {
    "user": "The user: salted hash of the user id (joins to enriched.dim_users and the marts).",
    "account": "The B2B account (company or brand; joins to enriched.dim_accounts and customers.*).",
}


def _attribute_table(entity: str) -> Table:
    """``segments.<entity>_attributes``: the member key, the as-of date, then every
    whitelisted attribute (in ``attributes_sql``'s order), typed and described."""
    return Table("segments", f"{entity}_attributes", (
        col(MEMBER_KEYS[entity], "varchar", _MEMBER_KEY_DESCRIPTIONS[entity]),
        col("as_of_date", "date", "Business-local day the attributes describe (the last day with data).",
            not_null=True),
        *(col(attr.name, attr.column_type, attr.description) for attr in ATTRIBUTES[entity].values()),
    ))


# Where each entity's attributes are materialised: declared once, for the DDL and the UI.
ATTRIBUTE_TABLES = {entity: _attribute_table(entity) for entity in MEMBER_KEYS}

# Per-user activity to the as-of date (one ? = the as-of date). Activity events
# exclude abuse flags and service errors, as DAU does; revenue = purchases less
# refunds, as in fused.fct_revenue.
_USER_SOURCE = """
with as_of as (select cast(? as date) as as_of_date),
events as (
    select e.*, e.partition_date > as_of.as_of_date - 30 as in_30d
    from enriched.enriched_app_events as e, as_of
    where e.user_key is not null and e.partition_date <= as_of.as_of_date
      and e.event_type not in ('abuse_flag', 'service_error')
),
activity as (
    select
        user_key,
        count(*) filter (where in_30d) as events_30d,
        count(distinct partition_date) filter (where in_30d) as active_days_30d,
        count(*) filter (where in_30d and event_type = 'session_start') as sessions_30d,
        count(*) filter (where in_30d and event_type = 'purchase') as purchases_30d,
        count(*) filter (where event_type = 'purchase') as purchases_to_date,
        cast(sum(case event_type when 'purchase' then amount_reporting_minor when 'refund' then -amount_reporting_minor end)
             filter (where in_30d) as bigint) as revenue_30d_minor,
        cast(sum(case event_type when 'purchase' then amount_reporting_minor when 'refund' then -amount_reporting_minor end)
             as bigint) as revenue_to_date_minor,
        max(partition_date) as last_active_date,
        arg_max(platform, occurred_at) as last_platform
    from events
    group by user_key
),
signups as (
    select u.* from enriched.dim_users as u, as_of where u.signup_date <= as_of.as_of_date
)
select {columns}
from signups as u
full outer join activity as a using (user_key)
cross join as_of
"""

# One row per scored account (company and brand level) as of the scorecard's day.
_ACCOUNT_SOURCE = """
with as_of as (select cast(? as date) as as_of_date)
select {columns}
from customers.account_scorecard as s
left join enriched.dim_accounts as d using (account_id)
cross join as_of
"""

_SOURCES = {"user": _USER_SOURCE, "account": _ACCOUNT_SOURCE}


def attributes_sql(entity: str) -> str:
    """``select`` of one row per member: its key (user_key / account_id),
    as_of_date, then every whitelisted attribute. One parameter: the as-of date."""
    columns = [MEMBER_KEYS[entity], "as_of.as_of_date"]
    columns += [f"{attr.expression} as {quote_identifier(attr.name)}" for attr in ATTRIBUTES[entity].values()]
    return _SOURCES[entity].format(columns=",\n       ".join(columns))


def _column(entity: str, name: str) -> str:
    attr = ATTRIBUTES[entity].get(name)
    if attr is None:
        # Validation rejects these first; this guards trees built in code.
        raise ValueError(f"unknown attribute {name!r} for entity {entity!r}")
    return quote_identifier(attr.name)


def _leaf(entity: str, cond: Condition) -> tuple[str, list[Any]]:
    col = _column(entity, cond.attribute)
    op, value = cond.op, cond.value
    if op == "is_null":
        return f"{col} is null", []
    if op == "is_not_null":
        return f"{col} is not null", []
    if op == "eq":
        return f"{col} = ?", [value]
    # ne / not_in: a missing value is "not equal" (compare with is_null to exclude it)
    if op == "ne":
        return f"{col} is distinct from ?", [value]
    if op in ("in", "not_in"):
        marks = ", ".join("?" for _ in value)
        if op == "in":
            return f"{col} in ({marks})", list(value)
        return f"({col} is null or {col} not in ({marks}))", list(value)
    if op == "between":
        return f"{col} between ? and ?", list(value)
    symbol = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
    return f"{col} {symbol} ?", [value]


def compile_rule(rule: Rule, entity: str) -> tuple[str, list[Any]]:
    """The rule as a boolean SQL expression over ``segments.<entity>_attributes``
    and its parameters, in order. Each condition is coalesced to false, so a
    missing attribute never makes a group's result unknown: any member is either
    in or out."""
    if isinstance(rule, Group):
        parts, params = [], []
        for child in rule.children:
            sql, child_params = compile_rule(child, entity)
            parts.append(sql)
            params += child_params
        joiner = " and " if rule.kind == "all" else " or "
        return "(" + joiner.join(parts) + ")", params
    sql, params = _leaf(entity, rule)
    return f"coalesce({sql}, false)", params


def membership_sql(rule: Rule, entity: str) -> tuple[str, list[Any]]:
    """``select member_id, as_of_date`` of the members; parameters in order."""
    where, params = compile_rule(rule, entity)
    return (f"select {MEMBER_KEYS[entity]} as member_id, as_of_date from {ATTRIBUTE_TABLES[entity].relation} where {where}",
            params)
