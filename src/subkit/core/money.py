"""Exact money: decimals in, minor units out, one explicit rounding.

Amounts are ``moneyed.Money`` at the edges and ``Decimal`` / ``int`` minor units
inside. A float is refused everywhere (:class:`~subkit.errors.FloatNotAllowedError`).
Intermediate arithmetic runs in a private high-precision decimal context, so the
ambient ``decimal`` context of the host never changes a result.

Example:
    >>> from decimal import Decimal
    >>> from subkit.core.money import money, allocate, format_money
    >>> money("10.005", "EUR")
    Money('10.01', 'EUR')
    >>> [str(p.amount) for p in allocate(money("100.00", "EUR"), [1, 1, 1])]
    ['33.34', '33.33', '33.33']
    >>> format_money(money("1234.56", "EUR"), "de_DE")
    '1.234,56\\xa0€'
"""

from __future__ import annotations

import copy
import decimal
from collections.abc import Iterable, Sequence
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache

from babel import Locale
from babel.numbers import NumberPattern, get_currency_precision, is_currency
from moneyed import CURRENCIES, Currency, Money

from subkit.errors import (
    CurrencyMismatchError,
    FloatNotAllowedError,
    UnknownCurrencyError,
    ValidationError,
)

__all__ = [
    "CONTEXT",
    "ISO_NO_MINOR_UNIT",
    "MAX_AMOUNT",
    "MAX_DECIMAL",
    "MAX_DECIMAL_TEXT",
    "ROUNDING_MODES",
    "Currency",
    "Money",
    "Rounding",
    "add",
    "allocate",
    "allocate_minor",
    "check_amount",
    "check_currency",
    "check_rounding",
    "decimal_of",
    "exact_to_minor",
    "format_money",
    "from_minor",
    "minor_to_decimal",
    "minor_units",
    "money",
    "round_amount",
    "set_minor_units",
    "sum_money",
    "to_minor",
]

#: Private context for intermediate math: 50 digits, never the host's ambient one.
CONTEXT = decimal.Context(prec=50, rounding=decimal.ROUND_HALF_EVEN, traps=[decimal.InvalidOperation])


class Rounding(StrEnum):
    """How an exact amount becomes minor units.

    Example:
        >>> round_amount(Decimal("0.125"), "USD", Rounding.HALF_EVEN)
        Decimal('0.12')
    """

    HALF_UP = decimal.ROUND_HALF_UP
    HALF_EVEN = decimal.ROUND_HALF_EVEN
    DOWN = decimal.ROUND_DOWN
    UP = decimal.ROUND_UP


_overrides: dict[str, int] = {}


def check_currency(code: str) -> str:
    """Return the ISO 4217 ``code`` (upper-cased) or raise ``UnknownCurrencyError``.

    Example:
        >>> check_currency("eur")
        'EUR'
    """
    if not isinstance(code, str):
        raise UnknownCurrencyError(f"got {type(code).__name__}; pass an ISO 4217 code", field="currency")
    return _check_currency(code)


@lru_cache(maxsize=512)
def _check_currency(code: str) -> str:
    if not is_currency(code.upper()):
        raise UnknownCurrencyError(f"{code!r} is not an ISO 4217 currency code", field="currency")
    return code.upper()


#: Codes ISO 4217 gives no minor unit ("N.A.": SDR, gold, silver, test and fund codes).
ISO_NO_MINOR_UNIT = frozenset(
    {"XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XDR", "XPD", "XPT", "XSU", "XTS", "XUA", "XXX"}
)


def minor_units(code: str) -> int:
    """Digits after the decimal point for ``code``: ISO 4217's, unless overridden.

    The one source of truth for rounding, minor-unit integers and formatting. ISO 4217
    (the ISO 4217 "list one" maintained by SIX for ISO) wins over CLDR (babel), whose
    digits are a usage hint: Iraqi dinar has 3 in ISO 4217 and 0 in CLDR, forint and
    rupiah 2 in ISO and 0 in CLDR. The ISO figures come from py-moneyed's table; a code
    it lacks (newer than its table, e.g. ``XCG``) or one ISO gives no minor unit
    (:data:`ISO_NO_MINOR_UNIT`) takes babel's value. ``set_minor_units`` overrides both.

    Example:
        >>> minor_units("JPY"), minor_units("EUR"), minor_units("KWD"), minor_units("IQD")
        (0, 2, 3, 3)
    """
    return _minor_units(check_currency(code))


