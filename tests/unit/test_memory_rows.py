"""The in-memory store's lean structures: shelves, the due index, the opt-in heap freeze."""

from __future__ import annotations

import gc
import random
from datetime import UTC, datetime, timedelta

from subkit.adapters.storage.memory_shelves import DueIndex, Shelf
from subkit.core.heap import frozen_heap, paused_collector

T0 = datetime(2027, 1, 1, tzinfo=UTC)


def test_a_shelf_is_a_dict_whose_settled_part_the_collector_never_walks() -> None:
    shelf, model = Shelf(), {}
    rnd = random.Random(3)
    for step in range(3000):
        key = f"k{rnd.randrange(400)}"
        op = rnd.random()
        if op < 0.6:
            value: object = (key, step, (step, "x"))
            shelf[key] = model[key] = value
        elif op < 0.7 and key in model:
            del shelf[key], model[key]
        elif op < 0.75:
            shelf[key] = model[key] = {"many": None}  # a dict value never settles
        if step % 97 == 0:
            gc.collect()
            shelf.settle()
        assert (key in shelf) == (key in model) and shelf.get(key) == model.get(key)
    assert len(shelf) == len(model) and dict(shelf.items()) == model and sorted(shelf) == sorted(model)
    for _ in range(3):
        gc.collect()
        shelf.settle()
    assert not gc.is_tracked(shelf.cold) and len(shelf.cold) > 100


def test_settling_costs_follow_the_writes_when_values_stay_tracked() -> None:
    shelf = Shelf()
    for i in range(5000):
        shelf[i] = [i]  # a list never becomes untracked: it stays in the hot dict
    shelf.settle()  # looks at the 5,000 written
    for n in range(1, 4):
        shelf.settle()  # nothing written since: looks at 32 only
        assert shelf.queue[0] == 32 * n
    assert len(shelf.hot) == 5000 and len(shelf.queue) == 5000 and not shelf.cold


def test_the_due_index_returns_the_earliest_current_entries_like_a_sorted_scan() -> None:
    rnd = random.Random(11)
    idx = DueIndex()
    due: dict[str, datetime] = {}
    for step in range(4000):
        id = f"s{rnd.randrange(600)}"
        at = T0 + timedelta(minutes=rnd.randrange(5000))
        due[id] = at
        idx.add(at, id)
        if step % 50 == 0:
            until = T0 + timedelta(minutes=rnd.randrange(5000))
            limit = rnd.randrange(1, 40)
            got = idx.scan(until, limit, lambda d, i: due.get(i) == d)
            expected = sorted((d, i) for i, d in due.items() if d <= until)[:limit]
            assert got == [i for _, i in expected]
            if rnd.random() < 0.3 and got:
                del due[got[0]]  # a finished entity: its entry is now stale
    assert len(idx) >= len(due)
    assert all(len(c) <= 256 for c in idx.chunks) and idx.firsts == [c[0] for c in idx.chunks]


def test_frozen_heap_freezes_once_and_leaves_a_host_freeze_alone() -> None:
    assert gc.get_freeze_count() == 0
    with frozen_heap():
        inner = gc.get_freeze_count()
        with frozen_heap():
            assert gc.get_freeze_count() == inner > 0
        assert gc.get_freeze_count() == inner
    assert gc.get_freeze_count() == 0
    gc.freeze()
    try:
        host = gc.get_freeze_count()
        with frozen_heap():
            assert gc.get_freeze_count() == host
        assert gc.get_freeze_count() == host  # the host's freeze stays
    finally:
        gc.unfreeze()


def test_paused_collector_pauses_once_restores_on_error_and_leaves_a_host_pause_alone() -> None:
    assert gc.isenabled()
    with paused_collector():
        assert not gc.isenabled()
        with paused_collector():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer block still holds the pause
    assert gc.isenabled()
    try:
        with paused_collector():
            raise KeyError("boom")
    except KeyError:
        pass
    assert gc.isenabled()  # switched back on after an error too
    gc.disable()
    try:
        with paused_collector():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the host switched it off: it stays off
    finally:
        gc.enable()


def test_a_committed_memory_unit_of_work_lets_its_entities_go() -> None:
    import sys

    from subkit.adapters.storage.memory import InMemoryStore
    from subkit.customer.customer import Customer

    store = InMemoryStore()
    ada = Customer(id="cus_1", name="Ada", currency="EUR")
    alone = sys.getrefcount(ada)
    with store.begin() as uow:
        uow.add(ada)
        assert sys.getrefcount(ada) > alone  # the unit of work's view holds it
    assert sys.getrefcount(ada) == alone  # the unit of work is still referenced here, its view is not
    with store.begin() as again:
        assert again.get(Customer, "cus_1").name == "Ada"
