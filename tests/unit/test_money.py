from decimal import Decimal, localcontext

import pytest

from subkit.core.money import (
    Rounding,
    add,
    allocate,
    allocate_minor,
    decimal_of,
    format_money,
    from_minor,
    minor_units,
    money,
    round_amount,
    set_minor_units,
    sum_money,
    to_minor,
)
from subkit.errors import CurrencyMismatchError, FloatNotAllowedError, UnknownCurrencyError, ValidationError


@pytest.mark.parametrize(("code", "digits"), [("JPY", 0), ("EUR", 2), ("USD", 2), ("KWD", 3), ("CLP", 0)])
def test_minor_units_come_from_babel(code: str, digits: int) -> None:
    assert minor_units(code) == digits


def test_minor_units_override_is_per_currency_and_reversible() -> None:
    set_minor_units("HUF", 0)
    try:
        assert money("1234.5", "HUF").amount == Decimal("1235")
        assert minor_units("EUR") == 2
    finally:
        set_minor_units("HUF", 2)
    assert money("1234.5", "HUF").amount == Decimal("1234.50")


@pytest.mark.parametrize(
    ("mode", "value", "expected"),
    [
        (Rounding.HALF_UP, "2.345", "2.35"),
        (Rounding.HALF_UP, "-2.345", "-2.35"),
        (Rounding.HALF_EVEN, "2.345", "2.34"),
        (Rounding.HALF_EVEN, "2.355", "2.36"),
        (Rounding.DOWN, "2.349", "2.34"),
        (Rounding.DOWN, "-2.349", "-2.34"),
        (Rounding.UP, "2.341", "2.35"),
    ],
)
def test_rounding_modes(mode: Rounding, value: str, expected: str) -> None:
    assert round_amount(Decimal(value), "EUR", mode) == Decimal(expected)


def test_rounding_to_zero_and_three_digit_currencies() -> None:
    assert money("1234.5", "JPY").amount == Decimal("1235")
    assert money("1.2345", "KWD").amount == Decimal("1.235")
    assert money("999.5", "CLP").amount == Decimal("1000")


def test_ambient_decimal_context_is_never_relied_on() -> None:
    with localcontext() as ctx:
        ctx.prec = 3
        ctx.rounding = "ROUND_DOWN"
        assert money("123456.785", "USD").amount == Decimal("123456.79")
        assert allocate_minor(10_000_001, [1, 1, 1]) == [3333334, 3333334, 3333333]


@pytest.mark.parametrize("bad", [0.1, 1.0, float("nan")])
def test_floats_are_refused(bad: float) -> None:
    with pytest.raises(FloatNotAllowedError) as e:
        money(bad, "USD")
    assert e.value.code == "float_not_allowed"
    assert isinstance(e.value, TypeError)


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "abc", True, None, Decimal("NaN"), "1e60", "9" * 60])
def test_non_numbers_are_refused(bad: object) -> None:
    # FloatNotAllowedError is for floats only (issue 10): anything else is a plain ValidationError
    with pytest.raises(ValidationError) as e:
        decimal_of(bad)
    assert not isinstance(e.value, FloatNotAllowedError)


def test_unknown_currency() -> None:
    with pytest.raises(UnknownCurrencyError) as e:
        money(1, "XYZ")
    assert "ISO 4217" in str(e.value)


def test_mixing_currencies_is_refused() -> None:
    with pytest.raises(CurrencyMismatchError):
        add(money(1, "USD"), money(1, "EUR"))
    with pytest.raises(CurrencyMismatchError):
        sum_money([money(1, "USD"), money(1, "EUR")], "USD")
    with pytest.raises(TypeError):  # py-moneyed itself refuses too
        _ = money(1, "USD") + money(1, "EUR")


def test_minor_unit_conversions() -> None:
    assert to_minor(money("12.34", "USD")) == 1234
    assert to_minor(Decimal("0.005"), "USD") == 1  # half-up
    assert to_minor(money("1.235", "KWD")) == 1235
    assert from_minor(1234, "USD").amount == Decimal("12.34")
    assert from_minor(-5, "JPY").amount == Decimal("-5")


def test_allocation_reference_cases() -> None:
    # 5 cents 30/70: exact shares 1.5 and 3.5 -> floors 1, 3; the one cent left goes to the
    # larger remainder (tie .5/.5 -> the first) => 2, 3.
    assert allocate_minor(5, [30, 70]) == [2, 3]
    # 100.00 in three: 3333.33.. each -> 3333 x3 = 9999, one cent left -> first part.
    assert [str(m.amount) for m in allocate(money("100.00", "EUR"), [1, 1, 1])] == ["33.34", "33.33", "33.33"]
    # Negative totals split symmetrically.
    assert allocate_minor(-5, [30, 70]) == [-2, -3]
    # Zero weight gets nothing.
    assert allocate_minor(10, [0, 1, 1]) == [0, 5, 5]


def test_allocation_refuses_bad_weights() -> None:
    with pytest.raises(ValidationError):
        allocate_minor(10, [0, 0])
    with pytest.raises(FloatNotAllowedError):
        allocate_minor(10, [0.5, 0.5])


@pytest.mark.parametrize(
    ("amount", "code", "locale", "expected"),
    [
        ("1234.56", "EUR", "de_DE", "1.234,56\xa0€"),
        ("1234.56", "USD", "en_US", "$1,234.56"),
        ("1234.5", "JPY", "ja_JP", "￥1,235"),
        ("1234.5", "EUR", "fr_FR", "1\u202f234,50\xa0€"),
    ],
)
def test_format_for_people(amount: str, code: str, locale: str, expected: str) -> None:
    assert format_money(money(amount, code), locale) == expected
