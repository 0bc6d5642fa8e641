"""What the billing loop builds without validation must read back valid.

The hot path builds entities with ``core.model.trusted_construct`` / ``trusted_copy`` (behind
``Model.fast``, ``Entity.bumped``, ``Invoice.draft``, ``Invoice.issue``, the memory store's
rows) and slotted values with ``Value.trusted``. Every kind of entity and value a billing
run writes goes here through full validation (``model_validate(model_dump())`` and the
JSON path the SQL store uses) and must come back equal; and nothing outside
``core/model.py`` writes through a model's ``__dict__``.
"""

from __future__ import annotations

import copy
import gc
import pickle
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from subkit.adapters.storage.memory import InMemoryStore
from subkit.adapters.storage.memory_rows import RowCodec, plain, unplain
from subkit.core.events import Event, EventType
from subkit.core.model import Entity, Model, trusted_construct, trusted_copy
from subkit.core.periods import Period
from subkit.core.value import Value
from subkit.customer.customer import Customer
from subkit.errors import InvalidPeriodError, NaiveDatetimeError, ValidationError
from subkit.invoice.discounts import AppliedDiscount, Coupon
from subkit.invoice.invoice import Invoice, InvoiceItem, InvoiceLine, LineKind
from subkit.services.engine import BillingEngine
from subkit.subscription.model import ChargeSegment, ScheduledChange, Subscription, SubscriptionItem
from subkit.testing import TestClock

from ..scenarios.conftest import catalog

SRC = Path(__file__).resolve().parents[2] / "src" / "subkit"
T0 = datetime(2027, 1, 31, tzinfo=UTC)


def _billed_world() -> BillingEngine:
    """A year of billing that writes every kind of entity and value the billing loop makes."""
    clock = TestClock(T0)
    engine = BillingEngine(InMemoryStore(), clock)
    engine.set_catalog(catalog())
    engine.add_coupon(Coupon(id="FIVE", amount_off={"USD": "5"}, duration="forever"))
    engine.add_coupon(Coupon(id="TEN", percent_off="10", duration="repeating", duration_cycles=3))
    a = engine.create_customer(name="A", currency="USD", metadata={"crm": "1"})
    b = engine.create_customer(name="B", currency="USD", timezone="Europe/Paris")
    seats = engine.subscribe(a.id, "seats", 3, coupon="FIVE")
    engine.change_quantity(seats.id, 5, at=datetime(2027, 2, 10, tzinfo=UTC))  # pending proration items
    engine.subscribe(b.id, "basic", coupon="TEN")
    late = engine.subscribe(b.id, "seats", 2)
    engine.change_plan(late.id, "basic", when="period_end")  # a scheduled change
    clock.travel_to(datetime(2027, 6, 1, tzinfo=UTC))
    engine.advance()
    engine.change_plan(seats.id, "basic", when="period_end")  # pending at the end: a ScheduledChange
    return engine


@pytest.fixture(scope="module")
def world() -> BillingEngine:
    return _billed_world()


def _entities(engine: BillingEngine) -> list[Entity]:
    assert isinstance(engine.store, InMemoryStore)
    return engine.store.snapshot().entities


def test_every_stored_entity_reads_back_valid_and_equal(world: BillingEngine) -> None:
    found = _entities(world)
    kinds = {type(e) for e in found}
    assert {Customer, Subscription, Invoice, InvoiceItem, Coupon} <= kinds
    for ent in found:
        assert type(ent).model_validate(ent.model_dump()) == ent
        assert type(ent).model_validate_json(ent.model_dump_json()) == ent  # the SQL store's path
        assert set(vars(ent)) == set(type(ent).model_fields)


def test_every_value_the_loop_makes_is_present_and_reads_back(world: BillingEngine) -> None:
    values: dict[type, list[Value]] = {}
    for ent in _entities(world):
        for v in vars(ent).values():
            for item in v if isinstance(v, tuple) else (v,):
                if isinstance(item, Value):
                    values.setdefault(type(item), []).append(item)
        if isinstance(ent, InvoiceItem):
            values.setdefault(InvoiceLine, []).append(ent.line)
    values[Event] = list(world.store.pending_events(10_000))
    assert {InvoiceLine, ChargeSegment, SubscriptionItem, AppliedDiscount, ScheduledChange, Event} <= set(
        values
    )
    for cls, items in values.items():
        for v in items:
            assert cls.model_validate(v.model_dump()) == v
            assert cls.model_validate_json(v.model_dump_json()) == v
            assert unplain(cls, plain(v)) == v


def test_pending_events_read_back_valid(world: BillingEngine) -> None:
    events = world.store.pending_events(10_000)
    assert len(events) > 10
    for ev in events:
        assert Event.model_validate_json(ev.model_dump_json()) == ev
        assert isinstance(ev.type, EventType) and isinstance(ev.data, dict)


