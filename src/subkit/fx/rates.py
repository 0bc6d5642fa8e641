"""Exchange rates: the locked-rate value, cross rates through the euro, and a static provider.

Every rate table here is quoted as the ECB quotes it: units of a currency per one euro.
A rate between two other currencies is triangulated through the euro at full precision
(``quote_per_eur / base_per_eur`` in the 50-digit context of :mod:`subkit.core.money`),
never from amounts rounded on the way.

The ECB publishes no rate on weekends and TARGET closing days; the rate in force on such a
day is the last one published before it (the "latest rate published" of the EU VAT
Directive 2006/112/EC, Article 91(2)). :class:`StaticRateProvider` applies that rule to its
dated tables, as the ECB adapter (:mod:`subkit.adapters.ecb_rates`) does to the ECB history.

Example:
    >>> from datetime import date
    >>> rates = StaticRateProvider({"USD": "1.0850", "JPY": "163.73"}, on=date(2027, 1, 4))
    >>> r = rates.rate("USD", "JPY", date(2027, 1, 9))      # a Saturday: Monday's table
    >>> r.date.isoformat(), r.source, r.convert_minor(10000)   # 100.00 USD in yen
    ('2027-01-04', 'static', 15090)
"""

from __future__ import annotations

import bisect
import datetime as dt
import decimal
from collections.abc import Mapping
from datetime import date
from decimal import Decimal

from subkit.core.model import Amount, CurrencyCode, Model
from subkit.core.money import CONTEXT, check_currency, decimal_of, exact_to_minor, minor_to_decimal
from subkit.errors import ExchangeRateNotFoundError, ValidationError

__all__ = ["EUR", "ExchangeRate", "StaticRateProvider", "convert_minor", "cross_rate", "per_eur_table"]

EUR = "EUR"


class ExchangeRate(Model):
    """A rate as it is locked on an invoice: ``rate`` units of ``quote`` per one ``base``.

    ``date`` is the day the rate was published (for a weekend, the Friday before), and
    ``source`` who published it (``"ECB"``, ``"static"``, a host's provider name).

    Example:
        >>> from datetime import date
        >>> r = ExchangeRate(base="EUR", quote="KWD", rate="0.3345", date=date(2027, 1, 4), source="static")
        >>> r.convert_minor(1000), r.inverse().quote        # 10.00 EUR = 3.345 KWD
        (3345, 'EUR')
    """

    base: CurrencyCode
    quote: CurrencyCode
    rate: Amount
    date: dt.date
    source: str

    def convert_minor(self, minor: int) -> int:
        """``minor`` units of ``base`` in minor units of ``quote``, rounded once (half up).

        Example:
            >>> from datetime import date
            >>> ExchangeRate(base="USD", quote="JPY", rate="150.5", date=date(2027, 1, 4),
            ...              source="static").convert_minor(199)     # 1.99 USD = 299.495 JPY
            299
        """
        return convert_minor(minor, self.base, self.quote, self.rate)

    def inverse(self) -> ExchangeRate:
        """The same rate seen from the other side (``1 / rate``, at full precision)."""
        return ExchangeRate(
            base=self.quote,
            quote=self.base,
            rate=CONTEXT.divide(Decimal(1), self.rate),
            date=self.date,
            source=self.source,
        )


def convert_minor(minor: int, base: str, quote: str, rate: Decimal) -> int:
    """``minor`` units of ``base`` times ``rate``, as minor units of ``quote``, rounded once.

    Example:
        >>> convert_minor(10000, "USD", "JPY", Decimal("150.904"))     # 100.00 USD
        15090
    """
    exact = CONTEXT.multiply(minor_to_decimal(minor, base), rate)
    # A cross rate such as 163.73 / 1.085 does not terminate and is cut at 50 digits, so an
    # exact half (54.25 USD = 8186.5 JPY) comes out as 8186.4999...(48 nines). Rounding to 40
    # digits first restores the half: no amount and ECB-sized rates come that close to a half
    # unless they are one (their exact value is a fraction with a small denominator).
    return exact_to_minor(_GUARD.plus(exact), check_currency(quote))


