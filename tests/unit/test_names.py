"""Issue 15, "One vocabulary": Stripe's names, the old ones kept as deprecated aliases for one release."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime

import pytest

from subkit.errors import ValidationError
from subkit.services.portal import CustomerPortal
from subkit.subscription.proration import ProrationBehavior

from ..scenarios.conftest import World

ALWAYS = ProrationBehavior.ALWAYS_INVOICE


@pytest.fixture
def w() -> World:
    return World(datetime(2027, 1, 1, tzinfo=UTC))


def test_the_old_proration_keyword_still_works_and_warns_naming_the_new_one(w: World) -> None:
    cus = w.engine.create_customer(name="A", currency="USD")
    sub = w.engine.subscribe(cus.id, "basic")  # $10 for Jan 1 - Feb 1 (31 days)
    w.clock.travel_to(w.at(2027, 1, 16))
    with pytest.warns(DeprecationWarning, match=r"proration= is deprecated, use proration_behavior=") as rec:
        preview = w.engine.preview_change(sub.id, "pro", proration=ALWAYS)
    assert rec[0].filename == __file__  # the warning points at the caller's line
    # 16 of 31 days left: $10 * 16/31 = 5.16 credited, $20 * 16/31 = 10.32 charged, invoiced at once
    assert not preview.pending and [ln.amount_minor for ln in preview] == [-516, 1032]
    with pytest.warns(DeprecationWarning, match="proration_behavior="):
        w.engine.change_plan(sub.id, "pro", proration=ALWAYS)
    assert w.engine.invoices(subscription_id=sub.id)[-1].total_minor == 1032 - 516


def test_change_quantity_and_the_portal_accept_the_old_keyword_with_a_warning(w: World) -> None:
    cus = w.engine.create_customer(name="A", currency="USD")
    sub = w.engine.subscribe(cus.id, "seats", 10)  # 10 x $8 = $80 for January
    w.clock.travel_to(w.at(2027, 1, 16))
    with pytest.warns(DeprecationWarning, match="proration_behavior="):
        w.engine.change_quantity(sub.id, 5, proration=ALWAYS)
    # credit 80 * 16/31 = 41.29, charge 40 * 16/31 = 20.65, invoiced at once
    assert [ln.amount_minor for ln in w.engine.invoices(subscription_id=sub.id)[-1].lines] == [-4129, 2065]
    with pytest.warns(DeprecationWarning, match="proration_behavior="):
        portal = CustomerPortal(w.engine, cus.id, proration=ProrationBehavior.NONE)
    assert portal.proration_behavior == ProrationBehavior.NONE


def test_the_new_name_does_not_warn_and_both_names_at_once_are_refused(w: World) -> None:
    cus = w.engine.create_customer(name="A", currency="USD")
    sub = w.engine.subscribe(cus.id, "basic")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w.engine.preview_change(sub.id, "pro", proration_behavior=ALWAYS)
        assert CustomerPortal(w.engine, cus.id).proration_behavior == ALWAYS  # the default
    with pytest.raises(ValidationError, match="pass proration_behavior= only") as exc:
        w.engine.change_plan(sub.id, "pro", proration=ALWAYS, proration_behavior=ALWAYS)
    assert exc.value.field == "proration"
    assert w.engine.get_subscription(sub.id).items[0].plan_id == "basic"  # nothing written
