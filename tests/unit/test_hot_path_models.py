"""Objects built on hot paths without validation (``Model.fast``) must equal validated ones."""

from datetime import UTC, datetime

from subkit.invoice.invoice import Invoice, InvoiceItem
from subkit.services.engine import BillingEngine
from subkit.subscription.model import Subscription
from subkit.testing import InMemoryStore, TestClock

from ..scenarios.conftest import catalog


def test_fast_built_entities_survive_a_validating_round_trip() -> None:
    clock = TestClock(datetime(2027, 1, 31, tzinfo=UTC))
    engine = BillingEngine(InMemoryStore(), clock)
    engine.set_catalog(catalog())
    cus = engine.create_customer(name="A", currency="USD")
    sub = engine.subscribe(cus.id, "seats", 3)
    engine.change_quantity(sub.id, 5, at=datetime(2027, 2, 10, tzinfo=UTC))  # pending proration items
    clock.travel_to(datetime(2027, 4, 1, tzinfo=UTC))
    engine.advance()
    with engine.store.begin() as uow:
        objs = [*uow.find(Invoice), *uow.find(Subscription), *uow.find(InvoiceItem)]
    assert len(objs) >= 6
    for obj in objs:
        again = type(obj).model_validate_json(obj.model_dump_json())
        assert again == obj
        assert set(obj.__dict__) == set(type(obj).model_fields)
    for ev in engine.store.pending_events():
        assert type(ev).model_validate_json(ev.model_dump_json()) == ev


def test_the_shared_fields_set_is_never_mutated() -> None:
    from subkit.core.model import _all_fields
    from subkit.invoice.invoice import InvoiceLine, LineKind

    line = InvoiceLine.build("x", LineKind.ONE_OFF, currency="USD", unit_amount="1")
    before = set(_all_fields(InvoiceLine))
    copy = line.model_copy(update={"discount_minor": 5})
    assert copy.discount_minor == 5 and line.discount_minor == 0
    assert _all_fields(InvoiceLine) == before == set(InvoiceLine.model_fields)
