"""Reference data of the demo business, and the writer of the ``seeds/`` CSVs.

The demo business is a South African live-events platform reporting in ZAR. Its
reference data (venues, sponsor zones, the B2B account hierarchy, plans, payment
methods, products, currencies, FX rates) is defined here, in code, once: the
committed seed CSVs are written from it (``write_seeds``) and the demo generator
reads the same definitions, so every id in generated landing files exists in the
seeds. Regenerate the CSVs with::

    python -m bizintel_dagster.demo.reference [seeds_dir]      # default: <repo>/seeds

Conventions the pipeline relies on:

* Money is integer minor units (``*_minor``): cents for ZAR/USD/EUR/GBP, yen for
  JPY, fils for KWD (``currencies.csv`` holds each exponent).
* ``fx_rates.csv`` has one row per **business day** (Mon-Fri) from 2025-01-01 to
  2027-12-31 for every currency **except ZAR**: ``rate_to_base`` is
  ``base_currency`` (ZAR) per one unit of the currency (6 decimals). The base's own
  rate is 1 by definition and it has no rows; the pipeline triangulates to any
  reporting currency (``fx_rates_to_reporting`` in ``macros/money.sql``) and
  weekends use the last earlier rate (as-of join). The series is a deterministic smooth random walk around realistic levels,
  independent of the generator's seed, so the committed file never changes.
* Sponsor zones are rectangles ``[x_min, x_min + width_m] x [y_min, y_min +
  height_m]`` in venue metres. Some touch venue edges, and two venues have a pair
  of overlapping zones, so zone detection has edge and overlap cases to handle.
* Every non-group account has an existing parent (group -> company -> brand);
  sponsors point at brand accounts.
"""

from __future__ import annotations

import csv
import sys
from datetime import date, timedelta
from pathlib import Path

import numpy as np

REPORTING_CURRENCY = "ZAR"
FX_FIRST_DATE = date(2025, 1, 1)
FX_LAST_DATE = date(2027, 12, 31)
_FX_SEED = 20250101  # fixed: the committed fx_rates.csv must not depend on any run

VENUES_COLUMNS = ["venue_id", "venue_name", "city", "width_m", "height_m"]
VENUES = [
    ("ven_jhb", "Joburg Arena Grounds", "Johannesburg", 320, 240),
    ("ven_cpt", "Cape Town Waterfront Pavilion", "Cape Town", 220, 160),
    ("ven_dbn", "Durban Beachfront Park", "Durban", 400, 140),
    ("ven_pta", "Pretoria Showgrounds", "Pretoria", 280, 280),
]

