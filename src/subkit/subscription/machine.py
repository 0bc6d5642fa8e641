"""The subscription state machine: every lifecycle command as a pure function over values.

Each operation takes a :class:`Subscription`, a :class:`BillingContext` and an instant,
and returns an :class:`Outcome`: the new subscription, the invoice lines it produced
(to invoice now, or to hold for the next invoice), and its domain events. Nothing here
reads a clock or a store: :class:`subkit.services.engine.BillingEngine` does that.

Status transitions::

    trialing -> active | canceled | paused          (trial end, per TrialEndBehavior)
    active   -> past_due -> active | unpaid | canceled   (payments, see subkit.payment.dunning)
    active   -> paused -> active                    (pause / resume)
    any live -> canceled                            (cancel now, or at period end)

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.catalog.catalog import Catalog, Plan, Product
    >>> from subkit.catalog.pricing import FlatFee
    >>> cat = Catalog(products=(Product(id="app", name="App"),), plans=(
    ...     Plan(id="basic", product_id="app", name="Basic", prices={"USD": FlatFee(flat_amount="10")}),
    ...     Plan(id="pro", product_id="app", name="Pro", prices={"USD": FlatFee(flat_amount="20")})))
    >>> ctx = BillingContext(catalog=cat)
    >>> at = datetime(2027, 4, 1, tzinfo=UTC)
    >>> out = create("sub_1", "cus_1", "USD", [("basic", 1)], ctx, at=at)
    >>> [ln.amount_minor for ln in out.invoice_lines]
    [1000]
    >>> out = change_items(out.subscription, ctx, at=datetime(2027, 4, 16, tzinfo=UTC),
    ...                    plan_id="pro", proration=ProrationBehavior.ALWAYS_INVOICE)
    >>> [ln.amount_minor for ln in out.invoice_lines]  # credit half of 10, charge half of 20
    [-500, 1000]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from subkit.catalog.catalog import BillingTiming
from subkit.core.events import Event, EventType
from subkit.core.money import decimal_of
from subkit.core.periods import UTC, cycle_period, cycle_start, ensure_aware, zone
from subkit.errors import CatalogError, IllegalTransitionError, ValidationError
from subkit.invoice.discounts import AppliedDiscount, Coupon
from subkit.invoice.invoice import BillingReason
from subkit.subscription.interval_change import change_interval
from subkit.subscription.lines import (
    advance_lines,
    arrears_lines,
    charge_claims,
    discounted,
    full_amount,
    next_due,
    plan_of,
    plans_of,
    remaining_line,
    segments_of,
    unused_credits,
    with_changes,
)
from subkit.subscription.model import (
    LIVE,
    BillingContext,
    ChangeAction,
    Outcome,
    ScheduledChange,
    Subscription,
    SubscriptionItem,
    SubscriptionStatus,
    TrialEndBehavior,
)
from subkit.subscription.proration import ProrationBehavior

__all__ = [
    "cancel",
    "change_items",
    "create",
    "is_upgrade",
    "pause",
    "reactivate",
    "resume",
    "run_due_action",
    "schedule_change",
]


_QUANTITIES: dict[str, Decimal] = {}


def _shared(q: Decimal) -> Decimal:
    """One shared ``Decimal`` per distinct quantity as written (``1`` and ``1.0`` stay apart)."""
    key = str(q)
    found = _QUANTITIES.get(key)
    if found is None and len(_QUANTITIES) < 4096:
        found = _QUANTITIES[key] = q
    return found if found is not None else q


# --------------------------------------------------------------------------- operations
def create(
    sub_id: str,
    customer_id: str,
    currency: str,
    items: Sequence[tuple[str, object]],
    ctx: BillingContext,
    *,
    at: datetime,
    timezone: str = "UTC",
    trial_days: int | None = None,
    trial_requires_payment_method: bool = False,
    trial_end_behavior: TrialEndBehavior = TrialEndBehavior.CREATE_INVOICE,
    coupons: Sequence[Coupon] = (),
    proration_behavior: ProrationBehavior = ProrationBehavior.CREATE_PRORATIONS,
    payment_method_id: str | None = None,
    metadata: Mapping[str, str] | None = None,
) -> Outcome:
    """Start a subscription at ``at``: a trial, or the first period invoiced in advance.

    ``items`` are ``(plan_id, quantity)``; plans are pinned to the version effective at
    ``at``. Without ``trial_days`` the base plan's trial length applies.
    """
    at = ensure_aware(at).astimezone(UTC)  # stored instants are UTC
    if not items:
        raise ValidationError("a subscription needs at least one item", field="items")
    tz = zone(timezone)
    sub_items = []
    plans = []
    for n, (plan_id, qty) in enumerate(items):
        plan = ctx.catalog.plan(plan_id, at=at)
        q = _shared(decimal_of(qty, "quantity"))
        if q < 0:
            raise ValidationError("quantity must not be negative", field="quantity")
        plan.price(currency)
        plans.append(plan)
        sub_items.append(
            SubscriptionItem(id=f"{sub_id}_si{n}", plan_id=plan.id, plan_version=plan.version, quantity=q)
        )
    intervals = {p.interval for p in plans}
    if len(intervals) != 1:
        raise CatalogError("all items of a subscription must share one billing interval", field="items")
    interval = plans[0].interval
    days = plans[0].trial_days if trial_days is None else trial_days
    if days < 0:
        raise ValidationError("trial_days must not be negative", field="trial_days")
    for c in coupons:
        c.check_redeemable(at, [p.id for p in plans], currency)
    if coupons:
        ctx = replace(ctx, coupons={**ctx.coupons, **{c.id: c for c in coupons}})
    discounts = tuple(AppliedDiscount(coupon_id=c.id, start_cycle=0) for c in coupons)
    base = dict(
        id=sub_id,
        version=1,
        customer_id=customer_id,
        currency=currency,
        timezone=timezone,
        items=tuple(sub_items),
        interval=interval,
        created_at=at,
        trial_requires_payment_method=trial_requires_payment_method,
        trial_end_behavior=trial_end_behavior,
        discounts=discounts,
        proration_behavior=proration_behavior,
        payment_method_id=payment_method_id,
        metadata=dict(metadata or {}),
    )
    events = [Event.of(EventType.SUBSCRIPTION_CREATED, at, sub_id, customer_id=customer_id, status="")]
    if days:
        trial_end = (at.astimezone(tz) + relativedelta(days=days)).astimezone(UTC)
        sub = Subscription(
            **base,
            status=SubscriptionStatus.TRIALING,
            anchor=trial_end,
            cycle=-1,
            period_start=at,
            period_end=trial_end,
            trial_start=at,
            trial_end=trial_end,
        )
        sub = sub.model_copy(update={"due_at": next_due(sub)})
        events[0] = Event.of(
            EventType.SUBSCRIPTION_CREATED, at, sub_id, customer_id=customer_id, status="trialing"
        )
        return Outcome(subscription=sub, events=events)
    period = cycle_period(at, interval, 0, tz)
    sub = Subscription(
        **base,
        status=SubscriptionStatus.ACTIVE,
        anchor=at,
        cycle=0,
        period_start=period.start,
        period_end=period.end,
    )
    lines, discounts = discounted(advance_lines(sub, ctx, 0, period.start, period.end, setup=True), sub, ctx)
    sub = sub.model_copy(
        update={"segments": tuple(segments_of(lines)), "due_at": period.end, "discounts": discounts}
    )
    events[0] = Event.of(EventType.SUBSCRIPTION_CREATED, at, sub_id, customer_id=customer_id, status="active")
    return Outcome(
        subscription=sub,
        invoice_lines=lines,
        reason=BillingReason.SUBSCRIPTION_CREATE,
        period=(period.start, period.end),
        events=events,
        claims=[f"cycle:{sub_id}:0", *charge_claims(sub, lines)],
    )


def is_upgrade(
    sub: Subscription,
    ctx: BillingContext,
    item_id: str | None,
    plan_id: str | None,
    quantity: object,
    at: datetime | None = None,
) -> bool:
    """Whether a change raises the item's full-period price (an upgrade takes effect now)."""
    it = sub.item(item_id)
    old = full_amount(plan_of(ctx, it), sub.currency, it.quantity)
    new_plan = ctx.catalog.plan(plan_id, at=at) if plan_id else plan_of(ctx, it)
    q = it.quantity if quantity is None else decimal_of(quantity, "quantity")
    return full_amount(new_plan, sub.currency, q) >= old


