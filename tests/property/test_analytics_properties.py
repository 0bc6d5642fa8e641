"""Invariants of MRR movements on random books: nothing appears or vanishes between months."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from subkit.analytics import MovementKind, MrrBook, MrrPoint, cohorts, monthly_movements, movements
from subkit.analytics.mrr import month_starts

START = datetime(2027, 1, 1, tzinfo=UTC)
BOUNDS = month_starts(START, 6)
SPAN = int((BOUNDS[-1] - START).total_seconds()) + 40 * 86400

point = st.tuples(
    st.integers(0, 7),  # subscription
    st.integers(-40 * 86400, SPAN),  # seconds from START (some before, some after the grid)
    st.sampled_from([0, 0, 500, 1000, 1999, 3000, 12345]),
)


def _book(raw: list[tuple[int, int, int]]) -> MrrBook:
    return MrrBook(
        [MrrPoint.trusted(f"s{s}", f"c{s % 4}", START + timedelta(seconds=t), v) for s, t, v in raw], "EUR"
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(point, max_size=40))
def test_opening_plus_movements_is_closing(raw: list[tuple[int, int, int]]) -> None:
    book = _book(raw)
    periods = monthly_movements(book, BOUNDS, details=True)
    for k, m in enumerate(periods):
        assert m.opening + m.new + m.expansion + m.contraction + m.churn + m.reactivation == m.closing
        # the closing is what the customers are worth just before the period ends
        assert m.closing == book.snapshot(m.end, before=True).mrr_minor
        assert m.closing_customers == book.snapshot(m.end, before=True).customers
        assert m.opening == book.snapshot(m.start, before=True).mrr_minor
        # each customer's movement explains its part, with the right sign for its kind
        assert sum(c.delta for c in m.customers) == m.net
        for c in m.customers:
            assert (c.delta > 0) == (
                c.kind in (MovementKind.NEW, MovementKind.EXPANSION, MovementKind.REACTIVATION)
            )
        assert sum(m.counts.values()) == len(m.customers)
        if k:
            assert m.opening == periods[k - 1].closing
        # one period alone gives the same totals as the same period in the run of months
        alone = movements(book, m.start, m.end)
        assert alone.as_dict() == m.as_dict()


@settings(max_examples=150, deadline=None)
@given(st.lists(point, max_size=40))
def test_cohorts_hold_every_new_customer_once(raw: list[tuple[int, int, int]]) -> None:
    book = _book(raw)
    periods = monthly_movements(book, BOUNDS)
    found = cohorts(book, BOUNDS)
    # a cohort holds its month's new customers, and those who paid and left within the month
    for c, m in zip(found, periods, strict=True):
        assert c.customers >= m.counts[MovementKind.NEW]
    firsts = [book.first_paid(f"c{n}") for n in range(4)]
    assert sum(c.customers for c in found) == sum(
        1 for t in firsts if t is not None and BOUNDS[0] <= t < BOUNDS[-1]
    )
    for c in found:
        assert all(0 <= n <= c.customers for n in c.logos)
