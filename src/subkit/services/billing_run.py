"""The billing run: everything due up to an instant, in batches, each action at its own instant.

Each ``advance(until)`` creates one :class:`BillingRun`. The run holds what the call needs
between batches (the instant, the report, the subscriptions set aside), and each batch's
state lives on that batch's :class:`~subkit.services.context.Work`: the pending invoice items
read once for the batch, and the queue of events and drafts issued together just before
commit. Nothing of a run is kept on the engine, so one engine can serve many threads.

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.catalog.catalog import Catalog, Plan, Product
    >>> from subkit.catalog.pricing import FlatFee
    >>> from subkit.services.engine import BillingEngine
    >>> from subkit.testing import InMemoryStore, TestClock
    >>> engine = BillingEngine(InMemoryStore(), TestClock(datetime(2027, 1, 31, tzinfo=UTC)))
    >>> engine.set_catalog(Catalog(products=(Product(id="app", name="App"),), plans=(
    ...     Plan(id="basic", product_id="app", name="Basic", prices={"USD": FlatFee(flat_amount="10")}),)))
    >>> _ = engine.subscribe(engine.create_customer(name="Ada", currency="USD").id, "basic")
    >>> ctx = ServiceContext(engine.store, engine.clock)
    >>> run = BillingRun(ctx, Invoicing(ctx), datetime(2027, 3, 31, tzinfo=UTC))
    >>> report = run.execute()
    >>> report.actions, report.invoices, report.errors
    (2, 2, [])
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime

from subkit.core.events import Event
from subkit.core.heap import frozen_heap, paused_collector
from subkit.core.inputs import mask_card_numbers
from subkit.customer.customer import Customer
from subkit.errors import ConflictError, SubkitError
from subkit.invoice.invoice import Invoice, InvoiceItem
from subkit.ports import UnitOfWork
from subkit.services.context import ServiceContext, Work
from subkit.services.invoicing import Invoicing
from subkit.services.usage_close import close_due_usage
from subkit.services.usage_rating import prefetch_usage, with_usage
from subkit.subscription.machine import run_due_action
from subkit.subscription.model import Subscription

__all__ = ["AdvanceReport", "BillingRun", "run_due_actions"]


def _issue_time(entry: Event | tuple[Invoice, datetime]) -> datetime:
    return entry.occurred_at if isinstance(entry, Event) else entry[1]


@dataclass(slots=True)
class AdvanceReport:
    """What one ``advance`` call did.

    Example:
        >>> from datetime import datetime, UTC
        >>> AdvanceReport(until=datetime(2027, 1, 1, tzinfo=UTC)).invoices
        0
    """

    until: datetime
    actions: int = 0
    invoices: int = 0
    conflicts: int = 0
    invoice_ids: list[str] = field(default_factory=list)
    errors: list[tuple[str, str, str]] = field(default_factory=list)

    def merge(self, other: AdvanceReport) -> None:
        """Add another report's counts to this one."""
        self.actions += other.actions
        self.invoices += other.invoices
        self.invoice_ids.extend(other.invoice_ids)


def run_due_actions(
    ctx: ServiceContext, invoicing: Invoicing, work: Work, sub_id: str, until: datetime, report: AdvanceReport
) -> list[Invoice]:
    """Run every action of one subscription due up to ``until`` inside ``work``; its invoices.

    Example:
        >>> from datetime import datetime, UTC
        >>> from subkit.catalog.catalog import Catalog, Plan, Product
        >>> from subkit.catalog.pricing import FlatFee
        >>> from subkit.services.engine import BillingEngine
        >>> from subkit.testing import InMemoryStore, TestClock
        >>> engine = BillingEngine(InMemoryStore(), TestClock(datetime(2027, 1, 31, tzinfo=UTC)))
        >>> engine.set_catalog(Catalog(products=(Product(id="app", name="App"),), plans=(
        ...     Plan(id="basic", product_id="app", name="Basic",
        ...          prices={"USD": FlatFee(flat_amount="10")}),)))
        >>> sub = engine.subscribe(engine.create_customer(name="Ada", currency="USD").id, "basic")
        >>> ctx, until = ServiceContext(engine.store, engine.clock), datetime(2027, 3, 31, tzinfo=UTC)
        >>> with engine.store.begin() as uow:   # as upcoming_invoice does: look, then roll back
        ...     done = run_due_actions(ctx, Invoicing(ctx), Work(uow), sub.id, until, AdvanceReport(until))
        ...     uow.rollback()
        >>> [i.period_start.date().isoformat() for i in done]
        ['2027-02-28', '2027-03-31']
    """
    uow = work.uow
    get, apply, context, ids = uow.get, invoicing.apply, ctx.billing_context, report.invoice_ids
    metered = work.metered()
    invoices: list[Invoice] = []
    while True:
        sub = get(Subscription, sub_id)
        due = sub.due_at
        if due is None or due > until:
            return invoices
        customer = get(Customer, sub.customer_id)
        bctx = context(work, sub, customer)
        if metered and sub.period_end == due:
            bctx = with_usage(  # [usage] services.usage_rating
                uow, sub, bctx, sub.period_end, now=ctx.now(), grace=ctx.config.usage_grace, usage=work.usage
            )
        inv = apply(work, run_due_action(sub, bctx), customer)
        report.actions += 1
        if inv is not None:
            report.invoices += 1
            ids.append(inv.id)
            invoices.append(inv)


