"""Recognition schedules: how much of one performance obligation is revenue in each month.

Rules (ASC 606-10-25-27 / IFRS 15.35: a service consumed as it is delivered is satisfied
*over time*; ASC 606-10-25-30 / IFRS 15.38: otherwise at a *point in time*):

- ``RATABLE`` spreads the price over the service period ``[start, end)``, by calendar day
  (``Basis.DAY``, the default: a day counts once, whatever its length) or by exact duration
  (``Basis.EXACT``: microseconds, so a DST day weighs 23 or 25 hours). Days and months are
  those of the books' time zone.
- The price is rounded **per month** by largest remainder over the month weights, so a
  schedule always sums exactly to its price (:func:`subkit.core.money.allocate_minor`).
- ``POINT_IN_TIME`` puts the whole price in one month.
- Months are integers (``year * 12 + month - 1``) on the hot path; :func:`month_of` turns
  one back into the first day of that month.

An annual $365.00 plan from 2027-01-01 (a common year) recognizes $31, $28, $31...

Example:
    >>> rows = day_schedule(36500, date(2027, 1, 1).toordinal(), date(2028, 1, 1).toordinal())
    >>> [amount for _, amount in rows][:3], sum(a for _, a in rows)
    ([3100, 2800, 3100], 36500)
    >>> month_of(rows[1][0])
    datetime.date(2027, 2, 1)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import NamedTuple

from subkit.core.money import allocate_minor
from subkit.core.periods import ensure_aware, zone
from subkit.errors import ValidationError
from subkit.invoice.invoice import LineKind

__all__ = [
    "Basis",
    "Component",
    "Method",
    "RecognitionPolicy",
    "allocate_bundle",
    "day_schedule",
    "exact_schedule",
    "local_date",
    "month_end",
    "month_index",
    "month_of",
    "ratable_schedule",
    "with_month_ends",
]

_MICRO = timedelta(microseconds=1)


class Method(StrEnum):
    """How an obligation is satisfied: over its service period, or at one point in time.

    Example:
        >>> Method("ratable") is Method.RATABLE
        True
    """

    RATABLE = "ratable"
    POINT_IN_TIME = "point_in_time"


class Basis(StrEnum):
    """What a ratable schedule weighs: calendar days (default) or exact duration.

    Example:
        >>> Basis.DAY.value
        'day'
    """

    DAY = "day"
    EXACT = "exact"


class Component(NamedTuple):
    """One obligation of a bundle: its product, its standalone selling price, how it is recognized.

    ``method`` ``None`` keeps the bundle line's own method.

    Example:
        >>> Component("support", 40000).standalone_minor
        40000
    """

    product: str
    standalone_minor: int
    method: Method | None = None


#: What subkit does with each kind of line unless the host says otherwise.
#: A setup fee does not transfer a distinct service (ASC 606-10-55-51): it is an advance
#: payment for the subscription, recognized over the invoice's service period.
DEFAULT_METHODS: Mapping[LineKind, Method] = {
    LineKind.RECURRING: Method.RATABLE,
    LineKind.PRORATION: Method.RATABLE,
    LineKind.SETUP_FEE: Method.RATABLE,
    LineKind.ONE_OFF: Method.POINT_IN_TIME,
    LineKind.USAGE: Method.POINT_IN_TIME,
}


@dataclass(frozen=True, slots=True)
class RecognitionPolicy:
    """The host's recognition choices: basis, the books' time zone, methods per kind, bundles.

    ``bundles`` maps a plan id (or one-off item id) to the components its price is allocated
    over by relative standalone selling price (ASC 606-10-32-31 / IFRS 15.76).

    Example:
        >>> p = RecognitionPolicy(timezone="Europe/Paris")
        >>> p.basis.value, p.method(LineKind.USAGE).value
        ('day', 'point_in_time')
    """

    basis: Basis = Basis.DAY
    timezone: str = "UTC"
    methods: Mapping[LineKind, Method] = field(default_factory=lambda: dict(DEFAULT_METHODS))
    bundles: Mapping[str, tuple[Component, ...]] = field(default_factory=dict)
    #: The books' time zone (from ``timezone``).
    tz: tzinfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tz", zone(self.timezone))  # refuses an unknown zone with ValidationError
        for key, parts in self.bundles.items():
            prices = [c.standalone_minor for c in parts]
            if not prices or min(prices) < 0 or not any(prices):
                raise ValidationError(
                    f"bundle {key!r} needs components with non-negative standalone prices, one above 0",
                    field="bundles",
                )

    def method(self, kind: LineKind) -> Method:
        """The method for a line of ``kind``."""
        return self.methods.get(kind, DEFAULT_METHODS[kind])


def month_index(d: date) -> int:
    """A month as one integer: ``year * 12 + month - 1``.

    Example:
        >>> month_index(date(2027, 3, 15)) - month_index(date(2026, 12, 1))
        3
    """
    return d.year * 12 + d.month - 1


def month_of(index: int) -> date:
    """The first day of month ``index``.

    Example:
        >>> month_of(month_index(date(2028, 2, 29)))
        datetime.date(2028, 2, 1)
    """
    return date(index // 12, index % 12 + 1, 1)


def month_end(index: int) -> date:
    """The last day of month ``index`` (where a month's recognition is posted).

    Example:
        >>> month_end(month_index(date(2028, 2, 1)))
        datetime.date(2028, 2, 29)
    """
    found = _END.get(index)
    if found is None:
        found = _END[index] = month_of(index + 1) - timedelta(days=1)
    return found


_FIRST: dict[int, int] = {}
_END: dict[int, date] = {}


def _first_ordinal(index: int) -> int:
    found = _FIRST.get(index)
    if found is None:
        found = _FIRST[index] = month_of(index).toordinal()
    return found


def local_date(at: datetime, tz: tzinfo) -> date:
    """The calendar date of ``at`` in the books' zone (naive input refused).

    Example:
        >>> local_date(datetime(2027, 1, 1, 3, tzinfo=UTC), zone("America/New_York"))
        datetime.date(2026, 12, 31)
    """
    return ensure_aware(at).astimezone(tz).date()


def day_schedule(amount: int, start: int, end: int) -> list[tuple[int, int]]:
    """Spread ``amount`` over the days ``[start, end)`` (date ordinals), one row per month.

    A period shorter than a day counts as its first day. Rows are ``(month, amount)``.

    $31 monthly from Jan 15 (Stripe's per-day example: 17 days in Jan, 14 in Feb).

    Example:
        >>> day_schedule(3100, date(2027, 1, 15).toordinal(), date(2027, 2, 15).toordinal())
        [(24324, 1700), (24325, 1400)]
    """
    if end <= start:
        end = start + 1
    return _day_rows(amount, start, end, month_index(date.fromordinal(start)))


def _day_rows(amount: int, start: int, end: int, m: int) -> list[tuple[int, int]]:
    firsts = _FIRST
    nxt = firsts.get(m + 1) or _first_ordinal(m + 1)
    if end <= nxt:
        return [(m, amount)]
    weights = [nxt - start]
    months = [m]
    cur = nxt
    while cur < end:
        m += 1
        nxt = firsts.get(m + 1) or _first_ordinal(m + 1)
        weights.append((nxt if nxt < end else end) - cur)
        months.append(m)
        cur = nxt
    return list(zip(months, _largest_remainder(amount, weights), strict=True))


def with_month_ends(rows: list[tuple[int, int]]) -> list[tuple[int, int, date]]:
    """``(month, amount)`` rows with the day each is posted: the month's last day.

    Example:
        >>> with_month_ends([(month_index(date(2027, 2, 1)), 2800)])
        [(24325, 2800, datetime.date(2027, 2, 28))]
    """
    ends = _END
    return [(m, a, ends.get(m) or month_end(m)) for m, a in rows]


def _largest_remainder(total: int, weights: list[int]) -> list[int]:
    """:func:`subkit.core.money.allocate_minor` for positive integer weights (the same parts), inlined
    because it runs once per line on the hot path."""
    if total < 0:
        return [-p for p in _largest_remainder(-total, weights)]
    wsum = sum(weights)
    parts = [total * w // wsum for w in weights]
    left = total - sum(parts)
    if left == 1:  # the usual case: one pass finds the largest remainder (the first of equals)
        best, best_r = 0, -1
        for i, w in enumerate(weights):
            r = total * w % wsum
            if r > best_r:
                best, best_r = i, r
        parts[best] += 1
    elif left:
        order = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % wsum), i))
        for i in order[:left]:
            parts[i] += 1
    return parts


def exact_schedule(amount: int, start: datetime, end: datetime, tz: tzinfo) -> list[tuple[int, int]]:
    """Spread ``amount`` over ``[start, end)`` by exact duration (microseconds), one row per month.

    Month boundaries are midnights in ``tz``; durations are measured in UTC, so a month with a
    DST change is an hour shorter or longer.

    Two days across midnight Jan 31 in Paris, 36 hours of them in January.

    Example:
        >>> paris = zone("Europe/Paris")
        >>> start, end = datetime(2027, 1, 30, 11, tzinfo=UTC), datetime(2027, 2, 1, 11, tzinfo=UTC)
        >>> exact_schedule(300, start, end, paris)
        [(24324, 225), (24325, 75)]
    """
    start, end = ensure_aware(start, "start").astimezone(UTC), ensure_aware(end, "end").astimezone(UTC)
    m = month_index(start.astimezone(tz).date())
    if end <= start:
        return [(m, amount)]
    weights: list[int] = []
    months: list[int] = []
    cur = start
    while cur < end:
        boundary = datetime.combine(month_of(m + 1), time.min, tz).astimezone(UTC)
        stop = boundary if boundary < end else end
        weights.append((stop - cur) // _MICRO)
        months.append(m)
        cur, m = stop, m + 1
    return list(zip(months, allocate_minor(amount, weights), strict=True))


def ratable_schedule(
    amount: int, start: datetime, end: datetime, *, basis: Basis = Basis.DAY, tz: tzinfo = UTC
) -> list[tuple[int, int]]:
    """The month rows of ``amount`` spread over ``[start, end)`` on ``basis``.

    By day, a period that does not start or end at midnight counts its partial days whole.

    A leap year's February has 29 days of 366.

    Example:
        >>> rows = ratable_schedule(36600, datetime(2028, 1, 1, tzinfo=UTC), datetime(2029, 1, 1, tzinfo=UTC))
        >>> [a for _, a in rows][:3]
        [3100, 2900, 3100]
    """
    if basis is Basis.EXACT:
        return exact_schedule(amount, start, end, tz)
    if start.tzinfo is None or end.tzinfo is None:
        ensure_aware(start, "start"), ensure_aware(end, "end")  # raises NaiveDatetimeError
    s = start if start.tzinfo is tz else start.astimezone(tz)
    e = end if end.tzinfo is tz else end.astimezone(tz)
    sd = s.date()
    first, last = sd.toordinal(), e.date().toordinal()
    if (e.hour or e.minute or e.second or e.microsecond) and e > s:
        last += 1  # a partial last day counts whole
    if last <= first:
        last = first + 1
    return _day_rows(amount, first, last, sd.year * 12 + sd.month - 1)


def allocate_bundle(price_minor: int, components: tuple[Component, ...]) -> list[int]:
    """A bundle's price split over its components by relative standalone selling price.

    Largest remainder: the parts sum exactly to ``price_minor`` (ASC 606-10-32-31).

    $1,000 for software (SSP $900) + support (SSP $300): 750 + 250.

    Example:
        >>> allocate_bundle(100000, (Component("software", 90000), Component("support", 30000)))
        [75000, 25000]
    """
    return allocate_minor(price_minor, [c.standalone_minor for c in components])
