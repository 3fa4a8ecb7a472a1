"""Segment definitions from a YAML file, validated on load.

Analysts write the rules; a typo must fail the run with a message that points at
the line, not silently produce an empty segment. Every problem is reported as
``config/segments.yaml:42: segments[3] (engaged_payers).rule.all[1].value: ...``
(PyYAML node marks give the lines).

A rule only ever names attributes from the per-entity whitelist below (columns
of the dbt models ``segments.<entity>_attributes``); the whitelist, not the
file, decides which SQL runs (see ``sql.py``). The format is
documented in ``config/segments.yaml`` itself.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

from bizintel_dagster import settings
from bizintel_dagster.marked_yaml import Marked, compose, describe

ENTITIES = ("user", "account")
OPS = ("eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "between", "is_null", "is_not_null")
GROUP_KINDS = ("all", "any")
MAX_DEPTH = 5          # nested all/any levels; deeper trees are unreadable, not more precise
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_SCALAR_OPS = ("eq", "ne")
_LIST_OPS = ("in", "not_in")
_ORDER_OPS = ("gt", "gte", "lt", "lte")
_NULL_OPS = ("is_null", "is_not_null")


def config_path() -> Path:
    """Where the definitions live; an environment variable so tests and deployments
    can point at their own file without touching the repo's."""
    return Path(os.environ.get("BIZINTEL_SEGMENTS_CONFIG", str(settings.REPO_ROOT / "config" / "segments.yaml")))


class SegmentConfigError(ValueError):
    """A problem in the segments config, with the line it was found on."""


# ----------------------------------------------------------------------------
# The attribute whitelist
# ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Attribute:
    """One column of ``segments.<entity>_attributes`` a rule may test.

    The dbt models ``models/segments/<entity>_attributes.sql`` compute the
    columns (from the project's definitions of activity, revenue and the
    activity window) and their YAML describes them; this list says which of them
    rules may name, of what type, and, when known, the values a string takes
    (their ``accepted_values`` test), so ``enterprise`` for ``Enterprise`` fails
    on load. Rules compare the columns, so config text never becomes SQL.
    """

    name: str
    type: str                       # number | string | boolean | date
    choices: tuple[str, ...] = ()


def _attrs(*items: Attribute) -> dict[str, Attribute]:
    return {a.name: a for a in items}


# The columns of segments.user_attributes, in order, less user_key and as_of_date.
# The *_in_window figures count the activity window (var activity_window_days).
USER_ATTRIBUTES = _attrs(
    Attribute("signup_date", "date"),
    Attribute("days_since_signup", "number"),
    Attribute("first_touch_source", "string"),
    Attribute("country_code", "string"),
    Attribute("platform", "string", ("ios", "android", "web")),
    Attribute("events_in_window", "number"),
    Attribute("active_days_in_window", "number"),
    Attribute("sessions_in_window", "number"),
    Attribute("purchases_in_window", "number"),
    Attribute("purchases_to_date", "number"),
    Attribute("revenue_in_window_minor", "number"),
    Attribute("revenue_to_date_minor", "number"),
    Attribute("last_active_date", "date"),
    Attribute("days_since_last_active", "number"),
)

# The columns of segments.account_attributes, in order, less account_id and as_of_date.
ACCOUNT_ATTRIBUTES = _attrs(
    Attribute("account_level", "string", ("group", "company", "brand")),
    Attribute("segment", "string", ("SMB", "Mid-Market", "Enterprise")),
    Attribute("business_type", "string"),
    Attribute("country_code", "string"),
    Attribute("company_id", "string"),
    Attribute("activity_score", "number"),
    Attribute("activity_level", "string", ("Active", "Medium", "Low", "Dormant")),
    Attribute("churn_risk_score", "number"),
    Attribute("churn_risk_level", "string", ("high", "medium", "low", "none")),
    Attribute("mrr_minor", "number"),
    Attribute("revenue_90d_minor", "number"),
    Attribute("revenue_to_date_minor", "number"),
    Attribute("orders_30d", "number"),
    Attribute("orders_to_date", "number"),
    Attribute("days_since_last_order", "number"),
    Attribute("is_top_20_percent", "boolean"),
)

ATTRIBUTES: dict[str, dict[str, Attribute]] = {"user": USER_ATTRIBUTES, "account": ACCOUNT_ATTRIBUTES}


# ----------------------------------------------------------------------------
# The model
# ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    attribute: str
    op: str
    value: Any          # scalar, list (in / not_in / between) or None (is_null / is_not_null)
    line: int


