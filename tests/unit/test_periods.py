from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from subkit.core.clock import SystemClock, TestClock
from subkit.core.periods import (
    DAILY,
    MONTHLY,
    WEEKLY,
    YEARLY,
    Interval,
    Period,
    cycle_index,
    cycle_period,
    cycle_start,
    ensure_aware,
)
from subkit.errors import InvalidPeriodError, NaiveDatetimeError

PARIS = ZoneInfo("Europe/Paris")
LA = ZoneInfo("America/Los_Angeles")


def d(y: int, m: int, day: int, h: int = 0, tz: object = UTC) -> datetime:
    return datetime(y, m, day, h, tzinfo=tz)  # type: ignore[arg-type]


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(NaiveDatetimeError):
        ensure_aware(datetime(2027, 1, 1))
    with pytest.raises(NaiveDatetimeError):
        Period(start=datetime(2027, 1, 1), end=d(2027, 1, 2))
    with pytest.raises(NaiveDatetimeError):
        cycle_start(datetime(2027, 1, 1), MONTHLY, 1)
    with pytest.raises(NaiveDatetimeError):
        TestClock(datetime(2027, 1, 1))


def test_period_is_half_open() -> None:
    p = Period.of(d(2027, 1, 1), d(2027, 2, 1))
    assert p.contains(d(2027, 1, 1)) and not p.contains(d(2027, 2, 1))
    assert p.duration == timedelta(days=31)
    assert p.seconds == Decimal(31 * 86400)
    with pytest.raises(InvalidPeriodError):
        Period.of(d(2027, 1, 2), d(2027, 1, 2))


def test_overlap_and_intersection() -> None:
    a = Period.of(d(2027, 1, 1), d(2027, 1, 10))
    b = Period.of(d(2027, 1, 5), d(2027, 1, 20))
    c = Period.of(d(2027, 1, 10), d(2027, 1, 11))
    assert a.overlaps(b) and not a.overlaps(c)
    assert a.intersection(b) == Period.of(d(2027, 1, 5), d(2027, 1, 10))
    assert a.intersection(c) is None


def test_split_tiles_the_period() -> None:
    p = Period.of(d(2027, 1, 1), d(2027, 1, 31))
    pieces = p.split(d(2027, 1, 21), d(2027, 1, 11), d(2026, 12, 1), d(2027, 1, 31))
    assert [(q.start.day, q.end.day) for q in pieces] == [(1, 11), (11, 21), (21, 31)]


@pytest.mark.parametrize(
    ("anchor", "interval", "expected"),
    [
        # Jan 31 monthly: Feb 28, Mar 31, Apr 30 (never drifts to the 28th).
        (d(2027, 1, 31), MONTHLY, ["2027-01-31", "2027-02-28", "2027-03-31", "2027-04-30", "2027-05-31"]),
        # Leap year: Feb 29 2028.
        (d(2028, 1, 31), MONTHLY, ["2028-01-31", "2028-02-29", "2028-03-31", "2028-04-30", "2028-05-31"]),
        # Every 3 months from Nov 30: Feb 28, May 30, Aug 30, Nov 30.
        (
            d(2026, 11, 30),
            Interval(unit="month", count=3),
            ["2026-11-30", "2027-02-28", "2027-05-30", "2027-08-30", "2027-11-30"],
        ),
        # Every 2 weeks.
        (
            d(2027, 1, 1),
            Interval(unit="week", count=2),
            ["2027-01-01", "2027-01-15", "2027-01-29", "2027-02-12", "2027-02-26"],
        ),
        (d(2027, 12, 30), DAILY, ["2027-12-30", "2027-12-31", "2028-01-01", "2028-01-02", "2028-01-03"]),
        (d(2027, 12, 30), WEEKLY, ["2027-12-30", "2028-01-06", "2028-01-13", "2028-01-20", "2028-01-27"]),
    ],
)
def test_cycles_are_computed_from_the_anchor(
    anchor: datetime, interval: Interval, expected: list[str]
) -> None:
    assert [cycle_start(anchor, interval, n).date().isoformat() for n in range(5)] == expected


def test_feb_29_yearly_anchor() -> None:
    anchor = d(2028, 2, 29)
    assert [cycle_start(anchor, YEARLY, n).date().isoformat() for n in range(5)] == [
        "2028-02-29",
        "2029-02-28",
        "2030-02-28",
        "2031-02-28",
        "2032-02-29",
    ]


def test_local_anchor_keeps_wall_time_across_dst() -> None:
    # 09:00 in Paris on Mar 15 2027 (CET, UTC+1) -> Apr 15 09:00 CEST (UTC+2) -> Nov 15 09:00 CET.
    anchor = d(2027, 3, 15, 9, PARIS)
    starts = [cycle_start(anchor, MONTHLY, n, PARIS) for n in (0, 1, 8)]
    assert [s.astimezone(PARIS).hour for s in starts] == [9, 9, 9]
    assert [s.hour for s in starts] == [8, 7, 8]  # in UTC
    # A UTC computation of the same anchor would drift an hour in local time.
    assert cycle_start(anchor, MONTHLY, 1, UTC).astimezone(PARIS).hour == 10


def test_local_midnight_in_los_angeles_across_dst() -> None:
    # Midnight Mar 1 2027 PST (08:00 UTC); Apr 1 midnight PDT is 07:00 UTC. March has 31 days
    # less the skipped hour: 31*24 - 1 = 743 hours.
    p = cycle_period(d(2027, 3, 1, 0, LA), MONTHLY, 0, LA)
    assert (p.start.hour, p.end.hour) == (8, 7)
    assert p.duration == timedelta(hours=743)


def test_cycle_index_finds_the_containing_cycle() -> None:
    anchor = d(2027, 1, 31)
    assert cycle_index(anchor, MONTHLY, d(2027, 1, 31)) == 0
    assert cycle_index(anchor, MONTHLY, d(2027, 2, 27)) == 0
    assert cycle_index(anchor, MONTHLY, d(2027, 2, 28)) == 1
    assert cycle_index(anchor, MONTHLY, d(2027, 3, 31) - timedelta(microseconds=1)) == 1
    assert cycle_index(anchor, MONTHLY, d(2027, 1, 30)) == -1
    assert cycle_index(anchor, Interval(unit="week", count=2), d(2027, 2, 14)) == 1


def test_interval_validation() -> None:
    with pytest.raises(InvalidPeriodError):
        Interval(unit="month", count=0)
    with pytest.raises(InvalidPeriodError):
        Interval(unit="fortnight")
    assert str(Interval(unit="month", count=3)) == "3 months"


def test_test_clock_travels_forward_only() -> None:
    c = TestClock(d(2027, 1, 1))
    assert c.advance(timedelta(days=1)) == d(2027, 1, 2)
    with pytest.raises(InvalidPeriodError):
        c.travel_to(d(2026, 12, 31))
    assert c.travel_to(d(2027, 1, 2, 3, PARIS)) == d(2027, 1, 2, 2)  # 03:00 CET is 02:00 UTC


def test_system_clock_is_aware() -> None:
    assert SystemClock().now().utcoffset() == timedelta(0)
