"""Time: aware datetimes, half-open periods, billing intervals anchored in a time zone.

Rules:

- Only timezone-aware datetimes are accepted (:class:`~subkit.errors.NaiveDatetimeError`).
- A :class:`Period` is half-open, ``[start, end)``: ``end`` belongs to the next period.
- Cycle ``n`` of a subscription is ``anchor + n * interval``, computed from the anchor on
  the customer's local calendar (``dateutil.relativedelta``), never chained from the
  previous end. A Jan 31 anchor bills Feb 28 (29 in leap years), then Mar 31, Apr 30;
  a 09:00 Europe/Paris anchor stays at 09:00 local across daylight-saving changes.

Example:
    >>> from datetime import datetime, UTC
    >>> jan31 = datetime(2027, 1, 31, tzinfo=UTC)
    >>> [cycle_start(jan31, MONTHLY, n).date().isoformat() for n in range(4)]
    ['2027-01-31', '2027-02-28', '2027-03-31', '2027-04-30']
"""

from __future__ import annotations

import itertools
from calendar import monthrange
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from typing import ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.relativedelta import relativedelta
from pydantic import AwareDatetime, model_validator

from subkit.core.model import Model
from subkit.core.money import CONTEXT
from subkit.core.value import Value
from subkit.errors import InvalidPeriodError, NaiveDatetimeError, SubkitError, ValidationError

__all__ = [
    "DAILY",
    "MONTHLY",
    "UTC",
    "WEEKLY",
    "YEARLY",
    "Interval",
    "IntervalUnit",
    "Period",
    "cycle_index",
    "cycle_period",
    "cycle_start",
    "ensure_aware",
    "isoformat",
    "zone",
]


def ensure_aware(value: datetime, field: str = "at") -> datetime:
    """Return ``value`` if it is timezone-aware, else raise ``NaiveDatetimeError``.

    Example:
        >>> ensure_aware(datetime(2027, 1, 1, tzinfo=UTC)).year
        2027
    """
    if not isinstance(value, datetime):
        raise ValidationError(f"expected a datetime, got {type(value).__name__}", field=field)
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise NaiveDatetimeError(
            f"{value.isoformat()} is naive; pass a timezone-aware datetime (e.g. tzinfo=UTC)", field=field
        )
    return value


@lru_cache(maxsize=1024)
def zone(name: str) -> tzinfo:
    """The IANA time zone ``name`` (``"UTC"`` and ``"Europe/Paris"`` alike).

    Example:
        >>> str(zone("America/Los_Angeles"))
        'America/Los_Angeles'
    """
    if name == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"{name!r} is not an IANA time zone", field="timezone") from None


class Period(Value):
    """A half-open time span ``[start, end)`` with ``end > start`` (a slotted value).

    Example:
        >>> p = Period(start=datetime(2027, 1, 1, tzinfo=UTC), end=datetime(2027, 2, 1, tzinfo=UTC))
        >>> p.duration.days, p.contains(p.end)
        (31, False)
    """

    __slots__ = ()
    _error: ClassVar[type[SubkitError]] = InvalidPeriodError
    start: AwareDatetime
    end: AwareDatetime

    def _check(self) -> None:
        if self.end <= self.start:
            raise InvalidPeriodError(
                f"end {self.end.isoformat()} must be after start {self.start.isoformat()}", field="end"
            )

    @classmethod
    def of(cls, start: datetime, end: datetime) -> Period:
        """Build from two aware datetimes, checked.

        Example:
            >>> Period.of(datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 1, 2, tzinfo=UTC)).duration
            datetime.timedelta(days=1)
        """
        return cls(start=ensure_aware(start, "start"), end=ensure_aware(end, "end"))

    @property
    def duration(self) -> timedelta:
        """``end - start``."""
        return self.end - self.start

    @property
    def seconds(self) -> Decimal:
        """Exact length in seconds (microsecond precision), as a Decimal.

        Example:
            >>> Period.of(datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 1, 2, tzinfo=UTC)).seconds
            Decimal('86400')
        """
        return seconds_between(self.start, self.end)

    def contains(self, at: datetime) -> bool:
        """Whether ``start <= at < end``."""
        return self.start <= ensure_aware(at) < self.end

    def overlaps(self, other: Period) -> bool:
        """Whether the two periods share any instant (touching ends do not overlap).

        Example:
            >>> a = Period.of(datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 1, 2, tzinfo=UTC))
            >>> b = Period.of(datetime(2027, 1, 2, tzinfo=UTC), datetime(2027, 1, 3, tzinfo=UTC))
            >>> a.overlaps(b)
            False
        """
        return self.start < other.end and other.start < self.end

    def intersection(self, other: Period) -> Period | None:
        """The shared part, or ``None`` when they do not overlap."""
        if not self.overlaps(other):
            return None
        return Period.trusted(max(self.start, other.start), min(self.end, other.end))

    def split(self, *points: datetime) -> tuple[Period, ...]:
        """Cut at the given instants (those strictly inside); the pieces tile the period.

        Example:
            >>> p = Period.of(datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 1, 31, tzinfo=UTC))
            >>> [q.duration.days for q in p.split(datetime(2027, 1, 11, tzinfo=UTC))]
            [10, 20]
        """
        cuts = sorted({ensure_aware(p, "points") for p in points if self.start < p < self.end})
        edges = [self.start, *cuts, self.end]
        return tuple(Period.trusted(a, b) for a, b in itertools.pairwise(edges))

    def __str__(self) -> str:
        return f"[{self.start.isoformat()}, {self.end.isoformat()})"


_LAST_ISO: tuple[datetime | None, str] = (None, "")