def change_items(
    sub: Subscription,
    ctx: BillingContext,
    *,
    at: datetime,
    item_id: str | None = None,
    plan_id: str | None = None,
    quantity: object = None,
    proration: ProrationBehavior | None = None,
) -> Outcome:
    """Change an item's plan and/or quantity now, prorating the rest of the period.

    Unused time of what was charged is credited (never more than was paid for it); the
    new price is charged for the remaining time of the period. With ``ALWAYS_INVOICE`` the
    lines are invoiced now, with ``CREATE_PRORATIONS`` they wait for the next invoice.
    """
    ensure_aware(at)
    if sub.status not in LIVE and sub.status != SubscriptionStatus.PAUSED:
        raise IllegalTransitionError(f"subscription {sub.id} is {sub.status.value}; it cannot be changed")
    if not sub.period_start <= at <= sub.period_end:
        raise ValidationError(
            f"{at.isoformat()} is outside the current period {sub.period_start.isoformat()}–"
            f"{sub.period_end.isoformat()}",
            field="at",
        )
    it = sub.item(item_id)
    new_plan = ctx.catalog.plan(plan_id, at=at) if plan_id else plan_of(ctx, it)
    new_plan.price(sub.currency)
    if new_plan.interval != sub.interval:  # the anchor resets: a new cycle starts at ``at``
        return change_interval(
            sub, ctx, at=at, item_id=item_id, plan_id=plan_id, quantity=quantity, proration=proration
        )
    q = it.quantity if quantity is None else decimal_of(quantity, "quantity")
    if q < 0:
        raise ValidationError("quantity must not be negative", field="quantity")
    new_item = it.model_copy(update={"plan_id": new_plan.id, "plan_version": new_plan.version, "quantity": q})
    items = tuple(new_item if x.id == it.id else x for x in sub.items)
    mode = proration or sub.proration_behavior
    etype = (
        EventType.SUBSCRIPTION_PLAN_CHANGED
        if new_plan.id != it.plan_id
        else EventType.SUBSCRIPTION_QUANTITY_CHANGED
    )
    event = Event.of(
        etype,
        at,
        sub.id,
        customer_id=sub.customer_id,
        item_id=it.id,
        from_plan=it.plan_id,
        to_plan=new_plan.id,
        from_quantity=str(it.quantity),
        to_quantity=str(q),
    )
    charged = sub.status != SubscriptionStatus.TRIALING and new_plan.timing == BillingTiming.ADVANCE
    if mode == ProrationBehavior.NONE or not charged or at >= sub.period_end:
        return Outcome(subscription=with_changes(sub, items=items), events=[event])
    tz = zone(sub.timezone)
    lines, kept = unused_credits(sub.segments, ctx, at, tz, sub.cycle, item_id=it.id)
    charge = remaining_line(sub, ctx, new_plan, it.id, q, at, tz)
    if charge.amount_minor:
        lines.append(charge)
    lines, discounts = discounted(lines, sub, ctx)
    segments = (*kept, *segments_of(lines))
    new_sub = with_changes(sub, items=items, segments=segments, discounts=discounts)
    out = Outcome(subscription=new_sub, events=[event], claims=charge_claims(sub, lines))
    if mode == ProrationBehavior.ALWAYS_INVOICE:
        out.invoice_lines = lines
        out.reason = BillingReason.SUBSCRIPTION_UPDATE
        out.period = (at, sub.period_end)
    else:
        out.pending_lines = lines
    return out


