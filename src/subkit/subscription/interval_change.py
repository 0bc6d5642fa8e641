"""A plan change to another billing interval (monthly to yearly...): the billing anchor resets.

The rule, as Stripe applies it when a subscription's price moves to another interval: the
change starts a new billing cycle at the instant it takes effect. The current period closes
there (unused prepaid time is credited unless proration is ``NONE``; usage so far is billed
in arrears), the anchor becomes that instant, and the new plan's first full period is
invoiced at once, on the same invoice. Renewals then follow the new anchor and interval.

- At ``period_end`` (a scheduled change, or ``auto`` for a cheaper plan) nothing is left to
  credit: the new cycle simply starts where the old one ends.
- During a trial only the items and the interval change; the trial end stays the anchor
  (so does a subscription that ends at that period end).
- Only a subscription with a single item can change interval (all items share one interval);
  a paused one must resume first.

The cycle counter keeps counting (so charge keys stay unique): ``anchor_cycle`` is the cycle
that starts at the anchor, and cycle ``n`` starts at ``anchor + (n - anchor_cycle) * interval``.

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.catalog.catalog import Catalog, Plan, Product
    >>> from subkit.catalog.pricing import FlatFee
    >>> from subkit.core.periods import YEARLY
    >>> from subkit.subscription.machine import create
    >>> from subkit.subscription.model import BillingContext
    >>> ctx = BillingContext(catalog=Catalog(products=(Product(id="app", name="App"),), plans=(
    ...     Plan(id="m", product_id="app", name="Monthly", prices={"USD": FlatFee(flat_amount="10")}),
    ...     Plan(id="y", product_id="app", name="Yearly", interval=YEARLY,
    ...          prices={"USD": FlatFee(flat_amount="100")}),)))
    >>> jan = datetime(2027, 1, 1, tzinfo=UTC)
    >>> sub = create("sub_1", "cus_1", "USD", [("m", 1)], ctx, at=jan).subscription
    >>> out = change_interval(sub, ctx, at=datetime(2027, 2, 1, tzinfo=UTC), plan_id="y")
    >>> [ln.amount_minor for ln in out.invoice_lines], out.subscription.period_end.date().isoformat()
    ([10000], '2028-02-01')
"""

from __future__ import annotations

from datetime import datetime

from subkit.catalog.catalog import BillingTiming
from subkit.core.events import Event, EventType
from subkit.core.inputs import check_quantity
from subkit.core.periods import cycle_start, zone
from subkit.errors import CatalogError, IllegalTransitionError
from subkit.invoice.invoice import BillingReason
from subkit.subscription.lines import (
    advance_lines,
    arrears_lines,
    charge_claims,
    discounted,
    segments_of,
    unused_credits,
    with_changes,
)
from subkit.subscription.model import BillingContext, Outcome, Subscription, SubscriptionStatus
from subkit.subscription.proration import ProrationBehavior

__all__ = ["change_interval"]


def change_interval(
    sub: Subscription,
    ctx: BillingContext,
    *,
    at: datetime,
    item_id: str | None = None,
    plan_id: str | None = None,
    quantity: object = None,
    proration: ProrationBehavior | None = None,
) -> Outcome:
    """Move ``sub`` to ``plan_id`` (another interval) at ``at``: a new cycle, anchored at ``at``.

    See the module docstring for the rule.
    """
    if len(sub.items) != 1:
        raise CatalogError(
            "only a single-item subscription can change billing interval (all items share one)",
            field="plan_id",
        )
    if sub.status == SubscriptionStatus.PAUSED:
        raise IllegalTransitionError(f"subscription {sub.id} is paused; resume it before changing interval")
    it = sub.item(item_id)
    new_plan = ctx.catalog.plan(plan_id, at=at) if plan_id else ctx.catalog.plan(it.plan_id)
    new_plan.price(sub.currency)
    q = it.quantity if quantity is None else check_quantity(quantity)
    items = (it.model_copy(update={"plan_id": new_plan.id, "plan_version": new_plan.version, "quantity": q}),)
    event = Event.of(
        EventType.SUBSCRIPTION_PLAN_CHANGED,
        at,
        sub.id,
        customer_id=sub.customer_id,
        item_id=it.id,
        from_plan=it.plan_id,
        to_plan=new_plan.id,
        from_quantity=str(it.quantity),
        to_quantity=str(q),
    )
    ending = sub.cancel_at_period_end and at >= sub.period_end  # the period end cancels it
    if sub.status == SubscriptionStatus.TRIALING or ending:  # the trial end stays the anchor
        return Outcome(
            subscription=with_changes(sub, items=items, interval=new_plan.interval), events=[event]
        )
    tz = zone(sub.timezone)
    prorate = (proration or sub.proration_behavior) != ProrationBehavior.NONE
    closing, _ = unused_credits(sub.segments, ctx, at, tz, sub.cycle, prorate=prorate)  # the cycle ends here
    if at > sub.period_start:
        closing.extend(arrears_lines(sub, ctx, sub.period_start, at))
    n = sub.cycle + 1
    end = cycle_start(at, new_plan.interval, 1, tz)
    new_sub = with_changes(
        sub,
        items=items,
        interval=new_plan.interval,
        anchor=at,
        anchor_cycle=n,
        cycle=n,
        period_start=at,
        period_end=end,
        segments=(),
    )
    advance = (
        advance_lines(new_sub, ctx, n, at, end, setup=False)
        if new_plan.timing == BillingTiming.ADVANCE
        else []
    )
    lines, discounts = discounted([*closing, *advance], new_sub, ctx)
    new_sub = new_sub.model_copy(update={"segments": tuple(segments_of(lines)), "discounts": discounts})
    events = [
        event,
        Event.of(EventType.SUBSCRIPTION_RENEWED, at, sub.id, customer_id=sub.customer_id, cycle=n),
    ]
    return Outcome(
        subscription=new_sub,
        invoice_lines=lines,
        reason=BillingReason.SUBSCRIPTION_UPDATE,
        period=(at, end),
        events=events,
        claims=[f"cycle:{sub.id}:{n}", *charge_claims(sub, advance)],
    )
