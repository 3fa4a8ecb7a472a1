"""Segment definitions: validation errors point at the line and key, rules compile
to SQL whose only variable parts are bound parameters, and AND / OR / null
semantics match hand-computed members on a tiny table. The asset's write path
runs against a hand-made warehouse in a temp file."""

import datetime as dt
import json
import textwrap

import dagster as dg
import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from bizintel_dagster import settings
from bizintel_dagster.defs.segments.assets import materialize_segments, segment_membership
from bizintel_dagster.segments import config, sql
from bizintel_dagster.segments.config import Condition, Group, SegmentConfigError


def parse(body: str):
    return config.parse(textwrap.dedent(body), "segments.yaml")


def one_segment(rule: str, entity: str = "user") -> str:
    """A config with one segment whose rule (YAML, indented 6) starts on line 7."""
    return "version: 1\nsegments:\n  - name: s\n    description: d\n    entity: " + entity + "\n    rule:\n" + \
        textwrap.indent(textwrap.dedent(rule).strip("\n"), "      ") + "\n"


def test_the_shipped_config_loads():
    cfg = config.load(config.settings.REPO_ROOT / "config" / "segments.yaml")
    names = [s.name for s in cfg.segments]
    assert len(names) == len(set(names)) >= 5
    assert {s.entity for s in cfg.segments} == {"user", "account"}
    for seg in cfg.segments:
        text, params = sql.compile_rule(seg.rule, seg.entity)
        assert text.count("?") == len(params)


def test_config_path_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("BIZINTEL_SEGMENTS_CONFIG", raising=False)
    assert config.config_path() == config.settings.REPO_ROOT / "config" / "segments.yaml"
    monkeypatch.setenv("BIZINTEL_SEGMENTS_CONFIG", str(tmp_path / "mine.yaml"))
    assert config.config_path() == tmp_path / "mine.yaml"
    with pytest.raises(SegmentConfigError, match=r"mine.yaml: segments config not found \(set BIZINTEL_SEGMENTS_CONFIG\)"):
        config.load()


def test_a_valid_nested_rule_parses_with_types_and_lines():
    cfg = config.parse(one_segment("""
        all:
          - {attribute: signup_date, op: gte, value: 2026-04-01}
          - any:
              - {attribute: first_touch_source, op: not_in, value: [organic]}
              - {attribute: days_since_last_active, op: is_null}
    """), "segments.yaml")
    rule = cfg.segments[0].rule
    assert isinstance(rule, Group) and rule.kind == "all" and rule.line == 7
    assert rule.children[0] == Condition("signup_date", "gte", dt.date(2026, 4, 1), 8)
    assert rule.children[1].children[1] == Condition("days_since_last_active", "is_null", None, 11)
    assert config.rule_to_json(rule)["all"][0]["value"] == "2026-04-01"


