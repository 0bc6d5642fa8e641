"""Rating: a subscription's metered usage in a period, measured by the store, ready to price.

One store aggregation per metered item (``uow.usage.aggregate``: ``GROUP BY`` in SQL), never
the history as objects. The period is the subscription's own billing period (anchored in
the customer's time zone), ``[period_start, end)``.

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.catalog.catalog import Catalog, Plan, Product
    >>> from subkit.catalog.pricing import FlatFee, PerUnit
    >>> from subkit.services.context import ServiceContext, Work
    >>> from subkit.services.engine import BillingEngine
    >>> from subkit.testing import InMemoryStore, TestClock
    >>> engine = BillingEngine(InMemoryStore(), TestClock(datetime(2027, 1, 1, tzinfo=UTC)))
    >>> engine.set_catalog(Catalog(products=(Product(id="app", name="App"),), plans=(
    ...     Plan(id="basic", product_id="app", name="Basic", prices={"USD": FlatFee(flat_amount="10")}),
    ...     Plan(id="api", product_id="app", name="API", metric="calls",
    ...          prices={"USD": PerUnit(unit_amount="0.01")}))))
    >>> cus = engine.create_customer(name="Ada", currency="USD")
    >>> sub = engine.subscribe(cus.id, items=[("basic", 1), ("api", 0)])
    >>> _ = engine.record_usage(sub.id, "calls", 120, at=datetime(2027, 1, 9, tzinfo=UTC))
    >>> ctx = ServiceContext(engine.store, engine.clock)
    >>> with engine.store.begin() as uow:
    ...     totals = usage_totals(uow, sub, ctx.billing_context(Work(uow), sub), sub.period_end)
    >>> list(totals.values())
    [Decimal('120')]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import NamedTuple
from zoneinfo import ZoneInfo

from subkit.catalog.catalog import Catalog, Plan
from subkit.catalog.metrics import BillableMetric
from subkit.catalog.pricing import Percentage
from subkit.invoice.invoice import InvoiceLine
from subkit.ports import UnitOfWork
from subkit.services.context import ServiceContext, Work
from subkit.subscription.metered import adjustment_line, metered_amount, metered_lines
from subkit.subscription.model import BillingContext, Subscription
from subkit.usage.aggregate import Group, UsageQuery
from subkit.usage.billed import UsageBilled, UsageClose
from subkit.usage.event import micros
from subkit.usage.rating import Measured, unit_label

__all__ = [
    "LATE_MARGIN",
    "PeriodUsage",
    "billed_lines",
    "billed_so_far",
    "current_usage",
    "measure",
    "metered_items",
    "period_usage",
    "prefetch_usage",
    "record_billed",
    "usage_totals",
    "with_billed",
    "with_usage",
]

_TICK = timedelta(microseconds=1)


def metered_items(sub: Subscription, ctx: BillingContext) -> list[tuple[str, Plan, BillableMetric]]:
    """(item id, plan, metric) of each metered item of ``sub``."""
    return _metered(sub, ctx.catalog)


def _metered(sub: Subscription, catalog: Catalog) -> list[tuple[str, Plan, BillableMetric]]:
    found = []
    for it in sub.items:
        plan = catalog.plan(it.plan_id, it.plan_version)
        if plan.metric:
            metric = catalog.billable_metric(plan.metric) or BillableMetric(code=plan.metric)
            found.append((it.id, plan, metric))
    return found


def prefetch_usage(ctx: ServiceContext, work: Work, sub_ids: Sequence[str], until: datetime) -> None:
    """A billing run's batch: the usage of every renewal due up to ``until``, in one store call.

    Each subscription of ``sub_ids`` whose period ends at its next due instant (a renewal,
    rated in arrears) gets its metered items' queries; ``uow.usage.aggregate_many`` answers
    them all at once (SQL: one ``GROUP BY subscription_id`` per 500 subscriptions), into
    ``work.usage``, where :func:`measure` finds them. A query not prefetched (a second period
    caught up in the same run, a grace period) is read when rated, as before.

    Example:
        >>> from datetime import datetime, UTC
        >>> from subkit.testing import InMemoryStore, TestClock
        >>> store = InMemoryStore()
        >>> ctx = ServiceContext(store, TestClock(datetime(2027, 1, 1, tzinfo=UTC)))
        >>> with store.begin() as uow:
        ...     work = Work(uow)
        ...     prefetch_usage(ctx, work, [], datetime(2027, 2, 1, tzinfo=UTC))
        ...     work.usage is None  # nothing due: nothing read
        True
    """
    if not sub_ids or ctx.config.usage_grace or not work.metered():
        return
    catalog, get = work.catalog(), work.uow.get
    queries = []
    for sub_id in sub_ids:
        sub = get(Subscription, sub_id)
        due = sub.due_at
        if due is None or due > until or sub.period_end != due:
            continue
        queries += [
            UsageQuery.of(sub.id, m, sub.period_start, sub.period_end) for _, _, m in _metered(sub, catalog)
        ]
    if queries:
        work.usage = dict(zip(queries, work.uow.usage.aggregate_many(queries), strict=True))


def _needs_amounts(plan: Plan, currency: str) -> bool:
    price = plan.prices.get(currency)
    return isinstance(price, Percentage) and bool(
        price.fixed_fee or price.min_per_transaction is not None or price.max_per_transaction is not None
    )


def measure(
    uow: UnitOfWork,
    sub: Subscription,
    ctx: BillingContext,
    start: datetime,
    end: datetime,
    answers: Mapping[UsageQuery, dict[Group, Decimal]] | None = None,
) -> dict[str, Measured]:
    """Each metered item's usage in ``[start, end)``, by item id (none metered: empty, nothing read);
    ``answers``: aggregations already read (:func:`prefetch_usage`)."""
    out = {}
    for item_id, plan, metric in metered_items(sub, ctx):
        q = UsageQuery.of(sub.id, metric, start, end)
        found = answers.get(q) if answers else None
        groups = dict(found) if found is not None else uow.usage.aggregate(q)
        if not groups and metric.group_by is None:
            groups = {None: Decimal(0)}  # a minimum charge still applies to no usage
        amounts = uow.usage.amounts(q) if _needs_amounts(plan, sub.currency) else None
        out[item_id] = Measured(
            tuple(groups.items()), unit_label(metric, plan.interval), amounts, metric.group_by
        )
    return out


def usage_totals(
    uow: UnitOfWork, sub: Subscription, ctx: BillingContext, end: datetime
) -> dict[str, Decimal]:
    """Each metered item's total usage from the period start to ``end``, by item id."""
    return {k: m.total for k, m in measure(uow, sub, ctx, sub.period_start, end).items()}