# account_id, account_name, account_level, parent_account_id, segment, business_type, country
ACCOUNTS_COLUMNS = [
    "account_id", "account_name", "account_level", "parent_account_id",
    "segment", "business_type", "country",
]
_GROUPS = [
    ("acc_g01", "Nedbank Group", "Enterprise", "bank"),
    ("acc_g02", "Standard Bank Group", "Enterprise", "bank"),
    ("acc_g03", "Discovery Limited", "Enterprise", "insurance"),
    ("acc_g04", "MTN Group", "Enterprise", "telecom"),
    ("acc_g05", "Vodacom Group", "Enterprise", "telecom"),
    ("acc_g06", "Shoprite Holdings", "Enterprise", "retail"),
    ("acc_g07", "Karoo Brands Holdings", "Mid-Market", "beverage"),
]
# company id, name, parent group, segment, business type, country, [brand names]
_COMPANIES = [
    ("acc_c01", "Nedbank Retail and Business Banking", "acc_g01", "Enterprise", "bank", "ZA",
     ["Nedbank", "Nedbank Avo", "Nedbank Greenbacks"]),
    ("acc_c02", "Nedbank Wealth", "acc_g01", "Mid-Market", "bank", "ZA", ["Nedbank Private Wealth"]),
    ("acc_c03", "Standard Bank South Africa", "acc_g02", "Enterprise", "bank", "ZA",
     ["Standard Bank", "Standard Bank Shyft", "Standard Bank Private Banking"]),
    ("acc_c04", "Liberty Holdings", "acc_g02", "Mid-Market", "insurance", "ZA", ["Liberty Life", "STANLIB"]),
    ("acc_c05", "Discovery Health", "acc_g03", "Enterprise", "insurance", "ZA",
     ["Discovery", "Discovery Vitality", "Vitality Fitness"]),
    ("acc_c06", "Discovery Bank", "acc_g03", "Mid-Market", "bank", "ZA", ["Discovery Bank"]),
    ("acc_c07", "MTN South Africa", "acc_g04", "Enterprise", "telecom", "ZA", ["MTN", "MTN Pulse", "MTN Business"]),
    ("acc_c08", "MTN Fintech", "acc_g04", "Mid-Market", "telecom", "ZA", ["MoMo", "Ayoba"]),
    ("acc_c09", "Vodacom South Africa", "acc_g05", "Enterprise", "telecom", "ZA",
     ["Vodacom", "VodaPay", "Vodacom Business"]),
    ("acc_c10", "Shoprite Checkers", "acc_g06", "Enterprise", "retail", "ZA",
     ["Shoprite", "Checkers", "Checkers Sixty60", "Usave"]),
    ("acc_c11", "Computicket", "acc_g06", "Mid-Market", "media", "ZA", ["Computicket", "Computicket Travel"]),
    ("acc_c12", "Karoo Breweries", "acc_g07", "Mid-Market", "beverage", "ZA",
     ["Karoo Lager", "Karoo Light", "Karoo Cider"]),
    ("acc_c13", "Highveld Soft Drinks", "acc_g07", "SMB", "beverage", "ZA",
     ["Fizzbok", "Zest Tonic", "Highveld Spring Water"]),
    ("acc_c14", "Mzansi Media", "acc_g07", "Mid-Market", "media", "ZA", ["Mzansi FM", "Jozi Beats FM", "GigGuide SA"]),
    ("acc_c15", "Cape Craft Distillers", "acc_g07", "SMB", "beverage", "ZA", ["Cape Fynbos Gin", "Table Mountain Rum"]),
    ("acc_c16", "Karoo Brands UK", "acc_g07", "SMB", "beverage", "GB", ["Karoo Lager UK"]),
]
# Brands of an Enterprise company: the flagship (first) is Enterprise, the rest
# Mid-Market; brands of smaller companies take the company's segment.
_SMB_BRANDS = {"Nedbank Greenbacks", "Vitality Fitness", "Usave", "Computicket Travel", "Ayoba"}


def _accounts() -> list[tuple]:
    rows = [(gid, name, "group", "", seg, btype, "ZA") for gid, name, seg, btype in _GROUPS]
    brand_rows = []
    for cid, name, parent, seg, btype, country, brands in _COMPANIES:
        rows.append((cid, name, "company", parent, seg, btype, country))
        for i, brand in enumerate(brands):
            if brand in _SMB_BRANDS:
                bseg = "SMB"
            elif seg == "Enterprise":
                bseg = "Enterprise" if i == 0 else "Mid-Market"
            else:
                bseg = seg
            brand_rows.append((brand, cid, bseg, btype, country))
    for n, (brand, cid, bseg, btype, country) in enumerate(brand_rows, start=1):
        rows.append((f"acc_b{n:02d}", brand, "brand", cid, bseg, btype, country))
    return rows


ACCOUNTS = _accounts()
_BRAND_ID = {row[1]: row[0] for row in ACCOUNTS if row[2] == "brand"}

SPONSORS_COLUMNS = ["sponsor_id", "sponsor_name", "industry", "account_id"]
SPONSORS = [
    ("spn_nedbank", "Nedbank", "bank", _BRAND_ID["Nedbank"]),
    ("spn_mtn", "MTN", "telecom", _BRAND_ID["MTN"]),
    ("spn_discovery", "Discovery", "insurance", _BRAND_ID["Discovery"]),
    ("spn_standard_bank", "Standard Bank", "bank", _BRAND_ID["Standard Bank"]),
    ("spn_shoprite", "Shoprite", "retail", _BRAND_ID["Shoprite"]),
    ("spn_vodacom", "Vodacom", "telecom", _BRAND_ID["Vodacom"]),
]

