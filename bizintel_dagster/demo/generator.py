"""Deterministic demo-data generator: writes a landing zone that follows
docs/raw_contract.md, with realistic shape and deliberate, counted defects.

    python -m bizintel_dagster.demo.generator --out data/landing --size demo \\
        [--start 2026-05-01] [--days N] [--events N] [--seed N] [--timezone TZ]

Why it is built this way:

* **Deterministic.** A global plan (daily volumes, user-pool growth, event
  schedule, subscriptions, which days get late files) comes from one RNG seeded
  with ``seed``; each day then draws from its own RNGs seeded with
  ``(seed, stream, date)``. Same arguments, byte-identical files. The only state
  carried from day to day is the small queue of refunds due for earlier purchases.
* **Fast and bounded.** A day is generated as numpy columns and serialised with
  vectorised Arrow string kernels (no per-row Python); memory is one day's data.
* **Honest defects.** About ``DEFECT_RATE`` of each source's records are damaged in
  every way the quality rules know; each damaged record or injected line is
  counted per kind in ``_generator_summary.json`` so tests and demos can compare
  what the pipeline quarantined with what was injected.
* **Alerts have something to find.** Purchase volume is cut by half on three
  consecutive days ending five days before the last day, and one hour each gets
  an abuse-flag spike and a service-error spike (dates in the summary).

Reference ids (venues, zones, accounts, plans, products, payment methods,
currencies) come from ``reference.py``, or from a seeds folder if one is given,
so every id the generator writes exists in the seeds.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bizintel_dagster import settings
from bizintel_dagster.demo import reference

# ----------------------------------------------------------------------------
# Sizes and tunables
# ----------------------------------------------------------------------------

SIZES: dict[str, dict[str, int]] = {
    "small": {"days": 14, "app_events": 5_000},
    "demo": {"days": 120, "app_events": 250_000},
    "1m": {"days": 180, "app_events": 1_000_000},
    "10m": {"days": 365, "app_events": 10_000_000},
}
DEFAULT_START = date(2026, 5, 1)
SUMMARY_FILE = "_generator_summary.json"
SOURCES = ("app_events", "location_reports", "ticketing", "billing")

LOCATION_SHARE = 0.30       # location reports per app event, over the whole window
DEFECT_RATE = 0.04          # share of records damaged (or lines injected), per source
LATE_DAY_SHARE = 0.10       # share of days that get a late file
LATE_RECORD_SHARE = 0.02    # share of such a day's records that arrive late
GROWTH = 0.50               # active users grow by this much over the window
ACTIVE_SHARE = 0.20         # daily active users / known users at the start
SIGNUP_GROWTH = 0.60        # new sign-ups over the window, relative to the initial base
DROP_FACTOR = 0.5           # purchase volume on injected revenue-drop days
USER_ID_BASE = 100_000      # user index i is "usr_{USER_ID_BASE + i}"
# Users who sign up in the window do not all stay: a share is loyal, the others
# leave after an exponential lifetime (stable per user), so cohorts retain
# differently and churn is visible. Users known before the window are the loyal core.
LOYAL_SHARE = 0.45
LIFETIME_MEAN_DAYS = 40

WEEKDAY_FACTOR = np.array([0.85, 0.85, 0.90, 0.95, 1.15, 1.30, 1.10])  # Mon..Sun
EVENT_DAY_PROBABILITY = np.array([0.05, 0.05, 0.15, 0.25, 0.70, 0.90, 0.60])  # per venue
HOUR_WEIGHTS = np.array([0.5, 0.3, 0.2, 0.15, 0.15, 0.3, 0.8, 1.5, 2.0, 2.0, 2.0, 2.2,
                         2.5, 2.3, 2.2, 2.3, 2.6, 3.2, 4.0, 4.6, 4.8, 4.2, 3.0, 1.5])
HOUR_P = HOUR_WEIGHTS / HOUR_WEIGHTS.sum()

# Session and funnel behaviour (per session): decreasing conversion per step.
SESSIONS_EXTRA = 0.6        # sessions per active user = 1 + Poisson(0.6)
VIEWS_PER_SESSION = 2.2
P_CART, P_CHECKOUT, P_PURCHASE = 0.28, 0.55, 0.70
REFUND_SHARE = 0.02

EVENT_TYPES = [
    "signup", "session_start", "session_end", "product_view", "add_to_cart",
    "checkout_started", "purchase", "refund", "experiment_exposure",
    "experiment_conversion", "abuse_flag", "service_error",
]
(SIGNUP, S_START, S_END, VIEW, CART, CHECKOUT, PURCHASE, REFUND,
 EXPOSURE, CONVERSION, ABUSE, ERROR) = range(len(EVENT_TYPES))
# Order of events that share a millisecond (sign-up before its first session...).
TIE_ORDER = np.array([0, 1, 9, 3, 4, 5, 6, 5, 2, 7, 5, 5], dtype=np.int8)

PLATFORMS = ["ios", "android", "web"]
MARKETING_SOURCES = ["organic", "instagram", "tiktok", "google_ads", "referral", "partner_promo"]
MARKETING_P = [0.35, 0.18, 0.15, 0.15, 0.10, 0.07]
COUNTRIES = ["ZA", "NA", "BW", "ZW", "LS", "GB", "US"]
COUNTRY_CUM = np.cumsum([90, 2, 2, 2, 1, 2, 1])
REFUND_REASONS = ["event_cancelled", "duplicate_charge", "customer_request", "fraud_suspected"]
REFUND_REASON_P = [0.35, 0.20, 0.38, 0.07]
ABUSE_FLAGS = ["spam_chat", "fake_account", "payment_fraud", "bot_traffic", "harassment", "ticket_scalping"]
SEVERITIES = ["low", "medium", "high", "critical"]
SEVERITY_P = [0.5, 0.3, 0.15, 0.05]
SERVICES = ["payments", "ticketing", "auth", "catalog", "streaming", "location"]
ERROR_CODES = ["HTTP_500", "HTTP_502", "HTTP_503", "HTTP_504", "TIMEOUT", "DB_CONN_RESET", "RATE_LIMITED"]

# (experiment_id, window as share of the period, conversion rate per variant)
# exp_checkout_cta's treatment is genuinely better; the others are flat or worse.
EXPERIMENTS = [
    ("exp_checkout_cta", (0.0, 1.0), (0.08, 0.11)),
    ("exp_onboarding_v2", (0.0, 0.6), (0.20, 0.20)),
    ("exp_price_display", (0.3, 1.0), (0.060, 0.055)),
]
VARIANTS = ["control", "treatment"]
EXPERIMENT_ELIGIBLE = 0.6   # share of users in each experiment
EXPOSURE_PER_DAY = 0.25     # chance an eligible active user is exposed on a day

TICKET_TYPES = ["General", "Premium", "VIP"]
TICKET_P = [0.70, 0.22, 0.08]
TICKETS_PER_DAU = 0.30      # tickets per event relative to the day's active users
WALK_IN_SHARE = 0.04        # location-reporting attendees without a ticket
PACKAGES = ["bronze", "silver", "gold", "platinum"]
PACKAGE_P = [0.40, 0.30, 0.20, 0.10]
PACKAGE_ZAR_MINOR = [2_500_000, 6_000_000, 15_000_000, 40_000_000]

FIRST_NAMES = [
    "Thabo", "Lerato", "Sipho", "Naledi", "Pieter", "Annika", "Ayesha", "Priya", "Johan",
    "Zanele", "Bongani", "Kagiso", "Refilwe", "Themba", "Nomvula", "Lindiwe", "Mandla",
    "Karabo", "Tshepo", "Palesa", "Ruan", "Chante", "Megan", "Jason", "Fatima", "Yusuf",
    "Liam", "Emma", "Siyabonga", "Ntombi", "Andile", "Keabetswe", "Riaan", "Marike",
    "Kyle", "Candice", "Anele", "Musa", "Zinhle", "Dineo",
]
LAST_NAMES = [
    "Nkosi", "Dlamini", "Mokoena", "Naidoo", "van der Merwe", "Botha", "Pillay", "Khumalo",
    "Mthembu", "Ndlovu", "Mahlangu", "Smith", "Jacobs", "Pretorius", "Govender", "Sithole",
    "Zulu", "Molefe", "Venter", "Adams", "Petersen", "Baloyi", "Mabaso", "Nel",
    "du Plessis", "Williams", "Maharaj", "Hendricks", "Cele", "Radebe",
]
EMAIL_DOMAINS = ["example.com", "example.co.za", "example.org", "mail.example.net"]
PHONE_PREFIXES = ["60", "61", "62", "71", "72", "73", "74", "76", "79", "81", "82", "83", "84"]

DAY_MS = 86_400_000
HOUR_MS = 3_600_000

# RNG streams: one per concern, so that changing one never shifts another.
(_PLAN, _APP, _VENUE, _APP_DEFECTS, _VENUE_DEFECTS, _BILLING_DEFECTS,
 _APP_LATE, _LOCATION_LATE, _BILLING_LATE) = range(1, 10)


def _rng(seed: int, stream: int, day: date | None = None) -> np.random.Generator:
    return np.random.default_rng([seed, stream, day.toordinal() if day else 0])


def _hash(values: np.ndarray, salt: int) -> np.ndarray:
    """SplitMix64 of (value, salt): stable per-user attributes (name, platform,
    experiment variant) without storing anything per user."""
    with np.errstate(over="ignore"):
        z = values.astype(np.uint64) + np.uint64(salt) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


# ----------------------------------------------------------------------------
# Reference data
# ----------------------------------------------------------------------------


@dataclass
class Reference:
    """The reference tables the generator needs, as arrays indexed by position."""

    venue_ids: list[str]
    venue_size: np.ndarray          # (n_venues, 2) width, height
    zone_venue: np.ndarray          # venue index per zone
    zone_rect: np.ndarray           # (n_zones, 4) x_min, y_min, x_max, y_max
    product_ids: list[str]
    product_category: list[str]
    product_price: np.ndarray       # ZAR minor
    payment_methods: list[str]
    currencies: list[str]
    currency_exponent: np.ndarray
    fx_level: np.ndarray            # ZAR per unit, per currency (1 for ZAR)
    plans: dict[str, tuple[str, int, str]]   # plan_id -> (billing_period, price_minor, currency)
    accounts: list[dict]            # accounts.csv rows
    brand_ids: list[str]

    @classmethod
    def load(cls, seeds_dir: Path | None = None) -> "Reference":
        t = reference.read_seeds(seeds_dir) if seeds_dir else reference.tables()
        rows = {name: [dict(zip(cols, r)) for r in data] for name, (cols, data) in t.items()}
        venues = rows["venues"]
        venue_index = {v["venue_id"]: i for i, v in enumerate(venues)}
        zones = rows["sponsor_zones"]
        currencies = [c["currency_code"] for c in rows["currencies"]]
        rates: dict[str, list[float]] = {}
        for r in rows["fx_rates"]:
            rates.setdefault(r["currency_code"], []).append(float(r["rate_to_base"]))
        level = [1.0 if c == reference.REPORTING_CURRENCY else float(np.median(rates.get(c, [1.0])))
                 for c in currencies]
        return cls(
            venue_ids=[v["venue_id"] for v in venues],
            venue_size=np.array([[v["width_m"], v["height_m"]] for v in venues], dtype=float),
            zone_venue=np.array([venue_index[z["venue_id"]] for z in zones]),
            zone_rect=np.array([[z["x_min"], z["y_min"], z["x_min"] + z["width_m"], z["y_min"] + z["height_m"]]
                                for z in zones], dtype=float),
            product_ids=[p["product_id"] for p in rows["products"]],
            product_category=[p["product_category"] for p in rows["products"]],
            product_price=np.array([p["list_price_minor"] for p in rows["products"]], dtype=np.int64),
            payment_methods=[p["payment_method_id"] for p in rows["payment_methods"]],
            currencies=currencies,
            currency_exponent=np.array([c["minor_unit_exponent"] for c in rows["currencies"]]),
            fx_level=np.array(level),
            plans={p["plan_id"]: (p["billing_period"], int(p["price_minor"]), p["currency"]) for p in rows["plans"]},
            accounts=rows["accounts"],
            brand_ids=[a["account_id"] for a in rows["accounts"] if a["account_level"] == "brand"],
        )

    def unit_price(self) -> np.ndarray:
        """(n_products, n_currencies) price in each currency's minor units, from the
        ZAR list price at the currency's typical rate."""
        major = self.product_price[:, None] / 100.0 / self.fx_level[None, :]
        return np.maximum(1, np.round(major * 10.0 ** self.currency_exponent[None, :])).astype(np.int64)


