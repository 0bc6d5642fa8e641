"""A published plan version in use is immutable; subscriptions move only by an explicit migration (issue 15).

Reported: editing plan version 1 through set_catalog repriced a subscription from $132 to
$1,089 on its next invoice. Now the edit is refused; the change is a new version and
``migrate_subscriptions`` moves subscriptions, previewed first.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from subkit.catalog.catalog import Catalog, Plan, Product
from subkit.catalog.pricing import FlatFee, PerUnit
from subkit.core.money import money
from subkit.errors import CatalogError, NotFoundError, ValidationError
from subkit.services.engine import BillingEngine
from subkit.testing import InMemoryStore, TestClock

JAN = datetime(2027, 1, 1, tzinfo=UTC)
FEB = datetime(2027, 2, 1, tzinfo=UTC)
MAR = datetime(2027, 3, 1, tzinfo=UTC)

SEATS_V1 = Plan(id="seats", product_id="app", name="Seats", prices={"USD": PerUnit(unit_amount="12")})
OTHER = Plan(id="other", product_id="app", name="Other", prices={"USD": FlatFee(flat_amount="5")})


def engine_with_a_subscription(seats: int = 11) -> tuple[BillingEngine, TestClock, str]:
    clock = TestClock(JAN)
    engine = BillingEngine(InMemoryStore(), clock)
    engine.set_catalog(Catalog(products=(Product(id="app", name="App"),), plans=(SEATS_V1, OTHER)))
    cus = engine.create_customer(name="Ada", currency="USD")
    return engine, clock, engine.subscribe(cus.id, "seats", seats).id


def test_editing_a_version_in_use_is_refused_and_says_how_to_version_it() -> None:
    engine, clock, sub_id = engine_with_a_subscription()
    edited = SEATS_V1.model_copy(update={"prices": {"USD": PerUnit(unit_amount="99")}})
    with pytest.raises(CatalogError) as err:
        engine.set_catalog(Catalog(products=(Product(id="app", name="App"),), plans=(edited, OTHER)))
    assert "version 2" in err.value.message and "migrate_subscriptions('seats')" in err.value.message
    assert engine.catalog.plan("seats").price("USD").exact(1) == 12  # nothing written
    clock.travel_to(FEB)
    engine.advance()
    # 11 seats x 12.00 = 132.00 on the renewal, not 11 x 99
    assert [i.total_minor for i in engine.invoices(subscription_id=sub_id)] == [13200, 13200]


def test_a_version_nobody_uses_may_still_be_edited_and_reloading_the_same_catalog_is_fine() -> None:
    engine, _, _ = engine_with_a_subscription()
    same = Catalog(products=(Product(id="app", name="App"),), plans=(SEATS_V1, OTHER))
    engine.set_catalog(same)
    cheaper = OTHER.model_copy(update={"prices": {"USD": FlatFee(flat_amount="4")}})
    engine.set_catalog(Catalog(products=(Product(id="app", name="App"),), plans=(SEATS_V1, cheaper)))
    assert engine.catalog.plan("other").price("USD").exact(1) == 4


def test_migration_is_previewed_then_applied_at_the_period_end_without_proration() -> None:
    engine, clock, sub_id = engine_with_a_subscription()
    v2 = SEATS_V1.model_copy(update={"version": 2, "prices": {"USD": PerUnit(unit_amount="13")}})
    engine.set_catalog(engine.catalog.publish(v2))
    # new versions do not touch existing subscriptions by themselves
    assert engine.get_subscription(sub_id).items[0].plan_version == 1

    [preview] = engine.migrate_subscriptions("seats", dry_run=True)
    assert (preview.subscription_id, preview.from_version, preview.to_version) == (sub_id, 1, 2)
    assert preview.effective_at == FEB
    assert (preview.amount_before, preview.amount_after) == (money("132.00", "USD"), money("143.00", "USD"))
    assert engine.scheduled_changes(sub_id) == ()  # the preview wrote nothing

    assert engine.migrate_subscriptions("seats") == [preview]
    assert engine.migrate_subscriptions("seats") == [preview]  # again: still one pending change
    assert len(engine.scheduled_changes(sub_id)) == 1
    clock.travel_to(FEB)
    engine.advance()
    sub = engine.get_subscription(sub_id)
    assert sub.items[0].plan_version == 2
    # January at 11 x 12 = 132.00; February at 11 x 13 = 143.00; no proration line
    invoices = engine.invoices(subscription_id=sub_id)
    assert [i.total_minor for i in invoices] == [13200, 14300]
    assert engine.migrate_subscriptions("seats", dry_run=True) == []


def test_migration_now_prorates_like_a_plan_change() -> None:
    engine, clock, sub_id = engine_with_a_subscription(seats=1)
    v2 = SEATS_V1.model_copy(update={"version": 2, "prices": {"USD": PerUnit(unit_amount="43")}})
    engine.set_catalog(engine.catalog.publish(v2))
    clock.travel_to(datetime(2027, 1, 16, 12, tzinfo=UTC))  # half of January's 31 days used
    [move] = engine.migrate_subscriptions("seats", when="now")
    assert move.effective_at == datetime(2027, 1, 16, 12, tzinfo=UTC)
    assert engine.get_subscription(sub_id).items[0].plan_version == 2
    clock.travel_to(FEB)
    engine.advance()
    feb = engine.invoices(subscription_id=sub_id)[-1]
    # 15.5 of 31 days left: credit -12 x 15.5/31 = -6.00, charge 43 x 15.5/31 = 21.50, then February 43.00
    assert sorted(ln.amount_minor for ln in feb.lines) == [-600, 2150, 4300]


def test_migration_refuses_unknown_plans_and_bad_timing() -> None:
    engine, _, _ = engine_with_a_subscription()
    with pytest.raises(NotFoundError):
        engine.migrate_subscriptions("nope")
    with pytest.raises(ValidationError):
        engine.migrate_subscriptions("seats", when="tomorrow")  # type: ignore[arg-type]