SPONSOR_ZONES_COLUMNS = [
    "zone_id", "venue_id", "zone_name", "sponsor_id", "x_min", "y_min",
    "width_m", "height_m", "hourly_rate_minor", "currency",
]
SPONSOR_ZONES = [
    # Johannesburg 320 x 240: stage on the bottom edge, food court on the left
    # edge, VIP lounge in the top-right corner, chill zone and arcade overlap.
    ("zn_jhb_stage", "ven_jhb", "Main Stage Front", "spn_mtn", 100, 0, 120, 50, 350000, "ZAR"),
    ("zn_jhb_food", "ven_jhb", "Food Court", "spn_shoprite", 0, 90, 70, 80, 150000, "ZAR"),
    ("zn_jhb_vip", "ven_jhb", "VIP Lounge", "spn_nedbank", 230, 160, 90, 80, 280000, "ZAR"),
    ("zn_jhb_chill", "ven_jhb", "Chill Zone", "spn_discovery", 120, 110, 80, 60, 120000, "ZAR"),
    ("zn_jhb_arcade", "ven_jhb", "Gaming Arcade", "spn_vodacom", 165, 135, 60, 50, 180000, "ZAR"),
    # Cape Town 220 x 160
    ("zn_cpt_stage", "ven_cpt", "Harbour Stage", "spn_standard_bank", 60, 110, 100, 50, 300000, "ZAR"),
    ("zn_cpt_market", "ven_cpt", "Waterfront Market", "spn_shoprite", 0, 0, 80, 60, 130000, "ZAR"),
    ("zn_cpt_lounge", "ven_cpt", "Sunset Lounge", "spn_discovery", 150, 20, 70, 50, 200000, "ZAR"),
    # Durban 400 x 140
    ("zn_dbn_stage", "ven_dbn", "Beach Stage", "spn_vodacom", 150, 80, 120, 60, 320000, "ZAR"),
    ("zn_dbn_surf", "ven_dbn", "Surf Village", "spn_mtn", 0, 0, 90, 70, 160000, "ZAR"),
    ("zn_dbn_food", "ven_dbn", "Curry Corner", "spn_shoprite", 300, 10, 70, 50, 110000, "ZAR"),
    ("zn_dbn_family", "ven_dbn", "Family Zone", "spn_discovery", 100, 10, 60, 40, 90000, "ZAR"),
    # Pretoria 280 x 280: the VIP deck overlaps the arena floor.
    ("zn_pta_arena", "ven_pta", "Arena Floor", "spn_standard_bank", 80, 80, 120, 120, 340000, "ZAR"),
    ("zn_pta_garden", "ven_pta", "Beer Garden", "spn_nedbank", 0, 200, 80, 80, 140000, "ZAR"),
    ("zn_pta_tech", "ven_pta", "Tech Pavilion", "spn_vodacom", 200, 0, 80, 90, 170000, "ZAR"),
    ("zn_pta_vip", "ven_pta", "VIP Deck", "spn_mtn", 150, 150, 70, 60, 260000, "ZAR"),
]

PLANS_COLUMNS = ["plan_id", "plan_name", "billing_period", "price_minor", "currency"]
# Annual plans cost ten months of the monthly price (two months free).
PLANS = [
    ("starter_monthly", "Starter (monthly)", "monthly", 499000, "ZAR"),
    ("starter_annual", "Starter (annual)", "annual", 4990000, "ZAR"),
    ("growth_monthly", "Growth (monthly)", "monthly", 1499000, "ZAR"),
    ("growth_annual", "Growth (annual)", "annual", 14990000, "ZAR"),
    ("enterprise_monthly", "Enterprise (monthly)", "monthly", 4999000, "ZAR"),
    ("enterprise_annual", "Enterprise (annual)", "annual", 49990000, "ZAR"),
]

PAYMENT_METHODS_COLUMNS = ["payment_method_id", "payment_method_name", "provider"]
PAYMENT_METHODS = [
    ("card", "Card", "Peach Payments"),
    ("eft", "Instant EFT", "Ozow"),
    ("snapscan", "SnapScan", "SnapScan"),
    ("zapper", "Zapper", "Zapper"),
    ("apple_pay", "Apple Pay", "Apple"),
    ("google_pay", "Google Pay", "Google"),
    ("coins_wallet", "Coins wallet", "bizintel"),
]

PRODUCTS_COLUMNS = ["product_id", "product_name", "product_category", "list_price_minor", "currency"]
PRODUCTS = [
    ("ticket_general", "General admission ticket", "ticket", 35000, "ZAR"),
    ("ticket_premium", "Premium ticket", "ticket", 75000, "ZAR"),
    ("ticket_vip", "VIP ticket", "ticket", 180000, "ZAR"),
    ("upgrade_backstage", "Backstage upgrade", "upgrade", 95000, "ZAR"),
    ("upgrade_fast_lane", "Fast-lane entry", "upgrade", 25000, "ZAR"),
    ("upgrade_parking", "Reserved parking", "upgrade", 15000, "ZAR"),
    ("coins_100", "100 coins", "coins", 4999, "ZAR"),
    ("coins_500", "500 coins", "coins", 22999, "ZAR"),
    ("coins_1200", "1200 coins", "coins", 49999, "ZAR"),
    ("gift_rose", "Rose (gift)", "gift", 999, "ZAR"),
    ("gift_fireworks", "Fireworks (gift)", "gift", 9999, "ZAR"),
    ("gift_crown", "Crown (gift)", "gift", 49900, "ZAR"),
]