@dataclass(frozen=True)
class Group:
    kind: str           # all (AND) | any (OR)
    children: tuple["Rule", ...]
    line: int


Rule = Union[Condition, Group]


@dataclass(frozen=True)
class Segment:
    name: str
    description: str
    entity: str
    rule: Rule
    line: int


@dataclass(frozen=True)
class SegmentConfig:
    source: str
    segments: tuple[Segment, ...]

    def segment(self, name: str) -> Segment:
        for seg in self.segments:
            if seg.name == name:
                return seg
        raise KeyError(name)


def rule_to_json(rule: Rule) -> Any:
    """The rule as plain data (dates as ISO strings), for ``segment_definitions``."""
    if isinstance(rule, Group):
        return {rule.kind: [rule_to_json(child) for child in rule.children]}
    out: dict[str, Any] = {"attribute": rule.attribute, "op": rule.op}
    if rule.op not in _NULL_OPS:
        value = rule.value
        out["value"] = [jsonable(v) for v in value] if isinstance(value, list) else jsonable(value)
    return out


def jsonable(value: Any) -> Any:
    """A rule value as JSON can hold it (dates as ISO strings)."""
    return value.isoformat() if isinstance(value, dt.date) else value


# ----------------------------------------------------------------------------
# Validation
# ----------------------------------------------------------------------------


