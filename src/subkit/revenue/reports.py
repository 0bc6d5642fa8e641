"""Reports an auditor asks for, for any date range ``[start, end)``, from the books.

- :func:`waterfall`: bookings by month (net billed) against recognition by month.
- :func:`rollforward`: deferred revenue, opening + billed - recognized - reversed = closing,
  each term read from the journal (so it reconciles with the ledger by construction).
- :func:`recognized_revenue`: revenue recognized (less reversals) by month, product or customer.
- :func:`balances`: the balance of every account at the end of a day (trial balance).
- :func:`journal_csv`: the entries as CSV, one row per posting, in the host's account codes.

Amounts are in one currency: ``currency`` picks the books kept in it (an invoice with a
locked rate is kept in its reporting currency; one without, in its own currency). When
every document is in one currency it may be left out.

Example:
    >>> from datetime import UTC, datetime
    >>> from subkit.invoice.invoice import Invoice, InvoiceLine, LineKind
    >>> from subkit.revenue.books import build_books
    >>> at = datetime(2027, 1, 1, tzinfo=UTC)
    >>> plan = InvoiceLine.build("Annual", LineKind.RECURRING, unit_amount="365", currency="USD",
    ...                          period_start=at, period_end=datetime(2028, 1, 1, tzinfo=UTC))
    >>> books = build_books([Invoice.draft("in_1", "cus_1", "USD", [plan], at=at).issue("INV-1", at)])
    >>> r = rollforward(books, date(2027, 2, 1), date(2027, 3, 1))
    >>> r.opening_minor, r.billed_minor, r.recognized_minor, r.reversed_minor, r.closing_minor
    (33400, 0, 2800, 0, 30600)
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from typing import NamedTuple

from subkit.core.money import minor_to_decimal
from subkit.errors import ValidationError
from subkit.revenue.books import Books, RevenueRow
from subkit.revenue.journal import Account, Chart, EntryKind, JournalEntry
from subkit.revenue.schedule import month_index, month_of

__all__ = [
    "CSV_COLUMNS",
    "RollForward",
    "Waterfall",
    "balances",
    "book_currency",
    "journal_csv",
    "recognized_revenue",
    "rollforward",
    "rollforward_by_month",
    "waterfall",
    "waterfall_of_rows",
]


def _range(start: date, end: date) -> None:
    if end <= start:
        raise ValidationError(f"end {end} must be after start {start} (ranges are [start, end))", field="end")


def book_currency(books: Books, currency: str | None) -> str:
    """The currency to report in: ``currency``, or the only one the books are kept in.

    Example:
        >>> book_currency(Books(), "EUR")
        'EUR'
    """
    if currency is not None:
        return currency
    found = {e.reporting_currency for e in books.entries}
    if len(found) > 1:
        raise ValidationError(
            f"the books are kept in {', '.join(sorted(found))}: pass currency= to pick one", field="currency"
        )
    return found.pop() if found else "USD"


def _entries(books: Books, currency: str | None) -> tuple[str, list[JournalEntry]]:
    cur = book_currency(books, currency)
    return cur, [e for e in books.entries if e.reporting_currency == cur]


def _rows(books: Books, currency: str | None) -> tuple[str, list[RevenueRow]]:
    cur = book_currency(books, currency)
    return cur, [r for r in books.revenue if r.reporting_currency == cur]


def balances(books: Books, through: date, currency: str | None = None) -> dict[Account, int]:
    """Each account's signed balance (debit positive) at the end of ``through``.

    Example:
        >>> balances(Books(), date(2027, 1, 31), "USD")[Account.CASH]
        0
    """
    _, entries = _entries(books, currency)
    out = dict.fromkeys(Account, 0)
    for e in entries:
        if e.on <= through:
            for p in e.postings:
                out[p.account] += p.reporting_signed_minor
    return out


class RollForward(NamedTuple):
    """Deferred revenue over a range: ``opening + billed - recognized - reversed = closing``.

    ``billed`` is net of proration credits on invoices; ``reversed`` is what credit notes and
    voids took out of deferred revenue. Credit balances are positive (it is a liability).

    Example:
        >>> RollForward("2027-01-01", "2027-02-01", "USD", 0, 36500, 3100, 0, 33400).closing_minor
        33400
    """

    start: str
    end: str
    currency: str
    opening_minor: int
    billed_minor: int
    recognized_minor: int
    reversed_minor: int
    closing_minor: int


def rollforward(books: Books, start: date, end: date, currency: str | None = None) -> RollForward:
    """The deferred revenue roll-forward of ``[start, end)`` (see :class:`RollForward`)."""
    _range(start, end)
    cur, entries = _entries(books, currency)
    opening = billed = recognized = reversed_ = 0
    for e in entries:
        if e.on >= end:
            continue
        moved = -e.amount(Account.DEFERRED_REVENUE, reporting=True)  # credit positive
        if e.on < start:
            opening += moved
        elif e.kind is EntryKind.INVOICE:
            billed += moved
        elif e.kind is EntryKind.RECOGNITION:
            recognized -= moved
        else:
            reversed_ -= moved
    closing = opening + billed - recognized - reversed_
    return RollForward(
        start.isoformat(), end.isoformat(), cur, opening, billed, recognized, reversed_, closing
    )


def rollforward_by_month(
    books: Books, start: date, end: date, currency: str | None = None
) -> list[RollForward]:
    """One roll-forward per calendar month of ``[start, end)`` (the first and last may be partial).

    Example:
        >>> [r.start for r in rollforward_by_month(Books(), date(2027, 1, 15), date(2027, 3, 1), "USD")]
        ['2027-01-15', '2027-02-01']
    """
    _range(start, end)
    out = []
    cur = start
    while cur < end:
        nxt = min(month_of(month_index(cur) + 1), end)
        out.append(rollforward(books, cur, nxt, currency))
        cur = nxt
    return out


class Waterfall(NamedTuple):
    """Bookings by month against recognition by month.

    ``months`` are the report's months; ``rows`` maps each booking month (the first day of
    it) to ``(billed, recognized in each of months)``; ``recognized`` sums the columns.

    Example:
        >>> Waterfall("USD", (), {}, ()).total_recognized_minor
        0
    """

    currency: str
    months: tuple[date, ...]
    rows: dict[date, tuple[int, tuple[int, ...]]]
    recognized: tuple[int, ...]

    @property
    def total_recognized_minor(self) -> int:
        """All revenue recognized in the report's months."""
        return sum(self.recognized)