@lru_cache(maxsize=512)
def _minor_units(code: str) -> int:
    if code in _overrides:
        return _overrides[code]
    iso = CURRENCIES.get(code)
    if iso is not None and iso.sub_unit and code not in ISO_NO_MINOR_UNIT:
        return len(str(iso.sub_unit)) - 1  # sub_unit is 10 ** digits
    return int(get_currency_precision(code))


@lru_cache(maxsize=512)
def _exponent(code: str) -> Decimal:
    return Decimal(1).scaleb(-_minor_units(code))


def set_minor_units(code: str, digits: int) -> None:
    """Override the minor units of a currency (e.g. bill ``HUF`` in whole forints).

    Example:
        >>> set_minor_units("HUF", 0); minor_units("HUF")
        0
        >>> set_minor_units("HUF", 2)
    """
    if not isinstance(digits, int) or not 0 <= digits <= 8:
        raise UnknownCurrencyError("minor units must be an int between 0 and 8", field="digits")
    _overrides[check_currency(code)] = digits
    _minor_units.cache_clear()
    _exponent.cache_clear()


#: The largest magnitude any decimal input may have (amounts, prices, quantities, weights): 10**15.
#: Beyond it a value is refused with ``ValidationError`` (``out_of_range`` in the message);
#: money amounts have the tighter :data:`MAX_AMOUNT`. See docs/limits.md.
MAX_DECIMAL = Decimal(10) ** 15
#: The largest money amount, in major units (one trillion): ``money``, prices, one-off items,
#: credit notes. Its minor units (at most 3 digits) fit a signed 64-bit integer with room to sum.
MAX_AMOUNT = Decimal(10) ** 12
_MAX_INT = 10**15
#: Longest decimal string accepted (digits, sign, point and exponent).
MAX_DECIMAL_TEXT = 64


def decimal_of(value: object, field: str = "amount", *, bounded: bool = True) -> Decimal:
    """``Decimal`` from an int, str or Decimal; a float is refused, so is a bool or anything else.

    Only a ``float`` raises :class:`~subkit.errors.FloatNotAllowedError`; text that is not a
    number, a bool, ``None``, NaN/infinity or a magnitude beyond :data:`MAX_DECIMAL` raise
    :class:`~subkit.errors.ValidationError`. ``bounded=False`` (stored values read back, whose
    bounds were checked on the way in) skips the magnitude check.

    Example:
        >>> decimal_of("1.10")
        Decimal('1.10')
        >>> decimal_of("1e60")
        Traceback (most recent call last):
        ...
        subkit.errors.ValidationError: [invalid] amount: 1E+60 is out of range: at most 10**15 in magnitude
    """
    if isinstance(value, float):
        raise FloatNotAllowedError(
            f"got {value!r} (float); pass a Decimal, int or str (floats cannot represent money exactly)",
            field=field,
        )
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, bool):
        raise ValidationError(f"got a bool ({value}); pass a Decimal, int or str", field=field)
    elif isinstance(value, int):
        if bounded and not -_MAX_INT <= value <= _MAX_INT:
            raise ValidationError("integer out of range: at most 10**15 in magnitude", field=field)
        return Decimal(value)
    elif isinstance(value, str):
        if bounded and len(value) > MAX_DECIMAL_TEXT:
            raise ValidationError(f"a number is at most {MAX_DECIMAL_TEXT} characters long", field=field)
        try:
            d = Decimal(value)
        except (decimal.InvalidOperation, ValueError):
            raise ValidationError(f"{value!r} is not a decimal number", field=field) from None
    else:
        raise ValidationError(f"got {type(value).__name__}; pass a Decimal, int or str", field=field)
    if not d.is_finite():
        raise ValidationError(f"{d} is not a finite amount", field=field)
    if bounded and d.adjusted() >= 15 and d.copy_abs() > MAX_DECIMAL:
        raise ValidationError(f"{d} is out of range: at most 10**15 in magnitude", field=field)
    return d