def test_stored_rows_round_trip_and_leave_the_collector_alone(world: BillingEngine) -> None:
    store = world.store
    assert isinstance(store, InMemoryStore)
    for ent in _entities(world):
        codec = RowCodec(type(ent))
        row = codec.row(ent, 7)
        assert codec.entity(row) == ent and row[-1] == 7
    for _ in range(5):  # a tuple is untracked once its items are: nested ones take a pass each
        gc.collect()
    for kind in ("customer", "subscription", "invoice", "invoice_item"):
        shelf = store._rows[kind]
        assert not gc.is_tracked(shelf.cold)
        assert not any(gc.is_tracked(r) for r in shelf.values())  # plain tuples of atomic items
    assert not gc.is_tracked(store._claims)


def test_trusted_copies_equal_validated_ones() -> None:
    c = Customer(id="cus_1", name="Ada", currency="EUR")
    bumped = c.bumped(credit_minor=500)
    assert bumped == Customer(**{**c.model_dump(), "credit_minor": 500, "version": 2})
    assert trusted_copy(c, {"name": "Bo"}) == c.model_copy(update={"name": "Bo"})
    built = trusted_construct(Customer, dict(vars(c)))
    assert built == c and Customer.model_validate(built.model_dump()) == c


def test_a_never_stored_draft_is_issued_at_version_1() -> None:
    line = InvoiceLine.build("Pro", LineKind.RECURRING, unit_amount="20", currency="USD")
    draft = Invoice.draft("in_1", "cus_1", "USD", [line], at=T0)
    issued = draft.issue("INV-000001", T0)
    assert (issued.version, issued.number, draft.finalize("INV-000001", T0).version) == (1, "INV-000001", 2)
    assert Invoice.model_validate_json(issued.model_dump_json()) == issued


def test_nothing_writes_through_a_models_dict_outside_core_model() -> None:
    # services/engine.py sets a version through __dict__ until its _issue calls Invoice.issue.
    allowed = {SRC / "core" / "model.py", SRC / "services" / "engine.py"}
    offenders = [
        f"{p.relative_to(SRC)}:{n}"
        for p in SRC.rglob("*.py")
        if p not in allowed
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if re.search(r"__dict__\[", line)
    ]
    assert offenders == []


# --------------------------------------------------------------------------- values
def test_values_validate_at_the_edge_and_not_in_loops() -> None:
    with pytest.raises(InvalidPeriodError, match="must be after start"):
        Period(start=T0, end=T0)
    with pytest.raises(NaiveDatetimeError):
        Period(start=datetime(2027, 1, 1), end=T0)
    with pytest.raises(ValidationError, match="amount_minor"):
        InvoiceLine(description="x", kind=LineKind.ONE_OFF)
    assert Period.trusted(T0, T0) == Period.trusted(T0, T0)  # trusted: checked by its caller


def test_values_are_strict_immutable_tuples() -> None:
    seg = ChargeSegment(item_id="si", plan_id="p", start=T0, end=T0.replace(day=28), net_minor=100)
    same = ChargeSegment.trusted("si", "p", T0, T0.replace(day=28), 100, 0, None)
    assert seg == same and hash(seg) == hash(same)
    assert seg != tuple(same) and tuple(same) != seg  # a value never equals a bare tuple
    assert seg != Period.trusted(T0, T0)
    with pytest.raises(AttributeError):
        seg.net_minor = 5  # type: ignore[misc]
    d = AppliedDiscount(coupon_id="C", start_cycle=0, spent={1: 5})
    d.spent[2] = 7  # a dict field reads as a new dict: the value cannot change
    assert d.spent == {1: 5} and d.with_spent({1: 6}).spent == {1: 6}
    assert pickle.loads(pickle.dumps(d)) == d and copy.deepcopy(d) is d
    assert repr(d) == "AppliedDiscount(coupon_id='C', start_cycle=0, spent={1: 5})"
    line = InvoiceLine.build("Seats", LineKind.RECURRING, quantity=3, unit_amount="12.50", currency="EUR")
    assert line.kind is LineKind.RECURRING and line.with_discount(50).net_minor == 3700
    assert line.model_copy(update={"discount_minor": 5}).discount_minor == 5 and line.discount_minor == 0


def test_values_nest_in_entities_with_the_json_they_always_had() -> None:
    line = InvoiceLine.build("Pro", LineKind.RECURRING, quantity=2, unit_amount="9.995", currency="USD")
    inv = Invoice.draft("in_1", "cus_1", "USD", [line], at=T0)
    data: dict[str, Any] = inv.model_dump(mode="json")
    assert data["lines"][0] == {
        "description": "Pro",
        "kind": "recurring",
        "plan_id": None,
        "item_id": None,
        "period_start": None,
        "period_end": None,
        "cycle": None,
        "quantity": "2",
        "unit_amount": "9.995",
        "amount_minor": 1999,
        "discount_minor": 0,
        "tax_minor": 0,
        "tax_rate": None,
        "tax_code": None,
    }
    again = Invoice.model_validate(data)
    assert again == inv and isinstance(again.lines[0], InvoiceLine)
    with pytest.raises(ValidationError, match=r"lines\.0\.amount_minor"):
        Invoice.model_validate({**data, "lines": [{**data["lines"][0], "amount_minor": "lots"}]})


def test_model_fast_is_a_trusted_construct() -> None:
    class Pair(Model):
        a: int
        b: str

    assert Pair.fast(a=1, b="x") == Pair(a=1, b="x")
    assert Decimal(1) == InvoiceLine.model_fields["quantity"].default
