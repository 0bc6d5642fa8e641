"""The demo's currencies: books kept in US dollars, rates locked on every other invoice.

The business reports in USD (``BillingConfig.reporting_currency``); an invoice in EUR, GBP
or JPY locks its rate when it is finalized. The rates are the ECB's euro reference rates of
31 December 2025 (USD 1.1750, GBP 0.8726, JPY 184.09 per euro; https://www.ecb.europa.eu/
stats/policy_and_exchange_rates/euro_reference_exchange_rates/html/index.en.html), held
fixed so that a demo of any dates is reproducible. The summary shows one converted invoice,
rendered for its customer, and what each currency's invoices are worth in USD at their
locked rates.

Example:
    >>> from datetime import date
    >>> r = currency_config()["exchange_rates"].rate("EUR", "USD", date(2026, 3, 2))
    >>> str(r.rate), r.source
    ('1.1750', 'ECB 2025-12-31')
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from subkit.adapters.render import invoice_document, render_text
from subkit.customer.customer import Customer, Seller
from subkit.fx import StaticRateProvider, reporting_minor
from subkit.invoice.invoice import Invoice

__all__ = ["REPORTING_CURRENCY", "converted_sample", "currency_config", "reported_totals"]

REPORTING_CURRENCY = "USD"
_RATES = StaticRateProvider({"USD": "1.1750", "GBP": "0.8726", "JPY": "184.09"}, source="ECB 2025-12-31")


def currency_config() -> dict[str, Any]:
    """The ``BillingConfig`` fields of the demo's currencies (reporting currency and rates)."""
    return {"reporting_currency": REPORTING_CURRENCY, "exchange_rates": _RATES}


def reported_totals(invoices: Sequence[Invoice]) -> tuple[tuple[str, int], ...]:
    """Per currency, the invoices' totals in USD minor units, each at its own locked rate."""
    totals: dict[str, int] = {}
    for inv in invoices:
        usd = reporting_minor(inv, inv.total_minor, REPORTING_CURRENCY)
        totals[inv.currency] = totals.get(inv.currency, 0) + usd
    return tuple(sorted(totals.items()))


def converted_sample(
    invoices: Sequence[Invoice], customers: dict[str, Customer], seller: Seller | None = None
) -> tuple[str, str] | None:
    """(caption, text) of a renewal in a currency other than USD, rendered for its customer
    (one in French or German if there is one: those words are translated too)."""
    pool = [i for i in invoices if i.fx_rate is not None and i.total_minor > 0 and i.period_start is not None]
    local = [i for i in pool if customers[i.customer_id].locale[:2] in ("fr", "de")]
    for inv in local or pool:
        caption = f"an invoice in {inv.currency}, reported in {REPORTING_CURRENCY} at its locked rate"
        return caption, render_text(invoice_document(inv, customers[inv.customer_id], seller))
    return None
