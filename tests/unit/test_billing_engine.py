"""Engine behaviour: errors, idempotency, discounts, invoices, credit notes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from subkit.core.events import EventType
from subkit.errors import (
    CatalogError,
    CouponError,
    DuplicateError,
    FloatNotAllowedError,
    IllegalTransitionError,
    InvoiceImmutableError,
    NaiveDatetimeError,
    NotFoundError,
    StateError,
    ValidationError,
)
from subkit.invoice.discounts import Coupon, PromotionCode, discount_amounts
from subkit.invoice.invoice import InvoiceStatus
from subkit.subscription.model import SubscriptionStatus
from subkit.subscription.proration import ProrationBehavior, credit_for, remaining_fraction

from ..scenarios.conftest import World


@pytest.fixture
def w() -> World:
    return World(datetime(2027, 4, 1, tzinfo=UTC))


def test_illegal_transitions_raise_clear_errors(w: World) -> None:
    cus = w.engine.create_customer(name="A", currency="USD")
    sub = w.engine.subscribe(cus.id, "basic")
    with pytest.raises(IllegalTransitionError, match="not set to cancel"):
        w.engine.reactivate(sub.id)
    with pytest.raises(IllegalTransitionError, match="only paused"):
        w.engine.resume(sub.id)
    w.engine.cancel(sub.id, at_period_end=False)
    for call in (
        lambda: w.engine.change_plan(sub.id, "pro"),
        lambda: w.engine.cancel(sub.id),
        lambda: w.engine.pause(sub.id),
        lambda: w.engine.reactivate(sub.id),
    ):
        with pytest.raises(IllegalTransitionError) as e:
            call()
        assert e.value.code == "illegal_transition"


def test_bad_input_is_refused_and_leaves_nothing_written(w: World) -> None:
    cus = w.engine.create_customer(name="A", currency="USD")
    with pytest.raises(NotFoundError):
        w.engine.subscribe("cus_missing", "basic")
    with pytest.raises(NotFoundError):
        w.engine.subscribe(cus.id, "gold")
    with pytest.raises(FloatNotAllowedError):
        w.engine.subscribe(cus.id, "seats", 2.5)
    with pytest.raises(ValidationError):
        w.engine.subscribe(cus.id, "seats", -1)
    with pytest.raises(CatalogError, match="one billing interval"):
        w.engine.subscribe(cus.id, items=[("basic", 1), ("annual", 1)])
    with pytest.raises(NaiveDatetimeError):
        w.engine.subscribe(cus.id, "basic", at=datetime(2027, 4, 1))
    eur = w.engine.create_customer(name="B", currency="EUR")
    with pytest.raises(CatalogError, match="no price in EUR"):
        w.engine.subscribe(eur.id, "basic")
    with pytest.raises(CouponError, match="no coupon"):
        w.engine.subscribe(cus.id, "basic", coupon="NOPE")
    with w.store.begin() as uow:
        from subkit.subscription.model import Subscription

        assert uow.find(Subscription) == []
    assert w.engine.invoices() == []
    assert w.store.pending_events() != []  # only the customer.created events
    assert {e.type for e in w.store.pending_events()} == {EventType.CUSTOMER_CREATED}


def test_advance_is_idempotent_and_charges_are_unique(w: World) -> None:
    cus = w.engine.create_customer(name="A", currency="USD")
    sub = w.engine.subscribe(cus.id, "basic")
    w.clock.travel_to(datetime(2027, 6, 1, tzinfo=UTC))
    first = w.engine.advance()
    again = w.engine.advance()
    assert (first.invoices, again.invoices, again.actions) == (2, 0, 0)
    # The store refuses a second charge for the same item and period, even if asked directly.
    with pytest.raises(DuplicateError), w.store.begin() as uow:
        uow.claim(f"charge:{sub.id}:{sub.items[0].id}:2027-05-01T00:00:00+00:00")


def test_stale_subscription_write_is_refused(w: World) -> None:
    from subkit.errors import ConcurrencyError
    from subkit.subscription.model import Subscription

    cus = w.engine.create_customer(name="A", currency="USD")
    sub = w.engine.subscribe(cus.id, "basic")
    w.engine.cancel(sub.id)  # version 2 now
    with pytest.raises(ConcurrencyError), w.store.begin() as uow:
        uow.update(sub.bumped(metadata={"x": "y"}))  # built from version 1
    with w.store.begin() as uow:
        assert uow.get(Subscription, sub.id).cancel_at_period_end


def test_promotion_codes_and_coupon_limits(w: World) -> None:
    w.engine.add_coupon(Coupon(id="TEN", amount_off={"USD": "10"}, duration="forever", max_redemptions=1))
    w.engine.add_coupon(Coupon(id="OLD", percent_off="50", redeem_by=datetime(2027, 3, 1, tzinfo=UTC)))
    w.engine.add_coupon(Coupon(id="SEATS", percent_off="50", applies_to=("seats",)))
    w.engine.add_promotion_code(PromotionCode(id="welcome", coupon_id="TEN", max_redemptions=5))
    a = w.engine.create_customer(name="A", currency="USD")
    sub = w.engine.subscribe(a.id, "pro", trial_days=0, promotion_code="WELCOME")
    assert w.engine.invoices(subscription_id=sub.id)[0].total_minor == 1000  # 20.00 - 10.00
    with pytest.raises(CouponError, match="redemptions"):
        w.engine.subscribe(a.id, "pro", promotion_code="Welcome")
    with pytest.raises(CouponError, match="expired"):
        w.engine.subscribe(a.id, "basic", coupon="OLD")
    with pytest.raises(CouponError, match="applies only to seats"):
        w.engine.subscribe(a.id, "basic", coupon="SEATS")
    with pytest.raises(CouponError, match="no promotion code"):
        w.engine.subscribe(a.id, "basic", promotion_code="NOPE")


def test_coupon_durations_count_billing_cycles() -> None:
    once = Coupon(id="O", percent_off="10", duration="once")
    forever = Coupon(id="F", percent_off="10", duration="forever")
    rep = Coupon(id="R", percent_off="10", duration="repeating", duration_cycles=2)
    assert [once.covers_cycle(2, n) for n in range(1, 5)] == [False, True, False, False]
    assert [rep.covers_cycle(2, n) for n in range(1, 5)] == [False, True, True, False]
    assert [forever.covers_cycle(2, n) for n in range(1, 5)] == [False, True, True, True]
    with pytest.raises(CouponError):
        Coupon(id="X", percent_off="10", amount_off={"USD": "1"})
    with pytest.raises(CouponError):
        Coupon(id="X", percent_off="101")
    with pytest.raises(CouponError):
        Coupon(id="X", percent_off="10", duration="repeating")


def test_discount_stacking_order() -> None:
    p10 = Coupon(id="P10", percent_off="10", duration="forever")
    p20 = Coupon(id="P20", percent_off="20", duration="forever")
    f5 = Coupon(id="F5", amount_off={"USD": "5"}, duration="forever")
    # Percentages compound first: 100.00 x 0.9 x 0.8 = 72.00 (28.00 off), then 5.00 fixed: 33.00 off.
    assert discount_amounts([(10000, "p")], [f5, p10, p20], "USD") == [3300]
    # A fixed amount spreads by largest remainder over what is left and never exceeds it:
    # 10.00 over 3.00 and 1.00 left -> all 4.00.
    assert discount_amounts([(300, "a"), (100, "b")], [Coupon(id="B", amount_off={"USD": "10"})], "USD") == [
        300,
        100,
    ]
    # 1.00 over 2.00/1.00/1.00 -> 0.50/0.25/0.25
    assert discount_amounts(
        [(200, "a"), (100, "b"), (100, "c")], [Coupon(id="C", amount_off={"USD": "1"})], "USD"
    ) == [50, 25, 25]
    # Restricted coupons touch only their plans; credits are never discounted.
    only_b = Coupon(id="OB", percent_off="50", applies_to=("b",))
    assert discount_amounts([(1000, "a"), (1000, "b"), (-500, "b")], [only_b], "USD") == [0, 500, 0]
    # Per-line rounding half-up: 33.3% of 0.10 = 0.0333 -> 0.03
    assert discount_amounts([(10, "a")], [Coupon(id="T", percent_off="33.3")], "USD") == [3]


def test_proration_math() -> None:
    s, e = datetime(2027, 4, 1, tzinfo=UTC), datetime(2027, 5, 1, tzinfo=UTC)
    assert remaining_fraction(s, e, s) == 1
    assert remaining_fraction(s, e, e) == 0
    assert remaining_fraction(s, e, datetime(2027, 4, 25, tzinfo=UTC)) * 30 == 6
    # Credits never exceed what is left uncredited, and never go negative.
    assert credit_for(1000, 0, s, e, datetime(2027, 4, 16, tzinfo=UTC)) == 500
    assert credit_for(1000, 700, s, e, datetime(2027, 4, 16, tzinfo=UTC)) == 300
    assert credit_for(1000, 1000, s, e, s) == 0
    assert credit_for(-100, 0, s, e, s) == 0
    # 333 x 1/3 = 111; 1000 x 1/3 = 333.33 -> 333 (half-up)
    assert credit_for(1000, 0, s, e, datetime(2027, 4, 21, tzinfo=UTC)) == 333


def test_credit_for_a_discounted_period_credits_what_was_paid(w: World) -> None:
    w.engine.add_coupon(Coupon(id="HALF", percent_off="50", duration="forever"))
    cus = w.engine.create_customer(name="A", currency="USD")
    sub = w.engine.subscribe(cus.id, "basic", coupon="HALF")  # paid 5.00 for April
    w.clock.travel_to(datetime(2027, 4, 16, tzinfo=UTC))
    lines = w.engine.preview_change(sub.id, "pro", proration_behavior=ProrationBehavior.ALWAYS_INVOICE)
    # credit half of what was paid (5.00 / 2 = 2.50), not half the list price (5.00);
    # the new charge 10.00 is discounted 50% too -> net 5.00
    assert [(ln.amount_minor, ln.discount_minor) for ln in lines] == [(-250, 0), (1000, 500)]


def test_repeated_changes_never_credit_more_than_was_charged(w: World) -> None:
    cus = w.engine.create_customer(name="A", currency="USD")
    sub = w.engine.subscribe(cus.id, "seats", 10)  # 80.00 for April (30 days)
    w.clock.travel_to(datetime(2027, 4, 16, tzinfo=UTC))
    w.engine.change_quantity(sub.id, 5, proration_behavior=ProrationBehavior.ALWAYS_INVOICE)
    w.clock.travel_to(datetime(2027, 4, 21, tzinfo=UTC))
    w.engine.change_quantity(sub.id, 20, proration_behavior=ProrationBehavior.ALWAYS_INVOICE)
    inv1, inv2 = w.engine.invoices(subscription_id=sub.id)[1:]
    # Apr 16: credit 80.00 x 15/30 = 40.00; charge 5 x 8 x 15/30 = 20.00
    assert [ln.amount_minor for ln in inv1.lines] == [-4000, 2000]
    # Apr 21: only the 20.00 segment [Apr 16, May 1) is live: credit 20.00 x 10/15 = 13.33;
    # charge 20 x 8 x 10/30 = 53.33
    assert [ln.amount_minor for ln in inv2.lines] == [-1333, 5333]
    segs = w.engine.get_subscription(sub.id).segments
    assert sum(s.credited_minor for s in segs) == 4000 + 1333
    assert all(s.credited_minor <= s.net_minor for s in segs)


def test_pause_and_resume(w: World) -> None:
    cus = w.engine.create_customer(name="A", currency="USD")
    sub = w.engine.subscribe(cus.id, "basic")
    w.clock.travel_to(datetime(2027, 4, 10, tzinfo=UTC))
    w.engine.pause(sub.id)
    w.go(datetime(2027, 6, 11, tzinfo=UTC))
    assert w.engine.get_subscription(sub.id).status == SubscriptionStatus.PAUSED
    w.engine.resume(sub.id)
    # June has 30 days, resumed on the 11th: 20 left -> 10.00 x 20/30 = 6.67
    w.go(datetime(2027, 7, 1, tzinfo=UTC))
    assert w.totals(sub.id) == [("2027-04-01", 1000), ("2027-06-11", 667), ("2027-07-01", 1000)]
    with pytest.raises(ValidationError):
        w.engine.pause(sub.id, resume_at=datetime(2027, 6, 30, tzinfo=UTC))


def test_scheduled_pause_resumes_by_itself(w: World) -> None:
    cus = w.engine.create_customer(name="A", currency="USD")
    sub = w.engine.subscribe(cus.id, "basic")
    w.engine.pause(sub.id, resume_at=datetime(2027, 5, 16, tzinfo=UTC))
    w.go(datetime(2027, 6, 1, tzinfo=UTC))
    # May: 31 days, 16 left from the 16th: 10.00 x 16/31 = 5.16
    assert w.totals(sub.id) == [("2027-04-01", 1000), ("2027-05-16", 516), ("2027-06-01", 1000)]


def test_one_off_items_and_manual_invoices(w: World) -> None:
    cus = w.engine.create_customer(name="A", currency="USD")
    sub = w.engine.subscribe(cus.id, "basic")
    w.engine.add_invoice_item(cus.id, "Onboarding", "150", subscription_id=sub.id)
    w.engine.add_invoice_item(cus.id, "Consulting hours", "95.50", quantity=3)
    inv = w.engine.invoice_now(cus.id)
    assert inv is not None and inv.total_minor == 28650  # 3 x 95.50
    assert w.engine.invoice_now(cus.id) is None
    w.go(datetime(2027, 5, 1, tzinfo=UTC))
    assert w.totals(sub.id)[-1] == ("2027-05-01", 16000)  # 10.00 + 150.00


def test_invoices_are_immutable_and_corrected_by_credit_notes(w: World) -> None:
    cus = w.engine.create_customer(name="A", currency="USD")
    w.engine.subscribe(cus.id, "seats", 5)  # 40.00
    inv = w.engine.invoices(cus.id)[0]
    assert inv.status == InvoiceStatus.OPEN and inv.number == "INV-000001"
    with pytest.raises(InvoiceImmutableError):
        inv.finalize("INV-999", datetime(2027, 4, 2, tzinfo=UTC))
    n1 = w.engine.issue_credit_note(inv.id, "15.00", reason="goodwill")
    # open invoice: the credit reduces what is due (40.00 -> 25.00), nothing to the balance
    got = w.engine.get_invoice(inv.id)
    assert (n1.number, n1.outstanding_minor, n1.credit_minor, got.amount_remaining_minor) == (
        "CN-000001",
        1500,
        0,
        2500,
    )
    with pytest.raises(ValidationError, match="exceeds"):
        w.engine.issue_credit_note(inv.id, "25.01")
    n2 = w.engine.issue_credit_note(inv.id)  # the rest: 25.00 -> paid
    assert n2.amount_minor == 2500 and w.engine.get_invoice(inv.id).status == InvoiceStatus.PAID
    with pytest.raises(ValidationError):
        w.engine.issue_credit_note(inv.id, "0.01")


def test_credit_note_on_a_paid_invoice_goes_to_the_balance(w: World) -> None:
    cus = w.engine.create_customer(name="A", currency="USD")
    w.engine.subscribe(cus.id, "basic")
    inv = w.engine.invoices(cus.id)[0]
    with w.store.begin() as uow:
        uow.update(inv.record_payment(1000, datetime(2027, 4, 1, tzinfo=UTC)))
    note = w.engine.issue_credit_note(inv.id, "4.00")
    assert (note.credit_minor, w.engine.get_customer(cus.id).credit_minor) == (400, 400)
    with pytest.raises(StateError):
        w.engine.void_invoice(inv.id)


def test_void_gives_back_the_credit_used(w: World) -> None:
    cus = w.engine.create_customer(name="A", currency="USD")
    with w.store.begin() as uow:
        from subkit.customer.customer import Customer

        c = uow.get(Customer, cus.id)
        uow.update(c.bumped(credit_minor=300))
    w.engine.subscribe(cus.id, "basic")
    inv = w.engine.invoices(cus.id)[0]
    assert (inv.credit_applied_minor, inv.amount_due_minor) == (300, 700)
    assert w.engine.get_customer(cus.id).credit_minor == 0
    w.engine.void_invoice(inv.id)
    assert w.engine.get_customer(cus.id).credit_minor == 300
    assert w.engine.get_invoice(inv.id).status == InvoiceStatus.VOID


def test_events_are_written_to_the_outbox(w: World) -> None:
    cus = w.engine.create_customer(name="A", currency="USD")
    sub = w.engine.subscribe(cus.id, "basic")
    w.engine.change_plan(sub.id, "pro")
    w.engine.cancel(sub.id)
    types = [e.type.value for e in w.store.pending_events()]
    assert types == [
        "customer.created",
        "invoice.finalized",
        "subscription.created",
        "subscription.plan_changed",
        "subscription.cancel_scheduled",
    ]
    published: list[str] = []

    class Pub:
        def publish(self, events: object) -> None:
            published.extend(e.type.value for e in events)  # type: ignore[attr-defined]

    w.engine.publisher = Pub()
    assert w.engine.relay() == 5 and published == types
    assert list(w.store.pending_events()) == []


def test_a_broken_subscription_does_not_stop_the_run(w: World) -> None:
    cus = w.engine.create_customer(name="A", currency="USD")
    good = w.engine.subscribe(cus.id, "basic")
    bad = w.engine.subscribe(cus.id, "seats", 2)
    # A catalog that drops the seats plan is refused while a subscription uses it...
    cat = w.engine.catalog
    smaller = cat.model_copy(update={"plans": tuple(p for p in cat.plans if p.id != "seats")})
    with pytest.raises(CatalogError, match="still uses plan 'seats' version 1"):
        w.engine.set_catalog(smaller)
    # ...but if it gets in anyway (written to the store directly), renewing `bad` fails with a
    # clear error while the others still bill.
    from subkit.services.engine import CatalogRecord

    with w.store.begin() as uow:
        rec = uow.get(CatalogRecord, "catalog")
        uow.update(rec.bumped(catalog=smaller))
    report = w.engine.advance(datetime(2027, 6, 1, tzinfo=UTC))
    assert [(sid, code) for sid, code, _ in report.errors] == [(bad.id, "not_found")]
    assert report.conflicts == 0
    assert report.invoices == 2  # good renewed for May and June
    assert w.totals(good.id)[-1] == ("2027-06-01", 1000)
    assert w.engine.get_subscription(bad.id).due_at == datetime(2027, 5, 1, tzinfo=UTC)


def test_previews_write_nothing_and_match_the_real_operation(w: World) -> None:
    cus = w.engine.create_customer(name="A", currency="USD")
    sub = w.engine.subscribe(cus.id, "seats", 4)  # 32.00 for April
    w.engine.change_plan(sub.id, "pro", when="period_end")  # pro is 20.00 < 32.00: scheduled for May 1
    w.clock.travel_to(datetime(2027, 4, 11, tzinfo=UTC))
    events_before = len(w.store.pending_events())
    upcoming = w.engine.upcoming_invoice(sub.id)
    assert upcoming is not None and upcoming.total_minor == 2000  # the scheduled Pro plan
    assert upcoming.period_start == datetime(2027, 5, 1, tzinfo=UTC)
    # cancel now with proration: 20 of 30 April days unused -> 32.00 x 20/30 = 21.33 credited
    preview = w.engine.preview_cancel(sub.id, prorate=True)
    assert [ln.amount_minor for ln in preview] == [-2133]
    assert len(w.store.pending_events()) == events_before
    assert len(w.engine.invoices(cus.id)) == 1
    assert w.engine.get_subscription(sub.id).status == SubscriptionStatus.ACTIVE
    w.engine.cancel(sub.id, at_period_end=False, prorate=True)
    assert list(w.engine.invoices(cus.id)[-1].lines) == preview
    assert w.engine.upcoming_invoice(sub.id) is None


def test_validation_errors_do_not_carry_the_raw_input() -> None:
    from subkit.customer.customer import Customer

    try:
        Customer(id="c", name="A", currency="USD", metadata={"card": 4242424242424242})  # type: ignore[dict-item]
    except ValidationError as e:
        assert e.__context__ is None and e.__cause__ is None
        assert "4242424242424242" not in str(e)
    else:
        raise AssertionError("expected a ValidationError")


def test_relay_delivers_to_a_collecting_publisher(w: World) -> None:
    from subkit.testing import CollectingPublisher

    pub = CollectingPublisher()
    w.engine.publisher = pub
    cus = w.engine.create_customer(name="A", currency="USD")
    w.engine.subscribe(cus.id, "basic")
    assert pub.types() == ["customer.created", "invoice.finalized", "subscription.created"]
    assert w.engine.relay() == 0  # nothing left in the outbox


def test_a_fixed_coupon_is_spent_once_per_cycle_across_invoices(w: World) -> None:
    # 5.00 off once, on Basic (10.00 in advance) + API usage (billed in arrears on the next invoice).
    w.engine.add_coupon(Coupon(id="FIVE1", amount_off={"USD": "5"}, duration="once"))
    cus = w.engine.create_customer(name="A", currency="USD")
    sub = w.engine.subscribe(cus.id, items=[("basic", 1), ("api", 0)], coupon="FIVE1")
    w.engine.record_usage(sub.id, "api_calls", 2000, at=datetime(2027, 4, 10, tzinfo=UTC))  # 4.00
    w.go(datetime(2027, 5, 1, tzinfo=UTC))
    first, second = w.engine.invoices(subscription_id=sub.id)
    assert (first.subtotal_minor, first.discount_minor) == (1000, 500)  # the whole 5.00 on April's fee
    # May invoice: April usage 4.00 (cycle 0: the coupon is spent) + May fee 10.00 (cycle 1: not covered)
    assert (second.subtotal_minor, second.discount_minor, second.total_minor) == (1400, 0, 1400)


def test_a_fixed_coupon_left_over_covers_later_invoices_of_the_same_cycle(w: World) -> None:
    w.engine.add_coupon(Coupon(id="TWELVE", amount_off={"USD": "12"}, duration="once"))
    cus = w.engine.create_customer(name="A", currency="USD")
    sub = w.engine.subscribe(cus.id, items=[("basic", 1), ("api", 0)], coupon="TWELVE")
    w.engine.record_usage(sub.id, "api_calls", 2000, at=datetime(2027, 4, 10, tzinfo=UTC))  # 4.00
    w.go(datetime(2027, 5, 1, tzinfo=UTC))
    first, second = w.engine.invoices(subscription_id=sub.id)
    # 12.00 allowance: 10.00 on the April fee, the 2.00 left on April's usage billed in May.
    assert (first.discount_minor, second.discount_minor, second.total_minor) == (1000, 200, 1200)


def test_stored_instants_are_utc_whatever_the_caller_passes(w: World) -> None:
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    cus = w.engine.create_customer(name="A", currency="USD", timezone="Europe/Berlin")
    sub = w.engine.subscribe(cus.id, "pro", at=datetime(2027, 4, 1, 10, tzinfo=berlin))  # 14-day trial
    assert sub.anchor == datetime(2027, 4, 15, 8, tzinfo=UTC)  # 10:00 CEST = 08:00 UTC
    w.go(datetime(2027, 4, 16, tzinfo=UTC))
    inv = w.engine.invoices(subscription_id=sub.id)[0]
    got = w.engine.get_subscription(sub.id)
    for instant in (
        got.anchor,
        got.period_start,
        got.period_end,
        got.created_at,
        inv.created_at,
        inv.period_start,
    ):
        assert instant is not None and instant.tzinfo is UTC


def test_broken_subscriptions_do_not_block_healthy_ones_behind_them(w: World) -> None:
    from subkit.services.engine import BillingConfig, BillingEngine, CatalogRecord

    engine = BillingEngine(w.store, w.clock, config=BillingConfig(batch_size=2))
    cus = engine.create_customer(name="A", currency="USD")
    broken = [engine.subscribe(cus.id, "seats", 1, at=datetime(2027, 4, 1, tzinfo=UTC)) for _ in range(3)]
    healthy = engine.subscribe(cus.id, "basic", at=datetime(2027, 4, 2, tzinfo=UTC))  # due a day later
    cat = engine.catalog
    with w.store.begin() as uow:  # the seats plan disappears behind the engine's back
        rec = uow.get(CatalogRecord, "catalog")
        uow.update(
            rec.bumped(
                catalog=cat.model_copy(update={"plans": tuple(p for p in cat.plans if p.id != "seats")})
            )
        )
    report = engine.advance(datetime(2027, 5, 3, tzinfo=UTC))
    assert sorted(sid for sid, _, _ in report.errors) == sorted(s.id for s in broken)
    assert w.totals(healthy.id) == [("2027-04-02", 1000), ("2027-05-02", 1000)]


def test_sign_up_and_resume_previews_match_the_real_operations(w: World) -> None:
    cus = w.engine.create_customer(name="A", currency="USD")
    preview = w.engine.preview_subscribe(cus.id, "seats", 3, coupon="Q3", id="sub_new")
    assert [(ln.amount_minor, ln.discount_minor) for ln in preview] == [(2400, 600)]  # 3 x 8.00, 25% off
    assert w.engine.preview_subscribe(cus.id, "pro") == []  # a 14-day trial: nothing to invoice yet
    assert w.engine.invoices(cus.id) == []
    with w.store.begin() as uow:
        assert uow.get(Coupon, "Q3").times_redeemed == 0  # the preview redeemed nothing
    sub = w.engine.subscribe(cus.id, "seats", 3, coupon="Q3", id="sub_new")
    assert list(w.engine.invoices(subscription_id=sub.id)[0].lines) == preview
    w.engine.pause(sub.id)
    w.go(datetime(2027, 5, 11, tzinfo=UTC))
    # May: 31 days, 21 left from the 11th: 24.00 x 21/31 = 16.258 -> 16.26, then 25% off (cycle 1) = 4.07
    lines = w.engine.preview_resume(sub.id)
    assert [(ln.amount_minor, ln.discount_minor) for ln in lines] == [(1626, 407)]
    w.engine.resume(sub.id)
    assert list(w.engine.invoices(subscription_id=sub.id)[-1].lines) == lines
