"""Conversion is exact (one rounding, through the euro), minor units follow ISO 4217, gains and losses.

Every expected figure below is worked by hand in the comment next to it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from babel.numbers import get_currency_precision

from subkit.core.money import exact_to_minor, format_money, minor_units, money, to_minor
from subkit.errors import (
    ExchangeRateNotFoundError,
    FloatNotAllowedError,
    UnknownCurrencyError,
    ValidationError,
)
from subkit.fx import (
    ExchangeRate,
    StaticRateProvider,
    convert_minor,
    cross_rate,
    fx_gain_loss,
    reporting_minor,
)
from subkit.invoice.invoice import Invoice

MON = date(2027, 1, 4)
RATES = StaticRateProvider({"USD": "1.0850", "JPY": "163.73", "KWD": "0.3345"}, on=MON)


def test_usd_to_jpy_is_triangulated_through_the_euro_and_rounded_once() -> None:
    r = RATES.rate("USD", "JPY", MON)
    # 100.00 USD = 100 / 1.0850 EUR = 100 x 163.73 / 1.0850 JPY = 15 090.3225... -> 15 090
    assert r.convert_minor(10000) == 15090
    # Rounding on the way (100 / 1.085 = 92.1658... -> 92.17 EUR, x 163.73 = 15 090.99...) gives
    # 15 091: the cent rounded in euros is worth almost a yen. One rounding, at the end.
    assert exact_to_minor(Decimal("92.17") * Decimal("163.73"), "JPY") == 15091
    # The cross rate keeps full precision: 163.73 / 1.085 = 150.903225806451612903...
    assert str(r.rate).startswith("150.9032258064516129032258064516129")
    # 54.25 USD = 54.25 x 163.73 / 1.085 = 5 425 x 32 746 / 21 700 = 8 186.5 JPY, an
    # exact half although the cross rate does not terminate: half up gives 8 187.
    assert r.convert_minor(5425) == 8187


def test_eur_to_usd_and_back_to_eur() -> None:
    # 1 234.56 EUR x 1.0850 = 1 339.4976 USD -> 1 339.50
    assert RATES.rate("EUR", "USD", MON).convert_minor(123456) == 133950
    # 1 339.50 USD / 1.0850 = 1 234.5622... EUR -> 1 234.56
    assert RATES.rate("USD", "EUR", MON).convert_minor(133950) == 123456


def test_jpy_has_no_minor_unit_and_kwd_three() -> None:
    assert (minor_units("JPY"), minor_units("KWD")) == (0, 3)
    # 15 090 JPY in USD: 15 090 x 1.0850 / 163.73 = 16 372.65 / 163.73 = 99.99786... -> 100.00
    assert RATES.rate("JPY", "USD", MON).convert_minor(15090) == 10000
    # 10.00 EUR x 0.3345 = 3.345 KWD, three decimals: 3 345 fils
    assert RATES.rate("EUR", "KWD", MON).convert_minor(1000) == 3345
    # 19.99 USD x 0.3345 / 1.0850 = 6.686655 / 1.085 = 6.16281566... KWD -> 6.163
    assert RATES.rate("USD", "KWD", MON).convert_minor(1999) == 6163
    # 1.000 KWD x 163.73 / 0.3345 = 489.4768... JPY -> 489
    assert RATES.rate("KWD", "JPY", MON).convert_minor(1000) == 489
    # Half a yen rounds up, away from zero, as a refund does too: 0.5 JPY -> 1, -0.5 -> -1
    assert convert_minor(1, "USD", "JPY", Decimal("50")) == 1
    assert convert_minor(-1, "USD", "JPY", Decimal("50")) == -1


def test_rates_are_checked() -> None:
    with pytest.raises(FloatNotAllowedError):
        StaticRateProvider({"USD": 1.085})
    with pytest.raises(ValidationError, match="must be positive"):
        StaticRateProvider({"USD": "0"})
    with pytest.raises(UnknownCurrencyError):
        StaticRateProvider({"XYZ": "1"})
    with pytest.raises(ExchangeRateNotFoundError, match="GBP"):
        RATES.rate("GBP", "USD", MON)
    with pytest.raises(ValidationError):
        StaticRateProvider.history({})
    assert cross_rate({"EUR": Decimal(1)}, "EUR", "EUR") == 1


def test_a_dated_history_uses_the_last_table_published_on_or_before_the_day() -> None:
    hist = StaticRateProvider.history(
        {date(2027, 1, 8): {"USD": "1.10"}, date(2027, 1, 11): {"USD": "1.20"}}, source="bank"
    )
    # Friday 8, Saturday 9, Sunday 10 -> Friday's table; Monday 11 -> Monday's
    got = [
        (
            hist.rate("EUR", "USD", date(2027, 1, d)).date.day,
            str(hist.rate("EUR", "USD", date(2027, 1, d)).rate),
        )
        for d in (8, 9, 10, 11, 12)
    ]
    assert got == [(8, "1.10"), (8, "1.10"), (8, "1.10"), (11, "1.20"), (11, "1.20")]
    assert hist.rate("EUR", "USD", date(2027, 1, 9)).source == "bank"
    with pytest.raises(ExchangeRateNotFoundError, match="2027-01-08"):
        hist.rate("EUR", "USD", date(2027, 1, 7))
    # An undated table holds every day, dated the day asked for.
    assert StaticRateProvider({"USD": "1.1"}).rate("EUR", "USD", date(2030, 2, 3)).date == date(2030, 2, 3)


def test_an_exchange_rate_round_trips_and_inverts() -> None:
    r = ExchangeRate(base="USD", quote="EUR", rate="0.8", date=MON, source="static")
    assert ExchangeRate.model_validate_json(r.model_dump_json()) == r
    assert r.inverse().rate == Decimal("1.25")
    with pytest.raises(FloatNotAllowedError):
        ExchangeRate(base="USD", quote="EUR", rate=0.8, date=MON, source="static")


# -- one source of truth for minor units: ISO 4217 ---------------------------------------------


def test_iso_4217_wins_over_cldr_for_minor_units() -> None:
    # ISO 4217 list one (SIX, https://www.six-group.com/en/products-services/financial-information/
    # data-standards.html): IQD 3, HUF 2, IDR 2, COP 2. CLDR (babel) gives them 0 (a cash hint).
    assert [get_currency_precision(c) for c in ("IQD", "HUF", "IDR", "COP")] == [0, 0, 0, 0]
    assert [minor_units(c) for c in ("IQD", "HUF", "IDR", "COP")] == [3, 2, 2, 2]
    # What is rounded, stored and printed agree: 1 234.5 IQD is 1 234.500, 1 234 500 fils.
    assert to_minor(money("1234.5", "IQD")) == 1234500
    assert format_money(money("1234.5", "IQD"), "en_US") == "IQD1,234.500"
    assert format_money(money("1234.5", "HUF"), "hu_HU") == "1\xa0234,50\xa0Ft"
    assert format_money(money("1234.5", "JPY"), "ja_JP") == "￥1,235"
    # A code newer than py-moneyed's table (Caribbean guilder, 2025) takes babel's digits: 2 as in ISO
    assert minor_units("XCG") == 2


def test_every_iso_4217_minor_unit_matches_the_official_list() -> None:
    iso4217 = pytest.importorskip("iso4217", reason="the iso4217 package (dev extra) holds ISO's list one")
    checked = 0
    for cur in iso4217.Currency:
        if cur.exponent is None:  # "N.A." in ISO 4217 (gold, SDR, test codes): babel's value
            continue
        try:
            digits = minor_units(cur.code)
        except UnknownCurrencyError:
            continue  # a code babel does not know cannot be billed at all
        assert digits == cur.exponent, cur.code
        checked += 1
    assert checked > 150


# -- reports at the locked rate, gains and losses ----------------------------------------------


def test_reporting_uses_the_rate_locked_on_the_invoice() -> None:
    inv = Invoice.draft("in_1", "cus_1", "USD", [], at=datetime(2027, 1, 4, tzinfo=UTC))
    locked = inv.model_copy(update={"fx_rate": Decimal("0.9"), "reporting_currency": "EUR"})
    # 1 000.05 USD x 0.9 = 900.045 EUR -> 900.05
    assert reporting_minor(locked, 100005, "EUR") == 90005
    assert reporting_minor(inv, 100005, "USD") == 100005  # its own currency: no rate needed
    with pytest.raises(ExchangeRateNotFoundError, match="no rate locked to EUR"):
        reporting_minor(inv, 100, "EUR")
    with pytest.raises(ExchangeRateNotFoundError, match="GBP"):
        reporting_minor(locked, 100, "GBP")


def test_fx_gain_and_loss_on_payment() -> None:
    # 1 000.00 USD booked at 0.90 (900.00 EUR), paid when 0.92 (920.00 EUR): gain 20.00 EUR
    assert (
        fx_gain_loss(100000, "USD", "EUR", booked_rate=Decimal("0.90"), settled_rate=Decimal("0.92")) == 2000
    )
    # 333.33 USD: booked 333.33 x 0.91234 = 304.1102... -> 304.11; settled x 0.90111 = 300.3670... ->
    # 300.37; loss 3.74 EUR
    assert (
        fx_gain_loss(33333, "USD", "EUR", booked_rate=Decimal("0.91234"), settled_rate=Decimal("0.90111"))
        == -374
    )
    # A refund of 100 000 JPY (booked at 0.0061, settled at 0.0060): 610.00 -> 600.00 EUR paid back,
    # 10.00 EUR less than booked: a gain of 10.00
    assert (
        fx_gain_loss(-100000, "JPY", "EUR", booked_rate=Decimal("0.0061"), settled_rate=Decimal("0.0060"))
        == 1000
    )
    # Same rate: nothing
    assert fx_gain_loss(12345, "KWD", "USD", booked_rate=Decimal("3.25"), settled_rate=Decimal("3.25")) == 0