def schedule_change(
    sub: Subscription,
    ctx: BillingContext,
    *,
    at: datetime,
    when: datetime,
    item_id: str | None = None,
    plan_id: str | None = None,
    quantity: object = None,
    proration: ProrationBehavior | None = None,
) -> Outcome:
    """Record a change to apply at ``when`` (e.g. a downgrade at period end), with its proration."""
    ensure_aware(when, "when")
    if sub.status not in LIVE and sub.status != SubscriptionStatus.PAUSED:
        raise IllegalTransitionError(f"subscription {sub.id} is {sub.status.value}; it cannot be changed")
    if when < at:
        raise ValidationError("a change cannot be scheduled in the past", field="when")
    it = sub.item(item_id)
    if plan_id:
        plan = ctx.catalog.plan(plan_id)
        plan.price(sub.currency)
        if plan.interval != sub.interval and len(sub.items) != 1:
            raise CatalogError(
                "only a single-item subscription can change billing interval (all items share one)",
                field="plan_id",
            )
    q = None if quantity is None else decimal_of(quantity, "quantity")
    change = ScheduledChange(at=when, item_id=it.id, plan_id=plan_id, quantity=q, proration=proration)
    # one pending change per item and instant: a second call replaces the first (never stacks)
    kept = [
        c for c in sub.schedule if not (c.at == when and c.item_id == it.id and c.action == change.action)
    ]
    schedule = tuple(sorted((*kept, change), key=lambda c: c.at))
    event = Event.of(
        EventType.SUBSCRIPTION_CHANGE_SCHEDULED,
        at,
        sub.id,
        customer_id=sub.customer_id,
        effective_at=when.isoformat(),
        to_plan=plan_id,
        to_quantity=None if q is None else str(q),
    )
    return Outcome(subscription=with_changes(sub, schedule=schedule), events=[event])


