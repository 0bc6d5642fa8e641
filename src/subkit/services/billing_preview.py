"""What a billing run would do, without doing it: the invoices of ``advance(until)``, rolled back.

The same due actions as :class:`~subkit.services.billing_run.BillingRun` run in one unit of
work that is rolled back, so the preview issues exactly the invoices the run would (numbers
included, as the next numbers would be) and writes nothing. On PostgreSQL the due
subscriptions stay locked while the preview runs (``FOR UPDATE SKIP LOCKED``): a billing
worker skips them meanwhile.

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.catalog.catalog import Catalog, Plan, Product
    >>> from subkit.catalog.pricing import FlatFee
    >>> from subkit.services.engine import BillingEngine
    >>> from subkit.testing import InMemoryStore, TestClock
    >>> engine = BillingEngine(InMemoryStore(), TestClock(datetime(2027, 1, 1, tzinfo=UTC)))
    >>> engine.set_catalog(Catalog(products=(Product(id="app", name="App"),), plans=(
    ...     Plan(id="basic", product_id="app", name="Basic", prices={"USD": FlatFee(flat_amount="10")}),)))
    >>> sub = engine.subscribe(engine.create_customer(name="Ada", currency="USD").id, "basic")
    >>> [i.period_start.month for i in engine.preview_advance(datetime(2027, 3, 1, tzinfo=UTC))]
    [2, 3]
    >>> len(engine.invoices(subscription_id=sub.id))  # nothing was written
    1
"""

from __future__ import annotations

from datetime import datetime

from subkit.core.periods import cycle_start
from subkit.invoice.invoice import Invoice
from subkit.ports import Store
from subkit.services.billing_run import AdvanceReport, run_due_actions
from subkit.services.context import ServiceContext, Work
from subkit.services.invoicing import Invoicing
from subkit.subscription.model import Subscription, SubscriptionStatus

__all__ = ["preview_advance", "renewals_beyond_one"]


def preview_advance(
    ctx: ServiceContext, invoicing: Invoicing, until: datetime, *, batch: int = 1000
) -> list[Invoice]:
    """The invoices ``advance(until)`` would issue now, in the order it would issue them; writes nothing."""
    issued: list[Invoice] = []
    uow = ctx.store.begin()
    with uow:
        work = Work(uow)
        report = AdvanceReport(until=until)
        seen: set[str] = set()
        while True:
            due = [s for s in uow.due(Subscription, until, batch + len(seen)) if s.id not in seen]
            if not due:
                break
            for sub in due:
                seen.add(sub.id)
                issued.extend(run_due_actions(ctx, invoicing, work, sub.id, until, report))
        uow.rollback()
    return issued


def renewals_beyond_one(store: Store, until: datetime, *, limit: int = 100_000) -> list[Subscription]:
    """Due subscriptions that ``advance(until)`` would renew more than once (a run over several periods).

    Cheap (no billing): a subscription in cycle ``n`` renews at the start of cycle ``n + 1``
    and again at that of ``n + 2``; the second renewal is due when it is not after ``until``.
    """
    with store.begin() as uow:
        due = uow.due(Subscription, until, limit)
    return [
        s
        for s in due
        if s.status not in (SubscriptionStatus.CANCELED, SubscriptionStatus.PAUSED)
        and not s.cancel_at_period_end
        and cycle_start(s.anchor, s.interval, s.cycle + 2, s.timezone) <= until
    ]
