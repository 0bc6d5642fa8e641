"""The dunning run: every step that came due, invoice by invoice, in batches.

An invoice is due for payment work when its ``due_at`` has passed (the store serves them by
that index): a charge left ``started`` to resume with its key, a scheduled retry, or the
final action. :meth:`DunningRun.run` handles each due invoice at most once per call and
counts what it did in a :class:`~subkit.services.collection.CollectionReport`; a lost race
with another worker is counted as a conflict, not raised.

:meth:`DunningRun.sweep` then looks at what no ``due_at`` points to (issue 10):

- an open invoice of a ``charge_automatically`` customer with no attempt at all (finalized just
  before a crash, before the payment hook ran) is charged now, exactly once (attempt keys);
- a ``send_invoice`` customer's subscription becomes ``past_due`` once an open invoice's pay-by
  date (``payment_due_at``, else ``DunningPolicy.days_until_due`` after issue) has passed;
- a subscription still ``incomplete`` ``DunningPolicy.incomplete_expires_after`` (23 hours)
  after it was created expires: ``incomplete_expired``, its first invoice voided, no renewal.

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.payment.dunning import DunningPolicy
    >>> from subkit.testing import InMemoryStore
    >>> from subkit.testing.gateway import FakeGateway
    >>> store = InMemoryStore()
    >>> dunning = DunningService(store, DunningPolicy(), cancel=print)
    >>> run = DunningRun(store, Collection(store, FakeGateway(), dunning), dunning)
    >>> at = datetime(2027, 1, 1, tzinfo=UTC)
    >>> run.run(until=at, at=at).attempts  # nothing is due
    []
"""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime, timedelta

from subkit.core.events import Event, EventType
from subkit.customer.customer import CollectionMethod, Customer
from subkit.errors import ConcurrencyError, DuplicateError
from subkit.invoice.invoice import Invoice, InvoiceStatus
from subkit.payment.attempts import AttemptReason, AttemptStatus, PaymentAttempt
from subkit.payment.dunning import StepKind
from subkit.ports import Store
from subkit.services.collection import Collection, CollectionReport
from subkit.services.customers import change_balance
from subkit.services.dunning_service import DunningService
from subkit.services.payment_records import charge_target, invoice_attempts
from subkit.subscription.model import Subscription, SubscriptionStatus

__all__ = ["DunningRun"]