_GUARD = decimal.Context(prec=40, rounding=decimal.ROUND_HALF_EVEN)


def per_eur_table(rates: Mapping[str, object]) -> dict[str, Decimal]:
    """A checked table of units per one euro (codes upper-cased, floats refused, EUR = 1).

    Example:
        >>> per_eur_table({"usd": "1.0850"})
        {'USD': Decimal('1.0850'), 'EUR': Decimal('1')}
    """
    table: dict[str, Decimal] = {}
    for code, value in rates.items():
        rate = decimal_of(value, f"rates[{code}]")
        if rate <= 0:
            raise ValidationError(f"the rate of {code} must be positive, got {rate}", field=f"rates[{code}]")
        table[check_currency(code)] = rate
    table[EUR] = Decimal(1)
    return table


def cross_rate(per_eur: Mapping[str, Decimal], base: str, quote: str) -> Decimal:
    """Units of ``quote`` per one ``base``, triangulated through the euro at full precision.

    Example:
        >>> cross_rate({"EUR": Decimal(1), "USD": Decimal("1.25"), "JPY": Decimal(150)}, "USD", "JPY") == 120
        True
    """
    b, q = check_currency(base), check_currency(quote)
    missing = [c for c in (b, q) if c not in per_eur]
    if missing:
        raise ExchangeRateNotFoundError(
            f"no rate for {', '.join(missing)} in this table; add it or use a provider that quotes it",
            field="currency",
        )
    if b == q:
        return Decimal(1)
    return CONTEXT.divide(per_eur[q], per_eur[b])


class StaticRateProvider:
    """Fixed rates per euro, for one day or as a dated history (an ``ExchangeRateProvider``).

    With ``on=None`` the table holds on every day and a rate is dated the day asked for.
    :meth:`history` takes several dated tables; a day between them uses the last table
    published on or before it, as the ECB's rule for weekends and holidays does.

    Example:
        >>> from datetime import date
        >>> hist = StaticRateProvider.history({
        ...     date(2027, 1, 4): {"USD": "1.10"}, date(2027, 1, 5): {"USD": "1.20"}})
        >>> [str(hist.rate("EUR", "USD", date(2027, 1, d)).rate) for d in (4, 5, 6)]
        ['1.10', '1.20', '1.20']
    """

    __slots__ = ("_days", "_tables", "source")

    def __init__(
        self, per_eur: Mapping[str, object], *, on: date | None = None, source: str = "static"
    ) -> None:
        self.source = source
        self._days: list[date] = [] if on is None else [on]
        self._tables: list[dict[str, Decimal]] = [per_eur_table(per_eur)]

    @classmethod
    def history(
        cls, tables: Mapping[date, Mapping[str, object]], *, source: str = "static"
    ) -> StaticRateProvider:
        """A provider over dated tables (units per euro, by publication day)."""
        if not tables:
            raise ValidationError("a rate history needs at least one dated table", field="tables")
        days = sorted(tables)
        provider = cls(tables[days[0]], on=days[0], source=source)
        provider._days = days
        provider._tables = [per_eur_table(tables[d]) for d in days]
        return provider

    def rate(self, base: str, quote: str, on: date) -> ExchangeRate:
        """Units of ``quote`` per one ``base`` in force on ``on`` (the last table on or before it)."""
        if not self._days:
            table, published = self._tables[0], on
        else:
            i = bisect.bisect_right(self._days, on) - 1
            if i < 0:
                raise ExchangeRateNotFoundError(
                    f"no rate on or before {on.isoformat()}: the first table is of "
                    f"{self._days[0].isoformat()}",
                    field="on",
                )
            table, published = self._tables[i], self._days[i]
        return ExchangeRate(
            base=base, quote=quote, rate=cross_rate(table, base, quote), date=published, source=self.source
        )
