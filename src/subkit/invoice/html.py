"""An invoice as a small, self-contained HTML page (what a customer downloads from the portal).

One function, so a host (or a richer renderer, a PDF one) can take its place:
``CustomerPortal(render_invoice=...)``. Every text is escaped; amounts are formatted once
from minor units in the invoice's locale.

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.invoice.invoice import Invoice, InvoiceLine, LineKind, InvoiceStatus
    >>> at = datetime(2027, 1, 1, tzinfo=UTC)
    >>> inv = Invoice(id="in_1", customer_id="cus_1", currency="USD", number="INV-000001",
    ...               status=InvoiceStatus.OPEN, created_at=at, finalized_at=at,
    ...               lines=(InvoiceLine(description="Pro <monthly>", kind=LineKind.RECURRING,
    ...                                  amount_minor=2000),),
    ...               subtotal_minor=2000, total_minor=2000, amount_due_minor=2000)
    >>> page = invoice_html(inv, bill_to="Ada & Co")
    >>> "Pro &lt;monthly&gt;" in page, "Ada &amp; Co" in page, "$20.00" in page
    (True, True, True)
"""

from __future__ import annotations

from html import escape

from subkit.core.money import format_money, from_minor
from subkit.invoice.invoice import Invoice

__all__ = ["invoice_html"]

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;color:#222}"
    "table{width:100%;border-collapse:collapse}"
    "td,th{padding:.4rem;border-bottom:1px solid #ddd;text-align:left}"
    "td.n,th.n{text-align:right}tfoot td{font-weight:600}"
)


def invoice_html(invoice: Invoice, *, bill_to: str, issuer: str = "", locale: str = "en_US") -> str:
    """The invoice as an HTML document: who it is for and from, lines, totals, what is due.

    ``locale`` formats amounts when the invoice has none of its own.
    """
    locale = invoice.locale or locale

    def money(minor: int) -> str:
        return escape(format_money(from_minor(minor, invoice.currency), locale))

    title = escape(f"Invoice {invoice.number or invoice.id}")
    issued = (invoice.finalized_at or invoice.created_at).date().isoformat()
    rows = []
    for line in invoice.lines:
        period = ""
        if line.period_start is not None and line.period_end is not None:
            period = f"{line.period_start.date().isoformat()} to {line.period_end.date().isoformat()}"
        rows.append(
            f"<tr><td>{escape(line.description)}</td><td>{escape(period)}</td>"
            f"<td class=n>{escape(str(line.quantity))}</td><td class=n>{money(line.amount_minor)}</td></tr>"
        )
    totals = [("Subtotal", invoice.subtotal_minor)]
    if invoice.discount_minor:
        totals.append(("Discounts", -invoice.discount_minor))
    if invoice.tax_minor:
        totals.append(("Tax", invoice.tax_minor))
    totals.append(("Total", invoice.total_minor))
    if invoice.credit_applied_minor:
        totals.append(("Credit applied", -invoice.credit_applied_minor))
    if invoice.amount_paid_minor:
        totals.append(("Paid", -invoice.amount_paid_minor))
    totals.append(("Amount due", invoice.amount_remaining_minor))
    foot = "".join(f"<tr><td colspan=3>{name}</td><td class=n>{money(v)}</td></tr>" for name, v in totals)
    issued_by = f"<p>{escape(issuer)}</p>" if issuer else ""
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{title}</title>"
        f"<style>{_STYLE}</style></head><body>{issued_by}<h1>{title}</h1>"
        f"<p>Issued {issued} to {escape(bill_to)} &middot; status: {escape(invoice.status.value)}</p>"
        f"<table><thead><tr><th>Description</th><th>Period</th><th class=n>Qty</th><th class=n>Amount</th>"
        f"</tr></thead><tbody>{''.join(rows)}</tbody><tfoot>{foot}</tfoot></table></body></html>"
    )
