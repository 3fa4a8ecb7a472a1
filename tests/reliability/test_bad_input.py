"""A corpus of defective inputs, one case per kind, on top of a normal day of
demo data. For each: the run finishes, the line is in the warehouse or in
quarantine with a reason a person can act on, conservation holds, and hostile
strings are stored as data, never executed."""

import gzip
import json
from datetime import date

import pytest

from bizintel_dagster import runner, settings
from bizintel_dagster.defs.raw import landing
from bizintel_dagster.demo import generator
from tests.integration.helpers import data_dir, query

pytestmark = [pytest.mark.reliability, pytest.mark.integration]

DAY = date(2026, 6, 6)  # a Saturday: no FX fixing that day, the rate is carried forward
TS = "2026-06-06T10:00:00Z"
HEADER = ",".join(landing.TICKETING_COLUMNS)


def _event(event_id, event_type="purchase", occurred_at=TS, user_id="usr_000001", **properties):
    record = {"event_id": event_id, "event_type": event_type, "occurred_at": occurred_at, "user_id": user_id,
              "properties": properties}
    return json.dumps({k: v for k, v in record.items() if v is not None})


PURCHASE = dict(order_id="o", product_id="ticket_general", quantity=1, amount_minor=25000, currency="ZAR",
                payment_method_id="card")

# (id, line, expected outcome): "quarantined: <reason fragment>" or "accepted"
APP_EVENTS = [
    ("truncated", '{"event_id":"truncated","event_type":"purchase","occurred_at":"2026-06', "quarantined: invalid JSON"),
    ("invalid_json", "{event_id: invalid_json, 'type': purchase}", "quarantined: invalid JSON"),
    ("wrong_types", _event("wrong_types", **{**PURCHASE, "amount_minor": "lots"}), "quarantined: amount_minor"),
    ("float_amount", _event("float_amount", **{**PURCHASE, "amount_minor": 12.5}), "quarantined: amount_minor"),
    ("missing_fields", json.dumps({"event_type": "signup", "occurred_at": TS}), "quarantined: missing event_id"),
    ("unknown_type", _event("unknown_type", event_type="teleport"), "quarantined: unknown event_type"),
    ("negative_amount", _event("negative_amount", **{**PURCHASE, "amount_minor": -500}), "quarantined: negative amount_minor"),
    ("far_future", _event("far_future", occurred_at="2999-01-01T00:00:00Z", **PURCHASE), "quarantined: occurred_at outside the partition day"),
    ("before_1970", _event("before_1970", occurred_at="1969-12-31T23:00:00Z", **PURCHASE), "quarantined: occurred_at outside the partition day"),
    ("bad_timestamp", _event("bad_timestamp", occurred_at="yesterday-ish", **PURCHASE), "quarantined: unparseable occurred_at"),
    ("unknown_currency", _event("unknown_currency", **{**PURCHASE, "currency": "XYZ"}), "quarantined: unknown currency"),
    ("fx_gap", _event("fx_gap", **{**PURCHASE, "currency": "USD", "amount_minor": 1000}), "accepted"),
    ("conflict", _event("conflict", **PURCHASE), "accepted"),
    ("conflict", _event("conflict", **{**PURCHASE, "amount_minor": 99}), "quarantined: event_id reused by a different record"),
    ("hostile_strings", _event("hostile_strings", event_type="signup", email="'; drop table raw.app_events; --",
                               full_name="<script>alert(1)</script>", phone="=HYPERLINK(\"http://evil\")",
                               marketing_source="=cmd|' /C calc'!A0"), "accepted"),
]


def _write(folder, name, data: bytes):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


