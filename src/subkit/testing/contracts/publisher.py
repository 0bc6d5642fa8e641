"""The event publisher contract: order kept, a batch delivered again is delivered once, ids unique.

The outbox relay delivers at least once: a batch whose ``publish`` raised (or whose
acknowledgement was lost) comes again, alone or overlapping the next one. A publisher
must pass each event on once, in the order given.

Example:
    >>> "test_a_batch_delivered_twice_is_delivered_once" in dir(EventPublisherContract)
    True
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from subkit.core.events import Event, EventType
from subkit.ports import EventPublisher
from subkit.testing.contracts.base import T0

__all__ = ["EventPublisherContract"]


def _events(n: int, start: int = 0) -> list[Event]:
    return [
        Event.of(EventType.INVOICE_PAID, T0, f"in_{i}", customer_id="cus_1") for i in range(start, start + n)
    ]


class EventPublisherContract:
    """Behaviour every :class:`subkit.ports.EventPublisher` must have.

    Provide a ``publisher`` fixture (a fresh publisher) and override :meth:`delivered` to
    return what it passed on so far, in order (what your webhook endpoint or queue got)::

        class TestMyPublisher(EventPublisherContract):
            @pytest.fixture
            def publisher(self): return QueuePublisher(fake_queue())

            def delivered(self, publisher): return publisher.queue.messages_as_events()
    """

    @pytest.fixture
    def publisher(self) -> EventPublisher:  # pragma: no cover - overridden
        raise NotImplementedError("provide a `publisher` fixture returning a fresh publisher")

    def delivered(self, publisher: EventPublisher) -> Sequence[Event]:
        """What ``publisher`` passed on so far, in order (override for your publisher)."""
        events = getattr(publisher, "events", None)
        if events is None:  # pragma: no cover - a host publisher overrides this
            raise NotImplementedError("override delivered(publisher) to return what it delivered")
        return list(events)

    def test_order_is_kept(self, publisher: EventPublisher) -> None:
        batch = _events(5)
        publisher.publish(batch)
        publisher.publish(_events(2, start=5))
        assert [e.id for e in self.delivered(publisher)] == [e.id for e in _events(7)]

    def test_a_batch_delivered_twice_is_delivered_once(self, publisher: EventPublisher) -> None:
        batch = _events(3)
        publisher.publish(batch)
        publisher.publish(batch)  # the relay retried: the acknowledgement was lost
        assert [e.id for e in self.delivered(publisher)] == [e.id for e in batch]

    def test_overlapping_batches_deliver_each_event_once_in_order(self, publisher: EventPublisher) -> None:
        publisher.publish(_events(3))
        publisher.publish(_events(3, start=1))  # 1 and 2 again, then 3
        assert [e.id for e in self.delivered(publisher)] == [e.id for e in _events(4)]

    def test_delivered_ids_are_unique_and_events_intact(self, publisher: EventPublisher) -> None:
        batches = [_events(4), _events(4, start=2), _events(1, start=3), []]
        for batch in batches:
            publisher.publish(batch)
        got = self.delivered(publisher)
        assert len({e.id for e in got}) == len(got) == 6
        assert list(got) == _events(6)  # whole events, not only their ids
