"""Refunds: send money back through the gateway for a paid invoice, and document it with a credit note.

A refund moves ``started`` (written, with its idempotency key ``refund:{invoice_id}:{n}``,
before the gateway is called) -> ``crediting`` (the gateway accepted it; the id of its
credit note is chosen and written now) -> ``succeeded`` (the credit note exists), or
``failed`` if the gateway refused. Each step is idempotent, so a crash anywhere is resumed
without a second refund or a second credit note: the gateway answers a repeated key with
the original result, and the engine returns the credit note that already has the id
(``issue_credit_note(..., id=)``) instead of issuing another.

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.services.engine import BillingEngine
    >>> from subkit.testing import InMemoryStore, TestClock
    >>> from subkit.testing.gateway import FakeGateway
    >>> engine = BillingEngine(InMemoryStore(), TestClock(datetime(2027, 1, 1, tzinfo=UTC)))
    >>> refunds = Refunds(engine.store, FakeGateway(), issue_credit_note=engine.issue_credit_note,
    ...                   ids=engine.new_id)
    >>> refunds.resume(datetime(2027, 1, 2, tzinfo=UTC))  # nothing was left in flight
    0
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from subkit.core.events import Event, EventType
from subkit.core.inputs import check_id, check_text
from subkit.core.money import minor_to_decimal
from subkit.errors import GatewayError, StateError, ValidationError
from subkit.invoice.invoice import CreditNote, Invoice, InvoiceStatus
from subkit.payment.attempts import PaymentAttempt, Refund, RefundStatus
from subkit.payment.results import PaymentStatus
from subkit.ports import PaymentGateway, Store
from subkit.services.payment_records import invoice_attempts, retrying

__all__ = ["CreditNoteIssuer", "Refunds"]

_IN_FLIGHT = (RefundStatus.STARTED, RefundStatus.CREDITING)


class CreditNoteIssuer(Protocol):
    """Issues a credit note, idempotently by ``id`` (``BillingEngine.issue_credit_note``).

    Example:
        >>> from datetime import datetime, UTC
        >>> from subkit.services.engine import BillingEngine
        >>> from subkit.testing import InMemoryStore, TestClock
        >>> engine = BillingEngine(InMemoryStore(), TestClock(datetime(2027, 1, 1, tzinfo=UTC)))
        >>> issue: CreditNoteIssuer = engine.issue_credit_note
    """

    def __call__(
        self,
        invoice_id: str,
        amount: object = None,
        *,
        reason: str = "",
        at: datetime | None = None,
        refund: bool = False,
        id: str | None = None,
    ) -> CreditNote: ...


class Refunds:
    """Refunds paid invoices through a gateway (see ``PaymentCollector.refund``).

    ``ids`` names the credit notes (the engine's ``new_id`` by default in the facade).

    Example:
        >>> from datetime import datetime, UTC
        >>> from subkit.services.engine import BillingEngine
        >>> from subkit.testing import InMemoryStore, TestClock
        >>> from subkit.testing.gateway import FakeGateway
        >>> engine = BillingEngine(InMemoryStore(), TestClock(datetime(2027, 1, 1, tzinfo=UTC)))
        >>> refunds = Refunds(engine.store, FakeGateway(), issue_credit_note=engine.issue_credit_note,
        ...                   ids=engine.new_id)
        >>> refunds.gateway.refunds
        []
    """

    def __init__(
        self,
        store: Store,
        gateway: PaymentGateway,
        *,
        issue_credit_note: CreditNoteIssuer,
        ids: Callable[[str], str],
    ) -> None:
        self.store = store
        self.gateway = gateway
        self._issue_credit_note = issue_credit_note
        self._ids = ids

    def refund(self, invoice_id: str, amount_minor: int | None, *, reason: str, at: datetime) -> Refund:
        """Refund a paid invoice (all that was charged, or ``amount_minor``), resuming one in flight first."""
        check_id(invoice_id, "invoice_id")
        check_text(reason, "reason")
        if amount_minor is not None and (type(amount_minor) is not int or amount_minor <= 0):
            raise ValidationError("amount_minor must be a positive int (minor units)", field="amount_minor")
        with self.store.begin() as uow:
            inv = uow.get(Invoice, invoice_id)
            in_flight = [
                r
                for status in _IN_FLIGHT
                for r in uow.find(Refund, customer_id=inv.customer_id, status=status)
                if r.invoice_id == invoice_id
            ]
        for r in in_flight:
            r = self.run(r, at, raise_transport=True)
            if amount_minor is None or r.amount_minor == amount_minor:
                return r

        def start() -> Refund:
            with self.store.begin() as uow:
                inv = uow.get(Invoice, invoice_id)
                if inv.status != InvoiceStatus.PAID:
                    raise StateError(
                        f"invoice {inv.id} is {inv.status.value}; only paid invoices are refunded "
                        "(void or credit an open one)"
                    )
                payments = sorted(
                    (a for a in invoice_attempts(uow, inv) if a.refundable_minor > 0),
                    key=lambda a: a.attempt_no,
                    reverse=True,
                )
                refundable = min(sum(a.refundable_minor for a in payments), inv.creditable_minor)
                amount = refundable if amount_minor is None else amount_minor
                if type(amount) is not int or amount <= 0:
                    raise ValidationError(
                        f"nothing to refund on {inv.number} through the gateway"
                        if amount_minor is None
                        else "amount_minor must be a positive int (minor units)",
                        field="amount_minor",
                    )
                if amount > refundable:
                    raise ValidationError(
                        f"refund {amount} exceeds what can be refunded on {inv.number} ({refundable})",
                        field="amount_minor",
                    )
                payment = next((a for a in payments if a.refundable_minor >= amount), None)
                if payment is None or payment.gateway_payment_id is None:
                    raise ValidationError(
                        f"refund at most {max(a.refundable_minor for a in payments)} at once "
                        "(one payment per refund)",
                        field="amount_minor",
                    )
                n = (
                    len([r for r in uow.find(Refund, customer_id=inv.customer_id) if r.invoice_id == inv.id])
                    + 1
                )
                key = f"refund:{inv.id}:{n}"
                uow.claim(key)
                refund = Refund(
                    id=f"re_{inv.id}_{n}",
                    customer_id=inv.customer_id,
                    invoice_id=inv.id,
                    attempt_id=payment.id,
                    gateway_payment_id=payment.gateway_payment_id,
                    idempotency_key=key,
                    amount_minor=amount,
                    currency=inv.currency,
                    reason=reason,
                    created_at=at,
                )
                uow.add(refund)
                return refund

        return self.run(retrying(start), at, raise_transport=True)

    def run(self, refund: Refund, at: datetime, *, raise_transport: bool) -> Refund:
        """Take a refund as far as it goes: the gateway call if ``started``, then its credit note."""
        if refund.status == RefundStatus.STARTED:
            try:
                result = self.gateway.refund(
                    refund.gateway_payment_id, refund.amount_minor, refund.idempotency_key
                )
            except GatewayError:
                if raise_transport:
                    raise
                return refund

            def record() -> Refund:
                with self.store.begin() as uow:
                    r = uow.get(Refund, refund.id)
                    if r.status != RefundStatus.STARTED:
                        return r
                    if result.status not in (PaymentStatus.SUCCEEDED, PaymentStatus.PENDING):
                        new = r.bumped(status=RefundStatus.FAILED, message=result.message, completed_at=at)
                        uow.update(new)
                        return new
                    new = r.bumped(
                        status=RefundStatus.CREDITING,
                        gateway_refund_id=result.payment_id,
                        credit_note_id=self._ids("cn"),  # named now: issuing it is idempotent by this id
                        completed_at=at,
                    )
                    uow.update(new)
                    attempt = uow.get(PaymentAttempt, r.attempt_id)
                    uow.update(attempt.bumped(refunded_minor=attempt.refunded_minor + r.amount_minor))
                    uow.publish(
                        Event.of(
                            EventType.PAYMENT_REFUNDED,
                            at,
                            r.id,
                            customer_id=r.customer_id,
                            invoice_id=r.invoice_id,
                            amount=r.amount_minor,
                            refund_id=result.payment_id,
                        )
                    )
                    return new

            refund = retrying(record)
        if refund.status == RefundStatus.CREDITING:
            refund = self._credit(refund, at)
        return refund

    def _credit(self, refund: Refund, at: datetime) -> Refund:
        """Issue the refund's credit note (once, by its id) and mark the refund succeeded."""
        if refund.credit_note_id is None:  # left crediting by a version that named the note later
            refund = retrying(lambda: self._name_credit_note(refund.id))
        marker = f"refund {refund.id}"
        self._issue_credit_note(
            refund.invoice_id,
            minor_to_decimal(refund.amount_minor, refund.currency),
            reason=f"{marker}: {refund.reason}" if refund.reason else marker,
            at=at,
            refund=True,
            id=refund.credit_note_id,
        )

        def link() -> Refund:
            with self.store.begin() as uow:
                r = uow.get(Refund, refund.id)
                if r.status != RefundStatus.CREDITING:
                    return r
                new = r.bumped(status=RefundStatus.SUCCEEDED)
                uow.update(new)
                return new

        return retrying(link)

    def _name_credit_note(self, refund_id: str) -> Refund:
        with self.store.begin() as uow:
            r = uow.get(Refund, refund_id)
            if r.credit_note_id is not None:
                return r
            new = r.bumped(credit_note_id=self._ids("cn"))
            uow.update(new)
            return new

    def resume(self, at: datetime) -> int:
        """Take every refund left in flight as far as it goes (transport faults wait); returns how many."""
        with self.store.begin() as uow:
            open_refunds = [r for status in _IN_FLIGHT for r in uow.find(Refund, status=status)]
        for r in open_refunds:
            self.run(r, at, raise_transport=False)
        return len(open_refunds)