# --- Landing files that break the contract (issue 13; RELIABILITY.md "Landing files that break the contract") ---
# Record-level cases live elsewhere; these are whole files with a wrong name, place, encoding or CSV shape.
# (path under the landing root, bytes, expected landing_files row (status, lines_total, loaded, rejected) or
#  None for a path outside any source/day, which only the landing check reports)
TICKET = "{id},usr_000004,Ann,a@x.io,+27,ven_jhb,2026-06-06,General,no,"
FILE_CASES = [
    ("app_events/dt=2026-06-06/upper.JSONL", _event("f_upper", **PURCHASE).encode() + b"\n", ("loaded", 1, 1, 0)),
    ("app_events/dt=2026-06-06/f.ndjson", _event("f_ndjson", **PURCHASE).encode() + b"\n", ("loaded", 1, 1, 0)),
    ("app_events/dt=2026-06-06/f.jsonl.gz", gzip.compress(_event("f_gzip", **PURCHASE).encode() + b"\n"), ("loaded", 1, 1, 0)),
    ("app_events/dt=2026-06-06/bom.jsonl", b"\xef\xbb\xbf" + _event("f_bom", **PURCHASE).encode() + b"\n", ("loaded", 1, 1, 0)),
    ("app_events/dt=2026-06-06/space name.jsonl", (_event("f_space", **PURCHASE) + "\n{}\n").encode(), ("rejected", 2, 0, 2)),
    ("app_events/dt=2026-06-06/caf\u00e9.jsonl", _event("f_accent", **PURCHASE).encode() + b"\n", ("rejected", 1, 0, 1)),
    ("app_events/dt=2026-06-06/retry/late.jsonl", _event("f_sub", **PURCHASE).encode() + b"\n", ("rejected", 1, 0, 1)),
    ("app_events/dt=2026-06-06/.half.jsonl.tmp", b"{}\n", ("skipped", 0, 0, 0)),
    ("ticketing/dt=2026-06-06/mac.csv", "\r".join([HEADER, TICKET.format(id="f_mac1"), TICKET.format(id="f_mac2")]).encode(),
     ("loaded", 2, 2, 0)),
    ("ticketing/dt=2026-06-06/noheader.csv", (TICKET.format(id="f_nohead1") + "\n" + TICKET.format(id="f_nohead2") + "\n").encode(),
     ("rejected", 2, 0, 2)),
    ("ticketing/dt=2026-06-06/permuted.csv",
     (",".join(reversed(landing.TICKETING_COLUMNS)) + "\n" + ",".join(reversed(TICKET.format(id="f_perm").split(","))) + "\n").encode(),
     ("loaded", 1, 1, 0)),
    ("ticketing/dt=2026-06-06/quotes.csv", "\n".join([
        HEADER, TICKET.format(id="f_q1").replace(",Ann,", ',"Ann\nSmith",'),  # a quoted newline: one record, two lines
        TICKET.format(id="f_q2").replace(",Ann,", ',"Unclosed,'), TICKET.format(id="f_q3")]).encode() + b"\n",
     ("loaded", 3, 2, 1)),
    ("app_event/dt=2026-06-06/typo.jsonl", b"{}\n", None),
    ("billing/loose.jsonl", b"{}\n", None),
]
FILE_CASES_ACCEPTED = ["f_upper", "f_ndjson", "f_gzip", "f_bom"]
TICKETS_ACCEPTED = ["f_mac1", "f_mac2", "f_perm", "f_q1", "f_q3"]
LANDING_CHECK = "raw/landing_files:landing_files_follow_the_contract"


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad-input")
    with data_dir(root):
        land = settings.landing_dir()
        generator.generate(land, start=DAY, days=1, app_events=4_000, seed=21)
        app = landing.partition_dir(land, "app_events", DAY)
        lines = [line.encode() for _, line, _ in APP_EVENTS]
        lines.append(b'{"event_id":"bad_bytes","event_type":"signup","user_id":"usr_\xff\xfe"}')
        lines.append(b"x" * (10 * 1024 * 1024))  # a 10 MB line
        lines.append(b"")  # a blank line
        _write(app, "corpus.jsonl", b"\n".join(lines) + b"\n")
        _write(app, "empty.jsonl", b"")
        _write(app, "../../escape.jsonl".replace("/", "_"), b"{}\n")  # odd but safe name
        reports = landing.partition_dir(land, "location_reports", DAY)
        report = {"attendee_id": "usr_000002", "venue_id": "ven_jhb", "x": 10, "y": 10, "dwell_time_seconds": 600,
                  "engagement_status": "active", "reported_at": TS}
        _write(reports, "corpus.jsonl", "\n".join(json.dumps({**report, **case}) for case in [
            {"report_id": "dwell_years", "dwell_time_seconds": 3 * 365 * 86400},
            {"report_id": "out_of_venue", "x": -5, "y": 99999},
            {"report_id": "bad_engagement", "engagement_status": "ACTIVE!!"},
        ]).encode() + b"\n")
        tickets = landing.partition_dir(land, "ticketing", DAY)
        _write(tickets, "empty.csv", b"")
        _write(tickets, "header_only.csv", (HEADER + "\n").encode())
        _write(tickets, "shifted.csv", (HEADER + "\nshift1,usr_000003,Ann,a@x.io,+27,ven_jhb,2026-06-06,VIP,yes,,EXTRA\n"
                                        "ok1,usr_000004,\"<b>Bob</b>\",b@x.io,+27,ven_jhb,2026-06-06,General,no,\n").encode())
        for rel, data, _ in FILE_CASES:  # contract-breaking files (issue 13)
            _write((land / rel).parent, (land / rel).name, data)
        outside = root / "outside.jsonl"
        outside.write_bytes(_event("f_link", **PURCHASE).encode() + b"\n")
        (app / "link.jsonl").symlink_to(outside)  # rejected, never followed
        definitions = runner.load_definitions()
        instance = runner.default_instance()
        results = [runner.run_job(definitions, "reference_job", instance),
                   runner.run_job(definitions, "daily_pipeline_job", instance, DAY),
                   runner.run_job(definitions, "publish_job", instance)]
        yield {"root": root, "results": results}


