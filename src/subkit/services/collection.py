"""Collection: charge open invoices through the gateway, exactly once, and record the answers.

Each charge attempt has one idempotency key, ``charge:{invoice_id}:{n}``, written with the
attempt (status ``started``) and committed *before* the gateway is called; the result is
written after. If the gateway cannot be reached, or the process dies between the call and
the write, the attempt stays ``started`` and the invoice's ``due_at`` points at
``recheck_after`` later: the next run resumes it with the same key, the gateway answers
with the original result, and nothing is charged twice.

A success pays the invoice (its subscription recovers once nothing else is open); a pending
debit waits for :meth:`Collection.sync_pending` or a webhook
(:meth:`Collection.apply_gateway_update`); a failure goes to
:class:`~subkit.services.dunning_service.DunningService`.

Example:
    >>> report = CollectionReport()
    >>> report.succeeded, report.failed, report.final_actions
    (0, 0, 0)
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime

from subkit.core.events import Event, EventType
from subkit.customer.customer import CollectionMethod, Customer
from subkit.errors import DuplicateError, GatewayError, NotFoundError, ValidationError
from subkit.invoice.invoice import Invoice, InvoiceStatus
from subkit.payment.attempts import AttemptReason, AttemptStatus, PaymentAttempt
from subkit.payment.methods import PaymentMethod
from subkit.payment.pci import mask_card_numbers
from subkit.payment.results import PaymentResult, PaymentStatus
from subkit.ports import PaymentGateway, Store, UnitOfWork
from subkit.services.dunning_service import DunningService
from subkit.services.payment_records import (
    apply_payment,
    charge_target,
    credit_balance,
    invoice_attempts,
    retrying,
)
from subkit.services.retry import RetryPolicy, retry_call
from subkit.subscription.model import Subscription, SubscriptionStatus

__all__ = ["Collection", "CollectionReport"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class CollectionReport:
    """What one ``retry_due`` run (or a ``collect`` given a report) did.

    Example:
        >>> CollectionReport().succeeded
        0
    """

    attempts: list[PaymentAttempt] = field(default_factory=list)
    final_actions: int = 0
    resumed: int = 0
    conflicts: int = 0
    #: Gateway calls that could not reach the gateway after every retry (card numbers masked);
    #: their attempts stay ``started`` and resume, with the same key, at the invoice's next due time.
    errors: list[str] = field(default_factory=list)

    @property
    def succeeded(self) -> int:
        """Attempts that took the money."""
        return sum(1 for a in self.attempts if a.status == AttemptStatus.SUCCEEDED)

    @property
    def failed(self) -> int:
        """Attempts declined or failed."""
        return sum(1 for a in self.attempts if a.failed)


class Collection:
    """Charges invoices through a :class:`~subkit.ports.PaymentGateway` and records the outcome.

    Example:
        >>> from datetime import datetime, UTC
        >>> from subkit.payment.dunning import DunningPolicy
        >>> from subkit.testing import InMemoryStore
        >>> from subkit.testing.gateway import FakeGateway
        >>> store = InMemoryStore()
        >>> collection = Collection(store, FakeGateway(), DunningService(store, DunningPolicy(), print))
        >>> collection.sync_pending(datetime(2027, 1, 1, tzinfo=UTC))  # no debit is pending
        []
    """

    def __init__(
        self,
        store: Store,
        gateway: PaymentGateway,
        dunning: DunningService,
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        self.store = store
        self.gateway = gateway
        self.dunning = dunning
        self.retry = retry or RetryPolicy()
        self.sleep = sleep

    def on_invoice_finalized(self, invoice_id: str, at: datetime) -> None:
        """Charge an invoice just finalized open (from the engine's call: a lost race must not fail it)."""
        # A stale read is retried; a duplicate means another worker started this attempt.
        with suppress(DuplicateError):
            retrying(lambda: self.charge(invoice_id, AttemptReason.INITIAL, at))

    def collect(
        self, invoice_id: str, at: datetime, report: CollectionReport | None = None
    ) -> PaymentAttempt | None:
        """Charge an open invoice now, on request (see ``PaymentCollector.collect``)."""
        with self.store.begin() as uow:
            tried = bool(invoice_attempts(uow, uow.get(Invoice, invoice_id)))
        reason = AttemptReason.MANUAL if tried else AttemptReason.INITIAL
        return self.charge(invoice_id, reason, at, automatic=False, report=report)

    def charge(
        self,
        invoice_id: str,
        reason: AttemptReason,
        at: datetime,
        *,
        automatic: bool = True,
        report: CollectionReport | None = None,
    ) -> PaymentAttempt | None:
        """Resume the invoice's ``started`` attempt, or start one, and run it; None: nothing to charge."""
        with self.store.begin() as uow:
            inv = uow.get(Invoice, invoice_id)
            if inv.status != InvoiceStatus.OPEN or inv.amount_remaining_minor == 0:
                return None
            customer = uow.get(Customer, inv.customer_id)
            if customer.collection_method == CollectionMethod.SEND_INVOICE:
                return None
            attempts = invoice_attempts(uow, inv)
            started = [a for a in attempts if a.status == AttemptStatus.STARTED]
            if started:
                attempt = started[0]  # resume it, with its key
                if report is not None:
                    report.resumed += 1
            else:
                if any(a.status == AttemptStatus.PENDING for a in attempts):
                    return None
                if automatic and reason == AttemptReason.INITIAL and inv.subscription_id is not None:
                    sub = uow.get(Subscription, inv.subscription_id)
                    if sub.status == SubscriptionStatus.UNPAID:
                        return None  # no automatic charges while unpaid (a new payment method retries)
                pm = charge_target(uow, inv, customer)
                if pm is not None and not pm.chargeable:
                    return None  # bank transfer: wait for the money
                attempt = self.begin(uow, inv, pm, len(attempts) + 1, reason, at)
        return self.execute(attempt, at, report)

    def begin(
        self,
        uow: UnitOfWork,
        inv: Invoice,
        pm: PaymentMethod | None,
        n: int,
        reason: AttemptReason,
        at: datetime,
    ) -> PaymentAttempt:
        """Write a ``started`` attempt (and claim its key) and lease the invoice for a recheck."""
        key = f"charge:{inv.id}:{n}"
        uow.claim(key)
        attempt = PaymentAttempt(
            id=f"pa_{inv.id}_{n}",
            customer_id=inv.customer_id,
            invoice_id=inv.id,
            status=AttemptStatus.STARTED,
            reason=reason,
            attempt_no=n,
            idempotency_key=key,
            payment_method_id=pm.id if pm is not None else None,
            method_type=pm.type if pm is not None else None,
            amount_minor=inv.amount_remaining_minor,
            currency=inv.currency,
            started_at=at,
        )
        uow.add(attempt)
        uow.update(inv.bumped(due_at=at + self.dunning.policy.recheck_after))
        return attempt

    def execute(
        self, attempt: PaymentAttempt, at: datetime, report: CollectionReport | None = None
    ) -> PaymentAttempt:
        """Call the gateway for a ``started`` attempt and record the answer (counted in ``report``)."""
        token = None
        if attempt.payment_method_id is not None:
            with self.store.begin() as uow, suppress(NotFoundError):
                token = uow.get(PaymentMethod, attempt.payment_method_id).token
        if token is None:
            result = PaymentResult(
                status=PaymentStatus.FAILED,
                amount_minor=attempt.amount_minor,
                currency=attempt.currency,
                message="no payment method to charge",
            )
        else:
            metadata = {
                "invoice_id": attempt.invoice_id or "",
                "customer_id": attempt.customer_id,
                "attempt": str(attempt.attempt_no),
            }
            what = f"charge {attempt.idempotency_key} ({attempt.amount_minor} {attempt.currency} minor)"
            log.debug("%s: calling the gateway", what)
            try:
                result = retry_call(
                    lambda: self.gateway.charge(
                        attempt.amount_minor, attempt.currency, token, attempt.idempotency_key, metadata
                    ),
                    self.retry,
                    what=what,
                    sleep=self.sleep,
                )
            except GatewayError as exc:  # stays started; the invoice's due_at brings it back, same key
                if report is not None:
                    report.attempts.append(attempt)
                    report.errors.append(f"{what}: {mask_card_numbers(str(exc))}")
                return attempt
            log.info("%s: %s", what, result.status.value)
        done = self.complete(attempt.id, result, at, report)
        if report is not None:
            report.attempts.append(done)
        return done

    def complete(
        self, attempt_id: str, result: PaymentResult, at: datetime, report: CollectionReport | None = None
    ) -> PaymentAttempt:
        """Record a gateway result (once: an attempt already final is left alone).

        A failure whose dunning has run out takes the final action at once (counted in ``report``).
        """

        def write() -> tuple[PaymentAttempt, bool]:
            with self.store.begin() as uow:
                a = uow.get(PaymentAttempt, attempt_id)
                if a.status not in (AttemptStatus.STARTED, AttemptStatus.PENDING):
                    return a, False
                if result.status == PaymentStatus.PENDING:
                    if a.status == AttemptStatus.PENDING:
                        return a, False
                    return self._on_pending(uow, a, result, at), False
                if result.status == PaymentStatus.SUCCEEDED:
                    return self._on_success(uow, a, result, at), False
                return self._on_failure(uow, a, result, at)

        attempt, final = retrying(write)
        if final and attempt.invoice_id is not None:
            taken = self.dunning.final(attempt.invoice_id, at)
            if taken and report is not None:
                report.final_actions += 1
        return attempt

    def _on_pending(
        self, uow: UnitOfWork, a: PaymentAttempt, result: PaymentResult, at: datetime
    ) -> PaymentAttempt:
        new = a.bumped(status=AttemptStatus.PENDING, gateway_payment_id=result.payment_id)
        uow.update(new)
        if a.invoice_id is not None:
            inv = uow.get(Invoice, a.invoice_id)
            if inv.due_at is not None:
                uow.update(inv.bumped(due_at=None))  # nothing to retry while the debit clears
        uow.publish(
            Event.of(
                EventType.PAYMENT_PENDING,
                at,
                a.id,
                customer_id=a.customer_id,
                invoice_id=a.invoice_id,
                amount=a.amount_minor,
                payment_id=result.payment_id,
            )
        )
        return new

    def _on_success(
        self, uow: UnitOfWork, a: PaymentAttempt, result: PaymentResult, at: datetime
    ) -> PaymentAttempt:
        applied = 0
        amount = result.amount_minor or a.amount_minor
        if a.invoice_id is not None:
            _, applied = apply_payment(uow, uow.get(Invoice, a.invoice_id), amount, at)
        extra = amount - applied
        if extra > 0:  # the invoice was paid another way meanwhile: keep the money as credit
            credit_balance(uow, a.customer_id, extra, at, payment_id=a.id)
        new = a.bumped(
            status=AttemptStatus.SUCCEEDED,
            gateway_payment_id=result.payment_id,
            completed_at=at,
            applied_minor=applied,
            credited_minor=extra,
            decline_code=None,
            message=result.message,
        )
        uow.update(new)
        uow.publish(
            Event.of(
                EventType.PAYMENT_SUCCEEDED,
                at,
                a.id,
                customer_id=a.customer_id,
                invoice_id=a.invoice_id,
                amount=amount,
                payment_id=result.payment_id,
                method=a.method_type.value if a.method_type else None,
            )
        )
        return new

    def _on_failure(
        self, uow: UnitOfWork, a: PaymentAttempt, result: PaymentResult, at: datetime
    ) -> tuple[PaymentAttempt, bool]:
        status = AttemptStatus.DECLINED if result.status == PaymentStatus.DECLINED else AttemptStatus.FAILED
        new = a.bumped(
            status=status,
            gateway_payment_id=result.payment_id,
            decline_code=result.decline_code,
            message=result.message,
            completed_at=at,
        )
        uow.update(new)
        uow.publish(
            Event.of(
                EventType.PAYMENT_FAILED,
                at,
                a.id,
                customer_id=a.customer_id,
                invoice_id=a.invoice_id,
                attempt=a.attempt_no,
                amount=a.amount_minor,
                decline_code=result.decline_code.value if result.decline_code else None,
                hard=new.hard,
                message=result.message,
            )
        )
        if a.invoice_id is None:
            return new, False
        return new, self.dunning.after_failure(uow, uow.get(Invoice, a.invoice_id), at)

    # ------------------------------------------------------------------ settling later
    def sync_pending(self, at: datetime) -> list[PaymentAttempt]:
        """Ask the gateway about every pending payment; record the ones that settled."""
        with self.store.begin() as uow:
            waiting = uow.find(PaymentAttempt, status=AttemptStatus.PENDING)
        done = []
        for a in waiting:
            if a.gateway_payment_id is None:
                continue
            payment_id = a.gateway_payment_id
            try:
                result = retry_call(
                    functools.partial(self.gateway.retrieve, payment_id),
                    self.retry,
                    what=f"retrieve {payment_id}",
                    sleep=self.sleep,
                )
            except GatewayError:  # logged by retry_call; asked again at the next sync
                continue
            if result.status != PaymentStatus.PENDING:
                done.append(self.complete(a.id, result, at))
        return done

    def apply_gateway_update(self, result: PaymentResult, at: datetime) -> PaymentAttempt | None:
        """Record a settled payment the gateway told about (a webhook); ``None`` if none is pending."""
        if result.payment_id is None:
            raise ValidationError("a gateway update needs the payment_id", field="payment_id")
        with self.store.begin() as uow:
            found = [
                a
                for a in uow.find(PaymentAttempt, status=AttemptStatus.PENDING)
                if a.gateway_payment_id == result.payment_id
            ]
        if not found:
            return None
        return self.complete(found[0].id, result, at)

    def retry_open(self, customer_id: str, payment_method_id: str, at: datetime) -> list[PaymentAttempt]:
        """Charge at once every open invoice of a customer that now goes to ``payment_method_id``."""
        with self.store.begin() as uow:
            customer = uow.get(Customer, customer_id)
            if customer.collection_method == CollectionMethod.SEND_INVOICE:
                return []
            invoices = sorted(
                (
                    i
                    for i in uow.find(Invoice, customer_id=customer_id, status=InvoiceStatus.OPEN)
                    if i.amount_remaining_minor > 0
                ),
                key=lambda i: (i.created_at, i.number or ""),
            )
            targets = []
            for inv in invoices:
                pm = charge_target(uow, inv, customer)
                if pm is not None and pm.id == payment_method_id:
                    targets.append(inv.id)
        done = []
        for invoice_id in targets:

            def charge(i: str = invoice_id) -> PaymentAttempt | None:
                return self.charge(i, AttemptReason.PAYMENT_METHOD_UPDATED, at)

            with suppress(DuplicateError):  # another worker is charging it
                attempt = retrying(charge)
                if attempt is not None:
                    done.append(attempt)
        return done
