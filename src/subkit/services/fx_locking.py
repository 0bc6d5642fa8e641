"""Lock the exchange rate on an invoice at finalization, when it is not in the reporting currency.

With ``BillingConfig.reporting_currency`` set, an invoice in another currency is finalized
with ``fx_rate`` (units of the reporting currency per one unit of the invoice's), the day
the rate was published (``fx_rate_date``), its ``fx_rate_source`` and the
``reporting_currency``, asked once of ``BillingConfig.exchange_rates`` for the UTC calendar
day of finalization. Reports then value the invoice at that rate
(:func:`subkit.fx.reporting_minor`), whatever the rates do afterwards. Without a reporting
currency, or for an invoice already in it, nothing is asked and nothing changes.

Example:
    >>> from datetime import UTC, date, datetime
    >>> from subkit.fx import StaticRateProvider
    >>> from subkit.invoice.invoice import Invoice
    >>> config = BillingConfig(reporting_currency="EUR",
    ...                        exchange_rates=StaticRateProvider({"USD": "1.25"}, on=date(2027, 1, 4)))
    >>> at = datetime(2027, 1, 9, 12, tzinfo=UTC)
    >>> inv = lock_rate(Invoice.draft("in_1", "cus_1", "USD", [], at=at), config, at)
    >>> str(inv.fx_rate), inv.fx_rate_date.isoformat(), inv.fx_rate_source, inv.reporting_currency
    ('0.8', '2027-01-04', 'static', 'EUR')
"""

from __future__ import annotations

from datetime import UTC, datetime

from subkit.core.model import trusted_copy
from subkit.invoice.invoice import Invoice
from subkit.services.context import BillingConfig

__all__ = ["lock_rate"]


def lock_rate(invoice: Invoice, config: BillingConfig, at: datetime) -> Invoice:
    """``invoice`` with the rate to ``config.reporting_currency`` locked (unchanged if none is needed)."""
    target, provider = config.reporting_currency, config.exchange_rates
    if target is None or provider is None or invoice.currency == target:
        return invoice
    rate = provider.rate(invoice.currency, target, at.astimezone(UTC).date())
    return trusted_copy(
        invoice,
        {
            "fx_rate": rate.rate,
            "fx_rate_date": rate.date,
            "fx_rate_source": rate.source,
            "reporting_currency": target,
        },
    )
