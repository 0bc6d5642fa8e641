"""Issue 10: a change to another billing interval resets the anchor (Stripe's rule); renewals go on."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from subkit.errors import CatalogError
from subkit.invoice.invoice import BillingReason

from ..scenarios.conftest import World


@pytest.fixture
def w() -> World:
    return World(datetime(2027, 1, 1, tzinfo=UTC))


def test_monthly_to_yearly_at_period_end_renews_yearly_from_there(w: World) -> None:
    cus = w.engine.create_customer(name="A", currency="USD")
    sub = w.engine.subscribe(cus.id, "basic")  # $10 a month from Jan 1
    w.clock.travel_to(w.at(2027, 1, 10))
    w.engine.change_plan(sub.id, "annual", when="period_end")
    w.go(w.at(2027, 2, 1))
    after = w.engine.get_subscription(sub.id)
    assert after.interval.months == 12 and after.anchor == w.at(2027, 2, 1)
    assert (after.period_start, after.period_end) == (w.at(2027, 2, 1), w.at(2028, 2, 1))
    w.go(w.at(2028, 2, 1))
    # Jan: $10 (monthly); Feb 1 2027: the year at $120; Feb 1 2028: the next year, $120
    assert w.totals(sub.id) == [("2027-01-01", 1000), ("2027-02-01", 12000), ("2028-02-01", 12000)]
    assert w.engine.advance().errors == []


def test_monthly_to_yearly_now_credits_unused_time_and_starts_a_year(w: World) -> None:
    cus = w.engine.create_customer(name="A", currency="USD")
    sub = w.engine.subscribe(cus.id, "basic")
    w.clock.travel_to(w.at(2027, 1, 16))
    w.engine.change_plan(sub.id, "annual", when="now")
    inv = w.engine.invoices(subscription_id=sub.id)[-1]
    # unused: Jan 16 - Feb 1 is 16 of January's 31 days: $10 * 16/31 = $5.16 credited; the year $120
    assert [ln.amount_minor for ln in inv.lines] == [-516, 12000]
    assert inv.billing_reason == BillingReason.SUBSCRIPTION_UPDATE
    assert w.engine.get_subscription(sub.id).period_end == w.at(2028, 1, 16)
    w.go(w.at(2028, 1, 16))
    assert w.totals(sub.id)[-1] == ("2028-01-16", 12000)


def test_yearly_to_monthly_auto_waits_for_the_year_end(w: World) -> None:
    cus = w.engine.create_customer(name="A", currency="USD")
    sub = w.engine.subscribe(cus.id, "annual")
    w.engine.change_plan(sub.id, "basic")  # cheaper: at period end
    w.go(w.at(2028, 3, 1))
    assert w.totals(sub.id) == [
        ("2027-01-01", 12000),
        ("2028-01-01", 1000),
        ("2028-02-01", 1000),
        ("2028-03-01", 1000),
    ]


def test_an_interval_change_needs_a_single_item_subscription(w: World) -> None:
    cus = w.engine.create_customer(name="A", currency="USD")
    sub = w.engine.subscribe(cus.id, items=[("basic", 1), ("seats", 2)])
    with pytest.raises(CatalogError, match="single-item"):
        w.engine.change_plan(sub.id, "annual", when="period_end")
    with pytest.raises(CatalogError, match="single-item"):
        w.engine.change_plan(sub.id, "annual", when="now")
