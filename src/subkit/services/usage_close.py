"""The grace period: a closed period's usage billed when its grace period ends, late events included.

With ``BillingConfig(usage_grace=timedelta(days=3))`` a renewal does not bill the ending
period's usage; it leaves a :class:`~subkit.usage.billed.UsageClose` due three days later.
``advance()`` then bills the period's usage on its own invoice (reason ``subscription_cycle``,
the period's dates), counting the events that arrived during the grace period as on time.
Events later still go to the next renewal as adjustments (:mod:`subkit.services.usage_rating`).

``advance()`` bills due closes after the renewals it runs: a run spanning several periods
issues them last (each dated at its own due instant).

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.services.context import ServiceContext
    >>> from subkit.services.invoicing import Invoicing
    >>> from subkit.testing import InMemoryStore, TestClock
    >>> ctx = ServiceContext(InMemoryStore(), TestClock(datetime(2027, 1, 1, tzinfo=UTC)))
    >>> close_due_usage(ctx, Invoicing(ctx), datetime(2027, 2, 1, tzinfo=UTC))
    0
"""

from __future__ import annotations

from datetime import datetime

from subkit.customer.customer import Customer
from subkit.invoice.invoice import BillingReason
from subkit.services.context import ServiceContext, Work
from subkit.services.invoicing import Invoicing
from subkit.services.usage_rating import billed_lines, period_usage, record_billed
from subkit.subscription.model import Subscription
from subkit.usage.billed import UsageClose
from subkit.usage.event import micros

__all__ = ["close_due_usage"]

_BATCH = 200


def close_due_usage(ctx: ServiceContext, invoicing: Invoicing, until: datetime) -> int:
    """Bill every period whose grace period ended by ``until``; how many invoices were issued."""
    issued = 0
    while True:
        with ctx.store.begin() as uow:
            due = uow.due(UsageClose, until, _BATCH)
            if not due:
                return issued
            work = Work(uow)
            for close in due:
                at = close.due_at or until
                sub = uow.get(Subscription, close.subscription_id)
                customer = uow.get(Customer, sub.customer_id)
                bctx = ctx.billing_context(work, sub, customer)
                lines, current, plans, detail = period_usage(uow, sub, bctx, close.start, close.end)
                if lines:
                    invoicing.invoice(
                        work,
                        customer,
                        lines,
                        at,
                        sub,
                        BillingReason.SUBSCRIPTION_CYCLE,
                        (close.start, close.end),
                    )
                    issued += 1
                record_billed(
                    uow, sub.id, close.start, current, close.end, micros(at), billed_lines(sub, plans, detail)
                )
                uow.update(
                    close.model_copy(
                        update={"status": "closed", "due_at": None, "version": close.version + 1}
                    )
                )
        ctx.committed(work)
