"""Credit notes: how a finalized invoice is corrected (it is never edited).

A credit note first reduces what is still due on an open invoice; the rest (all of it on a
paid invoice) goes to the customer's credit balance, or is marked for refund. Given an ``id``,
issuing is idempotent: the refund flow passes one derived from its refund, so a retry finds
the credit note it already issued instead of crediting twice.

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.services.customers import Customers
    >>> from subkit.services.invoicing import Invoicing
    >>> from subkit.testing import InMemoryStore, TestClock
    >>> ctx = ServiceContext(InMemoryStore(), TestClock(datetime(2027, 1, 1, tzinfo=UTC)))
    >>> cus = Customers(ctx).create(name="Ada", currency="USD")
    >>> _ = Invoicing(ctx).add_item(cus.id, "Setup", "40")
    >>> inv = Invoicing(ctx).invoice_now(cus.id)
    >>> notes = CreditNotes(ctx)
    >>> note = notes.issue(inv.id, "15", reason="goodwill", id="cn_goodwill_1")
    >>> note.number, note.outstanding_minor, Invoicing(ctx).get(inv.id).amount_remaining_minor
    ('CN-000001', 1500, 2500)
    >>> notes.issue(inv.id, "15", reason="goodwill", id="cn_goodwill_1") == note   # a retry: no second credit
    True
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from subkit.core.events import Event, EventType
from subkit.core.inputs import check_bool, check_id, check_optional_id, check_text
from subkit.core.money import check_amount, decimal_of, to_minor
from subkit.customer.customer import Customer
from subkit.errors import IdempotencyError, NotFoundError, StateError, ValidationError
from subkit.invoice.invoice import CreditNote, Invoice, InvoiceStatus
from subkit.services.context import ServiceContext
from subkit.services.customers import change_balance
from subkit.tax.credit import credit_note_tax

__all__ = ["CreditNotes"]


class CreditNotes:
    """Issues and lists credit notes.

    Example:
        >>> from datetime import datetime, UTC
        >>> from subkit.testing import InMemoryStore, TestClock
        >>> notes = CreditNotes(ServiceContext(InMemoryStore(), TestClock(datetime(2027, 1, 1, tzinfo=UTC))))
        >>> notes.issue("in_missing")
        Traceback (most recent call last):
        subkit.errors.NotFoundError: [not_found] id: no invoice with id 'in_missing'
    """

    __slots__ = ("ctx",)

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def issue(
        self,
        invoice_id: str,
        amount: object = None,
        *,
        reason: str = "",
        at: datetime | None = None,
        refund: bool = False,
        id: str | None = None,
    ) -> CreditNote:
        """Credit a finalized invoice, fully (no ``amount``) or partly; never more than its total.

        On an open invoice the credit first reduces what is still due; the rest (or all, on a
        paid invoice) goes to the customer's credit balance, or is marked for refund. With
        ``id``, a credit note of that id already issued for this invoice is returned unchanged
        (one of that id for another invoice is a ``DuplicateError``).
        """
        now = self.ctx.now(at)
        config = self.ctx.config
        check_id(invoice_id, "invoice_id")
        id = check_optional_id(id, "id")
        check_text(reason, "reason")
        check_bool(refund, "refund")
        asked = None if amount is None else check_amount(decimal_of(amount))
        with self.ctx.store.begin() as uow:
            if id is not None:
                try:
                    found = uow.get(CreditNote, id)
                except NotFoundError:
                    pass
                else:
                    if found.invoice_id != invoice_id:
                        raise IdempotencyError(
                            f"credit note {id!r} was issued for invoice {found.invoice_id}, not {invoice_id}",
                            field="id",
                        )
                    same_amount = asked is None or to_minor(asked, found.currency) == found.amount_minor
                    if not same_amount or found.reason != reason:
                        raise IdempotencyError(
                            f"credit note {id!r} was issued with other parameters (amount "
                            f"{found.amount_minor}, reason {found.reason!r}); use a new id for a new credit",
                            field="id",
                        )
                    return found
            inv = uow.get(Invoice, invoice_id)
            if inv.status in (InvoiceStatus.DRAFT, InvoiceStatus.VOID):
                raise StateError(
                    f"invoice {inv.id} is {inv.status.value}; only finalized invoices take credit notes"
                )
            value = inv.creditable_minor if asked is None else to_minor(asked, inv.currency)
            if value <= 0:
                raise ValidationError("a credit note must be positive", field="amount")
            if value > inv.creditable_minor:
                raise ValidationError(
                    f"credit {value} exceeds what is left to credit on {inv.number} ({inv.creditable_minor})",
                    field="amount",
                )
            outstanding = min(value, inv.amount_remaining_minor) if inv.status == InvoiceStatus.OPEN else 0
            rest = value - outstanding
            tax = 0
            if inv.tax_minor:  # reverse the tax inside the credit, at the invoice's locked rates
                before = [
                    n for n in uow.find(CreditNote, customer_id=inv.customer_id) if n.invoice_id == inv.id
                ]
                tax = credit_note_tax(inv, value, tax_credited_before_minor=sum(n.tax_minor for n in before))
            note = CreditNote(
                id=id or self.ctx.ids("cn"),
                invoice_id=inv.id,
                customer_id=inv.customer_id,
                currency=inv.currency,
                number=f"{config.credit_note_prefix}-{uow.next_number(config.credit_note_prefix):06d}",
                amount_minor=value,
                outstanding_minor=outstanding,
                credit_minor=0 if refund else rest,
                refund_minor=rest if refund else 0,
                reason=reason,
                created_at=now,
                tax_minor=tax,
            )
            changes: dict[str, Any] = {"amount_credited_minor": inv.amount_credited_minor + value}
            if outstanding:
                changes["amount_due_minor"] = inv.amount_due_minor - outstanding
                if inv.amount_due_minor - outstanding <= inv.amount_paid_minor:
                    changes.update(status=InvoiceStatus.PAID, paid_at=now, due_at=None)
            uow.update(inv.bumped(**changes))
            if note.credit_minor:
                cus = uow.get(Customer, inv.customer_id)
                change_balance(uow, cus, note.credit_minor, now, invoice_id=inv.id)
            uow.add(note)
            uow.publish(
                Event.of(
                    EventType.CREDIT_NOTE_ISSUED,
                    now,
                    note.id,
                    customer_id=inv.customer_id,
                    invoice_id=inv.id,
                    amount=value,
                )
            )
        return note

    def of_invoice(self, invoice_id: str) -> list[CreditNote]:
        """Credit notes of an invoice."""
        check_id(invoice_id, "invoice_id")
        with self.ctx.store.begin() as uow:
            inv = uow.get(Invoice, invoice_id)
            return [
                n for n in uow.find(CreditNote, customer_id=inv.customer_id) if n.invoice_id == invoice_id
            ]