def check_amount(value: Decimal, field: str = "amount") -> Decimal:
    """``value`` if its magnitude is at most :data:`MAX_AMOUNT`, else ``ValidationError``.

    Example:
        >>> check_amount(Decimal("1e12"))
        Decimal('1E+12')
    """
    if value.copy_abs() > MAX_AMOUNT:
        raise ValidationError(
            "amount out of range: at most 10**12 (one trillion) major units in magnitude", field=field
        )
    return value


def check_rounding(rounding: object) -> str:
    """The ``decimal`` rounding mode of a :class:`Rounding` (or its value); ``ValidationError`` else.

    Example:
        >>> check_rounding("ROUND_HALF_EVEN")
        'ROUND_HALF_EVEN'
    """
    mode = ROUNDING_MODES.get(rounding) if isinstance(rounding, str) else None
    if mode is None:
        raise ValidationError(
            f"{rounding!r} is not a rounding mode; pass a subkit.Rounding "
            f"({', '.join(r.name for r in Rounding)})",
            field="rounding",
        )
    return mode


def round_amount(amount: Decimal, currency: str, rounding: Rounding = Rounding.HALF_UP) -> Decimal:
    """Round an exact ``amount`` once to the minor units of ``currency``.

    Example:
        >>> round_amount(Decimal("1234.5"), "JPY")
        Decimal('1235')
    """
    mode = check_rounding(rounding)
    return amount.quantize(_exponent(check_currency(currency)), rounding=mode, context=CONTEXT)


def money(amount: object, currency: str, rounding: Rounding = Rounding.HALF_UP) -> Money:
    """A ``Money`` rounded to the currency's minor units; floats refused.

    Example:
        >>> money(5, "KWD")
        Money('5.000', 'KWD')
    """
    code = check_currency(currency)
    return Money(round_amount(check_amount(decimal_of(amount)), code, rounding), code)


def to_minor(
    amount: Money | Decimal, currency: str | None = None, rounding: Rounding = Rounding.HALF_UP
) -> int:
    """Integer minor units (cents) of an amount, rounding once if needed.

    Example:
        >>> to_minor(money("12.34", "USD"))
        1234
    """
    if isinstance(amount, Money):
        code = amount.currency.code
        value = amount.amount
    else:
        if currency is None:
            raise UnknownCurrencyError("currency is required for a bare Decimal", field="currency")
        code, value = check_currency(currency), decimal_of(amount)
    return int(round_amount(value, code, rounding).scaleb(_minor_units(code), context=CONTEXT))


def exact_to_minor(amount: Decimal, currency: str, rounding: Rounding = Rounding.HALF_UP) -> int:
    """Integer minor units of an exact ``Decimal``, rounded once (the hot-path form of :func:`to_minor`).

    Example:
        >>> exact_to_minor(Decimal("54.505"), "USD"), exact_to_minor(Decimal("1234.5"), "JPY")
        (5451, 1235)
    """
    scaled = amount.scaleb(_minor_units(currency), context=CONTEXT)
    return int(scaled.quantize(_ONE, rounding=ROUNDING_MODES[rounding], context=CONTEXT))


_ONE = Decimal(1)
#: The ``decimal`` rounding mode of each :class:`Rounding` (a plain ``str``: quicker to pass).
ROUNDING_MODES: dict[str, str] = {**{r: r.value for r in Rounding}, **{r.value: r.value for r in Rounding}}


def minor_to_decimal(minor: int, currency: str) -> Decimal:
    """Major-unit ``Decimal`` of an integer minor-unit amount.

    Example:
        >>> minor_to_decimal(1234, "USD")
        Decimal('12.34')
    """
    return Decimal(minor).scaleb(-_minor_units(check_currency(currency)), context=CONTEXT)


def from_minor(minor: int, currency: str) -> Money:
    """``Money`` from integer minor units (an ``int``: a float, bool or str is refused).

    Example:
        >>> from_minor(1235, "JPY")
        Money('1235', 'JPY')
        >>> from_minor("1", "USD")
        Traceback (most recent call last):
        ...
        subkit.errors.ValidationError: [invalid] minor: got str; pass an int number of minor units
    """
    if type(minor) is not int:
        if isinstance(minor, float):
            raise FloatNotAllowedError("got a float; pass an int number of minor units", field="minor")
        raise ValidationError(f"got {type(minor).__name__}; pass an int number of minor units", field="minor")
    if not -_MAX_INT * 1000 <= minor <= _MAX_INT * 1000:
        raise ValidationError("minor units out of range", field="minor")
    return Money(minor_to_decimal(minor, currency), check_currency(currency))


