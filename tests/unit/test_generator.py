"""The demo generator writes exactly what docs/raw_contract.md promises, with the
defects it reports, deterministically; the committed seeds are consistent.

The checks re-derive everything from the written files (not from generator
internals) and compare with ``_generator_summary.json``: a defect the summary
claims but the files do not contain, or the reverse, fails a test.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bizintel_dagster.demo import generator, reference

REPO = Path(__file__).resolve().parents[2]
SEEDS = REPO / "seeds"
TZ = "Africa/Johannesburg"
START = date(2026, 5, 1)
DAYS = 21
EVENTS = 60_000
USER_ID = re.compile(r"usr_[0-9]+")
FILE_NAME = re.compile(r"[A-Za-z0-9_.-]+\.(jsonl|csv)")
MISSING = object()
MARKETING_SOURCES = {"organic", "instagram", "tiktok", "google_ads", "referral", "partner_promo"}
IN_SESSION = {"session_start", "session_end", "product_view", "add_to_cart", "checkout_started", "purchase",
              "experiment_exposure", "experiment_conversion"}

PROPERTIES = {
    "signup": {"email", "full_name", "phone", "marketing_source", "country"},
    "session_start": set(),
    "session_end": {"duration_seconds"},
    "product_view": {"product_id"},
    "add_to_cart": {"product_id"},
    "checkout_started": {"product_id"},
    "purchase": {"order_id", "product_id", "quantity", "amount_minor", "currency", "payment_method_id"},
    "refund": {"order_id", "amount_minor", "currency", "payment_method_id", "reason"},
    "experiment_exposure": {"experiment_id", "variant"},
    "experiment_conversion": {"experiment_id", "variant"},
    "abuse_flag": {"flag_type", "severity"},
    "service_error": {"service", "error_code"},
}


def seed_table(name: str) -> list[dict]:
    with (SEEDS / f"{name}.csv").open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def seed_ids(name: str, column: str) -> set[str]:
    return {row[column] for row in seed_table(name)}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("landing")
    summary = generator.generate(out, start=START, days=DAYS, app_events=EVENTS, seed=7, timezone=TZ)
    return out, summary


def local_date(value, tz: str = TZ) -> date | None:
    """Local date of an ISO timestamp with offset, None if it does not parse."""
    if not isinstance(value, str):
        return None
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        return None
    if ts.tzinfo is None:
        return None
    return ts.astimezone(ZoneInfo(tz)).date()


def physical_lines(path: Path) -> list[bytes]:
    data = path.read_bytes()
    assert data.endswith(b"\n"), f"{path} must end with a newline"
    return data[:-1].split(b"\n")


def json_files(root: Path, source: str):
    """(partition date, file, [physical lines]) for every file of a JSON source."""
    for folder in sorted((root / source).glob("dt=*")):
        dt = date.fromisoformat(folder.name[3:])
        for path in sorted(folder.iterdir()):
            yield dt, path, physical_lines(path)


def parse(line: bytes):
    """The record of a line, or the reason it is not one."""
    if not line.strip():
        return None, "blank_line"
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return None, "invalid_utf8"
    try:
        obj = json.loads(text)
    except json.JSONDecodeError:
        return None, "unparseable"
    return (obj, None) if isinstance(obj, dict) else (None, "unparseable")


def is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def line_level(root: Path, source: str, id_key: str):
    """Counts of line-level problems and of id conflicts, plus parsed records."""
    problems: Counter = Counter()
    records = []
    for dt, path, lines in json_files(root, source):
        parsed = []
        for line in lines:
            obj, reason = parse(line)
            if reason:
                problems[reason] += 1
            else:
                records.append((dt, path.name, obj, line))
                parsed.append(line)
        problems["duplicate_line"] += sum(c - 1 for c in Counter(parsed).values())
    by_id = defaultdict(set)
    for dt, _, obj, line in records:
        if obj.get(id_key) not in (None, ""):
            by_id[(dt, obj[id_key])].add(line)
    problems["duplicate_id_conflict"] = sum(len(v) - 1 for v in by_id.values())
    return problems, records


# ---------------------------------------------------------------------------
# Determinism and layout
# ---------------------------------------------------------------------------


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_arguments_give_identical_bytes(tmp_path):
    kwargs = dict(start=START, days=6, app_events=3_000, seed=11, timezone=TZ)
    first = generator.generate(tmp_path / "a", **kwargs)
    second = generator.generate(tmp_path / "b", **kwargs)
    assert first == second
    a, b = snapshot(tmp_path / "a"), snapshot(tmp_path / "b")
    assert len(a) > 10 and a == b
    from_seeds = generator.generate(tmp_path / "c", seeds_dir=SEEDS, **kwargs)
    assert snapshot(tmp_path / "c") == a and from_seeds == first, "seed CSVs and reference.py disagree"
    generator.generate(tmp_path / "d", **{**kwargs, "seed": 12})
    assert snapshot(tmp_path / "d") != a, "the seed must change the data"


def test_rerun_into_same_folder_leaves_only_this_runs_files(tmp_path):
    generator.generate(tmp_path, start=START, days=12, app_events=4_000, seed=1, timezone=TZ)
    summary = generator.generate(tmp_path, start=START, days=12, app_events=4_000, seed=2, timezone=TZ)
    fresh = tmp_path.parent / (tmp_path.name + "_fresh")
    generator.generate(fresh, start=START, days=12, app_events=4_000, seed=2, timezone=TZ)
    assert snapshot(tmp_path) == snapshot(fresh)
    assert summary["late_files"]


def test_layout_and_file_names(run):
    root, summary = run
    dates = {(START + timedelta(i)).isoformat() for i in range(DAYS)}
    files = [p for p in root.rglob("*") if p.is_file()]
    assert (root / generator.SUMMARY_FILE) in files
    for path in files:
        if path.parent == root:
            continue
        source, folder = path.relative_to(root).parts[:2]
        assert source in generator.SOURCES
        assert folder.startswith("dt=") and folder[3:] in dates
        assert FILE_NAME.fullmatch(path.name) and not path.name.startswith(".")
        assert path.name.startswith(f"{source}_{folder[3:]}")
        assert path.suffix == (".csv" if source == "ticketing" else ".jsonl")
    assert not list(root.rglob("*.tmp"))
    assert {p.parts[-2][3:] for p in (root / "app_events").glob("dt=*/*")} == dates
    counted = {s: sum(1 for _ in (root / s).glob("dt=*/*")) for s in generator.SOURCES}
    assert counted == {s: summary["counts"][s]["files"] for s in generator.SOURCES}


# ---------------------------------------------------------------------------
# Contract conformance, with defects matching the summary exactly
# ---------------------------------------------------------------------------


def app_issues(obj: dict, dt: date, products, methods, currencies) -> list[str]:
    issues = []
    if obj.get("event_id") in (None, ""):
        issues.append("missing_event_id")
    user = obj.get("user_id", MISSING)
    if user is MISSING:
        issues.append("missing_user_id")
    elif not (isinstance(user, str) and USER_ID.fullmatch(user)):
        issues.append("invalid_user_id")
    etype = obj.get("event_type")
    if etype not in PROPERTIES:
        issues.append("unknown_event_type")
    day = local_date(obj.get("occurred_at"))
    if day is None:
        issues.append("unparseable_timestamp")
    elif day != dt:
        issues.append("timestamp_outside_partition")
    props = obj.get("properties", {})
    duration = props.get("duration_seconds")
    if etype == "session_end" and not (is_int(duration) and 1 <= duration <= 86_400):
        issues.append("invalid_session_duration")
    if etype in ("purchase", "refund"):
        if not (is_int(props.get("amount_minor")) and props["amount_minor"] >= 0):
            issues.append("negative_amount")
        if props.get("currency") not in currencies:
            issues.append("unknown_currency")
        if props.get("payment_method_id") not in methods:
            issues.append("unknown_payment_method")
    funnel = ("product_view", "add_to_cart", "checkout_started", "purchase")
    if etype in funnel and props.get("product_id") not in products:
        issues.append("unknown_product_id")
    return issues


def test_app_events_follow_the_contract(run):
    root, summary = run
    products, methods = seed_ids("products", "product_id"), seed_ids("payment_methods", "payment_method_id")
    currencies = seed_ids("currencies", "currency_code")
    problems, records = line_level(root, "app_events", "event_id")
    found = Counter()
    clean = 0
    for dt, _, obj, _ in records:
        issues = app_issues(obj, dt, products, methods, currencies)
        found.update(issues)
        if issues:
            continue
        clean += 1
        assert set(obj) <= {"event_id", "event_type", "occurred_at", "user_id", "session_id", "platform", "properties"}
        assert obj["platform"] in ("ios", "android", "web")
        assert obj.get("session_id", "ses_").startswith("ses_")
        assert obj["occurred_at"].endswith("Z")
        props = obj["properties"]
        assert set(props) == PROPERTIES[obj["event_type"]], obj
        if obj["event_type"] == "purchase":
            assert is_int(props["quantity"]) and props["quantity"] >= 1
        if obj["event_type"] == "signup":
            assert props["marketing_source"] in MARKETING_SOURCES
            assert "@" in props["email"] and props["phone"].startswith("+27")
    injected = summary["defects"]["app_events"]
    for kind in found.keys() | {k for k in injected if k not in ("truncated_json", "garbage_line")}:
        expected = injected.get(kind, 0)
        actual = problems[kind] if kind in problems else found[kind]
        assert actual == expected, f"{kind}: files have {actual}, summary says {expected}"
    assert problems["unparseable"] == injected["truncated_json"] + injected["garbage_line"]
    assert clean / len(records) > 0.93
    lines = sum(len(lines) for _, _, lines in json_files(root, "app_events"))
    assert lines == summary["counts"]["app_events"]["lines"]


def test_location_reports_follow_the_contract(run):
    root, summary = run
    venues = {v["venue_id"]: (float(v["width_m"]), float(v["height_m"])) for v in seed_table("venues")}
    problems, records = line_level(root, "location_reports", "report_id")
    found = Counter()
    clean = 0
    for dt, _, obj, _ in records:
        issues = []
        if obj.get("report_id") in (None, ""):
            issues.append("missing_report_id")
        attendee = obj.get("attendee_id", MISSING)
        if attendee is MISSING:
            issues.append("missing_attendee_id")
        elif not (isinstance(attendee, str) and USER_ID.fullmatch(attendee)):
            issues.append("invalid_attendee_id")
        dwell = obj.get("dwell_time_seconds")
        if not (is_int(dwell) and 1 <= dwell <= 86_400):
            issues.append("invalid_dwell_time")
        if obj.get("engagement_status") not in ("active", "passive"):
            issues.append("invalid_engagement")
        x, y = obj.get("x"), obj.get("y")
        width, height = venues[obj["venue_id"]]
        if not (isinstance(x, (int, float)) and isinstance(y, (int, float))):
            issues.append("missing_coordinates")
        elif not (0 <= x <= width and 0 <= y <= height):
            issues.append("out_of_range_coordinates")
        assert local_date(obj["reported_at"]) == dt
        found.update(issues)
        if not issues:
            clean += 1
            assert set(obj) == {"report_id", "attendee_id", "venue_id", "x", "y", "dwell_time_seconds",
                                "engagement_status", "reported_at"}
    injected = summary["defects"]["location_reports"]
    for kind, expected in injected.items():
        if kind in ("truncated_json", "garbage_line"):
            continue
        actual = problems[kind] if kind in problems else found[kind]
        assert actual == expected, f"{kind}: files have {actual}, summary says {expected}"
    assert problems["unparseable"] == injected["truncated_json"] + injected["garbage_line"]
    assert clean / len(records) > 0.93


def read_ticketing(root: Path):
    """(partition date, venue from file name, row fields) for every data line; blank lines as []."""
    for path in sorted((root / "ticketing").glob("dt=*/*.csv")):
        dt = date.fromisoformat(path.parent.name[3:])
        lines = path.read_text(encoding="utf-8").split("\n")
        assert lines[0] == generator.TICKETING_HEADER and lines[-1] == ""
        for line in lines[1:-1]:
            yield dt, path, line, (next(csv.reader(io.StringIO(line))) if line else [])


def test_ticketing_follows_the_contract(run):
    root, summary = run
    venues = seed_ids("venues", "venue_id")
    header = generator.TICKETING_HEADER.split(",")
    found = Counter()
    ids = defaultdict(set)
    lines = Counter()
    checked = []
    for dt, path, line, row in read_ticketing(root):
        lines[(path, line)] += 1
        if not row:
            found["blank_line"] += 1
            continue
        if len(row) != len(header):
            found["missing_column" if len(row) < len(header) else "extra_column"] += 1
            continue
        r = dict(zip(header, row))
        assert r["event_date"] == dt.isoformat()
        if r["ticket_id"]:
            ids[(dt, r["ticket_id"])].add(line)
        issues = []
        if not r["ticket_id"]:
            issues.append("missing_ticket_id")
        if not r["attendee_id"]:
            issues.append("missing_attendee_id")
        elif not USER_ID.fullmatch(r["attendee_id"]):
            issues.append("invalid_attendee_id")
        if r["ticket_type"] not in ("VIP", "Premium", "General"):
            issues.append("invalid_ticket_type")
        if r["checked_in"] not in ("yes", "no"):
            issues.append("invalid_checked_in")
        if r["venue_id"] not in venues:
            issues.append("unknown_venue_id")
        found.update(issues)
        if not issues:
            assert (r["checked_in"] == "yes") == (local_date(r["checked_in_at"]) == dt)
            assert r["checked_in"] == "yes" or r["checked_in_at"] == ""
            checked.append(r["checked_in"] == "yes")
    found["duplicate_line"] = sum(c - 1 for (_, line), c in lines.items() if line and c > 1)
    found["duplicate_id_conflict"] = sum(len(v) - 1 for v in ids.values())
    assert dict(found) == {k: v for k, v in summary["defects"]["ticketing"].items() if v}
    assert 0.70 <= sum(checked) / len(checked) <= 0.85


def test_billing_follows_the_contract(run):
    root, summary = run
    accounts = seed_ids("accounts", "account_id")
    plans = {p["plan_id"]: p for p in seed_table("plans")}
    currencies = seed_ids("currencies", "currency_code")
    _, records = line_level(root, "billing", "record_id")
    assert records
    kinds = Counter()
    for dt, _, obj, _ in records:
        assert local_date(obj["issued_at"]) == dt
        if obj.get("record_type") == "subscription_invoice" and obj.get("plan_id") in plans:
            assert dt.day == 1 and obj["period_start"] == dt.isoformat()
            assert date.fromisoformat(obj["period_end"]) > dt
            if obj.get("amount_minor", -1) >= 0:
                assert obj["amount_minor"] == int(plans[obj["plan_id"]]["price_minor"])
        ok = (obj.get("record_id", "")[:4] in ("inv_", "ord_") and obj.get("account_id") in accounts
              and is_int(obj.get("amount_minor")) and obj["amount_minor"] >= 0 and obj.get("currency") in currencies
              and obj.get("status") in ("paid", "open", "void"))
        kinds[obj.get("record_type") if ok else "defective"] += 1
    assert kinds["subscription_invoice"] > 20 and kinds["sponsorship_order"] > 0
    assert kinds["defective"] <= summary["defect_totals"]["billing"]


def test_ids_match_the_seeds(run):
    root, _ = run
    accounts = {a["account_id"]: a for a in seed_table("accounts")}
    _, records = line_level(root, "billing", "record_id")
    subscribed = {obj["account_id"] for _, _, obj, _ in records if obj.get("account_id") in accounts}
    assert {accounts[a]["account_level"] for a in subscribed} <= {"company", "brand"}
    _, reports = line_level(root, "location_reports", "report_id")
    assert {obj["venue_id"] for _, _, obj, _ in reports} == seed_ids("venues", "venue_id")
    _, events = line_level(root, "app_events", "event_id")
    purchases = [obj["properties"] for _, _, obj, _ in events if obj.get("event_type") == "purchase"]
    assert {p.get("product_id") for p in purchases} >= seed_ids("products", "product_id")
    assert seed_ids("currencies", "currency_code") <= {p.get("currency") for p in purchases}


# ---------------------------------------------------------------------------
# Defect proportions, late files, revenue drop, shape
# ---------------------------------------------------------------------------


def test_defects_are_a_few_percent_of_every_kind(run):
    _, summary = run
    for source in ("app_events", "location_reports", "ticketing"):
        rate = summary["defect_totals"][source] / summary["counts"][source]["records"]
        assert 0.03 <= rate <= 0.05, (source, rate)
    for source in ("app_events", "location_reports"):
        missing = [k for k, v in summary["defects"][source].items() if v == 0]
        assert not missing, f"{source} lacks defects of kind {missing}"
    assert summary["defect_totals"]["billing"] <= 0.15 * summary["counts"]["billing"]["records"]


def test_late_files_hold_records_moved_out_of_their_day(run):
    root, summary = run
    assert 1 <= len(summary["late_dates"]) <= max(2, 0.2 * DAYS)
    assert summary["late_files"]
    for rel in summary["late_files"]:
        path = root / rel
        source, folder = path.relative_to(root).parts[:2]
        assert path.name == f"{source}_{folder[3:]}_late-01.jsonl"
        assert folder[3:] in summary["late_dates"]
        main = path.with_name(f"{source}_{folder[3:]}.jsonl")
        id_key = "event_id" if source == "app_events" else "report_id"
        late_ids = {json.loads(line)[id_key] for line in physical_lines(path) if b'"' + id_key.encode() in line}
        main_lines = physical_lines(main)
        share = len(physical_lines(path)) / (len(main_lines) + len(physical_lines(path)))
        assert 0.003 <= share <= 0.06, share
        main_ids = {obj.get(id_key) for obj, _ in map(parse, main_lines) if obj}
        assert late_ids and not (late_ids & main_ids), "late records must be moved, not copied"


def daily_counts(root: Path, event_type: str) -> dict[date, int]:
    _, records = line_level(root, "app_events", "event_id")
    counts = Counter()
    for dt, _, obj, _ in records:
        if obj.get("event_type") == event_type and local_date(obj.get("occurred_at")) == dt:
            counts[dt] += 1
    return counts


def test_revenue_drop_is_visible(run):
    root, summary = run
    last = START + timedelta(DAYS - 1)
    drop = [date.fromisoformat(d) for d in summary["revenue_drop_dates"]]
    assert drop == [last - timedelta(7), last - timedelta(6), last - timedelta(5)]
    # checkout -> purchase conversion: the injected drop halves it, whatever the
    # day's traffic (drop days can be busier than the week before)
    purchases, checkouts = daily_counts(root, "purchase"), daily_counts(root, "checkout_started")
    week_before = [last - timedelta(k) for k in range(8, 15)]
    baseline = sum(purchases[d] for d in week_before) / sum(checkouts[d] for d in week_before)
    dropped = sum(purchases[d] for d in drop) / sum(checkouts[d] for d in drop)
    assert dropped < 0.7 * baseline, (dropped, baseline)


def test_growth_and_weekly_seasonality(run):
    root, _ = run
    _, records = line_level(root, "app_events", "event_id")
    users = defaultdict(set)
    for dt, _, obj, _ in records:
        users[dt].add(obj.get("user_id"))
    dau = {d: len(u) for d, u in users.items()}
    days = sorted(dau)
    first_week, last_week = sum(dau[d] for d in days[:7]), sum(dau[d] for d in days[-7:])
    assert 1.25 < last_week / first_week < 1.8
    weekend = [dau[d] for d in days if d.weekday() in (4, 5)]
    midweek = [dau[d] for d in days if d.weekday() in (0, 1)]
    assert sum(weekend) / len(weekend) > 1.15 * sum(midweek) / len(midweek)


def test_signup_is_each_users_first_event(run):
    root, _ = run
    _, records = line_level(root, "app_events", "event_id")
    signups, first_seen = {}, {}
    for dt, _, obj, _ in records:
        user, ts = obj.get("user_id"), obj.get("occurred_at")
        if not (isinstance(user, str) and USER_ID.fullmatch(user)) or local_date(ts) != dt:
            continue
        if obj.get("event_type") == "signup":
            assert signups.setdefault(user, ts) == ts, "one sign-up per user"
        elif obj.get("event_type") in IN_SESSION:
            first_seen[user] = min(first_seen.get(user, ts), ts)
    assert len(signups) > 100
    assert all(first_seen.get(u, ts) >= ts for u, ts in signups.items())


def test_attendees_hold_tickets_and_stand_in_zones(run):
    root, _ = run
    tickets = {(r[1], r[5], dt) for dt, _, _, r in read_ticketing(root) if len(r) == 10}
    zones = seed_table("sponsor_zones")
    _, reports = line_level(root, "location_reports", "report_id")
    held = in_zone = n = 0
    for dt, _, obj, _ in reports:
        x, y = obj.get("x"), obj.get("y")
        if not isinstance(x, (int, float)) or not isinstance(y, (int, float)):
            continue
        n += 1
        held += (obj.get("attendee_id"), obj["venue_id"], dt) in tickets
        in_zone += any(z["venue_id"] == obj["venue_id"]
                       and float(z["x_min"]) <= x <= float(z["x_min"]) + float(z["width_m"])
                       and float(z["y_min"]) <= y <= float(z["y_min"]) + float(z["height_m"]) for z in zones)
    assert held / n > 0.85
    assert 0.6 < in_zone / n < 0.97


def test_location_volume_is_about_thirty_percent(run):
    _, summary = run
    ratio = summary["counts"]["location_reports"]["records"] / summary["counts"]["app_events"]["records"]
    assert 0.2 < ratio < 0.4
    assert 0.9 * EVENTS < summary["counts"]["app_events"]["records"] < 1.1 * EVENTS


def test_partition_dates_hold_across_a_dst_change(tmp_path):
    """Europe/London skips an hour on 2026-03-29: timestamps still fall on their dt= day."""
    summary = generator.generate(tmp_path, start=date(2026, 3, 28), days=3, app_events=1_500,
                                 seed=3, timezone="Europe/London")
    # the generator moves a few timestamps to another day on purpose: exactly those are off their day
    assert summary["defects"]["app_events"]["timestamp_outside_partition"] > 0
    wrong = 0
    for source, key in (("app_events", "occurred_at"), ("location_reports", "reported_at"), ("billing", "issued_at")):
        for dt, _, lines in json_files(tmp_path, source):
            for line in lines:
                obj, _ = parse(line)
                day = local_date(obj.get(key), "Europe/London") if obj else None
                wrong += day is not None and day != dt
    assert wrong == summary["defects"]["app_events"]["timestamp_outside_partition"]


def test_cli_writes_the_summary(tmp_path, capsys):
    argv = ["--out", str(tmp_path), "--size", "small", "--days", "3", "--events", "600", "--seed", "5"]
    summary = generator.main(argv)
    assert json.loads((tmp_path / generator.SUMMARY_FILE).read_text()) == summary
    assert summary["arguments"]["days"] == 3 and summary["first_date"] == "2026-05-01"
    assert "wrote 2026-05-01..2026-05-03" in capsys.readouterr().out
    assert set(generator.SIZES) == {"small", "demo", "1m", "10m"}


# ---------------------------------------------------------------------------
# Seeds
# ---------------------------------------------------------------------------


def test_committed_seeds_are_current(tmp_path):
    reference.write_seeds(tmp_path)
    for path in sorted(tmp_path.glob("*.csv")):
        assert (SEEDS / path.name).read_bytes() == path.read_bytes(), f"seeds/{path.name} is stale"
    assert {p.stem for p in SEEDS.glob("*.csv")} >= set(reference.SEED_STEMS)


def test_seed_reference_integrity():
    venues = {v["venue_id"]: v for v in seed_table("venues")}
    sponsors = {s["sponsor_id"]: s for s in seed_table("sponsors")}
    accounts = {a["account_id"]: a for a in seed_table("accounts")}
    parent_level = {"brand": "company", "company": "group"}
    for a in accounts.values():
        assert a["segment"] in ("SMB", "Mid-Market", "Enterprise")
        if a["account_level"] == "group":
            assert a["parent_account_id"] == ""
        else:
            assert accounts[a["parent_account_id"]]["account_level"] == parent_level[a["account_level"]]
    for s in sponsors.values():
        assert accounts[s["account_id"]]["account_level"] == "brand"
    zones = seed_table("sponsor_zones")
    touching = 0
    for z in zones:
        v = venues[z["venue_id"]]
        assert z["sponsor_id"] in sponsors and z["currency"] == "ZAR" and int(z["hourly_rate_minor"]) > 0
        x0, y0, w, h = (float(z[k]) for k in ("x_min", "y_min", "width_m", "height_m"))
        assert 0 <= x0 and 0 <= y0 and x0 + w <= float(v["width_m"]) and y0 + h <= float(v["height_m"])
        touching += x0 == 0 or y0 == 0 or x0 + w == float(v["width_m"]) or y0 + h == float(v["height_m"])
    assert touching >= 3

    def overlap(a, b):
        return (a["venue_id"] == b["venue_id"]
                and float(a["x_min"]) < float(b["x_min"]) + float(b["width_m"])
                and float(b["x_min"]) < float(a["x_min"]) + float(a["width_m"])
                and float(a["y_min"]) < float(b["y_min"]) + float(b["height_m"])
                and float(b["y_min"]) < float(a["y_min"]) + float(a["height_m"]))

    assert any(overlap(a, b) for i, a in enumerate(zones) for b in zones[i + 1:])
    for venue in venues:
        assert 3 <= sum(z["venue_id"] == venue for z in zones) <= 5
    plans = seed_table("plans")
    assert {p["billing_period"] for p in plans} == {"monthly", "annual"}
    assert {p["product_category"] for p in seed_table("products")} == {"ticket", "upgrade", "coins", "gift"}


def test_fx_rates_cover_business_days_for_every_foreign_currency():
    currencies = {c["currency_code"]: int(c["minor_unit_exponent"]) for c in seed_table("currencies")}
    assert currencies == {"ZAR": 2, "USD": 2, "EUR": 2, "GBP": 2, "JPY": 0, "KWD": 3}
    rates = seed_table("fx_rates")
    by_currency = defaultdict(dict)
    for r in rates:
        day = date.fromisoformat(r["rate_date"])
        assert day.weekday() < 5
        assert re.fullmatch(r"[0-9]+\.[0-9]{6}", r["rate_to_base"])
        by_currency[r["currency_code"]][day] = float(r["rate_to_base"])
    assert set(by_currency) == set(currencies) - {"ZAR"}
    business_days = reference.business_days()
    for code, series in by_currency.items():
        assert sorted(series) == business_days
        level = reference.FX_LEVELS[code]
        assert all(0.9 * level < v < 1.1 * level for v in series.values()), code
        values = [series[d] for d in business_days]
        assert max(abs(b / a - 1) for a, b in zip(values, values[1:])) < 0.02, "walk should be smooth"
