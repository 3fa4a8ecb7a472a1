"""Records that parse but break the contract: ambiguous, impossible or repeated.
Two generated days plus hostile records, run day 1, day 2, then day 1 again.
For each record: where it ends (accepted, or quarantined with the reason a
person can act on), conservation holds, and an id re-sent on a later day is
counted once, whichever day is re-run."""

import json
import shutil
from datetime import date

import pytest

from bizintel_dagster import runner, settings
from bizintel_dagster.defs.raw import landing
from bizintel_dagster.demo import generator
from tests.integration.helpers import data_dir, query

pytestmark = [pytest.mark.reliability, pytest.mark.integration]

DAY1, DAY2 = date(2026, 6, 3), date(2026, 6, 4)
TS1, TS2 = "2026-06-03T10:00:00Z", "2026-06-04T11:00:00Z"
PURCHASE = dict(order_id="o", product_id="ticket_general", quantity=1, amount_minor=25000, currency="ZAR",
                payment_method_id="card")

REFUND = dict(order_id="o_refunded", amount_minor=25000, currency="ZAR", payment_method_id="card", reason="customer_request")


def _event(event_id, occurred_at=TS1, event_type="purchase", **properties):
    return json.dumps({"event_id": event_id, "event_type": event_type, "occurred_at": occurred_at,
                       "user_id": "usr_000001", "properties": properties})


def _invoice(record_id, issued_at=TS1, **fields):
    return json.dumps({"record_id": record_id, "record_type": "subscription_invoice", "account_id": "acc_g01",
                       "plan_id": "starter_monthly", "period_start": "2026-06-01", "period_end": "2026-06-30",
                       "amount_minor": 499000, "currency": "ZAR", "issued_at": issued_at, "status": "paid",
                       **fields})


def _report(report_id, reported_at=TS1, **fields):
    return json.dumps({"report_id": report_id, "attendee_id": "usr_000001", "venue_id": "ven_jhb", "x": 10.0,
                       "y": 10.0, "dwell_time_seconds": 600, "engagement_status": "active",
                       "reported_at": reported_at, **fields})


