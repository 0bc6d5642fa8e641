"""The shortcuts the billing hot path and the stores take give the answers the long way gives.

- A store's one-pass read (``read_entity``) equals ``model_validate_json`` and refuses what it refuses.
- A value serializes as a dict of its fields: the same JSON as through its schema model.
- The memory store checks a shared field tuple once, and still refuses a bad one.
- The default id generator reads the random source in bulk: ids stay unique, also across a fork.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError as PydanticValidationError

from subkit.adapters.storage.memory import InMemoryStore
from subkit.adapters.storage.rules import read_entity
from subkit.core.events import Event, EventType
from subkit.customer.customer import Customer
from subkit.errors import SensitiveDataError, SubkitError, ValidationError
from subkit.invoice.invoice import Invoice, InvoiceLine, LineKind
from subkit.payment.methods import PaymentMethod
from subkit.services.context import uuid_ids
from subkit.services.engine import BillingEngine
from subkit.subscription.model import Subscription

from .test_hot_path_models import _billed_world

T0 = datetime(2027, 1, 31, tzinfo=UTC)


@pytest.fixture(scope="module")
def world() -> BillingEngine:
    return _billed_world()


def test_a_one_pass_read_equals_full_validation_for_every_kind(world: BillingEngine) -> None:
    assert isinstance(world.store, InMemoryStore)
    entities = world.store.snapshot().entities
    assert {Customer, Subscription, Invoice} <= {type(e) for e in entities}
    for ent in entities:
        body = ent.model_dump_json()
        slow = type(ent).model_validate_json(body)
        fast = read_entity(type(ent), body)
        assert type(fast) is type(ent) and fast == slow == ent
        assert fast.__pydantic_fields_set__ == slow.__pydantic_fields_set__
        with pytest.raises(PydanticValidationError, match="frozen"):  # still frozen
            fast.id = "other"


def test_a_one_pass_read_refuses_what_full_validation_refuses() -> None:
    good = json.loads(Customer(id="cus_1", name="Ada", currency="EUR").model_dump_json())
    for bad, code, field in [
        ({**good, "currency": "EURO"}, "unknown_currency", "currency"),
        ({**good, "version": "two"}, "invalid", "version"),
        ({**good, "surprise": 1}, "invalid", "surprise"),  # extra fields are forbidden
    ]:
        with pytest.raises(SubkitError) as fast:
            read_entity(Customer, json.dumps(bad))
        with pytest.raises(SubkitError) as slow:
            Customer.model_validate_json(json.dumps(bad))
        assert (fast.value.code, fast.value.field) == (slow.value.code, slow.value.field) == (code, field)
    # A nested model's own rule still runs: a naive period start is refused.
    inv = Invoice.draft("in_1", "cus_1", "USD", [], at=T0).issue("INV-000001", T0)
    body = json.loads(inv.model_dump_json())
    body["period_start"] = "2027-01-01T00:00:00"
    with pytest.raises(SubkitError):
        read_entity(Invoice, json.dumps(body))


def test_a_one_pass_read_keeps_the_card_data_guard() -> None:
    pm = PaymentMethod(
        id="pm_1",
        customer_id="cus_1",
        created_at=T0,
        details={"type": "bank_transfer", "reference": "ACME-7781"},
    )
    body = json.loads(pm.model_dump_json())
    body["metadata"] = {"note": "4242 4242 4242 4242"}  # a test card number (Stripe's documented one)
    with pytest.raises(SensitiveDataError):
        read_entity(PaymentMethod, json.dumps(body))


def test_values_serialize_as_their_schema_model_would() -> None:
    line = InvoiceLine.build(
        "Seats × 3", LineKind.RECURRING, quantity=3, unit_amount="12.49", currency="USD", plan_id="seats"
    )
    assert line.amount_minor == 3747  # 3 x 12.49 = 37.47
    event = Event.of(EventType.INVOICE_FINALIZED, T0, "in_1", customer_id="cus_1", number="INV-1", total=3747)
    for value in (line, event):
        via_model = value._to_schema()
        assert value.model_dump_json() == via_model.model_dump_json()
        assert value.model_dump() == via_model.model_dump()
    inv = Invoice.draft("in_1", "cus_1", "USD", [line], at=T0)
    data = json.loads(inv.model_dump_json())
    assert data["lines"][0]["amount_minor"] == 3747 and data["lines"][0]["quantity"] == "3"
    assert data["lines"][0]["kind"] == "recurring" and data["total_minor"] == 3747


def test_the_shared_field_tuple_is_checked_once_and_still_refused_when_bad() -> None:
    store = InMemoryStore()
    with store.begin() as uow:
        uow.add(Customer(id="cus_1", name="Ada", currency="USD", metadata={"crm": "7"}))
        uow.add(Customer(id="cus_2", name="Bo", currency="USD", metadata={"crm": "7"}))  # same tuple
    bad = Customer(id="cus_3", name="Cy", currency="USD", metadata={"crm": "\ud800"})  # a lone surrogate
    with pytest.raises(ValidationError), store.begin() as uow:
        uow.add(bad)
    with store.begin() as uow:
        assert [c.id for c in uow.find(Customer)] == ["cus_1", "cus_2"]  # nothing half-written


def test_ids_are_unique_and_well_formed() -> None:
    ids = [uuid_ids("in") for _ in range(5000)]  # several reads of the random source
    assert len(set(ids)) == 5000
    assert all(len(i) == 27 and i[:3] == "in_" and int(i[3:], 16) >= 0 for i in ids)


@pytest.mark.skipif(sys.platform == "win32", reason="os.fork is POSIX only")
def test_a_forked_child_never_repeats_its_parents_ids() -> None:
    uuid_ids("in")  # the parent holds unread random digits now
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: send its next ids, leave at once
        os.close(read)
        os.write(write, ",".join(uuid_ids("in") for _ in range(10)).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as f:
        child = set(f.read().split(","))
    os.waitpid(pid, 0)
    parent = {uuid_ids("in") for _ in range(10)}
    assert len(child) == 10 and not child & parent
