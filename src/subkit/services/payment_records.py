"""The payment records every payment service shares, read and written in the caller's unit of work.

The attempts of an invoice, the payment method it is charged to, money applied to it (a paid
invoice brings its subscription back to ``active``), money kept as credit, and the retry of
a write that lost an optimistic-concurrency race. Collection, dunning, transfers and refunds
(:mod:`subkit.services.collection`, :mod:`subkit.services.dunning_service`,
:mod:`subkit.services.transfers`, :mod:`subkit.services.refunds`) all use them.

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.adapters.storage.memory import InMemoryStore
    >>> store = InMemoryStore()
    >>> with store.begin() as uow:
    ...     uow.add(Customer(id="cus_1", name="Ada", currency="USD"))
    ...     credit_balance(uow, "cus_1", 500, datetime(2027, 1, 1, tzinfo=UTC))
    ...     uow.get(Customer, "cus_1").credit_minor
    500
    >>> retrying(lambda: "written")
    'written'
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from subkit.core.events import Event, EventType
from subkit.customer.customer import Customer
from subkit.errors import ConcurrencyError, NotFoundError
from subkit.invoice.invoice import Invoice, InvoiceStatus
from subkit.payment.attempts import PaymentAttempt
from subkit.payment.methods import PaymentMethod
from subkit.ports import UnitOfWork
from subkit.services.engine import change_balance
from subkit.subscription.model import Subscription, SubscriptionStatus

__all__ = [
    "DUNNED",
    "apply_payment",
    "charge_target",
    "credit_balance",
    "invoice_attempts",
    "recover",
    "retrying",
]

T = TypeVar("T")

_WRITE_TRIES = 5

#: Statuses a paid-up subscription recovers from.
DUNNED = (SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID, SubscriptionStatus.INCOMPLETE)


def retrying(fn: Callable[[], T]) -> T:
    """Run a write, again on ``ConcurrencyError`` (``fn`` re-reads everything each time).

    Example:
        >>> retrying(lambda: 1 + 1)
        2
    """
    for _ in range(_WRITE_TRIES - 1):
        try:
            return fn()
        except ConcurrencyError:
            continue
    return fn()


def invoice_attempts(uow: UnitOfWork, inv: Invoice) -> list[PaymentAttempt]:
    """The payment attempts of an invoice, in order (``attempt_no``)."""
    found = [a for a in uow.find(PaymentAttempt, customer_id=inv.customer_id) if a.invoice_id == inv.id]
    return sorted(found, key=lambda a: a.attempt_no)


def charge_target(uow: UnitOfWork, inv: Invoice, customer: Customer) -> PaymentMethod | None:
    """The payment method to charge an invoice to: its subscription's, else the customer's default."""
    pm_id = customer.default_payment_method_id
    if inv.subscription_id is not None:
        try:
            sub = uow.get(Subscription, inv.subscription_id)
        except NotFoundError:
            sub = None
        if sub is not None and sub.payment_method_id is not None:
            pm_id = sub.payment_method_id
    if pm_id is None:
        return None
    try:
        pm = uow.get(PaymentMethod, pm_id)
    except NotFoundError:
        return None
    return pm if pm.customer_id == customer.id and pm.detached_at is None else None


def credit_balance(uow: UnitOfWork, customer_id: str, amount: int, at: datetime, **data: str) -> None:
    """Add ``amount`` minor units to a customer's credit balance (``data`` goes into the event)."""
    change_balance(uow, uow.get(Customer, customer_id), amount, at, **data)


def apply_payment(uow: UnitOfWork, inv: Invoice, amount: int, at: datetime) -> tuple[Invoice, int]:
    """Apply up to ``amount`` to an open invoice; returns the invoice and what was applied.

    A fully paid invoice publishes ``invoice.paid`` and may bring its subscription back
    (:func:`recover`). An invoice no longer open takes nothing and leaves dunning.
    """
    if inv.status != InvoiceStatus.OPEN or inv.amount_remaining_minor == 0:
        if inv.due_at is not None:
            inv = inv.bumped(due_at=None)
            uow.update(inv)
        return inv, 0
    applied = min(amount, inv.amount_remaining_minor)
    inv = inv.record_payment(applied, at)
    uow.update(inv)
    if inv.status == InvoiceStatus.PAID:
        uow.publish(Event.of(EventType.INVOICE_PAID, at, inv.id, customer_id=inv.customer_id, amount=applied))
        recover(uow, inv, at)
    return inv, applied


def recover(uow: UnitOfWork, inv: Invoice, at: datetime) -> None:
    """A paid invoice brings its subscription back to ``active`` once nothing else of it is open."""
    if inv.subscription_id is None:
        return
    sub = uow.get(Subscription, inv.subscription_id)
    if sub.status not in DUNNED:
        return
    still_open = [
        i
        for i in uow.find(Invoice, subscription_id=sub.id, status=InvoiceStatus.OPEN)
        if i.id != inv.id and i.amount_remaining_minor > 0
    ]
    if still_open:
        return
    uow.update(sub.bumped(status=SubscriptionStatus.ACTIVE))
    uow.publish(
        Event.of(
            EventType.SUBSCRIPTION_ACTIVATED,
            at,
            sub.id,
            customer_id=sub.customer_id,
            reason="payment_recovered",
            invoice_id=inv.id,
        )
    )
