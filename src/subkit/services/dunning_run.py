"""The dunning run: every step that came due, invoice by invoice, in batches.

An invoice is due for payment work when its ``due_at`` has passed (the store serves them by
that index): a charge left ``started`` to resume with its key, a scheduled retry, or the
final action. :meth:`DunningRun.run` handles each due invoice at most once per call and
counts what it did in a :class:`~subkit.services.collection.CollectionReport`; a lost race
with another worker is counted as a conflict, not raised.

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

from datetime import datetime

from subkit.customer.customer import CollectionMethod, Customer
from subkit.errors import ConcurrencyError, DuplicateError
from subkit.invoice.invoice import Invoice, InvoiceStatus
from subkit.payment.attempts import AttemptReason, AttemptStatus, PaymentAttempt
from subkit.payment.dunning import StepKind
from subkit.ports import Store
from subkit.services.collection import Collection, CollectionReport
from subkit.services.dunning_service import DunningService
from subkit.services.payment_records import charge_target, invoice_attempts

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
