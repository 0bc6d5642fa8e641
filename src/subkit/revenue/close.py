"""Period close: a month, once closed, is never rewritten.

Closing month M through :meth:`subkit.services.revenue.RevenueBooks.close` records a
:class:`RevenueClose` (one per close, stored like any entity, unique per month so two
closes of one month cannot both commit): the months it closes and the documents whose
entries it holds. The books are derived from the documents, so a document dated in a closed
month that is *not* among those held (a credit note back-dated after the close, say) has its
entries moved to the first day of the first open month (``JournalEntry.moved_from`` keeps
the date it would have had), with all its effects: the closed months keep exactly what
was reported.

Example:
    >>> from datetime import UTC, date, datetime
    >>> c = RevenueClose(id="revenue_close_2027-01", first=date(2027, 1, 1), through=date(2027, 1, 1),
    ...                  closed_at=datetime(2027, 2, 3, tzinfo=UTC), sources=("in_1",))
    >>> lock_of([c]).place("cn_late", date(2027, 1, 20))
    (datetime.date(2027, 2, 1), datetime.date(2027, 1, 20))
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import ClassVar

from pydantic import AwareDatetime, Field

from subkit.core.model import Entity
from subkit.revenue.books import Lock
from subkit.revenue.schedule import month_index

__all__ = ["RevenueClose", "close_id", "lock_of"]


class RevenueClose(Entity):
    """One period close: months ``first`` .. ``through`` (their first days), who closed them and when.

    ``sources`` are the documents (invoice, credit note, payment attempt and refund ids, and
    ``{invoice}:void`` / ``{invoice}:write_off``) whose entries the closed months hold;
    ``totals`` the closed months' movement per ``currency:account`` (debit positive).

    Example:
        >>> from datetime import UTC, datetime
        >>> RevenueClose(id="revenue_close_2027-01", first=date(2027, 1, 1), through=date(2027, 1, 1),
        ...              closed_at=datetime(2027, 2, 1, tzinfo=UTC)).kind
        'revenue_close'
    """

    kind: ClassVar[str] = "revenue_close"
    first: date
    through: date
    closed_at: AwareDatetime
    closed_by: str = ""
    sources: tuple[str, ...] = ()
    totals: dict[str, int] = Field(default_factory=dict)


def close_id(month: date) -> str:
    """The id of the close of ``month`` (one per month: a second close of it is a duplicate).

    Example:
        >>> close_id(date(2027, 1, 15))
        'revenue_close_2027-01'
    """
    return f"revenue_close_{month.isoformat()[:7]}"


def lock_of(closes: Iterable[RevenueClose]) -> Lock:
    """What all these closes pin, as a :class:`~subkit.revenue.books.Lock`.

    Example:
        >>> lock_of([]).closed_through is None
        True
    """
    through: int | None = None
    sources: set[str] = set()
    for c in closes:
        m = month_index(c.through)
        through = m if through is None else max(through, m)
        sources.update(c.sources)
    return Lock(through, frozenset(sources))
