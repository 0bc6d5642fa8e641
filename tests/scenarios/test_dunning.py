"""Payment and dunning scenarios, end to end: engine + in-memory store + test clock + fake gateway.

The plan is "Pro" at 49.00 USD a month, so every renewal invoice is 4900 cents. Customers
subscribe on 2027-03-01 09:00 UTC (T0); the default policy retries 1, 3, 5 and 7 days after
the first failure.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

import pytest

from subkit.catalog.catalog import Catalog, Plan, Product
from subkit.catalog.pricing import FlatFee
from subkit.core.events import Event, EventType
from subkit.errors import GatewayError, SensitiveDataError, StateError, ValidationError
from subkit.invoice.invoice import Invoice, InvoiceStatus
from subkit.payment.attempts import AttemptReason, AttemptStatus, PaymentAttempt, Refund, RefundStatus
from subkit.payment.dunning import DunningPolicy, FinalAction
from subkit.payment.results import PaymentResult
from subkit.ports import Store
from subkit.services.collector import CollectionReport, PaymentCollector
from subkit.services.engine import BillingEngine
from subkit.subscription.model import SubscriptionStatus
from subkit.testing import InMemoryStore, TestClock
from subkit.testing.gateway import FakeGateway, decline, fail_after_charge, pending, timeout

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
D = timedelta(days=1)
PRO = 4900  # 49.00 USD in cents


def card(token: str, *, exp_month: int = 12, exp_year: int = 2030) -> dict[str, object]:
    return {
        "type": "card",
        "token": token,
        "brand": "visa",
        "last4": "4242",
        "exp_month": exp_month,
        "exp_year": exp_year,
    }


@dataclass
class World:
    clock: TestClock
    engine: BillingEngine
    store: Any
    gateway: FakeGateway
    collector: PaymentCollector
    slept: list[float]

    def at(self, when: datetime) -> None:
        """Travel to ``when``, bill what is due, run the dunning steps that are due."""
        self.clock.travel_to(when)
        self.engine.advance()
        self.collector.retry_due(self.clock.now())

    def customer(self, cid: str = "cus_ada", token: str | None = "tok_ada", **fields: Any) -> str:
        self.engine.create_customer(id=cid, name="Ada", currency="USD", **fields)
        if token is not None:
            self.collector.add_payment_method(cid, card(token), id=f"pm_{token}")
        return cid

    def invoice(self, subscription_id: str, n: int = 0) -> Invoice:
        return self.engine.invoices(subscription_id=subscription_id)[n]

    def attempts(self, invoice_id: str) -> list[PaymentAttempt]:
        with self.store.begin() as uow:
            found = [a for a in uow.find(PaymentAttempt) if a.invoice_id == invoice_id]
        return sorted(found, key=lambda a: a.attempt_no)

    def events(self, type: EventType) -> list[Event]:
        return [e for e in self.store.pending_events(100_000) if e.type == type]

    def status(self, subscription_id: str) -> SubscriptionStatus:
        return self.engine.get_subscription(subscription_id).status


def make_world(
    policy: DunningPolicy | None = None,
    store: Store | None = None,
    gateway: FakeGateway | None = None,
    *,
    attach: bool = True,
) -> World:
    clock = TestClock(T0)
    counter = itertools.count(1)
    store = store if store is not None else InMemoryStore()
    engine = BillingEngine(store, clock, ids=lambda prefix: f"{prefix}_{next(counter)}")
    engine.set_catalog(
        Catalog(
            products=(Product(id="app", name="App"),),
            plans=(
                Plan(id="pro", product_id="app", name="Pro", prices={"USD": FlatFee(flat_amount="49.00")}),
            ),
        )
    )
    gateway = gateway if gateway is not None else FakeGateway()
    slept: list[float] = []
    # These scenarios dun a subscription's first invoice for days: its incomplete subscription
    # must not expire after 23 hours (DunningPolicy.incomplete_expires_after=None keeps that).
    policy = (policy or DunningPolicy()).model_copy(update={"incomplete_expires_after": None})
    collector = PaymentCollector(engine, gateway, policy=policy, sleep=slept.append)
    if attach:
        collector.attach()
    return World(clock, engine, store, gateway, collector, slept)


@pytest.fixture
def world() -> World:
    return make_world()


# --------------------------------------------------------------------------- soft declines
def test_decline_then_recover_on_retry_2(world: World) -> None:
    cus = world.customer()
    world.gateway.script(decline("insufficient_funds"), decline("insufficient_funds"), token="tok_ada")
    sub = world.engine.subscribe(cus, "pro", id="sub_1")
    inv = world.invoice(sub.id)
    assert inv.total_minor == PRO

    # attempt 1 at T0 declined: the first invoice is unpaid, so incomplete; retry 1 due at T0 + 1 day
    assert world.status(sub.id) == SubscriptionStatus.INCOMPLETE
    assert world.engine.get_invoice(inv.id).due_at == T0 + D

    world.at(T0 + 12 * timedelta(hours=1))  # nothing due yet
    assert len(world.gateway.charges) == 1

    world.at(T0 + D)  # retry 1: declined again; retry 2 due at T0 + 3 days
    assert world.engine.get_invoice(inv.id).due_at == T0 + 3 * D
    assert world.status(sub.id) == SubscriptionStatus.INCOMPLETE

    world.at(T0 + 3 * D)  # retry 2: succeeds
    paid = world.engine.get_invoice(inv.id)
    assert (paid.status, paid.amount_paid_minor, paid.paid_at, paid.due_at) == (
        InvoiceStatus.PAID,
        PRO,
        T0 + 3 * D,
        None,
    )
    assert world.status(sub.id) == SubscriptionStatus.ACTIVE

    attempts = world.attempts(inv.id)
    assert [(a.attempt_no, a.reason, a.status) for a in attempts] == [
        (1, AttemptReason.INITIAL, AttemptStatus.DECLINED),
        (2, AttemptReason.RETRY, AttemptStatus.DECLINED),
        (3, AttemptReason.RETRY, AttemptStatus.SUCCEEDED),
    ]
    assert [c.idempotency_key for c in world.gateway.charges] == [
        f"charge:{inv.id}:1",
        f"charge:{inv.id}:2",
        f"charge:{inv.id}:3",
    ]
    assert world.gateway.captured_minor == PRO

    steps = world.events(EventType.DUNNING_STEP)
    assert [(e.data["action"], e.data["retry"], e.data["next_at"]) for e in steps] == [
        ("retry_scheduled", 1, (T0 + D).isoformat()),
        ("retry_scheduled", 2, (T0 + 3 * D).isoformat()),
    ]
    assert len(world.events(EventType.PAYMENT_FAILED)) == 2
    assert [e.subject_id for e in world.events(EventType.SUBSCRIPTION_INCOMPLETE)] == [sub.id]
    assert [e.data["reason"] for e in world.events(EventType.SUBSCRIPTION_ACTIVATED)] == ["payment_recovered"]
    assert [e.data["amount"] for e in world.events(EventType.INVOICE_PAID)] == [PRO]

    world.at(T0 + 5 * D)  # nothing more to do
    assert len(world.gateway.charges) == 3


def test_retry_due_is_idempotent_for_the_same_instant(world: World) -> None:
    cus = world.customer()
    world.gateway.script(decline("try_again_later"), decline("try_again_later"), token="tok_ada")
    sub = world.engine.subscribe(cus, "pro", id="sub_1")
    world.clock.travel_to(T0 + D)
    first = world.collector.retry_due()
    second = world.collector.retry_due()
    assert (first.failed, len(second.attempts)) == (1, 0)
    assert len(world.gateway.charges) == 2
    assert world.status(sub.id) == SubscriptionStatus.INCOMPLETE


# --------------------------------------------------------------------------- hard declines
def test_hard_decline_skips_the_retries_then_final_action_at_the_end(world: World) -> None:
    cus = world.customer()
    world.gateway.script(decline("stolen_card"), token="tok_ada")
    sub = world.engine.subscribe(cus, "pro", id="sub_1")
    inv = world.invoice(sub.id)
    assert world.engine.get_invoice(inv.id).due_at == T0 + 7 * D  # end of the schedule
    [step] = world.events(EventType.DUNNING_STEP)
    assert (step.data["action"], step.data["next_at"]) == ("retries_skipped", (T0 + 7 * D).isoformat())
    assert world.events(EventType.PAYMENT_FAILED)[0].data["hard"] is True

    for day in (1, 3, 5):
        world.at(T0 + day * D)
    assert len(world.gateway.charges) == 1  # the stolen card is never charged again
    assert world.status(sub.id) == SubscriptionStatus.INCOMPLETE

    world.clock.travel_to(T0 + 7 * D)
    report = world.collector.retry_due()  # final action (default: cancel now), no charge
    assert (len(report.attempts), report.final_actions) == (0, 1)
    ended = world.engine.get_subscription(sub.id)
    assert (ended.status, ended.ended_at) == (SubscriptionStatus.CANCELED, T0 + 7 * D)
    inv = world.engine.get_invoice(inv.id)
    assert (inv.status, inv.due_at, inv.amount_remaining_minor) == (InvoiceStatus.OPEN, None, PRO)
    assert len(world.gateway.charges) == 1
    assert world.events(EventType.DUNNING_STEP)[-1].data["action"] == "final_action"


def test_hard_decline_final_at_once() -> None:
    world = make_world(DunningPolicy(hard_decline_final_at_once=True, final_action=FinalAction.MARK_UNPAID))
    cus = world.customer()
    world.gateway.script(decline("account_closed"), token="tok_ada")
    sub = world.engine.subscribe(cus, "pro", id="sub_1")
    assert world.status(sub.id) == SubscriptionStatus.UNPAID
    assert world.invoice(sub.id).due_at is None
    assert [e.subject_id for e in world.events(EventType.SUBSCRIPTION_UNPAID)] == [sub.id]


def test_no_payment_method_is_a_failure_that_waits_for_one(world: World) -> None:
    cus = world.customer(token=None)
    sub = world.engine.subscribe(cus, "pro", id="sub_1")
    inv = world.invoice(sub.id)
    [attempt] = world.attempts(inv.id)
    assert (attempt.status, attempt.payment_method_id) == (AttemptStatus.FAILED, None)
    assert world.gateway.requests == []  # nothing reached the gateway
    assert world.engine.get_invoice(inv.id).due_at == T0 + 7 * D

    world.clock.travel_to(T0 + 2 * D)  # a card arrives: charged at once
    world.collector.add_payment_method(cus, card("tok_new"), id="pm_new")
    assert world.engine.get_invoice(inv.id).status == InvoiceStatus.PAID
    assert world.status(sub.id) == SubscriptionStatus.ACTIVE


# --------------------------------------------------------------------------- final actions
@pytest.mark.parametrize(
    ("action", "uncollectible", "status", "invoice_status"),
    [
        (FinalAction.CANCEL, False, SubscriptionStatus.CANCELED, InvoiceStatus.OPEN),
        (FinalAction.CANCEL, True, SubscriptionStatus.CANCELED, InvoiceStatus.UNCOLLECTIBLE),
        (FinalAction.MARK_UNPAID, False, SubscriptionStatus.UNPAID, InvoiceStatus.OPEN),
        (FinalAction.LEAVE_PAST_DUE, False, SubscriptionStatus.INCOMPLETE, InvoiceStatus.OPEN),
    ],
)
def test_final_action_after_the_last_retry(
    action: FinalAction, uncollectible: bool, status: SubscriptionStatus, invoice_status: InvoiceStatus
) -> None:
    world = make_world(
        DunningPolicy(final_action=action, mark_uncollectible=uncollectible),
        gateway=FakeGateway(default=decline("insufficient_funds")),
    )
    cus = world.customer()
    sub = world.engine.subscribe(cus, "pro", id="sub_1")
    inv = world.invoice(sub.id)
    for day in (1, 3, 5):
        world.at(T0 + day * D)
        assert world.status(sub.id) == SubscriptionStatus.INCOMPLETE
    world.clock.travel_to(T0 + 7 * D)
    report = world.collector.retry_due()  # retry 4 fails: final action at once
    assert (report.failed, report.final_actions) == (1, 1)

    assert len(world.gateway.charges) == 5  # initial + 4 retries
    assert world.status(sub.id) == status
    final = world.engine.get_invoice(inv.id)
    assert (final.status, final.due_at) == (invoice_status, None)
    [last] = [e for e in world.events(EventType.DUNNING_STEP) if e.data["action"] == "final_action"]
    assert (last.data["final_action"], last.occurred_at) == (action.value, T0 + 7 * D)
    if action == FinalAction.CANCEL:
        assert world.engine.get_subscription(sub.id).ended_at == T0 + 7 * D

    world.at(T0 + 14 * D)  # nothing else happens
    assert len(world.gateway.charges) == 5


def test_unpaid_stops_automatic_charges_until_a_new_card() -> None:
    world = make_world(DunningPolicy(final_action=FinalAction.MARK_UNPAID, service_during_dunning=False))
    cus = world.customer()
    world.gateway.script(*[decline("insufficient_funds")] * 6, token="tok_ada")
    sub = world.engine.subscribe(cus, "pro", id="sub_1")
    for day in (1, 3, 5, 7):
        world.at(T0 + day * D)
    assert world.status(sub.id) == SubscriptionStatus.UNPAID
    assert not world.collector.policy.grants_access(world.status(sub.id))

    world.at(datetime(2027, 4, 1, 9, tzinfo=UTC))  # renewal: invoice 2, not charged while unpaid
    march, april = world.engine.invoices(subscription_id=sub.id)
    assert (april.total_minor, april.status) == (PRO, InvoiceStatus.OPEN)
    assert len(world.gateway.charges) == 5

    gateway_calls = len(world.gateway.requests)
    manual = world.collector.collect(april.id)  # an explicit collect does charge (declined: 6th decline)
    assert manual is not None and manual.status == AttemptStatus.DECLINED
    assert len(world.gateway.requests) == gateway_calls + 1
    assert world.status(sub.id) == SubscriptionStatus.UNPAID
    assert world.engine.get_invoice(april.id).due_at is None  # unpaid: no retries scheduled
    made = world.collector.add_payment_method(cus, card("tok_new"), id="pm_new", make_default=True)
    assert made.id == "pm_new"
    assert world.engine.get_invoice(march.id).status == InvoiceStatus.PAID
    assert world.engine.get_invoice(april.id).status == InvoiceStatus.PAID
    assert [c.token for c in world.gateway.charges[5:]] == ["tok_ada", "tok_new", "tok_new"]
    assert world.status(sub.id) == SubscriptionStatus.ACTIVE  # only once both are paid
    assert world.gateway.captured_minor == 2 * PRO  # 9800


# --------------------------------------------------------------------------- recovery
def test_card_updated_mid_dunning_is_retried_at_once(world: World) -> None:
    cus = world.customer()
    world.gateway.script(decline("insufficient_funds"), decline("insufficient_funds"), token="tok_ada")
    sub = world.engine.subscribe(cus, "pro", id="sub_1")
    inv = world.invoice(sub.id)
    world.at(T0 + D)  # retry 1 fails; retry 2 would be at day 3

    world.clock.travel_to(T0 + 2 * D)
    world.collector.add_payment_method(cus, card("tok_new"), id="pm_new", make_default=True)
    recovery = world.attempts(inv.id)[-1]
    assert (recovery.reason, recovery.status, recovery.payment_method_id) == (
        AttemptReason.PAYMENT_METHOD_UPDATED,
        AttemptStatus.SUCCEEDED,
        "pm_new",
    )
    paid = world.engine.get_invoice(inv.id)
    assert (paid.status, paid.paid_at) == (InvoiceStatus.PAID, T0 + 2 * D)
    assert world.status(sub.id) == SubscriptionStatus.ACTIVE
    assert [c.token for c in world.gateway.charges] == ["tok_ada", "tok_ada", "tok_new"]

    world.at(T0 + 3 * D)  # the scheduled retry 2 has nothing left to do
    assert len(world.gateway.charges) == 3


def test_expired_card_then_new_card(world: World) -> None:
    cus = world.customer()
    world.gateway.script(decline("expired_card"), token="tok_ada")
    sub = world.engine.subscribe(cus, "pro", id="sub_1")
    world.at(T0 + 3 * D)
    assert len(world.gateway.charges) == 1  # hard: no retries on the expired card
    attempts = world.collector.set_default_payment_method(
        cus, world.collector.add_payment_method(cus, card("tok_2031", exp_year=2031), make_default=False).id
    )
    assert [a.status for a in attempts] == [AttemptStatus.SUCCEEDED]
    assert world.status(sub.id) == SubscriptionStatus.ACTIVE


def test_cards_expiring_before_the_next_renewal_are_announced_once(world: World) -> None:
    expiring = world.customer("cus_a", token=None)
    world.collector.add_payment_method(expiring, card("tok_a", exp_month=3, exp_year=2027), id="pm_a")
    fine = world.customer("cus_b", token=None)
    world.collector.add_payment_method(fine, card("tok_b", exp_month=4, exp_year=2027), id="pm_b")
    world.engine.subscribe(expiring, "pro", id="sub_a")
    world.engine.subscribe(fine, "pro", id="sub_b")

    # both renew 2027-04-01 09:00; the March card stops working 2027-04-01 00:00
    warned = world.collector.expiring_cards(T0 + 31 * D)
    assert [pm.id for pm in warned] == ["pm_a"]
    assert world.collector.expiring_cards(T0 + 31 * D) == []
    [event] = world.events(EventType.PAYMENT_METHOD_EXPIRING)
    assert (event.subject_id, event.data["expires"], event.data["subscription_id"]) == (
        "pm_a",
        "2027-03",
        "sub_a",
    )
    assert event.data["renews_at"] == "2027-04-01T09:00:00+00:00"
    assert world.collector.expiring_cards(T0 + 10 * D) == []  # renewal beyond the horizon


# --------------------------------------------------------------------------- exactly once
class CrashError(Exception):
    """The process dies."""


class CrashingStore:
    """An InMemoryStore whose next commit can be made to fail (the process died before the write)."""

    def __init__(self) -> None:
        self.inner = InMemoryStore()
        self.crash_next_commit = False
        #: Crash the commit of the unit of work that updates an entity matching this (once).
        self.crash_on_update: Callable[[Any], bool] | None = None

    def begin(self) -> _CrashingUow:
        return _CrashingUow(self, self.inner.begin())

    def pending_events(self, limit: int = 100) -> Any:
        return self.inner.pending_events(limit)

    def mark_published(self, event_ids: Any) -> None:
        self.inner.mark_published(event_ids)


class _CrashingUow:
    def __init__(self, store: CrashingStore, inner: Any) -> None:
        self._store, self._inner = store, inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def update(self, entity: Any) -> None:
        crash_on = self._store.crash_on_update
        if crash_on is not None and crash_on(entity):
            self._store.crash_on_update, self._store.crash_next_commit = None, True
        self._inner.update(entity)

    def __enter__(self) -> _CrashingUow:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if et is None and self._store.crash_next_commit:
            self._store.crash_next_commit = False
            self._inner.rollback()
            raise CrashError("died before the write")
        self._inner.__exit__(et, e, tb)


class CrashAfterCharge(FakeGateway):
    """Charges, then arms the store so the write of the result dies."""

    def __init__(self, store: CrashingStore) -> None:
        super().__init__()
        self.store, self.armed = store, True

    def charge(self, *args: Any, **kwargs: Any) -> PaymentResult:
        result = super().charge(*args, **kwargs)
        if self.armed:
            self.armed, self.store.crash_next_commit = False, True
        return result


def test_crash_after_the_gateway_charged_never_charges_twice() -> None:
    store = CrashingStore()
    gateway = CrashAfterCharge(store)
    world = make_world(store=store, gateway=gateway)
    cus = world.customer()
    with pytest.raises(CrashError):
        world.engine.subscribe(cus, "pro", id="sub_1")  # the hook charges, then the write dies

    inv = world.invoice("sub_1")
    [attempt] = world.attempts(inv.id)
    assert attempt.status == AttemptStatus.STARTED  # committed before the gateway call
    assert len(gateway.charges) == 1 and inv.status == InvoiceStatus.OPEN
    assert inv.due_at == T0 + timedelta(hours=1)  # recheck lease

    world.at(T0 + timedelta(minutes=30))  # not yet
    assert gateway.requests == [attempt.idempotency_key]

    world.at(T0 + timedelta(hours=1))  # rerun: same key, original result, no second charge
    assert gateway.requests == [attempt.idempotency_key, attempt.idempotency_key]
    assert len(gateway.charges) == 1 and gateway.captured_minor == PRO
    paid = world.engine.get_invoice(inv.id)
    assert (paid.status, paid.amount_paid_minor) == (InvoiceStatus.PAID, PRO)
    [attempt] = world.attempts(inv.id)
    assert (attempt.status, attempt.gateway_payment_id) == (
        AttemptStatus.SUCCEEDED,
        gateway.charges[0].payment_id,
    )
    assert len(world.events(EventType.PAYMENT_SUCCEEDED)) == 1


def test_crash_then_manual_collect_resumes_the_same_attempt() -> None:
    store = CrashingStore()
    gateway = CrashAfterCharge(store)
    world = make_world(store=store, gateway=gateway)
    cus = world.customer()
    with pytest.raises(CrashError):
        world.engine.subscribe(cus, "pro", id="sub_1")
    inv = world.invoice("sub_1")
    attempt = world.collector.collect(inv.id)
    assert attempt is not None and (attempt.attempt_no, attempt.status) == (1, AttemptStatus.SUCCEEDED)
    assert len(gateway.charges) == 1
    assert world.collector.collect(inv.id) is None  # paid: nothing to do


@pytest.mark.parametrize("fault", [timeout(), fail_after_charge()], ids=["timeout", "response_lost"])
def test_a_transport_fault_is_retried_at_once_with_the_same_key(world: World, fault: Any) -> None:
    cus = world.customer()
    world.gateway.script(fault, token="tok_ada")
    sub = world.engine.subscribe(cus, "pro", id="sub_1")  # no error reaches the caller
    inv = world.invoice(sub.id)
    assert world.attempts(inv.id)[0].status == AttemptStatus.SUCCEEDED
    assert world.engine.get_invoice(inv.id).status == InvoiceStatus.PAID
    assert len(world.gateway.charges) == 1
    assert world.gateway.requests == [f"charge:{inv.id}:1"] * 2
    # the backoff before the one retry: a draw in [0, base] = [0, 0.25] s
    assert len(world.slept) == 1 and 0 <= world.slept[0] <= 0.25


def test_transport_faults_beyond_the_retries_resume_at_the_next_run_with_the_same_key(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    cus = world.customer()
    world.gateway.script(timeout(), timeout(), timeout(), token="tok_ada")  # all 3 tries time out
    sub = world.engine.subscribe(cus, "pro", id="sub_1")  # no error reaches the caller
    inv = world.invoice(sub.id)
    assert world.attempts(inv.id)[0].status == AttemptStatus.STARTED
    assert world.status(sub.id) == SubscriptionStatus.ACTIVE  # a transport fault is not a decline
    # full jitter: waits drawn in [0, 0.25] then [0, 0.5] seconds
    assert len(world.slept) == 2 and 0 <= world.slept[0] <= 0.25 and 0 <= world.slept[1] <= 0.5
    giving_up = [r for r in caplog.records if "giving up" in r.getMessage()]
    assert [r.name for r in giving_up] == ["subkit.services.retry"]

    world.clock.travel_to(T0 + timedelta(hours=1))
    report = world.collector.retry_due()
    assert report.errors == []
    assert world.engine.get_invoice(inv.id).status == InvoiceStatus.PAID
    assert len(world.gateway.charges) == 1
    assert world.gateway.requests == [f"charge:{inv.id}:1"] * 4


class _LeakyGateway(FakeGateway):
    """A gateway whose transport errors quote a card number (a badly written host adapter)."""

    down = False

    def charge(self, *args: Any, **kwargs: Any) -> PaymentResult:
        if self.down:
            self.requests.append(args[3])
            raise GatewayError("proxy said 4242 4242 4242 4242 is bad")
        return super().charge(*args, **kwargs)


def test_a_run_reports_what_the_gateway_could_not_be_asked_with_card_numbers_masked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    gateway = _LeakyGateway()
    world = make_world(gateway=gateway)
    cus = world.customer()
    gateway.down = True
    world.engine.subscribe(cus, "pro", id="sub_1")
    inv = world.invoice("sub_1")
    world.clock.travel_to(T0 + timedelta(hours=1))
    report = world.collector.retry_due()
    assert report.errors == [
        f"charge charge:{inv.id}:1 (4900 USD minor): [gateway_transport] proxy said ************4242 is bad"
    ]
    assert world.attempts(inv.id)[0].status == AttemptStatus.STARTED
    assert "4242 4242 4242 4242" not in caplog.text and "************4242" in caplog.text
    gateway.down = False
    world.clock.travel_to(T0 + timedelta(hours=2))
    assert world.collector.retry_due().errors == []
    assert world.engine.get_invoice(inv.id).status == InvoiceStatus.PAID


# --------------------------------------------------------------------------- bank debits
def ach_world() -> tuple[World, str]:
    world = make_world()
    cus = world.customer(token=None)
    world.collector.add_payment_method(
        cus,
        {"type": "ach_debit", "token": "tok_ach", "mandate_reference": "ACH-0001", "last4": "6789"},
        id="pm_ach",
    )
    world.gateway.script(pending(), token="tok_ach")
    return world, cus


def test_pending_ach_settles_days_later() -> None:
    world, cus = ach_world()
    sub = world.engine.subscribe(cus, "pro", id="sub_1")
    inv = world.invoice(sub.id)
    [attempt] = world.attempts(inv.id)
    assert attempt.status == AttemptStatus.PENDING
    assert world.engine.get_invoice(inv.id).due_at is None  # no retries while the debit clears
    assert world.status(sub.id) == SubscriptionStatus.ACTIVE
    assert len(world.events(EventType.PAYMENT_PENDING)) == 1

    world.at(T0 + 2 * D)
    assert world.collector.sync_pending() == []  # still clearing
    world.clock.travel_to(T0 + 4 * D)
    world.gateway.settle(attempt.gateway_payment_id or "")
    [settled] = world.collector.sync_pending()
    assert settled.status == AttemptStatus.SUCCEEDED
    paid = world.engine.get_invoice(inv.id)
    assert (paid.status, paid.paid_at) == (InvoiceStatus.PAID, T0 + 4 * D)
    assert len(world.gateway.charges) == 1


def test_returned_ach_debit_starts_dunning_from_the_return() -> None:
    world, cus = ach_world()
    sub = world.engine.subscribe(cus, "pro", id="sub_1")
    inv = world.invoice(sub.id)
    world.clock.travel_to(T0 + 4 * D)
    returned = world.gateway.settle(world.attempts(inv.id)[0].gateway_payment_id or "", False, "R01")
    attempt = world.collector.apply_gateway_update(returned)  # the webhook path
    assert attempt is not None and attempt.decline_code is not None
    assert attempt.decline_code.value == "insufficient_funds"
    assert world.status(sub.id) == SubscriptionStatus.INCOMPLETE
    assert (
        world.engine.get_invoice(inv.id).due_at == T0 + 5 * D
    )  # first failure at day 4, retry 1 a day later
    assert world.collector.apply_gateway_update(returned) is None  # a repeated webhook: already recorded
    assert len(world.events(EventType.PAYMENT_FAILED)) == 1

    world.gateway.script(pending(), token="tok_ach")
    world.at(T0 + 5 * D)
    retry = world.attempts(inv.id)[-1]
    assert (retry.attempt_no, retry.status) == (2, AttemptStatus.PENDING)
    world.clock.travel_to(T0 + 8 * D)
    world.gateway.settle(retry.gateway_payment_id or "")
    world.collector.sync_pending()
    assert world.engine.get_invoice(inv.id).status == InvoiceStatus.PAID
    assert world.status(sub.id) == SubscriptionStatus.ACTIVE


# --------------------------------------------------------------------------- bank transfers
def transfer_world() -> tuple[World, str, Invoice]:
    world = make_world()
    cus = world.customer(token=None, collection_method="send_invoice")
    world.collector.add_payment_method(cus, {"type": "bank_transfer", "reference": "ADA-7781"}, id="pm_bank")
    sub = world.engine.subscribe(cus, "pro", id="sub_1")
    return world, cus, world.invoice(sub.id)


def test_send_invoice_customers_are_not_charged() -> None:
    world, _, inv = transfer_world()
    assert world.gateway.requests == [] and world.attempts(inv.id) == []
    world.at(T0 + 10 * D)
    assert world.engine.get_invoice(inv.id).status == InvoiceStatus.OPEN
    assert world.gateway.requests == []


def test_bank_transfer_partial_then_the_rest() -> None:
    world, cus, inv = transfer_world()
    assert inv.number is not None
    world.clock.travel_to(T0 + 3 * D)
    [first] = world.collector.pay_by_bank_transfer(
        reference=inv.number, amount_minor=2000, transfer_id="stmt-1"
    )
    part = world.engine.get_invoice(inv.id)
    assert (part.status, part.amount_paid_minor, part.amount_remaining_minor) == (
        InvoiceStatus.OPEN,
        2000,
        2900,
    )
    assert (first.applied_minor, first.reason) == (2000, AttemptReason.BANK_TRANSFER)

    # the same bank line imported again is ignored
    assert (
        world.collector.pay_by_bank_transfer(reference=inv.number, amount_minor=2000, transfer_id="stmt-1")
        == []
    )
    assert world.engine.get_invoice(inv.id).amount_remaining_minor == 2900

    world.clock.travel_to(T0 + 9 * D)  # the rest, quoting the customer's reference: 4900 - 2000 = 2900
    [rest] = world.collector.pay_by_bank_transfer(
        reference="ada-7781", amount_minor=2900, transfer_id="stmt-2"
    )
    done = world.engine.get_invoice(inv.id)
    assert (done.status, done.amount_paid_minor, done.paid_at) == (InvoiceStatus.PAID, PRO, T0 + 9 * D)
    assert rest.attempt_no == 2
    assert world.engine.get_customer(cus).credit_minor == 0


def test_bank_transfer_overpayment_goes_to_the_balance() -> None:
    world, cus, inv = transfer_world()
    [attempt] = world.collector.pay_by_bank_transfer(inv.id, amount_minor=5000)
    assert (attempt.applied_minor, attempt.credited_minor) == (PRO, 100)  # 5000 - 4900
    assert world.engine.get_invoice(inv.id).status == InvoiceStatus.PAID
    assert world.engine.get_customer(cus).credit_minor == 100
    [balance] = world.events(EventType.CUSTOMER_BALANCE_CHANGED)
    assert balance.data["balance"] == 100

    world.at(datetime(2027, 4, 1, 9, tzinfo=UTC))  # the credit pays part of the next invoice
    april = world.engine.invoices(subscription_id="sub_1")[1]
    assert (april.total_minor, april.credit_applied_minor, april.amount_due_minor) == (PRO, 100, 4800)
    assert world.engine.get_customer(cus).credit_minor == 0


def test_bank_transfer_with_nothing_open_is_all_credit() -> None:
    world, cus, inv = transfer_world()
    world.collector.pay_by_bank_transfer(inv.id, amount_minor=PRO)
    [credit] = world.collector.pay_by_bank_transfer(reference="ADA-7781", amount_minor=1234)
    assert (credit.invoice_id, credit.credited_minor) == (None, 1234)
    assert world.engine.get_customer(cus).credit_minor == 1234


@pytest.mark.parametrize("amount", [0, -100, 12.5])
def test_bank_transfer_amounts_are_positive_ints(amount: Any) -> None:
    world, _, inv = transfer_world()
    with pytest.raises(ValidationError):
        world.collector.pay_by_bank_transfer(inv.id, amount_minor=amount)


# --------------------------------------------------------------------------- PCI
def test_raw_pan_is_refused_and_nothing_is_stored(world: World) -> None:
    cus = world.customer(token=None)
    attempts: list[dict[str, object]] = [
        {**card("tok_x"), "number": "4242 4242 4242 4242"},
        {**card("tok_x"), "cvc": "123"},
        card("4000-0566-5566-5556"),  # a PAN where the token should be
    ]
    for details in attempts:
        with pytest.raises(SensitiveDataError) as err:
            world.collector.add_payment_method(cus, details)
        assert "4242 4242 4242 4242" not in str(err.value) and "0566-5566" not in str(err.value)
        assert "123" not in str(err.value)
    with pytest.raises(SensitiveDataError) as err:
        world.collector.add_payment_method(cus, card("tok_x"), metadata={"note": "5555555555554444"})
    assert err.value.field == "metadata.note" and "************4444" in err.value.message
    with pytest.raises(SensitiveDataError):
        world.collector.pay_by_bank_transfer(reference="4111 1111 1111 1111", amount_minor=100)
    assert world.collector.payment_methods(cus) == []
    assert all("4242424242424242" not in e.model_dump_json() for e in world.store.pending_events(10_000))


# --------------------------------------------------------------------------- refunds
def test_refund_issues_a_credit_note(world: World) -> None:
    cus = world.customer()
    sub = world.engine.subscribe(cus, "pro", id="sub_1")
    inv = world.invoice(sub.id)
    assert inv.status == InvoiceStatus.PAID

    world.clock.travel_to(T0 + 5 * D)
    refund = world.collector.refund(inv.id, 1500, reason="goodwill")
    assert (refund.status, refund.amount_minor) == (RefundStatus.SUCCEEDED, 1500)
    [note] = world.engine.credit_notes(inv.id)
    assert (note.id, note.amount_minor, note.refund_minor, note.credit_minor, note.outstanding_minor) == (
        refund.credit_note_id,
        1500,
        1500,
        0,
        0,
    )
    after = world.engine.get_invoice(inv.id)
    assert (after.amount_credited_minor, after.creditable_minor) == (1500, 3400)  # 4900 - 1500
    assert world.engine.get_customer(cus).credit_minor == 0  # the money went back to the card
    assert world.gateway.captured_minor == 3400
    assert [e.data["amount"] for e in world.events(EventType.PAYMENT_REFUNDED)] == [1500]

    with pytest.raises(ValidationError):
        world.collector.refund(inv.id, 3401)  # 3400 left
    rest = world.collector.refund(inv.id)
    assert rest.amount_minor == 3400
    assert world.gateway.captured_minor == 0
    assert world.engine.get_invoice(inv.id).creditable_minor == 0
    with pytest.raises(ValidationError):
        world.collector.refund(inv.id)


def test_refund_after_a_lost_response_is_not_sent_twice(world: World) -> None:
    cus = world.customer()
    sub = world.engine.subscribe(cus, "pro", id="sub_1")
    inv = world.invoice(sub.id)
    real_refund = world.gateway.refund
    lost = [True]

    def flaky(payment_id: str, amount_minor: int, idempotency_key: str) -> PaymentResult:
        result = real_refund(payment_id, amount_minor, idempotency_key)
        if lost.pop() if lost else False:
            raise GatewayError("connection reset")
        return result

    world.gateway.refund = flaky  # type: ignore[method-assign]
    with pytest.raises(GatewayError):
        world.collector.refund(inv.id, 1000)
    assert len(world.gateway.refunds) == 1  # it did happen
    again = world.collector.refund(inv.id, 1000)  # the caller retries
    assert again.status == RefundStatus.SUCCEEDED
    assert len(world.gateway.refunds) == 1
    assert len(world.engine.credit_notes(inv.id)) == 1


class CrashAfterRefund(FakeGateway):
    """Refunds, then arms the store so the write of the result dies."""

    def __init__(self, store: CrashingStore) -> None:
        super().__init__()
        self.store, self.armed = store, False

    def refund(self, *args: Any, **kwargs: Any) -> PaymentResult:
        result = super().refund(*args, **kwargs)
        if self.armed:
            self.armed, self.store.crash_next_commit = False, True
        return result


def crash_world() -> tuple[World, CrashingStore, CrashAfterRefund, Invoice]:
    store = CrashingStore()
    gateway = CrashAfterRefund(store)
    world = make_world(store=store, gateway=gateway)
    sub = world.engine.subscribe(world.customer(), "pro", id="sub_1")
    world.clock.travel_to(T0 + 5 * D)
    return world, store, gateway, world.invoice(sub.id)


def refunds_of(world: World) -> list[Refund]:
    with world.store.begin() as uow:
        return uow.find(Refund)


def test_issuing_a_credit_note_with_an_id_twice_gives_the_same_note(world: World) -> None:
    sub = world.engine.subscribe(world.customer(), "pro", id="sub_1")
    inv = world.invoice(sub.id)
    first = world.engine.issue_credit_note(inv.id, "10.00", reason="goodwill", refund=True, id="cn_goodwill")
    again = world.engine.issue_credit_note(inv.id, "10.00", reason="goodwill", refund=True, id="cn_goodwill")
    assert first == again and first.id == "cn_goodwill"
    assert [n.id for n in world.engine.credit_notes(inv.id)] == ["cn_goodwill"]
    assert world.engine.get_invoice(inv.id).amount_credited_minor == 1000  # credited once
    assert len(world.events(EventType.CREDIT_NOTE_ISSUED)) == 1


@pytest.mark.parametrize("resume", ["refund_again", "retry_due"])
def test_crash_between_the_credit_note_and_the_refund_completion(resume: str) -> None:
    world, store, gateway, inv = crash_world()
    store.crash_on_update = lambda e: isinstance(e, Refund) and e.status == RefundStatus.SUCCEEDED
    with pytest.raises(CrashError):
        world.collector.refund(inv.id, 1000, reason="goodwill")
    [refund] = refunds_of(world)
    [note] = world.engine.credit_notes(inv.id)  # issued before the process died
    assert (refund.status, refund.credit_note_id) == (RefundStatus.CREDITING, note.id)

    if resume == "refund_again":
        done = world.collector.refund(inv.id, 1000, reason="goodwill")  # the caller retries
    else:
        world.collector.retry_due()
        [done] = refunds_of(world)
    assert (done.id, done.status, done.credit_note_id) == (refund.id, RefundStatus.SUCCEEDED, note.id)
    assert world.engine.credit_notes(inv.id) == [note]  # no second credit note
    assert len(gateway.refunds) == 1  # no second refund
    assert world.engine.get_invoice(inv.id).creditable_minor == PRO - 1000
    assert len(world.events(EventType.CREDIT_NOTE_ISSUED)) == 1
    assert len(world.events(EventType.PAYMENT_REFUNDED)) == 1


def test_crash_after_the_gateway_refunded_never_refunds_twice() -> None:
    world, _, gateway, inv = crash_world()
    gateway.armed = True
    with pytest.raises(CrashError):
        world.collector.refund(inv.id, 1000)
    [refund] = refunds_of(world)
    assert (refund.status, refund.credit_note_id) == (RefundStatus.STARTED, None)
    assert len(gateway.refunds) == 1 and world.engine.credit_notes(inv.id) == []

    world.collector.retry_due()  # same key: the gateway answers with the original refund
    [done] = refunds_of(world)
    [note] = world.engine.credit_notes(inv.id)
    assert (done.status, done.credit_note_id, note.refund_minor) == (RefundStatus.SUCCEEDED, note.id, 1000)
    assert len(gateway.refunds) == 1 and gateway.captured_minor == PRO - 1000


def test_only_paid_invoices_with_gateway_payments_are_refunded() -> None:
    world, _, inv = transfer_world()
    with pytest.raises(StateError):
        world.collector.refund(inv.id)  # open
    world.collector.pay_by_bank_transfer(inv.id, amount_minor=PRO)
    with pytest.raises(ValidationError):
        world.collector.refund(inv.id)  # paid by transfer: nothing to send back through the gateway


def test_a_declined_renewal_makes_the_subscription_past_due_then_active_again(world: World) -> None:
    cus = world.customer()
    sub = world.engine.subscribe(cus, "pro", id="sub_1")  # first invoice paid at T0
    assert world.status(sub.id) == SubscriptionStatus.ACTIVE
    world.gateway.script(decline("insufficient_funds"), token="tok_ada")
    renewal_at = world.engine.get_subscription(sub.id).period_end
    world.at(renewal_at)  # the renewal's charge is declined
    assert world.status(sub.id) == SubscriptionStatus.PAST_DUE
    assert [e.subject_id for e in world.events(EventType.SUBSCRIPTION_PAST_DUE)] == [sub.id]
    assert world.events(EventType.SUBSCRIPTION_INCOMPLETE) == []
    world.clock.travel_to(renewal_at + D)
    world.collector.retry_due(renewal_at + D)  # retry 1 succeeds
    assert world.status(sub.id) == SubscriptionStatus.ACTIVE


# --------------------------------------------------------------------------- wiring
def test_attach_subscribes_once_to_the_engines_invoice_finalized_events() -> None:
    world = make_world(gateway=FakeGateway(default=decline("insufficient_funds")))
    world.collector.attach()  # a second attach changes nothing
    seen: list[Event] = []
    world.engine.bus.subscribe(EventType.INVOICE_FINALIZED, seen.append)
    sub = world.engine.subscribe(world.customer(), "pro", id="sub_1")
    inv = world.invoice(sub.id)
    assert len(world.attempts(inv.id)) == 1 and len(world.gateway.charges) == 1
    # the handler gets the very event of the outbox (same id), after commit
    [outboxed] = world.events(EventType.INVOICE_FINALIZED)
    assert [(e.id, e.subject_id) for e in seen] == [(outboxed.id, inv.id)]


def test_a_paid_invoice_is_not_dispatched_to_collection() -> None:
    world = make_world()
    seen: list[Event] = []
    world.engine.bus.subscribe(EventType.INVOICE_FINALIZED, seen.append)
    cus = world.customer(credit_minor=PRO)  # the balance pays the whole first invoice
    sub = world.engine.subscribe(cus, "pro", id="sub_1")
    assert world.invoice(sub.id).status == InvoiceStatus.PAID
    assert seen == [] and world.gateway.requests == []


def test_collect_with_a_report_counts_the_final_action_it_takes() -> None:
    world = make_world(DunningPolicy(hard_decline_final_at_once=True), attach=False)
    world.gateway.script(decline("stolen_card"), token="tok_ada")
    sub = world.engine.subscribe(world.customer(), "pro", id="sub_1")
    inv = world.invoice(sub.id)
    assert world.attempts(inv.id) == []  # not attached: nothing charged yet

    report = CollectionReport()
    attempt = world.collector.collect(inv.id, report=report)
    assert attempt is not None and attempt.status == AttemptStatus.DECLINED
    assert (report.attempts, report.failed, report.final_actions) == ([attempt], 1, 1)
    assert world.status(sub.id) == SubscriptionStatus.CANCELED
    assert world.collector.retry_due().final_actions == 0  # taken once, counted once
