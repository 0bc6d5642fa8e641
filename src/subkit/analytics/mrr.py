"""Monthly recurring revenue: a month's worth of a charge, in the reporting currency, over time.

A subscription's MRR is a step function of time: an :class:`MrrPoint` says "from ``at``, this
subscription is worth ``mrr_minor`` a month", until its next point. :class:`MrrBook` holds every
subscription's points and answers MRR, ARR, customers and ARPA as of any instant.

Rules (see ``docs/analytics.md``):

- A charge for an interval is normalized to a month: yearly / 12, quarterly / 3, weekly x 52 / 12,
  daily x 365 / 12 (:func:`monthly_factor`), as ChartMogul normalizes a $2,000 yearly plan to
  $166.67 of MRR.
- An amount in another currency is converted at the rate its invoice locked (``Invoice.fx_rate``):
  ``minor x 10^-digits x fx_rate`` in the reporting currency, exact.
- Exact ``Decimal`` inside; each subscription's monthly value is rounded **once**, half-up, to the
  reporting currency's minor units when its point is made (:func:`monthly_minor`). Every figure
  after that is an exact sum of integers, so a breakdown always adds up to its total.
- ARR = 12 x MRR; ARPA = MRR / paying customers, rounded once, half-up.

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.core.periods import Interval
    >>> monthly_minor(200_000, "USD", Interval(unit="year"), reporting="USD")  # $2,000 a year
    16667
    >>> jan, feb = datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC)
    >>> book = MrrBook([MrrPoint(subscription_id="sub_1", customer_id="cus_1", at=jan, mrr_minor=16667),
    ...                 MrrPoint(subscription_id="sub_2", customer_id="cus_2", at=jan, mrr_minor=3000),
    ...                 MrrPoint(subscription_id="sub_2", customer_id="cus_2", at=feb, mrr_minor=0)], "USD")
    >>> s = book.snapshot(jan)
    >>> s.mrr_minor, s.arr_minor, s.customers, s.arpa_minor
    (19667, 236004, 2, 9834)
    >>> book.snapshot(feb).customers
    1
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC as _UTC
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from operator import itemgetter

from dateutil.relativedelta import relativedelta
from moneyed import Money
from pydantic import AwareDatetime

from subkit.core.money import CONTEXT, check_currency, from_minor, minor_units
from subkit.core.periods import Interval, IntervalUnit, zone
from subkit.core.value import Value
from subkit.errors import CurrencyMismatchError, NaiveDatetimeError, ValidationError

__all__ = [
    "MrrBook",
    "MrrPoint",
    "MrrSnapshot",
    "check_aware",
    "divide_half_up",
    "month_starts",
    "monthly_factor",
    "monthly_minor",
    "to_reporting",
]

_ONE = Decimal(1)
_TWELVE = Decimal(12)
#: Months in one unit of each interval: a week is 12/52 of a month, a day 12/365.
_UNIT_MONTHS = {
    IntervalUnit.MONTH: _ONE,
    IntervalUnit.YEAR: _TWELVE,
    IntervalUnit.WEEK: CONTEXT.divide(_TWELVE, Decimal(52)),
    IntervalUnit.DAY: CONTEXT.divide(_TWELVE, Decimal(365)),
}


def check_aware(at: datetime, field: str = "at") -> datetime:
    """``at`` if it is timezone-aware; a :class:`~subkit.errors.NaiveDatetimeError` otherwise.

    Example:
        >>> from datetime import datetime, UTC
        >>> check_aware(datetime(2027, 1, 1, tzinfo=UTC)).year
        2027
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise NaiveDatetimeError(
            f"{field} is naive; pass a timezone-aware datetime (e.g. tzinfo=UTC)", field=field
        )
    return at


def month_starts(first: datetime, count: int, timezone: str = "UTC") -> list[datetime]:
    """``count + 1`` instants (UTC): midnight on the 1st of ``first``'s month in ``timezone``, and after.

    ``count`` months need ``count + 1`` bounds. Each is computed from the first (never chained),
    in local time, so a month is a calendar month there, DST or not.

    Example:
        >>> from datetime import datetime, UTC
        >>> [t.isoformat() for t in month_starts(datetime(2027, 3, 15, tzinfo=UTC), 2, "Europe/Paris")]
        ['2027-02-28T23:00:00+00:00', '2027-03-31T22:00:00+00:00', '2027-04-30T22:00:00+00:00']
    """
    if count < 1:
        raise ValidationError("count must be at least 1 month", field="count")
    tz = zone(timezone)
    local = check_aware(first, "first").astimezone(tz)
    base = datetime(local.year, local.month, 1)
    return [(base + relativedelta(months=k)).replace(tzinfo=tz).astimezone(_UTC) for k in range(count + 1)]


def monthly_factor(interval: Interval) -> Decimal:
    """What one interval's charge is multiplied by to give a month's worth (exact to 50 digits).

    Example:
        >>> from subkit.core.periods import Interval
        >>> quarterly, weekly = Interval(unit="month", count=3), Interval(unit="week")
        >>> round(monthly_factor(quarterly) * 300, 9), round(monthly_factor(weekly) * 12, 9)
        (Decimal('100.000000000'), Decimal('52.000000000'))
    """
    return CONTEXT.divide(_ONE, CONTEXT.multiply(_UNIT_MONTHS[interval.unit], Decimal(interval.count)))