@pytest.mark.parametrize("rule, entity, expected", [
    ("{attribute: purchases_in_window, op: gte, value: five}", "user",
     r"segments.yaml:7: segments\[0\] \(s\).rule.value: attribute 'purchases_in_window' is number: expected a number, got 'five'"),
    ("{attribute: first_touch_source, op: eq, value: 3}", "user",
     r":7: segments\[0\] \(s\).rule.value: attribute 'first_touch_source' is string: expected a string, got 3"),
    ("{attribute: purchases_in_window, op: gte, value: true}", "user", r":7: .*rule.value: .* expected a number, got True"),
    ("{attribute: purchases_in_window, op: equals, value: 1}", "user",
     r":7: segments\[0\] \(s\).rule.op: unknown op 'equals' \(allowed: eq, ne, in"),
    ("{attribute: purchases, op: eq, value: 1}", "user",
     r":7: segments\[0\] \(s\).rule.attribute: unknown attribute 'purchases' for entity 'user' \(known: signup_date"),
    ("{attribute: activity_score, op: gt, value: 1}", "user", r":7: .*unknown attribute 'activity_score' for entity 'user'"),
    ("{attribute: segment, op: eq, value: enterprise}", "account",
     r":7: .*rule.value: 'enterprise' is not a value of 'segment' \(one of: SMB, Mid-Market, Enterprise\)"),
    ("{attribute: first_touch_source, op: in, value: instagram}", "user", r":7: .*rule.value: 'in' expects a non-empty list"),
    ("{attribute: first_touch_source, op: in, value: []}", "user", r":7: .*rule.value: 'in' expects a non-empty list"),
    ("{attribute: first_touch_source, op: in, value: [tiktok, 7]}", "user", r":7: .*rule.value\[1\]: .*expected a string, got 7"),
    ("{attribute: purchases_in_window, op: between, value: [1, 2, 3]}", "user", r":7: .*'between' expects \[low, high\], got 3"),
    ("{attribute: purchases_in_window, op: between, value: [5, 1]}", "user", r":7: .*'between' low 5 is above high 1"),
    ("{attribute: first_touch_source, op: gt, value: a}", "user",
     r":7: .*rule.op: 'gt' needs a number or date attribute; 'first_touch_source' is string"),
    ("{attribute: purchases_in_window, op: is_null, value: 1}", "user", r":7: .*rule.value: 'is_null' takes no value"),
    ("{attribute: purchases_in_window, op: eq}", "user", r":7: .*rule: missing required key 'value' for op 'eq'"),
    ("{attribute: purchases_in_window, op: eq, value: 1, note: x}", "user",
     r":7: segments\[0\] \(s\).rule.note: unknown key 'note' \(allowed: attribute, op, value\)"),
    ("{attribute: signup_date, op: gte, value: '2026-13-01'}", "user", r":7: .*expected a date \(YYYY-MM-DD\)"),
    ("all: []", "user", r":7: segments\[0\] \(s\).rule.all: expected a non-empty list of conditions, got a list"),
    ("any:", "user", r":7: .*rule.any: expected a non-empty list of conditions, got nothing"),
    ("all: [{attribute: purchases_in_window, op: gte, value: 1}]\nany: [{attribute: purchases_in_window, op: gte, value: 1}]", "user",
     r":7: .*rule: a group has exactly one key, 'all' or 'any'; got all, any"),
    ("all:\n  - {attribute: purchases_in_window, op: gte, value: 1}\n  - any:\n      - {attribute: purchases_in_window, op: lt, value: x}",
     "user", r"segments.yaml:10: segments\[0\] \(s\).rule.all\[1\].any\[0\].value: .*expected a number, got 'x'"),
])
def test_errors_name_the_file_line_and_key(rule, entity, expected):
    with pytest.raises(SegmentConfigError, match=expected):
        config.parse(one_segment(rule, entity), "segments.yaml")


def test_nesting_is_limited():
    rule = "{attribute: purchases_in_window, op: gte, value: 1}"
    for _ in range(config.MAX_DEPTH):
        rule = f"all: [{rule}]"
    config.parse(one_segment(rule), "segments.yaml")          # exactly the limit is fine
    with pytest.raises(SegmentConfigError, match=rf":7: .*rule.any\[0\](.all\[0\]){{{config.MAX_DEPTH - 1}}}: rules nest at most "
                                                 rf"{config.MAX_DEPTH} all/any levels deep"):
        config.parse(one_segment(f"any: [{rule}]"), "segments.yaml")


@pytest.mark.parametrize("body, expected", [
    ("""
     version: 1
     segments:
       - name: a
         entity: user
         rule: {attribute: purchases_in_window, op: gte, value: 1}
       - name: a
         entity: account
         rule: {attribute: orders_30d, op: gte, value: 1}
     """, r"segments.yaml:7: segments\[1\]: duplicate segment name 'a' \(first on line 4\)"),
    ("""
     version: 1
     segments:
       - name: a
         entity: users
         rule: {attribute: purchases_in_window, op: gte, value: 1}
     """, r"segments.yaml:5: segments\[0\] \(a\).entity: unknown entity 'users' \(one of: user, account\)"),
    ("""
     version: 1
     segments:
       - name: a
         entity: user
         rules: {attribute: purchases_in_window, op: gte, value: 1}
     """, r"segments.yaml:6: segments\[0\].rules: unknown key 'rules' \(allowed: name, description, entity, rule\)"),
    ("""
     version: 1
     segments:
       - name: Engaged Payers
         entity: user
         rule: {attribute: purchases_in_window, op: gte, value: 1}
     """, r"segments.yaml:4: segments\[0\].name: expected a lower_snake_case name, got 'Engaged Payers'"),
    ("""
     version: 1
     segments:
       - name: a
         entity: user
     """, r"segments.yaml:4: segments\[0\]: missing required key 'rule'"),
    ("""
     version: 2
     segments: []
     """, r"segments.yaml:2: version: unsupported version 2 \(expected 1\)"),
    ("""
     version: 1
     segment: []
     """, r"segments.yaml:3: segment: unknown key 'segment' \(allowed: version, segments\)"),
    ("""
     version: 1
     segments:
     """, r"segments.yaml:3: segments: expected a non-empty list of segments"),
    ("""
     version: 1
     segments:
       - name: a
         name: b
     """, r"segments.yaml:5: duplicate key 'name'"),
    ("""
     version: 1
     segments:
       - name: a
         entity: [user
     """, r"segments.yaml:\d+: YAML syntax error"),
    ("", r"segments.yaml:1: the file is empty"),
])
def test_file_level_errors(body, expected):
    with pytest.raises(SegmentConfigError, match=expected):
        parse(body)


