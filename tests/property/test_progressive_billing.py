"""Progressive billing: interim invoices + the period-end invoice = the invoice without thresholds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from subkit.catalog.catalog import Catalog, Plan, Product
from subkit.catalog.pricing import Graduated, PerUnit, Tier
from subkit.core.clock import TestClock
from subkit.invoice.invoice import BillingReason
from subkit.services.engine import BillingEngine
from subkit.testing import InMemoryStore

JAN = datetime(2027, 1, 1, tzinfo=UTC)
FEB = datetime(2027, 2, 1, tzinfo=UTC)

PRICES = [
    PerUnit(unit_amount="0.0015"),  # half cents: rounding on every partial invoice
    Graduated(
        tiers=(
            Tier(up_to=1000, unit_amount="0.0033"),
            Tier(up_to=None, unit_amount="0.0007", flat_amount="1.005"),
        )
    ),
]


def _run(price: object, threshold: str | None, events: list[tuple[int, int]]) -> tuple[int, int]:
    """(sum of the subscription's invoice totals, how many interim invoices)."""
    clock = TestClock(JAN)
    e = BillingEngine(InMemoryStore(), clock)
    plan = Plan(
        id="api",
        product_id="app",
        name="API",
        metric="calls",
        prices={"USD": price},
        usage_thresholds={"USD": threshold} if threshold else {},
    )
    e.set_catalog(Catalog(products=(Product(id="app", name="App"),), plans=(plan,)))
    cus = e.create_customer(name="Ada", currency="USD")
    sub = e.subscribe(cus.id, "api", at=JAN)
    for n, (minute, qty) in enumerate(sorted(events)):
        at = JAN + timedelta(minutes=minute)
        clock.travel_to(at + timedelta(seconds=1))
        e.record_usage(sub.id, "calls", qty, at=at, id=f"e{n}")
    e.advance(FEB)
    invoices = e.invoices(cus.id)
    interim = sum(1 for i in invoices if i.billing_reason == BillingReason.SUBSCRIPTION_THRESHOLD)
    return sum(i.total_minor for i in invoices), interim


@settings(max_examples=40, deadline=None)
@given(
    price=st.sampled_from(PRICES),
    threshold=st.sampled_from(["0.01", "0.5", "2", "7.77"]),
    events=st.lists(
        st.tuples(st.integers(0, 31 * 24 * 60 - 1), st.integers(1, 3000)), min_size=1, max_size=12
    ),
)
def test_interim_plus_final_equals_one_invoice(
    price: object, threshold: str, events: list[tuple[int, int]]
) -> None:
    with_thresholds, _ = _run(price, threshold, events)
    without, none = _run(price, None, events)
    assert none == 0
    assert with_thresholds == without


def test_interim_invoice_then_remainder_by_hand() -> None:
    # 0.0015 per call, threshold 5.00: 4,000 calls (6.00) on Jan 10 -> interim 6.00;
    # 1,001 more calls on Jan 20 (1.5015 -> whole 5,001 calls = 7.5015 = 7.50; 7.50 - 6.00 = 1.50)
    total, interim = _run(PRICES[0], "5", [(9 * 1440, 4000), (19 * 1440, 1001)])
    assert (total, interim) == (750, 1)
    assert Decimal("7.5015").quantize(Decimal("0.01")) == Decimal("7.50")
