from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from subkit.catalog.catalog import Catalog, Plan, Product
from subkit.catalog.pricing import FlatFee, Graduated, PerUnit, Tier
from subkit.core.periods import YEARLY
from subkit.invoice.discounts import Coupon
from subkit.services.engine import BillingEngine
from subkit.testing import InMemoryStore, TestClock


def catalog() -> Catalog:
    """Basic $10/mo, Pro $20/mo (14-day trial), Seats $8/seat, Annual $120/yr, Team graduated, API metered."""
    tiers = (
        Tier(up_to=5, unit_amount="7.00"),
        Tier(up_to=10, unit_amount="6.50"),
        Tier(up_to=None, unit_amount="6.00"),
    )
    return Catalog(
        products=(Product(id="app", name="App"),),
        plans=(
            Plan(
                id="basic",
                product_id="app",
                name="Basic",
                tier="Basic",
                prices={"USD": FlatFee(flat_amount="10")},
            ),
            Plan(
                id="pro",
                product_id="app",
                name="Pro",
                tier="Pro",
                trial_days=14,
                prices={"USD": FlatFee(flat_amount="20")},
            ),
            Plan(id="seats", product_id="app", name="Seats", prices={"USD": PerUnit(unit_amount="8")}),
            Plan(
                id="annual",
                product_id="app",
                name="Annual",
                interval=YEARLY,
                prices={"USD": FlatFee(flat_amount="120")},
            ),
            Plan(id="team", product_id="app", name="Team", prices={"USD": Graduated(tiers=tiers)}),
            Plan(id="la_basic", product_id="app", name="LA Basic", prices={"USD": FlatFee(flat_amount="31")}),
            Plan(id="la_pro", product_id="app", name="LA Pro", prices={"USD": FlatFee(flat_amount="62")}),
            Plan(
                id="api",
                product_id="app",
                name="API",
                metric="api_calls",
                prices={"USD": PerUnit(unit_amount="0.002")},
            ),
        ),
    )


class World:
    def __init__(self, start: datetime) -> None:
        counter = itertools.count(1)
        self.clock = TestClock(start)
        self.store = InMemoryStore()
        self.engine = BillingEngine(self.store, self.clock, ids=lambda p: f"{p}_{next(counter):05d}")
        self.engine.set_catalog(catalog())
        self.engine.add_coupon(Coupon(id="Q3", percent_off="25", duration="repeating", duration_cycles=3))

    def at(self, *args: int) -> datetime:
        return datetime(*args, tzinfo=UTC)  # type: ignore[misc]

    def go(self, when: datetime) -> None:
        self.clock.travel_to(when)
        self.engine.advance()

    def totals(self, sub_id: str) -> list[tuple[str, int]]:
        return [
            (i.period_start.date().isoformat() if i.period_start else "-", i.total_minor)
            for i in self.engine.invoices(subscription_id=sub_id)
        ]


@pytest.fixture
def world() -> World:
    return World(datetime(2027, 1, 1, tzinfo=UTC))
