"""The audit trail: who, what, when and why for every state change, queryable, append-only,
written in the same transaction as the change (nothing for a rollback or a preview)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from subkit.adapters.storage.sql import SqlStore
from subkit.catalog.catalog import Catalog, Plan, Product
from subkit.catalog.pricing import FlatFee
from subkit.core.audit import SYSTEM, Actor, AuditEntry
from subkit.core.events import Event, EventType
from subkit.errors import StateError, ValidationError
from subkit.ports import Store
from subkit.services.audit import AuditedStore, AuditTrail, acting_as, current_actor
from subkit.services.engine import BillingEngine
from subkit.testing import InMemoryStore, TestClock

T0 = datetime(2027, 1, 1, tzinfo=UTC)
AGENT = Actor(kind="user", id="usr_support_3")
CATALOG = Catalog(
    products=(Product(id="app", name="App"),),
    plans=(
        Plan(id="basic", product_id="app", name="Basic", prices={"USD": FlatFee(flat_amount="10")}),
        Plan(id="pro", product_id="app", name="Pro", prices={"USD": FlatFee(flat_amount="20")}),
    ),
)


def _engine(store: Store | None = None) -> tuple[BillingEngine, TestClock]:
    clock = TestClock(T0)
    engine = BillingEngine(AuditedStore(store or InMemoryStore(), clock), clock)
    engine.set_catalog(CATALOG)
    return engine, clock


def _story(engine: BillingEngine, clock: TestClock) -> str:
    with engine.acting_as(AGENT, reason="sales call 2026-12-30"):
        cus = engine.create_customer(name="Ada", currency="USD", id="cus_ada")
        sub = engine.subscribe(cus.id, "basic", id="sub_ada")
    clock.travel_to(datetime(2027, 1, 16, tzinfo=UTC))
    with engine.acting_as(f"customer:{cus.id}", reason="needs more seats"):
        engine.change_plan(sub.id, "pro")
    clock.travel_to(datetime(2027, 2, 1, tzinfo=UTC))
    engine.advance()  # the renewal: no actor given
    return sub.id


def test_who_what_when_why_per_customer_and_per_object() -> None:
    engine, clock = _engine()
    sub_id = _story(engine, clock)
    trail = AuditTrail(engine.store)
    entries = trail.for_customer("cus_ada")
    assert all(AuditEntry.model_validate(e.model_dump()) == e for e in entries)  # built unchecked, valid
    got = [(e.action, e.actor.label, e.reason, e.at.date().isoformat()) for e in entries]
    agent, customer, system = "user:usr_support_3", "customer:cus_ada", "system:subkit"
    sales, seats = "sales call 2026-12-30", "needs more seats"
    assert got == [
        ("customer.created", agent, sales, "2027-01-01"),
        ("invoice.finalized", agent, sales, "2027-01-01"),
        ("subscription.created", agent, sales, "2027-01-01"),
        # the prorations wait for the renewal as pending one-off items: audited from the write
        ("invoice_item.created", customer, seats, "2027-01-16"),
        ("invoice_item.created", customer, seats, "2027-01-16"),
        ("subscription.plan_changed", customer, seats, "2027-01-16"),
        ("invoice.finalized", system, "", "2027-02-01"),
        ("subscription.renewed", system, "", "2027-02-01"),
    ]
    items = [e.data["amount_minor"] for e in entries if e.action == "invoice_item.created"]
    assert items == [-516, 1032]  # 16/31 of $10 credited, 16/31 of $20 charged
    changed = next(e for e in entries if e.action == "subscription.plan_changed")
    assert (changed.data["from_plan"], changed.data["to_plan"]) == ("basic", "pro")
    assert changed.recorded_at == datetime(2027, 1, 16, tzinfo=UTC)
    renewal = [e for e in entries if e.action == "invoice.finalized"][-1]
    # 16 of January's 31 days left on Jan 16: Pro $20.00 - 16/31 x $10 ($5.16) + 16/31 x $20 ($10.32)
    assert renewal.data["total"] == 2000 - 516 + 1032
    assert [e.action for e in trail.for_object(sub_id)] == [
        "subscription.created",
        "subscription.plan_changed",
        "subscription.renewed",
    ]
    first_invoice = engine.invoices("cus_ada")[0]
    assert [(e.action, e.data["total"]) for e in trail.for_object(first_invoice.id)] == [
        ("invoice.finalized", 1000)
    ]
    assert [e.action for e in trail.for_object("cus_ada")] == ["customer.created"]
    assert trail.for_object("CUS_ADA") == []  # ids are exact


def test_the_trail_is_append_only_and_rolled_back_with_its_change() -> None:
    engine, clock = _engine()
    _story(engine, clock)
    entry = AuditTrail(engine.store).for_customer("cus_ada")[0]
    with pytest.raises(StateError, match="append-only"), engine.store.begin() as uow:
        uow.update(entry.bumped(reason="nothing happened"))
    before = len(AuditTrail(engine.store).for_customer("cus_ada"))
    engine.preview_change("sub_ada", "basic", when="now")  # a preview writes nothing
    with pytest.raises(ValidationError), engine.acting_as(AGENT):
        engine.change_plan("sub_ada", "basic", quantity="-1", when="now")  # refused: nothing written
    assert len(AuditTrail(engine.store).for_customer("cus_ada")) == before


def test_an_event_stored_once_is_audited_once() -> None:
    store = AuditedStore(InMemoryStore(), TestClock(T0))
    event = Event.of(EventType.INVOICE_PAID, T0, "in_1", customer_id="cus_1", amount=5)
    for _ in range(2):
        with store.begin() as uow:
            uow.publish(event)
            uow.outbox.publish(event)
    assert len(AuditTrail(store).for_customer("cus_1")) == 1 == len(store.pending_events())


def test_the_trail_on_a_sql_store(tmp_path: Path) -> None:
    with SqlStore(str(tmp_path / "audit.sqlite")) as sql:
        engine, clock = _engine(sql)
        sub_id = _story(engine, clock)
        trail = AuditTrail(engine.store)
        assert [e.actor for e in trail.for_object(sub_id)] == [
            AGENT,
            Actor(kind="customer", id="cus_ada"),
            SYSTEM,
        ]
        assert len(trail.for_subscription(sub_id)) == 5  # + the two pending proration items
        with sql.begin() as uow:  # what the store holds reads back valid
            for e in uow.find(AuditEntry, customer_id="cus_ada"):
                assert AuditEntry.model_validate(e.model_dump()) == e


def test_changes_without_events_are_audited_from_the_write() -> None:
    from subkit.invoice.discounts import Coupon

    engine, _clock = _engine()
    with engine.acting_as(AGENT, reason="goodwill for the outage"):
        engine.create_customer(name="Ada", currency="USD", id="cus_ada")
        item = engine.add_invoice_item("cus_ada", "Outage credit", "-7.50")
        engine.add_coupon(Coupon(id="SPRING", percent_off="20"))
    with engine.store.begin() as uow:
        catalog = uow.find(AuditEntry, lookup_key="catalog")
        coupon = uow.find(AuditEntry, lookup_key="spring")
    credit = AuditTrail(engine.store).for_object(item.id)
    assert [(e.action, e.data["amount_minor"], e.reason) for e in credit] == [
        ("invoice_item.created", -750, "goodwill for the outage")
    ]
    assert [(e.action, e.actor.label) for e in catalog] == [("catalog.created", "system:subkit")]
    assert [(e.action, e.actor, e.subject_id) for e in coupon] == [("coupon.created", AGENT, "SPRING")]


def test_billing_config_audit_switches_the_trail_on() -> None:
    from subkit.services.engine import BillingConfig

    clock = TestClock(T0)
    engine = BillingEngine(InMemoryStore(), clock, config=BillingConfig(audit=True))
    assert isinstance(engine.store, AuditedStore)
    with engine.acting_as(AGENT, reason="import from the old system"):
        engine.create_customer(name="Ada", currency="USD", id="cus_ada")
    assert [(e.actor, e.reason) for e in AuditTrail(engine.store).for_customer("cus_ada")] == [
        (AGENT, "import from the old system")
    ]


def test_actors_do_not_leak_between_threads() -> None:
    seen: dict[str, tuple[Actor, str]] = {}
    barrier = threading.Barrier(2)

    def work(name: str) -> None:
        with acting_as(f"user:{name}", reason=name):
            barrier.wait()
            seen[name] = current_actor()

    threads = [threading.Thread(target=work, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {"a": (Actor(kind="user", id="a"), "a"), "b": (Actor(kind="user", id="b"), "b")}
    assert current_actor() == (SYSTEM, "")
    with pytest.raises(ValidationError, match="kind:id"), acting_as("usr_1"):
        pass
