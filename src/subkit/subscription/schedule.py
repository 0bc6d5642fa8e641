"""Pending scheduled changes: list them, release them (as Stripe's subscription schedule release).

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.core.periods import MONTHLY
    >>> from subkit.subscription.model import SubscriptionItem, SubscriptionStatus
    >>> jan, feb = datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC)
    >>> sub = Subscription(id="s", customer_id="c", currency="USD", status=SubscriptionStatus.ACTIVE,
    ...     interval=MONTHLY, anchor=jan, period_start=jan, period_end=feb, created_at=jan,
    ...     items=(SubscriptionItem(id="si", plan_id="pro", plan_version=1),),
    ...     schedule=(ScheduledChange(at=feb, item_id="si", plan_id="basic"),))
    >>> [c.plan_id for c in pending_changes(sub)]
    ['basic']
    >>> out = release_schedule(sub, at=jan)
    >>> out.subscription.schedule, out.events[0].data["released"]
    ((), 1)
"""

from __future__ import annotations

from datetime import datetime

from subkit.core.events import Event, EventType
from subkit.core.periods import ensure_aware
from subkit.subscription.lines import with_changes
from subkit.subscription.model import ChangeAction, Outcome, ScheduledChange, Subscription

__all__ = ["pending_changes", "release_schedule", "released_by"]


def pending_changes(sub: Subscription) -> tuple[ScheduledChange, ...]:
    """The plan and quantity changes waiting on ``sub``, soonest first (not its cancellation)."""
    return tuple(c for c in sub.schedule if c.action == ChangeAction.CHANGE)


def release_schedule(
    sub: Subscription,
    *,
    at: datetime,
    item_id: str | None = None,
    effective_at: datetime | None = None,
) -> Outcome:
    """Remove pending scheduled changes (of one item, at one instant, or all), as Stripe's
    schedule release: the subscription keeps what it has. A cancellation at period end is
    removed with :func:`~subkit.subscription.machine.reactivate`, not here (see the module's example).
    """
    ensure_aware(at)
    gone = released_by(sub, item_id=item_id, effective_at=effective_at)
    if not gone:
        return Outcome(subscription=sub)
    event = Event.of(
        EventType.SUBSCRIPTION_SCHEDULE_RELEASED, at, sub.id, customer_id=sub.customer_id, released=len(gone)
    )
    kept = tuple(c for c in sub.schedule if c not in gone)
    return Outcome(subscription=with_changes(sub, schedule=kept), events=[event])


def released_by(
    sub: Subscription, *, item_id: str | None = None, effective_at: datetime | None = None
) -> list[ScheduledChange]:
    """The pending changes :func:`release_schedule` would remove (``item_id`` must be the subscription's)."""
    if effective_at is not None:
        ensure_aware(effective_at, "effective_at")
    if item_id is not None:
        sub.item(item_id)
    return [
        c
        for c in pending_changes(sub)
        if (item_id is None or c.item_id == item_id) and (effective_at is None or c.at == effective_at)
    ]
