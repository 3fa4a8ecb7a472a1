"""The same two generated days run with the reporting currency ZAR (the FX base)
and JPY (not the base, exponent 0; USD reporting is pinned by the dbt unit test
fx_triangulated_to_usd_reporting): every check passes in each run, the records are the same,
and each day's revenue equals the ZAR run's records converted here, independently
of the SQL, from seeds/fx_rates.csv (triangulated through ZAR, as-of the day, both
exponents, half away from zero)."""

from __future__ import annotations

import csv
from bisect import bisect_right
from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest

from bizintel_dagster import money, runner, settings
from bizintel_dagster.demo import generator
from tests.integration.helpers import data_dir, query

pytestmark = pytest.mark.integration

START = date(2026, 6, 6)  # a Saturday and a Sunday: both days carry Friday's rates
DAYS = 2
LAST = START + timedelta(days=DAYS - 1)
CURRENCIES = ("ZAR", "JPY")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = {}
    for currency in CURRENCIES:
        root = tmp_path_factory.mktemp(f"currency_{currency}")
        with data_dir(root), pytest.MonkeyPatch.context() as mp:
            mp.setenv("BIZINTEL_REPORTING_CURRENCY", currency)
            generator.generate(settings.landing_dir(), start=START, days=DAYS, app_events=2000, seed=5)
            definitions = runner.load_definitions()
            instance = runner.default_instance()
            results = [runner.run_job(definitions, "reference_job", instance),
                       runner.run_job(definitions, "daily_pipeline_job", instance, START, LAST)]
            out[currency] = {"path": settings.warehouse_path(), "results": results}
    return out


def _fx_oracle():
    """(currency, day, reporting) -> Decimal rate, from the seed file alone."""
    series = defaultdict(list)
    with (money.SEEDS_DIR / "fx_rates.csv").open(newline="") as f:
        for r in csv.DictReader(f):
            assert r["base_currency"] == "ZAR"
            series[r["currency_code"]].append((date.fromisoformat(r["rate_date"]), Decimal(r["rate_to_base"])))
    for rows in series.values():
        rows.sort()

    def to_base(code: str, day: date) -> Decimal:
        if code == "ZAR":
            return Decimal(1)
        rows = series[code]
        i = bisect_right([d for d, _ in rows], day) - 1
        assert i >= 0, (code, day)
        return rows[i][1]

    def rate(code: str, day: date, reporting: str) -> Decimal:
        return to_base(code, day) / to_base(reporting, day)

    return rate


def _exponents() -> dict[str, int]:
    with (money.SEEDS_DIR / "currencies.csv").open(newline="") as f:
        return {r["currency_code"]: int(r["minor_unit_exponent"]) for r in csv.DictReader(f)}


def test_every_check_passes_in_every_reporting_currency(runs):
    for currency, run in runs.items():
        checks = {}
        for result in run["results"]:
            assert result.success, currency
            checks.update(runner.check_results(result))
        assert checks, currency
        failed = [name for name, ok in checks.items() if not ok]
        assert not failed, (currency, failed)


def test_revenue_is_the_zar_records_converted(runs):
    rate, exponents = _fx_oracle(), _exponents()
    records_sql = "select revenue_id, partition_date, currency_code, amount_minor from fused.fct_revenue order by 1"
    zar_records = query(records_sql, path=runs["ZAR"]["path"])
    held = {c for _, _, c, _ in zar_records}
    # foreign records, one of them with another exponent than the reporting currencies' (KWD: 3)
    assert {"ZAR", "USD"} <= held and {exponents[c] for c in held} - {0, 2}, held
    for reporting in CURRENCIES:
        path = runs[reporting]["path"]
        assert query(records_sql, path=path) == zar_records, reporting
        expected = defaultdict(int)
        for _, day, code, amount in zar_records:
            if code == reporting:
                expected[day] += amount
                continue
            value = (Decimal(amount) * rate(code, day, reporting)
                     * Decimal(10) ** (exponents[reporting] - exponents[code]))
            expected[day] += int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))
        got = dict(query("select metric_date, revenue_total_minor from kpis.kpi_daily order by 1", path=path))
        assert got == dict(expected), reporting
        assert len(got) == DAYS
    # a real conversion happened: the three runs report different figures
    totals = {c: sum(v for _, v in query("select metric_date, revenue_total_minor from kpis.kpi_daily",
                                         path=runs[c]["path"])) for c in CURRENCIES}
    assert len(set(totals.values())) == len(CURRENCIES), totals


def test_sponsor_zone_rates_are_converted_from_the_zones_currency(runs):
    sql = "select zone_id, any_value(hourly_rate_minor) from fused.fct_zone_visits group by 1 order by 1"
    zar = dict(query(sql, path=runs["ZAR"]["path"]))
    jpy = dict(query(sql, path=runs["JPY"]["path"]))
    assert zar and zar.keys() == jpy.keys()
    # ZAR cents -> whole yen: about rate(ZAR->JPY) / 100 = 1 / (0.121 x 100) per cent
    for zone, cents in zar.items():
        assert 0.07 < jpy[zone] / cents < 0.095, (zone, cents, jpy[zone])
