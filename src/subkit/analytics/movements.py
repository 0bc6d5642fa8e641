"""MRR movements: how a period's opening MRR became its closing MRR, customer by customer.

Periods are half-open ``[start, end)``: a change at exactly ``start`` belongs to the period, one at
``end`` to the next. Each customer's MRR just before ``start`` (``opening``) and just before ``end``
(``closing``) is compared, at the customer level as ChartMogul classifies movements
(help.chartmogul.com/hc/en-us/articles/203299912):

- **new**: 0 -> more, and the customer first paid inside the period;
- **reactivation**: 0 -> more, a customer who had paid before the period;
- **expansion** / **contraction**: more -> more, up / down (a second subscription, an upgrade, an
  expiring discount are expansion; a downgrade, a new discount, one of two subscriptions canceled
  are contraction);
- **churn**: more -> 0.

Amounts are signed (contraction and churn negative), so ``opening + sum(movements) == closing``
always, and per customer ``opening + delta == closing``. A customer who comes and goes inside one
period moves nothing in it (the net comparison; ChartMogul records each event).

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.analytics.mrr import MrrBook, MrrPoint
    >>> def day(m, d): return datetime(2027, m, d, tzinfo=UTC)
    >>> P = MrrPoint.trusted
    >>> book = MrrBook([P("s1", "c1", day(1, 1), 1000), P("s1", "c1", day(2, 15), 1500),
    ...                 P("s2", "c2", day(1, 1), 800), P("s2", "c2", day(2, 20), 0),
    ...                 P("s3", "c3", day(2, 10), 300)], "USD")
    >>> m = movements(book, day(2, 1), day(3, 1))
    >>> m.opening, m.new, m.expansion, m.churn, m.closing
    (1800, 300, 500, -800, 1800)
    >>> [(c.customer_id, c.kind.value, c.delta) for c in m.customers]
    [('c1', 'expansion', 500), ('c2', 'churn', -800), ('c3', 'new', 300)]
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from itertools import pairwise

from subkit.analytics.mrr import MrrBook, check_aware
from subkit.errors import InvalidPeriodError

__all__ = ["CustomerMovement", "MovementKind", "Movements", "monthly_movements", "movements"]


class MovementKind(StrEnum):
    """The five kinds of MRR movement.

    Example:
        >>> MovementKind("reactivation").name
        'REACTIVATION'
    """

    NEW = "new"
    EXPANSION = "expansion"
    CONTRACTION = "contraction"
    CHURN = "churn"
    REACTIVATION = "reactivation"


@dataclass(frozen=True, slots=True)
class CustomerMovement:
    """One customer's movement over a period: ``opening + delta == closing`` (minor units).

    Example:
        >>> CustomerMovement("cus_1", MovementKind.CONTRACTION, 2000, 1500).delta
        -500
    """

    customer_id: str
    kind: MovementKind
    opening: int
    closing: int

    @property
    def delta(self) -> int:
        """The signed change."""
        return self.closing - self.opening


@dataclass(slots=True)
class Movements:
    """One period's movements, totals and counts, and (if asked for) the customers behind them.

    Example:
        >>> from datetime import datetime, UTC
        >>> jan, feb = datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC)
        >>> m = Movements(jan, feb, "USD", opening=100)
        >>> m.closing, m.net
        (100, 0)
    """

    start: datetime
    end: datetime
    currency: str
    opening: int = 0
    new: int = 0
    expansion: int = 0
    contraction: int = 0
    churn: int = 0
    reactivation: int = 0
    opening_customers: int = 0
    counts: dict[MovementKind, int] = field(default_factory=lambda: dict.fromkeys(MovementKind, 0))
    customers: list[CustomerMovement] = field(default_factory=list)

    @property
    def net(self) -> int:
        """The net change: the sum of the five movements."""
        return self.new + self.expansion + self.contraction + self.churn + self.reactivation

    @property
    def closing(self) -> int:
        """MRR at the end: opening plus the movements."""
        return self.opening + self.net

    @property
    def closing_customers(self) -> int:
        """Paying customers at the end."""
        c = self.counts
        return (
            self.opening_customers
            + c[MovementKind.NEW]
            + c[MovementKind.REACTIVATION]
            - c[MovementKind.CHURN]
        )

    def amount(self, kind: MovementKind) -> int:
        """The total of one kind (signed)."""
        return int(getattr(self, kind.value))

    def as_dict(self) -> dict[str, object]:
        """Plain data: dates as ISO text, amounts in minor units, counts per kind."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "currency": self.currency,
            "opening": self.opening,
            **{k.value: self.amount(k) for k in MovementKind},
            "closing": self.closing,
            "opening_customers": self.opening_customers,
            "closing_customers": self.closing_customers,
            **{f"{k.value}_customers": n for k, n in self.counts.items()},
        }


