"""Tax on what the engine bills: the settings, and the one step that taxes a draft invoice's lines.

Tax applies when a seller is configured (``BillingConfig.seller``): every invoice (renewals,
prorations, one-off items, manual invoices) goes through :func:`tax_lines` just before it is
drafted, and credit notes (so refunds, which issue them) reverse tax with
:func:`subkit.tax.credit.credit_note_tax`. With no seller nothing is called at all.

The tax point is the invoice's date in the customer's time zone: the rates in force on that
day are written on the lines (``tax_rate``) and so locked when the invoice is finalized.

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.customer.customer import Customer, Seller
    >>> from subkit.invoice.invoice import InvoiceLine, LineKind
    >>> line = InvoiceLine.build("Pro", LineKind.RECURRING, unit_amount="100", currency="EUR")
    >>> seller = Seller(legal_name="Acme GmbH", country="DE")
    >>> cus = Customer(id="c", name="Jo", currency="EUR", country="DE", timezone="Europe/Berlin")
    >>> lines, fields = tax_lines(TaxSettings(), seller, cus, "EUR", [line], datetime(2025, 1, 1, tzinfo=UTC))
    >>> lines[0].tax_minor, fields["tax_notes"]
    (1900, ('Place of supply: DE (billing country DE)',))
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from subkit.core.periods import zone
from subkit.customer.customer import Customer, Seller
from subkit.invoice.invoice import InvoiceLine
from subkit.ports import TaxProvider
from subkit.tax.calc import RoundingScope
from subkit.tax.engine import TaxEngine, TaxRequest

__all__ = ["TaxSettings", "tax_lines"]

_BUILT_IN = TaxEngine()


@dataclass(frozen=True, slots=True)
class TaxSettings:
    """How the engine taxes invoices (it does only when ``BillingConfig.seller`` is set).

    ``provider``: a :class:`~subkit.ports.TaxProvider` (``None``: the built-in
    :class:`~subkit.tax.engine.TaxEngine` with its default table and no registrations abroad;
    give a ``TaxEngine(registrations=..., online_check=...)`` to change them).
    ``prices_include_tax``: catalog prices hold the tax (119.00 = 100.00 + 19.00 VAT).
    ``scope``: round tax per line or once per tax and rate on the invoice.

    Example:
        >>> TaxSettings(scope=RoundingScope.INVOICE).scope.value
        'invoice'
    """

    provider: TaxProvider | None = None
    prices_include_tax: bool = False
    scope: RoundingScope = RoundingScope.LINE


def tax_lines(
    settings: TaxSettings,
    seller: Seller,
    customer: Customer,
    currency: str,
    lines: list[InvoiceLine],
    at: datetime,
) -> tuple[list[InvoiceLine], dict[str, Any]]:
    """``lines`` taxed for an invoice of ``at``, and the invoice fields the tax sets (ids, notes)."""
    request = TaxRequest(
        seller=seller,
        customer=customer,
        currency=currency,
        tax_point=at.astimezone(zone(customer.timezone)).date(),
        lines=tuple(lines),
        prices_include_tax=settings.prices_include_tax,
        scope=settings.scope,
    )
    result = (settings.provider or _BUILT_IN).calculate(request)
    fields = {
        "seller_tax_id": result.seller_tax_id,
        "customer_tax_id": result.customer_tax_id,
        "tax_notes": result.notes,
    }
    return result.apply(lines), fields
