"""The tax a credit note reverses, computed from the unrounded base at the invoice's locked rates.

A credit note takes back part of an invoice's total (tax included). Its tax is found from the
exact share of each line it credits: ``credited x line gross / invoice total``, the base
``share / (1 + rate)`` kept unrounded, and the tax ``base x rate``, all added and rounded once.
Rounding the base first may lose a cent: 2.22 credited at 23% has a base of 1.8048..., so a
tax of 0.42, where a base rounded to 1.80 would give 0.41. The rates are the invoice's own
(``InvoiceLine.tax_rate``, locked at finalization), never today's. A credit note that takes
the invoice's last amount reverses all of its remaining tax, so credit notes of an invoice
never reverse more or less tax than it charged.

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.invoice.invoice import Invoice, InvoiceLine, LineKind
    >>> net = InvoiceLine.build("Pro", LineKind.RECURRING, unit_amount="100", currency="EUR")
    >>> line = InvoiceLine.trusted(*net[:11], 2300, Decimal("0.23"), "PL:standard")
    >>> inv = Invoice.draft("in_1", "cus_1", "EUR", [line], at=datetime(2025, 1, 1, tzinfo=UTC))
    >>> credit_note_tax(inv, 222), credit_note_tax(inv, inv.total_minor)
    (42, 2300)
"""

from __future__ import annotations

from decimal import Decimal

from subkit.core.money import CONTEXT, Rounding
from subkit.invoice.invoice import Invoice
from subkit.tax.calc import round_minor

__all__ = ["credit_note_tax"]

_ONE = Decimal(1)


def credit_note_tax(
    invoice: Invoice,
    amount_minor: int,
    *,
    credited_before_minor: int | None = None,
    tax_credited_before_minor: int = 0,
    rounding: Rounding = Rounding.HALF_UP,
) -> int:
    """The tax inside a credit of ``amount_minor`` (tax included) on ``invoice``.

    ``credited_before_minor`` (default: the invoice's ``amount_credited_minor``) and
    ``tax_credited_before_minor`` are what earlier credit notes of the invoice took back.
    """
    remaining_tax = invoice.tax_minor - tax_credited_before_minor
    if invoice.tax_minor <= 0 or amount_minor <= 0 or invoice.total_minor <= 0 or remaining_tax <= 0:
        return 0
    before = invoice.amount_credited_minor if credited_before_minor is None else credited_before_minor
    if before + amount_minor >= invoice.total_minor:
        return remaining_tax
    share = CONTEXT.divide(Decimal(amount_minor), Decimal(invoice.total_minor))
    exact = Decimal(0)
    for line in invoice.lines:
        rate = line.tax_rate
        if not rate:
            continue
        gross = CONTEXT.multiply(share, Decimal(line.net_minor + line.tax_minor))
        base = CONTEXT.divide(gross, _ONE + rate)
        exact += CONTEXT.multiply(base, rate)
    return max(0, min(round_minor(exact, rounding), remaining_tax))
