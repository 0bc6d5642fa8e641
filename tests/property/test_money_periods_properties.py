import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import example, given, settings
from hypothesis import strategies as st

from subkit.core.money import allocate_minor
from subkit.core.periods import MONTHLY, Interval, Period, cycle_index, cycle_start


@settings(max_examples=300)
@given(
    total=st.integers(min_value=-(10**12), max_value=10**12),
    weights=st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=20).filter(
        lambda w: sum(w) > 0
    ),
)
def test_allocation_sums_exactly_and_is_fair(total: int, weights: list[int]) -> None:
    parts = allocate_minor(total, weights)
    assert sum(parts) == total
    wsum = sum(weights)
    for p, w in zip(parts, weights, strict=True):
        assert abs(p * wsum - total * w) < wsum  # each part within one minor unit of its exact share
        if w == 0:
            assert p == 0


@settings(max_examples=200)
@given(
    offsets=st.lists(st.integers(min_value=0, max_value=30 * 86400), max_size=10),
)
def test_split_pieces_sum_to_the_whole(offsets: list[int]) -> None:
    p = Period.of(datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 1, 31, tzinfo=UTC))
    pieces = p.split(*(p.start + timedelta(seconds=o) for o in offsets))
    assert sum((q.duration for q in pieces), timedelta()) == p.duration
    assert pieces[0].start == p.start and pieces[-1].end == p.end
    assert all(a.end == b.start for a, b in itertools.pairwise(pieces))


@settings(max_examples=200)
@given(
    anchor=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
    ),
    n=st.integers(min_value=0, max_value=240),
)
def test_cycles_are_contiguous_and_indexable(anchor: datetime, n: int) -> None:
    s, e = cycle_start(anchor, MONTHLY, n), cycle_start(anchor, MONTHLY, n + 1)
    assert s < e
    assert cycle_index(anchor, MONTHLY, s) == n
    assert cycle_index(anchor, MONTHLY, e - timedelta(microseconds=1)) == n
    assert s.day == min(anchor.day, s.day)  # never later than the anchor's day of month


@settings(max_examples=400)
# Pinned (issue 10): anchors inside a DST gap (02:30 does not exist on those days), with fold 0
# and 1, and anchors whose target month lands in a gap or an overlap. Month arithmetic keeps the
# wall time, takes fold 0 as relativedelta does (datetime + timedelta resets fold), and converts.
@example(datetime(2027, 3, 28, 2, 30, tzinfo=ZoneInfo("Europe/Paris")), "month", 1, 1)
@example(datetime(2027, 3, 28, 2, 30, fold=1, tzinfo=ZoneInfo("Europe/Paris")), "month", 1, 0)
@example(datetime(2027, 3, 28, 2, 30, fold=1, tzinfo=ZoneInfo("Europe/Paris")), "month", 12, -1)
@example(datetime(2027, 3, 14, 2, 30, fold=1, tzinfo=ZoneInfo("America/Los_Angeles")), "day", 7, 3)
@example(datetime(2027, 1, 28, 2, 30, fold=1, tzinfo=ZoneInfo("Europe/Paris")), "month", 2, 1)
@example(datetime(2027, 9, 30, 2, 30, fold=1, tzinfo=ZoneInfo("Europe/Paris")), "month", 1, 1)
@given(
    anchor=st.datetimes(
        min_value=datetime(1990, 1, 1),
        max_value=datetime(2080, 1, 1),
        timezones=st.sampled_from(
            [
                ZoneInfo("UTC"),
                ZoneInfo("Europe/Paris"),
                ZoneInfo("America/Los_Angeles"),
                ZoneInfo("Asia/Kolkata"),
            ]
        ),
    ),
    unit=st.sampled_from(["day", "week", "month", "year"]),
    count=st.integers(min_value=1, max_value=6),
    n=st.integers(min_value=-30, max_value=120),
)
def test_cycle_start_equals_relativedelta_on_the_local_calendar(
    anchor: datetime, unit: str, count: int, n: int
) -> None:
    interval = Interval(unit=unit, count=count)  # type: ignore[arg-type]
    tz = anchor.tzinfo
    local = anchor.astimezone(tz)
    expected = (local + interval.delta(n)).astimezone(UTC)
    assert cycle_start(anchor, interval, n, tz) == expected  # type: ignore[arg-type]
