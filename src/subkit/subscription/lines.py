"""The invoice-line generator of a subscription.

Charges in advance and in arrears, proration credits and charges, discounts, and the
unique charge keys that keep a period from being billed twice.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar

from subkit.catalog.catalog import Plan
from subkit.core.model import trusted_copy
from subkit.core.money import CONTEXT, ROUNDING_MODES, minor_units
from subkit.core.periods import isoformat
from subkit.invoice.discounts import AppliedDiscount, discount_lines
from subkit.invoice.invoice import InvoiceLine, LineKind
from subkit.subscription.metered import metered_lines  # [usage]
from subkit.subscription.model import (
    _ONE,
    _UNIT_QUANTUM,
    BillingContext,
    ChargeSegment,
    ScheduledChange,
    Subscription,
    SubscriptionItem,
    SubscriptionStatus,
)
from subkit.subscription.proration import credit_for, remaining_fraction

__all__ = [
    "advance_lines",
    "arrears_lines",
    "charge_claims",
    "charge_key",
    "credit_line",
    "discounted",
    "full_amount",
    "next_due",
    "plan_of",
    "plans_of",
    "remaining_line",
    "segments_of",
    "unused_credits",
    "with_changes",
]


_ZERO = Decimal(0)


# --------------------------------------------------------------------------- helpers
def plan_of(ctx: BillingContext, item: SubscriptionItem) -> Plan:
    """The catalog plan (at the item's pinned version) an item is subscribed to."""
    return ctx.catalog.plan(item.plan_id, item.plan_version)


def full_amount(plan: Plan, currency: str, quantity: Decimal) -> Decimal:
    """The exact (unrounded) price of ``quantity`` units of ``plan`` for a whole period."""
    return plan.price(currency).amount(quantity)


def _unit(exact: Decimal, quantity: Decimal) -> Decimal:
    """Informational unit price (the line amount is the truth), without exponent notation."""
    if quantity == 1:
        return exact
    unit = exact if quantity == 0 else CONTEXT.divide(exact, quantity)
    unit = unit.quantize(_UNIT_QUANTUM, rounding=ROUND_HALF_UP, context=CONTEXT)
    unit = unit.quantize(_ONE) if unit == unit.to_integral_value() else unit.normalize(CONTEXT)
    return _shared(_UNITS, str(unit), unit)


def _describe(plan: Plan, quantity: Decimal) -> str:
    if quantity == 1:
        return plan.name
    text = f"{plan.name} × {quantity.normalize(CONTEXT)}"
    return _shared(_DESCRIPTIONS, text, text)


_T = TypeVar("_T")
_DESCRIPTIONS: dict[str, str] = {}
_UNITS: dict[str, Decimal] = {}


def _shared(kept: dict[str, _T], key: str, value: _T) -> _T:
    """One shared object per distinct text (a book repeats its descriptions and unit prices)."""
    found = kept.get(key)
    if found is None:
        if len(kept) >= 4096:
            return value
        found = kept[key] = value
    return found


def next_due(sub: Subscription) -> datetime | None:
    """When the subscription next needs the engine: trial end, a scheduled change, or period end."""
    return _next_due(sub.status, sub.period_end, sub.schedule, sub.resume_at)


def _next_due(
    status: SubscriptionStatus,
    period_end: datetime,
    schedule: tuple[ScheduledChange, ...],
    resume_at: datetime | None,
) -> datetime | None:
    if status == SubscriptionStatus.CANCELED or status == SubscriptionStatus.INCOMPLETE_EXPIRED:
        return None
    due = period_end
    if schedule and schedule[0].at < due:
        due = schedule[0].at
    if status == SubscriptionStatus.PAUSED and resume_at is not None and resume_at < due:
        due = resume_at
    return due


def with_changes(sub: Subscription, **changes: Any) -> Subscription:
    """A new version of ``sub`` with ``changes`` (valid values) and its next due instant recomputed."""
    get = changes.get
    changes["due_at"] = _next_due(
        get("status", sub.status),
        get("period_end", sub.period_end),
        get("schedule", sub.schedule),
        get("resume_at", sub.resume_at),
    )
    return trusted_copy(sub, changes, bump=True)


def discounted(
    lines: list[InvoiceLine], sub: Subscription, ctx: BillingContext
) -> tuple[list[InvoiceLine], tuple[AppliedDiscount, ...]]:
    """Apply the subscription's coupons to ``lines`` per billing cycle; the discounts with usage recorded."""
    if not sub.discounts or not lines:
        return lines, sub.discounts
    out = list(lines)
    applied = list(sub.discounts)
    for cycle in sorted({ln.cycle for ln in lines if ln.cycle is not None}):
        active = [
            (n, ctx.coupons[d.coupon_id])
            for n, d in enumerate(applied)
            if d.coupon_id in ctx.coupons and ctx.coupons[d.coupon_id].covers_cycle(d.start_cycle, cycle)
        ]
        if not active:
            continue
        idx = [i for i, ln in enumerate(out) if ln.cycle == cycle]
        used = {c.id: applied[n].spent.get(cycle, 0) for n, c in active}
        amounts, spent = discount_lines(
            [(out[i].amount_minor, out[i].plan_id) for i in idx], [c for _, c in active], sub.currency, used
        )
        for i, d in zip(idx, amounts, strict=True):
            if d:
                out[i] = out[i].with_discount(d)
        for n, c in active:
            if c.id in spent:
                kept = {k: v for k, v in applied[n].spent.items() if k >= cycle - 1}
                kept[cycle] = kept.get(cycle, 0) + spent[c.id]
                applied[n] = applied[n].with_spent(kept)
    return out, tuple(applied)


def charge_key(sub_id: str, item_id: str, start: datetime) -> str:
    """The unique key of one item's recurring charge for the period starting at ``start``."""
    return f"charge:{sub_id}:{item_id}:{start.isoformat()}"


def segments_of(lines: Sequence[InvoiceLine]) -> list[ChargeSegment]:
    """The charge segments (what was charged, for which period) that invoice lines record."""
    segs = []
    for ln in lines:
        if (
            ln.amount_minor > 0
            and (ln.kind == _RECURRING or ln.kind == _PRORATION)
            and ln.item_id
            and ln.plan_id
            and ln.period_start is not None
            and ln.period_end is not None
        ):
            segs.append(
                _new_segment((ln.item_id, ln.plan_id, ln.period_start, ln.period_end, ln.net_minor, 0, None))
            )
    return segs


def plans_of(sub: Subscription, ctx: BillingContext) -> list[tuple[SubscriptionItem, Plan]]:
    """Each item of ``sub`` with its catalog plan (at the item's pinned version), looked up once."""
    plan = ctx.catalog.plan
    return [(it, plan(it.plan_id, it.plan_version)) for it in sub.items]


def advance_lines(
    sub: Subscription,
    ctx: BillingContext,
    cycle: int,
    start: datetime,
    end: datetime,
    *,
    setup: bool,
    plans: Sequence[tuple[SubscriptionItem, Plan]] | None = None,
) -> list[InvoiceLine]:
    """The lines charged in advance for cycle ``[start, end)`` (setup fee on the first), undiscounted."""
    currency, rounding = sub.currency, ctx.rounding
    digits, mode = minor_units(currency), ROUNDING_MODES[rounding]
    lines = []
    for it, plan in plans if plans is not None else plans_of(sub, ctx):
        if setup and currency in plan.setup_fee:
            lines.append(
                InvoiceLine.build(
                    f"{plan.name} setup fee",
                    LineKind.SETUP_FEE,
                    currency=currency,
                    unit_amount=plan.setup_fee[currency],
                    plan_id=plan.id,
                    item_id=it.id,
                    cycle=cycle,
                    rounding=rounding,
                )
            )
        if plan.metric:  # metered: billed in arrears
            continue
        q = it.quantity  # checked (a Decimal >= 0) when the item was made
        exact = plan.price(currency).exact(q)
        if q == 1:
            description, unit = plan.name, exact
        else:
            description, unit = _describe(plan, q), _unit(exact, q)
        minor = int(exact.scaleb(digits, CONTEXT).quantize(_ONE, mode, CONTEXT))
        lines.append(
            _new_line(
                (description, _RECURRING, plan.id, it.id, start, end, cycle, q, unit, minor, 0, 0, None, None)
            )
        )
    return lines


def arrears_lines(
    sub: Subscription,
    ctx: BillingContext,
    start: datetime,
    end: datetime,
    *,
    plans: Sequence[tuple[SubscriptionItem, Plan]] | None = None,
) -> list[InvoiceLine]:
    """The lines charged in arrears for ``[start, end)``: metered usage from ``ctx.usage``, undiscounted."""
    lines = []
    for it, plan in plans if plans is not None else plans_of(sub, ctx):
        if not plan.metric:
            continue
        detail = ctx.usage_detail.get(it.id)  # [usage] metered lines per group (subscription.metered)
        if detail is not None:
            lines += metered_lines(
                plan, it.id, detail, sub.currency, start, end, sub.cycle, rounding=ctx.rounding
            )
            continue
        used = ctx.usage.get(it.id, _ZERO)
        exact = full_amount(plan, sub.currency, used)
        if exact == 0 and used == 0:
            continue
        lines.append(
            InvoiceLine.build(
                f"{plan.name} ({plan.metric})",
                LineKind.USAGE,
                currency=sub.currency,
                quantity=used,
                unit_amount=_unit(exact, used),
                exact_amount=exact,
                plan_id=plan.id,
                item_id=it.id,
                period_start=start,
                period_end=end,
                cycle=sub.cycle,
                rounding=ctx.rounding,
            )
        )
    if ctx.usage_adjustments:  # [usage] late usage of closed periods (services.usage_rating)
        lines += ctx.usage_adjustments
    return lines


def credit_line(
    seg: ChargeSegment, ctx: BillingContext, at: datetime, tz: tzinfo, cycle: int, credit: int
) -> InvoiceLine:
    """A negative proration line crediting ``credit`` for the unused part of ``seg`` after ``at``."""
    return InvoiceLine.trusted(
        f"Unused time on {ctx.catalog.plan(seg.plan_id).name} after {at.astimezone(tz).date()}",
        LineKind.PRORATION,
        seg.plan_id,
        seg.item_id,
        at,
        seg.end,
        cycle,
        _ONE,
        _ZERO,
        -credit,
        0,
        0,
        None,
        None,
    )


def unused_credits(
    segments: Sequence[ChargeSegment],
    ctx: BillingContext,
    at: datetime,
    tz: tzinfo,
    cycle: int,
    *,
    item_id: str | None = None,
    prorate: bool = True,
) -> tuple[list[InvoiceLine], tuple[ChargeSegment, ...]]:
    """Credit the unused time after ``at`` of the charges still running at ``at``, and cut them there.

    A segment runs at ``at`` when ``start <= at < effective_end`` (and, with ``item_id``, is that
    item's). Each running segment gives a credit line (:func:`credit_line`) for its unused part
    (:func:`~subkit.subscription.proration.credit_for`: never more than is left uncredited) and
    comes back cut at ``at`` with the credit recorded; other segments come back as they are.
    Without ``prorate`` the running segments are only cut: no credit. Returns the credit lines
    (negative amounts) and every segment, in order.

    Example:
        >>> from subkit.catalog.catalog import Catalog, Plan, Product
        >>> from subkit.catalog.pricing import FlatFee
        >>> from subkit.core.periods import UTC
        >>> basic = Plan(id="basic", product_id="app", name="Basic",
        ...              prices={"USD": FlatFee(flat_amount="10")})
        >>> ctx = BillingContext(catalog=Catalog(products=(Product(id="app", name="App"),), plans=(basic,)))
        >>> april = ChargeSegment(item_id="si_1", plan_id="basic", start=datetime(2027, 4, 1, tzinfo=UTC),
        ...                       end=datetime(2027, 5, 1, tzinfo=UTC), net_minor=1000)
        >>> lines, (cut,) = unused_credits((april,), ctx, datetime(2027, 4, 16, tzinfo=UTC), UTC, 0)
        >>> [ln.amount_minor for ln in lines], cut.credited_minor, cut.cut_at.day  # 15 of 30 days unused
        ([-500], 500, 16)
    """
    lines: list[InvoiceLine] = []
    out: list[ChargeSegment] = []
    for seg in segments:
        if (item_id is None or seg.item_id == item_id) and seg.start <= at < seg.effective_end:
            credit = (
                credit_for(seg.net_minor, seg.credited_minor, seg.start, seg.end, at, ctx.granularity, tz)
                if prorate
                else 0
            )
            if credit:
                lines.append(credit_line(seg, ctx, at, tz, cycle, credit))
            seg = seg.model_copy(update={"credited_minor": seg.credited_minor + credit, "cut_at": at})
        out.append(seg)
    return lines, tuple(out)


def remaining_line(
    sub: Subscription,
    ctx: BillingContext,
    plan: Plan,
    item_id: str,
    quantity: Decimal,
    at: datetime,
    tz: tzinfo,
) -> InvoiceLine:
    """A proration line charging ``plan`` x ``quantity`` for the rest of the current period from ``at``."""
    frac = remaining_fraction(sub.period_start, sub.period_end, at, ctx.granularity, tz)
    exact = CONTEXT.multiply(full_amount(plan, sub.currency, quantity), frac)
    return InvoiceLine.build(
        f"Remaining time on {_describe(plan, quantity)} after {at.astimezone(tz).date().isoformat()}",
        LineKind.PRORATION,
        currency=sub.currency,
        quantity=quantity,
        unit_amount=_unit(exact, quantity),
        exact_amount=exact,
        plan_id=plan.id,
        item_id=item_id,
        period_start=at,
        period_end=sub.period_end,
        cycle=sub.cycle,
        rounding=ctx.rounding,
    )


def charge_claims(sub: Subscription, lines: Sequence[InvoiceLine]) -> list[str]:
    """Unique keys: one recurring charge per item and service period; one proration per item and operation."""
    keys = []
    start, iso = None, ""
    for ln in lines:
        if not ln.item_id or ln.period_start is None or ln.amount_minor <= 0:
            continue
        if ln.kind == _RECURRING:
            if ln.period_start is not start:
                start, iso = ln.period_start, isoformat(ln.period_start)
            keys.append(f"charge:{sub.id}:{ln.item_id}:{iso}")
        elif ln.kind == _PRORATION:
            keys.append(f"proration:{sub.id}:{ln.item_id}:v{sub.version}")
    return keys


_RECURRING = LineKind.RECURRING
_PRORATION = LineKind.PRORATION
_new_line = functools.partial(tuple.__new__, InvoiceLine)
_new_segment = functools.partial(tuple.__new__, ChargeSegment)
