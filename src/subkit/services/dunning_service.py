"""Dunning applied: what happens to an invoice and its subscription after a payment fails.

The decision itself is pure, :meth:`subkit.payment.dunning.DunningPolicy.next_step`; this
service applies it to stored records. After a failed attempt it marks the subscription
``incomplete`` (its first invoice) or ``past_due`` and keeps the next step in the invoice's
``due_at`` (publishing ``dunning.step``). When the retries have run out it takes the
policy's final action: cancel the subscription (through the engine's ``cancel``, the one
narrow call it makes), mark it ``unpaid``, or leave it; and optionally write the invoice off.

:class:`~subkit.services.dunning_run.DunningRun` runs the steps that come due;
:class:`~subkit.services.collection.Collection` calls :meth:`DunningService.after_failure`.

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.testing import InMemoryStore
    >>> canceled = []
    >>> dunning = DunningService(InMemoryStore(), DunningPolicy(retry_days=(2, 4)),
    ...                          cancel=lambda sub_id, at: canceled.append(sub_id))
    >>> [t.day for t in dunning.policy.retry_times(datetime(2027, 3, 1, tzinfo=UTC))]
    [3, 5]
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import suppress
from datetime import datetime

from subkit.core.events import Event, EventType
from subkit.customer.customer import Customer
from subkit.errors import IllegalTransitionError
from subkit.invoice.invoice import BillingReason, Invoice, InvoiceStatus
from subkit.payment.attempts import PaymentAttempt
from subkit.payment.dunning import DunningPolicy, DunningStep, FinalAction, StepKind
from subkit.ports import Store, UnitOfWork
from subkit.services.payment_records import charge_target, invoice_attempts, retrying
from subkit.subscription.model import Subscription, SubscriptionStatus

__all__ = ["DunningService"]

log = logging.getLogger(__name__)


class DunningService:
    """Applies a :class:`~subkit.payment.dunning.DunningPolicy` to failed invoices.

    ``cancel(subscription_id, at)`` cancels a subscription now (the facade passes the
    engine's ``cancel``); it may raise ``IllegalTransitionError`` if it was canceled meanwhile.

    Example:
        >>> from subkit.testing import InMemoryStore
        >>> DunningService(InMemoryStore(), DunningPolicy(), cancel=print).policy.final_action.value
        'cancel'
    """

    def __init__(
        self, store: Store, policy: DunningPolicy, cancel: Callable[[str, datetime], object]
    ) -> None:
        self.store = store
        self.policy = policy
        self._cancel = cancel

    def decide(
        self,
        uow: UnitOfWork,
        inv: Invoice,
        customer: Customer,
        attempts: Sequence[PaymentAttempt],
        at: datetime,
    ) -> DunningStep:
        """The next step for an unpaid invoice: retry now (also when nothing failed yet), wait, final."""
        failures = [a for a in attempts if a.failed and a.completed_at is not None]
        if not failures:
            return DunningStep(kind=StepKind.RETRY, at=at)
        first = min(a.completed_at for a in failures if a.completed_at is not None)
        last = max(a.completed_at for a in failures if a.completed_at is not None)
        pm = charge_target(uow, inv, customer)
        blocked = (
            pm is None or not pm.chargeable or any(a.hard and a.payment_method_id == pm.id for a in failures)
        )
        return self.policy.next_step(first_failure_at=first, last_attempt_at=last, blocked=blocked, at=at)

    def after_failure(self, uow: UnitOfWork, inv: Invoice, at: datetime) -> bool:
        """Dun an invoice whose attempt just failed (in that attempt's unit of work).

        Marks its subscription ``incomplete`` or ``past_due`` and schedules the next step
        in ``due_at``. True when the final action is due now: call :meth:`final` after commit.
        """
        if inv.status != InvoiceStatus.OPEN or inv.amount_remaining_minor == 0:
            if inv.due_at is not None:
                uow.update(inv.bumped(due_at=None))
            return False
        if inv.subscription_id is not None:
            sub = uow.get(Subscription, inv.subscription_id)
            if sub.status == SubscriptionStatus.UNPAID:  # dunning already ran out: no automatic retries
                uow.update(inv.bumped(due_at=None))
                return False
            if sub.status == SubscriptionStatus.ACTIVE:
                # Stripe's rule: a subscription whose first invoice is not paid is incomplete.
                first = inv.billing_reason == BillingReason.SUBSCRIPTION_CREATE
                uow.update(
                    sub.bumped(status=SubscriptionStatus.INCOMPLETE if first else SubscriptionStatus.PAST_DUE)
                )
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
        step = self.decide(uow, inv, customer, invoice_attempts(uow, inv), at)
        if step.kind == StepKind.WAIT:
            log.info(
                "invoice %s: payment failed; %s, next step at %s",
                inv.id,
                "retries skipped" if step.retry is None else f"retry {step.retry} scheduled",
                step.at.isoformat(),
            )
            uow.update(inv.bumped(due_at=step.at))
            uow.publish(
                Event.of(
                    EventType.DUNNING_STEP,
                    at,
                    inv.id,
                    customer_id=inv.customer_id,
                    action="retries_skipped" if step.retry is None else "retry_scheduled",
                    retry=step.retry,
                    next_at=step.at.isoformat(),
                    final_action=self.policy.final_action.value,
                )
            )
            return False
        uow.update(inv.bumped(due_at=at))  # due now: a retry (for retry_due) or the final action
        return step.kind == StepKind.FINAL

    def final(self, invoice_id: str, at: datetime) -> bool:
        """Take the policy's final action for an invoice whose retries ran out (idempotent).

        Returns whether it was taken (not when the invoice was paid meanwhile, or a step
        other than the final one is due).
        """
        policy = self.policy
        with self.store.begin() as uow:
            inv = uow.get(Invoice, invoice_id)
            if inv.status != InvoiceStatus.OPEN or inv.amount_remaining_minor == 0:
                if inv.due_at is not None:
                    uow.update(inv.bumped(due_at=None))
                return False
            customer = uow.get(Customer, inv.customer_id)
            step = self.decide(uow, inv, customer, invoice_attempts(uow, inv), at)
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
        log.warning("invoice %s: dunning ran out; final action %s", invoice_id, policy.final_action.value)
        if cancel_id is not None:  # cancel first (the engine's own unit of work), then close the invoice
            with suppress(IllegalTransitionError):  # canceled meanwhile
                self._cancel(cancel_id, at)
        retrying(lambda: self._close(invoice_id, at))
        return True

    def _close(self, invoice_id: str, at: datetime) -> None:
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