def to_reporting(amount_minor: int, currency: str, reporting: str, fx_rate: Decimal | None = None) -> Decimal:
    """``amount_minor`` of ``currency`` in major units of ``reporting``, exact, at the locked ``fx_rate``.

    The same currency needs no rate; another currency without its locked rate is refused.

    Example:
        >>> to_reporting(1000, "EUR", "USD", Decimal("1.0825")), to_reporting(1234, "JPY", "JPY")
        (Decimal('10.825000'), Decimal('1234'))
    """
    major = Decimal(amount_minor).scaleb(-minor_units(currency), CONTEXT)
    if currency == reporting:
        return major
    if fx_rate is None:
        raise CurrencyMismatchError(
            f"an amount in {currency} has no locked rate to the reporting currency {reporting}; "
            "finalize its invoice with reporting_currency set (Invoice.fx_rate) or report in "
            f"{currency}",
            field="fx_rate",
        )
    return CONTEXT.multiply(major, fx_rate)


def monthly_minor(
    amount_minor: int,
    currency: str,
    interval: Interval,
    *,
    reporting: str,
    fx_rate: Decimal | None = None,
    scale: Decimal = _ONE,
) -> int:
    """A charge of ``amount_minor`` per ``interval`` as a month's worth, in ``reporting`` minor units.

    ``scale`` multiplies the exact amount first (a proration's full-period equivalent). The one
    rounding of the figure: half-up to the reporting currency's minor units.

    Example:
        >>> from subkit.core.periods import Interval
        >>> monthly_minor(1000, "USD", Interval(unit="week"), reporting="USD")  # $10 a week
        4333
        >>> monthly_minor(1000, "EUR", Interval(unit="month"), reporting="USD", fx_rate=Decimal("1.0825"))
        1083
    """
    exact = CONTEXT.multiply(
        to_reporting(amount_minor, currency, reporting, fx_rate), monthly_factor(interval)
    )
    if scale != _ONE:
        exact = CONTEXT.multiply(exact, scale)
    scaled = exact.scaleb(minor_units(reporting), CONTEXT)
    return int(scaled.quantize(_ONE, rounding=ROUND_HALF_UP, context=CONTEXT))


