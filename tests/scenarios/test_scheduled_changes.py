"""Scheduled changes can be listed and released; scheduling twice does not stack (issue 15)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from subkit.core.events import EventType
from subkit.errors import ValidationError

from .conftest import World


def test_a_downgrade_at_period_end_is_listed_and_can_be_released(world: World) -> None:
    cus = world.engine.create_customer(name="Ada", currency="USD")
    sub = world.engine.subscribe(cus.id, "seats", 3)
    world.engine.change_plan(sub.id, "basic", when="period_end")
    [pending] = world.engine.scheduled_changes(sub.id)
    assert (pending.at, pending.plan_id) == (datetime(2027, 2, 1, tzinfo=UTC), "basic")

    released = world.engine.release_schedule(sub.id)
    assert released.schedule == ()
    assert world.engine.scheduled_changes(sub.id) == ()
    # the period end now renews on seats x 3, not basic
    world.go(datetime(2027, 2, 1, tzinfo=UTC))
    assert world.engine.get_subscription(sub.id).items[0].plan_id == "seats"


def test_the_same_change_scheduled_twice_is_kept_once_and_the_last_call_wins(world: World) -> None:
    cus = world.engine.create_customer(name="Ada", currency="USD")
    sub = world.engine.subscribe(cus.id, "seats", 5)
    world.engine.change_quantity(sub.id, 2, when="period_end")
    world.engine.change_quantity(sub.id, 2, when="period_end")
    world.engine.change_quantity(sub.id, 3, when="period_end")
    [pending] = world.engine.scheduled_changes(sub.id)
    assert pending.quantity == 3
    world.go(datetime(2027, 2, 1, tzinfo=UTC))
    assert world.engine.get_subscription(sub.id).items[0].quantity == 3


def test_release_by_instant_keeps_the_others_and_publishes_one_event(world: World) -> None:
    cus = world.engine.create_customer(name="Ada", currency="USD")
    sub = world.engine.subscribe(cus.id, "seats", 5)
    feb, mar = datetime(2027, 2, 1, tzinfo=UTC), datetime(2027, 1, 20, tzinfo=UTC)
    world.engine.change_quantity(sub.id, 2, when=feb)
    world.engine.change_quantity(sub.id, 4, when=mar)
    world.engine.release_schedule(sub.id, effective_at=feb)
    assert [c.at for c in world.engine.scheduled_changes(sub.id)] == [mar]
    released = [
        e for e in world.store.pending_events(1000) if e.type == EventType.SUBSCRIPTION_SCHEDULE_RELEASED
    ]
    assert [(e.subject_id, e.data["released"]) for e in released] == [(sub.id, 1)]


def test_releasing_nothing_changes_nothing_and_unknown_items_are_refused(world: World) -> None:
    cus = world.engine.create_customer(name="Ada", currency="USD")
    sub = world.engine.subscribe(cus.id, "basic")
    assert world.engine.release_schedule(sub.id).version == world.engine.get_subscription(sub.id).version
    with pytest.raises(ValidationError):
        world.engine.release_schedule(sub.id, item_id="nope")
