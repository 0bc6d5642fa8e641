"""Issue 10, idempotency (Stripe's rule): same key and parameters replay; other parameters: an error."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from subkit.errors import DuplicateError, IdempotencyError
from subkit.invoice.invoice import CreditNote, InvoiceItem
from subkit.testing.gateway import FakeGateway

from ..scenarios.conftest import World
from ..scenarios.test_dunning import transfer_world


@pytest.fixture
def w() -> World:
    return World(datetime(2027, 1, 1, tzinfo=UTC))


def _count(w: World, kind: type) -> int:
    with w.store.begin() as uow:
        return len(uow.find(kind))


def test_add_invoice_item_retried_with_its_key_creates_one_item(w: World) -> None:
    cus = w.engine.create_customer(name="A", currency="USD").id
    first = w.engine.add_invoice_item(cus, "Setup", "25", idempotency_key="req-1")
    again = w.engine.add_invoice_item(cus, "Setup", "25", idempotency_key="req-1")
    assert again == first and _count(w, InvoiceItem) == 1
    with pytest.raises(IdempotencyError) as e:
        w.engine.add_invoice_item(cus, "Setup", "30", idempotency_key="req-1")
    assert e.value.code == "idempotency_key_reused" and isinstance(e.value, DuplicateError)
    assert _count(w, InvoiceItem) == 1
    w.engine.add_invoice_item(cus, "Setup", "30", idempotency_key="req-2")  # a new key: a new item
    assert _count(w, InvoiceItem) == 2


def test_invoice_now_retried_with_its_key_returns_the_same_invoice(w: World) -> None:
    cus = w.engine.create_customer(name="A", currency="USD").id
    w.engine.add_invoice_item(cus, "Setup", "25")
    first = w.engine.invoice_now(cus, idempotency_key="inv-1")
    assert first is not None and first.total_minor == 2500
    w.engine.add_invoice_item(cus, "Extra", "5")  # added after the first call: not swept by a retry
    assert w.engine.invoice_now(cus, idempotency_key="inv-1") == first
    assert len(w.engine.invoices(cus)) == 1
    other = w.engine.create_customer(name="B", currency="USD").id
    with pytest.raises(IdempotencyError):
        w.engine.invoice_now(other, idempotency_key="inv-1")


def test_credit_note_id_reused_with_another_amount_or_reason_is_an_error(w: World) -> None:
    cus = w.engine.create_customer(name="A", currency="USD").id
    w.engine.add_invoice_item(cus, "Setup", "25")
    inv = w.engine.invoice_now(cus)
    assert inv is not None
    note = w.engine.issue_credit_note(inv.id, "5", reason="goodwill", id="cn-1")
    assert w.engine.issue_credit_note(inv.id, "5", reason="goodwill", id="cn-1") == note
    with pytest.raises(IdempotencyError):
        w.engine.issue_credit_note(inv.id, "6", reason="goodwill", id="cn-1")
    with pytest.raises(IdempotencyError):
        w.engine.issue_credit_note(inv.id, "5", reason="other", id="cn-1")
    assert _count(w, CreditNote) == 1
    assert w.engine.get_invoice(inv.id).amount_credited_minor == 500


def test_bank_transfer_id_reused_with_another_amount_is_an_error() -> None:
    world, _, inv = transfer_world()
    assert inv.number is not None
    world.collector.pay_by_bank_transfer(reference=inv.number, amount_minor=2000, transfer_id="stmt-1")
    # the same statement line again: ignored, as before
    assert (
        world.collector.pay_by_bank_transfer(reference=inv.number, amount_minor=2000, transfer_id="stmt-1")
        == []
    )
    with pytest.raises(IdempotencyError):
        world.collector.pay_by_bank_transfer(reference=inv.number, amount_minor=2500, transfer_id="stmt-1")
    assert world.engine.get_invoice(inv.id).amount_paid_minor == 2000


def test_fake_gateway_refuses_a_key_reused_with_other_metadata() -> None:
    gw = FakeGateway()
    first = gw.charge(1000, "USD", "tok_visa", "k1", {"invoice_id": "in_1"})
    assert gw.charge(1000, "USD", "tok_visa", "k1", {"invoice_id": "in_1"}) == first
    with pytest.raises(DuplicateError):
        gw.charge(1000, "USD", "tok_visa", "k1", {"invoice_id": "in_2"})
    assert len(gw.charges) == 1