def divide_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half-up (away from zero at .5), exactly on integers.

    Example:
        >>> divide_half_up(19667, 2), divide_half_up(-5, 2), divide_half_up(7, 0)
        (9834, -3, 0)
    """
    if denominator == 0:
        return 0
    q, r = divmod(abs(numerator), abs(denominator))
    if 2 * r >= abs(denominator):
        q += 1
    return q if (numerator >= 0) == (denominator > 0) else -q


class MrrPoint(Value):
    """From ``at`` on, ``subscription_id`` is worth ``mrr_minor`` a month (reporting minor units).

    A slotted value; the subscription's next point ends it.

    Example:
        >>> from datetime import datetime, UTC
        >>> MrrPoint(subscription_id="sub_1", customer_id="cus_1", at=datetime(2027, 1, 1, tzinfo=UTC),
        ...          mrr_minor=2000).mrr_minor
        2000
    """

    __slots__ = ()
    subscription_id: str
    customer_id: str
    at: AwareDatetime
    mrr_minor: int


@dataclass(frozen=True, slots=True)
class MrrSnapshot:
    """The figures as of one instant, in minor units of ``currency``.

    Example:
        >>> from datetime import datetime, UTC
        >>> s = MrrSnapshot(datetime(2027, 1, 1, tzinfo=UTC), "USD", 3000, 2, 1)
        >>> s.arr_minor, s.arpa_minor, s.mrr, s.arr
        (36000, 1500, Money('30.00', 'USD'), Money('360.00', 'USD'))
    """

    at: datetime
    currency: str
    mrr_minor: int
    customers: int
    subscriptions: int

    @property
    def arr_minor(self) -> int:
        """Annual run rate: 12 x MRR."""
        return 12 * self.mrr_minor

    @property
    def arpa_minor(self) -> int:
        """Average MRR per paying customer, rounded half-up (0 with no customer)."""
        return divide_half_up(self.mrr_minor, self.customers)

    @property
    def mrr(self) -> Money:
        """MRR as ``Money``."""
        return from_minor(self.mrr_minor, self.currency)

    @property
    def arr(self) -> Money:
        """ARR as ``Money``."""
        return from_minor(self.arr_minor, self.currency)

    @property
    def arpa(self) -> Money:
        """ARPA as ``Money``."""
        return from_minor(self.arpa_minor, self.currency)


class MrrBook:
    """Every subscription's MRR over time, and each customer's (the sum of their subscriptions).

    Built once from points in any order; a subscription with two points at the same instant keeps
    the last one given; a subscription belongs to one customer. All amounts are minor units of
    ``currency`` (the reporting currency).

    Example:
        >>> from datetime import datetime, UTC
        >>> t = datetime(2027, 3, 1, tzinfo=UTC)
        >>> book = MrrBook([MrrPoint.trusted("sub_1", "cus_1", t, 500),
        ...                 MrrPoint.trusted("sub_2", "cus_1", t, 700)], "EUR")
        >>> book.customer_mrr(t), book.first_paid("cus_1") == t
        ({'cus_1': 1200}, True)
    """

    __slots__ = ("_customers", "_first_paid", "_points", "currency")

    def __init__(self, points: Iterable[MrrPoint], currency: str) -> None:
        self.currency = check_currency(currency)
        self._points = points if isinstance(points, list) else list(points)
        # one pass to group by customer (the hot loop: nothing else in it)
        groups: defaultdict[str, list[MrrPoint]] = defaultdict(list)
        for p in self._points:
            groups[p[1]].append(p)
        # customer -> (times, totals): their MRR as a step function (times ascending, distinct). Tuples
        # of atomic values: the cyclic GC stops tracking them, however large the book.
        customers: dict[str, tuple[tuple[datetime, ...], tuple[int, ...]]] = {}
        first_paid: dict[str, datetime] = {}
        owners: dict[str, str] = {}
        for customer_id, found in groups.items():
            if len(found) == 1:
                sub_id, _, at, v = found[0]
                if owners.setdefault(sub_id, customer_id) != customer_id:
                    _two_owners(sub_id, owners[sub_id], customer_id)
                customers[customer_id] = ((at,), (v,))
                if v > 0:
                    first_paid[customer_id] = at
                continue
            # stable: of two points of a subscription at one instant, the last given wins
            found.sort(key=_AT_SUB)
            subs = {p[0] for p in found}
            for sub_id in subs:
                if owners.setdefault(sub_id, customer_id) != customer_id:
                    _two_owners(sub_id, owners[sub_id], customer_id)
            times = tuple([p[2] for p in found])
            if len(subs) == 1 and len(set(times)) == len(times):
                values = tuple([p[3] for p in found])
            else:
                times, values = _merge(found)
            customers[customer_id] = (times, values)
            for at, v in zip(times, values, strict=True):
                if v > 0:
                    first_paid[customer_id] = at
                    break
        self._customers = customers
        self._first_paid = first_paid

    # ------------------------------------------------------------------ reading
    def customers(self) -> Iterator[tuple[str, tuple[datetime, ...], tuple[int, ...]]]:
        """``(customer_id, times, totals)`` for every customer: their MRR from each time on."""
        for customer_id, (times, values) in self._customers.items():
            yield customer_id, times, values

    def first_paid(self, customer_id: str) -> datetime | None:
        """When the customer first had MRR above zero (``None``: never)."""
        return self._first_paid.get(customer_id)

    def subscription_mrr(self, at: datetime, *, before: bool = False) -> dict[str, int]:
        """Each subscription worth more than zero at ``at`` (``before``: just before it): its MRR."""
        check_aware(at)
        last: dict[str, tuple[datetime, int]] = {}
        for sub_id, _, t, v in self._points:
            if t < at or (t == at and not before):
                seen = last.get(sub_id)
                if seen is None or t >= seen[0]:  # the last given wins at one instant
                    last[sub_id] = (t, v)
        return {sub_id: v for sub_id, (_, v) in last.items() if v > 0}

    def customer_mrr(self, at: datetime, *, before: bool = False) -> dict[str, int]:
        """Each customer worth more than zero at ``at`` (``before``: just before it): their MRR."""
        check_aware(at)
        find = bisect_left if before else bisect_right
        out = {}
        for customer_id, (times, values) in self._customers.items():
            i = find(times, at)
            if i and values[i - 1] > 0:
                out[customer_id] = values[i - 1]
        return out

    def snapshot(self, at: datetime, *, before: bool = False) -> MrrSnapshot:
        """MRR, paying customers and subscriptions at ``at`` (ARR and ARPA derive from them).

        ``before``: just before ``at`` (a change at exactly ``at`` left out), which is how a
        period ``[start, at)`` closes.
        """
        by_customer = self.customer_mrr(at, before=before)
        return MrrSnapshot(
            at, self.currency, sum(by_customer.values()), len(by_customer), len(self.subscription_mrr(at))
        )

    def __len__(self) -> int:
        return len(self._points)


_AT_SUB = itemgetter(2, 0)


def _two_owners(sub_id: str, first: str, second: str) -> None:
    raise ValidationError(
        f"subscription {sub_id} has points for customers {first} and {second}", field="customer_id"
    )


def _merge(found: Sequence[MrrPoint]) -> tuple[tuple[datetime, ...], tuple[int, ...]]:
    """The sum of a customer's subscriptions (points sorted by time) as one step function."""
    current: dict[str, int] = {}
    total = 0
    times_out: list[datetime] = []
    values_out: list[int] = []
    for sub_id, _, t, v in found:
        total += v - current.get(sub_id, 0)
        current[sub_id] = v
        if times_out and times_out[-1] == t:
            values_out[-1] = total
        else:
            times_out.append(t)
            values_out.append(total)
    return tuple(times_out), tuple(values_out)