def with_usage(
    uow: UnitOfWork,
    sub: Subscription,
    ctx: BillingContext,
    end: datetime,
    *,
    now: datetime | None = None,
    grace: timedelta = timedelta(0),
    usage: Mapping[UsageQuery, dict[Group, Decimal]] | None = None,
) -> BillingContext:
    """``ctx`` carrying the current period's measured usage up to ``end`` (as is when nothing is metered).

    With ``now`` (a renewal), the period's billing is written down (:class:`~subkit.usage.billed.UsageBilled`)
    and closed periods whose usage changed since they were billed (late events) get adjustment lines.
    With a ``grace`` period, the period's usage is not billed now: a
    :class:`~subkit.usage.billed.UsageClose` bills it when the grace period ends
    (:mod:`subkit.services.usage_close`), with the events that arrived meanwhile. ``usage``:
    aggregations already read for a billing run's batch (:func:`prefetch_usage`).
    """
    if now is not None and grace > timedelta(0):
        items = metered_items(sub, ctx)
        if not items:
            return ctx
        uow.add(
            UsageClose(
                id=f"uc_{sub.id}_{micros(sub.period_start)}",
                subscription_id=sub.id,
                start=sub.period_start,
                end=end,
                due_at=end + grace,
            )
        )
        held = {item_id: Measured((), unit_label(m, p.interval)) for item_id, p, m in items}
        plans = {item_id: plan for item_id, plan, _ in items}
        adjustments = _late_adjustments(uow, sub, ctx, plans, micros(now))
        return replace(ctx, usage_detail=held, usage_adjustments=tuple(adjustments))
    detail = measure(uow, sub, ctx, sub.period_start, end, usage)
    if not detail:
        return ctx
    current = billed_so_far(uow, sub.id, sub.period_start)
    if current is not None:  # interim invoices (progressive billing) billed part of the period
        detail = with_billed(detail, current)
    out = replace(ctx, usage={k: m.total for k, m in detail.items()}, usage_detail=detail)
    if now is None:
        return out
    stamp = micros(now)
    plans = {item_id: plan for item_id, plan, _ in metered_items(sub, ctx)}
    adjustments = _late_adjustments(uow, sub, ctx, plans, stamp)
    record_billed(uow, sub.id, sub.period_start, current, end, stamp, billed_lines(sub, plans, detail))
    return replace(out, usage_adjustments=tuple(adjustments)) if adjustments else out