class _Ctx:
    """The file and the path inside it, so every error says where."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, line: int, path: str, message: str):
        raise SegmentConfigError(f"{self.source}:{line}: {path}: {message}")

    def mapping(self, node: Marked, path: str, allowed: tuple[str, ...]) -> dict[str, Marked]:
        if not isinstance(node.value, dict):
            self.fail(node.line, path or "(top level)", f"expected a mapping, got {describe(node.value)}")
        for key, item in node.value.items():
            if key not in allowed:
                self.fail(item.line, f"{path}.{key}" if path else key,
                          f"unknown key {key!r} (allowed: {', '.join(allowed)})")
        return node.value


def _type_ok(attr: Attribute, value: Any) -> bool:
    if attr.type == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if attr.type == "boolean":
        return isinstance(value, bool)
    if attr.type == "date":
        return isinstance(value, dt.date) and not isinstance(value, dt.datetime)
    return isinstance(value, str)


_TYPE_HINT = {"number": "a number", "string": "a string", "boolean": "true or false", "date": "a date (YYYY-MM-DD)"}


def _scalar(ctx: _Ctx, attr: Attribute, item: Marked, path: str) -> Any:
    value = item.value
    if isinstance(value, (dict, list)) or value is None or not _type_ok(attr, value):
        ctx.fail(item.line, path, f"attribute {attr.name!r} is {attr.type}: expected {_TYPE_HINT[attr.type]}, "
                                  f"got {describe(value)}")
    if attr.choices and value not in attr.choices:
        ctx.fail(item.line, path, f"{value!r} is not a value of {attr.name!r} (one of: {', '.join(attr.choices)})")
    return value


def _condition(ctx: _Ctx, entity: str, node: Marked, path: str) -> Condition:
    items = ctx.mapping(node, path, ("attribute", "op", "value"))
    for key in ("attribute", "op"):
        if key not in items:
            ctx.fail(node.line, path, f"missing required key {key!r}")
    name_item, op_item = items["attribute"], items["op"]
    known = ATTRIBUTES[entity]
    if not isinstance(name_item.value, str) or name_item.value not in known:
        ctx.fail(name_item.line, f"{path}.attribute",
                 f"unknown attribute {describe(name_item.value)} for entity {entity!r} (known: {', '.join(known)})")
    attr = known[name_item.value]
    op = op_item.value
    if op not in OPS:
        ctx.fail(op_item.line, f"{path}.op", f"unknown op {describe(op)} (allowed: {', '.join(OPS)})")
    if op in _ORDER_OPS + ("between",) and attr.type not in ("number", "date"):
        ctx.fail(op_item.line, f"{path}.op", f"{op!r} needs a number or date attribute; {attr.name!r} is {attr.type}")
    vpath = f"{path}.value"
    if op in _NULL_OPS:
        if "value" in items:
            ctx.fail(items["value"].line, vpath, f"{op!r} takes no value")
        return Condition(attr.name, op, None, node.line)
    if "value" not in items:
        ctx.fail(node.line, path, f"missing required key 'value' for op {op!r}")
    item = items["value"]
    if op in _LIST_OPS or op == "between":
        if not isinstance(item.value, list) or not item.value:
            ctx.fail(item.line, vpath, f"{op!r} expects a non-empty list, got {describe(item.value)}")
        values = [_scalar(ctx, attr, v, f"{vpath}[{i}]") for i, v in enumerate(item.value)]
        if op == "between":
            if len(values) != 2:
                ctx.fail(item.line, vpath, f"'between' expects [low, high], got {len(values)} values")
            if values[0] > values[1]:
                ctx.fail(item.line, vpath, f"'between' low {values[0]!r} is above high {values[1]!r}")
        return Condition(attr.name, op, values, node.line)
    return Condition(attr.name, op, _scalar(ctx, attr, item, vpath), node.line)


def _rule(ctx: _Ctx, entity: str, node: Marked, path: str, depth: int) -> Rule:
    if not isinstance(node.value, dict):
        ctx.fail(node.line, path, f"expected a condition or an all:/any: group, got {describe(node.value)}")
    keys = set(node.value)
    if keys & set(GROUP_KINDS):
        if len(keys) != 1:
            ctx.fail(node.line, path, f"a group has exactly one key, 'all' or 'any'; got {', '.join(sorted(keys))}")
        kind = next(iter(keys))
        if depth > MAX_DEPTH:
            ctx.fail(node.line, path, f"rules nest at most {MAX_DEPTH} all/any levels deep")
        item = node.value[kind]
        if not isinstance(item.value, list) or not item.value:
            ctx.fail(item.line, f"{path}.{kind}", f"expected a non-empty list of conditions, got {describe(item.value)}")
        children = tuple(_rule(ctx, entity, child, f"{path}.{kind}[{i}]", depth + 1) for i, child in enumerate(item.value))
        return Group(kind, children, node.line)
    return _condition(ctx, entity, node, path)


def _segment(ctx: _Ctx, index: int, node: Marked) -> Segment:
    path = f"segments[{index}]"
    items = ctx.mapping(node, path, ("name", "description", "entity", "rule"))
    for key in ("name", "entity", "rule"):
        if key not in items or items[key].value is None:
            ctx.fail(node.line, path, f"missing required key {key!r}")
    name = items["name"].value
    if not isinstance(name, str) or not _NAME.match(name):
        ctx.fail(items["name"].line, f"{path}.name", f"expected a lower_snake_case name, got {describe(name)}")
    path = f"segments[{index}] ({name})"
    description = items["description"].value if "description" in items else ""
    if not isinstance(description, str):
        ctx.fail(items["description"].line, f"{path}.description", f"expected text, got {describe(description)}")
    entity = items["entity"].value
    if entity not in ENTITIES:
        ctx.fail(items["entity"].line, f"{path}.entity", f"unknown entity {describe(entity)} (one of: {', '.join(ENTITIES)})")
    rule = _rule(ctx, entity, items["rule"], f"{path}.rule", 1)
    return Segment(name=name, description=description.strip(), entity=entity, rule=rule, line=node.line)


def parse(text: str, source: str = "<segments config>") -> SegmentConfig:
    ctx = _Ctx(source)
    root = compose(text, source, SegmentConfigError)
    if root is None:
        raise SegmentConfigError(f"{source}:1: the file is empty")
    top = ctx.mapping(root, "", ("version", "segments"))
    if "version" not in top:
        ctx.fail(root.line, "(top level)", "missing required key 'version'")
    if top["version"].value != 1:
        ctx.fail(top["version"].line, "version", f"unsupported version {top['version'].value!r} (expected 1)")
    seg_node = top.get("segments")
    if seg_node is None or not isinstance(seg_node.value, list) or not seg_node.value:
        ctx.fail(seg_node.line if seg_node else root.line, "segments", "expected a non-empty list of segments")
    segments: list[Segment] = []
    seen: dict[str, int] = {}
    for i, node in enumerate(seg_node.value):
        seg = _segment(ctx, i, node)
        if seg.name in seen:
            ctx.fail(node.line, f"segments[{i}]", f"duplicate segment name {seg.name!r} (first on line {seen[seg.name]})")
        seen[seg.name] = node.line
        segments.append(seg)
    return SegmentConfig(source=source, segments=tuple(segments))


def load(path: Path | str | None = None) -> SegmentConfig:
    path = Path(path) if path is not None else config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SegmentConfigError(f"{path}: segments config not found (set BIZINTEL_SEGMENTS_CONFIG)") from None
    return parse(text, str(path))
