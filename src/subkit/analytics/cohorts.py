"""Cohorts: customers grouped by the period they first paid in, and what is left of them later.

A customer joins the cohort of the period ``[instants[k], instants[k+1])`` holding the first instant
their MRR rose above zero. At age ``a`` (``a`` periods later) the cohort keeps the customers still
paying at the end of period ``k + a`` (``logos[a]``) and their MRR then (``mrr[a]``); retention is
measured against the cohort's size and against the MRR each customer started with. A customer who
left and came back counts again (ChartMogul's customer retention cohorts do the same).

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.analytics.mrr import MrrBook, MrrPoint
    >>> t = [datetime(2027, m, 1, tzinfo=UTC) for m in (1, 2, 3, 4)]
    >>> P = MrrPoint.trusted
    >>> book = MrrBook([P("s1", "c1", t[0], 1000), P("s2", "c2", t[0], 1000),
    ...                 P("s2", "c2", t[1], 0), P("s1", "c1", t[2], 1500)], "USD")
    >>> [(c.customers, c.logos, c.mrr) for c in cohorts(book, t)]
    [(2, (2, 1, 1), (2000, 1000, 1500)), (0, (0, 0), (0, 0)), (0, (0,), (0,))]
    >>> cohorts(book, t)[0].logo_retention
    (Decimal('1'), Decimal('0.5'), Decimal('0.5'))
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from itertools import pairwise

from subkit.analytics.mrr import MrrBook, check_aware
from subkit.core.money import CONTEXT
from subkit.errors import InvalidPeriodError

__all__ = ["Cohort", "cohorts"]


@dataclass(frozen=True, slots=True)
class Cohort:
    """One cohort: its period, size, starting MRR, and logos and MRR at the end of each later period.

    Example:
        >>> from datetime import datetime, UTC
        >>> c = Cohort(datetime(2027, 1, 1, tzinfo=UTC), 4, 4000, (4, 3), (4000, 2500))
        >>> c.logo_retention, c.mrr_retention
        ((Decimal('1'), Decimal('0.75')), (Decimal('1'), Decimal('0.625')))
    """

    start: datetime
    customers: int
    initial_mrr: int
    logos: tuple[int, ...]
    mrr: tuple[int, ...]

    @property
    def logo_retention(self) -> tuple[Decimal, ...]:
        """Share of the cohort's customers paying at each age (empty cohort: empty)."""
        if not self.customers:
            return ()
        return tuple(_ratio(n, self.customers) for n in self.logos)

    @property
    def mrr_retention(self) -> tuple[Decimal, ...]:
        """The cohort's MRR at each age over its starting MRR."""
        if not self.initial_mrr:
            return ()
        return tuple(_ratio(v, self.initial_mrr) for v in self.mrr)


def _ratio(a: int, b: int) -> Decimal:
    return CONTEXT.divide(Decimal(a), Decimal(b)).normalize(CONTEXT)


def cohorts(book: MrrBook, instants: Sequence[datetime]) -> list[Cohort]:
    """One cohort per period between consecutive ``instants`` (ascending), ages up to the last instant.

    Example:
        >>> from datetime import datetime, UTC
        >>> from subkit.analytics.mrr import MrrBook
        >>> jan, feb = datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC)
        >>> cohorts(MrrBook([], "USD"), [jan, feb])[0].logos
        (0,)
    """
    if len(instants) < 2:
        raise InvalidPeriodError("give at least two instants", field="instants")
    grid = [check_aware(t, "instants") for t in instants]
    if any(not a < b for a, b in pairwise(grid)):
        raise InvalidPeriodError("instants must ascend", field="instants")
    n = len(grid) - 1
    size = [0] * n
    initial = [0] * n
    logos = [[0] * (n - k) for k in range(n)]
    mrr = [[0] * (n - k) for k in range(n)]
    for customer_id, times, values in book.customers():
        fp = book.first_paid(customer_id)
        if fp is None or not grid[0] <= fp < grid[-1]:
            continue
        k = bisect_right(grid, fp) - 1
        size[k] += 1
        i = bisect_left(times, fp)
        initial[k] += values[i]
        for age in range(n - k):
            j = bisect_left(times, grid[k + age + 1]) - 1  # the value just before the period ends
            v = values[j] if j >= 0 else 0
            if v > 0:
                logos[k][age] += 1
                mrr[k][age] += v
    return [Cohort(grid[k], size[k], initial[k], tuple(logos[k]), tuple(mrr[k])) for k in range(n)]