def movements(book: MrrBook, start: datetime, end: datetime, *, details: bool = True) -> Movements:
    """The movements of ``[start, end)``; with ``details``, the customer behind each.

    Example:
        >>> from datetime import datetime, UTC
        >>> from subkit.analytics.mrr import MrrBook
        >>> jan, feb = datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC)
        >>> movements(MrrBook([], "USD"), jan, feb).closing
        0
    """
    return monthly_movements(book, [start, end], details=details)[0]


def monthly_movements(
    book: MrrBook, instants: Sequence[datetime], *, details: bool = False
) -> list[Movements]:
    """The movements of each period between consecutive ``instants`` (ascending), in one pass.

    The work follows the points, not the grid: a customer whose MRR never changes costs one
    look-up, however many periods.

    Example:
        >>> from datetime import datetime, UTC
        >>> from subkit.analytics.mrr import MrrBook, MrrPoint
        >>> t = [datetime(2027, m, 1, tzinfo=UTC) for m in (1, 2, 3, 4)]
        >>> book = MrrBook([MrrPoint.trusted("s", "c", t[0], 900), MrrPoint.trusted("s", "c", t[1], 0),
        ...                 MrrPoint.trusted("s", "c", t[2], 900)], "USD")
        >>> [(m.opening, m.net) for m in monthly_movements(book, t)]
        [(0, 900), (900, -900), (0, 900)]
        >>> [k.value for m in monthly_movements(book, t) for k, n in m.counts.items() if n]
        ['new', 'churn', 'reactivation']
    """
    if len(instants) < 2:
        raise InvalidPeriodError("give at least two instants (the start and the end)", field="instants")
    for a, b in pairwise(instants):
        check_aware(a, "instants")
        if not a < b:
            raise InvalidPeriodError(
                f"instants must ascend: {a.isoformat()} is not before {b.isoformat()}", field="instants"
            )
    check_aware(instants[-1], "instants")
    grid = list(instants)
    n = len(grid) - 1
    out = [Movements(grid[k], grid[k + 1], book.currency) for k in range(n)]
    opening = [0] * (n + 1)
    paying = [0] * (n + 1)
    amounts = [[0, 0, 0, 0, 0] for _ in range(n)]  # new, expansion, contraction, churn, reactivation
    counts = [[0, 0, 0, 0, 0] for _ in range(n)]
    kinds = (
        MovementKind.NEW,
        MovementKind.EXPANSION,
        MovementKind.CONTRACTION,
        MovementKind.CHURN,
        MovementKind.REACTIVATION,
    )
    first_instant, last_instant = grid[0], grid[-1]
    first_paid = book.first_paid
    for customer_id, times, values in book.customers():
        # the customer's value at each instant where it changes: index k = first instant >= time
        if times[0] >= last_instant:
            continue
        lo = bisect_left(times, first_instant)
        prev = values[lo - 1] if lo else 0
        if prev > 0:
            paying[0] += 1
            opening[0] += prev
        hi = bisect_left(times, last_instant)
        if lo == hi:
            continue
        fp = first_paid(customer_id)
        first_k = bisect_right(grid, fp) if fp is not None else -1
        i = lo
        while i < hi:
            k = bisect_right(grid, times[i])  # the change falls in period k - 1: grid[k-1] <= t < grid[k]
            j = bisect_left(times, grid[k], i, hi) - 1  # the period's last change
            value = values[j]
            i = j + 1
            if value == prev:
                continue
            if prev == 0:
                kind = 0 if first_k == k else 4
            elif value == 0:
                kind = 3
            else:
                kind = 1 if value > prev else 2
            amounts[k - 1][kind] += value - prev
            counts[k - 1][kind] += 1
            if details:
                out[k - 1].customers.append(CustomerMovement(customer_id, kinds[kind], prev, value))
            prev = value
    running, logos = opening[0], paying[0]
    for k, m in enumerate(out):
        amt, c = amounts[k], counts[k]
        m.opening, m.opening_customers = running, logos
        m.new, m.expansion, m.contraction, m.churn, m.reactivation = amt
        m.counts = dict(zip(kinds, c, strict=True))
        running += sum(amt)
        logos += c[0] + c[4] - c[3]
        if details:
            m.customers.sort(key=_by_customer)
    return out


def _by_customer(c: CustomerMovement) -> str:
    return c.customer_id
