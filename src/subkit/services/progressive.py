"""Progressive billing: an interim invoice when a period's unbilled usage charges reach a threshold.

A plan's ``usage_thresholds`` (per currency) sets the amount; a subscription's threshold is
the smallest of its plans'. :func:`check_thresholds` measures the current period so far;
when the usage charges not yet billed reach the threshold it issues an interim invoice
(reason ``subscription_threshold``) for them and writes down what it billed
(:class:`~subkit.usage.billed.UsageBilled`). The period-end renewal then bills only the
remainder, each line as the rounded whole less the rounded part already billed: the interim
invoices and the final one sum exactly to the invoice a period without thresholds would get.

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.catalog.catalog import Catalog, Plan, Product
    >>> from subkit.catalog.pricing import PerUnit
    >>> from subkit.services.engine import BillingEngine
    >>> from subkit.testing import InMemoryStore, TestClock
    >>> engine = BillingEngine(InMemoryStore(), TestClock(datetime(2027, 1, 1, tzinfo=UTC)))
    >>> engine.set_catalog(Catalog(products=(Product(id="app", name="App"),), plans=(
    ...     Plan(id="api", product_id="app", name="API", metric="calls", usage_thresholds={"USD": "50"},
    ...          prices={"USD": PerUnit(unit_amount="0.01")}),)))
    >>> sub = engine.subscribe(engine.create_customer(name="Ada", currency="USD").id, "api")
    >>> _ = engine.clock.travel_to(datetime(2027, 1, 6, tzinfo=UTC))
    >>> _ = engine.record_usage(sub.id, "calls", 6000, at=datetime(2027, 1, 5, tzinfo=UTC))  # 60.00 >= 50.00
    >>> [(i.billing_reason.value, i.total_minor) for i in engine.invoices(sub.customer_id)]
    [('subscription_threshold', 6000)]
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from subkit.core.money import exact_to_minor
from subkit.customer.customer import Customer
from subkit.invoice.invoice import BillingReason, Invoice
from subkit.services.context import ServiceContext, Work
from subkit.services.invoicing import Invoicing
from subkit.services.usage_rating import billed_lines, period_usage, record_billed
from subkit.subscription.model import BillingContext, Subscription
from subkit.usage.event import micros

__all__ = ["check_thresholds", "threshold_minor"]

_TICK = timedelta(microseconds=1)


def threshold_minor(sub: Subscription, ctx: BillingContext) -> int | None:
    """The subscription's threshold in minor units (the smallest of its plans'), or ``None``."""
    found = [
        exact_to_minor(plan.usage_thresholds[sub.currency], sub.currency)
        for it in sub.items
        if sub.currency in (plan := ctx.catalog.plan(it.plan_id, it.plan_version)).usage_thresholds
    ]
    return min(found) if found else None


def check_thresholds(
    ctx: ServiceContext, invoicing: Invoicing, subscription_ids: Iterable[str], at: datetime
) -> list[Invoice]:
    """Issue an interim invoice for each subscription whose unbilled usage reached its threshold."""
    issued = []
    for sub_id in dict.fromkeys(subscription_ids):
        with ctx.store.begin() as uow:
            work = Work(uow)
            sub = uow.get(Subscription, sub_id)
            if not sub.period_start <= at < sub.period_end:
                continue  # the renewal bills it
            customer = uow.get(Customer, sub.customer_id)
            bctx = ctx.billing_context(work, sub, customer)
            limit = threshold_minor(sub, bctx)
            if limit is None:
                continue
            owed = period_usage(uow, sub, bctx, sub.period_start, at, measured_until=at + _TICK)
            lines, current, plans, detail = owed
            if sum(ln.amount_minor for ln in lines) < limit:
                continue
            inv = invoicing.invoice(
                work, customer, lines, at, sub, BillingReason.SUBSCRIPTION_THRESHOLD, (sub.period_start, at)
            )
            record_billed(
                uow, sub.id, sub.period_start, current, at, micros(at), billed_lines(sub, plans, detail)
            )
            issued.append(inv)
        ctx.committed(work)
    return issued
