"""Domain events: what happened, as values, for the host's emails, CRM and ERP.

Operations return the events they produced; the engine writes them to the store's
outbox in the same transaction as the state change, and a relay publishes them
after commit (at least once: consumers dedupe on ``Event.id``).

Example:
    >>> from datetime import datetime, UTC
    >>> e = Event.of(EventType.INVOICE_FINALIZED, datetime(2027, 1, 1, tzinfo=UTC), "in_1",
    ...              customer_id="cus_1", total=1000)
    >>> e.type.value, e.data["total"]
    ('invoice.finalized', 1000)
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from enum import StrEnum
from hashlib import blake2b

from pydantic import AwareDatetime, Field

from subkit.core.periods import isoformat
from subkit.core.value import Value

__all__ = ["Event", "EventType"]


class EventType(StrEnum):
    """Every event type subkit emits (past tense: they already happened)."""

    CUSTOMER_CREATED = "customer.created"
    CUSTOMER_UPDATED = "customer.updated"
    SUBSCRIPTION_CREATED = "subscription.created"
    SUBSCRIPTION_RENEWED = "subscription.renewed"
    SUBSCRIPTION_TRIAL_ENDED = "subscription.trial_ended"
    SUBSCRIPTION_PLAN_CHANGED = "subscription.plan_changed"
    SUBSCRIPTION_QUANTITY_CHANGED = "subscription.quantity_changed"
    SUBSCRIPTION_CHANGE_SCHEDULED = "subscription.change_scheduled"
    SUBSCRIPTION_SCHEDULE_RELEASED = "subscription.schedule_released"
    SUBSCRIPTION_CANCEL_SCHEDULED = "subscription.cancel_scheduled"
    SUBSCRIPTION_CANCELED = "subscription.canceled"
    SUBSCRIPTION_REACTIVATED = "subscription.reactivated"
    SUBSCRIPTION_PAUSED = "subscription.paused"
    SUBSCRIPTION_RESUMED = "subscription.resumed"
    SUBSCRIPTION_INCOMPLETE = "subscription.incomplete"
    SUBSCRIPTION_PAST_DUE = "subscription.past_due"
    SUBSCRIPTION_UNPAID = "subscription.unpaid"
    SUBSCRIPTION_ACTIVATED = "subscription.activated"
    INVOICE_FINALIZED = "invoice.finalized"
    INVOICE_PAID = "invoice.paid"
    INVOICE_VOIDED = "invoice.voided"
    INVOICE_UNCOLLECTIBLE = "invoice.marked_uncollectible"
    CREDIT_NOTE_ISSUED = "credit_note.issued"
    CUSTOMER_BALANCE_CHANGED = "customer.balance_changed"
    PAYMENT_SUCCEEDED = "payment.succeeded"
    PAYMENT_FAILED = "payment.failed"
    PAYMENT_PENDING = "payment.pending"
    PAYMENT_REFUNDED = "payment.refunded"
    DUNNING_STEP = "dunning.step"
    PAYMENT_METHOD_EXPIRING = "payment_method.expiring"
    CUSTOMER_ERASED = "customer.erased"
    SUBSCRIPTION_INCOMPLETE_EXPIRED = "subscription.incomplete_expired"
    PAYMENT_METHOD_DETACHED = "payment_method.detached"


class Event(Value):
    """One domain event. ``id`` is deterministic: replaying an operation yields the same id.

    A slotted value (:class:`~subkit.core.value.Value`): ``data`` reads as a new ``dict``.

    Example:
        >>> from datetime import datetime, UTC
        >>> a = Event.of(EventType.INVOICE_PAID, datetime(2027, 1, 1, tzinfo=UTC), "in_1")
        >>> b = Event.of(EventType.INVOICE_PAID, datetime(2027, 1, 1, tzinfo=UTC), "in_1")
        >>> a.id == b.id
        True
    """

    __slots__ = ()
    id: str
    type: EventType
    occurred_at: AwareDatetime
    subject_id: str
    customer_id: str | None = None
    data: dict[str, str | int | bool | None] = Field(default_factory=dict)

    @classmethod
    def of(
        cls,
        type: EventType,
        at: AwareDatetime,
        subject_id: str,
        *,
        customer_id: str | None = None,
        **data: str | int | bool | None,
    ) -> Event:
        """Build an event whose id hashes its type, time, subject and data."""
        pairs = tuple(data.items())
        if not pairs:
            shown = "[]"
        elif len(pairs) == 1:
            shown = f"[({pairs[0][0]!r}, {pairs[0][1]!r})]"  # repr([pair]), without the list
        else:
            shown = repr(sorted(pairs))
        raw = f"{type._value_}|{isoformat(at)}|{subject_id}|{shown}"
        eid = "evt_" + blake2b(raw.encode(), digest_size=12).hexdigest()
        return _new_event((eid, type, at, subject_id, customer_id, pairs))


_new_event: Callable[[tuple[object, ...]], Event] = functools.partial(tuple.__new__, Event)
