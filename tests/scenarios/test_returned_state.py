"""Every operation returns the state it committed, including what a payment hook changed after commit.

Issue 15: ``subscribe()`` returned ``active`` while the store held ``incomplete`` after the first
payment was declined by the collector attached to ``invoice.finalized``.
"""

from __future__ import annotations

from subkit import InvoiceStatus, SubscriptionStatus
from subkit.testing.gateway import decline

from .test_dunning import World, make_world


def test_subscribe_returns_incomplete_when_the_first_payment_is_declined() -> None:
    world: World = make_world()
    cus = world.customer()
    world.gateway.script(decline("insufficient_funds"), token="tok_ada")
    sub = world.engine.subscribe(cus, "pro", id="sub_1")
    assert sub.status == SubscriptionStatus.INCOMPLETE
    assert sub == world.engine.get_subscription("sub_1")


def test_subscribe_returns_active_when_the_first_payment_succeeds() -> None:
    world = make_world()
    sub = world.engine.subscribe(world.customer(), "pro", id="sub_1")
    assert sub.status == SubscriptionStatus.ACTIVE
    assert sub == world.engine.get_subscription("sub_1")


def test_invoice_now_returns_the_invoice_as_paid_by_the_hook() -> None:
    world = make_world()
    cus = world.customer()
    world.engine.add_invoice_item(cus, "Setup", "50")
    inv = world.engine.invoice_now(cus)
    assert inv is not None
    assert inv.status == InvoiceStatus.PAID
    assert inv == world.engine.get_invoice(inv.id)