# ----------------------------------------------------------------------------
# Vectorised JSON / CSV serialisation
# ----------------------------------------------------------------------------


def _text(values: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """Numbers as JSON text (null where ``mask`` is True)."""
    return pc.cast(pa.array(values, mask=mask), pa.string())


def _pick(names: list[str], codes: np.ndarray) -> pa.Array:
    """Category names by code; negative codes become null."""
    codes = np.asarray(codes)
    return pa.array(names, pa.string()).take(pa.array(codes, mask=codes < 0))


def _ids(prefix: str, numbers: np.ndarray, width: int, mask: np.ndarray | None = None) -> pa.Array:
    return pc.binary_join_element_wise(prefix, pc.utf8_lpad(_text(numbers, mask), width, "0"), "")


def _timestamps(ms: np.ndarray) -> pa.Array:
    return pa.array(np.datetime_as_string(ms.astype("datetime64[ms]"), unit="ms", timezone="UTC"))


def _user_ids(users: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    return pc.binary_join_element_wise("usr_", _text(users + USER_ID_BASE, mask), "")


def _scatter(n: int, positions: np.ndarray, values: pa.Array) -> pa.Array:
    """A length-n string array holding ``values`` at sorted ``positions``, null elsewhere."""
    mask = np.zeros(n, dtype=bool)
    mask[positions] = True
    return pc.replace_with_mask(pa.nulls(n, pa.string()), pa.array(mask), values)


class Records:
    """Records of one source and day as JSON fragments: per key an Arrow string
    column of ``,"key":value`` (null where the record lacks the key). Overrides
    replace raw JSON text of a key for chosen rows, which is how defects are made."""

    def __init__(self, n: int):
        self.n = n
        self.fields: dict[str, pa.Array] = {}

    def put(self, key: str, values: pa.Array, quoted: bool = True) -> None:
        if quoted:
            self.fields[key] = pc.binary_join_element_wise(f',"{key}":"', values, '"', "")
        else:
            self.fields[key] = pc.binary_join_element_wise(f',"{key}":', values, "")

    def override(self, key: str, idx: np.ndarray, raw: list[str | None]) -> None:
        """Set ``key`` of rows ``idx`` to raw JSON text (``None`` removes the key)."""
        if len(idx) == 0:
            return
        order = np.argsort(idx, kind="stable")
        mask = np.zeros(self.n, dtype=bool)
        mask[idx] = True
        new = pa.array([None if raw[i] is None else f',"{key}":{raw[i]}' for i in order], pa.string())
        base = self.fields.get(key, pa.nulls(self.n, pa.string()))
        self.fields[key] = pc.replace_with_mask(base, pa.array(mask), new)

    def objects(self) -> pa.Array:
        if not self.fields:
            return pa.array(["{}"] * self.n, pa.string())
        body = pc.binary_join_element_wise(*self.fields.values(), "", null_handling="replace")
        return pc.binary_join_element_wise("{", pc.utf8_slice_codeunits(body, 1), "}", "")


def _file_bytes(lines: pa.Array) -> bytes:
    """Lines (string or binary) joined with ``\\n``, ending in ``\\n``."""
    if len(lines) == 0:
        return b""
    lines = lines.cast(pa.binary())
    nl = pc.binary_join_element_wise(lines, pa.scalar(b"", pa.binary()), pa.scalar(b"\n", pa.binary()))
    offsets = np.frombuffer(nl.buffers()[1], dtype=np.int32)[nl.offset: nl.offset + len(nl) + 1]
    return nl.buffers()[2].to_pybytes()[offsets[0]: offsets[-1]]


def _as_list(a: pa.Array, idx: np.ndarray) -> list:
    return a.take(pa.array(idx, pa.int64())).to_pylist()


def _json_choice(rng, options: list[str], n: int) -> list[str]:
    """n options drawn at random, as JSON string literals."""
    return [json.dumps(options[i]) for i in rng.integers(0, len(options), n)]


def _percentile(users: np.ndarray, salt: int) -> np.ndarray:
    """A stable 0..99 per user, for attributes such as platform and country."""
    return (_hash(users, salt) % np.uint64(100)).astype(np.int64)


# ----------------------------------------------------------------------------
# Defects
# ----------------------------------------------------------------------------

# Per source: kind -> weight. Line-level kinds add or replace physical lines; the
# others damage a field of a record. Weights are shares of the injected defects.
DEFECT_KINDS: dict[str, dict[str, float]] = {
    "app_events": {
        "missing_event_id": 8, "missing_user_id": 6, "invalid_user_id": 8,
        "invalid_session_duration": 8, "negative_amount": 4, "unknown_currency": 4,
        "unknown_event_type": 6, "unparseable_timestamp": 4, "timestamp_outside_partition": 3,
        "unknown_product_id": 4, "unknown_payment_method": 3, "duplicate_id_conflict": 4,
        "duplicate_line": 12, "truncated_json": 8, "garbage_line": 6, "invalid_utf8": 2, "blank_line": 5,
    },
    "location_reports": {
        "missing_report_id": 12, "missing_attendee_id": 8, "invalid_attendee_id": 10,
        "invalid_dwell_time": 14, "invalid_engagement": 12, "out_of_range_coordinates": 10,
        "missing_coordinates": 6, "duplicate_id_conflict": 4,
        "duplicate_line": 12, "truncated_json": 6, "garbage_line": 3, "blank_line": 3,
    },
    "ticketing": {
        "missing_ticket_id": 12, "missing_attendee_id": 8, "invalid_attendee_id": 10,
        "invalid_ticket_type": 10, "invalid_checked_in": 8, "unknown_venue_id": 6,
        "duplicate_id_conflict": 6, "missing_column": 10, "extra_column": 8,
        "duplicate_line": 14, "blank_line": 8,
    },
    "billing": {
        "missing_record_id": 12, "unknown_account_id": 10, "negative_amount": 10,
        "unknown_currency": 8, "unknown_plan_id": 8, "unknown_package": 6, "unknown_status": 8,
        "unknown_record_type": 6, "duplicate_id_conflict": 6,
        "duplicate_line": 14, "truncated_json": 8, "blank_line": 4,
    },
}
LINE_KINDS = {"duplicate_line", "truncated_json", "garbage_line", "invalid_utf8", "blank_line",
              "missing_column", "extra_column"}
GARBAGE_LINES = [
    "ERROR 502 Bad Gateway", "<html><body>Service Unavailable</body></html>",
    "-- export interrupted --", "null,null,null", "Traceback (most recent call last):",
]


def choose_defects(rng: np.random.Generator, n: int, source: str,
                   eligible: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Pick disjoint sorted record indices per defect kind, ~DEFECT_RATE of n in
    total. A kind restricted to some records (e.g. amounts only on purchases) is
    drawn from its ``eligible`` mask and capped at a quarter of it."""
    kinds = DEFECT_KINDS[source]
    eligible = dict(eligible or {})
    if n < 10:  # too few records for one to borrow another's id
        eligible["duplicate_id_conflict"] = np.zeros(n, dtype=bool)
    total = rng.binomial(n, DEFECT_RATE) if n else 0
    weights = np.array(list(kinds.values()), dtype=float)
    counts = rng.multinomial(total, weights / weights.sum())
    taken = np.zeros(n, dtype=bool)
    chosen = {}
    for kind, count in zip(kinds, counts):
        if kind in eligible:
            available = np.flatnonzero(eligible[kind] & ~taken)
            count = min(count, len(available) // 4)
        else:
            available = np.flatnonzero(~taken)
        count = min(count, len(available))
        idx = np.sort(rng.choice(available, count, replace=False)) if count else np.array([], dtype=np.int64)
        taken[idx] = True
        chosen[kind] = idx
    return chosen


def _conflicting_ids(rng, ids: pa.Array, idx: np.ndarray, defects: dict[str, np.ndarray]) -> list[str]:
    """For each row in idx, the (quoted) id of a random undamaged row, so that
    one id really stands for two different, otherwise valid records."""
    damaged = np.zeros(len(ids), dtype=bool)
    for rows in defects.values():
        damaged[rows] = True
    clean = np.flatnonzero(~damaged)
    if len(idx) == 0 or len(clean) == 0:
        return [json.dumps(v) for v in _as_list(ids, idx)]
    return [json.dumps(v) for v in _as_list(ids, rng.choice(clean, len(idx)))]


def assemble_lines(rng, lines: pa.Array, defects: dict[str, np.ndarray],
                   csv_fields: int | None = None) -> pa.Array:
    """Apply line-level defects to one file's lines (in order) and return the
    physical lines: duplicates, garbage, invalid UTF-8 and blank lines are
    inserted after a random position; truncated JSON and rows with a missing or
    extra column replace their record's line."""
    n = len(lines)
    lines = lines.cast(pa.binary())
    replace_idx, replace_val = [], []
    for kind in ("truncated_json", "missing_column", "extra_column"):
        idx = defects.get(kind, [])
        if len(idx) == 0:
            continue
        for i, line in zip(idx, _as_list(lines, idx)):
            if kind == "truncated_json":
                cut = int(rng.integers(5, max(6, len(line) - 3)))
                line = line[:cut]
            elif kind == "missing_column":
                line = line[: line.rfind(b",")]
            else:
                line = line + b",EXTRA"
            replace_idx.append(i)
            replace_val.append(line)
    if replace_idx:
        order = np.argsort(replace_idx)
        mask = np.zeros(n, dtype=bool)
        mask[replace_idx] = True
        lines = pc.replace_with_mask(lines, pa.array(mask), pa.array([replace_val[i] for i in order], pa.binary()))
    extra_pos, extra_val = [], []
    dup = defects.get("duplicate_line", [])
    if len(dup):
        extra_val += _as_list(lines, dup)
        extra_pos += [int(rng.integers(i, n)) for i in dup]
    for kind, make in (
        ("garbage_line", lambda: GARBAGE_LINES[int(rng.integers(len(GARBAGE_LINES)))].encode()),
        ("invalid_utf8", lambda: b'{"event_id":"\xff\xfe broken encoding \xc3"}'),
        ("blank_line", lambda: b""),
    ):
        for i in defects.get(kind, []):
            extra_pos.append(int(i))
            extra_val.append(make())
    if not extra_pos:
        return lines
    keys = np.concatenate([np.arange(n) * 2, np.array(extra_pos) * 2 + 1])
    combined = pa.concat_arrays([lines, pa.array(extra_val, pa.binary())])
    return combined.take(pa.array(np.argsort(keys, kind="stable")))


def defect_counts(defects: dict[str, np.ndarray]) -> dict[str, int]:
    return {k: int(len(v)) for k, v in defects.items()}


# ----------------------------------------------------------------------------
# The global plan
# ----------------------------------------------------------------------------


@dataclass
class Plan:
    dates: list[date]
    bounds: np.ndarray          # (days + 1,) UTC ms of each local midnight
    events: np.ndarray          # target app events per day
    ops_per_hour: np.ndarray    # abuse flags per hour (service errors: x1.3)
    dau: np.ndarray             # target daily active users
    pool_start: np.ndarray      # users known before the day (ids < pool_start[t])
    pool_end: np.ndarray        # ... and after its sign-ups
    venue_event: np.ndarray     # (days, venues) bool
    tickets: np.ndarray         # (days, venues) tickets sold
    checkin_rate: np.ndarray    # (days, venues)
    reports_per_attendee: float
    late_days: set[int]
    drop_days: list[int]
    spikes: dict[str, tuple[int, int]]   # kind -> (day index, local hour)
    billing: list[list[dict]]


def _expected_events_per_user() -> float:
    """Mean app events one active user produces in a day (sessions, funnel,
    experiments): turns a daily event budget into a number of active users."""
    sessions = 1 + SESSIONS_EXTRA
    funnel = (1 - np.exp(-VIEWS_PER_SESSION)) * P_CART * (1 + P_CHECKOUT + P_CHECKOUT * P_PURCHASE)
    # exposures per active user-day, plus ~12 % of them converting
    experiments = sum(h - l for _, (l, h), _ in EXPERIMENTS) * EXPERIMENT_ELIGIBLE * EXPOSURE_PER_DAY * 1.12
    return sessions * (2 + VIEWS_PER_SESSION + funnel) + experiments


def local_midnights(first: date, days: int, timezone: str) -> np.ndarray:
    tz = ZoneInfo(timezone)
    return np.array([
        int(datetime.combine(first + timedelta(i), datetime.min.time(), tz).timestamp() * 1000)
        for i in range(days + 1)
    ], dtype=np.int64)


def make_plan(ref: Reference, start: date, days: int, app_events: int, seed: int, timezone: str) -> Plan:
    rng = _rng(seed, _PLAN)
    dates = [start + timedelta(i) for i in range(days)]
    weekday = np.array([d.weekday() for d in dates])
    t = np.arange(days)
    growth = 1 + GROWTH * t / max(days - 1, 1)
    weight = growth * WEEKDAY_FACTOR[weekday] * rng.lognormal(0, 0.04, days)
    events = app_events * weight / weight.sum()
    ops_per_hour = np.clip(events / 24 * 0.015, 0.2, 5.0)
    user_events = events - 24 * 2.3 * ops_per_hour  # what sessions must produce
    base_users = max(20, int(round(user_events[: min(7, days)].mean() / _expected_events_per_user() / ACTIVE_SHARE)))
    signup_weight = growth * WEEKDAY_FACTOR[weekday]
    signups = rng.poisson(SIGNUP_GROWTH * base_users * signup_weight / signup_weight.sum())
    dau = np.maximum(3, np.round((user_events - signups) / _expected_events_per_user())).astype(np.int64)
    pool_end = base_users + np.cumsum(signups)
    pool_start = pool_end - signups

    n_venues = len(ref.venue_ids)
    venue_event = rng.random((days, n_venues)) < EVENT_DAY_PROBABILITY[weekday][:, None]
    if not venue_event.any():
        venue_event[int(np.argmax(WEEKDAY_FACTOR[weekday])), 0] = True
    area = ref.venue_size.prod(axis=1)
    capacity = np.sqrt(area / area.mean())
    tickets = np.round(TICKETS_PER_DAU * dau[:, None] * capacity[None, :]
                       * rng.lognormal(0, 0.15, (days, n_venues))).astype(np.int64)
    tickets = np.where(venue_event, np.maximum(tickets, 5), 0)
    checkin_rate = rng.uniform(0.70, 0.85, (days, n_venues))
    attendees = (tickets * checkin_rate).sum() * (1 + WALK_IN_SHARE)
    reports_per_attendee = LOCATION_SHARE * app_events / max(attendees, 1.0)

    n_late = max(1, int(round(LATE_DAY_SHARE * days))) if days >= 3 else 0
    late_days = set(rng.choice(days, n_late, replace=False).tolist())
    last = days - 1
    drop_days = [last - 7, last - 6, last - 5] if days >= 10 else []
    spikes = {}
    if days >= 12:
        spikes = {"abuse_flag": (last - 10, 21), "service_error": (last - 2, 19)}
    bounds = local_midnights(start, days, timezone)
    billing = plan_billing(rng, ref, dates, bounds)
    return Plan(dates, bounds, events, ops_per_hour, dau, pool_start, pool_end, venue_event, tickets, checkin_rate,
                reports_per_attendee, late_days, drop_days, spikes, billing)


def plan_billing(rng, ref: Reference, dates: list[date], bounds: np.ndarray) -> list[list[dict]]:
    """Subscriptions simulated month by month (new, upgrade, downgrade, switch to
    annual, churn, reactivation) for company and brand accounts, invoiced on the
    1st (annual plans on their anniversary month), plus occasional sponsorship
    orders from brand accounts whose activity differs (some go dormant)."""
    per_day: list[list[dict]] = [[] for _ in dates]
    tiers = ["starter", "growth", "enterprise"]
    seg_tier_p = {"SMB": [0.8, 0.2, 0.0], "Mid-Market": [0.3, 0.6, 0.1], "Enterprise": [0.05, 0.45, 0.5]}
    seg_sub_p = {"SMB": 0.4, "Mid-Market": 0.6, "Enterprise": 0.8}
    accounts = [a["account_id"] for a in ref.accounts if a["account_level"] in ("company", "brand")]
    segment = {a["account_id"]: a["segment"] for a in ref.accounts}
    country = {a["account_id"]: a["country"] for a in ref.accounts}
    state = {}
    for aid in accounts:
        seg = segment[aid]
        subscribed = rng.random() < seg_sub_p.get(seg, 0.5)
        state[aid] = {
            "status": "active" if subscribed else "never",
            "tier": int(rng.choice(3, p=seg_tier_p.get(seg, [0.4, 0.4, 0.2]))),
            "period": "annual" if rng.random() < 0.3 else "monthly",
            "anniversary": int(rng.integers(1, 13)),
            "segment": seg,
        }

    def invoice(t: int, account: str, s: dict) -> dict:
        plan_id = f"{tiers[s['tier']]}_{s['period']}"
        _, price, currency = ref.plans[plan_id]
        first = dates[t]
        if s["period"] == "annual":
            last = date(first.year + 1, first.month, 1) - timedelta(1)
        else:
            last = date(first.year + first.month // 12, first.month % 12 + 1, 1) - timedelta(1)
        status = ["paid", "open", "void"][int(rng.choice(3, p=[0.86, 0.11, 0.03]))]
        return {
            "record_id": f"inv_{first:%Y%m}_{account}", "record_type": "subscription_invoice",
            "account_id": account, "plan_id": plan_id, "period_start": first.isoformat(),
            "period_end": last.isoformat(), "amount_minor": price, "currency": currency,
            "issued_ms": int(bounds[t] + rng.uniform(2, 6) * HOUR_MS), "status": status,
        }

    for t, d in enumerate(dates):
        if d.day != 1:
            continue
        for aid in accounts:
            s = state[aid]
            r = rng.random()
            due = False
            if s["status"] == "active" and s["period"] == "monthly":
                if r < 0.03:
                    s["status"] = "churned"
                elif r < 0.08:
                    s["tier"] = min(2, s["tier"] + 1)
                elif r < 0.11:
                    s["tier"] = max(0, s["tier"] - 1)
                elif r < 0.13:
                    s["period"], s["anniversary"] = "annual", d.month
                due = s["status"] == "active"
            elif s["status"] == "active":
                if d.month == s["anniversary"]:
                    if r < 0.08:
                        s["status"] = "churned"
                    elif r < 0.18:
                        s["tier"] = min(2, s["tier"] + 1)
                    elif r < 0.23:
                        s["period"] = "monthly"
                    due = s["status"] == "active"
            elif s["status"] == "churned" and r < 0.12:
                s["status"], s["period"] = "active", "monthly"
                due = True
            elif s["status"] == "never" and r < 0.04:
                s["status"], s["period"] = "active", "monthly"
                s["tier"] = 0 if s["segment"] == "SMB" else 1
                due = True
            if due:
                per_day[t].append(invoice(t, aid, s))

    brands = ref.brand_ids
    propensity = rng.lognormal(0, 1.0, len(brands))
    goes_dormant = rng.random(len(brands)) < 0.25
    dormant_from = np.where(goes_dormant, rng.integers(0, len(dates), len(brands)), len(dates))
    gbp = ref.currencies.index("GBP") if "GBP" in ref.currencies else None
    seq = 0
    for t, d in enumerate(dates):
        n_orders = rng.poisson(0.35 if d.weekday() < 5 else 0.1)
        live = propensity * (t < dormant_from)
        if n_orders == 0 or live.sum() == 0:
            continue
        for b in rng.choice(len(brands), n_orders, p=live / live.sum()):
            package = int(rng.choice(4, p=PACKAGE_P))
            amount = int(round(PACKAGE_ZAR_MINOR[package] * rng.uniform(0.9, 1.1) / 10_000)) * 10_000
            currency = "ZAR"
            if country.get(brands[b]) == "GB" and gbp is not None:
                currency = "GBP"
                amount = int(round(amount / ref.fx_level[gbp] / 1_000)) * 1_000
            seq += 1
            per_day[t].append({
                "record_id": f"ord_sp_{d:%Y%m%d}_{seq:04d}", "record_type": "sponsorship_order",
                "account_id": brands[b], "package": PACKAGES[package], "amount_minor": amount,
                "currency": currency, "issued_ms": int(bounds[t] + rng.uniform(8, 18) * HOUR_MS),
                "status": ["paid", "open", "void"][int(rng.choice(3, p=[0.7, 0.27, 0.03]))],
            })
    for day in per_day:
        day.sort(key=lambda r: r["issued_ms"])
    return per_day


# ----------------------------------------------------------------------------
# App events
# ----------------------------------------------------------------------------


def _day_times(rng, n: int, t0: int, t1: int) -> np.ndarray:
    """n local times of day drawn from the hourly profile, as UTC ms within [t0, t1)
    (stretched or squeezed on a 23- or 25-hour DST day)."""
    hours = rng.choice(24, n, p=HOUR_P)
    offset = (hours + rng.random(n)) * HOUR_MS * ((t1 - t0) / DAY_MS)
    return np.minimum(t0 + offset.astype(np.int64), t1 - 1)


# One day of app events is a dict of equally long int64 columns; -1 means "not
# applicable" (e.g. no product on a session_start). ``reason`` holds the
# marketing source of sign-ups and the reason of refunds.
COLUMNS = ["ts", "etype", "user", "session", "product", "qty", "amount", "currency", "pm",
           "order_day", "order_seq", "reason", "experiment", "variant", "flag", "severity",
           "service", "error", "duration"]


def _columns(n: int, **cols) -> dict[str, np.ndarray]:
    out = {name: np.full(n, -1, dtype=np.int64) for name in COLUMNS}
    for name, values in cols.items():
        out[name][:] = values
    return out


def user_pii(users: np.ndarray) -> dict[str, pa.Array]:
    """Fake but stable PII per user id (same person in sign-ups and guest lists)."""
    h = _hash(users, 7)
    first = _pick(FIRST_NAMES, (h % np.uint64(len(FIRST_NAMES))).astype(np.int64))
    last = _pick(LAST_NAMES, ((h >> np.uint64(16)) % np.uint64(len(LAST_NAMES))).astype(np.int64))
    domain = _pick(EMAIL_DOMAINS, ((h >> np.uint64(32)) % np.uint64(len(EMAIL_DOMAINS))).astype(np.int64))
    local = pc.replace_substring(pc.utf8_lower(pc.binary_join_element_wise(first, last, ".")), " ", "")
    email = pc.binary_join_element_wise(local, _text(users % 997), "@", domain, "")
    prefix = _pick(PHONE_PREFIXES, ((h >> np.uint64(40)) % np.uint64(len(PHONE_PREFIXES))).astype(np.int64))
    number = pc.utf8_lpad(_text(((h >> np.uint64(8)) % np.uint64(10_000_000)).astype(np.int64)), 7, "0")
    phone = pc.binary_join_element_wise("+27", prefix, number, "")
    return {"first": first, "last": last, "full_name": pc.binary_join_element_wise(first, last, " "),
            "email": email, "phone": phone}


def lifetime_days(users: np.ndarray) -> np.ndarray:
    """Days a user signed up in the window stays active (inf = loyal); stable per user."""
    h = _hash(users, 11)
    u = ((h >> np.uint64(8)) % np.uint64(1_000_000)).astype(np.float64) / 1_000_000 + 0.5e-6
    return np.where((h % np.uint64(100)).astype(np.int64) < LOYAL_SHARE * 100, np.inf,
                    -LIFETIME_MEAN_DAYS * np.log(u))


def alive(users: np.ndarray, t: int, plan: Plan) -> np.ndarray:
    """Whether each known user (index < pool_start[t]) still uses the app on day t."""
    base = int(plan.pool_start[0])
    signup_day = np.searchsorted(plan.pool_end, users, side="right")
    return (users < base) | (t - signup_day < lifetime_days(users))


def app_day(t: int, plan: Plan, ref: Reference, seed: int, pending: dict[int, list]) -> dict[str, np.ndarray]:
    """One day of app events as columns sorted by time. Purchases that will be
    refunded on a later day are queued in ``pending``."""
    day = plan.dates[t]
    rng = _rng(seed, _APP, day)
    t0, t1 = int(plan.bounds[t]), int(plan.bounds[t + 1])
    blocks = []

    # Active users: today's sign-ups plus returning users still active, a third of them recent.
    new_users = np.arange(plan.pool_start[t], plan.pool_end[t])
    known = np.arange(plan.pool_start[t])
    active_pool = known[alive(known, t, plan)]
    n_ret = min(max(int(plan.dau[t]) - len(new_users), 0), len(active_pool))
    n_recent = int(0.35 * n_ret)
    returning = active_pool[rng.integers(0, len(active_pool), n_ret - n_recent)]
    ago = t - 1 - rng.exponential(20, n_recent).astype(np.int64)
    ok = ago >= 0
    lo, hi = plan.pool_start[ago[ok]], plan.pool_end[ago[ok]]
    anyone = rng.integers(0, plan.pool_start[t], ok.sum())
    recent = np.where(hi > lo, lo + (rng.random(ok.sum()) * (hi - lo)).astype(np.int64), anyone)
    recent = recent[alive(recent, t, plan)]
    earlier = active_pool[rng.integers(0, len(active_pool), (~ok).sum())]
    returning = np.unique(np.concatenate([returning, recent, earlier]))
    deficit = n_ret - len(returning)
    if deficit > 0:  # top up the draws that collided, so volume follows the plan
        others = np.setdiff1d(active_pool, returning, assume_unique=True)
        returning = np.sort(np.concatenate([returning, rng.choice(others, deficit, replace=False)]))
    users = np.concatenate([returning, new_users])

    # Sessions with log-normal durations that end inside the local day.
    n_sessions = 1 + rng.poisson(SESSIONS_EXTRA, len(users))
    s_user = np.repeat(users, n_sessions)
    n_s = len(s_user)
    duration = np.clip(rng.lognormal(np.log(240), 1.0, n_s), 5, 3 * 3600).astype(np.int64)
    start = _day_times(rng, n_s, t0, t1)
    start = np.maximum(t0, np.minimum(start, t1 - 1 - duration * 1000))
    dur_ms = duration * 1000
    sess = np.arange(n_s)
    blocks.append(_columns(n_s, ts=start, etype=S_START, user=s_user, session=sess))
    blocks.append(_columns(n_s, ts=start + dur_ms, etype=S_END, user=s_user, session=sess, duration=duration))

    # Sign-ups just before a new user's first session.
    if len(new_users):
        first_of_user = np.cumsum(n_sessions) - n_sessions
        is_new = np.zeros(len(users), dtype=bool)
        is_new[len(returning):] = True
        first_start = np.minimum.reduceat(start, first_of_user)[is_new]
        signup_ts = np.maximum(t0, first_start - rng.integers(1_000, 120_000, len(new_users)))
        blocks.append(_columns(len(new_users), ts=signup_ts, etype=SIGNUP, user=new_users,
                               reason=rng.choice(len(MARKETING_SOURCES), len(new_users), p=MARKETING_P)))

    # Funnel: views -> cart -> checkout -> purchase, each step less likely.
    n_products = len(ref.product_ids)
    view_p = np.array([3.0 if c == "ticket" else 1.5 if c == "coins" else 1.0 for c in ref.product_category])
    view_p /= view_p.sum()
    focus = rng.choice(n_products, n_s, p=view_p)
    n_views = rng.poisson(VIEWS_PER_SESSION, n_s)
    v_sess = np.repeat(sess, n_views)
    v_product = rng.choice(n_products, len(v_sess), p=view_p)
    first_view = (np.cumsum(n_views) - n_views)[n_views > 0]
    v_product[first_view] = focus[n_views > 0]
    v_ts = start[v_sess] + ((0.05 + 0.45 * rng.random(len(v_sess))) * dur_ms[v_sess]).astype(np.int64)
    blocks.append(_columns(len(v_sess), ts=v_ts, etype=VIEW, user=s_user[v_sess], session=v_sess, product=v_product))
    cart = (n_views > 0) & (rng.random(n_s) < P_CART)
    checkout = cart & (rng.random(n_s) < P_CHECKOUT)
    p_buy = P_PURCHASE * (DROP_FACTOR if t in plan.drop_days else 1.0)
    purchase = checkout & (rng.random(n_s) < p_buy)
    steps = ((cart, CART, 0.5, 0.2), (checkout, CHECKOUT, 0.7, 0.15), (purchase, PURCHASE, 0.86, 0.1))
    for mask, etype, lo_f, span in steps:  # each step later in the session than the one before
        idx = np.flatnonzero(mask)
        cols = dict(ts=start[idx] + ((lo_f + span * rng.random(len(idx))) * dur_ms[idx]).astype(np.int64),
                    etype=etype, user=s_user[idx], session=idx, product=focus[idx])
        if etype == PURCHASE:
            cols.update(_purchase_details(rng, ref, focus[idx]))
        blocks.append(_columns(len(idx), **cols))

    # Experiments: eligible users are exposed (at most once a day) in their first session.
    first_session = np.cumsum(n_sessions) - n_sessions
    share = t / max(len(plan.dates) - 1, 1)
    for e, (_, (lo_s, hi_s), rates) in enumerate(EXPERIMENTS):
        if not lo_s <= share <= hi_s:
            continue
        h = _hash(users, 1000 + e)
        eligible = (h % np.uint64(1000)) < np.uint64(EXPERIMENT_ELIGIBLE * 1000)
        exposed = eligible & (rng.random(len(users)) < EXPOSURE_PER_DAY)
        variant = ((h >> np.uint64(20)) & np.uint64(1)).astype(np.int64)
        converted = exposed & (rng.random(len(users)) < np.array(rates)[variant])
        for mask, etype, frac in ((exposed, EXPOSURE, 0.02), (converted, CONVERSION, 0.95)):
            s = first_session[mask]
            blocks.append(_columns(len(s), ts=start[s] + (frac * dur_ms[s]).astype(np.int64), etype=etype,
                                   user=s_user[s], session=s, experiment=e, variant=variant[mask]))

    # Operations: a handful of abuse flags and service errors per hour, plus spikes.
    per_hour = float(plan.ops_per_hour[t])
    for etype, rate, spike_size in ((ABUSE, per_hour, (60, 90)), (ERROR, per_hour * 1.3, (120, 160))):
        counts = rng.poisson(rate, 24)
        spike = plan.spikes.get(EVENT_TYPES[etype])
        if spike and spike[0] == t:
            counts[spike[1]] += int(rng.integers(*spike_size))
        hours = np.repeat(np.arange(24), counts)
        n = len(hours)
        ts = np.minimum(t0 + ((hours + rng.random(n)) * HOUR_MS * (t1 - t0) / DAY_MS).astype(np.int64), t1 - 1)
        who = rng.integers(0, max(int(plan.pool_start[t]), 1), n)  # users known before today
        if etype == ABUSE:
            cols = dict(flag=rng.integers(0, len(ABUSE_FLAGS), n), severity=rng.choice(4, n, p=SEVERITY_P))
        else:
            cols = dict(service=rng.integers(0, len(SERVICES), n), error=rng.integers(0, len(ERROR_CODES), n))
        blocks.append(_columns(n, ts=ts, etype=etype, user=who, **cols))

    # Refunds due today for purchases of earlier days.
    for due in pending.pop(t, []):
        n = len(due["user"])
        blocks.append(_columns(n, ts=_day_times(rng, n, t0, t1), etype=REFUND, **due))

    cols = {name: np.concatenate([b[name] for b in blocks]) for name in COLUMNS}
    order = np.lexsort((TIE_ORDER[cols["etype"]], cols["ts"]))
    cols = {name: v[order] for name, v in cols.items()}

    # Order ids in time order; schedule ~2 % of purchases for a refund 1-14 days later.
    is_purchase = cols["etype"] == PURCHASE
    cols["order_day"][is_purchase] = int(day.strftime("%Y%m%d"))
    cols["order_seq"][is_purchase] = np.arange(1, is_purchase.sum() + 1)
    p_idx = np.flatnonzero(is_purchase)
    refund = p_idx[rng.random(len(p_idx)) < REFUND_SHARE]
    delay = rng.integers(1, 15, len(refund))
    partial = rng.random(len(refund)) < 0.15
    reasons = rng.choice(len(REFUND_REASONS), len(refund), p=REFUND_REASON_P)
    for d in np.unique(delay):
        if t + d >= len(plan.dates):
            continue
        sel = refund[delay == d]
        amount = cols["amount"][sel] // np.where(partial[delay == d], 2, 1)
        pending.setdefault(int(t + d), []).append({
            "user": cols["user"][sel], "amount": amount, "currency": cols["currency"][sel],
            "pm": cols["pm"][sel], "order_day": cols["order_day"][sel], "order_seq": cols["order_seq"][sel],
            "reason": reasons[delay == d],
        })
    return cols


def _purchase_details(rng, ref: Reference, products: np.ndarray) -> dict[str, np.ndarray]:
    """Quantity, currency (mostly ZAR), payment method and amount of purchases."""
    n = len(products)
    category = np.array(ref.product_category)[products]
    qty = np.ones(n, dtype=np.int64)
    qty[category == "ticket"] += rng.binomial(3, 0.3, (category == "ticket").sum())
    qty[category == "gift"] += rng.binomial(4, 0.2, (category == "gift").sum())
    cur_p = {"ZAR": 0.86, "USD": 0.05, "EUR": 0.035, "GBP": 0.03, "JPY": 0.015, "KWD": 0.01}
    p = np.array([cur_p.get(c, 0.0) for c in ref.currencies])
    currency = rng.choice(len(ref.currencies), n, p=p / p.sum())
    pm_index = {name: i for i, name in enumerate(ref.payment_methods)}
    local = [pm_index[m] for m in ("card", "eft", "snapscan", "zapper", "apple_pay", "google_pay") if m in pm_index]
    local_p = np.array([0.40, 0.15, 0.12, 0.08, 0.15, 0.10][: len(local)])
    foreign = [pm_index[m] for m in ("card", "apple_pay", "google_pay") if m in pm_index]
    foreign_p = np.array([0.6, 0.25, 0.15][: len(foreign)])
    pm = np.array(local)[rng.choice(len(local), n, p=local_p / local_p.sum())]
    zar = ref.currencies.index(reference.REPORTING_CURRENCY)
    is_foreign = currency != zar
    pm[is_foreign] = np.array(foreign)[rng.choice(len(foreign), is_foreign.sum(), p=foreign_p / foreign_p.sum())]
    wallet = (category == "gift") & (rng.random(n) < 0.85)
    if "coins_wallet" in pm_index:
        pm[wallet] = pm_index["coins_wallet"]
        currency[wallet] = zar
    amount = ref.unit_price()[products, currency] * qty
    return {"qty": qty, "currency": currency, "pm": pm, "amount": amount}


def app_records(cols: dict[str, np.ndarray], day: date, ref: Reference, rng) -> tuple[Records, dict[str, np.ndarray]]:
    """Serialise a day's app-event columns to JSON records and damage ~4 % of them."""
    n = len(cols["ts"])
    etype = cols["etype"]
    ymd = day.strftime("%Y%m%d")
    rec, props = Records(n), Records(n)
    event_ids = _ids(f"evt_{ymd}_", np.arange(1, n + 1), 7)
    rec.put("event_id", event_ids)
    rec.put("event_type", _pick(EVENT_TYPES, etype))
    rec.put("occurred_at", _timestamps(cols["ts"]))
    rec.put("user_id", _user_ids(cols["user"]))
    rec.put("session_id", _ids(f"ses_{ymd}_", cols["session"], 6, cols["session"] < 0))
    rec.put("platform", _pick(PLATFORMS, np.searchsorted([45, 85], _percentile(cols["user"], 3), side="right")))

    signup = np.flatnonzero(etype == SIGNUP)
    if len(signup):
        pii = user_pii(cols["user"][signup])
        for key in ("email", "full_name", "phone"):
            props.put(key, _scatter(n, signup, pii[key]))
        country = np.searchsorted(COUNTRY_CUM, _percentile(cols["user"][signup], 5), side="right")
        props.put("marketing_source", _scatter(n, signup, _pick(MARKETING_SOURCES, cols["reason"][signup])))
        props.put("country", _scatter(n, signup, _pick(COUNTRIES, country)))
    props.put("duration_seconds", _text(cols["duration"], etype != S_END), quoted=False)
    money = (etype == PURCHASE) | (etype == REFUND)
    props.put("order_id", pc.binary_join_element_wise(
        "ord_", _text(cols["order_day"], ~money), "_", pc.utf8_lpad(_text(cols["order_seq"], ~money), 6, "0"), ""))
    props.put("product_id", _pick(ref.product_ids, cols["product"]))
    props.put("quantity", _text(cols["qty"], etype != PURCHASE), quoted=False)
    props.put("amount_minor", _text(cols["amount"], ~money), quoted=False)
    props.put("currency", _pick(ref.currencies, np.where(money, cols["currency"], -1)))
    props.put("payment_method_id", _pick(ref.payment_methods, np.where(money, cols["pm"], -1)))
    props.put("reason", _pick(REFUND_REASONS, np.where(etype == REFUND, cols["reason"], -1)))
    props.put("experiment_id", _pick([e[0] for e in EXPERIMENTS], cols["experiment"]))
    props.put("variant", _pick(VARIANTS, cols["variant"]))
    props.put("flag_type", _pick(ABUSE_FLAGS, cols["flag"]))
    props.put("severity", _pick(SEVERITIES, cols["severity"]))
    props.put("service", _pick(SERVICES, cols["service"]))
    props.put("error_code", _pick(ERROR_CODES, cols["error"]))

    funnel = (etype >= VIEW) & (etype <= PURCHASE)
    defects = choose_defects(rng, n, "app_events", {
        "invalid_session_duration": etype == S_END, "negative_amount": money,
        "unknown_currency": money, "unknown_payment_method": money, "unknown_product_id": funnel,
    })
    _damage_common(rng, rec, defects, "event_id", "user_id", event_ids)
    d = defects["invalid_session_duration"]
    props.override("duration_seconds", d, [str(v) for v in _bad_seconds(rng, len(d))])
    d = defects["negative_amount"]
    props.override("amount_minor", d, [str(-max(1, int(a))) for a in cols["amount"][d]])
    d = defects["unknown_currency"]
    props.override("currency", d, _json_choice(rng, ["XYZ", "BTC", "R"], len(d)))
    d = defects["unknown_payment_method"]
    props.override("payment_method_id", d, _json_choice(rng, ["bitcoin", "cash", "pm_unknown"], len(d)))
    d = defects["unknown_product_id"]
    props.override("product_id", d, _json_choice(rng, ["ticket_platinum_xl", "coins_9999"], len(d)))
    d = defects["unknown_event_type"]
    rec.override("event_type", d, _json_choice(rng, ["page_teleport", "purchase_v2", "debug_ping", ""], len(d)))
    d = defects["unparseable_timestamp"]
    bad = _json_choice(rng, ["missing", "yesterday", "2026-02-30T25:61:00Z", "1714560000"], len(d))
    rec.override("occurred_at", d, [None if b == '"missing"' else b for b in bad])
    d = defects["timestamp_outside_partition"]
    shifted = cols["ts"][d] + np.where(rng.random(len(d)) < 0.5, -1, 1) * DAY_MS
    rec.override("occurred_at", d, [json.dumps(s) for s in _timestamps(shifted).to_pylist()])
    rec.put("properties", props.objects(), quoted=False)
    return rec, defects


def _bad_seconds(rng, n: int) -> list:
    """Invalid durations: negative, zero, more than a day, not a number."""
    kinds = rng.integers(0, 4, n)
    values = rng.integers(1, 5000, n)
    return [f"-{v}" if k == 0 else "0" if k == 1 else str(86_400 + v) if k == 2 else '"abc"'
            for k, v in zip(kinds, values)]


def _damage_common(rng, rec: Records, defects: dict, id_key: str, person_key: str, ids: pa.Array) -> None:
    """Defects every JSON event source shares: missing record id, missing or
    invalid person id, a record id reused by a different record."""
    d = defects[f"missing_{id_key}"]
    rec.override(id_key, d, [None] * len(d))
    d = defects[f"missing_{person_key}"]
    rec.override(person_key, d, [None] * len(d))
    d = defects[f"invalid_{person_key}"]
    rec.override(person_key, d, _json_choice(rng, ["", "N/A", "usr_", "usr_abc"], len(d)))
    d = defects["duplicate_id_conflict"]
    rec.override(id_key, d, _conflicting_ids(rng, ids, d, defects))


# ----------------------------------------------------------------------------
# Venue days: ticketing guest lists and location reports
# ----------------------------------------------------------------------------


def venue_day(t: int, plan: Plan, ref: Reference, seed: int):
    """Guest lists (one per venue with an event) and the day's location reports.
    Checked-in ticket holders (plus a few walk-ins) report positions, mostly
    inside sponsor zones, between check-in and the end of the evening."""
    day = plan.dates[t]
    rng = _rng(seed, _VENUE, day)
    t0 = int(plan.bounds[t])
    venues = np.flatnonzero(plan.venue_event[t])
    counts = plan.tickets[t, venues]
    pool = int(plan.pool_end[t])
    total = int(min(counts.sum(), pool))
    holders = rng.choice(pool, total, replace=False)
    guest_lists = []
    rep_user, rep_venue, rep_from = [], [], []
    offset = 0
    # Evening times are local hours after midnight: t0 + h * HOUR_MS (a DST switch
    # happens at night, so at worst an evening is shifted by an hour, still that day).
    for v, count in zip(venues, counts):
        users = holders[offset: offset + count]
        offset += len(users)
        n = len(users)
        checked = rng.random(n) < plan.checkin_rate[t, v]
        checkin_ms = t0 + ((16 + 3.5 * rng.random(n)) * HOUR_MS).astype(np.int64)
        guest_lists.append({
            "venue": int(v), "users": users, "type": rng.choice(3, n, p=TICKET_P),
            "checked": checked, "checkin_ms": checkin_ms, "quoted_name": rng.random(n) < 0.03,
        })
        walk_ins = rng.integers(0, pool, int(round(WALK_IN_SHARE * checked.sum())))
        rep_user += [users[checked], walk_ins]
        rep_venue += [np.full(checked.sum() + len(walk_ins), v)]
        rep_from += [checkin_ms[checked], t0 + ((17 + 2 * rng.random(len(walk_ins))) * HOUR_MS).astype(np.int64)]
    if not guest_lists:
        return [], None
    a_user = np.concatenate(rep_user)
    a_venue = np.concatenate(rep_venue)
    a_from = np.concatenate(rep_from)
    k = rng.poisson(plan.reports_per_attendee, len(a_user))
    r_user, r_venue, r_from = np.repeat(a_user, k), np.repeat(a_venue, k), np.repeat(a_from, k)
    n = len(r_user)
    end = t0 + int(23.75 * HOUR_MS)
    ts = r_from + (rng.random(n) * np.maximum(end - r_from, 1000)).astype(np.int64)
    ts = np.minimum(ts, int(plan.bounds[t + 1]) - 1)

    # Positions: 78 % inside one of the venue's zones (some exactly on an edge), the rest anywhere.
    size = ref.venue_size[r_venue]
    x = rng.random(n) * size[:, 0]
    y = rng.random(n) * size[:, 1]
    in_zone = rng.random(n) < 0.78
    for v in np.unique(r_venue):
        zones = np.flatnonzero(ref.zone_venue == v)
        sel = np.flatnonzero(in_zone & (r_venue == v))
        if len(zones) == 0 or len(sel) == 0:
            continue
        rect = ref.zone_rect[rng.choice(zones, len(sel))]
        x[sel] = rect[:, 0] + rng.random(len(sel)) * (rect[:, 2] - rect[:, 0])
        y[sel] = rect[:, 1] + rng.random(len(sel)) * (rect[:, 3] - rect[:, 1])
        edge = rng.random(len(sel)) < 0.03
        x[sel[edge]] = np.where(rng.random(edge.sum()) < 0.5, rect[edge, 0], rect[edge, 2])
    x, y = np.round(x, 1), np.round(y, 1)
    dwell = np.clip(rng.lognormal(np.log(420), 0.9, n), 10, 7200).astype(np.int64)
    active = rng.random(n) < np.where(in_zone, 0.5, 0.25)
    order = np.argsort(ts, kind="stable")
    reports = {"ts": ts[order], "user": r_user[order], "venue": r_venue[order], "x": x[order],
               "y": y[order], "dwell": dwell[order], "active": active[order]}
    return guest_lists, reports


def location_records(rep: dict, day: date, ref: Reference, rng) -> tuple[Records, dict]:
    n = len(rep["ts"])
    rec = Records(n)
    report_ids = _ids(f"lr_{day:%Y%m%d}_", np.arange(1, n + 1), 7)
    rec.put("report_id", report_ids)
    rec.put("attendee_id", _user_ids(rep["user"]))
    rec.put("venue_id", _pick(ref.venue_ids, rep["venue"]))
    rec.put("x", _text(rep["x"]), quoted=False)
    rec.put("y", _text(rep["y"]), quoted=False)
    rec.put("dwell_time_seconds", _text(rep["dwell"]), quoted=False)
    rec.put("engagement_status", _pick(["passive", "active"], rep["active"].astype(np.int64)))
    rec.put("reported_at", _timestamps(rep["ts"]))

    defects = choose_defects(rng, n, "location_reports")
    _damage_common(rng, rec, defects, "report_id", "attendee_id", report_ids)
    d = defects["invalid_dwell_time"]
    rec.override("dwell_time_seconds", d, _bad_seconds(rng, len(d)))
    d = defects["invalid_engagement"]
    rec.override("engagement_status", d, list(rng.choice(['"ACTIVE!!"', '"unknown"', "null"], len(d))))
    d = defects["out_of_range_coordinates"]
    size = ref.venue_size[rep["venue"][d]]
    axis = rng.integers(0, 2, len(d))
    below = rng.random(len(d)) < 0.4
    bad = np.where(below, -rng.uniform(0.5, 50, len(d)), size[np.arange(len(d)), axis] + rng.uniform(0.5, 100, len(d)))
    bad = np.round(bad, 1)
    for a, key in ((0, "x"), (1, "y")):
        sel = axis == a
        rec.override(key, d[sel], [str(v) for v in bad[sel]])
    d = defects["missing_coordinates"]
    drop_x = rng.random(len(d)) < 0.5
    rec.override("x", d[drop_x], [None] * int(drop_x.sum()))
    rec.override("y", d[~drop_x], ["null"] * int((~drop_x).sum()))
    return rec, defects


TICKETING_HEADER = ("ticket_id,attendee_id,attendee_name,attendee_email,attendee_phone,"
                    "venue_id,event_date,ticket_type,checked_in,checked_in_at")


def ticketing_lines(g: dict, day: date, ref: Reference, rng) -> tuple[pa.Array, dict]:
    """One venue's guest list as CSV rows (header excluded), with defects."""
    users = g["users"]
    n = len(users)
    venue = ref.venue_ids[g["venue"]]
    pii = user_pii(users)
    quoted = pc.binary_join_element_wise('"', pii["last"], ", ", pii["first"], '"', "")
    name = pc.if_else(pa.array(g["quoted_name"]), quoted, pii["full_name"])
    ticket_ids = _ids(f"tkt_{venue.removeprefix('ven_')}_{day:%Y%m%d}_", np.arange(1, n + 1), 5)
    fields = {
        "ticket_id": ticket_ids,
        "attendee_id": _user_ids(users),
        "attendee_name": name,
        "attendee_email": pii["email"],
        "attendee_phone": pii["phone"],
        "venue_id": pa.array([venue] * n, pa.string()),
        "event_date": pa.array([day.isoformat()] * n, pa.string()),
        "ticket_type": _pick(TICKET_TYPES, g["type"]),
        "checked_in": _pick(["no", "yes"], g["checked"].astype(np.int64)),
        "checked_in_at": pc.if_else(pa.array(g["checked"]), _timestamps(g["checkin_ms"]), ""),
    }
    defects = choose_defects(rng, n, "ticketing")

    def put(key, idx, values):
        if len(idx):
            mask = np.zeros(n, dtype=bool)
            mask[idx] = True
            fields[key] = pc.replace_with_mask(fields[key], pa.array(mask), pa.array(list(values), pa.string()))

    put("ticket_id", defects["missing_ticket_id"], [""] * len(defects["missing_ticket_id"]))
    put("attendee_id", defects["missing_attendee_id"], [""] * len(defects["missing_attendee_id"]))
    d = defects["invalid_attendee_id"]
    put("attendee_id", d, rng.choice(["N/A", "usr_", "guest", "usr_12ab"], len(d)))
    d = defects["invalid_ticket_type"]
    put("ticket_type", d, rng.choice(["Platinum", "vip ", "", "Backstage"], len(d)))
    d = defects["invalid_checked_in"]
    put("checked_in", d, rng.choice(["maybe", "Y", "", "TRUE"], len(d)))
    d = defects["unknown_venue_id"]
    put("venue_id", d, rng.choice(["ven_xxx", "VEN_JHB", "stadium"], len(d)))
    d = defects["duplicate_id_conflict"]
    put("ticket_id", d, [json.loads(v) for v in _conflicting_ids(rng, ticket_ids, d, defects)])
    lines = pc.binary_join_element_wise(*fields.values(), ",")
    return lines, defects


def billing_records(records: list[dict], ref: Reference, rng) -> tuple[Records, dict]:
    n = len(records)
    rec = Records(n)
    col = lambda k: [r.get(k) for r in records]  # noqa: E731 - a handful of rows per day
    ids = pa.array(col("record_id"), pa.string())
    rec.put("record_id", ids)
    for key in ("record_type", "account_id", "plan_id", "package", "period_start", "period_end"):
        rec.put(key, pa.array(col(key), pa.string()))
    rec.put("amount_minor", _text(np.array(col("amount_minor"), dtype=np.int64)), quoted=False)
    rec.put("currency", pa.array(col("currency"), pa.string()))
    rec.put("issued_at", _timestamps(np.array(col("issued_ms"), dtype=np.int64)))
    rec.put("status", pa.array(col("status"), pa.string()))
    is_invoice = np.array([r["record_type"] == "subscription_invoice" for r in records], dtype=bool)
    defects = choose_defects(rng, n, "billing", {"unknown_plan_id": is_invoice, "unknown_package": ~is_invoice})
    for kind, key, values in (
        ("missing_record_id", "record_id", [None]),
        ("unknown_account_id", "account_id", ['"acc_unknown"', '"ACC-404"', '""']),
        ("unknown_currency", "currency", ['"XYZ"', '"ZA"']),
        ("unknown_plan_id", "plan_id", ['"platinum_monthly"', '"legacy_2019"']),
        ("unknown_package", "package", ['"diamond"', '"Gold"']),
        ("unknown_status", "status", ['"pending??"', '"refunded"', "null"]),
        ("unknown_record_type", "record_type", ['"credit_note"', '"invoice"']),
    ):
        d = defects[kind]
        rec.override(key, d, [values[int(i)] for i in rng.integers(0, len(values), len(d))])
    d = defects["negative_amount"]
    rec.override("amount_minor", d, [str(-int(records[i]["amount_minor"])) for i in d])
    d = defects["duplicate_id_conflict"]
    rec.override("record_id", d, _conflicting_ids(rng, ids, d, defects))
    return rec, defects


# ----------------------------------------------------------------------------
# Writing
# ----------------------------------------------------------------------------


def _write(path: Path, data: bytes) -> None:
    """Write to a hidden temporary name, then rename: readers never see a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class Landing:
    """Writes one day's files per source and removes stale generator files
    (for example a late file from an earlier run with other arguments) from the
    partitions it writes, so a re-run leaves exactly this run's files."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.written: dict[tuple[str, date], set[str]] = {}
        self.files: dict[str, int] = {s: 0 for s in SOURCES}
        self.lines: dict[str, int] = {s: 0 for s in SOURCES}
        self.late_files: list[str] = []

    def folder(self, source: str, day: date) -> Path:
        return self.root / source / f"dt={day.isoformat()}"

    def write(self, source: str, day: date, name: str, lines: pa.Array, header: str | None = None) -> None:
        data = _file_bytes(lines)
        if header is not None:
            data = header.encode() + b"\n" + data
        path = self.folder(source, day) / name
        _write(path, data)
        self.written.setdefault((source, day), set()).add(name)
        self.files[source] += 1
        self.lines[source] += len(lines)
        if "_late-" in name:
            self.late_files.append(str(path.relative_to(self.root)))

    def clean(self, day: date) -> None:
        for source in SOURCES:
            folder = self.folder(source, day)
            if not folder.is_dir():
                continue
            pattern = re.compile(rf"^\.?{source}_{day.isoformat()}(_[A-Za-z0-9_.-]*)?\.(jsonl|csv)(\.tmp)?$")
            keep = self.written.get((source, day), set())
            for p in folder.iterdir():
                if p.is_file() and pattern.match(p.name) and p.name not in keep:
                    p.unlink()
            if not any(folder.iterdir()):
                folder.rmdir()


def _split_late(rng, n: int, is_late_day: bool, line_defects: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Record indices of the main file and of the late file (~2 % of a late
    day's records). Records with a line-level defect stay in the main file, so
    every counted defect is written exactly once."""
    late = np.zeros(n, dtype=bool)
    if is_late_day and n:
        late = rng.random(n) < LATE_RECORD_SHARE
        if not late.any():
            late[rng.integers(n)] = True
        for idx in line_defects.values():
            late[idx] = False
    return np.flatnonzero(~late), np.flatnonzero(late)


def _write_json_source(landing: Landing, source: str, day: date, rec: Records, defects: dict,
                       late_day: bool, rng: np.random.Generator) -> int:
    """Write one JSON Lines source for a day (main file plus an optional late
    file) and return how many records went to the late file."""
    lines = rec.objects()
    line_defects = {k: v for k, v in defects.items() if k in LINE_KINDS}
    main_idx, late_idx = _split_late(rng, len(lines), late_day, line_defects)
    pos = np.full(len(lines), -1)
    pos[main_idx] = np.arange(len(main_idx))
    main_defects = {k: pos[v] for k, v in line_defects.items()}
    main = assemble_lines(rng, lines.take(pa.array(main_idx)), main_defects)
    landing.write(source, day, f"{source}_{day.isoformat()}.jsonl", main)
    if len(late_idx):
        landing.write(source, day, f"{source}_{day.isoformat()}_late-01.jsonl", lines.take(pa.array(late_idx)))
    return len(late_idx)


# ----------------------------------------------------------------------------
# Entry points
# ----------------------------------------------------------------------------


def generate(landing_dir: Path, *, start: date = DEFAULT_START, days: int, app_events: int, seed: int = 42,
             timezone: str | None = None, seeds_dir: Path | None = None) -> dict:
    """Write ``days`` daily partitions from ``start`` into ``landing_dir`` and return
    the summary (also written to ``landing_dir/_generator_summary.json``):

    ``arguments``, ``first_date``, ``last_date``;
    ``counts[source]``: ``records`` (logical records, defective ones included),
    ``lines`` (physical lines written, CSV headers excluded), ``files``,
    ``late_records``; ``app_event_types`` and ``daily_purchases`` (as generated);
    ``defects[source][kind]`` and ``defect_totals[source]``: injected defects;
    ``late_files`` (paths relative to ``landing_dir``) and ``late_dates``;
    ``revenue_drop_dates``; ``spikes`` (abuse-flag / service-error hour spikes).

    Re-running into the same folder replaces this generator's files for the
    generated days (and removes its stale ones there); other files are kept.

    ``timezone`` defaults to the business time zone the pipeline will read the
    files in (``BIZINTEL_TIMEZONE``), so ``dt=`` folders are its local days."""
    timezone = timezone or settings.timezone()
    if days < 1 or app_events < 1:
        raise ValueError("days and app_events must be positive")
    ZoneInfo(timezone)  # fail early on an unknown time zone
    landing_dir = Path(landing_dir)
    ref = Reference.load(seeds_dir)
    plan = make_plan(ref, start, days, app_events, seed, timezone)
    landing = Landing(landing_dir)
    records = {s: 0 for s in SOURCES}
    late_records = {s: 0 for s in SOURCES}
    defects: dict[str, dict[str, int]] = {s: {k: 0 for k in DEFECT_KINDS[s]} for s in SOURCES}
    event_types = {name: 0 for name in EVENT_TYPES}
    daily_purchases = []
    pending: dict[int, list] = {}

    def add(source: str, found: dict[str, np.ndarray]) -> None:
        for kind, count in defect_counts(found).items():
            defects[source][kind] += count

    for t, day in enumerate(plan.dates):
        late_day = t in plan.late_days
        cols = app_day(t, plan, ref, seed, pending)
        counts = np.bincount(cols["etype"], minlength=len(EVENT_TYPES))
        for name, c in zip(EVENT_TYPES, counts):
            event_types[name] += int(c)
        daily_purchases.append(int(counts[PURCHASE]))
        rec, found = app_records(cols, day, ref, _rng(seed, _APP_DEFECTS, day))
        records["app_events"] += rec.n
        late_records["app_events"] += _write_json_source(
            landing, "app_events", day, rec, found, late_day, _rng(seed, _APP_LATE, day))
        add("app_events", found)

        guest_lists, reports = venue_day(t, plan, ref, seed)
        defect_rng = _rng(seed, _VENUE_DEFECTS, day)
        for g in guest_lists:
            lines, found = ticketing_lines(g, day, ref, defect_rng)
            records["ticketing"] += len(lines)
            venue = ref.venue_ids[g["venue"]]
            landing.write("ticketing", day, f"ticketing_{day.isoformat()}_{venue}.csv",
                          assemble_lines(defect_rng, lines, {k: v for k, v in found.items() if k in LINE_KINDS}),
                          header=TICKETING_HEADER)
            add("ticketing", found)
        if reports is not None and len(reports["ts"]):
            rec, found = location_records(reports, day, ref, defect_rng)
            records["location_reports"] += rec.n
            late_records["location_reports"] += _write_json_source(
                landing, "location_reports", day, rec, found, late_day, _rng(seed, _LOCATION_LATE, day))
            add("location_reports", found)

        if plan.billing[t]:
            rec, found = billing_records(plan.billing[t], ref, _rng(seed, _BILLING_DEFECTS, day))
            records["billing"] += rec.n
            _write_json_source(landing, "billing", day, rec, found, False, _rng(seed, _BILLING_LATE, day))
            add("billing", found)
        landing.clean(day)

    summary = {
        "generator": "bizintel_dagster.demo.generator",
        "arguments": {"start": start.isoformat(), "days": days, "app_events": app_events, "seed": seed,
                      "timezone": timezone},
        "first_date": plan.dates[0].isoformat(),
        "last_date": plan.dates[-1].isoformat(),
        "counts": {s: {"records": records[s], "lines": landing.lines[s], "files": landing.files[s],
                       "late_records": late_records[s]} for s in SOURCES},
        "app_event_types": event_types,
        "daily_purchases": {d.isoformat(): c for d, c in zip(plan.dates, daily_purchases)},
        "defects": defects,
        "defect_totals": {s: sum(defects[s].values()) for s in SOURCES},
        "late_files": sorted(landing.late_files),
        "late_dates": sorted(plan.dates[t].isoformat() for t in plan.late_days),
        "revenue_drop_dates": [plan.dates[t].isoformat() for t in plan.drop_days],
        "spikes": {k: {"date": plan.dates[t].isoformat(), "local_hour": h} for k, (t, h) in plan.spikes.items()},
    }
    _write(landing_dir / SUMMARY_FILE, (json.dumps(summary, indent=2) + "\n").encode())
    return summary


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bizintel_dagster.demo.generator",
                                     description="Write deterministic demo landing files (docs/raw_contract.md).")
    parser.add_argument("--out", type=Path, default=settings.landing_dir())
    parser.add_argument("--size", choices=sorted(SIZES), default="demo")
    parser.add_argument("--start", type=date.fromisoformat, default=DEFAULT_START)
    parser.add_argument("--days", type=int, help="override the size's number of days")
    parser.add_argument("--events", type=int, help="override the size's number of app events")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--timezone", default=None, help="default: BIZINTEL_TIMEZONE")
    parser.add_argument("--seeds-dir", type=Path, help="read reference data from these seed CSVs")
    args = parser.parse_args(argv)
    size = SIZES[args.size]
    started = time.monotonic()
    summary = generate(args.out, start=args.start, days=args.days or size["days"],
                       app_events=args.events or size["app_events"], seed=args.seed,
                       timezone=args.timezone, seeds_dir=args.seeds_dir)
    elapsed = time.monotonic() - started
    counts = ", ".join(f"{s} {c['records']:,}" for s, c in summary["counts"].items())
    print(f"wrote {summary['first_date']}..{summary['last_date']} to {args.out} in {elapsed:.1f}s: {counts}")
    print(f"defects: {summary['defect_totals']}; revenue drop on {', '.join(summary['revenue_drop_dates']) or '-'}")
    from bizintel_dagster import partitions  # imports Dagster: only here, not for generate()

    end = partitions.last_day(timezone=args.timezone or settings.timezone())
    if date.fromisoformat(summary["last_date"]) > end:
        print(f"note: days after {end} (the last complete day in the business time zone) are not partitions "
              f"yet: `bizintel run` and the landing sensor hold them until each day has ended")
    return summary


if __name__ == "__main__":
    main(sys.argv[1:])