class BillingRun:
    """One ``advance(until)``: due subscriptions in batches, a failing batch redone one by one.

    A batch is read (on PostgreSQL locked with ``SKIP LOCKED``, so concurrent workers take
    disjoint batches) and billed in one transaction. If that transaction conflicts with
    another writer, the batch is redone one subscription per transaction; a subscription
    that still fails is reported in ``errors``, set aside for the rest of the run, and the
    run goes on.

    Example:
        >>> from datetime import datetime, UTC
        >>> from subkit.testing import InMemoryStore, TestClock
        >>> ctx = ServiceContext(InMemoryStore(), TestClock(datetime(2027, 1, 1, tzinfo=UTC)))
        >>> BillingRun(ctx, Invoicing(ctx), ctx.now()).execute().actions
        0
    """

    __slots__ = ("ctx", "invoicing", "report", "until")

    def __init__(self, ctx: ServiceContext, invoicing: Invoicing, until: datetime) -> None:
        self.ctx = ctx
        self.invoicing = invoicing
        self.until = until
        self.report = AdvanceReport(until=until)

    def execute(self) -> AdvanceReport:
        """Bill everything due up to ``until``; what was done (with ``config.freeze_heap``, heap frozen)."""
        if self.ctx.config.freeze_heap:
            with frozen_heap():
                return self._execute()
        return self._execute()

    def _execute(self) -> AdvanceReport:
        report = self.report
        while True:
            done = AdvanceReport(until=self.until)
            try:
                work = self._batch(done)
            except Exception as e:  # one broken subscription must not stop the run: redo singly
                if isinstance(e, ConflictError):
                    report.conflicts += 1
                if not self._singly():
                    break
                continue
            if work is None:
                break
            report.merge(done)
            self.ctx.committed(work)
        if self.ctx.config.usage_grace:  # [usage] periods whose grace period ended (services.usage_close)
            report.invoices += close_due_usage(self.ctx, self.invoicing, self.until)
        return report

    def _due(self, uow: UnitOfWork) -> tuple[list[Subscription], datetime]:
        """The next due subscriptions, leaving out those this run already failed to bill, and
        the horizon: the due instant of the first subscription left for a later batch.

        A batch runs its actions only up to the horizon, and its drafts are numbered in time
        order, so invoice numbers follow issue time across the whole run, in one jump as in
        daily steps (nothing outside the batch is due before the horizon).
        """
        bad = {sid for sid, _, _ in self.report.errors}
        size = self.ctx.config.batch_size
        found = [s for s in uow.due(Subscription, self.until, size + len(bad) + 1) if s.id not in bad]
        later = found[size].due_at if len(found) > size else None
        return found[:size], min(later, self.until) if later is not None else self.until

    def _batch(self, done: AdvanceReport) -> Work | None:
        """Bill the next batch in one transaction; its committed work, or ``None`` when nothing is due.

        With ``config.pause_gc`` (the default), the cyclic collector is off while the batch runs.
        """
        with paused_collector() if self.ctx.config.pause_gc else nullcontext(), self.ctx.store.begin() as uow:
            batch, horizon = self._due(uow)
            if not batch:
                return None
            ids, customer_ids = [s.id for s in batch], [s.customer_id for s in batch]
            # Only the unit of work holds the subscriptions now: each old value goes as soon as
            # its renewal replaces it (fewer objects outlive a collection: flatter cost per invoice).
            del batch
            # One read each for the batch's customers and pending items, not one per invoice.
            uow.get_many(Customer, customer_ids)
            pending: dict[str, list[InvoiceItem]] = {}
            for item in uow.find(InvoiceItem, status="pending", subscription_id=ids):
                pending.setdefault(item.subscription_id or "", []).append(item)
            work = Work(uow, pending=pending, deferred=True)
            prefetch_usage(self.ctx, work, ids, horizon)  # [usage] one aggregation for the batch's renewals
            for sub_id in ids:
                run_due_actions(self.ctx, self.invoicing, work, sub_id, horizon, done)
            self._issue_queued(work)
        return work

    def _issue_queued(self, work: Work) -> None:
        """Publish the batch's queue in order, numbering and storing each draft at its place."""
        uow, issue, finalized, queue = work.uow, self.invoicing.issue, work.finalized, work.queue or []
        queue.sort(key=_issue_time)  # stable: numbers follow issue time, ties keep the batch order
        for entry in queue:
            if isinstance(entry, Event):  # an Event is a slotted tuple too: test it first
                uow.publish(entry)
            else:
                issue(uow, entry[0], entry[1], finalized)
        # Let the drafts and the prefetch go now, not after the commit: fewer objects outlive
        # a garbage-collector pass (what the cost per invoice of a large run is sensitive to).
        queue.clear()
        work.pending = None

    def _singly(self) -> bool:
        """Redo the due subscriptions one per transaction; whether anything moved on."""
        report, until = self.report, self.until
        with self.ctx.store.begin() as uow:
            ids = [s.id for s in self._due(uow)[0]]
        progressed = False
        for sub_id in ids:
            done = AdvanceReport(until=until)
            try:
                with self.ctx.store.begin() as uow:
                    # Lock the subscription before anything else (as a batch does with due()),
                    # and leave it to the worker that holds it.
                    if uow.lock(Subscription, sub_id, skip_locked=True) is None:
                        continue
                    work = Work(uow)
                    run_due_actions(self.ctx, self.invoicing, work, sub_id, until, done)
            except ConflictError:
                report.conflicts += 1
                continue
            except SubkitError as e:
                report.errors.append((sub_id, e.code, mask_card_numbers(e.message)))
                progressed = True  # it is set aside: the next batch goes past it
                continue
            except Exception as e:  # a bug or a value beyond limits: report it, bill the others
                report.errors.append(
                    (sub_id, "internal_error", mask_card_numbers(f"{type(e).__name__}: {e}"))
                )
                progressed = True
                continue
            progressed = progressed or done.actions > 0
            report.merge(done)
            self.ctx.committed(work)
        return progressed