# ----------------------------------------------------------------------------
# SQL: parameters only
# ----------------------------------------------------------------------------


def test_values_are_bound_parameters_never_sql_text():
    evil = "x'); drop table t; --"
    cfg = config.parse(one_segment(f"""
        any:
          - {{attribute: first_touch_source, op: eq, value: "{evil}"}}
          - {{attribute: first_touch_source, op: in, value: ["{evil}", organic]}}
    """), "segments.yaml")
    text, params = sql.compile_rule(cfg.segments[0].rule, "user")
    assert evil not in text and "drop" not in text and "'" not in text
    assert params == [evil, evil, "organic"]
    assert text == '(coalesce("first_touch_source" = ?, false) or coalesce("first_touch_source" in (?, ?), false))'

    con = duckdb.connect()
    con.execute("create table t (x int)")
    con.execute("create schema segments")
    con.execute("create table segments.user_attributes (user_key varchar, as_of_date date, first_touch_source varchar)")
    con.execute("insert into segments.user_attributes values ('u1', date '2026-05-05', ?), ('u2', date '2026-05-05', 'tiktok')",
                [evil])
    select, params = sql.membership_sql(cfg.segments[0].rule, "user")
    assert [r[0] for r in con.execute(select, params).fetchall()] == ["u1"]   # matched as data
    assert con.execute("select count(*) from t").fetchone() == (0,)           # and t is still there


def test_an_attribute_name_carrying_sql_is_rejected():
    with pytest.raises(SegmentConfigError,
                       match=r":7: .*rule.attribute: unknown attribute 'country_code; drop table x' for entity 'user'"):
        config.parse(one_segment('{attribute: "country_code; drop table x", op: eq, value: ZA}'), "segments.yaml")
    # a tree built in code, bypassing validation, is refused by the compiler too
    with pytest.raises(ValueError, match="unknown attribute"):
        sql.compile_rule(Condition("country_code; drop table x", "eq", "ZA", 1), "user")


def test_every_attribute_column_is_a_plain_identifier():
    for entity, attrs in config.ATTRIBUTES.items():
        for name, attr in attrs.items():
            assert config._NAME.match(name) and attr.name == name, (entity, name)


# ----------------------------------------------------------------------------
# AND / OR / null semantics on a tiny table
# ----------------------------------------------------------------------------

USERS = [
    # user_key, first_touch_source, purchases_in_window, active_days_in_window, days_since_last_active, country_code
    ("u1", "instagram", 2, 6, 0, "ZA"),
    ("u2", "tiktok", 0, 9, 1, "ZA"),
    ("u3", "organic", 1, 5, 3, None),
    ("u4", "organic", 0, 0, 40, "GB"),
    ("u5", "referral", 3, 1, None, "BW"),
]


@pytest.fixture
def tiny():
    con = duckdb.connect()
    con.execute("create schema segments")
    con.execute("""create table segments.user_attributes (user_key varchar, as_of_date date, first_touch_source varchar,
                   purchases_in_window bigint, active_days_in_window bigint, days_since_last_active bigint, country_code varchar)""")
    con.executemany("insert into segments.user_attributes values (?, date '2026-05-05', ?, ?, ?, ?, ?)", USERS)
    return con


def members(con, rule_yaml: str) -> set[str]:
    rule = config.parse(one_segment(rule_yaml), "segments.yaml").segments[0].rule
    select, params = sql.membership_sql(rule, "user")
    return {r[0] for r in con.execute(select, params).fetchall()}