def cancel(
    sub: Subscription,
    ctx: BillingContext,
    *,
    at: datetime,
    at_period_end: bool = True,
    prorate: bool = False,
) -> Outcome:
    """Cancel at period end (default) or now; now with ``prorate`` credits unused time.

    A cancellation now invoices at once whatever is owed (usage so far, pending items,
    and the credit when prorating); a net credit goes to the customer's balance.
    """
    ensure_aware(at)
    if sub.status == SubscriptionStatus.CANCELED:
        raise IllegalTransitionError(f"subscription {sub.id} is already canceled")
    if at_period_end:
        if sub.cancel_at_period_end:
            raise IllegalTransitionError(f"subscription {sub.id} is already set to cancel at period end")
        ev = Event.of(
            EventType.SUBSCRIPTION_CANCEL_SCHEDULED,
            at,
            sub.id,
            customer_id=sub.customer_id,
            effective_at=sub.period_end.isoformat(),
        )
        return Outcome(subscription=with_changes(sub, cancel_at_period_end=True, canceled_at=at), events=[ev])
    lines, segments = unused_credits(sub.segments, ctx, at, zone(sub.timezone), sub.cycle, prorate=prorate)
    discounts = sub.discounts
    if sub.status != SubscriptionStatus.TRIALING and at > sub.period_start:
        usage, discounts = discounted(arrears_lines(sub, ctx, sub.period_start, at), sub, ctx)
        lines.extend(usage)
    new_sub = with_changes(
        sub,
        discounts=discounts,
        status=SubscriptionStatus.CANCELED,
        canceled_at=at,
        ended_at=at,
        segments=segments,
        schedule=(),
        cancel_at_period_end=False,
    )
    ev = Event.of(EventType.SUBSCRIPTION_CANCELED, at, sub.id, customer_id=sub.customer_id, prorated=prorate)
    return Outcome(
        subscription=new_sub,
        invoice_lines=lines,
        reason=BillingReason.SUBSCRIPTION_CANCEL,
        period=(sub.period_start, at) if at > sub.period_start else None,
        events=[ev],
    )