def billed_so_far(uow: UnitOfWork, subscription_id: str, start: datetime) -> UsageBilled | None:
    """What was billed so far of the period starting at ``start`` (interim invoices), or ``None``."""
    key = f"ub_{subscription_id}_{micros(start)}"
    return uow.get_many(UsageBilled, [key]).get(key)


def with_billed(detail: dict[str, Measured], record: UsageBilled) -> dict[str, Measured]:
    """``detail`` with what ``record`` says was billed of it (the lines then bill the rest)."""
    billed: dict[str, dict[str | None, tuple[Decimal, Decimal]]] = {}
    for (item, group), pair in record.billed().items():
        billed.setdefault(item, {})[group] = pair
    return {k: m._replace(billed=billed.get(k, {})) for k, m in detail.items()}


def record_billed(
    uow: UnitOfWork,
    subscription_id: str,
    start: datetime,
    current: UsageBilled | None,
    end: datetime,
    stamp: int,
    lines: tuple[tuple[str, str | None, Decimal, Decimal], ...],
) -> None:
    """Write down the period's usage billed so far (cumulative: quantity and exact charge per group)."""
    if current is not None:
        uow.update(
            current.model_copy(
                update={"end": end, "checked": stamp, "lines": lines, "version": current.version + 1}
            )
        )
        return
    uow.add(
        UsageBilled(
            id=f"ub_{subscription_id}_{micros(start)}",
            subscription_id=subscription_id,
            start=start,
            end=end,
            checked=stamp,
            lines=lines,
        )
    )


#: Late events recorded up to this long before a renewal's clock are measured again at the next one
#: (a transaction still in flight when the renewal read): re-measuring is harmless, it bills differences.
LATE_MARGIN = timedelta(minutes=10)


def billed_lines(
    sub: Subscription, plans: dict[str, Plan], detail: dict[str, Measured]
) -> tuple[tuple[str, str | None, Decimal, Decimal], ...]:
    """(item id, group, quantity, exact charge) of ``detail``: what a record of the period keeps."""
    lines = []
    for item_id, used in detail.items():
        plan = plans[item_id]
        for group, q in used.groups:
            amounts = used.amounts.get(group, []) if used.amounts is not None else None
            lines.append((item_id, group, q, metered_amount(plan, sub.currency, q, amounts)))
    return tuple(lines)


