"""The same business run on every store gives the same books, to the cent and the number."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from subkit.adapters.storage.memory import InMemoryStore
from subkit.invoice.discounts import Coupon
from subkit.ports import Store
from subkit.services.engine import BillingEngine
from subkit.subscription.proration import ProrationBehavior
from subkit.testing import TestClock

from .conftest import catalog

PG = os.environ.get("SUBKIT_TEST_POSTGRES_URL")


def run_business(store: Store) -> list[tuple[object, ...]]:
    counter = itertools.count(1)
    clock = TestClock(datetime(2027, 1, 31, tzinfo=UTC))
    e = BillingEngine(store, clock, ids=lambda p: f"{p}_{next(counter):04d}")
    e.set_catalog(catalog())
    e.add_coupon(Coupon(id="Q3", percent_off="25", duration="repeating", duration_cycles=3))
    a = e.create_customer(name="A", currency="USD", id="cus_a")
    b = e.create_customer(name="B", currency="USD", id="cus_b", timezone="America/Los_Angeles")
    s1 = e.subscribe(a.id, "seats", 3, coupon="Q3")
    s2 = e.subscribe(b.id, "pro")  # 14-day trial
    s3 = e.subscribe(b.id, items=[("basic", 1), ("api", 0)])
    e.record_usage(s3.id, "api_calls", 1234, at=datetime(2027, 2, 3, tzinfo=UTC), id="u1")
    clock.travel_to(datetime(2027, 2, 14, tzinfo=UTC))
    assert e.preview_change(s1.id, quantity=5, proration_behavior=ProrationBehavior.ALWAYS_INVOICE)
    e.change_plan(s1.id, quantity=5, proration_behavior=ProrationBehavior.ALWAYS_INVOICE)
    e.change_plan(s2.id, "basic")  # downgrade during the trial: takes effect now, nothing charged
    e.cancel(s3.id)
    clock.travel_to(datetime(2027, 7, 1, tzinfo=UTC))
    report = e.advance()
    assert report.errors == []
    e.cancel(s1.id, at_period_end=False, prorate=True)
    e.issue_credit_note(e.invoices(b.id)[0].id, "1.00")
    return [
        (
            i.number,
            i.customer_id,
            i.subscription_id,
            i.period_start,
            i.total_minor,
            i.amount_due_minor,
            tuple((ln.kind.value, ln.amount_minor, ln.discount_minor) for ln in i.lines),
        )
        for i in e.invoices()
    ] + [("balance", e.get_customer("cus_a").credit_minor, e.get_customer("cus_b").credit_minor)]


def memory() -> Iterator[Store]:
    yield InMemoryStore()


def sqlite(tmp: Path) -> Iterator[Store]:
    from subkit.adapters.storage.sql import SqlStore

    store = SqlStore(tmp / "books.sqlite")
    yield store
    store.close()


def postgres(tmp: Path) -> Iterator[Store]:
    if not PG:
        pytest.skip("set SUBKIT_TEST_POSTGRES_URL to run the engine on PostgreSQL")
    import sqlalchemy as sa

    from subkit.adapters.storage.sql import SqlStore

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    engine = sa.create_engine(PG, connect_args={"options": f"-csearch_path={schema}"})
    store = SqlStore(engine)
    try:
        yield store
    finally:
        store.close()
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


STORES: dict[str, Callable[..., Iterator[Store]]] = {"sqlite": sqlite, "postgres": postgres}


@pytest.mark.parametrize("name", sorted(STORES))
def test_same_books_on_every_store(name: str, tmp_path: Path) -> None:
    expected = run_business(next(memory()))
    assert len(expected) > 10
    gen = STORES[name](tmp_path)
    store = next(gen)
    try:
        assert run_business(store) == expected
    finally:
        next(gen, None)
