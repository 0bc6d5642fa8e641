"""A subscription's MRR history, rebuilt from its finalized invoices and its status dates.

Why invoices: they are what the store already keeps for good. They are immutable once finalized,
they carry the rate locked to the reporting currency, and each line says which item it charged,
for which service period, net of which discount, apart from tax. ChartMogul builds MRR from
invoice line items the same way (help.chartmogul.com/hc/en-us/articles/4416682609426). The
subscription document adds what invoices cannot say: that it ended, or is paused now.

The rules, per item (a subscription's MRR is the sum of its items):

- a **recurring** line sets the item's MRR from its period start: its net amount (after the
  cycle's discounts, before tax) normalized to a month (:func:`~subkit.analytics.mrr.monthly_minor`);
  so a 3-month coupon lowers MRR for those cycles only, and a trial's zero line counts zero;
- a **proration credit** (negative) ends the item's MRR at its start (the change instant);
- a **proration charge** sets the item's MRR from the change instant at the full-period
  equivalent of the prorated amount (``net / remaining fraction``, the fraction the machine
  used, granularity and time zone included); the next recurring line restates it exactly;
- **usage** (metered, billed in arrears) counts from the end of its billed period until the
  item's next usage line: the last billed usage carries forward (set ``include_usage=False`` to
  leave usage out);
- one-off items, setup fees and tax never count;
- draft and void invoices never count; an open, past-due or uncollectible one does (past due
  counts until canceled);
- the last value holds while the subscription lives; it drops to zero when it ended
  (``ended_at``), or from ``paused_at`` while it is paused. An incomplete subscription (never
  activated) counts zero.

Proration lines still pending (``CREATE_PRORATIONS`` bills them with the next invoice) count
from the change too, when the subscription's currency is the reporting one (no rate is locked
before an invoice is). A pause that has ended shows as a gap between two charges of an item:
zero from the end of the last period paid before the pause to the resume. Limits: a change made
with ``ProrationBehavior.NONE`` shows at the next renewal (nothing was charged for it before).

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.core.periods import MONTHLY
    >>> from subkit.invoice.invoice import Invoice, InvoiceLine, LineKind
    >>> jan, feb = datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC)
    >>> line = InvoiceLine.build("Pro", LineKind.RECURRING, unit_amount="30", currency="USD", item_id="si_1",
    ...                          plan_id="pro", period_start=jan, period_end=feb, cycle=0)
    >>> inv = Invoice.draft("in_1", "cus_1", "USD", [line], at=jan, subscription_id="sub_1")
    >>> inv = inv.issue("INV-1", jan)
    >>> history = SubscriptionHistory("sub_1", "cus_1", MONTHLY)
    >>> [(p.at.month, p.mrr_minor) for p in mrr_points(history, [inv], reporting="USD")]
    [(1, 3000)]
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from subkit.analytics.mrr import MrrPoint, monthly_minor
from subkit.core.money import CONTEXT
from subkit.core.periods import Interval, zone
from subkit.invoice.invoice import Invoice, InvoiceLine, InvoiceStatus, LineKind
from subkit.subscription.model import Subscription, SubscriptionStatus
from subkit.subscription.proration import Granularity, remaining_fraction

__all__ = ["SubscriptionHistory", "history_of", "mrr_points"]

_SKIPPED = frozenset({InvoiceStatus.DRAFT, InvoiceStatus.VOID})
_ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class SubscriptionHistory:
    """What a subscription document adds to its invoices: owner, interval, time zone, end, pause.

    Example:
        >>> from subkit.core.periods import MONTHLY
        >>> SubscriptionHistory("sub_1", "cus_1", MONTHLY).ended_at is None
        True
    """

    subscription_id: str
    customer_id: str
    interval: Interval
    timezone: str = "UTC"
    currency: str | None = None
    ended_at: datetime | None = None
    paused_at: datetime | None = None
    incomplete: bool = False


def history_of(sub: Subscription) -> SubscriptionHistory:
    """The facts of ``sub`` its MRR history needs.

    Example:
        >>> from datetime import datetime, UTC
        >>> from subkit.catalog.catalog import Catalog, Plan, Product
        >>> from subkit.catalog.pricing import FlatFee
        >>> from subkit.subscription.machine import create
        >>> from subkit.subscription.model import BillingContext
        >>> ctx = BillingContext(catalog=Catalog(products=(Product(id="app", name="App"),), plans=(
        ...     Plan(id="basic", product_id="app", name="Basic",
        ...          prices={"USD": FlatFee(flat_amount="10")}),)))
        >>> at = datetime(2027, 1, 1, tzinfo=UTC)
        >>> sub = create("sub_1", "cus_1", "USD", [("basic", 1)], ctx, at=at).subscription
        >>> history_of(sub).interval.months
        1
    """
    status = sub.status
    ended = sub.ended_at or (sub.canceled_at if status == SubscriptionStatus.CANCELED else None)
    return SubscriptionHistory(
        sub.id,
        sub.customer_id,
        sub.interval,
        sub.timezone,
        sub.currency,
        ended if status == SubscriptionStatus.CANCELED else None,
        sub.paused_at if status == SubscriptionStatus.PAUSED else None,
        # never paid: an incomplete subscription, or one that expired so (its first invoice voided)
        status in (SubscriptionStatus.INCOMPLETE, SubscriptionStatus.INCOMPLETE_EXPIRED),
    )


def mrr_points(
    history: SubscriptionHistory,
    invoices: Iterable[Invoice],
    *,
    reporting: str,
    granularity: Granularity = Granularity.SECOND,
    include_usage: bool = True,
    pending: Iterable[InvoiceLine] = (),
) -> list[MrrPoint]:
    """The subscription's MRR points (one per instant its MRR changes), in ``reporting`` minor units.

    ``granularity`` is the engine's proration granularity (``BillingConfig.granularity``): a
    proration charge is scaled back to a full period with the same fraction it was charged for.
    ``pending``: the subscription's lines not invoiced yet (in its ``currency``).
    """
    if history.incomplete:
        return []
    sub_id, interval = history.subscription_id, history.interval
    lines: list[tuple[InvoiceLine, datetime, datetime, str, str, Decimal | None]] = []
    cycles: dict[int, tuple[datetime, datetime]] = {}
    for inv in invoices:
        if inv.status in _SKIPPED or inv.subscription_id != sub_id:
            continue
        rate = inv.fx_rate if inv.reporting_currency == reporting else None
        for ln in inv.lines:
            item, ps, pe = ln.item_id, ln.period_start, ln.period_end
            if item is None or ps is None or pe is None:
                continue
            lines.append((ln, ps, pe, item, inv.currency, rate))
            if ln.kind == LineKind.RECURRING and ln.cycle is not None:
                cycles[ln.cycle] = (ps, pe)
    if history.currency == reporting:
        for ln in pending:
            item, ps, pe = ln.item_id, ln.period_start, ln.period_end
            if item is not None and ps is not None and pe is not None and ln.kind == LineKind.PRORATION:
                lines.append((ln, ps, pe, item, reporting, None))
    tz = zone(history.timezone)
    # (instant, order, key, monthly value): at one instant, credits first, then the period's recurring
    # line, then a change's proration charge (a change made right after a renewal wins)
    events: list[tuple[datetime, int, str, int]] = []
    spans: dict[str, list[tuple[datetime, datetime]]] = {}  # item -> the service periods charged
    for ln, ps, pe, item, currency, rate in lines:
        kind = ln.kind
        if kind == LineKind.RECURRING:
            value = monthly_minor(ln.net_minor, currency, interval, reporting=reporting, fx_rate=rate)
            events.append((ps, 1, item, value))
            spans.setdefault(item, []).append((ps, pe))
        elif kind == LineKind.PRORATION:
            if ln.amount_minor <= 0:
                events.append((ps, 0, item, 0))
                continue
            cycle = cycles.get(ln.cycle) if ln.cycle is not None else None
            start = cycle[0] if cycle is not None and cycle[1] == pe else pe - interval.delta(1)
            frac = remaining_fraction(start, pe, ps, granularity, tz)
            scale = CONTEXT.divide(_ONE, frac) if frac > 0 else _ONE
            value = monthly_minor(
                ln.net_minor, currency, interval, reporting=reporting, fx_rate=rate, scale=scale
            )
            events.append((ps, 2, item, value))
            spans.setdefault(item, []).append((ps, pe))
        elif kind == LineKind.USAGE and include_usage:
            value = monthly_minor(ln.net_minor, currency, interval, reporting=reporting, fx_rate=rate)
            events.append((pe, 1, f"{item}#usage", value))
    for item, charged in spans.items():
        charged.sort()
        covered = charged[0][1]
        for start, end in charged[1:]:
            if start > covered:  # nothing billed from `covered` to `start`: a pause, since resumed
                events.append((covered, 0, item, 0))
            covered = max(covered, end)
    stop = history.ended_at
    if history.paused_at is not None and (stop is None or history.paused_at < stop):
        stop = history.paused_at
    events.sort(key=lambda e: (e[0], e[1]))
    items: dict[str, int] = {}
    points: list[MrrPoint] = []
    total = 0
    customer = history.customer_id
    for n, (at, _, key, value) in enumerate(events):
        if stop is not None and at >= stop:
            break
        total += value - items.get(key, 0)
        items[key] = value
        if n + 1 < len(events) and events[n + 1][0] == at:
            continue  # the instant's last change gives its value
        if not points or points[-1].mrr_minor != total:
            points.append(MrrPoint.trusted(sub_id, customer, at, total))
    if stop is not None and points and points[-1].mrr_minor != 0:
        points.append(MrrPoint.trusted(sub_id, customer, stop, 0))
    return points