def _late_adjustments(
    uow: UnitOfWork, sub: Subscription, ctx: BillingContext, plans: dict[str, Plan], stamp: int
) -> list[InvoiceLine]:
    """Adjustment lines for closed periods whose usage changed since billed: the previous period
    (always measured again: events racing its renewal) and those holding late events."""
    records = uow.find(UsageBilled, subscription_id=sub.id)
    if not records:
        return []
    start = micros(sub.period_start)
    since = max(r.checked for r in records) - LATE_MARGIN // timedelta(microseconds=1)
    span = uow.usage.late_span(sub.id, start, since)
    tz = ZoneInfo(sub.timezone)
    lines: list[InvoiceLine] = []
    for rec in sorted(records, key=lambda r: r.start):
        r_start, r_end = micros(rec.start), micros(rec.end)
        if r_start >= start:
            continue  # the current period (interim invoices): billed with it, not adjusted
        previous = r_end == start
        touched = span is not None and span[0] < r_end and span[1] >= r_start
        if not (previous or touched):
            continue
        now = measure(uow, sub, ctx, rec.start, rec.end)
        fresh = billed_lines(sub, plans, {k: v for k, v in now.items() if k in plans})
        billed = rec.billed()
        changed = []
        label = f"Late usage {rec.start.astimezone(tz).date()} - {rec.end.astimezone(tz).date()}: "
        for item_id, group, q, exact in fresh:
            old_q, old_exact = billed.get((item_id, group), (Decimal(0), Decimal(0)))
            if q == old_q and exact == old_exact:
                continue
            plan, used = plans[item_id], now[item_id]
            name = used.label if group is None else f"{used.label}, {used.group_by or 'group'} {group}"
            lines.append(
                adjustment_line(
                    plan,
                    item_id,
                    f"{label}{plan.name} ({name})",
                    q - old_q,
                    exact - old_exact,
                    sub.currency,
                    rec.start,
                    rec.end,
                    sub.cycle,
                    rounding=ctx.rounding,
                )
            )
            changed.append(item_id)
        if changed or rec.checked < stamp:
            uow.update(rec.model_copy(update={"lines": fresh, "checked": stamp, "version": rec.version + 1}))
    return lines


def current_usage(ctx: ServiceContext, subscription_id: str, at: datetime) -> dict[str, Measured]:
    """Each metered item's usage from the current period's start to ``at`` (read only).

    Example:
        >>> from datetime import datetime, UTC
        >>> from subkit.testing import InMemoryStore, TestClock
        >>> ctx = ServiceContext(InMemoryStore(), TestClock(datetime(2027, 1, 1, tzinfo=UTC)))
        >>> current_usage(ctx, "sub_1", datetime(2027, 1, 2, tzinfo=UTC))
        Traceback (most recent call last):
        subkit.errors.NotFoundError: [not_found] id: no subscription with id 'sub_1'
    """
    with ctx.store.begin() as uow:
        work = Work(uow)
        sub = uow.get(Subscription, subscription_id)
        bctx = ctx.billing_context(work, sub)
        end = min(max(at, sub.period_start + _TICK), sub.period_end)
        detail = measure(uow, sub, bctx, sub.period_start, end)
        uow.rollback()
    return detail


class PeriodUsage(NamedTuple):
    """What is owed for a period's usage beyond what was billed of it: the lines, and what to record."""

    lines: list[InvoiceLine]
    current: UsageBilled | None
    plans: dict[str, Plan]
    detail: dict[str, Measured]


def period_usage(
    uow: UnitOfWork,
    sub: Subscription,
    ctx: BillingContext,
    start: datetime,
    end: datetime,
    *,
    measured_until: datetime | None = None,
) -> PeriodUsage:
    """The usage lines of ``[start, end)`` net of what interim invoices already billed of it.

    Usage is measured up to ``measured_until`` (default ``end``); the lines say ``[start, end)``.
    Progressive billing (an interim invoice) and the close of a grace period both bill this.
    """
    detail = measure(uow, sub, ctx, start, end if measured_until is None else measured_until)
    current = billed_so_far(uow, sub.id, start)
    if current is not None:
        detail = with_billed(detail, current)
    plans = {item_id: plan for item_id, plan, _ in metered_items(sub, ctx)}
    lines: list[InvoiceLine] = []
    for item_id, used in detail.items():
        lines += metered_lines(plans[item_id], item_id, used, sub.currency, start, end, sub.cycle,
                               rounding=ctx.rounding)  # fmt: skip
    return PeriodUsage(lines, current, plans, detail)
