"""The outbox relay: committed events go to the host's publisher, at least once.

Every operation writes its events to the store's outbox in its own transaction. After an
operation that bills (subscribe, plan changes, ``advance``...) commits, the engine relays the
outbox to its ``publisher``, if it has one; a host without one runs this relay itself.

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.core.events import Event, EventType
    >>> from subkit.testing import CollectingPublisher, InMemoryStore
    >>> store, publisher = InMemoryStore(), CollectingPublisher()
    >>> with store.begin() as uow:
    ...     uow.publish(Event.of(EventType.CUSTOMER_CREATED, datetime(2027, 1, 1, tzinfo=UTC), "cus_1"))
    >>> relay(store, publisher), [e.type.value for e in publisher.events], store.pending_events()
    (1, ['customer.created'], [])
"""

from __future__ import annotations

from subkit.ports import EventPublisher, Store

__all__ = ["relay"]


def relay(store: Store, publisher: EventPublisher, limit: int = 1000) -> int:
    """Publish committed outbox events in pages of ``limit``, marking each page; how many were sent.

    A crash between publishing and marking publishes that page again: consumers dedupe on
    the deterministic ``Event.id``.
    """
    sent = 0
    while events := store.pending_events(limit):
        publisher.publish(events)
        store.mark_published([e.id for e in events])
        sent += len(events)
    return sent
