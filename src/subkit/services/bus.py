"""An in-process event bus: services react to what another service did, after its commit.

Placeholder with the agreed API (the engine's helper ships the real one): ``subscribe`` a
handler to an :class:`~subkit.core.events.EventType`; ``dispatch`` calls the handlers of
each event's type, in subscription order. The engine dispatches ``invoice.finalized`` for
each invoice an operation finalized and left open; payment collection subscribes to it.

Example:
    >>> from datetime import datetime, UTC
    >>> bus, seen = EventBus(), []
    >>> bus.subscribe(EventType.INVOICE_FINALIZED, lambda e: seen.append(e.subject_id))
    >>> bus.dispatch([Event.of(EventType.INVOICE_FINALIZED, datetime(2027, 1, 1, tzinfo=UTC), "in_1"),
    ...               Event.of(EventType.INVOICE_PAID, datetime(2027, 1, 1, tzinfo=UTC), "in_1")])
    >>> seen
    ['in_1']
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from subkit.core.events import Event, EventType

__all__ = ["EventBus"]


class EventBus:
    """Handlers per event type, called in subscription order (a handler is subscribed once).

    Example:
        >>> bus = EventBus()
        >>> handler = print
        >>> bus.subscribe(EventType.INVOICE_PAID, handler)
        >>> bus.subscribe(EventType.INVOICE_PAID, handler)  # idempotent
        >>> len(bus.handlers(EventType.INVOICE_PAID))
        1
    """

    def __init__(self) -> None:
        self._handlers: dict[EventType, list[Callable[[Event], None]]] = {}

    def subscribe(self, event_type: EventType, handler: Callable[[Event], None]) -> None:
        """Call ``handler`` with every dispatched event of ``event_type`` (no-op if already subscribed)."""
        handlers = self._handlers.setdefault(event_type, [])
        if handler not in handlers:
            handlers.append(handler)

    def handlers(self, event_type: EventType) -> tuple[Callable[[Event], None], ...]:
        """The handlers subscribed to ``event_type``, in order."""
        return tuple(self._handlers.get(event_type, ()))

    def dispatch(self, events: Iterable[Event]) -> None:
        """Call each event's handlers, event by event, in subscription order."""
        for event in events:
            for handler in self.handlers(event.type):
                handler(event)
