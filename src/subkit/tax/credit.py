"""The tax a credit note reverses, computed from the unrounded base at the invoice's locked rates.

A credit note takes back part of an invoice's total (tax included), and the same share of
the tax the invoice charged at its locked rates: ``credited x invoice tax / invoice total``,
kept unrounded and rounded once. Rounding a base first may lose a cent: 2.22 credited at
23% has a base of 1.8048..., so a tax of 0.42, where a base rounded to 1.80 would give 0.41.
The rates are the invoice's own (``InvoiceLine.tax_rate``, locked at finalization), never
today's. A credit note that takes
the invoice's last amount reverses all of its remaining tax, so credit notes of an invoice
never reverse more or less tax than it charged. The tax is cumulative: that of all the
credit so far, rounded once, minus what earlier notes took, so that no note's tax exceeds
its own amount, however small the notes.

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
    after = min(before + amount_minor, invoice.total_minor)
    # Cumulative: the tax of everything credited so far, rounded once, minus what earlier notes
    # took. Each step is then at most its own amount, and the last one ends exactly on the tax.
    exact = CONTEXT.divide(
        CONTEXT.multiply(Decimal(after), Decimal(invoice.tax_minor)), Decimal(invoice.total_minor)
    )
    cumulative = invoice.tax_minor if after == invoice.total_minor else round_minor(exact, rounding)
    return max(0, min(cumulative - tax_credited_before_minor, remaining_tax, amount_minor))
