"""Money shown to people: integer minor units of the reporting currency, formatted
by that currency's minor-unit exponent (ZAR 2, JPY 0, KWD 3).

The exponent is read from the warehouse's ``reference.currencies`` (the dbt seed)
by ``load_exponent`` wherever a connection is at hand; code that formats without a
connection (report renderers, alert messages) uses the value cached by that call,
or else the same seed file the table is built from, so one table decides both the
SQL conversion and the formatting.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

SEEDS_DIR = Path(__file__).resolve().parents[1] / "seeds"
SEEDS_CURRENCIES = SEEDS_DIR / "currencies.csv"
CURRENCY_SYMBOLS = {"ZAR": "R", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}

_exponents: dict[str, int] = {}


def _unknown(currency: str) -> ValueError:
    return ValueError(f"BIZINTEL_REPORTING_CURRENCY={currency} is not a currency of reference.currencies "
                      f"(seeds/currencies.csv)")


def load_exponent(con, currency: str) -> int:
    """The currency's exponent from ``reference.currencies`` (cached for formatting);
    the seed file when the warehouse has no reference tables yet."""
    exists = con.execute("select count(*) from duckdb_tables() where schema_name = 'reference' "
                         "and table_name = 'currencies'").fetchone()[0]
    if not exists:
        return exponent(currency)
    row = con.execute("select minor_unit_exponent from reference.currencies where currency_code = ?",
                      [currency]).fetchone()
    if row is None:
        raise _unknown(currency)
    _exponents[currency] = int(row[0])
    return _exponents[currency]


@lru_cache(maxsize=1)
def _seed_exponents() -> dict[str, int]:
    with SEEDS_CURRENCIES.open(encoding="utf-8", newline="") as f:
        return {r["currency_code"]: int(r["minor_unit_exponent"]) for r in csv.DictReader(f)}


def exponent(currency: str) -> int:
    if currency in _exponents:
        return _exponents[currency]
    seeds = _seed_exponents()
    if currency not in seeds:
        raise _unknown(currency)
    return seeds[currency]


def symbol(currency: str) -> str:
    return CURRENCY_SYMBOLS.get(currency, currency)


def major(minor: int | float | None, currency: str) -> float | None:
    """Minor units as a major-unit number (spreadsheet cells, chart axes)."""
    if minor is None:
        return None
    exp = exponent(currency)
    return round(minor / 10**exp, exp)


def _parts(minor: int | float, currency: str) -> tuple[str, int, str]:
    """(sign, whole major units, ".fraction" with the exponent's digits or ""):
    exact for integer minor units, no float rounding."""
    exp = exponent(currency)
    minor = int(round(minor))
    whole, frac = divmod(abs(minor), 10**exp)
    return ("-" if minor < 0 else ""), whole, (f".{frac:0{exp}d}" if exp else "")


def plain(minor: int | float | None, currency: str) -> str:
    """1234.56 (1234 for JPY, 1.234 for KWD)."""
    if minor is None:
        return ""
    sign, whole, frac = _parts(minor, currency)
    return f"{sign}{whole}{frac}"


def text(minor: int | float | None, currency: str, *, grouped: bool = True) -> str:
    """R 1,234.56 / ¥ 1,234 / KWD 1.234: symbol (or ISO code) and the exponent's digits."""
    if minor is None:
        return "n/a"
    sign, whole, frac = _parts(minor, currency)
    digits = f"{whole:,}" if grouped else str(whole)
    return f"{sign}{symbol(currency)} {digits}{frac}"


def check_reporting_currency(currency: str) -> None:
    """Fail before anything runs when the reporting currency cannot be reported in:
    not in seeds/currencies.csv, or no FX rate to triangulate through (it must be
    the base of fx_rates.csv or have rates in it). dbt's fx_rates_to_reporting
    stops with the same message for runs started elsewhere (Dagster UI, sensors)."""
    if currency not in _seed_exponents():
        raise _unknown(currency)
    with (SEEDS_DIR / "fx_rates.csv").open(encoding="utf-8", newline="") as f:
        covered = any(currency in (r["currency_code"], r["base_currency"]) for r in csv.DictReader(f))
    if not covered:
        raise ValueError(f"BIZINTEL_REPORTING_CURRENCY={currency} has no rate in seeds/fx_rates.csv "
                         f"(neither a base_currency nor a currency_code)")


def with_code(minor: int | float | None, currency: str) -> str:
    """7,845.00 ZAR / 1,234 JPY: digits by the exponent, the ISO code after (alert messages)."""
    if minor is None:
        return "n/a"
    sign, whole, frac = _parts(minor, currency)
    return f"{sign}{whole:,}{frac} {currency}"
