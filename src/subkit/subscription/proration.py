"""Proration: what part of a period is left, and what unused time is worth.

- ``SECOND`` granularity: the fraction is remaining seconds over the period's seconds.
- ``DAY`` granularity: whole calendar days in the customer's time zone; the day of the
  change counts as remaining (the new price applies from that day).
- A credit for unused time is a share of what was actually charged for that span (net of
  discounts), rounded once, and never more than what is left uncredited.

Example:
    >>> from datetime import datetime, UTC
    >>> start, end = datetime(2027, 4, 1, tzinfo=UTC), datetime(2027, 5, 1, tzinfo=UTC)
    >>> remaining_fraction(start, end, datetime(2027, 4, 16, tzinfo=UTC))
    Decimal('0.5')
    >>> credit_for(1000, 0, start, end, datetime(2027, 4, 16, tzinfo=UTC))
    500
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from subkit.core.money import CONTEXT
from subkit.core.periods import UTC, seconds_between

__all__ = ["Granularity", "ProrationBehavior", "credit_for", "remaining_fraction"]

_ONE = Decimal(1)
_ZERO = Decimal(0)


class ProrationBehavior(StrEnum):
    """What a mid-period change does: proration lines on the next invoice, an invoice now, or nothing.

    Example:
        >>> ProrationBehavior("always_invoice").name
        'ALWAYS_INVOICE'
    """

    CREATE_PRORATIONS = "create_prorations"
    ALWAYS_INVOICE = "always_invoice"
    NONE = "none"


class Granularity(StrEnum):
    """Precision of proration: to the second, or to the customer's calendar day.

    Example:
        >>> Granularity("day") is Granularity.DAY
        True
    """

    SECOND = "second"
    DAY = "day"


def remaining_fraction(
    start: datetime,
    end: datetime,
    at: datetime,
    granularity: Granularity = Granularity.SECOND,
    tz: tzinfo = UTC,
) -> Decimal:
    """Share of ``[start, end)`` left from ``at``: 1 before the start, 0 at or after the end.

    Example:
        >>> from zoneinfo import ZoneInfo
        >>> la = ZoneInfo("America/Los_Angeles")
        >>> s, e = datetime(2027, 3, 1, tzinfo=la), datetime(2027, 4, 1, tzinfo=la)
        >>> f = remaining_fraction(s, e, datetime(2027, 3, 17, 23, 0, tzinfo=la), Granularity.DAY, la)
        >>> f.quantize(Decimal("0.0001"))  # 15 of March's 31 days (17th to 31st) are left
        Decimal('0.4839')
    """
    if at <= start:
        return _ONE
    if at >= end:
        return _ZERO
    if granularity == Granularity.DAY:
        d0, d1, dt = (x.astimezone(tz).date() for x in (start, end, at))
        total = (d1 - d0).days
        if total <= 0:
            return _ONE
        return CONTEXT.divide(Decimal((d1 - dt).days), Decimal(total))
    return CONTEXT.divide(seconds_between(at, end), seconds_between(start, end))


def credit_for(
    net_minor: int,
    credited_minor: int,
    start: datetime,
    end: datetime,
    at: datetime,
    granularity: Granularity = Granularity.SECOND,
    tz: tzinfo = UTC,
) -> int:
    """Credit (minor units, >= 0) for the unused part after ``at`` of a charge of ``net_minor``.

    Example:
        >>> s, e = datetime(2027, 4, 1, tzinfo=UTC), datetime(2027, 5, 1, tzinfo=UTC)
        >>> credit_for(1000, 900, s, e, datetime(2027, 4, 16, tzinfo=UTC))  # only 100 left to credit
        100
    """
    if net_minor <= 0:
        return 0
    frac = remaining_fraction(start, end, at, granularity, tz)
    exact = CONTEXT.multiply(Decimal(net_minor), frac)
    credit = int(exact.quantize(_ONE, rounding=ROUND_HALF_UP, context=CONTEXT))
    return max(0, min(credit, net_minor - credited_minor))
