"""Plain text for people: the tables, amounts and invoices that ``subkit`` and its demo print.

One place for what the command line (:mod:`subkit.entrypoints.cli`) and the demo's
summary (:mod:`subkit.entrypoints.demo`) both show.

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

from collections.abc import Collection, Sequence
from datetime import datetime
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import format_decimal

from subkit.core.money import format_money, from_minor
from subkit.core.periods import zone
from subkit.customer.customer import Customer
from subkit.invoice.invoice import Invoice

__all__ = ["format_invoice", "money", "table"]


def money(minor: int, currency: str, locale: str = "en_US") -> str:
    """An amount in minor units, formatted with babel for ``locale``.

    Example:
        >>> money(-250, "USD"), money(1800, "JPY", "ja_JP")
        ('-$2.50', '￥1,800')
    """
    return str(format_money(from_minor(minor, currency), locale))


def table(
    header: Sequence[str], rows: Sequence[Sequence[str]], right: Collection[int] = (), indent: str = ""
) -> list[str]:
    """Columns padded to their widest cell and two spaces apart, each line after ``indent``.

    ``right`` lists the right-aligned columns (by index); the others are left-aligned.
    Trailing blanks are dropped.

    Example:
        >>> table(("A", "B"), [("x", "10")], right=(1,), indent="  ")
        ['  A   B', '  x  10']
    """
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(r: Sequence[str]) -> str:
        cells = [
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        return indent + "  ".join(cells).rstrip()

    return [line(header), *(line(r) for r in rows)]


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
    tz = zone(customer.timezone)

    def day(at: datetime | None) -> str:
        return "" if at is None else str(format_date(at.astimezone(tz).date(), "medium", locale=loc))

    def amount(minor: int) -> str:
        return money(minor, invoice.currency, loc)

    def period(a: datetime | None, b: datetime | None) -> str:
        return f"{day(a)} – {day(b)}" if a is not None and b is not None else ""

    def qty(q: Decimal) -> str:
        return str(format_decimal(q.normalize(), locale=loc))

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
