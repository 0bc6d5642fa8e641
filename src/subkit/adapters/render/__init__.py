"""Invoices and credit notes people can read: text, HTML and PDF in the customer's locale.

``render_invoice(store, invoice_id, "html", seller=engine.config.seller)`` reads the invoice
and its customer in one unit of work and lays out a
:class:`~subkit.adapters.render.document.Document`: amounts, dates, tax rates and the tax
summary by rate, both parties' tax ids, the seller's legal details, the legal mentions
(a reverse charge in the invoice's language too), and the locked exchange rate.
``"text"`` and ``"html"`` give ``str``, ``"pdf"`` gives ``bytes`` (the optional extra ``pdf``).

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.catalog.catalog import Catalog, Plan, Product
    >>> from subkit.catalog.pricing import FlatFee
    >>> from subkit.services.engine import BillingEngine
    >>> from subkit.testing import InMemoryStore, TestClock
    >>> engine = BillingEngine(InMemoryStore(), TestClock(datetime(2027, 3, 1, tzinfo=UTC)))
    >>> engine.set_catalog(Catalog(products=(Product(id="app", name="App"),), plans=(
    ...     Plan(id="pro", product_id="app", name="Pro", prices={"EUR": FlatFee(flat_amount="1234.5")}),)))
    >>> cus = engine.create_customer(name="Müller GmbH", currency="EUR", locale="de_DE",
    ...                              timezone="Europe/Berlin")
    >>> inv = engine.invoices(engine.subscribe(cus.id, "pro").customer_id)[0]
    >>> print(render_invoice(engine.store, inv.id).splitlines()[2])
    Rechnungsdatum     1. März 2027
    >>> note = engine.issue_credit_note(inv.id, "100")
    >>> render_credit_note(engine.store, note.id).splitlines()[0]
    'Gutschrift CN-000001'
"""

from __future__ import annotations

from typing import Literal, overload

from subkit.adapters.render.document import Document, credit_note_document, invoice_document
from subkit.adapters.render.html import render_html
from subkit.adapters.render.pdf import render_pdf
from subkit.adapters.render.text import render_text
from subkit.customer.customer import Customer, Seller
from subkit.errors import ValidationError
from subkit.invoice.invoice import CreditNote, Invoice
from subkit.ports import Store

__all__ = [
    "FORMATS",
    "Document",
    "credit_note_document",
    "invoice_document",
    "render",
    "render_credit_note",
    "render_html",
    "render_invoice",
    "render_pdf",
    "render_text",
]

Format = Literal["text", "html", "pdf"]
FORMATS: tuple[str, ...] = ("text", "html", "pdf")


@overload
def render(doc: Document, format: Literal["text", "html"]) -> str: ...
@overload
def render(doc: Document, format: Literal["pdf"]) -> bytes: ...
@overload
def render(doc: Document, format: str) -> str | bytes: ...
def render(doc: Document, format: str) -> str | bytes:
    """Lay out ``doc`` as ``"text"``, ``"html"`` or ``"pdf"``."""
    if format == "text":
        return render_text(doc)
    if format == "html":
        return render_html(doc)
    if format == "pdf":
        return render_pdf(doc)
    raise ValidationError(f"format must be one of {', '.join(FORMATS)}, got {format!r}", field="format")


@overload
def render_invoice(
    store: Store, invoice_id: str, format: Literal["text", "html"] = ..., *, seller: Seller | None = ...
) -> str: ...
@overload
def render_invoice(
    store: Store, invoice_id: str, format: Literal["pdf"], *, seller: Seller | None = ...
) -> bytes: ...
@overload
def render_invoice(
    store: Store, invoice_id: str, format: str, *, seller: Seller | None = ...
) -> str | bytes: ...
def render_invoice(
    store: Store, invoice_id: str, format: str = "text", *, seller: Seller | None = None
) -> str | bytes:
    """An invoice of ``store`` rendered for its customer (``seller``: ``engine.config.seller``)."""
    if format not in FORMATS:
        raise ValidationError(f"format must be one of {', '.join(FORMATS)}, got {format!r}", field="format")
    with store.begin() as uow:
        invoice = uow.get(Invoice, invoice_id)
        customer = uow.get(Customer, invoice.customer_id)
    return render(invoice_document(invoice, customer, seller), format)


@overload
def render_credit_note(
    store: Store, credit_note_id: str, format: Literal["text", "html"] = ..., *, seller: Seller | None = ...
) -> str: ...
@overload
def render_credit_note(
    store: Store, credit_note_id: str, format: Literal["pdf"], *, seller: Seller | None = ...
) -> bytes: ...
@overload
def render_credit_note(
    store: Store, credit_note_id: str, format: str, *, seller: Seller | None = ...
) -> str | bytes: ...
def render_credit_note(
    store: Store, credit_note_id: str, format: str = "text", *, seller: Seller | None = None
) -> str | bytes:
    """A credit note of ``store`` rendered for its customer, with its invoice's tax and rate."""
    if format not in FORMATS:
        raise ValidationError(f"format must be one of {', '.join(FORMATS)}, got {format!r}", field="format")
    with store.begin() as uow:
        note = uow.get(CreditNote, credit_note_id)
        invoice = uow.get(Invoice, note.invoice_id)
        customer = uow.get(Customer, invoice.customer_id)
    return render(credit_note_document(note, invoice, customer, seller), format)