@pytest.mark.parametrize("rule, expected", [
    # AND: bought and active >= 5 days -> u1 (2, 6), u3 (1, 5)
    ("all: [{attribute: purchases_in_window, op: gte, value: 1}, {attribute: active_days_in_window, op: gte, value: 5}]", {"u1", "u3"}),
    # OR: paid social or >= 3 purchases -> u1, u2, u5
    ("any: [{attribute: first_touch_source, op: in, value: [instagram, tiktok]}, "
     "{attribute: purchases_in_window, op: gte, value: 3}]", {"u1", "u2", "u5"}),
    # AND of an OR: (organic or referral) and (no purchase or quiet >= 30 days) -> u4 only
    ("all: [{attribute: first_touch_source, op: in, value: [organic, referral]}, "
     "{any: [{attribute: purchases_in_window, op: eq, value: 0}, {attribute: days_since_last_active, op: gte, value: 30}]}]",
     {"u4"}),
    # a null fails a comparison (u5 has no days_since_last_active) ...
    ("{attribute: days_since_last_active, op: lt, value: 100}", {"u1", "u2", "u3", "u4"}),
    # ... so an OR with a null branch still decides on the other branch
    ("any: [{attribute: days_since_last_active, op: gt, value: 30}, {attribute: purchases_in_window, op: eq, value: 3}]",
     {"u4", "u5"}),
    # ne / not_in keep the nulls; is_null finds them
    ("{attribute: country_code, op: ne, value: ZA}", {"u3", "u4", "u5"}),
    ("{attribute: country_code, op: not_in, value: [ZA, GB]}", {"u3", "u5"}),
    ("{attribute: country_code, op: is_null}", {"u3"}),
    ("{attribute: country_code, op: is_not_null}", {"u1", "u2", "u4", "u5"}),
    ("{attribute: active_days_in_window, op: between, value: [1, 6]}", {"u1", "u3", "u5"}),
    ("{attribute: purchases_in_window, op: lte, value: 0}", {"u2", "u4"}),
    ("{attribute: purchases_in_window, op: lt, value: 1}", {"u2", "u4"}),
    ("{attribute: purchases_in_window, op: gt, value: 2}", {"u5"}),
])
def test_and_or_semantics(tiny, rule, expected):
    assert members(tiny, rule) == expected


# ----------------------------------------------------------------------------
# The write path against a hand-made warehouse
# ----------------------------------------------------------------------------

AS_OF = dt.date(2026, 5, 5)


def fake_warehouse(path):
    """The two attribute tables the asset reads (dbt builds them in the pipeline;
    their figures are tested by the dbt unit test of user_attributes), with the
    attributes CONFIG's rules name."""
    con = duckdb.connect(str(path))
    con.execute("""
        create schema segments;
        create table segments.user_attributes as select * from (values
            ('u1', date '2026-05-05', 'instagram', 1),
            ('u9', date '2026-05-05', 'unknown', 1),
            ('u3', date '2026-05-05', 'organic', 0)
        ) t(user_key, as_of_date, first_touch_source, purchases_to_date);
        create table segments.account_attributes as select * from (values
            ('acc_1', date '2026-05-05', 'Enterprise', 'Dormant', 'medium'),
            ('acc_2', date '2026-05-05', 'SMB', 'Active', 'low')
        ) t(account_id, as_of_date, segment, activity_level, churn_risk_level);
    """)
    # every other whitelisted attribute, null: the asset refuses a table without one
    for entity, relation in sql.ATTRIBUTE_RELATIONS.items():
        have = {r[0] for r in con.execute(f"describe {relation}").fetchall()}
        for name in config.ATTRIBUTES[entity]:
            if name not in have:
                con.execute(f"alter table {relation} add column {name} varchar")
    return con


CONFIG = """
version: 1
segments:
  - name: buyers
    entity: user
    rule: {attribute: purchases_to_date, op: gte, value: 1}
  - name: nobody
    entity: user
    rule: {attribute: first_touch_source, op: eq, value: referral}
  - name: enterprise_at_risk
    entity: account
    rule:
      all:
        - {attribute: segment, op: eq, value: Enterprise}
        - any: [{attribute: churn_risk_level, op: in, value: [high, medium]}, {attribute: activity_level, op: eq, value: Low}]
"""


def test_materialize_builds_membership_counts_and_idempotent_history(tmp_path):
    con = fake_warehouse(tmp_path / "wh.duckdb")
    cfg = config.parse(CONFIG, "segments.yaml")
    first = materialize_segments(con, cfg)
    assert first.as_of == {"user": AS_OF, "account": AS_OF}           # each table's own as_of_date
    assert con.execute("select segment_name, member_id, as_of_date from segments.segment_membership order by all").fetchall() == [
        ("buyers", "u1", AS_OF), ("buyers", "u9", AS_OF), ("enterprise_at_risk", "acc_1", AS_OF)]
    assert con.execute("select * from segments.segment_counts order by all").fetchall() == [
        ("buyers", "user", AS_OF, 2, 0.6667), ("enterprise_at_risk", "account", AS_OF, 1, 0.5),
        ("nobody", "user", AS_OF, 0, 0.0)]
    rule_sql, rule_params = con.execute(
        "select rule_sql, rule_params from segments.segment_definitions where segment_name = 'enterprise_at_risk'").fetchone()
    assert "Enterprise" not in rule_sql and rule_params == '["Enterprise", "high", "medium", "Low"]'
    assert first.row_counts["segments.user_attributes"] == 3                # read, not rewritten

    materialize_segments(con, cfg)                           # same day again: replaced, not appended
    assert con.execute("select count(*) from segments.segment_history").fetchone() == (3,)
    # the analytics step rebuilt the user attributes a day later
    con.execute("update segments.user_attributes set as_of_date = date '2026-05-06'")
    second = materialize_segments(con, cfg)
    assert second.as_of["user"] == dt.date(2026, 5, 6)
    history = con.execute("select as_of_date, segment_name, members from segments.segment_history order by all").fetchall()
    assert history == [(AS_OF, "buyers", 2), (AS_OF, "enterprise_at_risk", 1), (AS_OF, "nobody", 0),
                       (dt.date(2026, 5, 6), "buyers", 2), (dt.date(2026, 5, 6), "nobody", 0)]
    con.close()


