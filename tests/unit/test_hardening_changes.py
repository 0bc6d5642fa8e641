"""Issue 10: a scheduled change keeps its proration; previews use the action's defaults and carry totals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from subkit.invoice.invoice import BillingReason, InvoiceItem
from subkit.services.preview import Preview
from subkit.subscription.proration import ProrationBehavior

from ..scenarios.conftest import World


@pytest.fixture
def w() -> World:
    return World(datetime(2027, 1, 1, tzinfo=UTC))


def test_a_change_at_a_date_with_always_invoice_is_invoiced_at_that_instant(w: World) -> None:
    cus = w.engine.create_customer(name="A", currency="USD")
    sub = w.engine.subscribe(cus.id, "basic")  # $10 for Jan 1 - Feb 1 (31 days)
    w.clock.travel_to(w.at(2027, 1, 10))
    w.engine.change_plan(
        sub.id, "pro", when=w.at(2027, 1, 16), proration_behavior=ProrationBehavior.ALWAYS_INVOICE
    )
    w.go(w.at(2027, 1, 16))
    inv = w.engine.invoices(subscription_id=sub.id)[-1]
    # 16 of 31 days left: $10 * 16/31 = 5.16 credited, $20 * 16/31 = 10.32 charged, invoiced on Jan 16
    assert inv.billing_reason == BillingReason.SUBSCRIPTION_UPDATE and inv.created_at == w.at(2027, 1, 16)
    assert [ln.amount_minor for ln in inv.lines] == [-516, 1032]
    with w.store.begin() as uow:
        assert uow.find(InvoiceItem, status="pending") == []  # nothing left for the renewal


def test_a_seat_decrease_preview_shows_what_change_quantity_does(w: World) -> None:
    cus = w.engine.create_customer(name="A", currency="USD")
    sub = w.engine.subscribe(cus.id, "seats", 10)  # 10 x $8 = $80 for January
    w.clock.travel_to(w.at(2027, 1, 16))
    preview = w.engine.preview_change(sub.id, quantity=5)
    # change_quantity's default is "now": credit 80 * 16/31 = 41.29, charge 40 * 16/31 = 20.65
    assert [ln.amount_minor for ln in preview] == [-4129, 2065]
    assert isinstance(preview, Preview) and preview.pending  # create_prorations: next invoice
    assert (preview.currency, preview.subtotal_minor, preview.total_minor) == ("USD", -2064, -2064)
    w.engine.change_quantity(sub.id, 5)
    with w.store.begin() as uow:
        pending = [i.line.amount_minor for i in uow.find(InvoiceItem, status="pending")]
    assert sorted(pending) == [-4129, 2065]


def test_an_always_invoice_preview_is_the_draft_invoice_with_totals(w: World) -> None:
    cus = w.engine.create_customer(name="A", currency="USD")
    sub = w.engine.subscribe(cus.id, "basic")
    w.clock.travel_to(w.at(2027, 1, 16))
    preview = w.engine.preview_change(sub.id, "pro", proration_behavior=ProrationBehavior.ALWAYS_INVOICE)
    assert not preview.pending and preview.invoice is not None and preview.invoice.number is None
    assert (preview.total_minor, preview.amount_due_minor) == (1032 - 516, 516)
    w.engine.change_plan(sub.id, "pro", proration_behavior=ProrationBehavior.ALWAYS_INVOICE)
    assert w.engine.invoices(subscription_id=sub.id)[-1].total_minor == preview.total_minor