# (source, day, id, line, expected): "accepted", "accepted: <issue fragment>" or "quarantined: <reason fragment>"
CASES = [
    ("app_events", DAY1, "zone_abbreviation", _event("zone_abbreviation", "2026-06-03 10:00:00 PST", **PURCHASE),
     "quarantined: unparseable occurred_at"),
    ("app_events", DAY1, "zone_name", _event("zone_name", "2026-06-03 10:00:00 Europe/Berlin", **PURCHASE),
     "quarantined: unparseable occurred_at"),
    ("app_events", DAY1, "no_offset", _event("no_offset", "2026-06-03T10:00:00", **PURCHASE),
     "quarantined: unparseable occurred_at"),
    ("app_events", DAY1, "with_offset", _event("with_offset", "2026-06-03T12:00:00+02:00", **PURCHASE), "accepted"),
    ("app_events", DAY1, "duplicate_property",
     _event("duplicate_property", **PURCHASE)[:-1].replace('"amount_minor": 25000', '"amount_minor": 25000, "amount_minor": 1') + "}",
     "quarantined: duplicate key properties.amount_minor"),
    ("app_events", DAY1, "duplicate_top_key",
     _event("duplicate_top_key", **PURCHASE).replace('"user_id": "usr_000001"', '"user_id": "usr_000001", "user_id": "usr_000002"'),
     "quarantined: duplicate key user_id"),
    ("app_events", DAY1, "absurd_amount", _event("absurd_amount", **{**PURCHASE, "amount_minor": 10**17}),
     "quarantined: amount_minor above the bound"),
    ("app_events", DAY1, "quantity_zero", _event("quantity_zero", **{**PURCHASE, "quantity": 0}), "quarantined: quantity"),
    ("app_events", DAY1, "quantity_negative", _event("quantity_negative", **{**PURCHASE, "quantity": -2}), "quarantined: quantity"),
    ("app_events", DAY1, "quantity_fraction", _event("quantity_fraction", **{**PURCHASE, "quantity": 1.5}), "quarantined: quantity"),
    ("app_events", DAY1, "quantity_text", _event("quantity_text", **{**PURCHASE, "quantity": "two"}), "quarantined: quantity"),
    ("app_events", DAY1, "resent_purchase", _event("resent_purchase", **PURCHASE), "accepted"),
    ("app_events", DAY2, "resent_purchase", _event("resent_purchase", TS2, **PURCHASE),
     "quarantined: event_id already accepted on 2026-06-03"),
    ("app_events", DAY1, "refunded_purchase", _event("refunded_purchase", **{**PURCHASE, "order_id": "o_refunded"}), "accepted"),
    ("app_events", DAY2, "refund_in_full", _event("refund_in_full", TS2, "refund", **REFUND), "accepted"),
    ("app_events", DAY2, "refund_too_much", _event("refund_too_much", TS2, "refund", **{**REFUND, "amount_minor": 25001}),
     "accepted: refund larger than its purchase"),
    ("app_events", DAY2, "refund_no_order", _event("refund_no_order", TS2, "refund", **{**REFUND, "order_id": "o_never"}),
     "accepted: refund for an order that was never purchased"),
    ("billing", DAY1, "inv_reissued", _invoice("inv_reissued"), "accepted"),
    ("billing", DAY1, "inv_backwards", _invoice("inv_backwards", period_end="2026-05-01"),
     "quarantined: period_end before period_start"),
    ("billing", DAY1, "inv_twelve_months", _invoice("inv_twelve_months", period_end="2027-05-31"),
     "accepted: service period length disagrees with the plan billing_period"),
    ("billing", DAY1, "inv_void_caps", _invoice("inv_void_caps", status="VOID"), "accepted"),
    ("billing", DAY1, "inv_paid_spaces", _invoice("inv_paid_spaces", status=" Paid "), "accepted"),
    ("billing", DAY1, "inv_zone_abbreviation", _invoice("inv_zone_abbreviation", issued_at="2026-06-03 10:00:00 EST"),
     "quarantined: unparseable issued_at"),
    ("billing", DAY2, "inv_reissued", _invoice("inv_reissued", TS2), "quarantined: record_id already accepted on 2026-06-03"),
    ("billing", DAY1, "inv_duplicate_key",
     _invoice("inv_duplicate_key").replace('"amount_minor": 499000', '"amount_minor": 499000, "amount_minor": 1'),
     "quarantined: duplicate key amount_minor"),
    ("location_reports", DAY1, "rep_ok", _report("rep_ok"), "accepted"),
    ("location_reports", DAY1, "rep_zone_abbreviation", _report("rep_zone_abbreviation", "2026-06-03 10:00:00 PST"),
     "quarantined: unparseable reported_at"),
    ("location_reports", DAY1, "rep_duplicate_key",
     _report("rep_duplicate_key").replace('"venue_id": "ven_jhb"', '"venue_id": "ven_jhb", "venue_id": "ven_cpt"'),
     "quarantined: duplicate key venue_id"),
    ("location_reports", DAY2, "rep_ok", _report("rep_ok", TS2), "quarantined: report_id already accepted on 2026-06-03"),
]
ID_COLUMN = {"app_events": "event_id", "billing": "billing_record_id", "location_reports": "report_id"}


