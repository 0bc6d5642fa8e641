"""Every protocol a host may implement, in one place.

subkit talks to the outside world only through these ports. Each has an
in-library implementation (see the table), and each has a contract test suite in
:mod:`subkit.testing.contracts` that a host runs against its own adapter.

=================  ==========================================  ==========================
Port               subkit's implementations                     Contract suite
=================  ==========================================  ==========================
``Clock``          ``SystemClock``, ``TestClock``               --
``Store``          ``InMemoryStore``, ``SqlStore``              ``StoreContract``
``EventPublisher`` ``testing.CollectingPublisher``              --
``PaymentGateway`` ``FakeGateway`` (``subkit.testing.gateway``)  ``GatewayContract``
=================  ==========================================  ==========================

Example:
    >>> from subkit.adapters.storage.memory import InMemoryStore
    >>> from subkit.customer.customer import Customer
    >>> store: Store = InMemoryStore()
    >>> with store.begin() as uow:
    ...     uow.add(Customer(id="cus_1", name="Ada", currency="EUR"))
    >>> uow: UnitOfWork
    >>> with store.begin() as uow:
    ...     uow.get(Customer, "cus_1").name
    'Ada'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self, TypeVar, runtime_checkable

from subkit.core.events import Event
from subkit.core.model import Entity
from subkit.payment.results import PaymentResult

__all__ = ["Clock", "EventPublisher", "PaymentGateway", "Store", "UnitOfWork"]

E = TypeVar("E", bound=Entity)


@runtime_checkable
class Clock(Protocol):
    """Where "now" comes from. ``now()`` returns an aware datetime."""

    def now(self) -> datetime: ...


class UnitOfWork(Protocol):
    """One transaction: everything written through it commits together or not at all.

    Used as a context manager: it commits when the block ends normally and rolls
    back when it raises. Entities are stored whole (as JSON in SQL stores) and found
    by the indexed attributes of :data:`subkit.core.model.INDEX_FIELDS`.
    """

    def __enter__(self) -> Self: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def get(self, kind: type[E], id: str) -> E:
        """The entity, or ``NotFoundError``."""
        ...

    def lock(self, kind: type[E], id: str, *, skip_locked: bool = False) -> E | None:
        """Re-read an entity and hold it against other writers until this unit of work ends.

        ``None`` when it does not exist, or, with ``skip_locked``, when another unit of work
        holds it (PostgreSQL ``FOR UPDATE [SKIP LOCKED]``; SQLite's write lock already
        serializes writers; the in-memory store checks versions at commit instead).
        """
        ...

    def get_many(self, kind: type[E], ids: Sequence[str]) -> dict[str, E]:
        """The entities of ``ids`` that exist, by id (one round trip for a whole batch)."""
        ...

    def find(self, kind: type[E], **where: object) -> list[E]:
        """Entities of ``kind`` whose indexed attributes equal ``where``, in insertion order.

        A list value means "is one of" (``subscription_id=["sub_1", "sub_2"]``).
        """
        ...

    def add(self, entity: Entity) -> None:
        """Insert; ``DuplicateError`` if the id exists (at once, or at the latest at commit)."""
        ...

    def update(self, entity: Entity) -> None:
        """Replace; ``entity.version`` must be the stored version + 1, else ``ConcurrencyError``.

        The check may happen at once or at commit; either way nothing of the unit of work is kept.
        """
        ...

    def due(self, kind: type[E], until: datetime, limit: int) -> list[E]:
        """Up to ``limit`` entities whose ``due_at <= until``, earliest first (then by id).

        SQL stores on PostgreSQL lock the rows returned (``FOR UPDATE SKIP LOCKED``) so
        that concurrent workers claim disjoint sets.
        """
        ...

    def claim(self, key: str) -> None:
        """Record a unique key (charged period, idempotency key); ``DuplicateError`` if taken.

        A key taken earlier in the same unit of work is refused at once; one taken by another
        unit of work may be reported at commit (like a deferred constraint), rolling back all.
        """
        ...

    def claimed(self, key: str) -> bool:
        """Whether ``key`` was claimed (committed, or earlier in this unit of work)."""
        ...

    def next_number(self, series: str) -> int:
        """Next value of a gap-free sequence (1, 2, 3...); a rollback gives the number back."""
        ...

    def publish(self, event: Event) -> None:
        """Append an event to the outbox, committed with the rest."""
        ...

    def commit(self) -> None:
        """Commit now (the ``with`` block does this at its end)."""
        ...

    def rollback(self) -> None:
        """Discard every write of this unit of work (previews use this: nothing is left behind)."""
        ...


class Store(Protocol):
    """A persistent home for subkit's entities."""

    def begin(self) -> UnitOfWork:
        """Start a unit of work (use it in a ``with`` block)."""
        ...

    def pending_events(self, limit: int = 100) -> Sequence[Event]:
        """Committed outbox events not yet marked published, oldest first."""
        ...

    def mark_published(self, event_ids: Sequence[str]) -> None:
        """Mark outbox events as delivered."""
        ...


class EventPublisher(Protocol):
    """Delivers events to the host (webhooks, a queue, emails)."""

    def publish(self, events: Sequence[Event]) -> None: ...


class PaymentGateway(Protocol):
    """Moves money: charges a saved payment method's token, refunds, reports on a payment.

    A decline is an answer, not an error: it comes back as a :class:`~subkit.payment.results.PaymentResult`
    with status ``declined`` or ``failed``. Only transport faults (timeouts, connection
    resets, 5xx) raise :class:`~subkit.errors.GatewayError`; the caller then retries with the
    **same** ``idempotency_key``, and the gateway must return the original result rather than
    charge twice (as Stripe does with its ``Idempotency-Key`` header). Amounts are integers in
    the currency's minor units. See :mod:`subkit.testing.gateway` for a scriptable fake.

    Example:
        >>> from subkit.testing.gateway import FakeGateway
        >>> gw: PaymentGateway = FakeGateway()
        >>> r = gw.charge(1000, "USD", "tok_visa", "charge:in_1:1", {"invoice_id": "in_1"})
        >>> r.status.value, gw.charge(1000, "USD", "tok_visa", "charge:in_1:1", {}).payment_id == r.payment_id
        ('succeeded', True)
    """

    def charge(
        self, amount_minor: int, currency: str, token: str, idempotency_key: str, metadata: Mapping[str, str]
    ) -> PaymentResult:
        """Charge ``token`` (off session); succeeded, pending, declined or failed."""
        ...

    def refund(self, payment_id: str, amount_minor: int, idempotency_key: str) -> PaymentResult:
        """Refund part or all of a succeeded payment; the result's ``payment_id`` is the refund's id."""
        ...

    def retrieve(self, payment_id: str) -> PaymentResult:
        """The current state of a payment (how a pending bank debit is seen to settle)."""
        ...