def isoformat(at: datetime) -> str:
    """``at.isoformat()``, remembered for the last instant asked (a renewal names its instant 3 times).

    Example:
        >>> isoformat(datetime(2027, 1, 31, 9, 30, tzinfo=UTC))
        '2027-01-31T09:30:00+00:00'
    """
    global _LAST_ISO
    last = _LAST_ISO
    if last[0] is at:
        return last[1]
    text = at.isoformat()
    _LAST_ISO = (at, text)
    return text


def seconds_between(start: datetime, end: datetime) -> Decimal:
    """Exact seconds from ``start`` to ``end`` (may be negative), as a Decimal.

    Example:
        >>> t0 = datetime(2027, 1, 1, tzinfo=UTC)
        >>> seconds_between(t0, t0 + timedelta(seconds=1, microseconds=500000))
        Decimal('1.5')
    """
    d = end - start
    whole = Decimal(d.days * 86400 + d.seconds)
    return whole + CONTEXT.divide(Decimal(d.microseconds), _MICRO) if d.microseconds else whole


_MICRO = Decimal(1_000_000)


class IntervalUnit(StrEnum):
    """Calendar unit of a billing interval.

    Example:
        >>> IntervalUnit("month").value
        'month'
    """

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


class Interval(Model):
    """A billing interval: ``count`` units (every 3 months, every 2 weeks...).

    Example:
        >>> Interval(unit="month", count=3).months
        3
    """

    _error: ClassVar[type[SubkitError]] = InvalidPeriodError
    unit: IntervalUnit
    count: int = 1

    @model_validator(mode="after")
    def _positive(self) -> Interval:
        if self.count < 1:
            raise InvalidPeriodError("interval count must be at least 1", field="count")
        return self

    @property
    def months(self) -> int:
        """Length in months (0 for day/week intervals)."""
        return _MONTHS.get(self.unit, 0) * self.count

    @property
    def days(self) -> int:
        """Length in days (0 for month/year intervals)."""
        return _DAYS.get(self.unit, 0) * self.count

    def delta(self, n: int) -> relativedelta:
        """``n`` intervals as a relativedelta."""
        if self.months:
            return relativedelta(months=self.months * n)
        return relativedelta(days=self.days * n)

    def __str__(self) -> str:
        return f"{self.count} {self.unit.value}{'s' if self.count != 1 else ''}"


_MONTHS = {IntervalUnit.MONTH: 1, IntervalUnit.YEAR: 12}
_DAYS = {IntervalUnit.DAY: 1, IntervalUnit.WEEK: 7}
DAILY = Interval(unit=IntervalUnit.DAY)
WEEKLY = Interval(unit=IntervalUnit.WEEK)
MONTHLY = Interval(unit=IntervalUnit.MONTH)
YEARLY = Interval(unit=IntervalUnit.YEAR)


def cycle_start(anchor: datetime, interval: Interval, n: int, tz: tzinfo | str = UTC) -> datetime:
    """Start of cycle ``n``: ``anchor + n * interval`` on the local calendar of ``tz``, in UTC.

    Example:
        >>> leap = datetime(2028, 2, 29, tzinfo=UTC)
        >>> [cycle_start(leap, YEARLY, n).date().isoformat() for n in (1, 4)]
        ['2029-02-28', '2032-02-29']
    """
    ensure_aware(anchor, "anchor")
    z = zone(tz) if isinstance(tz, str) else tz
    if n == 0 and z is UTC:
        return anchor.astimezone(UTC)  # the anchor itself when it is UTC already (no copy to keep)
    local = anchor if anchor.tzinfo is z else anchor.astimezone(z)
    # Wall-clock arithmetic in the local zone, then back to UTC: 09:00 stays 09:00 across DST.
    months = interval.months
    if months:
        # Same result as relativedelta(months=...): clamp the day to the target month's length.
        y, m = divmod(local.month - 1 + months * n, 12)
        year, month = local.year + y, m + 1
        if not 1 <= year <= 9999:
            raise InvalidPeriodError(f"cycle {n} falls outside the calendar", field="n")
        day = local.day
        if day > 28:
            day = min(day, monthrange(year, month)[1])
        start = local.replace(year=year, month=month, day=day, fold=0)  # as relativedelta: fold 0
    else:
        start = local + timedelta(days=interval.days * n)
    return start if z is UTC else start.astimezone(UTC)


def cycle_index(anchor: datetime, interval: Interval, at: datetime, tz: tzinfo | str = UTC) -> int:
    """The ``n`` whose cycle contains ``at`` (negative before the anchor).

    Example:
        >>> jan31 = datetime(2027, 1, 31, tzinfo=UTC)
        >>> cycle_index(jan31, MONTHLY, datetime(2027, 3, 30, tzinfo=UTC))
        1
    """
    ensure_aware(at, "at")
    z = zone(tz) if isinstance(tz, str) else tz
    a, t = anchor.astimezone(z), at.astimezone(z)
    if interval.months:
        guess = ((t.year - a.year) * 12 + t.month - a.month) // interval.months
    else:
        guess = (t.date() - a.date()).days // interval.days
    n = guess
    while cycle_start(anchor, interval, n, z) > at:
        n -= 1
    while cycle_start(anchor, interval, n + 1, z) <= at:
        n += 1
    return n


def cycle_period(anchor: datetime, interval: Interval, n: int, tz: tzinfo | str = UTC) -> Period:
    """Cycle ``n`` as a half-open period.

    Example:
        >>> p = cycle_period(datetime(2027, 1, 31, tzinfo=UTC), MONTHLY, 1)
        >>> p.start.date().isoformat(), p.end.date().isoformat()
        ('2027-02-28', '2027-03-31')
    """
    z = zone(tz) if isinstance(tz, str) else tz
    return Period.trusted(cycle_start(anchor, interval, n, z), cycle_start(anchor, interval, n + 1, z))
