"""Dated tax rates: one :class:`TaxRate` per tax of a jurisdiction and period, each with its source.

A jurisdiction is an ISO 3166 country (``"DE"``) or a country and its subdivision
(``"CA-QC"``, ``"US-TX"``). A jurisdiction may levy several taxes at once (Quebec: GST and
QST), each its own :class:`TaxRate` with a distinct ``name``. A rate holds over the half-open
period ``[valid_from, valid_until)`` of calendar dates: the rate in force at a tax point is
the one whose period contains the tax point's date.

A :class:`RateTable` is a versioned set of rates. The built-in one
(:data:`subkit.tax.tables.DEFAULT_TABLE`) is an approximation kept by hand from the cited
authorities; a host replaces or extends it with :meth:`RateTable.with_rates`.

Example:
    >>> from datetime import date
    >>> from decimal import Decimal
    >>> table = RateTable("example", (
    ...     TaxRate("FI", "VAT", Decimal("0.24"), date(2013, 1, 1), "vero.fi", valid_until=date(2024, 9, 1)),
    ...     TaxRate("FI", "VAT", Decimal("0.255"), date(2024, 9, 1), "vero.fi"),
    ... ))
    >>> [r.rate for r in table.rates_at("FI", date(2024, 8, 31))]
    [Decimal('0.24')]
    >>> [r.rate for r in table.rates_at("FI", date(2024, 9, 1))]
    [Decimal('0.255')]
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from subkit.core.money import Rounding
from subkit.errors import TaxRateNotFoundError, ValidationError

__all__ = ["RateTable", "TaxRate", "country_of"]

_ONE = Decimal(1)


def country_of(jurisdiction: str) -> str:
    """The country part of a jurisdiction code.

    Example:
        >>> country_of("CA-QC"), country_of("DE")
        ('CA', 'DE')
    """
    return jurisdiction.split("-", 1)[0]


@dataclass(frozen=True, slots=True)
class TaxRate:
    """One tax of one jurisdiction over ``[valid_from, valid_until)``, with the authority it comes from.

    ``rate`` is a fraction (``0.19`` for 19%). ``taxable_share`` is the part of the price the
    tax applies to (Texas taxes 80% of a data processing charge): the tax is
    ``base x taxable_share x rate``. ``registration`` is what the seller must be registered for
    to collect this tax (``"EU"`` for every EU VAT, ``"CA"`` for GST/HST, ``"CA-QC"`` for QST,
    ``"US-TX"`` for a US state); empty means the jurisdiction's code. ``rounding`` is how the
    jurisdiction's law rounds a tax amount to the currency's minor unit.
    ``reverse_charge`` says whether a business customer with a valid tax id accounts for the
    tax itself (VAT and GST) rather than being charged it (US sales tax: no).

    Example:
        >>> tx = TaxRate("US-TX", "sales tax", Decimal("0.0625"), date(2024, 1, 1), "comptroller.texas.gov",
        ...              taxable_share=Decimal("0.8"), reverse_charge=False)
        >>> tx.effective_rate
        Decimal('0.05000')
    """

    jurisdiction: str
    name: str
    rate: Decimal
    valid_from: date
    source: str
    valid_until: date | None = None
    taxable_share: Decimal = _ONE
    registration: str = ""
    rounding: Rounding = Rounding.HALF_UP
    reverse_charge: bool = True
    note: str = ""

    def __post_init__(self) -> None:
        what = f"{self.jurisdiction} {self.name}"
        if not isinstance(self.rate, Decimal) or not Decimal(0) <= self.rate < _ONE:
            raise ValidationError(f"{what}: rate must be a Decimal in [0, 1)", field="rate")
        if not isinstance(self.taxable_share, Decimal) or not Decimal(0) < self.taxable_share <= _ONE:
            raise ValidationError(f"{what}: taxable_share must be a Decimal in (0, 1]", field="taxable_share")
        if self.valid_until is not None and self.valid_until <= self.valid_from:
            raise ValidationError(
                f"{what}: valid_until {self.valid_until} is not after {self.valid_from}", field="valid_until"
            )
        if not self.source:
            raise ValidationError(f"{what}: every rate must cite its source", field="source")

    @property
    def effective_rate(self) -> Decimal:
        """``rate x taxable_share``: the tax on one unit of price."""
        return self.rate * self.taxable_share

    @property
    def registration_key(self) -> str:
        """What a seller must be registered for to collect this tax."""
        return self.registration or self.jurisdiction

    def holds_on(self, day: date) -> bool:
        """Whether ``day`` falls in ``[valid_from, valid_until)``."""
        return self.valid_from <= day and (self.valid_until is None or day < self.valid_until)


@dataclass(frozen=True, slots=True)
class RateTable:
    """A versioned set of :class:`TaxRate`; periods of one tax of one jurisdiction never overlap.

    Example:
        >>> from subkit.tax.tables import DEFAULT_TABLE
        >>> [(r.name, r.rate) for r in DEFAULT_TABLE.rates_at("CA-QC", date(2025, 1, 1))]
        [('GST', Decimal('0.05')), ('QST', Decimal('0.09975'))]
    """

    version: str
    rates: tuple[TaxRate, ...]
    _index: dict[str, tuple[TaxRate, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, list[TaxRate]] = {}
        for r in self.rates:
            index.setdefault(r.jurisdiction, []).append(r)
        for code, found in index.items():
            found.sort(key=lambda r: (r.name, r.valid_from))
            for a, b in itertools.pairwise(found):
                if a.name == b.name and (a.valid_until is None or a.valid_until > b.valid_from):
                    raise ValidationError(
                        f"{code} {a.name}: the rates from {a.valid_from} and {b.valid_from} overlap",
                        field="rates",
                    )
        object.__setattr__(self, "_index", {k: tuple(v) for k, v in index.items()})

    @property
    def jurisdictions(self) -> tuple[str, ...]:
        """Every jurisdiction the table knows, sorted."""
        return tuple(sorted(self._index))

    def knows(self, jurisdiction: str) -> bool:
        """Whether the table has any rate for ``jurisdiction``."""
        return jurisdiction in self._index

    def rates_at(self, jurisdiction: str, day: date) -> tuple[TaxRate, ...]:
        """The taxes of ``jurisdiction`` in force on ``day`` (empty for a jurisdiction with no such tax).

        A jurisdiction the table knows but not on ``day`` (before its first rate) is an error:
        the table does not cover that date, and guessing would be wrong.
        """
        found = self._index.get(jurisdiction)
        if found is None:
            return ()
        here = tuple(r for r in found if r.holds_on(day))
        if not here and all(day < r.valid_from for r in found):
            first = min(r.valid_from for r in found)
            raise TaxRateNotFoundError(
                f"the tax table {self.version} has no rate for {jurisdiction} before {first} "
                f"(asked for {day}); add the rate with RateTable.with_rates",
                field="tax_point",
            )
        return here

    def with_rates(
        self, rates: Iterable[TaxRate], *, version: str | None = None, replace: bool = True
    ) -> RateTable:
        """A new table with ``rates`` added; with ``replace``, they replace every rate of their jurisdictions.

        Example:
            >>> from subkit.tax.tables import DEFAULT_TABLE
            >>> mine = DEFAULT_TABLE.with_rates(
            ...     [TaxRate("US-CO", "sales tax", Decimal("0.029"), date(2024, 1, 1), "my tax adviser")],
            ...     version="host-1")
            >>> mine.version, mine.rates_at("US-CO", date(2025, 1, 1))[0].rate
            ('host-1', Decimal('0.029'))
        """
        new = tuple(rates)
        codes = {r.jurisdiction for r in new}
        kept = tuple(r for r in self.rates if not (replace and r.jurisdiction in codes))
        return RateTable(version or f"{self.version}+host", kept + new)