CURRENCIES_COLUMNS = ["currency_code", "minor_unit_exponent"]
CURRENCIES = [("ZAR", 2), ("USD", 2), ("EUR", 2), ("GBP", 2), ("JPY", 0), ("KWD", 3)]

# ZAR per unit: the centre of each currency's random walk.
FX_LEVELS = {"USD": 18.2, "EUR": 19.8, "GBP": 23.1, "JPY": 0.121, "KWD": 59.3}
FX_RATES_COLUMNS = ["rate_date", "currency_code", "base_currency", "rate_to_base"]
FX_BASE_CURRENCY = "ZAR"


def business_days(first: date = FX_FIRST_DATE, last: date = FX_LAST_DATE) -> list[date]:
    days = (last - first).days + 1
    return [d for d in (first + timedelta(i) for i in range(days)) if d.weekday() < 5]


def fx_rates() -> list[tuple[str, str, str, str]]:
    """Smooth deterministic walk per currency: a mean-reverting log deviation
    driven by autocorrelated shocks, so day-to-day moves are small (~0.3 %) and
    the level wanders a few per cent around ``FX_LEVELS`` over months."""
    days = business_days()
    rng = np.random.default_rng(_FX_SEED)
    rows = []
    for code, level in FX_LEVELS.items():
        shocks = rng.normal(0.0, 0.0025, len(days))
        drift = 0.0
        deviation = 0.0
        series = []
        for shock in shocks:
            drift = 0.8 * drift + shock
            deviation = 0.99 * deviation + 0.3 * drift
            series.append(level * float(np.exp(deviation)))
        rows.extend((d.isoformat(), code, FX_BASE_CURRENCY, f"{rate:.6f}") for d, rate in zip(days, series))
    rows.sort(key=lambda r: (r[0], r[1]))
    return rows


SEED_STEMS = [
    "venues", "sponsors", "sponsor_zones", "accounts", "plans",
    "payment_methods", "products", "currencies", "fx_rates",
]


def tables() -> dict[str, tuple[list[str], list[tuple]]]:
    """Every seed: file stem -> (columns, rows)."""
    return {
        "venues": (VENUES_COLUMNS, VENUES),
        "sponsors": (SPONSORS_COLUMNS, SPONSORS),
        "sponsor_zones": (SPONSOR_ZONES_COLUMNS, SPONSOR_ZONES),
        "accounts": (ACCOUNTS_COLUMNS, ACCOUNTS),
        "plans": (PLANS_COLUMNS, PLANS),
        "payment_methods": (PAYMENT_METHODS_COLUMNS, PAYMENT_METHODS),
        "products": (PRODUCTS_COLUMNS, PRODUCTS),
        "currencies": (CURRENCIES_COLUMNS, CURRENCIES),
        "fx_rates": (FX_RATES_COLUMNS, fx_rates()),
    }


def write_seeds(seeds_dir: Path) -> list[Path]:
    """Write every seed CSV (header row, ``\\n`` line ends) and return the paths.
    Files are written to a temporary name and renamed, like landing files."""
    seeds_dir = Path(seeds_dir)
    seeds_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, (columns, rows) in tables().items():
        path = seeds_dir / f"{stem}.csv"
        tmp = seeds_dir / f".{stem}.csv.tmp"
        with tmp.open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(columns)
            writer.writerows(rows)
        tmp.replace(path)
        written.append(path)
    return written


def _typed(value: str):
    """CSV text back to the Python type used in the definitions above."""
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


def read_seeds(seeds_dir: Path) -> dict[str, tuple[list[str], list[tuple]]]:
    """Seed CSVs as ``tables()`` returns them, so the generator can follow edited
    seeds. Numeric-looking fields become int/float; names and ids stay strings
    (except ``rate_to_base``, kept as text like ``fx_rates()``)."""
    out = {}
    for stem in SEED_STEMS:
        path = Path(seeds_dir) / f"{stem}.csv"
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.reader(f)
            columns = next(reader)
            numeric = [c.endswith(("_minor", "_m", "_exponent")) or c in ("x_min", "y_min") for c in columns]
            rows = [tuple(_typed(v) if num else v for v, num in zip(row, numeric)) for row in reader if row]
        out[stem] = (columns, rows)
    return out


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    target = Path(argv[0]) if argv else Path(__file__).resolve().parents[2] / "seeds"
    for path in write_seeds(target):
        print(path)


if __name__ == "__main__":
    main()
