"""Bulk encoding (``subkit.usage.bulk.encode``) gives exactly the rows, and the errors, of the
per-event path, whatever the chunk mixes: the short paths are only shortcuts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from subkit.adapters.storage.memory import InMemoryStore
from subkit.catalog.catalog import Catalog, Plan, Product
from subkit.catalog.metrics import BillableMetric
from subkit.catalog.pricing import PerUnit
from subkit.core.clock import TestClock
from subkit.errors import SubkitError
from subkit.services.context import CatalogRecord
from subkit.services.engine import BillingEngine
from subkit.services.metering import _Resolver, _row
from subkit.usage.bulk import UsageBatch, encode
from subkit.usage.event import UsageRow

JAN = datetime(2027, 1, 1, tzinfo=UTC)
METRICS = (
    BillableMetric(code="calls", aggregation="sum", field="quantity"),
    BillableMetric(code="hits", aggregation="count"),
    BillableMetric(code="users", aggregation="unique_count", field="quantity"),
    BillableMetric(code="gb", aggregation="weighted_sum", field="quantity"),
)


def _engine() -> BillingEngine:
    engine = BillingEngine(InMemoryStore(), TestClock(JAN + timedelta(days=40)))
    engine.set_catalog(
        Catalog(
            products=(Product(id="app", name="App"),),
            plans=(
                Plan(
                    id="api",
                    product_id="app",
                    name="API",
                    metric="calls",
                    prices={"USD": PerUnit(unit_amount="1")},
                ),
            ),
            metrics=METRICS,
        )
    )
    cus = engine.create_customer(name="Ada", currency="USD", id="cus_a")
    engine.subscribe(cus.id, "api", at=JAN, id="sub_a")
    engine.subscribe(cus.id, "api", at=JAN, id="sub_b")
    engine.advance(JAN + timedelta(days=40))  # the current periods start on Feb 1: January events are late
    return engine


ENGINE = _engine()

stamps = st.one_of(
    st.datetimes(min_value=datetime(2026, 12, 1), max_value=datetime(2027, 3, 1), timezones=st.just(UTC)),
    st.datetimes(
        min_value=datetime(2026, 12, 1),
        max_value=datetime(2027, 3, 1),
        timezones=st.just(timezone(timedelta(hours=-5))),
    ),
    st.just(datetime(2027, 1, 5)),  # naive
    st.just("2027-01-05T00:00:00+00:00"),
)
events = st.fixed_dictionaries(
    {
        "id": st.one_of(st.sampled_from(["e1", "e2", "e3", "é4", "e5"]), st.sampled_from(["", "a\x00", 7])),
        "subscription_id": st.sampled_from(["sub_a", "sub_b", "sub_x"]),
        "metric": st.sampled_from(["calls", "hits", "users", "gb", "nope"]),
        "timestamp": stamps,
        "quantity": st.one_of(
            st.integers(-5, 2**63 + 1), st.none(), st.just(True), st.just(Decimal("1.5")), st.just(2.5)
        ),
        "properties": st.one_of(st.none(), st.just({}), st.just({"region": "eu"})),
    }
)
# chunks mostly of the usual shape (the column path), sometimes mixed (the per-event loop)
usual = st.fixed_dictionaries(
    {
        "id": st.from_regex(r"evt_[0-9]{1,3}", fullmatch=True),
        "subscription_id": st.sampled_from(["sub_a", "sub_b"]),
        "metric": st.just("calls"),
        "timestamp": stamps.filter(lambda t: isinstance(t, datetime) and t.tzinfo is not None),
        "quantity": st.integers(0, 10**6),
    }
)


def _reference(res: _Resolver, chunk: list[dict[str, Any]]) -> list[UsageRow] | type[SubkitError]:
    try:
        return [_row(res, e, 9) for e in chunk]
    except SubkitError as err:
        return type(err)


def _fast(res: _Resolver, chunk: list[dict[str, Any]]) -> list[UsageRow] | type[SubkitError]:
    try:
        return list(encode(chunk, res.specs, res.targets, 9, lambda n, e: _row(res, e, 9)))
    except SubkitError as err:
        return type(err)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.lists(events, max_size=8), st.lists(usual, min_size=1, max_size=8)))
def test_bulk_encoding_equals_the_per_event_path(chunk: list[dict[str, Any]]) -> None:
    with ENGINE.store.begin() as uow:
        catalog = uow.get(CatalogRecord, "catalog").catalog
        expected = _reference(_Resolver(uow, catalog, chunk), chunk)
        got = _fast(_Resolver(uow, catalog, chunk), chunk)
    assert got == expected


def test_a_batch_is_its_rows_and_drops_repeats() -> None:
    row = UsageRow("e1", "s", "c", "m", 0, 2, 0, None, 0)
    other = row._replace(id="e2", units=5)
    batch = UsageBatch.of([row, other, row])
    assert list(batch) == [row, other, row] and batch[1] == other and batch[0:2] == [row, other]
    unique, again = batch.unique()
    assert list(unique) == [row, other] and again == ["e1"]
    assert list(UsageBatch.of([]).tuples()) == []
