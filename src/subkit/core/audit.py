"""The audit trail's values: who acted (:class:`Actor`) and what one state change was (:class:`AuditEntry`).

An entry is recorded for every event an operation writes to the outbox, in the same
transaction (see :mod:`subkit.services.audit`): what (the event type and its data), when
(the event's instant, and when it was recorded), who (the actor the host supplied, or the
system) and why (the reason given with the actor).

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.core.events import Event, EventType
    >>> at = datetime(2027, 1, 1, tzinfo=UTC)
    >>> e = Event.of(EventType.SUBSCRIPTION_CANCEL_SCHEDULED, at, "sub_1", customer_id="cus_1",
    ...              effective_at="2027-02-01T00:00:00+00:00")
    >>> entry = AuditEntry.of(e, Actor(kind="customer", id="cus_1"), "too expensive", recorded_at=at)
    >>> entry.action, entry.subscription_id, entry.actor.kind, entry.reason
    ('subscription.cancel_scheduled', 'sub_1', 'customer', 'too expensive')
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import AwareDatetime, Field

from subkit.core.events import Event
from subkit.core.model import Entity, Model

__all__ = ["SYSTEM", "Actor", "AuditEntry"]


class Actor(Model):
    """Who made a change: a ``kind`` (``user``, ``customer``, ``api_key``, ``system``...) and an id.

    Use opaque ids (your user id, not an email): the audit trail is kept for years.

    Example:
        >>> Actor(kind="user", id="usr_42").label
        'user:usr_42'
    """

    kind: str = Field(min_length=1)
    id: str = Field(min_length=1)

    @property
    def label(self) -> str:
        """``kind:id``."""
        return f"{self.kind}:{self.id}"


#: The actor of changes made with no actor given (renewals in ``advance``, dunning...).
SYSTEM = Actor(kind="system", id="subkit")


class AuditEntry(Entity):
    """One recorded state change. Append-only: nothing in subkit changes one, except GDPR
    erasure, which replaces a ``reason`` with ``"[erased]"``.

    Example:
        >>> AuditEntry.kind
        'audit_entry'
    """

    kind: ClassVar[str] = "audit_entry"
    event_id: str
    action: str
    subject_id: str
    customer_id: str | None = None
    subscription_id: str | None = None
    at: AwareDatetime
    recorded_at: AwareDatetime
    actor: Actor
    reason: str = ""
    data: dict[str, str | int | bool | None] = Field(default_factory=dict)

    @classmethod
    def of(cls, event: Event, actor: Actor, reason: str, *, recorded_at: AwareDatetime) -> AuditEntry:
        """The entry recording ``event``, made by ``actor`` for ``reason`` (id: ``aud_`` + the event's)."""
        data = event.data
        subscription_id = event.subject_id if event.type.value.startswith("subscription.") else None
        if subscription_id is None and isinstance(data.get("subscription_id"), str):
            subscription_id = str(data["subscription_id"])
        # Built unchecked (one per event on billing runs): every value comes from a valid event;
        # tests/unit/services/test_audit.py reads stored entries back through full validation.
        return cls.fast(
            version=1,
            id="aud_" + event.id.removeprefix("evt_"),
            event_id=event.id,
            action=event.type.value,
            subject_id=event.subject_id,
            customer_id=event.customer_id,
            subscription_id=subscription_id,
            at=event.occurred_at,
            recorded_at=recorded_at,
            actor=actor,
            reason=reason,
            data=data,
        )

    @classmethod
    def of_write(
        cls, entity: Entity, action: str, actor: Actor, reason: str, *, at: AwareDatetime
    ) -> AuditEntry:
        """The entry recording a change that has no event (a coupon created, an item added...).

        Example:
            >>> from datetime import datetime, UTC
            >>> from subkit.invoice.discounts import Coupon
            >>> e = AuditEntry.of_write(Coupon(id="WELCOME", percent_off="10"), "coupon.created",
            ...                         SYSTEM, "", at=datetime(2027, 1, 1, tzinfo=UTC))
            >>> e.id, e.subject_id, e.data
            ('aud_coupon_WELCOME_v1', 'WELCOME', {'version': 1})
        """
        data: dict[str, str | int | bool | None] = {"version": entity.version}
        line = getattr(entity, "line", None)
        if line is not None:  # a one-off charge or credit: how much
            data["amount_minor"] = line.amount_minor
        currency = getattr(entity, "currency", None)
        if isinstance(currency, str):
            data["currency"] = currency
        customer_id = getattr(entity, "customer_id", None)
        subscription_id = getattr(entity, "subscription_id", None)
        return cls(
            id=f"aud_{entity.kind}_{entity.id}_v{entity.version}",
            event_id="",
            action=action,
            subject_id=entity.id,
            customer_id=customer_id if isinstance(customer_id, str) else None,
            subscription_id=subscription_id if isinstance(subscription_id, str) else None,
            at=at,
            recorded_at=at,
            actor=actor,
            reason=reason,
            data=data,
        )
