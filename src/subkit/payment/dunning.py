"""Dunning: what to do after a payment fails, as a pure policy over times.

A :class:`DunningPolicy` says when to retry a failed invoice payment (days after the
*first* failure, default 1, 3, 5 and 7), what to do when the retries run out (cancel the
subscription, mark it unpaid, or leave it past due; optionally write the invoice off),
and whether the customer keeps the service meanwhile. A hard decline (see
:class:`~subkit.payment.results.DeclineCode`) skips the remaining retries of that payment method:
nothing is charged until the customer gives a new one (which is retried at once), and the
final action comes at the end of the schedule (or at once, with ``hard_decline_final_at_once``).

:meth:`DunningPolicy.next_step` is the whole decision; :class:`subkit.services.collector.PaymentCollector`
applies it and stores the next retry time in the invoice's ``due_at``.

Example:
    >>> from datetime import datetime, UTC
    >>> policy = DunningPolicy()
    >>> t0 = datetime(2027, 3, 1, tzinfo=UTC)
    >>> [t.day for t in policy.retry_times(t0)]
    [2, 4, 6, 8]
    >>> step = policy.next_step(first_failure_at=t0, last_attempt_at=t0, blocked=False, at=t0)
    >>> step.kind.value, step.at.day, step.retry
    ('wait', 2, 1)
    >>> policy.next_step(first_failure_at=t0, last_attempt_at=datetime(2027, 3, 8, tzinfo=UTC),
    ...                  blocked=False, at=datetime(2027, 3, 8, tzinfo=UTC)).kind.value
    'final'
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import AwareDatetime, Field, field_validator

from subkit.core.model import Model
from subkit.core.periods import ensure_aware
from subkit.errors import ValidationError
from subkit.subscription.model import SubscriptionStatus

__all__ = ["DunningPolicy", "DunningStep", "FinalAction", "StepKind"]


class FinalAction(StrEnum):
    """What happens to the subscription when the last retry has failed.

    Example:
        >>> FinalAction("mark_unpaid") is FinalAction.MARK_UNPAID
        True
    """

    CANCEL = "cancel"
    MARK_UNPAID = "mark_unpaid"
    LEAVE_PAST_DUE = "leave_past_due"


class StepKind(StrEnum):
    """``retry`` now, ``wait`` until ``at`` (then decide again), or take the ``final`` action now.

    Example:
        >>> [k.value for k in StepKind]
        ['retry', 'wait', 'final']
    """

    RETRY = "retry"
    WAIT = "wait"
    FINAL = "final"


class DunningStep(Model):
    """The next dunning step: its kind, when, and which scheduled retry (1-based) it is about.

    Example:
        >>> from datetime import datetime, UTC
        >>> DunningStep(kind="retry", at=datetime(2027, 1, 2, tzinfo=UTC), retry=1).kind
        <StepKind.RETRY: 'retry'>
    """

    kind: StepKind
    at: AwareDatetime
    retry: int | None = None


class DunningPolicy(Model):
    """Retry schedule and final action for failed payments.

    Example:
        >>> p = DunningPolicy(retry_days=(2, 4), final_action="mark_unpaid", service_during_dunning=False)
        >>> p.final_action.value, p.grants_access(SubscriptionStatus.PAST_DUE)
        ('mark_unpaid', False)
    """

    #: Days after the first failure at which to retry, strictly increasing.
    retry_days: tuple[int, ...] = (1, 3, 5, 7)
    #: What happens to the subscription when every retry failed.
    final_action: FinalAction = FinalAction.CANCEL
    #: Also write the invoice off (status ``uncollectible``) at the final action.
    mark_uncollectible: bool = False
    #: Whether a past-due customer keeps the service while retries run.
    service_during_dunning: bool = True
    #: After a hard decline, take the final action at once instead of at the end of the schedule.
    hard_decline_final_at_once: bool = False
    #: How long a charge may stay ``started`` (gateway unreachable, crash) before it is resumed.
    recheck_after: timedelta = Field(default=timedelta(hours=1))
    #: How long a new subscription may stay ``incomplete`` (its first invoice unpaid) before it
    #: expires: status ``incomplete_expired``, first invoice voided (Stripe: 23 hours). ``None``:
    #: never; the first invoice is then dunned like any other (retries, final action).
    incomplete_expires_after: timedelta | None = Field(default=timedelta(hours=23))
    #: Days a ``send_invoice`` customer has to pay (the pay-by date, when the invoice has none);
    #: after it the subscription is ``past_due`` (Stripe's default: 30).
    days_until_due: int = Field(default=30, ge=0, le=3650)

    @field_validator("retry_days")
    @classmethod
    def _days(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if any(type(d) is not int or d <= 0 for d in v) or list(v) != sorted(set(v)):
            raise ValidationError("retry_days must be positive, strictly increasing whole days")
        return v

    @field_validator("recheck_after")
    @classmethod
    def _recheck(cls, v: timedelta) -> timedelta:
        if v <= timedelta(0):
            raise ValidationError("recheck_after must be positive")
        return v

    def retry_times(self, first_failure_at: datetime) -> list[datetime]:
        """When the scheduled retries happen, for a first failure at ``first_failure_at``."""
        first = ensure_aware(first_failure_at, "first_failure_at")
        return [first + timedelta(days=d) for d in self.retry_days]

    def end_of_schedule(self, first_failure_at: datetime) -> datetime:
        """When the final action is due if nothing is paid: the last retry (or the failure itself)."""
        times = self.retry_times(first_failure_at)
        return times[-1] if times else ensure_aware(first_failure_at)

    def next_step(
        self,
        *,
        first_failure_at: datetime,
        last_attempt_at: datetime,
        blocked: bool,
        at: datetime,
    ) -> DunningStep:
        """Decide what to do at ``at`` for an invoice that is still unpaid.

        ``blocked`` means the payment method to charge hard-declined (or there is none):
        no retry until the customer gives a new one. Scheduled retry times already passed
        by the last attempt are spent; several missed ones collapse into one retry.

        Example:
            >>> from datetime import datetime, UTC
            >>> t0 = datetime(2027, 3, 1, tzinfo=UTC)
            >>> s = DunningPolicy().next_step(first_failure_at=t0, last_attempt_at=t0, blocked=True, at=t0)
            >>> s.kind.value, s.at.day
            ('wait', 8)
        """
        at = ensure_aware(at)
        last = ensure_aware(last_attempt_at, "last_attempt_at")
        end = self.end_of_schedule(first_failure_at)
        if blocked:
            if self.hard_decline_final_at_once or at >= end:
                return DunningStep(kind=StepKind.FINAL, at=at)
            return DunningStep(kind=StepKind.WAIT, at=end)
        for n, t in enumerate(self.retry_times(first_failure_at), 1):
            if t > last:
                if t <= at:
                    return DunningStep(kind=StepKind.RETRY, at=at, retry=n)
                return DunningStep(kind=StepKind.WAIT, at=t, retry=n)
        return DunningStep(kind=StepKind.FINAL, at=at)

    def grants_access(self, status: SubscriptionStatus) -> bool:
        """Whether a subscription in ``status`` should get the service (for entitlement checks).

        Example:
            >>> DunningPolicy().grants_access(SubscriptionStatus.PAST_DUE), DunningPolicy().grants_access(
            ...     SubscriptionStatus.UNPAID)
            (True, False)
        """
        if status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING):
            return True
        return status == SubscriptionStatus.PAST_DUE and self.service_during_dunning
