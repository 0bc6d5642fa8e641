"""An in-process event bus: how one service reacts to what another one committed.

Services never reach into each other. When an operation's unit of work has committed, the
engine dispatches some of its events on ``BillingEngine.bus`` (today: ``invoice.finalized``
for every invoice the operation left open), and payment collection, or the host, subscribes
to them. The bus is synchronous and in-process; the outbox (see :mod:`subkit.services.outbox`)
is the durable, at-least-once channel to the outside world.

Example:
    >>> from datetime import datetime, UTC
    >>> bus = EventBus()
    >>> seen: list[str] = []
    >>> def on_finalized(event: Event) -> None:
    ...     seen.append(event.subject_id)
    >>> bus.subscribe(EventType.INVOICE_FINALIZED, on_finalized)
    >>> bus.subscribe(EventType.INVOICE_FINALIZED, on_finalized)   # again: a no-op
    >>> at = datetime(2027, 1, 1, tzinfo=UTC)
    >>> bus.dispatch([Event.of(EventType.INVOICE_FINALIZED, at, "in_1"),
    ...               Event.of(EventType.INVOICE_PAID, at, "in_1")])
    True
    >>> seen
    ['in_1']
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from subkit.core.events import Event, EventType

__all__ = ["EventBus", "Handler"]

#: What the bus calls with each event of a type it subscribed to.
Handler = Callable[[Event], None]


class EventBus:
    """Calls the handlers subscribed to an event's type, in subscription order.

    Safe to share between threads: subscribing replaces a tuple that ``dispatch`` reads
    without a lock. A handler's exception propagates to the caller of ``dispatch`` (the
    operation that committed), and the remaining handlers and events are skipped.

    Example:
        >>> bus = EventBus()
        >>> bus.handlers(EventType.INVOICE_PAID)
        ()
    """

    __slots__ = ("_handlers", "_lock")

    def __init__(self) -> None:
        self._handlers: dict[EventType, tuple[Handler, ...]] = {}
        self._lock = threading.Lock()

    def subscribe(self, event_type: EventType, handler: Handler) -> None:
        """Call ``handler`` with every dispatched event of ``event_type``; twice is a no-op.

        Handlers compare by equality, so ``collector.on_finalized`` (a new bound method
        object at each access) is recognised as already subscribed.

        Example:
            >>> bus = EventBus()
            >>> bus.subscribe(EventType.INVOICE_PAID, print)
            >>> bus.subscribe(EventType.INVOICE_PAID, print)
            >>> len(bus.handlers(EventType.INVOICE_PAID))
            1
        """
        with self._lock:
            current = self._handlers.get(event_type, ())
            if handler not in current:
                self._handlers[event_type] = (*current, handler)

    def handlers(self, event_type: EventType) -> tuple[Handler, ...]:
        """The handlers subscribed to ``event_type``, in subscription order."""
        return self._handlers.get(event_type, ())

    def dispatch(self, events: Iterable[Event]) -> bool:
        """Call each event's handlers, event by event, in order; whether any handler ran.

        Example:
            >>> from datetime import datetime, UTC
            >>> bus = EventBus()
            >>> bus.subscribe(EventType.INVOICE_PAID, lambda e: print(e.subject_id))
            >>> bus.dispatch([Event.of(EventType.INVOICE_PAID, datetime(2027, 1, 1, tzinfo=UTC), "in_7")])
            in_7
            True
        """
        registry = self._handlers
        if not registry:
            return False
        ran = False
        for event in events:
            for handler in registry.get(event.type, ()):
                handler(event)
                ran = True
        return ran