def test_the_run_finishes_and_every_check_passes(corpus_run):
    for result in corpus_run["results"]:
        assert result.success
        failed = [k for k, ok in runner.check_results(result).items() if not ok and k != LANDING_CHECK]
        assert not failed, failed


# --- Landing files that break the contract (issue 13) ---

def test_contract_breaking_files_are_loaded_or_rejected_with_their_lines_counted(corpus_run):
    with data_dir(corpus_run["root"]):
        files = {(s, f): row for s, f, *row in query(
            "select source, source_file, status, lines_total, lines_loaded, lines_rejected from raw.landing_files")}
        rejected = dict(query("""select source || '/' || source_file, count(*) from raw.rejected_lines
                                 group by all"""))
        quarantined = dict(query("""select source || '/' || source_file, count(*) from cleansed.quarantine_records
                                    group by all"""))
        events = {r for (r,) in query("select event_id from cleansed.cleansed_app_events where event_id like 'f\\_%' escape '\\'")}
        tickets = {r for (r,) in query("select ticket_id from cleansed.cleansed_ticketing where ticket_id like 'f\\_%' escape '\\'")}
    for rel, _, expected in FILE_CASES:
        if expected is None:
            continue
        source, _, name = rel.split("/", 2)
        assert files[(source, name)] == list(expected), rel
        # the data-integrity report counts a rejected file's lines: each one is in quarantine with its reason
        if expected[0] == "rejected":
            assert rejected[f"{source}/{name}"] == expected[1] == quarantined[f"{source}/{name}"], rel
    assert files[("app_events", "link.jsonl")] == ["rejected", 0, 0, 0]
    assert events == set(FILE_CASES_ACCEPTED)
    assert tickets == set(TICKETS_ACCEPTED)


def test_the_landing_check_warns_and_lists_every_unexpected_path(corpus_run):
    [evaluation] = [e for e in corpus_run["results"][1].get_asset_check_evaluations()
                    if f"{e.asset_key.to_user_string()}:{e.check_name}" == LANDING_CHECK]
    assert not evaluation.passed and evaluation.severity.value == "WARN"
    listed = evaluation.metadata["files"].value
    for name in ("space name.jsonl", "café.jsonl", "retry/late.jsonl", ".half.jsonl.tmp", "link.jsonl", "noheader.csv"):
        assert name in listed, name
    outside = evaluation.metadata["outside_partitions"].value
    assert "app_event/" in outside and "billing/loose.jsonl" in outside
    assert evaluation.metadata["lines_in_rejected_files"].value == sum(
        e[1] for _, _, e in FILE_CASES if e and e[0] == "rejected")