def test_an_attribute_table_without_a_whitelisted_attribute_fails_with_its_name(tmp_path):
    """A warehouse whose attribute tables predate the whitelist (an old release's
    column names) fails before anything is written, naming what to run."""
    con = fake_warehouse(tmp_path / "wh.duckdb")
    con.execute("alter table segments.user_attributes rename column purchases_in_window to purchases_30d")
    with pytest.raises(dg.Failure, match=r"segments.user_attributes lacks purchases_in_window: build it with the "
                                         r"analytics job \(dbt step dbt_analytics\)"):
        materialize_segments(con, config.parse(CONFIG, "segments.yaml"))
    con.execute("drop table segments.account_attributes")
    con.execute("alter table segments.user_attributes rename column purchases_30d to purchases_in_window")
    with pytest.raises(dg.Failure, match=r"segments.account_attributes does not exist"):
        materialize_segments(con, config.parse(CONFIG, "segments.yaml"))
    assert con.execute("select count(*) from information_schema.tables where table_schema = 'segments' "
                       "and table_name like 'segment_%'").fetchone() == (0,)
    con.close()


def test_the_whitelist_is_the_dbt_models_columns_and_accepted_values():
    """Rules may name exactly the columns the dbt models declare (less the key and
    as_of_date), in order, and a string attribute's choices are its column's
    accepted_values test: the validation and the tables cannot drift apart."""
    manifest = json.loads((settings.DBT_PROJECT_DIR / "target" / "manifest.json").read_text())
    models = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    accepted = {}
    for test in manifest["nodes"].values():
        meta = test.get("test_metadata") or {}
        if test["resource_type"] == "test" and meta.get("name") == "accepted_values":
            node = manifest["nodes"][test["attached_node"]]
            accepted[(node["name"], meta["kwargs"]["column_name"])] = tuple(meta["kwargs"]["values"])
    for entity, relation in sql.ATTRIBUTE_RELATIONS.items():
        schema, name = relation.split(".")
        model = models[name]
        assert model["schema"] == schema
        assert list(model["columns"]) == [sql.MEMBER_KEYS[entity], "as_of_date", *config.ATTRIBUTES[entity]]
        for attr in config.ATTRIBUTES[entity].values():
            assert attr.choices == accepted.get((name, attr.name), ()), (entity, attr.name)


def test_an_invalid_config_fails_the_asset_with_the_validation_message(tmp_path, monkeypatch):
    fake_warehouse(tmp_path / "wh.duckdb").close()
    bad = tmp_path / "segments.yaml"
    bad.write_text(CONFIG.replace("op: gte", "op: at_least"))
    monkeypatch.setenv("BIZINTEL_SEGMENTS_CONFIG", str(bad))
    result = dg.materialize([segment_membership], resources={"warehouse": DuckDBResource(database=str(tmp_path / "wh.duckdb"))},
                            raise_on_error=False)
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert "invalid segments config" in failure.message
    assert f"{bad}:6: segments[0] (buyers).rule.op: unknown op 'at_least'" in failure.message


def test_the_asset_writes_metadata(tmp_path, monkeypatch):
    fake_warehouse(tmp_path / "wh.duckdb").close()
    good = tmp_path / "segments.yaml"
    good.write_text(CONFIG)
    monkeypatch.setenv("BIZINTEL_SEGMENTS_CONFIG", str(good))
    result = dg.materialize([segment_membership], resources={"warehouse": DuckDBResource(database=str(tmp_path / "wh.duckdb"))})
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["dagster/row_count"].value == 3
    assert metadata["config"].value == str(good)
    assert "| buyers | user | 2 | 0.6667 |" in metadata["segment_counts"].value
    assert metadata["row_counts"].value["segments.segment_history"] == 3
