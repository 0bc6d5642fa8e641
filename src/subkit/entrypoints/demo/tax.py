"""The demo's tax: a French seller, registered for VAT in the UK, GST/HST in Canada and sales tax
in New York, billing VAT, GST/HST and sales tax in its markets.

EU consumers pay their own country's VAT (one-stop shop); German companies with a VAT id
(``AG``, when python-stdnum is installed to check it) are reverse charged; UK customers pay UK
VAT, Toronto customers Ontario's HST, New York customers New York's 4% state sales tax; San
Francisco (California does not tax SaaS) and Tokyo (no registration there) pay none.

Example:
    >>> from subkit.entrypoints.demo.business import MARKETS
    >>> ny = next(m for m in MARKETS if m.city == "New York")
    >>> customer_tax_fields(ny, "Cedar Studio Inc.")["address"].region
    'NY'
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from subkit.customer.customer import Address, Seller, TaxId
from subkit.entrypoints.demo.business import Market
from subkit.entrypoints.text import money, table
from subkit.invoice.invoice import Invoice
from subkit.services.taxes import TaxSettings
from subkit.tax.engine import TaxEngine
from subkit.tax.ids import stdnum_available

__all__ = ["DEMO_SELLER", "customer_tax_fields", "demo_tax", "render_tax", "tax_by_jurisdiction"]

#: The business the demo runs. The tax ids are python-stdnum's documented examples.
DEMO_SELLER = Seller(
    legal_name="Acme Cloud SAS",
    country="FR",
    address=Address(line1="1 rue de Rivoli", city="Paris", postal_code="75001", country="FR"),
    tax_ids=(
        TaxId(type="eu_vat", value="FR40303265045"),
        TaxId(type="gb_vat", value="GB980780684"),
        TaxId(type="ca_gst_hst", value="123026635RT0001"),
    ),
    registration="RCS Paris 303 265 045",
)
#: Where the seller collects tax besides the EU.
REGISTRATIONS = frozenset({"GB", "CA", "US-NY"})
#: State or province of the demo's North American cities.
_REGIONS = {"New York": "NY", "San Francisco": "CA", "Toronto": "ON"}
#: A German company's VAT id (python-stdnum's example of a valid one).
_DE_VAT = "DE136695976"


def demo_tax() -> TaxSettings:
    """The demo's tax settings: the built-in engine with the seller's registrations.

    Example:
        >>> sorted(demo_tax().provider.registrations)
        ['CA', 'GB', 'US-NY']
    """
    return TaxSettings(provider=TaxEngine(registrations=REGISTRATIONS))


def customer_tax_fields(market: Market, name: str) -> dict[str, Any]:
    """What a new customer of ``market`` carries for tax: its address (with its region), its VAT id."""
    fields: dict[str, Any] = {
        "address": Address(city=market.city, country=market.country, region=_REGIONS.get(market.city, ""))
    }
    if market.country == "DE" and name.endswith(" AG") and stdnum_available():
        fields["tax_ids"] = (TaxId(type="eu_vat", value=_DE_VAT),)
    return fields


def tax_by_jurisdiction(invoices: Sequence[Invoice]) -> tuple[tuple[str, str, int, int], ...]:
    """``(jurisdiction and treatment, currency, invoices, tax)`` over ``invoices``, sorted.

    Example:
        >>> tax_by_jurisdiction([])
        ()
    """
    count: Counter[tuple[str, str]] = Counter()
    tax: Counter[tuple[str, str]] = Counter()
    for inv in invoices:
        codes = {ln.tax_code for ln in inv.lines if ln.tax_code}
        key = (min(codes) if codes else "untaxed", inv.currency)
        count[key] += 1
        tax[key] += inv.tax_minor
    return tuple((k[0], k[1], count[k], tax[k]) for k in sorted(count))


def render_tax(rows: Sequence[tuple[str, str, int, int]]) -> list[str]:
    """The summary's tax section."""
    if not rows:
        return []
    body = [(code, cur, f"{n:,}", money(t, cur)) for code, cur, n, t in rows]
    return [
        "",
        "Tax by jurisdiction",
        *table(("Jurisdiction", "Currency", "Invoices", "Tax"), body, right=(2, 3), indent="  "),
    ]