@pytest.fixture(scope="module")
def two_days(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad-records")
    with data_dir(root):
        land = settings.landing_dir()
        generator.generate(land, start=DAY1, days=2, app_events=1_500, seed=13)
        for source in ID_COLUMN:
            for day in (DAY1, DAY2):
                lines = [line for s, d, _, line, _ in CASES if s == source and d == day]
                folder = landing.partition_dir(land, source, day)
                folder.mkdir(parents=True, exist_ok=True)  # billing has no file on some days
                (folder / "corpus.jsonl").write_text("\n".join(lines) + "\n")
        # the retry pattern: day 1's generated app-event file re-sent into day 2's folder
        day1_file = sorted(f for f in landing.partition_dir(land, "app_events", DAY1).glob("*.jsonl")
                           if f.name != "corpus.jsonl")[0]
        shutil.copy(day1_file, landing.partition_dir(land, "app_events", DAY2) / "resent.jsonl")
        definitions = runner.load_definitions()
        instance = runner.default_instance()
        results = [runner.run_job(definitions, "reference_job", instance)]
        results.append(runner.run_job(definitions, "daily_pipeline_job", instance, DAY1))
        results.append(runner.run_job(definitions, "daily_pipeline_job", instance, DAY2))
        first = _outcomes()
        results.append(runner.run_job(definitions, "daily_pipeline_job", instance, DAY1))
        yield {"root": root, "results": results, "first": first, "rerun": _outcomes(),
               "resent_file": day1_file.name}


def _outcomes():
    """(source, day, record id) -> sorted outcomes, over every record the runs wrote."""
    out = {}
    for source, column in ID_COLUMN.items():
        for day, rid, issues in query(f"select partition_date, {column}, array_to_string(quality_issues, '; ') "
                                      f"from cleansed.cleansed_{source}"):
            out.setdefault((source, day, rid), []).append("accepted: " + issues)
    for source, day, rid, reason in query("select source, partition_date, record_id, reason from cleansed.quarantine_records"):
        out.setdefault((source, day, rid), []).append("quarantined: " + reason)
    return out


def test_every_run_finishes_and_every_check_passes(two_days):
    for result in two_days["results"]:
        assert result.success
        failed = [k for k, ok in runner.check_results(result).items() if not ok]
        assert not failed, failed


def test_every_record_ends_where_it_should_with_its_reason(two_days):
    outcomes = two_days["first"]
    for source, day, rid, _, expected in CASES:
        got = outcomes.get((source, day, rid))
        assert got is not None and len(got) == 1, (rid, day, got)
        status, _, fragment = expected.partition(": ")
        assert got[0].startswith(status), (rid, day, got)
        assert fragment in got[0], (rid, day, got)
    # case-only status differences are normalised, not deducted
    assert "status" not in outcomes[("billing", DAY1, "inv_void_caps")][0]


def test_re_running_the_first_day_changes_no_outcome(two_days):
    assert two_days["rerun"] == two_days["first"]


def test_a_day_re_sent_into_the_next_days_folder_is_quarantined_naming_the_first_day(two_days):
    with data_dir(two_days["root"]):
        resent = query("""select count(*), count(*) filter (where reason like '%event_id already accepted on 2026-06-03%')
                          from cleansed.quarantine_records where source_file = 'resent.jsonl'""")[0]
        lines = query("select lines_total from raw.landing_files where source_file = $1 and partition_date = $2",
                      ["resent.jsonl", DAY2])[0][0]
        accepted_day1 = query("select count(*) from cleansed.cleansed_app_events where source_file = $1",
                              [two_days["resent_file"]])[0][0]
    # every record day 1 accepted is quarantined on day 2 as already accepted on
    # day 1 (the rest of the copy: day 1's own quarantines and in-day repeats;
    # conservation over the whole day is the blocking check of the first test)
    assert resent[1] == accepted_day1 > 500
    assert accepted_day1 <= resent[0] <= lines


def test_a_void_invoice_in_capitals_is_void_and_not_revenue(two_days):
    with data_dir(two_days["root"]):
        status = query("select billing_status from enriched.enriched_billing where billing_record_id = 'inv_void_caps'")
        revenue = query("select count(*) from fused.fct_revenue where revenue_id = 'inv_void_caps'")[0][0]
    assert status == [("void",)] and revenue == 0


def test_a_re_sent_purchase_and_a_re_issued_invoice_count_once_in_revenue(two_days):
    with data_dir(two_days["root"]):
        purchases = query("select count(*) from fused.fct_revenue where revenue_id = 'resent_purchase'")[0][0]
        invoices = query("select count(*) from fused.fct_revenue where revenue_id = 'inv_reissued'")[0][0]
    assert purchases == 1 and invoices == 1
