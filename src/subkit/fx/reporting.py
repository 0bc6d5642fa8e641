"""Amounts in the reporting currency at the rate locked on an invoice, and FX gains and losses.

An invoice in a currency other than the reporting one carries the rate locked when it was
finalized (``fx_rate``, units of the reporting currency per one unit of the invoice's).
Reports value it at that rate forever, whatever the rates do afterwards: an amount in the
reporting currency is ``minor x fx_rate``, rounded once to the reporting currency's units.

When the customer pays, the money received is worth ``minor x rate on the payment day``;
the difference with what was booked is the realized FX gain (positive) or loss (negative).
Both sides are rounded once each, as each is booked, so the journal balances to the cent.

Example:
    >>> from decimal import Decimal
    >>> fx_gain_loss(100000, "USD", "EUR", booked_rate=Decimal("0.90"), settled_rate=Decimal("0.92"))
    2000
"""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from subkit.core.money import check_currency
from subkit.errors import ExchangeRateNotFoundError
from subkit.fx.rates import convert_minor

__all__ = ["LockedRate", "fx_gain_loss", "reporting_minor"]


class LockedRate(Protocol):
    """What carries a locked rate (an :class:`~subkit.invoice.invoice.Invoice`)."""

    @property
    def id(self) -> str: ...
    @property
    def currency(self) -> str: ...
    @property
    def fx_rate(self) -> Decimal | None: ...
    @property
    def reporting_currency(self) -> str | None: ...


def reporting_minor(doc: LockedRate, minor: int, reporting_currency: str) -> int:
    """``minor`` units of ``doc``'s currency in ``reporting_currency``, at the rate locked on ``doc``.

    The same currency needs no rate. A credit note is valued at its invoice's locked rate:
    pass the invoice and the note's amount. An invoice finalized without a rate to
    ``reporting_currency`` raises :class:`~subkit.errors.ExchangeRateNotFoundError`.

    Example:
        >>> from datetime import UTC, datetime
        >>> from subkit.invoice.invoice import Invoice
        >>> inv = Invoice.draft("in_1", "cus_1", "USD", [], at=datetime(2027, 1, 4, tzinfo=UTC))
        >>> reporting_minor(inv.model_copy(update={"fx_rate": Decimal("0.9216589861751152"),
        ...                                        "reporting_currency": "EUR"}), 10000, "EUR")
        9217
    """
    target = check_currency(reporting_currency)
    if doc.currency == target:
        return minor
    if doc.fx_rate is None or doc.reporting_currency != target:
        raise ExchangeRateNotFoundError(
            f"{doc.id} in {doc.currency} has no rate locked to {target} (it was finalized before "
            f"BillingConfig.reporting_currency was {target}); value it with an explicit rate",
            field="fx_rate",
        )
    return convert_minor(minor, doc.currency, target, doc.fx_rate)


def fx_gain_loss(
    minor: int, currency: str, reporting_currency: str, *, booked_rate: Decimal, settled_rate: Decimal
) -> int:
    """Realized FX gain (positive) or loss (negative) in minor units of ``reporting_currency``.

    ``minor`` units of ``currency`` were booked as a receivable at ``booked_rate`` (the
    invoice's locked rate) and settled at ``settled_rate`` (the rate on the payment day):
    ``round(minor x settled) - round(minor x booked)``. For a refund, pass the refunded
    amount negative.

    Example:
        >>> fx_gain_loss(33333, "USD", "EUR", booked_rate=Decimal("0.91234"),
        ...              settled_rate=Decimal("0.90111"))    # 300.37 - 304.11
        -374
    """
    booked = convert_minor(minor, currency, reporting_currency, booked_rate)
    settled = convert_minor(minor, currency, reporting_currency, settled_rate)
    return settled - booked
