"""Reading a finished simulation back from the store into a :class:`DemoSummary`.

Every figure is counted from what the store holds (customers, subscriptions, invoices,
credit notes), besides the activity counters the simulation kept.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta

from dateutil.relativedelta import relativedelta

from subkit.customer.customer import Customer
from subkit.entrypoints.demo.business import CURRENCIES
from subkit.entrypoints.demo.currency import converted_sample, reported_totals
from subkit.entrypoints.demo.payments import Payments
from subkit.entrypoints.demo.revenue import revenue_section
from subkit.entrypoints.demo.simulation import Simulation
from subkit.entrypoints.demo.summary import ACTIVITY, CurrencyTotals, DemoSummary, MonthRow
from subkit.entrypoints.demo.tax import tax_by_jurisdiction
from subkit.entrypoints.text import format_invoice
from subkit.invoice.invoice import CreditNote, Invoice, LineKind
from subkit.services.engine import BillingEngine
from subkit.subscription.model import Subscription, SubscriptionStatus

__all__ = ["summarize"]


def summarize(
    engine: BillingEngine,
    sim: Simulation,
    *,
    seed: int,
    months: int,
    days: int,
    payments: Payments | None,
) -> DemoSummary:
    """The :class:`DemoSummary` of a finished simulation, counted from the store and ``sim``'s counters."""
    start, end = sim.start, sim.end
    with engine.store.begin() as uow:
        customers = uow.find(Customer)
        subs = uow.find(Subscription)
        notes = uow.find(CreditNote)
    invoices = sorted(engine.invoices(), key=lambda i: i.number or "")
    by_id = {c.id: c for c in customers}

    markets = Counter(f"{c.country}/{c.currency}" for c in customers)
    subs_of: dict[str, list[Subscription]] = {}
    for s in subs:
        subs_of.setdefault(s.customer_id, []).append(s)
    states: Counter[str] = Counter()
    for c in customers:
        statuses = {s.status for s in subs_of.get(c.id, [])}
        if statuses & {SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID}:
            states["subscribed"] += 1
        elif SubscriptionStatus.TRIALING in statuses:
            states["trialing"] += 1
        elif SubscriptionStatus.PAUSED in statuses:
            states["paused"] += 1
        else:
            states["churned"] += 1
    sub_status = Counter(s.status.value for s in subs)

    totals = []
    credited = Counter[str]()
    for n in notes:
        credited[n.currency] += n.amount_minor
    for cur in CURRENCIES:
        mine = [i for i in invoices if i.currency == cur]
        totals.append(
            CurrencyTotals(
                currency=cur,
                invoices=len(mine),
                subtotal_minor=sum(i.subtotal_minor for i in mine),
                discount_minor=sum(i.discount_minor for i in mine),
                total_minor=sum(i.total_minor for i in mine),
                credited_minor=credited[cur],
            )
        )

    def month_of(at: datetime) -> int:
        at = at.astimezone(UTC)
        return (at.year - start.year) * 12 + at.month - start.month

    last = month_of(end - timedelta(microseconds=1))
    new_subs = Counter(month_of(s.created_at) for s in subs)
    ended = Counter(month_of(s.ended_at) for s in subs if s.ended_at is not None)
    inv_count = Counter(month_of(i.created_at) for i in invoices)
    billed: dict[int, Counter[str]] = {}
    for i in invoices:
        billed.setdefault(month_of(i.created_at), Counter())[i.currency] += i.total_minor
    span = max([last, *new_subs, *ended, *inv_count])
    monthly = tuple(
        MonthRow(
            month=_month_label(start, m),
            new_subscriptions=new_subs[m],
            cancellations=ended[m],
            invoices=inv_count[m],
            billed=tuple((c, billed.get(m, Counter())[c]) for c in CURRENCIES),
        )
        for m in range(span + 1)
    )
    activity = tuple((key, sim.counts[key]) for key, _ in ACTIVITY)
    return DemoSummary(
        seed=seed,
        customers=len(customers),
        months=months,
        start=start,
        end=end,
        days=days,
        customers_by_market=tuple(sorted(markets.items())),
        customers_by_state=tuple((k, states[k]) for k in ("subscribed", "trialing", "paused", "churned")),
        subscriptions_by_status=tuple((s.value, sub_status[s.value]) for s in SubscriptionStatus),
        cancel_scheduled=sum(1 for s in subs if s.cancel_at_period_end),
        activity=activity,
        invoices_by_status=tuple(sorted(Counter(i.status.value for i in invoices).items())),
        currency_totals=tuple(totals),
        samples=_samples(invoices, by_id),
        monthly=monthly,
        payments=payments.report() if payments is not None else (),
        tax=tax_by_jurisdiction(invoices),
        reported=reported_totals(invoices),
        converted=converted_sample(invoices, by_id, engine.config.seller),
        revenue=revenue_section(engine.store, sim.clock, start, end, CURRENCIES[0]),
    )


def _month_label(start: datetime, m: int) -> str:
    first = date(start.year, start.month, 1) + relativedelta(months=m)
    return f"{first.year:04d}-{first.month:02d}"


def _samples(invoices: Sequence[Invoice], customers: dict[str, Customer]) -> tuple[tuple[str, str], ...]:
    """Three telling invoices, in different currencies where possible."""

    def prorations(i: Invoice, sign: int) -> set[str | None]:
        return {ln.plan_id for ln in i.lines if ln.kind == LineKind.PRORATION and ln.amount_minor * sign > 0}

    def upgrade(i: Invoice) -> bool:
        """A credit for the old plan and a charge for another one."""
        return bool(prorations(i, -1) and prorations(i, 1) and prorations(i, -1) != prorations(i, 1))

    def prorated(i: Invoice) -> bool:
        return bool(prorations(i, -1) and prorations(i, 1))

    slots: list[list[tuple[str, Callable[[Invoice], bool]]]] = [
        [("an upgrade, prorated", upgrade), ("a seat change, prorated", prorated)],
        [("a discounted invoice", lambda i: i.discount_minor > 0 and i.total_minor > 0)],
        [("a renewal with metered usage", lambda i: any(ln.kind == LineKind.USAGE for ln in i.lines))],
        [("storage by the GB-month, paid with prepaid credits", lambda i: i.prepaid_applied_minor > 0)],
    ]
    picked: list[tuple[str, Invoice]] = []
    for wants in slots:
        taken = {i.id for _, i in picked}
        used = {i.currency for _, i in picked}
        for caption, ok in wants:
            pool = [i for i in invoices if i.id not in taken and ok(i)]
            fresh = [i for i in pool if i.currency not in used]
            if pool:
                picked.append((caption, (fresh or pool)[0]))
                break
        else:
            rest = [i for i in invoices if i.id not in taken]
            if rest:
                picked.append(("the largest invoice", max(rest, key=lambda i: (i.total_minor, i.id))))
    return tuple((caption, format_invoice(inv, customers[inv.customer_id])) for caption, inv in picked)
