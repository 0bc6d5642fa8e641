"""A publisher that keeps what it is given, for tests of hosts' event handling.

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.core.events import Event, EventType
    >>> pub = CollectingPublisher()
    >>> pub.publish([Event.of(EventType.INVOICE_PAID, datetime(2027, 1, 1, tzinfo=UTC), "in_1")])
    >>> pub.types()
    ['invoice.paid']
"""

from __future__ import annotations

from collections.abc import Sequence

from subkit.core.events import Event

__all__ = ["CollectingPublisher"]


class CollectingPublisher:
    """Implements :class:`subkit.ports.EventPublisher` by appending to ``events``; dedupes by id."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._seen: set[str] = set()

    def publish(self, events: Sequence[Event]) -> None:
        """Keep each event once (at-least-once delivery may repeat one)."""
        for e in events:
            if e.id not in self._seen:
                self._seen.add(e.id)
                self.events.append(e)

    def types(self) -> list[str]:
        """The event types received, in order."""
        return [e.type.value for e in self.events]
