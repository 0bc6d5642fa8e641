"""What a rendered invoice or credit note says, as localized strings: one model, three outputs.

:func:`invoice_document` and :func:`credit_note_document` turn the stored values (with the
customer and the seller) into a :class:`Document` whose every field is text in the
customer's locale and time zone: amounts with the currency's ISO 4217 digits, days, tax
rates as percentages, the tax summary by rate, the legal mentions, the locked exchange
rate. The text, HTML and PDF renderers only lay it out.

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.invoice.invoice import InvoiceLine, LineKind
    >>> cus = Customer(id="cus_1", name="Ada SARL", currency="EUR", locale="fr_FR", timezone="Europe/Paris")
    >>> line = InvoiceLine.build("Pro", LineKind.RECURRING, unit_amount="1234.5", currency="EUR")
    >>> inv = Invoice.draft("in_1", "cus_1", "EUR", [line], at=datetime(2027, 3, 1, tzinfo=UTC))
    >>> doc = invoice_document(inv.issue("F-000001", inv.created_at), cus)
    >>> doc.title, doc.facts[1], doc.totals[-1]
    ('Facture F-000001', ("Date d'émission", '1 mars 2027'), ('Net à payer', '1\\u202f234,50\\xa0€'))
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from subkit.adapters.render.formats import Formats
from subkit.adapters.render.labels import labels
from subkit.customer.customer import Address, Customer, Seller, TaxId
from subkit.fx.reporting import reporting_minor
from subkit.invoice.invoice import CreditNote, Invoice, InvoiceStatus

__all__ = ["Document", "Party", "Row", "credit_note_document", "invoice_document", "line_columns"]


@dataclass(frozen=True, slots=True)
class Party:
    """A seller or a customer as printed: a name and the lines under it.

    Example:
        >>> Party("Ada SARL", ("69002 Lyon", "N° TVA: FR40303265045")).lines[1]
        'N° TVA: FR40303265045'
    """

    name: str
    lines: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Row:
    """One invoice line as printed (every field already formatted for the locale).

    Example:
        >>> Row("Pro", "", "1", "9,50\xa0€", "20\xa0%", "9,50\xa0€").amount
        '9,50\xa0€'
    """

    description: str
    period: str
    quantity: str
    unit_price: str
    tax_rate: str
    amount: str


@dataclass(frozen=True, slots=True)
class Document:
    """A document to lay out: every field is localized text (HTML escaping is the renderer's).

    ``facts`` are (label, value) pairs for the header; ``totals`` likewise; ``tax_summary``
    rows are (tax, rate, taxable amount, tax); ``notes`` are the legal mentions.
    """

    kind: str
    locale: str
    title: str
    labels: dict[str, str]
    facts: tuple[tuple[str, str], ...]
    seller: Party | None
    customer: Party
    rows: tuple[Row, ...]
    totals: tuple[tuple[str, str], ...]
    tax_summary: tuple[tuple[str, str, str, str], ...]
    notes: tuple[str, ...]
    exchange_rate: str | None


def line_columns(doc: Document) -> tuple[tuple[str, ...], list[tuple[str, ...]], set[int]]:
    """The line table's header, rows and numeric columns, leaving out the optional columns
    (period, unit price, tax) that no line fills."""
    w = doc.labels
    header = (w["description"], w["period"], w["qty"], w["unit_price"], w["tax_rate"], w["amount"])
    rows = [(r.description, r.period, r.quantity, r.unit_price, r.tax_rate, r.amount) for r in doc.rows]
    keep = [i for i in range(6) if i not in (1, 3, 4) or any(r[i] for r in rows)]
    numeric = {n for n, i in enumerate(keep) if i >= 2}
    return tuple(header[i] for i in keep), [tuple(r[i] for i in keep) for r in rows], numeric


def _address(address: Address | None) -> list[str]:
    if address is None:
        return []
    city = " ".join(p for p in (address.postal_code, address.city) if p)
    return [p for p in (address.line1, address.line2, city, address.region, address.country) if p]


def _tax_ids(ids: tuple[TaxId, ...], extra: str | None, label: str) -> list[str]:
    values = list(dict.fromkeys([*(t.value for t in ids), *([extra] if extra else [])]))
    return [f"{label}: {v}" for v in values]


def _seller(seller: Seller | None, tax_id: str | None, words: dict[str, str]) -> Party | None:
    if seller is None:
        return Party("", tuple(_tax_ids((), tax_id, words["tax_id"]))) if tax_id else None
    lines = [*_address(seller.address), *_tax_ids(seller.tax_ids, tax_id, words["tax_id"])]
    lines += [p for p in (seller.registration, seller.email) if p]
    return Party(seller.legal_name, tuple(lines))


def _customer(customer: Customer, tax_id: str | None, words: dict[str, str]) -> Party:
    lines = [*_address(customer.address), *_tax_ids(customer.tax_ids, tax_id, words["tax_id"])]
    if customer.email:
        lines.append(customer.email)
    return Party(customer.name, tuple(lines))


def _notes(notes: tuple[str, ...], words: dict[str, str]) -> tuple[str, ...]:
    """The invoice's mentions; a reverse charge also gets the mention in the invoice's language."""
    out = list(notes)
    mention = words["reverse_charge"]
    reversed_ = any(n.lower().startswith("reverse charge") for n in notes)
    if reversed_ and mention != "Reverse charge" and mention not in notes:
        out.insert(0, mention)
    return tuple(out)


def _tax_summary(invoice: Invoice, f: Formats) -> tuple[tuple[str, str, str, str], ...]:
    groups: dict[tuple[str, Decimal | None], list[int]] = {}
    for ln in invoice.lines:
        if ln.tax_rate is None and ln.tax_code is None and not ln.tax_minor:
            continue
        base_tax = groups.setdefault((ln.tax_code or "", ln.tax_rate), [0, 0])
        base_tax[0] += ln.net_minor
        base_tax[1] += ln.tax_minor
    cur = invoice.currency
    return tuple(
        (code, "" if rate is None else f.percent(rate), f.amount(base, cur), f.amount(tax, cur))
        for (code, rate), (base, tax) in groups.items()
    )


def _exchange_rate(invoice: Invoice, minor: int, f: Formats, words: dict[str, str]) -> str | None:
    if invoice.fx_rate is None or invoice.reporting_currency is None:
        return None
    target = invoice.reporting_currency
    return words["fx_line"].format(
        base=invoice.currency,
        rate=f.decimal(invoice.fx_rate),
        quote=target,
        source=invoice.fx_rate_source or "",
        date=f.calendar_day(invoice.fx_rate_date),
        total=f.amount(reporting_minor(invoice, minor, target), target),
    )


def invoice_document(invoice: Invoice, customer: Customer, seller: Seller | None = None) -> Document:
    """An invoice as a :class:`Document` in the customer's locale (``invoice.locale`` first)."""
    locale = invoice.locale or customer.locale
    f, words, cur = Formats(locale, customer.timezone), labels(locale), invoice.currency
    number = invoice.number or f"({words['draft']})"
    facts = [
        (words["number"], number),
        (words["issued"], f.long_day(invoice.finalized_at or invoice.created_at)),
    ]
    if invoice.payment_due_at is not None:
        facts.append((words["due"], f.long_day(invoice.payment_due_at)))
    if invoice.period_start is not None:
        facts.append((words["period"], f.period(invoice.period_start, invoice.period_end)))
    rows = tuple(
        Row(
            ln.description,
            f.period(ln.period_start, ln.period_end),
            f.qty(ln.quantity),
            f.price(ln.unit_amount, cur) if ln.unit_amount else "",
            "" if ln.tax_rate is None else f.percent(ln.tax_rate),
            f.amount(ln.amount_minor, cur),
        )
        for ln in invoice.lines
    )
    totals = [(words["subtotal"], invoice.subtotal_minor)]
    if invoice.discount_minor:
        totals.append((words["discount"], -invoice.discount_minor))
    if invoice.tax_minor or any(ln.tax_rate is not None for ln in invoice.lines):
        totals.append((words["tax"], invoice.tax_minor))
    totals.append((words["total"], invoice.total_minor))
    if invoice.credit_applied_minor:
        totals.append((words["credit_applied"], -invoice.credit_applied_minor))
    if invoice.amount_credited_minor:
        totals.append((words["credit_notes"], -invoice.amount_credited_minor))
    if invoice.amount_paid_minor and invoice.status != InvoiceStatus.PAID:
        totals.append((words["paid"], -invoice.amount_paid_minor))
    totals.append((words["amount_due"], invoice.amount_remaining_minor))
    return Document(
        kind="invoice",
        locale=locale,
        title=f"{words['invoice']} {number}",
        labels=words,
        facts=tuple(facts),
        seller=_seller(seller, invoice.seller_tax_id, words),
        customer=_customer(customer, invoice.customer_tax_id, words),
        rows=rows,
        totals=tuple((label, f.amount(minor, cur)) for label, minor in totals),
        tax_summary=_tax_summary(invoice, f),
        notes=_notes(invoice.tax_notes, words),
        exchange_rate=_exchange_rate(invoice, invoice.total_minor, f, words),
    )


def credit_note_document(
    note: CreditNote, invoice: Invoice, customer: Customer, seller: Seller | None = None
) -> Document:
    """A credit note as a :class:`Document`: what it credits, how, with its invoice's tax and rate."""
    locale = invoice.locale or customer.locale
    f, words, cur = Formats(locale, customer.timezone), labels(locale), note.currency
    number = note.number or f"({words['draft']})"
    facts = [
        (words["cn_number"], number),
        (words["cn_issued"], f.long_day(note.created_at)),
        (words["credits_invoice"], f"{invoice.number or invoice.id} ({f.long_day(invoice.finalized_at)})"),
    ]
    if note.reason:
        facts.append((words["reason"], note.reason))
    rates = [f"{code} {rate}".strip() for code, rate, _, _ in _tax_summary(invoice, f)]
    if rates:
        facts.append((words["tax_rate"], ", ".join(rates)))  # the invoice's rates, which the note reverses
    totals = [(words["credit_amount"], note.amount_minor)]
    tax = getattr(note, "tax_minor", None)
    if isinstance(tax, int) and tax:
        totals.append((words["of_which_tax"], tax))
    for key, minor in (
        ("off_invoice", note.outstanding_minor),
        ("to_balance", note.credit_minor),
        ("refunded", note.refund_minor),
    ):
        if minor:
            totals.append((words[key], minor))
    return Document(
        kind="credit_note",
        locale=locale,
        title=f"{words['credit_note']} {number}",
        labels=words,
        facts=tuple(facts),
        seller=_seller(seller, invoice.seller_tax_id, words),
        customer=_customer(customer, invoice.customer_tax_id, words),
        rows=(),
        totals=tuple((label, f.amount(minor, cur)) for label, minor in totals),
        tax_summary=(),
        notes=_notes(invoice.tax_notes, words),
        exchange_rate=_exchange_rate(invoice, note.amount_minor, f, words),
    )