def reactivate(sub: Subscription, *, at: datetime) -> Outcome:
    """Undo a cancellation at period end, before the period ends."""
    if sub.status == SubscriptionStatus.CANCELED:
        raise IllegalTransitionError(
            f"subscription {sub.id} ended on {sub.ended_at.isoformat() if sub.ended_at else '?'}; "
            "start a new subscription instead"
        )
    if not sub.cancel_at_period_end:
        raise IllegalTransitionError(f"subscription {sub.id} is not set to cancel; nothing to reactivate")
    ev = Event.of(EventType.SUBSCRIPTION_REACTIVATED, at, sub.id, customer_id=sub.customer_id)
    return Outcome(subscription=with_changes(sub, cancel_at_period_end=False, canceled_at=None), events=[ev])


def pause(sub: Subscription, *, at: datetime, resume_at: datetime | None = None) -> Outcome:
    """Pause billing: renewals while paused charge nothing; the paid period is not credited."""
    if sub.status not in (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE):
        raise IllegalTransitionError(
            f"subscription {sub.id} is {sub.status.value}; only active ones can pause"
        )
    if resume_at is not None and resume_at <= at:
        raise ValidationError("resume_at must be after the pause", field="resume_at")
    ev = Event.of(EventType.SUBSCRIPTION_PAUSED, at, sub.id, customer_id=sub.customer_id)
    return Outcome(
        subscription=with_changes(sub, status=SubscriptionStatus.PAUSED, paused_at=at, resume_at=resume_at),
        events=[ev],
    )


def resume(sub: Subscription, ctx: BillingContext, *, at: datetime) -> Outcome:
    """Resume a paused subscription; a period not yet paid is charged prorated from ``at``."""
    if sub.status != SubscriptionStatus.PAUSED:
        raise IllegalTransitionError(
            f"subscription {sub.id} is {sub.status.value}; only paused ones can resume"
        )
    sub2 = with_changes(sub, status=SubscriptionStatus.ACTIVE, paused_at=None, resume_at=None)
    ev = Event.of(EventType.SUBSCRIPTION_RESUMED, at, sub.id, customer_id=sub.customer_id)
    if sub.segments or at >= sub.period_end:
        return Outcome(subscription=sub2, events=[ev])
    tz = zone(sub.timezone)
    lines = []
    for it in sub.items:
        plan = plan_of(ctx, it)
        if plan.timing == BillingTiming.ADVANCE:
            lines.append(remaining_line(sub, ctx, plan, it.id, it.quantity, at, tz))
    lines, discounts = discounted([ln for ln in lines if ln.amount_minor], sub, ctx)
    sub2 = sub2.model_copy(update={"segments": tuple(segments_of(lines)), "discounts": discounts})
    return Outcome(
        subscription=sub2,
        invoice_lines=lines,
        reason=BillingReason.SUBSCRIPTION_UPDATE,
        period=(at, sub.period_end),
        events=[ev],
        claims=charge_claims(sub, lines),
    )


def run_due_action(sub: Subscription, ctx: BillingContext) -> Outcome:
    """Do what is due at ``sub.due_at``: a scheduled change, a resume, or the period end.

    At a period end: a trial converts (or cancels/pauses without a payment method), a
    cancellation at period end takes effect, a paused subscription skips the period,
    otherwise the subscription renews: usage of the ending period is billed in arrears
    and the next period in advance, on one invoice.
    """
    at = sub.due_at
    if at is None:
        raise IllegalTransitionError(f"subscription {sub.id} has nothing due")
    if sub.schedule and sub.schedule[0].at == at:
        change, rest = sub.schedule[0], sub.schedule[1:]
        sub = sub.model_copy(update={"schedule": rest})
        if change.action == ChangeAction.CANCEL:
            return cancel(sub, ctx, at=at, at_period_end=False)
        return change_items(
            sub,
            ctx,
            at=at,
            item_id=change.item_id,
            plan_id=change.plan_id,
            quantity=change.quantity,
            proration=change.proration,
        )
    if sub.status == SubscriptionStatus.PAUSED and sub.resume_at == at:
        return resume(sub, ctx, at=at)
    return _period_end(sub, ctx, at)