def waterfall_of_rows(
    rows: Iterable[tuple[int, int, int]],
    billed: Iterable[tuple[int, int]],
    first: int,
    last: int,
    currency: str,
) -> Waterfall:
    """A waterfall from plain ``(booked month, month, amount)`` rows and ``(booked month, billed)``.

    Months are month indexes; the report covers ``first..last`` inclusive; recognition of
    bookings from before ``first`` is shown on their own booking rows.

    Example:
        >>> facts = [(24324, 24324, 3100), (24324, 24325, 2800)]
        >>> w = waterfall_of_rows(facts, [(24324, 36500)], 24324, 24325, "USD")
        >>> w.rows[date(2027, 1, 1)], w.recognized
        ((36500, (3100, 2800)), (3100, 2800))
    """
    width = last - first + 1
    cells: dict[int, list[int]] = {}
    billed_by: dict[int, int] = defaultdict(int)
    for booked, month, amount in rows:  # first: ``billed`` may be filled while ``rows`` streams
        if first <= month <= last:
            line = cells.get(booked)
            if line is None:
                line = cells[booked] = [0] * width
            line[month - first] += amount
    for booked, amount in billed:
        if booked <= last:
            billed_by[booked] += amount
    keys = sorted(set(cells) | {b for b in billed_by if b >= first})
    out = {
        month_of(b): (billed_by.get(b, 0) if b >= first else 0, tuple(cells.get(b, [0] * width)))
        for b in keys
    }
    totals = tuple(sum(v[1][i] for v in out.values()) for i in range(width))
    return Waterfall(currency, tuple(month_of(m) for m in range(first, last + 1)), out, totals)


