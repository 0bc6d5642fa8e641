"""Store contracts for the work guarantees: due work, claims, number series, the outbox, concurrency.

Example:
    >>> "test_claim_is_unique_across_units_of_work" in dir(StoreClaimsContract)
    True
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from subkit.core.events import Event, EventType
from subkit.errors import ConcurrencyError, DuplicateError, NaiveDatetimeError, NotFoundError, ValidationError
from subkit.ports import Store, UnitOfWork
from subkit.testing.contracts.base import T0, Probe, StoreFixture, bump

__all__ = [
    "StoreClaimsContract",
    "StoreConcurrencyContract",
    "StoreDueContract",
    "StoreOutboxContract",
    "StoreSequenceContract",
]


class StoreDueContract(StoreFixture):
    """``due``: entities with ``due_at <= until``, earliest first (then by id), up to ``limit``."""

    def test_due_returns_earliest_first_up_to_limit(self, store: Store) -> None:
        with store.begin() as uow:
            uow.add(Probe(id="late", due_at=T0 + timedelta(days=3)))
            uow.add(Probe(id="b", due_at=T0))
            uow.add(Probe(id="a", due_at=T0))
            uow.add(Probe(id="never", due_at=None))
            uow.add(Probe(id="early", due_at=T0 - timedelta(seconds=1)))
        with store.begin() as uow:
            assert [p.id for p in uow.due(Probe, T0, 10)] == ["early", "a", "b"]
            assert [p.id for p in uow.due(Probe, T0, 2)] == ["early", "a"]
            assert len(uow.due(Probe, T0 + timedelta(days=3), 10)) == 4

    def test_due_follows_own_writes(self, store: Store) -> None:
        with store.begin() as uow:
            uow.add(Probe(id="a", due_at=T0))
            uow.add(Probe(id="b", due_at=T0))
        with store.begin() as uow:
            uow.update(bump(uow.get(Probe, "a"), due_at=T0 + timedelta(days=30)))  # done: next month
            uow.add(Probe(id="c", due_at=T0 - timedelta(hours=1)))
            assert [p.id for p in uow.due(Probe, T0, 10)] == ["c", "b"]

    def test_due_after_commit_sees_moved_entities(self, store: Store) -> None:
        with store.begin() as uow:
            uow.add(Probe(id="a", due_at=T0))
        with store.begin() as uow:
            [a] = uow.due(Probe, T0, 10)
            uow.update(bump(a, due_at=None))
        with store.begin() as uow:
            assert uow.due(Probe, T0 + timedelta(days=365), 10) == []

    def test_due_refuses_a_naive_until(self, store: Store) -> None:
        with store.begin() as uow:
            uow.add(Probe(id="p1", due_at=T0))
        with store.begin() as uow, pytest.raises(NaiveDatetimeError):
            uow.due(Probe, datetime(2027, 1, 1), 10)


class StoreClaimsContract(StoreFixture):
    """``claim`` / ``claimed``: unique keys, committed with the work they guard."""

    def test_claim_is_unique_across_units_of_work(self, store: Store) -> None:
        with store.begin() as uow:
            uow.claim("charge:sub_1:item_1:2027-01-31")
            with pytest.raises(DuplicateError):
                uow.claim("charge:sub_1:item_1:2027-01-31")
        # A key taken by an earlier unit of work fails this one: at the claim or at commit.
        with pytest.raises(DuplicateError), store.begin() as uow:
            assert uow.claimed("charge:sub_1:item_1:2027-01-31")
            uow.add(Probe(id="written-with-the-duplicate"))
            uow.claim("charge:sub_1:item_1:2027-01-31")
        with store.begin() as uow, pytest.raises(NotFoundError):
            uow.get(Probe, "written-with-the-duplicate")  # nothing of that unit of work was kept

    def test_claimed_sees_own_and_committed_keys(self, store: Store) -> None:
        with store.begin() as uow:
            assert not uow.claimed("k")
            uow.claim("k")
            assert uow.claimed("k")
        with store.begin() as uow:
            assert uow.claimed("k") and not uow.claimed("other")

    def test_a_rolled_back_claim_is_free_again(self, store: Store) -> None:
        with pytest.raises(RuntimeError), store.begin() as uow:
            uow.claim("k")
            raise RuntimeError
        with store.begin() as uow:
            uow.claim("k")
        with store.begin() as uow:
            assert uow.claimed("k")

    def test_a_key_must_be_storable_text(self, store: Store) -> None:
        for key in ("k\x00", "k\ud800"):
            with pytest.raises(ValidationError), store.begin() as uow:
                uow.claim(key)


class StoreSequenceContract(StoreFixture):
    """``next_number``: gap-free series, 1, 2, 3..., a rollback gives numbers back."""

    def test_sequences_are_gap_free_per_series(self, store: Store) -> None:
        with store.begin() as uow:
            assert [uow.next_number("INV"), uow.next_number("INV"), uow.next_number("CN")] == [1, 2, 1]
        with pytest.raises(RuntimeError), store.begin() as uow:
            uow.next_number("INV")
            raise RuntimeError
        with store.begin() as uow:
            assert uow.next_number("INV") == 3

    def test_numbers_follow_on_across_many_units_of_work(self, store: Store) -> None:
        got = []
        for _ in range(5):
            with store.begin() as uow:
                got.append((uow.next_number("INV"), uow.next_number("INV")))
        assert got == [(1, 2), (3, 4), (5, 6), (7, 8), (9, 10)]

    def test_a_series_name_must_be_storable_text(self, store: Store) -> None:
        for series in ("INV\x00", "INV\ud800"):
            with pytest.raises(ValidationError), store.begin() as uow:
                uow.next_number(series)


class StoreOutboxContract(StoreFixture):
    """``publish``, ``pending_events``, ``mark_published``: the transactional outbox."""

    def test_outbox_publishes_committed_events_once_marked(self, store: Store) -> None:
        e1 = Event.of(EventType.INVOICE_FINALIZED, T0, "in_1", customer_id="c", total=100)
        e2 = Event.of(EventType.INVOICE_PAID, T0, "in_1")
        with store.begin() as uow:
            uow.publish(e1)
            uow.publish(e2)
            uow.publish(e1)  # the same event twice is stored once
        assert [e.id for e in store.pending_events()] == [e1.id, e2.id]
        assert store.pending_events()[0] == e1
        store.mark_published([e1.id])
        assert [e.id for e in store.pending_events()] == [e2.id]

    def test_order_is_kept_across_units_of_work_and_limit_applies(self, store: Store) -> None:
        events = [Event.of(EventType.INVOICE_PAID, T0, f"in_{i}") for i in range(6)]
        for i in range(0, 6, 2):
            with store.begin() as uow:
                uow.publish(events[i])
                uow.publish(events[i + 1])
        assert [e.id for e in store.pending_events()] == [e.id for e in events]
        assert [e.id for e in store.pending_events(limit=4)] == [e.id for e in events[:4]]
        with store.begin() as uow:
            uow.publish(events[0])  # already there: ignored, the order stays
        assert [e.id for e in store.pending_events()] == [e.id for e in events]

    def test_rolled_back_events_never_appear(self, store: Store) -> None:
        with pytest.raises(RuntimeError), store.begin() as uow:
            uow.publish(Event.of(EventType.INVOICE_PAID, T0, "in_1"))
            raise RuntimeError
        assert list(store.pending_events()) == []

    def test_marking_unknown_or_no_ids_is_harmless(self, store: Store) -> None:
        e = Event.of(EventType.INVOICE_PAID, T0, "in_1")
        with store.begin() as uow:
            uow.publish(e)
        store.mark_published([])
        store.mark_published(["evt_unknown"])
        assert [x.id for x in store.pending_events()] == [e.id]

    def test_an_event_that_cannot_be_stored_is_refused_and_nothing_is_kept(self, store: Store) -> None:
        bad = Event.of(EventType.INVOICE_PAID, T0, "in_1", note="\ud800")
        with pytest.raises(ValidationError), store.begin() as uow:
            uow.add(Probe(id="p1"))
            uow.publish(bad)
        assert list(store.pending_events()) == []
        with store.begin() as uow:
            assert uow.get_many(Probe, ["p1"]) == {}


class StoreConcurrencyContract(StoreFixture):
    """Optimistic versions and unique ids hold between concurrent units of work."""

    def test_update_needs_next_version(self, store: Store) -> None:
        p = Probe(id="p1")
        with store.begin() as uow:
            uow.add(p)
        with store.begin() as uow:
            uow.update(bump(p, note="v2"))
        with store.begin() as uow:
            assert uow.get(Probe, "p1").version == 2
        with pytest.raises(ConcurrencyError), store.begin() as uow:
            uow.update(bump(p, note="stale"))  # built from version 1, store is at 2
        with store.begin() as uow:
            assert uow.get(Probe, "p1").note == "v2"

    def test_two_updates_in_one_unit_of_work(self, store: Store) -> None:
        p = Probe(id="p1")
        with store.begin() as uow:
            uow.add(p)
        with store.begin() as uow:
            p2 = bump(p, note="a")
            uow.update(p2)
            uow.update(bump(p2, note="b"))
        with store.begin() as uow:
            got = uow.get(Probe, "p1")
        assert (got.version, got.note) == (3, "b")

    def test_concurrent_writers_one_wins(self, store: Store) -> None:
        with store.begin() as uow:
            uow.add(Probe(id="p1"))
        results = _race(store, lambda uow, note: uow.update(bump(uow.get(Probe, "p1"), note=note)))
        assert results.count("ok") >= 1
        with store.begin() as uow:
            got = uow.get(Probe, "p1")
        assert got.version == 1 + results.count("ok")

    def test_concurrent_adds_of_one_id_one_wins(self, store: Store) -> None:
        results = _race(store, lambda uow, note: uow.add(Probe(id="p1", note=note)), together=False)
        assert results.count("ok") == 1
        with store.begin() as uow:
            assert uow.get(Probe, "p1").note in ("x", "y")


def _race(store: Store, write: Callable[[UnitOfWork, str], None], *, together: bool = True) -> list[str]:
    """Two threads each run ``write(uow, note)`` in a unit of work; ``together``: both read first."""
    results: list[str] = []
    barrier = threading.Barrier(2, timeout=10)

    def writer(note: str) -> None:
        try:
            with store.begin() as uow:
                if together:
                    uow.get(Probe, "p1")
                    barrier.wait()
                write(uow, note)
            results.append("ok")
        except (ConcurrencyError, DuplicateError):
            results.append("conflict")
        except threading.BrokenBarrierError:  # a store that serializes writers blocks here
            results.append("serialized")

    threads = [threading.Thread(target=writer, args=(n,)) for n in ("x", "y")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results