def _period_end(sub: Subscription, ctx: BillingContext, at: datetime) -> Outcome:
    tz = zone(sub.timezone)
    status = sub.status
    plans = plans_of(sub, ctx)
    arrears = (
        []
        if status == SubscriptionStatus.TRIALING
        else arrears_lines(sub, ctx, sub.period_start, at, plans=plans)
    )
    if sub.cancel_at_period_end:
        arrears, discounts = discounted(arrears, sub, ctx)
        new_sub = with_changes(
            sub,
            status=SubscriptionStatus.CANCELED,
            ended_at=at,
            cancel_at_period_end=False,
            discounts=discounts,
        )
        ev = Event.of(
            EventType.SUBSCRIPTION_CANCELED, at, sub.id, customer_id=sub.customer_id, prorated=False
        )
        return Outcome(
            subscription=new_sub,
            invoice_lines=arrears,
            reason=BillingReason.SUBSCRIPTION_CANCEL,
            period=(sub.period_start, at),
            events=[ev],
        )
    n = sub.cycle + 1
    # Cycle n starts where the current period ends (both come from the anchor); only its end is new.
    start, end = sub.period_end, cycle_start(sub.anchor, sub.interval, n + 1 - sub.anchor_cycle, tz)
    events = []
    setup = False
    if status == SubscriptionStatus.TRIALING:
        events.append(Event.of(EventType.SUBSCRIPTION_TRIAL_ENDED, at, sub.id, customer_id=sub.customer_id))
        setup = True
        if sub.trial_requires_payment_method and not ctx.has_payment_method:
            if sub.trial_end_behavior == TrialEndBehavior.CANCEL:
                ended = with_changes(sub, status=SubscriptionStatus.CANCELED, ended_at=at, canceled_at=at)
                events.append(
                    Event.of(EventType.SUBSCRIPTION_CANCELED, at, sub.id, customer_id=sub.customer_id)
                )
                return Outcome(subscription=ended, events=events)
            if sub.trial_end_behavior == TrialEndBehavior.PAUSE:
                paused = with_changes(
                    sub,
                    status=SubscriptionStatus.PAUSED,
                    paused_at=at,
                    cycle=n,
                    period_start=start,
                    period_end=end,
                    segments=(),
                )
                events.append(
                    Event.of(EventType.SUBSCRIPTION_PAUSED, at, sub.id, customer_id=sub.customer_id)
                )
                return Outcome(subscription=paused, events=events)
        status = SubscriptionStatus.ACTIVE
        events.append(Event.of(EventType.SUBSCRIPTION_ACTIVATED, at, sub.id, customer_id=sub.customer_id))
    if status == SubscriptionStatus.PAUSED:
        new_sub = with_changes(sub, segments=(), cycle=n, period_start=start, period_end=end)
        return Outcome(subscription=new_sub, events=events)
    advance = advance_lines(sub, ctx, n, start, end, setup=setup, plans=plans)
    lines = [*arrears, *advance] if arrears else advance
    discounts = sub.discounts
    if discounts:
        lines, discounts = discounted(lines, sub, ctx)
    new_sub = with_changes(
        sub,
        status=status,
        segments=tuple(segments_of(lines)),
        discounts=discounts,
        cycle=n,
        period_start=start,
        period_end=end,
    )
    events.append(Event.of(EventType.SUBSCRIPTION_RENEWED, at, sub.id, customer_id=sub.customer_id, cycle=n))
    return Outcome(
        subscription=new_sub,
        invoice_lines=lines,
        reason=BillingReason.SUBSCRIPTION_CYCLE,
        period=(start, end),
        events=events,
        claims=[f"cycle:{sub.id}:{n}", *charge_claims(sub, advance)],
    )