def waterfall(books: Books, start: date, end: date, currency: str | None = None) -> Waterfall:
    """The revenue waterfall of the months that ``[start, end)`` touches (reversals excluded).

    Example:
        >>> waterfall(Books(), date(2027, 1, 1), date(2027, 3, 1), "USD").months
        (datetime.date(2027, 1, 1), datetime.date(2027, 2, 1))
    """
    _range(start, end)
    cur, rows = _rows(books, currency)
    _, entries = _entries(books, cur)
    billed = [
        (month_index(e.on), -e.amount(Account.DEFERRED_REVENUE, reporting=True))
        for e in entries
        if e.kind is EntryKind.INVOICE
    ]
    facts = ((r.booked_month, r.month, r.reporting_minor) for r in rows if not r.reversal)
    return waterfall_of_rows(facts, billed, month_index(start), month_index(end - timedelta(days=1)), cur)


def recognized_revenue(
    books: Books, start: date, end: date, by: str = "month", currency: str | None = None
) -> dict[str, int]:
    """Revenue recognized in ``[start, end)`` less reversals, by ``month``, ``product`` or ``customer``.

    Example:
        >>> recognized_revenue(Books(), date(2027, 1, 1), date(2028, 1, 1), by="product", currency="USD")
        {}
    """
    _range(start, end)
    if by not in ("month", "product", "customer"):
        raise ValidationError(f"by={by!r}: use 'month', 'product' or 'customer'", field="by")
    _, rows = _rows(books, currency)
    out: dict[str, int] = defaultdict(int)
    for r in rows:
        if start <= r.on < end:
            if by == "month":
                key = month_of(r.month).isoformat()[:7]
            else:
                key = r.product if by == "product" else r.customer_id
            out[key] += r.reporting_minor
    return dict(sorted(out.items()))


#: The columns of :func:`journal_csv`.
CSV_COLUMNS = (
    "entry_id",
    "date",
    "kind",
    "account_code",
    "account_name",
    "debit",
    "credit",
    "currency",
    "reporting_debit",
    "reporting_credit",
    "reporting_currency",
    "customer_id",
    "invoice_id",
    "source_id",
    "moved_from",
)


class _Lines:
    """A write target for csv.writer that keeps the text in memory (no I/O in the domain)."""

    __slots__ = ("parts",)

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)


def journal_csv(
    books: Books, start: date | None = None, end: date | None = None, chart: Chart | None = None
) -> str:
    """The journal as CSV an ERP imports: one row per posting, amounts in units (``12.50``).

    Example:
        >>> journal_csv(Books()).splitlines()[0][:40]
        'entry_id,date,kind,account_code,account_'
    """
    chart = chart or Chart()
    target = _Lines()
    w = csv.writer(target, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for e in books.entries:
        if (start is not None and e.on < start) or (end is not None and e.on >= end):
            continue
        for p in e.postings:
            w.writerow(
                (
                    e.id,
                    e.on.isoformat(),
                    e.kind.value,
                    chart.code(p.account),
                    chart.name(p.account),
                    minor_to_decimal(p.debit_minor, e.currency),
                    minor_to_decimal(p.credit_minor, e.currency),
                    e.currency,
                    minor_to_decimal(p.reporting_debit_minor, e.reporting_currency),
                    minor_to_decimal(p.reporting_credit_minor, e.reporting_currency),
                    e.reporting_currency,
                    e.customer_id,
                    e.invoice_id or "",
                    e.source_id,
                    e.moved_from.isoformat() if e.moved_from else "",
                )
            )
    return "".join(target.parts)
