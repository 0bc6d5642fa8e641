"""Small builders for the revenue tests: finalized invoices, notes, payments and refunds as values."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from subkit.invoice.invoice import CreditNote, Invoice, InvoiceLine, LineKind
from subkit.payment.attempts import AttemptStatus, PaymentAttempt, Refund, RefundStatus
from subkit.revenue.books import Books
from subkit.revenue.journal import Account

__all__ = ["at", "issued", "line", "note", "paid", "postings", "refund"]


def at(y: int, m: int, d: int, h: int = 0) -> datetime:
    return datetime(y, m, d, h, tzinfo=UTC)


def line(
    amount_minor: int,
    kind: LineKind = LineKind.RECURRING,
    start: datetime | None = None,
    end: datetime | None = None,
    *,
    discount: int = 0,
    tax: int = 0,
    plan: str | None = "plan",
    item: str | None = None,
) -> InvoiceLine:
    return InvoiceLine(
        description="line",
        kind=kind,
        plan_id=plan,
        item_id=item,
        period_start=start,
        period_end=end,
        amount_minor=amount_minor,
        discount_minor=discount,
        tax_minor=tax,
    )


def issued(
    id: str,
    lines: list[InvoiceLine],
    when: datetime,
    *,
    customer: str = "cus_1",
    currency: str = "USD",
    credit: int = 0,
    fx: str | None = None,
    reporting: str | None = None,
) -> Invoice:
    inv = Invoice.draft(id, customer, currency, lines, at=when, credit_available_minor=credit).issue(id, when)
    if fx is not None:
        inv = inv.bumped(fx_rate=Decimal(fx), reporting_currency=reporting)
    return inv


def note(
    id: str,
    inv: Invoice,
    amount: int,
    when: datetime,
    *,
    outstanding: int = 0,
    refund: bool = False,
    tax: int = 0,
) -> CreditNote:
    rest = amount - outstanding
    return CreditNote(
        id=id,
        invoice_id=inv.id,
        customer_id=inv.customer_id,
        currency=inv.currency,
        amount_minor=amount,
        outstanding_minor=outstanding,
        credit_minor=0 if refund else rest,
        refund_minor=rest if refund else 0,
        tax_minor=tax,
        created_at=when,
    )


def paid(id: str, inv: Invoice, amount: int, when: datetime, applied: int | None = None) -> PaymentAttempt:
    return PaymentAttempt(
        id=id,
        customer_id=inv.customer_id,
        invoice_id=inv.id,
        status=AttemptStatus.SUCCEEDED,
        attempt_no=1,
        idempotency_key=f"charge:{id}",
        amount_minor=amount,
        currency=inv.currency,
        started_at=when,
        completed_at=when,
        applied_minor=amount if applied is None else applied,
        gateway_payment_id=f"py_{id}",
    )


def refund(id: str, inv: Invoice, amount: int, when: datetime) -> Refund:
    return Refund(
        id=id,
        customer_id=inv.customer_id,
        invoice_id=inv.id,
        attempt_id="pa",
        gateway_payment_id="py",
        status=RefundStatus.SUCCEEDED,
        idempotency_key=f"refund:{id}",
        amount_minor=amount,
        currency=inv.currency,
        created_at=when,
        completed_at=when,
    )


def postings(books: Books, kind: str | None = None) -> list[tuple[str, str, str, int, int]]:
    """(entry kind, date, account, debit, credit) of every posting, in the books' order."""
    return [
        (e.kind.value, e.on.isoformat(), p.account.value, p.debit_minor, p.credit_minor)
        for e in books.entries
        if kind is None or e.kind.value == kind
        for p in e.postings
    ]


def deferred(books: Books) -> int:
    """Deferred revenue left (a credit balance, positive)."""
    return -sum(e.amount(Account.DEFERRED_REVENUE) for e in books.entries)