class DunningRun:
    """Runs the due dunning steps: resumptions, retries, final actions (``batch_size`` at a time).

    Example:
        >>> from subkit.payment.dunning import DunningPolicy
        >>> from subkit.testing import InMemoryStore
        >>> from subkit.testing.gateway import FakeGateway
        >>> store = InMemoryStore()
        >>> dunning = DunningService(store, DunningPolicy(), cancel=print)
        >>> DunningRun(store, Collection(store, FakeGateway(), dunning), dunning, batch_size=50).batch_size
        50
    """

    def __init__(
        self, store: Store, collection: Collection, dunning: DunningService, *, batch_size: int = 100
    ) -> None:
        self.store = store
        self.collection = collection
        self.dunning = dunning
        self.batch_size = batch_size

    def run(self, until: datetime, at: datetime) -> CollectionReport:
        """Run every step due by ``until``, acting at ``at``; each invoice at most once."""
        report = CollectionReport()
        seen: set[str] = set()
        while True:
            with self.store.begin() as uow:
                due = [i.id for i in uow.due(Invoice, until, self.batch_size + len(seen))]
            todo = [i for i in due if i not in seen]
            if not todo:
                break
            for invoice_id in todo:
                seen.add(invoice_id)
                try:
                    self._step(invoice_id, at, report)
                except (ConcurrencyError, DuplicateError):
                    report.conflicts += 1
        return report

    def sweep(self, until: datetime, at: datetime, report: CollectionReport) -> None:
        """Collect open invoices never attempted, mark overdue ``send_invoice`` subscriptions
        ``past_due``, and expire ``incomplete`` subscriptions (see the module docstring)."""
        policy = self.dunning.policy
        with self.store.begin() as uow:
            open_invoices = [i for i in uow.find(Invoice, status=InvoiceStatus.OPEN) if i.due_at is None]
            expiry = policy.incomplete_expires_after
            incomplete = (
                [] if expiry is None else uow.find(Subscription, status=SubscriptionStatus.INCOMPLETE)
            )
        for sub in incomplete:
            if expiry is not None and sub.created_at + expiry <= until:
                with suppress(ConcurrencyError, DuplicateError):
                    self._expire(sub.id, at)
        for inv in open_invoices:
            try:
                self._sweep_invoice(inv.id, until, at, report)
            except (ConcurrencyError, DuplicateError):
                report.conflicts += 1

    def _sweep_invoice(
        self, invoice_id: str, until: datetime, at: datetime, report: CollectionReport
    ) -> None:
        with self.store.begin() as uow:
            inv = uow.get(Invoice, invoice_id)
            if inv.status != InvoiceStatus.OPEN or inv.due_at is not None or inv.amount_remaining_minor == 0:
                return
            customer = uow.get(Customer, inv.customer_id)
            if customer.collection_method == CollectionMethod.CHARGE_AUTOMATICALLY:
                orphan = not invoice_attempts(uow, inv)
            else:
                orphan = False
                pay_by = inv.payment_due_at or inv.created_at + timedelta(
                    days=self.dunning.policy.days_until_due
                )
                if pay_by <= until and inv.subscription_id is not None:
                    sub = uow.get(Subscription, inv.subscription_id)
                    if sub.status == SubscriptionStatus.ACTIVE:
                        uow.update(sub.bumped(status=SubscriptionStatus.PAST_DUE))
                        uow.publish(
                            Event.of(
                                EventType.SUBSCRIPTION_PAST_DUE,
                                at,
                                sub.id,
                                customer_id=sub.customer_id,
                                invoice_id=inv.id,
                            )
                        )
        if orphan:
            self.collection.charge(invoice_id, AttemptReason.INITIAL, at, report=report)

    def _expire(self, sub_id: str, at: datetime) -> None:
        """An ``incomplete`` subscription whose first invoice was not paid in time ends."""
        with self.store.begin() as uow:
            sub = uow.get(Subscription, sub_id)
            if sub.status != SubscriptionStatus.INCOMPLETE:
                return
            uow.update(sub.bumped(status=SubscriptionStatus.INCOMPLETE_EXPIRED, ended_at=at, due_at=None))
            uow.publish(
                Event.of(EventType.SUBSCRIPTION_INCOMPLETE_EXPIRED, at, sub.id, customer_id=sub.customer_id)
            )
            for inv in uow.find(Invoice, subscription_id=sub.id, status=InvoiceStatus.OPEN):
                if inv.amount_paid_minor:
                    continue  # money was received: leave it to a person (refund or credit)
                uow.update(inv.void(at))
                if inv.credit_applied_minor:  # the balance it used is given back, as a void does
                    cus = uow.get(Customer, inv.customer_id)
                    change_balance(uow, cus, inv.credit_applied_minor, at, invoice_id=inv.id)
                uow.publish(Event.of(EventType.INVOICE_VOIDED, at, inv.id, customer_id=inv.customer_id))

    def _step(self, invoice_id: str, at: datetime, report: CollectionReport) -> None:
        final = False
        attempt: PaymentAttempt | None = None
        with self.store.begin() as uow:
            inv = uow.get(Invoice, invoice_id)
            if inv.status != InvoiceStatus.OPEN or inv.amount_remaining_minor == 0:
                if inv.due_at is not None:
                    uow.update(inv.bumped(due_at=None))
                return
            customer = uow.get(Customer, inv.customer_id)
            attempts = invoice_attempts(uow, inv)
            started = [a for a in attempts if a.status == AttemptStatus.STARTED]
            if started:
                attempt = started[0]
                report.resumed += 1
            elif (
                any(a.status == AttemptStatus.PENDING for a in attempts)
                or customer.collection_method == CollectionMethod.SEND_INVOICE
            ):
                uow.update(inv.bumped(due_at=None))
                return
            else:
                step = self.dunning.decide(uow, inv, customer, attempts, at)
                if step.kind == StepKind.WAIT:
                    uow.update(inv.bumped(due_at=step.at))
                    return
                if step.kind == StepKind.FINAL:
                    final = True
                else:
                    pm = charge_target(uow, inv, customer)
                    reason = AttemptReason.RETRY if attempts else AttemptReason.INITIAL
                    attempt = self.collection.begin(uow, inv, pm, len(attempts) + 1, reason, at)
        if final:
            if self.dunning.final(invoice_id, at):
                report.final_actions += 1
        elif attempt is not None:
            self.collection.execute(attempt, at, report)