def test_every_app_event_case_ends_where_it_should(corpus_run):
    with data_dir(corpus_run["root"]):
        quarantined = query("""select record_id, reason, line_number from cleansed.quarantine_records
                               where source_file = 'corpus.jsonl' and source = 'app_events'""")
        accepted = {r for (r,) in query("select event_id from cleansed.cleansed_app_events")}
    by_line = {line: (record_id, reason) for record_id, reason, line in quarantined}
    for line_number, (case_id, _, expected) in enumerate(APP_EVENTS, start=1):
        if expected == "accepted":
            assert case_id in accepted, case_id
        else:
            assert line_number in by_line, f"{case_id} (line {line_number}) not quarantined"
            assert expected.removeprefix("quarantined: ") in by_line[line_number][1], (case_id, by_line[line_number])
    n = len(APP_EVENTS)
    assert "invalid UTF-8" in by_line[n + 1][1]
    assert "invalid JSON" in by_line[n + 2][1]
    assert "empty line" in by_line[n + 3][1]


def test_the_10mb_line_is_quarantined_with_a_short_excerpt(corpus_run):
    with data_dir(corpus_run["root"]):
        (length,) = query("""select max(length(line_excerpt)) from raw.rejected_lines
                              where source_file = 'corpus.jsonl'""")[0]
    assert length <= 300


def test_fx_gap_uses_the_last_earlier_rate(corpus_run):
    with data_dir(corpus_run["root"]):
        status, rate_date, amount = query("""select fx_status, fx_rate_date, amount_reporting_minor
                                             from enriched.enriched_app_events where event_id = 'fx_gap'""")[0]
    assert status == "carried_forward_rate" and rate_date < DAY and amount > 1000


def test_absurd_location_values_are_sanitised_not_used(corpus_run):
    with data_dir(corpus_run["root"]):
        rows = dict((r[0], r[1:]) for r in query("""select report_id, dwell_seconds, x_m, engagement_status, quality_score
                                                     from cleansed.cleansed_location_reports
                                                     where report_id in ('dwell_years', 'out_of_venue', 'bad_engagement')"""))
    assert rows["dwell_years"][0] is None and rows["dwell_years"][3] == 80
    assert rows["out_of_venue"][1] is None and rows["out_of_venue"][3] == 90
    assert rows["bad_engagement"][2] is None and rows["bad_engagement"][3] == 85


def test_csv_cases_are_accounted_for(corpus_run):
    with data_dir(corpus_run["root"]):
        files = dict((r[0], r[1:]) for r in query("""select source_file, lines_total, lines_loaded, lines_rejected
                                                      from raw.landing_files where source = 'ticketing'
                                                      and source_file in ('empty.csv', 'header_only.csv', 'shifted.csv')"""))
        reason = query("select reason from cleansed.quarantine_records where source_file = 'shifted.csv'")[0][0]
        name_hashed = query("select count(*) from cleansed.cleansed_ticketing where ticket_id = 'ok1'")[0][0]
    assert files["empty.csv"] == (0, 0, 0) and files["header_only.csv"] == (0, 0, 0)
    assert files["shifted.csv"] == (2, 1, 1)
    assert "TOO MANY COLUMNS" in reason
    assert name_hashed == 1


def test_hostile_strings_are_data_not_code(corpus_run):
    with data_dir(corpus_run["root"]):
        source = query("select marketing_source from cleansed.cleansed_app_events where event_id = 'hostile_strings'")[0][0]
        tables = query("select count(*) from duckdb_tables() where schema_name = 'raw' and table_name = 'app_events'")[0][0]
        clear = query("""select count(*) from cleansed.cleansed_app_events
                         where list_contains([email_hash, phone_hash], $1) or list_contains([email_hash, phone_hash], $2)""",
                      ["'; drop table raw.app_events; --", '=HYPERLINK("http://evil")'])[0][0]
    assert source == "=cmd|' /c calc'!a0"  # kept as (lower-cased) data for reports to neutralise
    assert tables == 1  # the "drop table" payload was never executed
    assert clear == 0  # PII is hashed, never stored in clear
