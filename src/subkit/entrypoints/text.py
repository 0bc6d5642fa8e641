"""Plain text for people: the tables, amounts and invoices that ``subkit`` and its demo print.

One place for what the command line (:mod:`subkit.entrypoints.cli`) and the demo's
summary (:mod:`subkit.entrypoints.demo`) both show. The formatting itself (``money``,
``table``, days and quantities in a locale) is :mod:`subkit.adapters.render.formats`, which
the invoices rendered for customers (:mod:`subkit.adapters.render`) use too; this module
adds the operator's view of an invoice (ids, status, reason).

Example:
    >>> for line in table(("Plan", "Seats"), [("basic", "1"), ("pro", "12")], right=(1,)):
    ...     print(line)
    Plan   Seats
    basic      1
    pro       12
    >>> money(123456, "EUR"), money(123456, "EUR", "de_DE")
    ('€1,234.56', '1.234,56\\xa0€')
"""

from __future__ import annotations

from subkit.adapters.render.formats import Formats, money, table
from subkit.customer.customer import Customer
from subkit.invoice.invoice import Invoice

__all__ = ["format_invoice", "money", "table"]


def format_invoice(invoice: Invoice, customer: Customer) -> str:
    """An invoice as text: amounts and dates in the customer's locale and time zone.

    Example:
        >>> from datetime import datetime, UTC
        >>> from subkit.invoice.invoice import InvoiceLine, LineKind
        >>> cus = Customer(id="cus_1", name="Ada Ltd", currency="GBP", locale="en_GB",
        ...                timezone="Europe/London")
        >>> line = InvoiceLine.build("Pro × 3", LineKind.RECURRING, quantity=3, unit_amount="9.50",
        ...                          currency="GBP")
        >>> inv = Invoice.draft("in_1", "cus_1", "GBP", [line], at=datetime(2026, 3, 1, tzinfo=UTC))
        >>> print(format_invoice(inv.finalize("INV-000001", inv.created_at), cus))
        Invoice INV-000001 (in_1), open, reason: manual
        Customer: Ada Ltd (cus_1), GBP, en_GB, Europe/London
        Issued: 1 Mar 2026
          Description  Period  Qty  Amount  Discount
          Pro × 3                3  £28.50
          Subtotal                  £28.50
          Total                     £28.50
          Amount due                £28.50
    """
    loc = customer.locale
    f = Formats(loc, customer.timezone)
    day, period, qty = f.day, f.period, f.qty

    def amount(minor: int) -> str:
        return f.amount(minor, invoice.currency)

    head = [
        f"Invoice {invoice.number or '(draft)'} ({invoice.id}), {invoice.status.value}, "
        f"reason: {invoice.billing_reason.value}",
        f"Customer: {customer.name} ({customer.id}), {invoice.currency}, {loc}, {customer.timezone}",
        f"Issued: {day(invoice.finalized_at or invoice.created_at)}"
        + (f"   Period: {period(invoice.period_start, invoice.period_end)}" if invoice.period_start else ""),
    ]
    rows: list[tuple[str, ...]] = [
        (
            ln.description,
            period(ln.period_start, ln.period_end),
            qty(ln.quantity),
            amount(ln.amount_minor),
            amount(-ln.discount_minor) if ln.discount_minor else "",
        )
        for ln in invoice.lines
    ]
    totals = [("Subtotal", invoice.subtotal_minor)]
    if invoice.discount_minor:
        totals.append(("Discount", -invoice.discount_minor))
    if invoice.tax_minor:
        totals.append(("Tax", invoice.tax_minor))
    totals.append(("Total", invoice.total_minor))
    if invoice.credit_applied_minor:
        totals.append(("Credit balance applied", -invoice.credit_applied_minor))
    if invoice.prepaid_applied_minor:
        totals.append(("Prepaid credits applied", -invoice.prepaid_applied_minor))
    if invoice.amount_credited_minor:
        totals.append(("Credit notes", -invoice.amount_credited_minor))
    totals.append(("Amount due", invoice.amount_remaining_minor))
    rows.extend((label, "", "", amount(minor), "") for label, minor in totals)
    header = ("Description", "Period", "Qty", "Amount", "Discount")
    return "\n".join([*head, *table(header, rows, right=(2, 3, 4), indent="  ")])
