"""Year-long stories, every amount computed by hand in the comments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from subkit.invoice.invoice import BillingReason, LineKind
from subkit.subscription.model import SubscriptionStatus, TrialEndBehavior
from subkit.subscription.proration import Granularity, ProrationBehavior

from .conftest import World

LA = ZoneInfo("America/Los_Angeles")


def test_monthly_plan_anchored_on_jan_31_for_a_year(world: World) -> None:
    world.clock.travel_to(world.at(2027, 1, 31))
    cus = world.engine.create_customer(name="Ada", currency="USD")
    sub = world.engine.subscribe(cus.id, "basic")
    world.go(world.at(2027, 12, 31))
    # 12 cycles of $10, each starting on the anchor's day or the month's last day.
    assert world.totals(sub.id) == [
        ("2027-01-31", 1000),
        ("2027-02-28", 1000),
        ("2027-03-31", 1000),
        ("2027-04-30", 1000),
        ("2027-05-31", 1000),
        ("2027-06-30", 1000),
        ("2027-07-31", 1000),
        ("2027-08-31", 1000),
        ("2027-09-30", 1000),
        ("2027-10-31", 1000),
        ("2027-11-30", 1000),
        ("2027-12-31", 1000),
    ]
    numbers = [i.number for i in world.engine.invoices(cus.id)]
    assert numbers == [f"INV-{n:06d}" for n in range(1, 13)]  # gap-free
    assert world.engine.get_subscription(sub.id).period_end == world.at(2028, 1, 31)


def test_leap_year_feb_29(world: World) -> None:
    world.clock.travel_to(world.at(2028, 1, 31))
    cus = world.engine.create_customer(name="Ada", currency="USD")
    sub = world.engine.subscribe(cus.id, "basic")
    world.go(world.at(2028, 3, 31))
    assert [p for p, _ in world.totals(sub.id)] == ["2028-01-31", "2028-02-29", "2028-03-31"]


def test_annual_plan(world: World) -> None:
    world.clock.travel_to(world.at(2027, 3, 15))
    cus = world.engine.create_customer(name="Ada", currency="USD")
    sub = world.engine.subscribe(cus.id, "annual")
    world.go(world.at(2028, 3, 14))
    assert world.totals(sub.id) == [("2027-03-15", 12000)]
    world.go(world.at(2028, 3, 15))
    assert world.totals(sub.id) == [("2027-03-15", 12000), ("2028-03-15", 12000)]


def test_daily_steps_and_one_jump_give_the_same_invoices() -> None:
    def run(step_days: int | None) -> list[tuple[object, ...]]:
        w = World(datetime(2027, 1, 1, tzinfo=UTC))
        cus = w.engine.create_customer(name="Ada", currency="USD", id="cus_a")
        s1 = w.engine.subscribe(cus.id, "seats", 3, coupon="Q3", at=w.at(2027, 1, 31), id="sub_1")
        w.engine.subscribe(cus.id, "annual", at=w.at(2027, 2, 10), id="sub_2")
        w.engine.change_plan(s1.id, quantity=5, at=w.at(2027, 1, 31, 12), when="now")
        w.engine.cancel("sub_2", at=w.at(2027, 3, 1))
        end = w.at(2028, 1, 1)
        if step_days is None:
            w.go(end)
        else:
            while w.clock.now() < end:
                w.go(min(w.clock.now() + timedelta(days=step_days), end))
        w.engine.advance()  # a second run for the same moment adds nothing
        return [
            (
                i.number,
                i.subscription_id,
                i.period_start,
                i.total_minor,
                tuple(ln.amount_minor for ln in i.lines),
            )
            for i in w.engine.invoices()
        ]

    jump = run(None)
    assert len(jump) == 13  # sub_1: created + 11 renewals (Feb..Dec 31); sub_2: created only
    assert run(1) == jump
    assert run(7) == jump


def test_upgrade_mid_cycle_reference_case(world: World) -> None:
    # $10/month to $20/month exactly halfway through April (30 days: Apr 16 00:00 is 15 days in).
    world.clock.travel_to(world.at(2027, 4, 1))
    cus = world.engine.create_customer(name="Ada", currency="USD")
    sub = world.engine.subscribe(cus.id, "basic")
    world.clock.travel_to(world.at(2027, 4, 16))
    preview = world.engine.preview_change(sub.id, "pro", proration_behavior=ProrationBehavior.ALWAYS_INVOICE)
    world.engine.change_plan(sub.id, "pro", proration_behavior=ProrationBehavior.ALWAYS_INVOICE)
    inv = world.engine.invoices(subscription_id=sub.id)[-1]
    assert [ln.amount_minor for ln in inv.lines] == [-500, 1000]  # credit -5.00, charge +10.00
    assert inv.total_minor == 500  # net +5.00
    assert inv.billing_reason == BillingReason.SUBSCRIPTION_UPDATE
    assert all(ln.kind == LineKind.PRORATION for ln in inv.lines)
    assert preview == list(inv.lines)  # the preview was exact...
    assert len(world.engine.invoices(cus.id)) == 2  # ...and wrote nothing
    world.go(world.at(2027, 5, 1))
    assert world.totals(sub.id)[-1] == ("2027-05-01", 2000)


def test_upgrade_with_prorations_on_the_next_invoice(world: World) -> None:
    world.clock.travel_to(world.at(2027, 4, 1))
    cus = world.engine.create_customer(name="Ada", currency="USD")
    sub = world.engine.subscribe(cus.id, "basic")
    world.clock.travel_to(world.at(2027, 4, 16))
    lines = world.engine.preview_change(sub.id, "pro")
    assert [ln.amount_minor for ln in lines] == [-500, 1000]
    world.engine.change_plan(sub.id, "pro")  # default: create_prorations
    assert len(world.engine.invoices(subscription_id=sub.id)) == 1
    world.go(world.at(2027, 5, 1))
    may = world.engine.invoices(subscription_id=sub.id)[-1]
    # Pro for May (20.00) + credit (-5.00) + charge (+10.00) = 25.00
    assert sorted(ln.amount_minor for ln in may.lines) == [-500, 1000, 2000]
    assert may.total_minor == 2500


def test_downgrade_waits_for_period_end(world: World) -> None:
    world.clock.travel_to(world.at(2027, 4, 1))
    cus = world.engine.create_customer(name="Ada", currency="USD")
    sub = world.engine.subscribe(cus.id, "pro", trial_days=0)
    world.clock.travel_to(world.at(2027, 4, 10))
    after = world.engine.change_plan(sub.id, "basic")  # auto: a downgrade is scheduled
    assert after.items[0].plan_id == "pro" and after.schedule[0].at == world.at(2027, 5, 1)
    world.go(world.at(2027, 6, 1))
    assert world.totals(sub.id) == [("2027-04-01", 2000), ("2027-05-01", 1000), ("2027-06-01", 1000)]
    assert world.engine.invoices(subscription_id=sub.id)[1].lines[0].plan_id == "basic"


def test_downgrade_now_with_credit_goes_to_the_balance(world: World) -> None:
    world.clock.travel_to(world.at(2027, 4, 1))
    cus = world.engine.create_customer(name="Ada", currency="USD")
    sub = world.engine.subscribe(cus.id, "pro", trial_days=0)
    world.clock.travel_to(world.at(2027, 4, 16))
    world.engine.change_plan(sub.id, "basic", when="now", proration_behavior=ProrationBehavior.ALWAYS_INVOICE)
    inv = world.engine.invoices(subscription_id=sub.id)[-1]
    # credit half of 20.00 = -10.00, charge half of 10.00 = +5.00 -> -5.00 to the customer balance
    assert [ln.amount_minor for ln in inv.lines] == [-1000, 500]
    assert inv.total_minor == -500 and inv.amount_due_minor == 0
    assert world.engine.get_customer(cus.id).credit_minor == 500
    world.go(world.at(2027, 5, 1))
    may = world.engine.invoices(subscription_id=sub.id)[-1]
    assert (may.total_minor, may.credit_applied_minor, may.amount_due_minor) == (1000, 500, 500)
    assert world.engine.get_customer(cus.id).credit_minor == 0


def test_coupon_repeating_three_months(world: World) -> None:
    world.clock.travel_to(world.at(2027, 1, 1))
    cus = world.engine.create_customer(name="Ada", currency="USD")
    sub = world.engine.subscribe(cus.id, "seats", 3, coupon="Q3")
    world.go(world.at(2027, 5, 1))
    # 3 seats x 8.00 = 24.00; 25% off for three cycles: 24.00 - 6.00 = 18.00
    assert world.totals(sub.id) == [
        ("2027-01-01", 1800),
        ("2027-02-01", 1800),
        ("2027-03-01", 1800),
        ("2027-04-01", 2400),
        ("2027-05-01", 2400),
    ]
    assert world.engine.invoices(subscription_id=sub.id)[0].discount_minor == 600


def test_trial_converting(world: World) -> None:
    world.clock.travel_to(world.at(2027, 8, 1))
    cus = world.engine.create_customer(name="Ada", currency="USD")
    sub = world.engine.subscribe(cus.id, "pro")  # plan trial: 14 days
    assert sub.status == SubscriptionStatus.TRIALING and sub.trial_end == world.at(2027, 8, 15)
    assert world.engine.invoices(cus.id) == []
    world.go(world.at(2027, 9, 15))
    assert world.totals(sub.id) == [("2027-08-15", 2000), ("2027-09-15", 2000)]
    assert world.engine.get_subscription(sub.id).status == SubscriptionStatus.ACTIVE


def test_trial_without_payment_method(world: World) -> None:
    world.clock.travel_to(world.at(2027, 8, 1))
    cus = world.engine.create_customer(name="Ada", currency="USD")
    canceled = world.engine.subscribe(
        cus.id, "pro", trial_requires_payment_method=True, trial_end_behavior=TrialEndBehavior.CANCEL
    )
    paused = world.engine.subscribe(
        cus.id, "pro", trial_requires_payment_method=True, trial_end_behavior=TrialEndBehavior.PAUSE
    )
    invoiced = world.engine.subscribe(cus.id, "pro", trial_requires_payment_method=True)
    world.go(world.at(2027, 8, 16))
    assert world.engine.get_subscription(canceled.id).status == SubscriptionStatus.CANCELED
    assert world.engine.get_subscription(paused.id).status == SubscriptionStatus.PAUSED
    assert world.engine.get_subscription(invoiced.id).status == SubscriptionStatus.ACTIVE
    assert world.totals(canceled.id) == [] and world.totals(paused.id) == []
    assert world.totals(invoiced.id) == [("2027-08-15", 2000)]
    world.go(world.at(2027, 10, 1))
    assert world.totals(paused.id) == []  # paused periods are not charged
    world.engine.resume(paused.id)
    # resumed Oct 1 in the period [Sep 15, Oct 15): 14 of 30 days left -> 20.00 x 14/30 = 9.333 -> 9.33
    assert world.totals(paused.id) == [("2027-10-01", 933)]


def test_cancel_at_period_end_then_reactivate(world: World) -> None:
    world.clock.travel_to(world.at(2027, 1, 1))
    cus = world.engine.create_customer(name="Ada", currency="USD")
    keep = world.engine.subscribe(cus.id, "basic")
    leave = world.engine.subscribe(cus.id, "basic")
    world.clock.travel_to(world.at(2027, 1, 20))
    world.engine.cancel(keep.id)
    world.engine.cancel(leave.id)
    world.clock.travel_to(world.at(2027, 1, 25))
    world.engine.reactivate(keep.id)
    world.go(world.at(2027, 3, 1))
    assert world.totals(keep.id) == [("2027-01-01", 1000), ("2027-02-01", 1000), ("2027-03-01", 1000)]
    assert world.totals(leave.id) == [("2027-01-01", 1000)]
    ended = world.engine.get_subscription(leave.id)
    assert ended.status == SubscriptionStatus.CANCELED and ended.ended_at == world.at(2027, 2, 1)


def test_cancel_now_with_prorated_credit(world: World) -> None:
    world.clock.travel_to(world.at(2027, 9, 1))
    cus = world.engine.create_customer(name="Ada", currency="USD")
    sub = world.engine.subscribe(cus.id, "pro", trial_days=0)
    world.clock.travel_to(world.at(2027, 9, 16))
    world.engine.cancel(sub.id, at_period_end=False, prorate=True)
    # September has 30 days; 15 unused: 20.00 x 15/30 = 10.00 back to the balance
    assert world.totals(sub.id) == [("2027-09-01", 2000), ("2027-09-01", -1000)]
    assert world.engine.get_customer(cus.id).credit_minor == 1000
    world.go(world.at(2028, 1, 1))
    assert len(world.totals(sub.id)) == 2


def test_customer_in_los_angeles_across_dst(world: World) -> None:
    # Local midnight Mar 1 2027 PST = 08:00 UTC. March in LA lasts 743 h (DST starts Mar 14).
    start = datetime(2027, 3, 1, tzinfo=LA)
    world.clock.travel_to(start)
    cus = world.engine.create_customer(name="Bo", currency="USD", timezone="America/Los_Angeles")
    sub = world.engine.subscribe(cus.id, "la_basic")
    world.clock.travel_to(datetime(2027, 3, 17, 23, tzinfo=LA))
    world.engine.change_plan(sub.id, "la_pro", proration_behavior=ProrationBehavior.ALWAYS_INVOICE)
    inv = world.engine.invoices(subscription_id=sub.id)[-1]
    # 337 h left of 743 (Mar 17 23:00 PDT -> Apr 1 00:00 PDT = 14 d 1 h).
    # credit 31.00 x 337/743 = 14.0606 -> 14.06; charge 62.00 x 337/743 = 28.1211 -> 28.12
    assert [ln.amount_minor for ln in inv.lines] == [-1406, 2812]
    world.go(datetime(2027, 12, 15, tzinfo=LA))
    starts = [
        i.period_start
        for i in world.engine.invoices(subscription_id=sub.id)
        if i.billing_reason.value == "subscription_cycle"
    ]
    # Every renewal at local midnight of the 1st, whatever the UTC offset.
    assert [(s.astimezone(LA).day, s.astimezone(LA).hour) for s in starts] == [(1, 0)] * 9
    # In UTC: 07:00 while on PDT (Apr 1 .. Nov 1; DST ends Nov 7 2027), 08:00 on PST (Dec 1).
    assert [s.hour for s in starts] == [7, 7, 7, 7, 7, 7, 7, 7, 8]


def test_day_granularity_in_the_customer_time_zone() -> None:
    from subkit.services.engine import BillingConfig, BillingEngine
    from subkit.testing import InMemoryStore, TestClock

    from .conftest import catalog

    clock = TestClock(datetime(2027, 3, 1, tzinfo=LA))
    engine = BillingEngine(InMemoryStore(), clock, config=BillingConfig(granularity=Granularity.DAY))
    engine.set_catalog(catalog())
    cus = engine.create_customer(name="Bo", currency="USD", timezone="America/Los_Angeles")
    sub = engine.subscribe(cus.id, "la_basic")
    clock.travel_to(datetime(2027, 3, 17, 23, tzinfo=LA))  # already Mar 18 in UTC
    engine.change_plan(sub.id, "la_pro", proration_behavior=ProrationBehavior.ALWAYS_INVOICE)
    # Local days left, Mar 17..31 = 15 of 31: credit 31.00 x 15/31 = 15.00; charge 62.00 x 15/31 = 30.00
    assert [ln.amount_minor for ln in engine.invoices(subscription_id=sub.id)[-1].lines] == [-1500, 3000]


def test_metered_usage_billed_in_arrears(world: World) -> None:
    world.clock.travel_to(world.at(2027, 1, 1))
    cus = world.engine.create_customer(name="Ada", currency="USD")
    sub = world.engine.subscribe(cus.id, items=[("basic", 1), ("api", 0)])
    for day, qty in [(3, 1000), (10, 2500), (31, 500)]:
        world.engine.record_usage(sub.id, "api_calls", qty, at=world.at(2027, 1, day), id=f"evt_{day}")
    world.engine.record_usage(
        sub.id, "api_calls", 1000, at=world.at(2027, 1, 3), id="evt_3"
    )  # duplicate: ignored
    world.engine.record_usage(sub.id, "api_calls", 700, at=world.at(2027, 2, 1), id="evt_feb")
    world.go(world.at(2027, 2, 1))
    feb = world.engine.invoices(subscription_id=sub.id)[-1]
    usage = [ln for ln in feb.lines if ln.kind == LineKind.USAGE]
    # January: 1000 + 2500 + 500 = 4000 calls x 0.002 = 8.00 (the Feb 1 event belongs to February)
    assert [(ln.quantity, ln.amount_minor) for ln in usage] == [(4000, 800)]
    assert feb.total_minor == 1000 + 800
