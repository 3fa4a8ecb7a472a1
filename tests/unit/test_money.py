"""Money shown to people follows the reporting currency's exponent from
reference.currencies (ZAR 2, JPY 0, KWD 3), and an unusable reporting currency
fails before anything runs, naming the setting."""

import duckdb
import pytest

from bizintel_dagster import money


def test_text_follows_the_exponent_of_the_currency():
    assert money.text(784500, "ZAR") == "R 7,845.00"
    assert money.text(-5, "ZAR") == "-R 0.05"
    assert money.text(123456, "JPY") == "¥ 123,456"
    assert money.text(-1234, "KWD") == "-KWD 1.234"
    assert money.plain(1005, "KWD") == "1.005"
    assert money.plain(1005, "JPY") == "1005"
    assert money.major(1005, "KWD") == 1.005


def test_exponent_is_read_from_the_warehouse_reference_table():
    con = duckdb.connect()
    con.execute("create schema reference")
    con.execute("create table reference.currencies as select 'XTS' as currency_code, 4 as minor_unit_exponent")
    assert money.load_exponent(con, "XTS") == 4
    assert money.text(12345, "XTS") == "XTS 1.2345"
    with pytest.raises(ValueError, match="BIZINTEL_REPORTING_CURRENCY=USD"):
        money.load_exponent(con, "USD")


def test_unknown_or_rateless_reporting_currency_fails_naming_the_setting():
    for code in ("ZAR", "USD", "JPY", "KWD"):
        money.check_reporting_currency(code)
    with pytest.raises(ValueError, match="BIZINTEL_REPORTING_CURRENCY=XYZ is not a currency"):
        money.check_reporting_currency("XYZ")


def test_alert_figures_carry_the_iso_code_after_the_exponents_digits():
    assert money.with_code(784500, "ZAR") == "7,845.00 ZAR"
    assert money.with_code(-123456, "JPY") == "-123,456 JPY"
    assert money.with_code(1005, "KWD") == "1.005 KWD"
