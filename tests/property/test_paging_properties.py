"""Invariants of cursor paging, on the in-memory store and on SQLite.

Whatever the creation times (ties included), the ids, the page size and the objects inserted
between pages: paging from the first page to the last gives every object that existed at the
start exactly once, in the order (created, id) descending, and nothing twice.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from subkit.adapters.storage.memory import InMemoryStore
from subkit.adapters.storage.sql import SqlStore
from subkit.invoice.invoice import Invoice
from subkit.ports import Store

T0 = datetime(2027, 1, 1, tzinfo=UTC)
IDS = st.text(alphabet="abcAB_-09é", min_size=1, max_size=6)
ROWS = st.dictionaries(IDS, st.integers(min_value=0, max_value=5), min_size=0, max_size=30)  # id -> minute


def _invoice(id: str, minute: int, customer: str = "cus_1") -> Invoice:
    return Invoice(id=id, customer_id=customer, currency="EUR", created_at=T0 + timedelta(minutes=minute))


def _walk(store: Store, limit: int, between: list[tuple[str, int]]) -> list[str]:
    seen: list[str] = []
    after = None
    extra = iter(between)
    while True:
        with store.begin() as uow:
            page = uow.invoices.page(customer_id="cus_1", limit=limit, after=after)
        assert len(page) <= limit and (page.next_cursor is not None) == page.has_more
        seen += [i.id for i in page]
        if not page.has_more:
            return seen
        after = page.next_cursor
        new = next(extra, None)
        if new is not None:
            with store.begin() as uow:
                uow.add(_invoice(*new))
                uow.add(_invoice(new[0] + "x", new[1], customer="cus_2"))  # another customer's: filtered out


def _check(store: Store, rows: dict[str, int], limit: int, between: list[tuple[str, int]]) -> None:
    with store.begin() as uow:
        for id, minute in rows.items():
            uow.add(_invoice(id, minute))
    expected = [id for id, _ in sorted(rows.items(), key=lambda r: (r[1], r[0]), reverse=True)]
    seen = _walk(store, limit, [(f"new{n}{id}", m) for n, (id, m) in enumerate(between)])
    assert len(seen) == len(set(seen))
    assert [i for i in seen if i in rows] == expected


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=ROWS,
    limit=st.integers(min_value=1, max_value=7),
    between=st.lists(st.tuples(IDS, st.integers(0, 9))),
)
def test_memory_pages_cover_each_object_once_in_order(
    rows: dict[str, int], limit: int, between: list[tuple[str, int]]
) -> None:
    _check(InMemoryStore(), rows, limit, between)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=ROWS,
    limit=st.integers(min_value=1, max_value=7),
    between=st.lists(st.tuples(IDS, st.integers(0, 9))),
)
def test_sqlite_pages_cover_each_object_once_in_order(
    rows: dict[str, int], limit: int, between: list[tuple[str, int]]
) -> None:
    store = SqlStore("sqlite://")
    try:
        _check(store, rows, limit, between)
    finally:
        store.close()
