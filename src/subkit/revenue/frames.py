"""pandas DataFrames of the books, for analysts (only when pandas is installed).

Each helper imports pandas when called; without it, a :class:`~subkit.errors.SubkitError`
says how to install it. Amounts stay integers in minor units (no float near money).

Example:
    >>> from subkit.revenue.books import Books
    >>> list(revenue_frame(Books()).columns)[:4]
    ['month', 'on', 'obligation', 'invoice_id']
"""

from __future__ import annotations

from typing import Any

from subkit.errors import SubkitError
from subkit.revenue.books import Books, RevenueRow
from subkit.revenue.reports import Waterfall
from subkit.revenue.schedule import month_of

__all__ = ["journal_frame", "revenue_frame", "waterfall_frame"]


def _pandas() -> Any:
    try:
        import pandas  # type: ignore[import-untyped,unused-ignore]
    except ImportError:  # pragma: no cover - pandas is in the dev environment
        raise SubkitError("pandas is not installed: pip install 'subkit[analytics]'") from None
    return pandas


def revenue_frame(books: Books) -> Any:
    """One row per revenue row (``month`` as the month's first day).

    Example:
        >>> revenue_frame(Books()).empty
        True
    """
    pd = _pandas()
    rows = [(month_of(r.month), *r[1:10], month_of(r.booked_month), r.reversal) for r in books.revenue]
    return pd.DataFrame(rows, columns=list(RevenueRow._fields))


def journal_frame(books: Books) -> Any:
    """One row per posting: entry, date, kind, account, debit/credit in both currencies.

    Example:
        >>> list(journal_frame(Books()).columns)[:3]
        ['entry_id', 'on', 'kind']
    """
    pd = _pandas()
    cols = ["entry_id", "on", "kind", "account", "debit_minor", "credit_minor", "currency",
            "reporting_debit_minor", "reporting_credit_minor", "reporting_currency", "customer_id",
            "invoice_id", "source_id"]  # fmt: skip
    data = [
        (e.id, e.on, e.kind.value, p.account.value, *p[1:3], e.currency, *p[3:5], e.reporting_currency,
         e.customer_id, e.invoice_id, e.source_id)
        for e in books.entries
        for p in e.postings
    ]  # fmt: skip
    return pd.DataFrame(data, columns=cols)


def waterfall_frame(w: Waterfall) -> Any:
    """A waterfall as a table: a row per booking month, ``billed`` then a column per month.

    Example:
        >>> from datetime import date
        >>> waterfall_frame(Waterfall("USD", (date(2027, 1, 1),), {date(2027, 1, 1): (100, (40,))}, (40,)))
                    billed  2027-01
        2027-01-01     100       40
    """
    pd = _pandas()
    cols = ["billed", *(m.isoformat()[:7] for m in w.months)]
    data = [(billed, *cells) for billed, cells in w.rows.values()]
    return pd.DataFrame(data, index=list(w.rows), columns=cols)
