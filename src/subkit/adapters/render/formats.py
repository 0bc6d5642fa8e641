"""Formatting for people, with babel: amounts, dates, periods, quantities, rates and text tables.

One place for what the rendered documents (:mod:`subkit.adapters.render`), the command line
and the demo (:mod:`subkit.entrypoints.text`) print. Amounts have the currency's ISO 4217
digits (:func:`subkit.core.money.minor_units`); dates are calendar days in the customer's
time zone.

Example:
    >>> from datetime import datetime, UTC
    >>> f = Formats("de_DE", "Europe/Berlin")
    >>> f.amount(123456, "EUR"), f.day(datetime(2027, 1, 31, 23, 30, tzinfo=UTC))
    ('1.234,56\\xa0€', '01.02.2027')
    >>> f.percent(Decimal("0.255")), Formats("fr_FR").long_day(datetime(2027, 3, 1, tzinfo=UTC))
    ('25,5\\xa0%', '1 mars 2027')
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

from babel import Locale
from babel.dates import format_date
from babel.numbers import NumberPattern, format_decimal

from subkit.core.money import format_money, from_minor, minor_units
from subkit.core.periods import zone

__all__ = ["Formats", "money", "table"]


def money(minor: int, currency: str, locale: str = "en_US") -> str:
    """An amount in minor units, formatted with babel for ``locale``.

    Example:
        >>> money(-250, "USD"), money(1800, "JPY", "ja_JP")
        ('-$2.50', '￥1,800')
    """
    return str(format_money(from_minor(minor, currency), locale))


def table(
    header: Sequence[str], rows: Sequence[Sequence[str]], right: Collection[int] = (), indent: str = ""
) -> list[str]:
    """Columns padded to their widest cell and two spaces apart, each line after ``indent``.

    ``right`` lists the right-aligned columns (by index); the others are left-aligned.
    Trailing blanks are dropped.

    Example:
        >>> table(("A", "B"), [("x", "10")], right=(1,), indent="  ")
        ['  A   B', '  x  10']
    """
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(r: Sequence[str]) -> str:
        cells = [
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        return indent + "  ".join(cells).rstrip()

    return [line(header), *(line(r) for r in rows)]


class Formats:
    """Amounts, days and numbers in one ``locale`` and time zone.

    Example:
        >>> from datetime import datetime, UTC
        >>> f = Formats("en_GB", "Europe/London")
        >>> f.day(datetime(2027, 7, 1, tzinfo=UTC)), f.qty(Decimal("2.50")), f.amount(950, "GBP")
        ('1 Jul 2027', '2.5', '£9.50')
    """

    __slots__ = ("locale", "tz")

    def __init__(self, locale: str = "en_US", timezone: str = "UTC") -> None:
        self.locale = locale
        self.tz = zone(timezone)

    def amount(self, minor: int, currency: str) -> str:
        """Minor units of ``currency`` as people read them in this locale."""
        return money(minor, currency, self.locale)

    def day(self, at: datetime | None) -> str:
        """The calendar day of ``at`` in this time zone (babel's medium format); ``""`` for none."""
        return (
            ""
            if at is None
            else str(format_date(at.astimezone(self.tz).date(), "medium", locale=self.locale))
        )

    def calendar_day(self, day: date | None) -> str:
        """A calendar day (no time zone to apply), in babel's medium format."""
        return "" if day is None else str(format_date(day, "medium", locale=self.locale))

    def price(self, value: Decimal, currency: str) -> str:
        """A unit price: the currency's digits at least, more if the price has them (0.002 USD).

        Example:
            >>> Formats("en_US").price(Decimal("0.002"), "USD"), Formats("en_US").price(Decimal("9.5"), "USD")
            ('$0.002', '$9.50')
        """
        digits = max(minor_units(currency), -int(value.normalize().as_tuple().exponent))
        pattern = _money_pattern(self.locale, digits)
        return str(pattern.apply(value, Locale.parse(self.locale), currency=currency, currency_digits=False))

    def long_day(self, at: datetime | None) -> str:
        """The calendar day of ``at`` in this time zone, in words (babel's long format)."""
        return (
            "" if at is None else str(format_date(at.astimezone(self.tz).date(), "long", locale=self.locale))
        )

    def period(self, start: datetime | None, end: datetime | None) -> str:
        """``start – end`` as days (a half-open period: ``end`` is the first day not covered)."""
        return f"{self.day(start)} – {self.day(end)}" if start is not None and end is not None else ""

    def qty(self, q: Decimal) -> str:
        """A quantity without trailing zeros."""
        return str(format_decimal(q.normalize(), locale=self.locale))

    def decimal(self, value: Decimal, digits: int = 6) -> str:
        """A number such as an exchange rate, with up to ``digits`` decimals (rounded half even).

        Example:
            >>> Formats("de_DE").decimal(Decimal("0.92165898617511520737"))
            '0,921659'
        """
        return str(_pattern(self.locale, "decimal", digits).apply(value, Locale.parse(self.locale)))

    def percent(self, rate: Decimal) -> str:
        """A rate (``0.19``) as a percentage in this locale, with up to three decimals."""
        return str(_pattern(self.locale, "percent", 3).apply(rate, Locale.parse(self.locale)))


@lru_cache(maxsize=64)
def _money_pattern(locale: str, digits: int) -> NumberPattern:
    pattern: NumberPattern = copy.copy(Locale.parse(locale).currency_formats["standard"])
    pattern.frac_prec = (digits, digits)
    return pattern


@lru_cache(maxsize=64)
def _pattern(locale: str, kind: str, digits: int) -> NumberPattern:
    loc = Locale.parse(locale)
    formats = loc.percent_formats if kind == "percent" else loc.decimal_formats
    pattern: NumberPattern = copy.copy(formats[None])
    pattern.frac_prec = (0, digits)
    return pattern
