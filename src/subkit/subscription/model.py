"""The subscription value: status, items, charge segments and scheduled changes.

Also the :class:`BillingContext` its commands read and the :class:`Outcome` they return.
The commands themselves live in :mod:`subkit.subscription.machine`.

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.catalog.catalog import Catalog, Plan, Product
    >>> from subkit.catalog.pricing import FlatFee
    >>> from subkit.subscription.machine import create
    >>> ctx = BillingContext(catalog=Catalog(products=(Product(id="app", name="App"),), plans=(
    ...     Plan(id="basic", product_id="app", name="Basic", prices={"USD": FlatFee(flat_amount="10")}),)))
    >>> at = datetime(2027, 1, 31, tzinfo=UTC)
    >>> sub = create("sub_1", "cus_1", "USD", [("basic", 2)], ctx, at=at).subscription
    >>> sub.item().plan_id, sub.item().quantity, sub.status == SubscriptionStatus.ACTIVE, sub.status in LIVE
    ('basic', Decimal('2'), True, True)
    >>> sub.period_end.date().isoformat(), sub.trial_end_behavior == TrialEndBehavior.CREATE_INVOICE
    ('2027-02-28', True)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, Field

from subkit.catalog.catalog import Catalog
from subkit.core.events import Event
from subkit.core.model import Amount, CurrencyCode, Entity
from subkit.core.money import Rounding
from subkit.core.periods import Interval
from subkit.core.value import Value
from subkit.errors import ValidationError
from subkit.invoice.discounts import AppliedDiscount, Coupon
from subkit.invoice.invoice import BillingReason, InvoiceLine
from subkit.subscription.proration import Granularity, ProrationBehavior
from subkit.usage.rating import Measured

__all__ = [
    "LIVE",
    "BillingContext",
    "ChangeAction",
    "ChargeSegment",
    "Outcome",
    "ScheduledChange",
    "Subscription",
    "SubscriptionItem",
    "SubscriptionStatus",
    "TrialEndBehavior",
]

_ONE = Decimal(1)
_UNIT_QUANTUM = Decimal("1e-12")


class SubscriptionStatus(StrEnum):
    """Where a subscription is in its life.

    Example:
        >>> SubscriptionStatus("past_due").name
        'PAST_DUE'
    """

    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    PAUSED = "paused"
    CANCELED = "canceled"
    INCOMPLETE = "incomplete"
    UNPAID = "unpaid"
    #: The first invoice was not paid in time (Stripe: 23 hours): the subscription never started.
    INCOMPLETE_EXPIRED = "incomplete_expired"


LIVE = frozenset(
    {
        SubscriptionStatus.TRIALING,
        SubscriptionStatus.ACTIVE,
        SubscriptionStatus.PAST_DUE,
        SubscriptionStatus.UNPAID,
    }
)


class TrialEndBehavior(StrEnum):
    """What happens when a trial that requires a payment method ends without one."""

    CANCEL = "cancel"
    PAUSE = "pause"
    CREATE_INVOICE = "create_invoice"


class SubscriptionItem(Value):
    """A plan (pinned to a version) and a quantity on a subscription (a slotted value).

    Example:
        >>> SubscriptionItem(id="si_1", plan_id="pro", plan_version=1, quantity=5).quantity
        Decimal('5')
    """

    __slots__ = ()
    id: str
    plan_id: str
    plan_version: int
    quantity: Amount = _ONE


class ChargeSegment(Value):
    """What was charged in advance for ``[start, end)`` of an item in the current period (a slotted value).

    Example:
        >>> from datetime import datetime, UTC
        >>> seg = ChargeSegment(item_id="si_1", plan_id="pro", start=datetime(2027, 1, 1, tzinfo=UTC),
        ...                     end=datetime(2027, 2, 1, tzinfo=UTC), net_minor=1000)
        >>> seg.effective_end == seg.end, seg.credited_minor
        (True, 0)
    """

    __slots__ = ()
    item_id: str
    plan_id: str
    start: AwareDatetime
    end: AwareDatetime
    net_minor: int
    credited_minor: int = 0
    cut_at: AwareDatetime | None = None

    @property
    def effective_end(self) -> datetime:
        """Where the charge stops covering the item: the cut of a credit, else ``end``."""
        return self.cut_at if self.cut_at is not None else self.end


class ChangeAction(StrEnum):
    """A change that can be scheduled."""

    CHANGE = "change"
    CANCEL = "cancel"


class ScheduledChange(Value):
    """A change to apply at ``at`` (plan and/or quantity of an item, or a cancellation): a slotted value."""

    __slots__ = ()
    at: AwareDatetime
    action: ChangeAction = ChangeAction.CHANGE
    item_id: str | None = None
    plan_id: str | None = None
    quantity: Amount | None = None
    #: The proration asked for when the change was scheduled (``None``: the subscription's).
    proration: ProrationBehavior | None = None


class Subscription(Entity):
    """A customer's subscription: items, status, current period, discounts, schedule.

    ``cycle`` numbers periods (``-1`` is the trial); cycle ``n`` starts at ``anchor`` plus
    ``n - anchor_cycle`` intervals (an interval change resets the anchor); ``segments`` record
    what was charged in advance for the current period (credits never exceed them);
    ``due_at`` is the next instant the engine must act (renewal, trial end, scheduled change).
    """

    kind: ClassVar[str] = "subscription"
    customer_id: str
    currency: CurrencyCode
    timezone: str = "UTC"
    items: tuple[SubscriptionItem, ...]
    status: SubscriptionStatus
    interval: Interval
    anchor: AwareDatetime
    cycle: int = 0
    #: The cycle that starts at ``anchor`` (not 0 once an interval change reset the anchor).
    anchor_cycle: int = 0
    period_start: AwareDatetime
    period_end: AwareDatetime
    created_at: AwareDatetime
    trial_start: AwareDatetime | None = None
    trial_end: AwareDatetime | None = None
    trial_requires_payment_method: bool = False
    trial_end_behavior: TrialEndBehavior = TrialEndBehavior.CREATE_INVOICE
    cancel_at_period_end: bool = False
    canceled_at: AwareDatetime | None = None
    ended_at: AwareDatetime | None = None
    paused_at: AwareDatetime | None = None
    resume_at: AwareDatetime | None = None
    discounts: tuple[AppliedDiscount, ...] = ()
    schedule: tuple[ScheduledChange, ...] = ()
    segments: tuple[ChargeSegment, ...] = ()
    payment_method_id: str | None = None
    proration_behavior: ProrationBehavior = ProrationBehavior.CREATE_PRORATIONS
    metadata: dict[str, str] = Field(default_factory=dict)
    due_at: AwareDatetime | None = None

    def item(self, item_id: str | None = None) -> SubscriptionItem:
        """An item by id; with no id, the only (or first) item."""
        if item_id is None:
            return self.items[0]
        for it in self.items:
            if it.id == item_id:
                return it
        raise ValidationError(f"subscription {self.id} has no item {item_id!r}", field="item_id")


@dataclass(frozen=True, slots=True)
class BillingContext:
    """What pure operations need besides the subscription: catalog, coupons, policies."""

    catalog: Catalog
    coupons: Mapping[str, Coupon] = field(default_factory=dict)
    granularity: Granularity = Granularity.SECOND
    rounding: Rounding = Rounding.HALF_UP
    has_payment_method: bool = True
    usage: Mapping[str, Decimal] = field(default_factory=dict)  # item_id -> quantity used this period
    #: item_id -> the period's usage per group, with its label (subkit.usage.rating); wins over ``usage``
    usage_detail: Mapping[str, Measured] = field(default_factory=dict)
    #: lines adjusting closed periods for late usage, billed with the period's arrears (usage_rating)
    usage_adjustments: tuple[InvoiceLine, ...] = ()


@dataclass(slots=True)
class Outcome:
    """Result of an operation: the new subscription, lines, events, unique keys to claim."""

    subscription: Subscription
    invoice_lines: list[InvoiceLine] = field(default_factory=list)
    pending_lines: list[InvoiceLine] = field(default_factory=list)
    reason: BillingReason | None = None
    period: tuple[datetime, datetime] | None = None
    events: list[Event] = field(default_factory=list)
    claims: list[str] = field(default_factory=list)

    @property
    def lines(self) -> list[InvoiceLine]:
        """Every line produced, invoiced now or pending."""
        return [*self.invoice_lines, *self.pending_lines]
