"""SQL for segments: a rule as a WHERE expression over an attribute table.

Rules come from a file analysts edit, so nothing from it is ever spliced into
SQL: a column name comes from the whitelist in ``config.ATTRIBUTES`` (looked up,
not copied from the rule) and every value is a ``?`` parameter. The only SQL
text is the code's own.
"""

from __future__ import annotations

from typing import Any

from bizintel_dagster.segments.config import ATTRIBUTES, Condition, Group, Rule
from bizintel_dagster.warehouse import quote_identifier

# Which column identifies a member.
MEMBER_KEYS = {"user": "user_key", "account": "account_id"}

# The attribute tables the rules read: dbt models (models/segments/), built by the
# analytics step from the project's own definitions; nothing is computed here.
ATTRIBUTE_RELATIONS = {entity: f"segments.{entity}_attributes" for entity in MEMBER_KEYS}


def missing_attributes(entity: str, columns: list[str]) -> list[str]:
    """The whitelisted attributes (and key columns) a built attribute table lacks:
    a warehouse built before a release renamed or added one."""
    needed = [MEMBER_KEYS[entity], "as_of_date", *ATTRIBUTES[entity]]
    return [name for name in needed if name not in columns]


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
    return (f"select {MEMBER_KEYS[entity]} as member_id, as_of_date from {ATTRIBUTE_RELATIONS[entity]} where {where}",
            params)
