"""Fuzzing every public entry point as a hostile or careless caller would (issue 10).

Each test draws arguments that mix plausible values with hostile ones (wrong types, huge
numbers, lone surrogates, card numbers, deep nesting, floats, bools, bytes) and checks two
things: only a ``SubkitError`` escapes, and a refused call leaves the books exactly as they
were (no entity, no event written). A few hundred examples each, on the memory store and,
for the commands whose failures used to surface at commit, on SQLite.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from subkit.adapters.storage.sql import SqlStore
from subkit.catalog.catalog import Catalog
from subkit.core.money import from_minor, money, to_minor
from subkit.customer.customer import Customer
from subkit.errors import SubkitError
from subkit.invoice.invoice import CreditNote, Invoice, InvoiceItem
from subkit.services.engine import BillingEngine
from subkit.subscription.model import Subscription
from subkit.testing import InMemoryStore, TestClock

from ..scenarios.conftest import catalog

FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

PAN = "4242424242424242"  # Stripe's public test card number (Luhn-valid)
JUNK: list[object] = [
    None,
    True,
    False,
    0,
    -1,
    1.5,
    float("nan"),
    10**30,
    "",
    "9" * 60,
    "1e100",
    "-1e60",
    "NaN",
    "Infinity",
    "\ud800",
    "a\udfffb",
    "\x00",
    PAN,
    f"card {PAN}",
    b"bytes",
    [1],
    ["cus"],
    (1, 2, 3),
    {1: 2},
    {"cvv": "123"},
    {PAN: "x"},
    {"k": "\ud800"},
    {"k": {"k": {"k": {}}}},
    Decimal("NaN"),
    Decimal("1e60"),
    datetime(2027, 1, 1),
    object(),
]
junk = st.sampled_from(JUNK)
texts = st.text(alphabet=st.characters(codec=None, categories=None), max_size=30)
anything = st.one_of(junk, texts, st.integers(), st.floats(allow_nan=True), st.decimals(allow_nan=True))


def ids(valid: list[str]) -> st.SearchStrategy[object]:
    return st.one_of(st.sampled_from(valid), anything)


def quantities() -> st.SearchStrategy[object]:
    return st.one_of(st.sampled_from([1, 2, "3", Decimal("0.5"), 0]), anything)


def whens() -> st.SearchStrategy[object]:
    aware = st.datetimes(
        min_value=datetime(2027, 4, 1), max_value=datetime(2027, 6, 1), timezones=st.just(UTC)
    )
    return st.one_of(st.sampled_from(["auto", "now", "period_end"]), aware, anything)


def ats() -> st.SearchStrategy[object]:
    aware = st.datetimes(
        min_value=datetime(2027, 4, 1),
        max_value=datetime(2027, 5, 1),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=-8))]),
    )
    return st.one_of(st.none(), aware, anything, st.just(datetime.max.replace(tzinfo=UTC)))


KINDS = (Customer, Subscription, Invoice, InvoiceItem, CreditNote)


def books(engine: BillingEngine) -> tuple[object, ...]:
    """Everything stored: every entity of each kind, and the outbox."""
    with engine.store.begin() as uow:
        found = tuple(sorted((e.model_dump_json() for e in uow.find(kind)), key=str) for kind in KINDS)
    usage = tuple(repr(e) for e in engine.usage_events("sub_api"))
    return (*found, usage, tuple(e.id for e in engine.store.pending_events(10_000)))


class Books:
    """A small business to fuzz against: customers, a live subscription, an open invoice."""

    def __init__(self, store: Any) -> None:
        counter = itertools.count(1)
        self.clock = TestClock(datetime(2027, 4, 1, tzinfo=UTC))
        self.engine = e = BillingEngine(store, self.clock, ids=lambda p: f"{p}_{next(counter):05d}")
        e.set_catalog(catalog())
        self.cus = e.create_customer(name="Ada", currency="USD", id="cus_ada").id
        self.sub = e.subscribe(self.cus, "seats", 2, id="sub_seats").id
        self.api = e.subscribe(self.cus, "api", id="sub_api").id
        e.add_invoice_item(self.cus, "Setup", "25")
        inv = e.invoice_now(self.cus)
        assert inv is not None
        self.inv = inv.id

    def call(self, fn: Callable[[], object]) -> None:
        """Call ``fn``: only a SubkitError may escape, and a refused call writes nothing."""
        before = books(self.engine)
        try:
            fn()
        except SubkitError:
            assert books(self.engine) == before, "a refused call changed the books"


@pytest.fixture(scope="module")
def memory() -> Books:
    return Books(InMemoryStore())


@pytest.fixture(scope="module")
def sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Books]:
    store = SqlStore(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'books.sqlite'}")
    yield Books(store)
    store.close()


@pytest.fixture(params=["memory", "sqlite"])
def world(request: pytest.FixtureRequest) -> Books:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


@FUZZ
@given(data=st.data())
def test_create_customer(memory: Books, data: st.DataObject) -> None:
    fields = data.draw(
        st.dictionaries(
            st.sampled_from(["name", "email", "currency", "address", "metadata", "timezone", "locale", "x"]),
            st.one_of(st.sampled_from(["Ada", "USD", "UTC", "fr_FR", {"line1": "1 Main St"}]), anything),
            max_size=5,
        )
    )
    fields.setdefault("currency", "USD")
    fields.setdefault("name", "Bo")
    cid = data.draw(st.one_of(st.none(), anything))
    memory.call(lambda: memory.engine.create_customer(id=cid, **fields))  # type: ignore[arg-type]


@FUZZ
@given(data=st.data())
def test_update_customer(world: Books, data: st.DataObject) -> None:
    changes = data.draw(
        st.dictionaries(
            st.sampled_from(["name", "email", "address", "metadata", "credit_minor", "id", "version"]),
            st.one_of(st.sampled_from(["Ada", 5, {"line1": "x"}, {"crm": "1"}]), anything),
            max_size=3,
        )
    )
    cid = data.draw(ids([world.cus]))
    world.call(lambda: world.engine.update_customer(cid, **changes))  # type: ignore[arg-type]


@FUZZ
@given(data=st.data())
def test_subscribe(world: Books, data: st.DataObject) -> None:
    kwargs = data.draw(
        st.fixed_dictionaries(
            {},
            optional={
                "items": st.one_of(st.just([("basic", 1)]), anything),
                "trial_days": st.one_of(st.sampled_from([None, 0, 7]), anything),
                "coupon": st.one_of(st.sampled_from([None, "Q3"]), anything),
                "promotion_code": st.one_of(st.none(), anything),
                "metadata": st.one_of(st.sampled_from([None, {"k": "v"}]), anything),
                "proration_behavior": st.one_of(st.just("none"), anything),
                "trial_end_behavior": anything,
                "trial_requires_payment_method": anything,
                "at": ats(),
                "id": anything,
            },
        )
    )
    cid = data.draw(ids([world.cus]))
    plan = data.draw(ids(["basic", "seats", "annual"]))
    qty = data.draw(quantities())
    world.call(lambda: world.engine.subscribe(cid, plan, qty, **kwargs))  # type: ignore[arg-type]


@FUZZ
@given(data=st.data())
def test_change_plan(world: Books, data: st.DataObject) -> None:
    sid = data.draw(ids([world.sub]))
    plan = data.draw(st.one_of(st.sampled_from([None, "seats", "basic", "annual"]), anything))
    qty = data.draw(st.one_of(st.none(), quantities()))
    when = data.draw(whens())
    proration = data.draw(st.one_of(st.sampled_from([None, "always_invoice", "none"]), anything))
    at = data.draw(ats())
    world.call(
        lambda: world.engine.change_plan(
            sid,  # type: ignore[arg-type]
            plan,  # type: ignore[arg-type]
            quantity=qty,
            when=when,  # type: ignore[arg-type]
            proration_behavior=proration,  # type: ignore[arg-type]
            at=at,  # type: ignore[arg-type]
        )
    )


@FUZZ
@given(data=st.data())
def test_change_quantity(memory: Books, data: st.DataObject) -> None:
    sid = data.draw(ids([memory.sub]))
    qty = data.draw(quantities())
    memory.call(lambda: memory.engine.change_quantity(sid, qty, at=data.draw(ats())))  # type: ignore[arg-type]


@FUZZ
@given(data=st.data())
def test_cancel(memory: Books, data: st.DataObject) -> None:
    sid = data.draw(ids(["sub_missing"]))  # never the shared subscription: the others need it live
    flags = data.draw(st.tuples(st.one_of(st.booleans(), anything), st.one_of(st.booleans(), anything)))
    memory.call(
        lambda: memory.engine.cancel(sid, at_period_end=flags[0], prorate=flags[1], at=data.draw(ats()))  # type: ignore[arg-type]
    )


@FUZZ
@given(data=st.data())
def test_record_usage(world: Books, data: st.DataObject) -> None:
    sid = data.draw(ids([world.api]))
    metric = data.draw(ids(["api_calls"]))
    qty = data.draw(quantities())
    eid = data.draw(st.one_of(st.none(), anything))
    world.call(lambda: world.engine.record_usage(sid, metric, qty, id=eid, at=data.draw(ats())))  # type: ignore[arg-type]


@FUZZ
@given(data=st.data())
def test_add_invoice_item(world: Books, data: st.DataObject) -> None:
    cid = data.draw(ids([world.cus]))
    desc = data.draw(st.one_of(st.just("Setup"), anything))
    amount = data.draw(st.one_of(st.sampled_from(["5", -3, "0.015"]), anything))
    sid = data.draw(st.one_of(st.sampled_from([None, world.sub]), anything))
    qty = data.draw(quantities())
    world.call(
        lambda: world.engine.add_invoice_item(cid, desc, amount, subscription_id=sid, quantity=qty)  # type: ignore[arg-type]
    )


@FUZZ
@given(data=st.data())
def test_issue_credit_note(memory: Books, data: st.DataObject) -> None:
    iid = data.draw(ids([memory.inv]))
    amount = data.draw(st.one_of(st.sampled_from(["0.01", 1]), anything))
    reason = data.draw(st.one_of(st.just(""), anything))
    memory.call(lambda: memory.engine.issue_credit_note(iid, amount, reason=reason))  # type: ignore[arg-type]


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@settings(max_examples=300, deadline=None)
@given(
    text=st.one_of(
        anything,
        st.sampled_from([_nested(30), _nested(100_000), '{"plans": "\\ud800"}', "{}", '{"products": 5}']),
        st.recursive(
            st.one_of(st.none(), st.integers(), texts),
            lambda c: st.lists(c, max_size=3) | st.dictionaries(texts, c, max_size=3),
        ).map(lambda v: __import__("json").dumps(v)),
    )
)
def test_catalog_from_json(text: object) -> None:
    with contextlib.suppress(SubkitError):
        Catalog.from_json(text)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(
    amount=anything, currency=st.one_of(st.sampled_from(["USD", "JPY", "KWD"]), anything), rounding=anything
)
def test_money_constructors(amount: object, currency: object, rounding: object) -> None:
    for build in (
        lambda: money(amount, currency),  # type: ignore[arg-type]
        lambda: money("1", "USD", rounding),  # type: ignore[arg-type]
        lambda: from_minor(amount, currency),  # type: ignore[arg-type]
        lambda: to_minor(amount, currency),  # type: ignore[arg-type]
    ):
        with contextlib.suppress(SubkitError):
            build()
