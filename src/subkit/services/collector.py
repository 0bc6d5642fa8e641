"""Payment collection: charge open invoices, run dunning, reconcile transfers, refund.

:class:`PaymentCollector` sits beside the :class:`~subkit.services.engine.BillingEngine`. Attached,
it charges every invoice the engine finalizes for a ``charge_automatically`` customer
(``send_invoice`` customers pay by themselves); ``retry_due`` runs the dunning schedule of
:class:`~subkit.payment.dunning.DunningPolicy`; a new default payment method retries the open
invoices at once; ``pay_by_bank_transfer`` reconciles offline payments; ``refund`` goes
through the gateway and issues a credit note.

Exactly once. Each charge attempt has one idempotency key, ``charge:{invoice_id}:{n}``,
written with the attempt (status ``started``) and committed *before* the gateway is
called; the result is written after. If the gateway cannot be reached, or the process dies
between the call and the write, the attempt stays ``started`` and the invoice's ``due_at``
points at ``recheck_after`` later: ``retry_due`` (or ``collect``) resumes it with the same
key, the gateway answers with the original result, and nothing is charged twice.

Subscription status follows payments: ``active -> past_due`` when a payment of its invoice
fails, back to ``active`` once no open invoice of it is left, and ``canceled`` or
``unpaid`` at the final action.

Example:
    >>> from datetime import datetime, timedelta, UTC
    >>> from subkit.services.engine import BillingEngine
    >>> from subkit.catalog.catalog import Catalog, Plan, Product
    >>> from subkit.catalog.pricing import FlatFee
    >>> from subkit.testing import InMemoryStore, TestClock
    >>> from subkit.testing.gateway import FakeGateway, decline
    >>> clock = TestClock(datetime(2027, 1, 1, tzinfo=UTC))
    >>> engine = BillingEngine(InMemoryStore(), clock)
    >>> engine.set_catalog(Catalog(products=(Product(id="app", name="App"),), plans=(
    ...     Plan(id="basic", product_id="app", name="Basic", prices={"USD": FlatFee(price="10")}),)))
    >>> gateway = FakeGateway()
    >>> collector = PaymentCollector(engine, gateway).attach()
    >>> cus = engine.create_customer(name="Ada", currency="USD")
    >>> pm = collector.add_payment_method(cus.id, {"type": "card", "token": "tok_ada", "brand": "visa",
    ...                                            "last4": "4242", "exp_month": 12, "exp_year": 2030})
    >>> gateway.script(decline("insufficient_funds"), token="tok_ada")
    >>> sub = engine.subscribe(cus.id, "basic")
    >>> engine.get_subscription(sub.id).status.value  # its first invoice is unpaid
    'incomplete'
    >>> _ = clock.advance(timedelta(days=1))
    >>> collector.retry_due().succeeded
    1
    >>> engine.get_subscription(sub.id).status.value, [c.status.value for c in gateway.charges]
    ('active', ['declined', 'succeeded'])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from typing import Self, TypeVar

from subkit.core.events import Event, EventType
from subkit.core.money import check_currency, minor_to_decimal
from subkit.core.periods import ensure_aware
from subkit.customer.customer import CollectionMethod, Customer
from subkit.errors import (
    ConcurrencyError,
    CurrencyMismatchError,
    DuplicateError,
    GatewayError,
    IllegalTransitionError,
    NotFoundError,
    StateError,
    ValidationError,
)
from subkit.invoice.invoice import BillingReason, CreditNote, Invoice, InvoiceStatus
from subkit.payment.attempts import AttemptReason, AttemptStatus, PaymentAttempt, Refund, RefundStatus
from subkit.payment.dunning import DunningPolicy, DunningStep, FinalAction, StepKind
from subkit.payment.methods import BankTransferDetails, PaymentMethod, PaymentMethodDetails, PaymentMethodType
from subkit.payment.pci import reject_card_data
from subkit.payment.results import PaymentResult, PaymentStatus
from subkit.ports import Clock, PaymentGateway, UnitOfWork
from subkit.services.engine import BillingEngine, change_balance
from subkit.subscription.model import Subscription, SubscriptionStatus

__all__ = ["CollectionReport", "PaymentCollector"]

_WRITE_TRIES = 5
T = TypeVar("T")


#: Statuses a paid-up subscription recovers from.
_DUNNED = (SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID, SubscriptionStatus.INCOMPLETE)


@dataclass(slots=True)
class CollectionReport:
    """What one ``retry_due`` (or recovery) run did.

    Example:
        >>> CollectionReport().succeeded
        0
    """

    attempts: list[PaymentAttempt] = field(default_factory=list)
    final_actions: int = 0
    resumed: int = 0
    conflicts: int = 0

    @property
    def succeeded(self) -> int:
        """Attempts that took the money."""
        return sum(1 for a in self.attempts if a.status == AttemptStatus.SUCCEEDED)

    @property
    def failed(self) -> int:
        """Attempts declined or failed."""
        return sum(1 for a in self.attempts if a.failed)


class PaymentCollector:
    """Collects invoice payments through a :class:`~subkit.ports.PaymentGateway`, with dunning.

    ``clock`` defaults to the engine's, ``policy`` to :class:`~subkit.payment.dunning.DunningPolicy()`.
    Every method taking ``at`` uses the clock when it is omitted.

    Example:
        >>> from datetime import datetime, UTC
        >>> from subkit.services.engine import BillingEngine
        >>> from subkit.testing import InMemoryStore, TestClock
        >>> from subkit.testing.gateway import FakeGateway
        >>> engine = BillingEngine(InMemoryStore(), TestClock(datetime(2027, 1, 1, tzinfo=UTC)))
        >>> collector = PaymentCollector(engine, FakeGateway()).attach()
        >>> collector.policy.retry_days
        (1, 3, 5, 7)
    """

    def __init__(
        self,
        engine: BillingEngine,
        gateway: PaymentGateway,
        clock: Clock | None = None,
        policy: DunningPolicy | None = None,
        *,
        ids: Callable[[str], str] | None = None,
        batch_size: int = 100,
    ) -> None:
        self.engine = engine
        self.store = engine.store
        self.gateway = gateway
        self.clock = clock or engine.clock
        self.policy = policy or DunningPolicy()
        self.batch_size = batch_size
        self._ids = ids or engine.new_id  # the engine's ids by default (deterministic in tests)

    def attach(self) -> Self:
        """Charge every invoice the engine finalizes open (registers on ``engine.after_finalize``)."""
        if self._on_finalized not in self.engine.after_finalize:
            self.engine.after_finalize.append(self._on_finalized)
        return self

    def _on_finalized(self, invoice_id: str) -> None:
        # Runs inside the engine's call (subscribe, advance...): a lost race must not fail it.
        # A stale read is retried; a duplicate means another worker started this attempt.
        with suppress(DuplicateError):
            self._retrying(lambda: self._collect(invoice_id, AttemptReason.INITIAL, self.clock.now()))

    def _now(self, at: datetime | None) -> datetime:
        return ensure_aware(at) if at is not None else self.clock.now()

    @staticmethod
    def _retrying(fn: Callable[[], T]) -> T:
        """Run a write, again on ``ConcurrencyError`` (it re-reads everything each time)."""
        for _ in range(_WRITE_TRIES - 1):
            try:
                return fn()
            except ConcurrencyError:
                continue
        return fn()

    # ------------------------------------------------------------------ lookups
    @staticmethod
    def _attempts(uow: UnitOfWork, inv: Invoice) -> list[PaymentAttempt]:
        found = [a for a in uow.find(PaymentAttempt, customer_id=inv.customer_id) if a.invoice_id == inv.id]
        return sorted(found, key=lambda a: a.attempt_no)

    @staticmethod
    def _target(uow: UnitOfWork, inv: Invoice, customer: Customer) -> PaymentMethod | None:
        """The payment method to charge: the subscription's, else the customer's default."""
        pm_id = customer.default_payment_method_id
        if inv.subscription_id is not None:
            try:
                sub = uow.get(Subscription, inv.subscription_id)
            except NotFoundError:
                sub = None
            if sub is not None and sub.payment_method_id is not None:
                pm_id = sub.payment_method_id
        if pm_id is None:
            return None
        try:
            pm = uow.get(PaymentMethod, pm_id)
        except NotFoundError:
            return None
        return pm if pm.customer_id == customer.id else None

    def _decide(
        self,
        uow: UnitOfWork,
        inv: Invoice,
        customer: Customer,
        attempts: Sequence[PaymentAttempt],
        at: datetime,
    ) -> DunningStep:
        failures = [a for a in attempts if a.failed and a.completed_at is not None]
        if not failures:
            return DunningStep(kind=StepKind.RETRY, at=at)
        first = min(a.completed_at for a in failures if a.completed_at is not None)
        last = max(a.completed_at for a in failures if a.completed_at is not None)
        pm = self._target(uow, inv, customer)
        blocked = (
            pm is None or not pm.chargeable or any(a.hard and a.payment_method_id == pm.id for a in failures)
        )
        return self.policy.next_step(first_failure_at=first, last_attempt_at=last, blocked=blocked, at=at)

    # ------------------------------------------------------------------ charging
    def collect(self, invoice_id: str, *, at: datetime | None = None) -> PaymentAttempt | None:
        """Charge an open invoice now (resuming a ``started`` attempt first, with its key).

        Returns the attempt, or ``None`` when nothing was charged: the invoice is not open,
        the customer pays by ``send_invoice`` or bank transfer, or a debit is pending.
        """
        now = self._now(at)
        with self.store.begin() as uow:
            inv = uow.get(Invoice, invoice_id)
            tried = bool(self._attempts(uow, inv))
        reason = AttemptReason.MANUAL if tried else AttemptReason.INITIAL
        return self._collect(invoice_id, reason, now, automatic=False)

    def _collect(
        self,
        invoice_id: str,
        reason: AttemptReason,
        at: datetime,
        *,
        automatic: bool = True,
        report: CollectionReport | None = None,
    ) -> PaymentAttempt | None:
        with self.store.begin() as uow:
            inv = uow.get(Invoice, invoice_id)
            if inv.status != InvoiceStatus.OPEN or inv.amount_remaining_minor == 0:
                return None
            customer = uow.get(Customer, inv.customer_id)
            if customer.collection_method == CollectionMethod.SEND_INVOICE:
                return None
            attempts = self._attempts(uow, inv)
            started = [a for a in attempts if a.status == AttemptStatus.STARTED]
            if started:
                attempt = started[0]  # resume it, with its key
            else:
                if any(a.status == AttemptStatus.PENDING for a in attempts):
                    return None
                if automatic and reason == AttemptReason.INITIAL and inv.subscription_id is not None:
                    sub = uow.get(Subscription, inv.subscription_id)
                    if sub.status == SubscriptionStatus.UNPAID:
                        return None  # no automatic charges while unpaid (a new payment method retries)
                pm = self._target(uow, inv, customer)
                if pm is not None and not pm.chargeable:
                    return None  # bank transfer: wait for the money
                attempt = self._begin(uow, inv, pm, len(attempts) + 1, reason, at)
        return self._execute(attempt, at, report)

    def _begin(
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
        uow.update(inv.bumped(due_at=at + self.policy.recheck_after))
        return attempt

    def _execute(
        self, attempt: PaymentAttempt, at: datetime, report: CollectionReport | None = None
    ) -> PaymentAttempt:
        """Call the gateway for a ``started`` attempt and record the answer."""
        token = None
        if attempt.payment_method_id is not None:
            with self.store.begin() as uow:
                try:
                    token = uow.get(PaymentMethod, attempt.payment_method_id).token
                except NotFoundError:
                    token = None
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
            try:
                result = self.gateway.charge(
                    attempt.amount_minor, attempt.currency, token, attempt.idempotency_key, metadata
                )
            except GatewayError:
                return attempt  # stays started; the invoice's due_at brings it back with the same key
        return self._complete(attempt.id, result, at, report)

    def _complete(
        self, attempt_id: str, result: PaymentResult, at: datetime, report: CollectionReport | None = None
    ) -> PaymentAttempt:
        """Record a gateway result (once: an attempt already final is left alone)."""

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

        attempt, final = self._retrying(write)
        if final and attempt.invoice_id is not None and self._final(attempt.invoice_id, at) and report:
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

    def _credit_balance(
        self, uow: UnitOfWork, customer_id: str, amount: int, at: datetime, **data: str
    ) -> None:
        change_balance(uow, uow.get(Customer, customer_id), amount, at, **data)

    def _apply_payment(self, uow: UnitOfWork, inv: Invoice, amount: int, at: datetime) -> tuple[Invoice, int]:
        """Apply up to ``amount`` to an invoice; returns the invoice and what was applied."""
        if inv.status != InvoiceStatus.OPEN or inv.amount_remaining_minor == 0:
            if inv.due_at is not None:
                inv = inv.bumped(due_at=None)
                uow.update(inv)
            return inv, 0
        applied = min(amount, inv.amount_remaining_minor)
        inv = inv.record_payment(applied, at)
        uow.update(inv)
        if inv.status == InvoiceStatus.PAID:
            uow.publish(
                Event.of(EventType.INVOICE_PAID, at, inv.id, customer_id=inv.customer_id, amount=applied)
            )
            self._recover(uow, inv, at)
        return inv, applied

    def _on_success(
        self, uow: UnitOfWork, a: PaymentAttempt, result: PaymentResult, at: datetime
    ) -> PaymentAttempt:
        applied = 0
        amount = result.amount_minor or a.amount_minor
        if a.invoice_id is not None:
            inv = uow.get(Invoice, a.invoice_id)
            inv, applied = self._apply_payment(uow, inv, amount, at)
        extra = amount - applied
        if extra > 0:  # the invoice was paid another way meanwhile: keep the money as credit
            self._credit_balance(uow, a.customer_id, extra, at, payment_id=a.id)
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
        inv = uow.get(Invoice, a.invoice_id)
        if inv.status != InvoiceStatus.OPEN or inv.amount_remaining_minor == 0:
            if inv.due_at is not None:
                uow.update(inv.bumped(due_at=None))
            return new, False
        if inv.subscription_id is not None:
            sub = uow.get(Subscription, inv.subscription_id)
            if sub.status == SubscriptionStatus.UNPAID:  # dunning already ran out: no automatic retries
                uow.update(inv.bumped(due_at=None))
                return new, False
            if sub.status == SubscriptionStatus.ACTIVE:
                # Stripe's rule: a subscription whose first invoice is not paid is incomplete.
                first = inv.billing_reason == BillingReason.SUBSCRIPTION_CREATE
                sub_status = SubscriptionStatus.INCOMPLETE if first else SubscriptionStatus.PAST_DUE
                uow.update(sub.bumped(status=sub_status))
                uow.publish(
                    Event.of(
                        EventType.SUBSCRIPTION_INCOMPLETE if first else EventType.SUBSCRIPTION_PAST_DUE,
                        at,
                        sub.id,
                        customer_id=sub.customer_id,
                        invoice_id=inv.id,
                    )
                )
        customer = uow.get(Customer, inv.customer_id)
        step = self._decide(uow, inv, customer, [*self._attempts(uow, inv)], at)
        if step.kind == StepKind.WAIT:
            uow.update(inv.bumped(due_at=step.at))
            blocked_wait = step.retry is None
            uow.publish(
                Event.of(
                    EventType.DUNNING_STEP,
                    at,
                    inv.id,
                    customer_id=inv.customer_id,
                    action="retries_skipped" if blocked_wait else "retry_scheduled",
                    retry=step.retry,
                    next_at=step.at.isoformat(),
                    final_action=self.policy.final_action.value,
                )
            )
            return new, False
        uow.update(inv.bumped(due_at=at))  # due now: a retry (for retry_due) or the final action
        return new, step.kind == StepKind.FINAL

    def _recover(self, uow: UnitOfWork, inv: Invoice, at: datetime) -> None:
        """A paid invoice brings its subscription back to active once nothing else is open."""
        if inv.subscription_id is None:
            return
        sub = uow.get(Subscription, inv.subscription_id)
        if sub.status not in _DUNNED:
            return
        still_open = [
            i
            for i in uow.find(Invoice, subscription_id=sub.id, status=InvoiceStatus.OPEN)
            if i.id != inv.id and i.amount_remaining_minor > 0
        ]
        if still_open:
            return
        uow.update(sub.bumped(status=SubscriptionStatus.ACTIVE))
        uow.publish(
            Event.of(
                EventType.SUBSCRIPTION_ACTIVATED,
                at,
                sub.id,
                customer_id=sub.customer_id,
                reason="payment_recovered",
                invoice_id=inv.id,
            )
        )

    # ------------------------------------------------------------------ dunning
    def _final(self, invoice_id: str, at: datetime) -> bool:
        """Take the policy's final action for an invoice whose retries ran out (idempotent)."""
        policy = self.policy
        with self.store.begin() as uow:
            inv = uow.get(Invoice, invoice_id)
            if inv.status != InvoiceStatus.OPEN or inv.amount_remaining_minor == 0:
                if inv.due_at is not None:
                    uow.update(inv.bumped(due_at=None))
                return False
            customer = uow.get(Customer, inv.customer_id)
            step = self._decide(uow, inv, customer, self._attempts(uow, inv), at)
            if step.kind != StepKind.FINAL:
                uow.update(inv.bumped(due_at=step.at))
                return False
            sub = uow.get(Subscription, inv.subscription_id) if inv.subscription_id else None
            cancel_id = None
            if sub is not None and sub.status != SubscriptionStatus.CANCELED:
                if policy.final_action == FinalAction.CANCEL:
                    cancel_id = sub.id
                elif (
                    policy.final_action == FinalAction.MARK_UNPAID and sub.status != SubscriptionStatus.UNPAID
                ):
                    uow.update(sub.bumped(status=SubscriptionStatus.UNPAID))
                    uow.publish(
                        Event.of(
                            EventType.SUBSCRIPTION_UNPAID,
                            at,
                            sub.id,
                            customer_id=sub.customer_id,
                            invoice_id=inv.id,
                        )
                    )
        if cancel_id is not None:  # cancel first (the engine's own unit of work), then close the invoice
            with suppress(IllegalTransitionError):  # canceled meanwhile
                self.engine.cancel(cancel_id, at_period_end=False, at=at)
        self._retrying(lambda: self._close_dunning(invoice_id, at))
        return True

    def _close_dunning(self, invoice_id: str, at: datetime) -> None:
        with self.store.begin() as uow:
            inv = uow.get(Invoice, invoice_id)
            if inv.status != InvoiceStatus.OPEN:
                return
            new = inv.bumped(due_at=None)
            if self.policy.mark_uncollectible:
                new = inv.mark_uncollectible()
                uow.publish(
                    Event.of(EventType.INVOICE_UNCOLLECTIBLE, at, inv.id, customer_id=inv.customer_id)
                )
            uow.update(new)
            uow.publish(
                Event.of(
                    EventType.DUNNING_STEP,
                    at,
                    inv.id,
                    customer_id=inv.customer_id,
                    action="final_action",
                    final_action=self.policy.final_action.value,
                    subscription_id=inv.subscription_id,
                    uncollectible=self.policy.mark_uncollectible,
                )
            )

    def retry_due(self, until: datetime | None = None) -> CollectionReport:
        """Run every dunning step due by ``until`` (default: now): retries, resumptions, final actions.

        Also resumes refunds left ``started`` or without their credit note. Each invoice is
        handled at most once per call.
        """
        now = self.clock.now()
        until = ensure_aware(until, "until") if until is not None else now
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
                    self._due_step(invoice_id, now, report)
                except (ConcurrencyError, DuplicateError):
                    report.conflicts += 1
        self._resume_refunds(now)
        return report

    def _due_step(self, invoice_id: str, at: datetime, report: CollectionReport) -> None:
        final = False
        attempt: PaymentAttempt | None = None
        with self.store.begin() as uow:
            inv = uow.get(Invoice, invoice_id)
            if inv.status != InvoiceStatus.OPEN or inv.amount_remaining_minor == 0:
                if inv.due_at is not None:
                    uow.update(inv.bumped(due_at=None))
                return
            customer = uow.get(Customer, inv.customer_id)
            attempts = self._attempts(uow, inv)
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
                step = self._decide(uow, inv, customer, attempts, at)
                if step.kind == StepKind.WAIT:
                    uow.update(inv.bumped(due_at=step.at))
                    return
                if step.kind == StepKind.FINAL:
                    final = True
                else:
                    pm = self._target(uow, inv, customer)
                    reason = AttemptReason.RETRY if attempts else AttemptReason.INITIAL
                    attempt = self._begin(uow, inv, pm, len(attempts) + 1, reason, at)
        if final:
            if self._final(invoice_id, at):
                report.final_actions += 1
        elif attempt is not None:
            report.attempts.append(self._execute(attempt, at, report))

    # ------------------------------------------------------------------ pending debits
    def sync_pending(self, *, at: datetime | None = None) -> list[PaymentAttempt]:
        """Ask the gateway about every pending payment; record the ones that settled."""
        now = self._now(at)
        with self.store.begin() as uow:
            waiting = uow.find(PaymentAttempt, status=AttemptStatus.PENDING)
        done = []
        for a in waiting:
            if a.gateway_payment_id is None:
                continue
            try:
                result = self.gateway.retrieve(a.gateway_payment_id)
            except GatewayError:
                continue
            if result.status != PaymentStatus.PENDING:
                done.append(self._complete(a.id, result, now))
        return done

    def apply_gateway_update(
        self, result: PaymentResult, *, at: datetime | None = None
    ) -> PaymentAttempt | None:
        """Record a settled payment the gateway told you about (a webhook).

        Returns the attempt it settled, or ``None`` when no pending attempt has
        that ``payment_id``: unknown, or already recorded (webhooks are delivered at least once).
        """
        now = self._now(at)
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
        return self._complete(found[0].id, result, now)

    # ------------------------------------------------------------------ payment methods
    def add_payment_method(
        self,
        customer_id: str,
        details: PaymentMethodDetails | Mapping[str, object],
        *,
        metadata: Mapping[str, str] | None = None,
        make_default: bool | None = None,
        id: str | None = None,
        at: datetime | None = None,
    ) -> PaymentMethod:
        """Save a tokenized payment method (raw card data is refused: ``SensitiveDataError``).

        It becomes the default when ``make_default`` is true, or when the customer has none
        yet; a new default retries the customer's open invoices at once.
        """
        if isinstance(details, Mapping):
            reject_card_data(details, "details")
        reject_card_data(dict(metadata or {}), "metadata")
        now = self._now(at)
        pm = PaymentMethod(
            id=id or self._ids("pm"),
            customer_id=customer_id,
            details=details,
            created_at=now,
            metadata=dict(metadata or {}),
        )
        with self.store.begin() as uow:
            customer = uow.get(Customer, customer_id)
            uow.add(pm)
        if make_default or (make_default is None and customer.default_payment_method_id is None):
            self.set_default_payment_method(customer_id, pm.id, at=now)
        return pm

    def payment_methods(self, customer_id: str) -> list[PaymentMethod]:
        """A customer's saved payment methods, oldest first."""
        with self.store.begin() as uow:
            return uow.find(PaymentMethod, customer_id=customer_id)

    def set_default_payment_method(
        self,
        customer_id: str,
        payment_method_id: str,
        *,
        subscription_id: str | None = None,
        at: datetime | None = None,
    ) -> list[PaymentAttempt]:
        """Make a payment method the customer's default (or one subscription's); retry open invoices.

        Every open invoice that would now be charged to this method is retried at once
        (recovery), except those with a debit pending. Returns those attempts.
        """
        now = self._now(at)

        def write() -> None:
            with self.store.begin() as uow:
                customer = uow.get(Customer, customer_id)
                pm = uow.get(PaymentMethod, payment_method_id)
                if pm.customer_id != customer_id:
                    raise ValidationError(
                        f"payment method {pm.id} belongs to another customer", field="payment_method_id"
                    )
                if subscription_id is not None:
                    sub = uow.get(Subscription, subscription_id)
                    if sub.customer_id != customer_id:
                        raise ValidationError(
                            f"subscription {sub.id} belongs to another customer", field="subscription_id"
                        )
                    uow.update(sub.bumped(payment_method_id=pm.id))
                else:
                    uow.update(customer.bumped(default_payment_method_id=pm.id))
                uow.publish(
                    Event.of(
                        EventType.CUSTOMER_UPDATED,
                        now,
                        customer_id,
                        customer_id=customer_id,
                        fields="payment_method_id" if subscription_id else "default_payment_method_id",
                        payment_method_id=pm.id,
                        subscription_id=subscription_id,
                    )
                )

        self._retrying(write)
        return self._retry_open(customer_id, payment_method_id, now)

    def _retry_open(self, customer_id: str, payment_method_id: str, at: datetime) -> list[PaymentAttempt]:
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
                pm = self._target(uow, inv, customer)
                if pm is not None and pm.id == payment_method_id:
                    targets.append(inv.id)
        done = []
        for invoice_id in targets:

            def charge(i: str = invoice_id) -> PaymentAttempt | None:
                return self._collect(i, AttemptReason.PAYMENT_METHOD_UPDATED, at)

            with suppress(DuplicateError):  # another worker is charging it
                attempt = self._retrying(charge)
                if attempt is not None:
                    done.append(attempt)
        return done

    def expiring_cards(self, before: datetime, *, at: datetime | None = None) -> list[PaymentMethod]:
        """Warn about cards (and wallets) that expire before the renewal they would pay.

        For each live subscription renewing by ``before``, if the payment method it would be
        charged to expires at or before that renewal, a ``payment_method.expiring`` event is
        published, once per method and renewal. Returns the methods warned about.
        """
        now = self._now(at)
        before = ensure_aware(before, "before")
        warned: list[PaymentMethod] = []
        with self.store.begin() as uow:
            subs = [
                s
                for status in (
                    SubscriptionStatus.TRIALING,
                    SubscriptionStatus.ACTIVE,
                    SubscriptionStatus.PAST_DUE,
                )
                for s in uow.find(Subscription, status=status)
            ]
            for sub in subs:
                renewal = sub.period_end
                if renewal > before or sub.cancel_at_period_end:
                    continue
                customer = uow.get(Customer, sub.customer_id)
                if customer.collection_method == CollectionMethod.SEND_INVOICE:
                    continue
                pm_id = sub.payment_method_id or customer.default_payment_method_id
                if pm_id is None:
                    continue
                try:
                    pm = uow.get(PaymentMethod, pm_id)
                except NotFoundError:
                    continue
                expires = pm.expires_at
                if expires is None or expires > renewal:
                    continue
                key = f"expiring:{pm.id}:{renewal.isoformat()}"
                if uow.claimed(key):
                    continue
                uow.claim(key)
                uow.publish(
                    Event.of(
                        EventType.PAYMENT_METHOD_EXPIRING,
                        now,
                        pm.id,
                        customer_id=customer.id,
                        subscription_id=sub.id,
                        expires=pm.expiry,
                        renews_at=renewal.isoformat(),
                    )
                )
                warned.append(pm)
        return warned

    # ------------------------------------------------------------------ bank transfers
    def pay_by_bank_transfer(
        self,
        invoice_id: str | None = None,
        *,
        amount_minor: int,
        reference: str | None = None,
        currency: str | None = None,
        transfer_id: str | None = None,
        at: datetime | None = None,
    ) -> list[PaymentAttempt]:
        """Reconcile an offline transfer, found by invoice id or by ``reference``.

        ``reference`` is an invoice number, or the reference of a customer's bank transfer
        payment method (the money then pays that customer's open invoices, oldest first).
        Less than due leaves the invoice open; more goes to the customer's credit balance.
        A repeated ``transfer_id`` (the bank's id; a re-imported statement) is ignored.
        Returns one succeeded attempt per invoice paid (and one without invoice for credit).
        """
        if type(amount_minor) is not int or amount_minor <= 0:
            raise ValidationError("amount_minor must be a positive int (minor units)", field="amount_minor")
        if invoice_id is None and reference is None:
            raise ValidationError("give the invoice_id or the transfer's reference", field="reference")
        if reference is not None:
            reject_card_data(reference, "reference")
        now = self._now(at)

        def write() -> list[PaymentAttempt]:
            with self.store.begin() as uow:
                if transfer_id is not None:
                    key = f"transfer:{transfer_id}"
                    if uow.claimed(key):
                        return []
                    uow.claim(key)
                customer, invoices, one = self._transfer_target(uow, invoice_id, reference)
                if one:  # a named invoice: the transfer is in its currency
                    cur = check_currency(currency) if currency else invoices[0].currency
                    if invoices[0].currency != cur:
                        raise CurrencyMismatchError(
                            f"a {cur} transfer cannot pay a {invoices[0].currency} invoice", field="currency"
                        )
                else:
                    cur = check_currency(currency) if currency else customer.currency
                    invoices = [i for i in invoices if i.currency == cur]
                paid: list[tuple[str | None, int, int]] = []  # (invoice id, attempt no, applied)
                left = amount_minor
                for inv in invoices:
                    if left == 0:
                        break
                    if inv.status != InvoiceStatus.OPEN or inv.amount_remaining_minor == 0:
                        continue
                    n = len(self._attempts(uow, inv)) + 1
                    inv, applied = self._apply_payment(uow, inv, left, now)
                    left -= applied
                    paid.append((inv.id, n, applied))
                if left:
                    if cur != customer.currency:
                        raise CurrencyMismatchError(
                            f"{left} {cur} left over cannot go to a {customer.currency} balance",
                            field="currency",
                        )
                    self._credit_balance(uow, customer.id, left, now, reference=reference or "")
                if not paid:
                    paid.append((None, 1, 0))
                return [
                    self._transfer_attempt(
                        uow,
                        customer,
                        inv_id,
                        n,
                        applied,
                        cur,
                        reference,
                        now,
                        left if i == len(paid) - 1 else 0,
                    )
                    for i, (inv_id, n, applied) in enumerate(paid)
                ]

        return self._retrying(write)

    def _transfer_target(
        self, uow: UnitOfWork, invoice_id: str | None, reference: str | None
    ) -> tuple[Customer, list[Invoice], bool]:
        """The customer and the invoices a transfer pays; True when it names one invoice."""
        if invoice_id is not None:
            inv = uow.get(Invoice, invoice_id)
            return uow.get(Customer, inv.customer_id), [inv], True
        ref = (reference or "").strip().casefold()
        # open invoices first (indexed by status), then any invoice (a full scan: no number index)
        for where in ({"status": InvoiceStatus.OPEN}, {}):
            for inv in uow.find(Invoice, **where):
                if inv.number is not None and inv.number.casefold() == ref:
                    return uow.get(Customer, inv.customer_id), [inv], True
        for pm in uow.find(PaymentMethod):
            if isinstance(pm.details, BankTransferDetails) and pm.details.reference.casefold() == ref:
                customer = uow.get(Customer, pm.customer_id)
                invoices = sorted(
                    uow.find(Invoice, customer_id=customer.id, status=InvoiceStatus.OPEN),
                    key=lambda i: (i.created_at, i.number or ""),
                )
                return customer, invoices, False
        raise NotFoundError(f"no invoice or bank transfer reference {reference!r}", field="reference")

    def _transfer_attempt(
        self,
        uow: UnitOfWork,
        customer: Customer,
        invoice_id: str | None,
        n: int,
        applied: int,
        currency: str,
        reference: str | None,
        at: datetime,
        credited: int = 0,
    ) -> PaymentAttempt:
        attempt_id = f"pa_{invoice_id}_{n}" if invoice_id else self._ids("pa")
        key = f"transfer:{invoice_id}:{n}" if invoice_id else f"transfer:{attempt_id}"
        uow.claim(key)
        attempt = PaymentAttempt(
            id=attempt_id,
            customer_id=customer.id,
            invoice_id=invoice_id,
            status=AttemptStatus.SUCCEEDED,
            reason=AttemptReason.BANK_TRANSFER,
            attempt_no=n,
            idempotency_key=key,
            method_type=PaymentMethodType.BANK_TRANSFER,
            amount_minor=applied + credited,
            currency=currency,
            started_at=at,
            completed_at=at,
            applied_minor=applied,
            credited_minor=credited,
            reference=reference,
        )
        uow.add(attempt)
        uow.publish(
            Event.of(
                EventType.PAYMENT_SUCCEEDED,
                at,
                attempt.id,
                customer_id=customer.id,
                invoice_id=invoice_id,
                amount=attempt.amount_minor,
                method=PaymentMethodType.BANK_TRANSFER.value,
                reference=reference,
            )
        )
        return attempt

    # ------------------------------------------------------------------ refunds
    def refund(
        self,
        invoice_id: str,
        amount_minor: int | None = None,
        *,
        reason: str = "",
        at: datetime | None = None,
    ) -> Refund:
        """Refund a paid invoice through the gateway (all that was charged, or ``amount_minor``).

        A credit note (``refund=True``) records it on the invoice. A refund left ``started``
        by a transport fault is resumed first, with its key: calling again after a
        ``GatewayError`` never refunds twice.
        """
        reject_card_data(reason, "reason")
        now = self._now(at)
        with self.store.begin() as uow:
            inv = uow.get(Invoice, invoice_id)
            in_flight = [
                r
                for status in (RefundStatus.STARTED, RefundStatus.CREDITING)
                for r in uow.find(Refund, customer_id=inv.customer_id, status=status)
                if r.invoice_id == invoice_id
            ]
        for r in in_flight:
            r = self._run_refund(r, now, raise_transport=True)
            if amount_minor is None or r.amount_minor == amount_minor:
                return r

        def start() -> Refund:
            with self.store.begin() as uow:
                inv = uow.get(Invoice, invoice_id)
                if inv.status != InvoiceStatus.PAID:
                    raise StateError(
                        f"invoice {inv.id} is {inv.status.value}; only paid invoices are refunded "
                        "(void or credit an open one)"
                    )
                payments = sorted(
                    (a for a in self._attempts(uow, inv) if a.refundable_minor > 0),
                    key=lambda a: a.attempt_no,
                    reverse=True,
                )
                refundable = min(sum(a.refundable_minor for a in payments), inv.creditable_minor)
                amount = refundable if amount_minor is None else amount_minor
                if type(amount) is not int or amount <= 0:
                    raise ValidationError(
                        f"nothing to refund on {inv.number} through the gateway"
                        if amount_minor is None
                        else "amount_minor must be a positive int (minor units)",
                        field="amount_minor",
                    )
                if amount > refundable:
                    raise ValidationError(
                        f"refund {amount} exceeds what can be refunded on {inv.number} ({refundable})",
                        field="amount_minor",
                    )
                payment = next((a for a in payments if a.refundable_minor >= amount), None)
                if payment is None or payment.gateway_payment_id is None:
                    raise ValidationError(
                        f"refund at most {max(a.refundable_minor for a in payments)} at once "
                        "(one payment per refund)",
                        field="amount_minor",
                    )
                n = (
                    len([r for r in uow.find(Refund, customer_id=inv.customer_id) if r.invoice_id == inv.id])
                    + 1
                )
                key = f"refund:{inv.id}:{n}"
                uow.claim(key)
                refund = Refund(
                    id=f"re_{inv.id}_{n}",
                    customer_id=inv.customer_id,
                    invoice_id=inv.id,
                    attempt_id=payment.id,
                    gateway_payment_id=payment.gateway_payment_id,
                    idempotency_key=key,
                    amount_minor=amount,
                    currency=inv.currency,
                    reason=reason,
                    created_at=now,
                )
                uow.add(refund)
                return refund

        return self._run_refund(self._retrying(start), now, raise_transport=True)

    def _run_refund(self, refund: Refund, at: datetime, *, raise_transport: bool) -> Refund:
        if refund.status == RefundStatus.STARTED:
            try:
                result = self.gateway.refund(
                    refund.gateway_payment_id, refund.amount_minor, refund.idempotency_key
                )
            except GatewayError:
                if raise_transport:
                    raise
                return refund

            def record() -> Refund:
                with self.store.begin() as uow:
                    r = uow.get(Refund, refund.id)
                    if r.status != RefundStatus.STARTED:
                        return r
                    if result.status in (PaymentStatus.SUCCEEDED, PaymentStatus.PENDING):
                        new = r.bumped(
                            status=RefundStatus.CREDITING,
                            gateway_refund_id=result.payment_id,
                            completed_at=at,
                        )
                        attempt = uow.get(PaymentAttempt, r.attempt_id)
                        uow.update(attempt.bumped(refunded_minor=attempt.refunded_minor + r.amount_minor))
                        uow.publish(
                            Event.of(
                                EventType.PAYMENT_REFUNDED,
                                at,
                                r.id,
                                customer_id=r.customer_id,
                                invoice_id=r.invoice_id,
                                amount=r.amount_minor,
                                refund_id=result.payment_id,
                            )
                        )
                    else:
                        new = r.bumped(status=RefundStatus.FAILED, message=result.message, completed_at=at)
                    uow.update(new)
                    return new

            refund = self._retrying(record)
        if refund.status == RefundStatus.CREDITING:
            marker = f"refund {refund.id}"
            with self.store.begin() as uow:
                notes = [
                    n
                    for n in uow.find(CreditNote, customer_id=refund.customer_id)
                    if n.invoice_id == refund.invoice_id
                    and (n.reason == marker or n.reason.startswith(marker + ":"))
                ]
            note = (
                notes[0]
                if notes
                else self.engine.issue_credit_note(
                    refund.invoice_id,
                    minor_to_decimal(refund.amount_minor, refund.currency),
                    reason=f"{marker}: {refund.reason}" if refund.reason else marker,
                    at=at,
                    refund=True,
                )
            )

            def link() -> Refund:
                with self.store.begin() as uow:
                    r = uow.get(Refund, refund.id)
                    if r.status != RefundStatus.CREDITING:
                        return r
                    new = r.bumped(status=RefundStatus.SUCCEEDED, credit_note_id=note.id)
                    uow.update(new)
                    return new

            refund = self._retrying(link)
        return refund

    def _resume_refunds(self, at: datetime) -> None:
        with self.store.begin() as uow:
            open_refunds = [
                r
                for status in (RefundStatus.STARTED, RefundStatus.CREDITING)
                for r in uow.find(Refund, status=status)
            ]
        for r in open_refunds:
            self._run_refund(r, at, raise_transport=False)
