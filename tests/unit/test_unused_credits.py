"""``unused_credits``: the one loop that credits the unused time of running charges (plan, seat or
interval change, cancellation now), checked with figures computed by hand.

The rules (docs/proration.md): remaining fraction by exact seconds (default) or by the customer's
calendar days, credit = net paid x fraction rounded half up, never more than is left uncredited.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from subkit.catalog.catalog import Catalog, Plan, Product
from subkit.catalog.pricing import FlatFee
from subkit.core.periods import MONTHLY, UTC, cycle_period
from subkit.invoice.invoice import LineKind
from subkit.subscription.lines import unused_credits
from subkit.subscription.model import BillingContext, ChargeSegment
from subkit.subscription.proration import Granularity

CATALOG = Catalog(
    products=(Product(id="app", name="App"),),
    plans=(
        Plan(id="pro", product_id="app", name="Pro", prices={"USD": FlatFee(flat_amount="30")}),
        Plan(id="seat", product_id="app", name="Seat", prices={"USD": FlatFee(flat_amount="5")}),
    ),
)
CTX = BillingContext(catalog=CATALOG)
NY = ZoneInfo("America/New_York")


def seg(
    start: datetime,
    end: datetime,
    net_minor: int,
    *,
    item_id: str = "si_1",
    plan_id: str = "pro",
    credited_minor: int = 0,
) -> ChargeSegment:
    return ChargeSegment(
        item_id=item_id,
        plan_id=plan_id,
        start=start,
        end=end,
        net_minor=net_minor,
        credited_minor=credited_minor,
    )


def utc(*ymd: int) -> datetime:
    return datetime(*ymd, tzinfo=UTC)


def test_a_change_on_january_11_credits_21_of_31_days() -> None:
    # $30.00 paid for [Jan 1, Feb 1) 2027 (31 days); changed Jan 11 00:00 UTC: Jan 11 -> Feb 1 is
    # 21 days left. 3000 x 21/31 = 63000/31 = 2032.258... -> 2032 (half up; half even gives the same).
    january = seg(utc(2027, 1, 1), utc(2027, 2, 1), 3000)
    lines, (cut,) = unused_credits((january,), CTX, utc(2027, 1, 11), UTC, 0)
    assert [(ln.amount_minor, ln.kind, ln.item_id, ln.plan_id, ln.cycle) for ln in lines] == [
        (-2032, LineKind.PRORATION, "si_1", "pro", 0)
    ]
    assert (lines[0].period_start, lines[0].period_end) == (utc(2027, 1, 11), utc(2027, 2, 1))
    assert lines[0].description == "Unused time on Pro after 2027-01-11"
    assert (cut.credited_minor, cut.cut_at, cut.effective_end) == (2032, utc(2027, 1, 11), utc(2027, 1, 11))
    # by calendar days the same: (Feb 1 - Jan 11) / (Feb 1 - Jan 1) = 21/31
    day = BillingContext(catalog=CATALOG, granularity=Granularity.DAY)
    assert [ln.amount_minor for ln in unused_credits((january,), day, utc(2027, 1, 11), UTC, 0)[0]] == [-2032]


def test_month_end_anchor_february_and_a_tie_rounded_half_up() -> None:
    # Anchored on Jan 31, cycle 0 ends on the last day of February: [Jan 31, Feb 28), 28 days.
    period = cycle_period(utc(2027, 1, 31), MONTHLY, 0, UTC)
    assert (period.start, period.end) == (utc(2027, 1, 31), utc(2027, 2, 28))
    # Changed Feb 10: 18 of 28 days left. 3000 x 18/28 = 1928.571... -> 1929.
    feb = seg(period.start, period.end, 3000)
    assert [ln.amount_minor for ln in unused_credits((feb,), CTX, utc(2027, 2, 10), UTC, 0)[0]] == [-1929]
    # Changed Feb 14: exactly half. $30.01 x 14/28 = 1500.5 -> 1501 half up (half even would give 1500).
    tie = seg(period.start, period.end, 3001)
    assert [ln.amount_minor for ln in unused_credits((tie,), CTX, utc(2027, 2, 14), UTC, 0)[0]] == [-1501]


def test_a_new_york_customer_across_the_march_2027_clock_change() -> None:
    # [Mar 1 00:00 EST, Apr 1 00:00 EDT) = [05:00Z Mar 1, 04:00Z Apr 1): 31 days less the hour
    # lost on Sunday Mar 14, 2027 = 743 hours. $99.00 paid.
    period = cycle_period(datetime(2027, 3, 1, tzinfo=NY), MONTHLY, 0, NY)
    assert (period.start, period.end) == (utc(2027, 3, 1, 5), utc(2027, 4, 1, 4))
    march = seg(period.start, period.end, 9900)
    at = datetime(2027, 3, 15, 22, 0, tzinfo=NY)  # = 02:00Z Mar 16: already the 16th in UTC
    # Seconds (the default): 02:00Z Mar 16 -> 04:00Z Apr 1 = 16 days + 2 h = 386 h of 743 h.
    # 9900 x 386/743 = 3821400/743 = 5143.203... -> 5143.
    lines, (cut,) = unused_credits((march,), CTX, at, NY, 0)
    assert [ln.amount_minor for ln in lines] == [-5143]
    assert lines[0].description == "Unused time on Pro after 2027-03-15"  # the customer's date
    assert (cut.credited_minor, cut.cut_at) == (5143, at)
    # Days in the customer's calendar: Mar 15 (the day of the change counts) to Mar 31 = 17 of
    # March's 31 days. 9900 x 17/31 = 168300/31 = 5429.03... -> 5429.
    day = BillingContext(catalog=CATALOG, granularity=Granularity.DAY)
    assert [ln.amount_minor for ln in unused_credits((march,), day, at, NY, 0)[0]] == [-5429]


def test_only_running_segments_of_the_item_are_credited_and_cut() -> None:
    jan1, feb1, at = utc(2027, 1, 1), utc(2027, 2, 1), utc(2027, 1, 11)
    pro = seg(jan1, feb1, 3000)
    seats = seg(jan1, feb1, 500, item_id="si_2", plan_id="seat")
    already = seg(jan1, feb1, 3000).model_copy(update={"cut_at": utc(2027, 1, 5)})  # cut before ``at``
    later = seg(feb1, utc(2027, 3, 1), 3000)  # starts after ``at``
    lines, out = unused_credits((pro, seats, already, later), CTX, at, UTC, 4, item_id="si_1")
    assert [(ln.item_id, ln.amount_minor, ln.cycle) for ln in lines] == [("si_1", -2032, 4)]
    assert out == (pro.model_copy(update={"credited_minor": 2032, "cut_at": at}), seats, already, later)
    # every item: the seats too, 500 x 21/31 = 338.709... -> 339
    lines, out = unused_credits((pro, seats), CTX, at, UTC, 4)
    assert [(ln.item_id, ln.amount_minor) for ln in lines] == [("si_1", -2032), ("si_2", -339)]


def test_without_proration_running_segments_are_cut_and_nothing_is_credited() -> None:
    january = seg(utc(2027, 1, 1), utc(2027, 2, 1), 3000)
    lines, (cut,) = unused_credits((january,), CTX, utc(2027, 1, 11), UTC, 0, prorate=False)
    assert (lines, cut.credited_minor, cut.cut_at) == ([], 0, utc(2027, 1, 11))


def test_a_credit_never_exceeds_what_is_left_uncredited() -> None:
    # 2032 would be due (21/31 of 30.00) but 2900 of the 3000 paid were credited already: 100 left.
    january = seg(utc(2027, 1, 1), utc(2027, 2, 1), 3000, credited_minor=2900)
    lines, (cut,) = unused_credits((january,), CTX, utc(2027, 1, 11), UTC, 0)
    assert ([ln.amount_minor for ln in lines], cut.credited_minor) == ([-100], 3000)
    # a charge of nothing (a trial, a 100% coupon) gives no line, but is still cut
    free = seg(utc(2027, 1, 1), utc(2027, 2, 1), 0)
    lines, (cut,) = unused_credits((free,), CTX, utc(2027, 1, 11), UTC, 0)
    assert (lines, cut.credited_minor, cut.cut_at) == ([], 0, utc(2027, 1, 11))


@given(
    net=st.integers(min_value=0, max_value=10**9),
    credited=st.integers(min_value=0, max_value=10**9),
    seconds=st.integers(min_value=0, max_value=31 * 86400 - 1),
)
def test_credits_stay_within_what_was_paid(net: int, credited: int, seconds: int) -> None:
    credited = min(credited, net)
    start = utc(2027, 1, 1)
    at = start + timedelta(seconds=seconds)
    lines, (cut,) = unused_credits(
        (seg(start, utc(2027, 2, 1), net, credited_minor=credited),), CTX, at, UTC, 0
    )
    credit = -sum(ln.amount_minor for ln in lines)
    assert 0 <= credit <= net - credited
    assert cut.credited_minor == credited + credit <= net
    assert cut.effective_end == at
    # uncapped, it is the share of the 31 days left, rounded half up: (2 x net x left + total) // (2 x total)
    left, total = 31 * 86400 - seconds, 31 * 86400
    assert credit == min((2 * net * left + total) // (2 * total), net - credited)