def allocate_minor(total: int, weights: Sequence[object]) -> list[int]:
    """Split ``total`` minor units over ``weights`` by largest remainder.

    The parts always sum to ``total``; ties go to the earliest weight. Negative
    totals split symmetrically.

    Example:
        >>> allocate_minor(5, [30, 70])
        [2, 3]
    """
    if total < 0:
        return [-p for p in allocate_minor(-total, weights)]
    if weights and all(type(w) is int and w >= 0 for w in weights):
        return _allocate_ints(total, weights)  # type: ignore[arg-type]
    ws = [decimal_of(w, "weights") for w in weights]
    if not ws or any(w < 0 for w in ws) or sum(ws) == 0:
        raise ValidationError("weights must be non-negative with a positive sum", field="weights")
    wsum = sum(ws)
    raw = [CONTEXT.divide(CONTEXT.multiply(Decimal(total), w), wsum) for w in ws]
    parts = [int(r) for r in raw]  # floor: total and weights are non-negative
    left = total - sum(parts)
    order = sorted(range(len(ws)), key=lambda i: (-(raw[i] - parts[i]), i))
    for i in order[:left]:
        parts[i] += 1
    return parts


def _allocate_ints(total: int, weights: Sequence[int]) -> list[int]:
    """:func:`allocate_minor` over integer weights in integer arithmetic (the same parts)."""
    wsum = sum(weights)
    if wsum == 0:
        raise ValidationError("weights must be non-negative with a positive sum", field="weights")
    parts = [total * w // wsum for w in weights]
    left = total - sum(parts)
    if left:
        # the fractional part of total * w / wsum orders like its remainder total * w % wsum
        order = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % wsum), i))
        for i in order[:left]:
            parts[i] += 1
    return parts


def allocate(total: Money, weights: Sequence[object]) -> list[Money]:
    """Split a ``Money`` over ``weights`` so the parts sum exactly to it.

    Example:
        >>> [str(p.amount) for p in allocate(money("0.05", "USD"), [30, 70])]
        ['0.02', '0.03']
    """
    code = total.currency.code
    return [from_minor(p, code) for p in allocate_minor(to_minor(total), weights)]


def add(a: Money, b: Money) -> Money:
    """Sum of two amounts of one currency; mixing currencies raises.

    Example:
        >>> add(money(1, "EUR"), money(2, "EUR"))
        Money('3.00', 'EUR')
    """
    if a.currency != b.currency:
        raise CurrencyMismatchError(f"cannot add {a.currency.code} and {b.currency.code}; convert first")
    return Money(a.amount + b.amount, a.currency)


def sum_money(amounts: Iterable[Money], currency: str) -> Money:
    """Sum amounts that must all be in ``currency`` (zero when empty).

    Example:
        >>> sum_money([money(1, "USD"), money("0.5", "USD")], "USD")
        Money('1.50', 'USD')
    """
    total = Money(round_amount(Decimal(0), currency), check_currency(currency))
    for m in amounts:
        total = add(total, m)
    return total


def format_money(amount: Money, locale: str = "en_US") -> str:
    """Format for people with babel, in ``locale``, at the currency's :func:`minor_units`.

    The locale gives symbols, separators and the pattern; the digits are always
    :func:`minor_units` (ISO 4217), never CLDR's, so what is printed is what is billed.

    Example:
        >>> format_money(money("1234.56", "USD"), "en_US")
        '$1,234.56'
        >>> format_money(money("1234.5", "IQD"), "en_US")
        'IQD1,234.500'
    """
    code = amount.currency.code
    return str(
        _pattern(locale, _minor_units(code)).apply(
            round_amount(amount.amount, code), _locale(locale), currency=code, currency_digits=False
        )
    )


@lru_cache(maxsize=256)
def _locale(name: str) -> Locale:
    return Locale.parse(name)


@lru_cache(maxsize=1024)
def _pattern(locale: str, digits: int) -> NumberPattern:
    """The locale's standard currency pattern with exactly ``digits`` decimals."""
    pattern: NumberPattern = copy.copy(_locale(locale).currency_formats["standard"])
    pattern.frac_prec = (digits, digits)
    return pattern
