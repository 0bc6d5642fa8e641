"""The audit trail: every state change, who made it, when and why, recorded with the change.

subkit writes an event to the outbox for every state change, in the transaction that makes
it; that publishing point is where the trail is hooked. Wrap the store in an
:class:`AuditedStore` and each event an operation publishes also adds an
:class:`~subkit.core.audit.AuditEntry` in the same unit of work: both commit, or neither.
Who and why come from :func:`acting_as` (``engine.acting_as``), a context the host sets
around a call (the signed-in user, the support agent, the customer in the portal); changes
made outside one (renewals in ``advance``, dunning) are the :data:`~subkit.core.audit.SYSTEM`'s.

Changes no event records are audited from the write itself: the catalog, coupons and
promotion codes created or changed, one-off charges (``invoice_item``) and payment methods
added (:data:`AUDITED_ADDS`, :data:`AUDITED_UPDATES`).

The trail is append-only: the audited store refuses to update an entry (GDPR erasure is the
one exception, :func:`redact_reasons`). :class:`AuditTrail` reads it per customer and per
object.

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.services.engine import BillingEngine
    >>> from subkit.testing import InMemoryStore, TestClock
    >>> clock = TestClock(datetime(2027, 1, 1, tzinfo=UTC))
    >>> engine = BillingEngine(AuditedStore(InMemoryStore(), clock), clock)
    >>> with acting_as(Actor(kind="user", id="usr_7"), reason="signed the contract"):  # or engine.acting_as
    ...     ada = engine.create_customer(name="Ada", currency="EUR", id="cus_ada")
    >>> [(e.action, e.actor.label, e.reason) for e in AuditTrail(engine.store).for_customer("cus_ada")]
    [('customer.created', 'user:usr_7', 'signed the contract')]
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from types import TracebackType
from typing import Any, Self

from subkit.core.audit import SYSTEM, Actor, AuditEntry
from subkit.core.events import Event
from subkit.core.model import Entity
from subkit.errors import StateError, ValidationError
from subkit.ports import Clock, Store, UnitOfWork

__all__ = ["Actor", "AuditTrail", "AuditedStore", "acting_as", "current_actor", "redact_reasons"]

ERASED = "[erased]"
#: Kinds whose creation (or change) no event records, audited from the write itself.
AUDITED_ADDS = frozenset({"catalog", "coupon", "promotion_code", "invoice_item", "payment_method"})
AUDITED_UPDATES = frozenset({"catalog", "coupon", "promotion_code"})
_acting: ContextVar[tuple[Actor, str]] = ContextVar("subkit_acting_as", default=(SYSTEM, ""))


@contextmanager
def acting_as(actor: Actor | str, reason: str = "") -> Iterator[Actor]:
    """Attribute the changes made inside the block to ``actor``, for ``reason``.

    ``actor`` may be an :class:`Actor` or ``"kind:id"``. Blocks nest; the context follows
    threads' and tasks' own context (``contextvars``), so concurrent requests do not mix.

    Example:
        >>> with acting_as("user:usr_1", reason="refund approved") as who:
        ...     current_actor()
        (Actor(kind='user', id='usr_1'), 'refund approved')
        >>> current_actor()[0].kind
        'system'
    """
    if isinstance(actor, str):
        kind, _, id = actor.partition(":")
        if not kind or not id:
            raise ValidationError(f"an actor is 'kind:id' (e.g. 'user:usr_1'), not {actor!r}", field="actor")
        actor = Actor(kind=kind, id=id)
    if not isinstance(reason, str):
        raise ValidationError("a reason is text", field="reason")
    token = _acting.set((actor, reason))
    try:
        yield actor
    finally:
        _acting.reset(token)


def current_actor() -> tuple[Actor, str]:
    """The actor and reason of the current :func:`acting_as` block (the system's, outside one).

    Example:
        >>> current_actor()
        (Actor(kind='system', id='subkit'), '')
    """
    return _acting.get()


class _Outbox:
    __slots__ = ("_uow",)

    def __init__(self, uow: _AuditedWork) -> None:
        self._uow = uow

    def publish(self, *events: Event) -> None:
        for event in events:
            self._uow.publish(event)


class _AuditedWork:
    """A unit of work that adds an audit entry for every event published through it."""

    __slots__ = ("_clock", "_done", "_entries", "_inner")

    def __init__(self, inner: UnitOfWork, clock: Clock) -> None:
        self._inner = inner
        self._clock = clock
        self._entries: dict[str, AuditEntry] = {}
        self._done = False

    def __getattr__(self, name: str) -> Any:  # every other method and repository: the store's own
        return getattr(self._inner, name)

    @property
    def outbox(self) -> _Outbox:
        """The outbox, through this unit of work (so its events are audited too)."""
        return _Outbox(self)

    def publish(self, event: Event) -> None:
        """Append ``event`` to the outbox and record who made the change, why and when."""
        self._inner.publish(event)
        actor, reason = _acting.get()
        entry = AuditEntry.of(event, actor, reason, recorded_at=self._clock.now())
        self._entries.setdefault(entry.id, entry)

    def add(self, entity: Entity) -> None:
        """Insert an entity; one a person creates without an event (a coupon, a one-off charge) is audited."""
        self._inner.add(entity)
        if entity.kind in AUDITED_ADDS:
            self._record_write(entity, f"{entity.kind}.created")

    def update(self, entity: Entity) -> None:
        """Replace an entity; an audit entry is refused (the trail is append-only)."""
        if isinstance(entity, AuditEntry):
            raise StateError("the audit trail is append-only: an entry cannot be changed")
        self._inner.update(entity)
        if entity.kind in AUDITED_UPDATES:
            self._record_write(entity, f"{entity.kind}.updated")

    def _record_write(self, entity: Entity, action: str) -> None:
        actor, reason = _acting.get()
        entry = AuditEntry.of_write(entity, action, actor, reason, at=self._clock.now())
        self._entries.setdefault(entry.id, entry)

    def _flush(self) -> None:
        """Add the new audit entries (an event stored once is audited once)."""
        if self._entries:
            known = self._inner.get_many(AuditEntry, list(self._entries))
            for entry_id, entry in self._entries.items():
                if entry_id not in known:
                    self._inner.add(entry)
            self._entries.clear()

    def commit(self) -> None:
        """Add the new audit entries, then commit."""
        self._flush()
        self._inner.commit()
        self._done = True

    def rollback(self) -> None:
        """Discard everything, the audit entries included."""
        self._entries.clear()
        self._inner.rollback()
        self._done = True

    def __enter__(self) -> Self:
        self._inner.__enter__()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # The wrapped unit of work commits or rolls back (and cleans up) as it always does;
        # the audit entries join it first.
        if not self._done and exc_type is None:
            try:
                self._flush()
            except BaseException as err:
                self._done = True
                self._inner.__exit__(type(err), err, err.__traceback__)
                raise
        self._done = True
        self._inner.__exit__(exc_type, exc, tb)


class AuditedStore:
    """A :class:`~subkit.ports.Store` that records the audit trail of everything written through it.

    Give it to the engine in place of the store (``BillingEngine(AuditedStore(store, clock), clock)``);
    the payment collector and every service then write through it. ``clock`` stamps
    ``recorded_at``. Anything else the wrapped store offers (``close``...) is reachable.

    Example:
        >>> from datetime import datetime, UTC
        >>> from subkit.testing import InMemoryStore, TestClock
        >>> store = AuditedStore(InMemoryStore(), TestClock(datetime(2027, 1, 1, tzinfo=UTC)))
        >>> with store.begin() as uow:
        ...     uow.next_number("INV")
        1
    """

    def __init__(self, store: Store, clock: Clock) -> None:
        self.inner = store
        self.clock = clock

    def begin(self) -> UnitOfWork:
        """A unit of work of the wrapped store, audited."""
        return _AuditedWork(self.inner.begin(), self.clock)

    def pending_events(self, limit: int = 100) -> Sequence[Event]:
        """The wrapped store's pending outbox events."""
        return self.inner.pending_events(limit)

    def mark_published(self, event_ids: Sequence[str]) -> None:
        """Mark outbox events delivered in the wrapped store."""
        self.inner.mark_published(event_ids)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _raw(uow: UnitOfWork) -> UnitOfWork:
    return uow._inner if isinstance(uow, _AuditedWork) else uow


def redact_reasons(uow: UnitOfWork, customer_id: str) -> int:
    """Replace the reasons of a customer's audit entries with ``"[erased]"`` (GDPR erasure only).

    Reasons are free text a person typed, so they may hold personal data; who, what and when
    stay. Returns how many entries changed.

    Example:
        >>> from subkit.testing import InMemoryStore
        >>> with InMemoryStore().begin() as uow:
        ...     redact_reasons(uow, "cus_1")
        0
    """
    raw = _raw(uow)
    changed = 0
    for entry in raw.find(AuditEntry, customer_id=customer_id):
        if entry.reason and entry.reason != ERASED:
            raw.update(entry.bumped(reason=ERASED))
            changed += 1
    return changed


class AuditTrail:
    """Reads the audit trail: per customer, per object (any id an event was about), in the order recorded.

    Example:
        >>> from subkit.testing import InMemoryStore
        >>> AuditTrail(InMemoryStore()).for_object("sub_1")
        []
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    def for_customer(self, customer_id: str) -> list[AuditEntry]:
        """Every recorded change concerning the customer, in the order recorded."""
        with self.store.begin() as uow:
            return uow.find(AuditEntry, customer_id=customer_id)

    def for_object(self, object_id: str) -> list[AuditEntry]:
        """Every recorded change whose subject is ``object_id`` (a subscription, invoice, customer...)."""
        key = object_id.strip().casefold()
        with self.store.begin() as uow:
            found = uow.find(AuditEntry, lookup_key=key)
        return [e for e in found if e.subject_id == object_id]

    def for_subscription(self, subscription_id: str) -> list[AuditEntry]:
        """Every recorded change of a subscription, and of what concerns it (invoices' dunning...)."""
        with self.store.begin() as uow:
            return uow.find(AuditEntry, subscription_id=subscription_id)
