"""The demo's last section: the run's revenue waterfall and deferred revenue roll-forward.

Read from the store with :class:`~subkit.services.revenue.RevenueBooks` (ratable by day,
books in UTC), in each invoice's own currency (the demo locks no exchange rates).

Example:
    >>> from datetime import date
    >>> s = RevenueSection(
    ...     (("USD", 0, 3100, 1700, 0, 1400),),
    ...     "USD", (date(2026, 1, 1), date(2026, 2, 1)),
    ...     ((date(2026, 1, 1), 3100, (1700, 1400)),), (1700, 1400))
    >>> print("\\n".join(s.render()))
    Revenue recognition (ASC 606 / IFRS 15: ratable by day, books in UTC)
      Deferred revenue roll-forward, the whole run
      Currency  Opening  Billed  Recognized  Reversed  Closing
      USD         $0.00  $31.00      $17.00     $0.00   $14.00
    <BLANKLINE>
      Revenue waterfall, USD in whole units (rows: month booked; columns: month recognized)
      Booked   Billed  2026-01  2026-02
      2026-01      31       17       14
      Total        31       17       14
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from subkit.core.money import minor_units
from subkit.entrypoints.text import money, table
from subkit.ports import Clock, Store
from subkit.revenue.books import Books
from subkit.revenue.reports import rollforward, waterfall
from subkit.services.revenue import RevenueBooks

__all__ = ["RevenueSection", "revenue_section"]


@dataclass(frozen=True, slots=True)
class RevenueSection:
    """Roll-forward rows ``(currency, opening, billed, recognized, reversed, closing)`` and one
    currency's waterfall: its months, rows ``(booked month, billed, cells)`` and column totals.

    Example:
        >>> RevenueSection((), "USD", (), (), ()).render()[0][:19]
        'Revenue recognition'
    """

    rollforward: tuple[tuple[str, int, int, int, int, int], ...]
    currency: str
    months: tuple[date, ...]
    waterfall: tuple[tuple[date, int, tuple[int, ...]], ...]
    recognized: tuple[int, ...]

    def render(self) -> list[str]:
        """The section's lines."""
        out = ["Revenue recognition (ASC 606 / IFRS 15: ratable by day, books in UTC)"]
        out.append("  Deferred revenue roll-forward, the whole run")
        header = ("Currency", "Opening", "Billed", "Recognized", "Reversed", "Closing")
        rows = [(cur, *(money(v, cur) for v in values)) for cur, *values in self.rollforward]
        out.extend(table(header, rows, right=range(1, 6), indent="  "))
        out.append("")
        cur = self.currency
        out.append(
            f"  Revenue waterfall, {cur} in whole units (rows: month booked; columns: month recognized)"
        )
        wheader = ("Booked", "Billed", *(m.isoformat()[:7] for m in self.months))
        wrows = [(b.isoformat()[:7], _units(billed, cur), *(_units(c, cur) for c in cells))
                 for b, billed, cells in self.waterfall]  # fmt: skip
        billed_total = sum(b for _, b, _ in self.waterfall)
        wrows.append(("Total", _units(billed_total, cur), *(_units(c, cur) for c in self.recognized)))
        out.extend(table(wheader, wrows, right=range(1, len(wheader)), indent="  "))
        return out


def _units(minor: int, currency: str) -> str:
    """Whole currency units, rounded half up in integers (display only)."""
    scale = 10 ** minor_units(currency)
    sign = -1 if minor < 0 else 1
    return f"{sign * ((abs(minor) + scale // 2) // scale):,}"


def revenue_section(
    store: Store, clock: Clock, start: datetime, end: datetime, currency: str
) -> RevenueSection:
    """The section for the run ``[start, end)``, with ``currency``'s waterfall.

    Example:
        >>> from datetime import UTC
        >>> from subkit.testing import InMemoryStore, TestClock
        >>> t = datetime(2026, 1, 1, tzinfo=UTC)
        >>> revenue_section(InMemoryStore(), TestClock(t), t, datetime(2026, 2, 1, tzinfo=UTC), "USD").months
        (datetime.date(2026, 1, 1),)
    """
    books: Books = RevenueBooks(store, clock).books()
    first, last = start.date(), end.date()
    currencies = sorted({e.reporting_currency for e in books.entries})
    rf = []
    for cur in currencies:
        r = rollforward(books, first, last, cur)
        rf.append(
            (cur, r.opening_minor, r.billed_minor, r.recognized_minor, r.reversed_minor, r.closing_minor)
        )
    w = waterfall(books, first, last, currency)
    rows = tuple((b, billed, cells) for b, (billed, cells) in w.rows.items())
    return RevenueSection(tuple(rf), currency, w.months, rows, w.recognized)
