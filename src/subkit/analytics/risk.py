"""Churn risk: which paying customers show signs of leaving, each sign with its reason.

The signs (each a :class:`RiskFlag` with a sentence a person can act on):

- **past due**: a subscription is past due or unpaid (an invoice is not being paid);
- **failing payments**: payment attempts failed or were declined recently (``failed_payments``
  at or above ``min_failed``);
- **downgrade**: their MRR went down over the look-back (contraction);
- **usage dropping**: their last billed usage fell by at least ``usage_drop`` (30% by default)
  from the one before;
- **cancel scheduled**: a subscription is set to cancel (at period end or on a date).

Customers are listed most flags first, then largest MRR first: the ones worth a call first.

Example:
    >>> s = CustomerSignals("cus_1", mrr_minor=5000, mrr_before_minor=8000, failed_payments=2,
    ...                     usage_minor=(1000, 400), cancel_scheduled=("sub_1",))
    >>> [f.reason.value for f in churn_risk([s])[0].flags]
    ['failing_payments', 'downgrade', 'usage_dropping', 'cancel_scheduled']
    >>> churn_risk([s])[0].flags[1].detail
    'MRR fell from 8000 to 5000 (-37.5%)'
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from subkit.core.money import CONTEXT
from subkit.errors import ValidationError

__all__ = ["CustomerRisk", "CustomerSignals", "RiskFlag", "RiskReason", "churn_risk"]


class RiskReason(StrEnum):
    """Why a customer may churn.

    Example:
        >>> RiskReason("past_due").name
        'PAST_DUE'
    """

    PAST_DUE = "past_due"
    FAILING_PAYMENTS = "failing_payments"
    DOWNGRADE = "downgrade"
    USAGE_DROPPING = "usage_dropping"
    CANCEL_SCHEDULED = "cancel_scheduled"


@dataclass(frozen=True, slots=True)
class RiskFlag:
    """One sign, and the facts behind it.

    Example:
        >>> RiskFlag(RiskReason.PAST_DUE, "sub_1 is past_due").reason.value
        'past_due'
    """

    reason: RiskReason
    detail: str


@dataclass(frozen=True, slots=True)
class CustomerSignals:
    """What the store says about one customer (amounts in reporting minor units).

    ``usage_minor``: the customer's billed usage per period, oldest first.

    Example:
        >>> CustomerSignals("cus_1").failed_payments
        0
    """

    customer_id: str
    mrr_minor: int = 0
    mrr_before_minor: int = 0
    past_due: tuple[str, ...] = ()
    failed_payments: int = 0
    usage_minor: tuple[int, ...] = ()
    cancel_scheduled: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CustomerRisk:
    """A customer at risk: their MRR and every flag raised.

    Example:
        >>> CustomerRisk("cus_1", 100, (RiskFlag(RiskReason.DOWNGRADE, "x"),)).reasons
        ('downgrade',)
    """

    customer_id: str
    mrr_minor: int
    flags: tuple[RiskFlag, ...]

    @property
    def reasons(self) -> tuple[str, ...]:
        """The flags' reasons, as text."""
        return tuple(f.reason.value for f in self.flags)


def _percent(new: int, old: int) -> str:
    change = CONTEXT.divide(Decimal(100 * (new - old)), Decimal(old))
    return f"{change.quantize(Decimal('0.1'), context=CONTEXT)}%"


def churn_risk(
    signals: Iterable[CustomerSignals], *, min_failed: int = 1, usage_drop: Decimal = Decimal("0.3")
) -> list[CustomerRisk]:
    """The customers with at least one flag, most flags first, then by MRR (largest first).

    Example:
        >>> churn_risk([CustomerSignals("cus_1", mrr_minor=100)])
        []
    """
    if min_failed < 1:
        raise ValidationError("min_failed must be at least 1", field="min_failed")
    if not isinstance(usage_drop, Decimal) or not 0 < usage_drop <= 1:
        raise ValidationError(
            "usage_drop must be a Decimal fraction in (0, 1], e.g. Decimal('0.3')", field="usage_drop"
        )
    out = []
    for s in signals:
        flags = []
        if s.past_due:
            flags.append(RiskFlag(RiskReason.PAST_DUE, f"{', '.join(s.past_due)} past due or unpaid"))
        if s.failed_payments >= min_failed:
            flags.append(
                RiskFlag(
                    RiskReason.FAILING_PAYMENTS, f"{s.failed_payments} payment attempt(s) failed recently"
                )
            )
        if 0 < s.mrr_minor < s.mrr_before_minor:
            flags.append(
                RiskFlag(
                    RiskReason.DOWNGRADE,
                    f"MRR fell from {s.mrr_before_minor} to {s.mrr_minor} "
                    f"({_percent(s.mrr_minor, s.mrr_before_minor)})",
                )
            )
        if len(s.usage_minor) >= 2:
            before, last = s.usage_minor[-2], s.usage_minor[-1]
            if before > 0 and Decimal(before - last) >= CONTEXT.multiply(usage_drop, Decimal(before)):
                flags.append(
                    RiskFlag(
                        RiskReason.USAGE_DROPPING,
                        f"billed usage fell from {before} to {last} ({_percent(last, before)})",
                    )
                )
        if s.cancel_scheduled:
            flags.append(
                RiskFlag(RiskReason.CANCEL_SCHEDULED, f"{', '.join(s.cancel_scheduled)} set to cancel")
            )
        if flags:
            out.append(CustomerRisk(s.customer_id, s.mrr_minor, tuple(flags)))
    out.sort(key=lambda r: (-len(r.flags), -r.mrr_minor, r.customer_id))
    return out
