"""Issue 10, exactly once: what no due_at points to is still collected, made past due, or expired."""

from __future__ import annotations

import itertools
from datetime import timedelta

from subkit.core.events import EventType
from subkit.invoice.invoice import InvoiceStatus
from subkit.payment.attempts import AttemptStatus
from subkit.payment.dunning import DunningPolicy
from subkit.services.collector import PaymentCollector
from subkit.subscription.model import SubscriptionStatus
from subkit.testing.gateway import decline

from .test_dunning import PRO, T0, World, make_world

D = timedelta(days=1)


def _stripe_world(policy: DunningPolicy | None = None) -> World:
    """make_world, with the default policy's 23-hour expiry of incomplete subscriptions kept."""
    world = make_world(attach=False)
    collector = PaymentCollector(
        world.engine, world.gateway, policy=policy or DunningPolicy(), sleep=world.slept.append
    ).attach()
    return World(world.clock, world.engine, world.store, world.gateway, collector, world.slept)


def test_an_invoice_finalized_before_a_crash_is_charged_by_the_next_run_once() -> None:
    # No collector attached when the invoice is finalized: as if the process died between the
    # finalization's commit and the payment hook.
    world = make_world(attach=False)
    world.customer()
    sub = world.engine.subscribe("cus_ada", "pro", id="sub_1")
    inv = world.invoice(sub.id)
    assert world.attempts(inv.id) == [] and world.engine.get_invoice(inv.id).due_at is None
    world.collector.attach()
    world.clock.travel_to(T0 + timedelta(hours=1))
    report = world.collector.retry_due()
    assert report.succeeded == 1
    assert world.engine.get_invoice(inv.id).status == InvoiceStatus.PAID
    assert [a.status for a in world.attempts(inv.id)] == [AttemptStatus.SUCCEEDED]
    world.collector.retry_due()  # and never twice
    assert len(world.gateway.charges) == 1 and world.gateway.charges[0].amount_minor == PRO


def test_send_invoice_customers_become_past_due_after_the_pay_by_date() -> None:
    world = _stripe_world(DunningPolicy(days_until_due=14))
    world.customer(token=None, collection_method="send_invoice")
    sub = world.engine.subscribe("cus_ada", "pro", id="sub_1")
    world.at(T0 + 13 * D)
    assert world.status(sub.id) == SubscriptionStatus.ACTIVE  # 13 days: still within the 14
    world.at(T0 + 14 * D)
    assert world.status(sub.id) == SubscriptionStatus.PAST_DUE
    [event] = world.events(EventType.SUBSCRIPTION_PAST_DUE)
    assert event.occurred_at == T0 + 14 * D
    inv = world.invoice(sub.id)
    world.collector.pay_by_bank_transfer(inv.id, amount_minor=PRO)
    assert world.status(sub.id) == SubscriptionStatus.ACTIVE  # paid: active again
    assert world.gateway.charges == []  # never charged


def test_an_incomplete_subscription_expires_after_23_hours() -> None:
    world = _stripe_world()
    world.customer()
    world.gateway.script(*itertools.repeat(decline("insufficient_funds"), 3), token="tok_ada")
    sub = world.engine.subscribe("cus_ada", "pro", id="sub_1")
    inv = world.invoice(sub.id)
    assert world.status(sub.id) == SubscriptionStatus.INCOMPLETE
    world.at(T0 + timedelta(hours=22, minutes=59))
    assert world.status(sub.id) == SubscriptionStatus.INCOMPLETE
    world.at(T0 + timedelta(hours=23))
    expired = world.engine.get_subscription(sub.id)
    assert (expired.status, expired.due_at) == (SubscriptionStatus.INCOMPLETE_EXPIRED, None)
    assert world.engine.get_invoice(inv.id).status == InvoiceStatus.VOID
    charges = len(world.gateway.charges)
    world.at(T0 + 40 * D)  # no retry, no renewal, ever
    assert len(world.gateway.charges) == charges and len(world.engine.invoices(subscription_id=sub.id)) == 1
    assert len(world.events(EventType.SUBSCRIPTION_INCOMPLETE_EXPIRED)) == 1


def test_the_expiry_is_configurable() -> None:
    world = _stripe_world(DunningPolicy(incomplete_expires_after=timedelta(hours=2)))
    world.customer()
    world.gateway.script(decline("insufficient_funds"), token="tok_ada")
    sub = world.engine.subscribe("cus_ada", "pro", id="sub_1")
    world.at(T0 + timedelta(hours=2))
    assert world.status(sub.id) == SubscriptionStatus.INCOMPLETE_EXPIRED


def test_a_removed_payment_method_is_never_charged_again() -> None:
    world = make_world()
    world.customer()  # pm_tok_ada, the default
    sub = world.engine.subscribe("cus_ada", "pro", id="sub_1")
    assert len(world.gateway.charges) == 1
    removed = world.collector.remove_payment_method("cus_ada", "pm_tok_ada")
    assert removed.detached_at == T0
    assert world.collector.payment_methods("cus_ada") == []
    assert world.engine.get_customer("cus_ada").default_payment_method_id is None
    assert world.collector.remove_payment_method("cus_ada", "pm_tok_ada") == removed  # idempotent
    [event] = world.events(EventType.PAYMENT_METHOD_DETACHED)
    assert event.data["default_cleared"] is True
    world.at(T0 + 31 * D)  # the renewal is not charged to the removed card
    assert len(world.gateway.charges) == 1
    assert world.engine.invoices(subscription_id=sub.id)[-1].status == InvoiceStatus.OPEN
