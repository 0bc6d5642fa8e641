"""One page of a list, and the rules every list follows (Stripe's cursor paging).

A list is ordered newest first: by creation time, then by id (both descending), a total
order every store serves from an index. ``limit`` is 1 to 100 (default 10). The cursor is
the id of the last object of the previous page (Stripe's ``starting_after``): the next
page holds what sorts after that object, so paging never repeats nor skips an object that
existed when it started, whatever is inserted meanwhile (new objects sort first, before
the pages already read).

Example:
    >>> page = Page(items=("cus_3", "cus_2"), has_more=True, next_cursor="cus_2")
    >>> list(page), len(page), page.has_more, page.next_cursor
    (['cus_3', 'cus_2'], 2, True, 'cus_2')
    >>> check_limit(0)
    Traceback (most recent call last):
    ...
    subkit.errors.ValidationError: [invalid] limit: limit must be an integer from 1 to 100, not 0
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from subkit.errors import ValidationError

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "Page", "check_limit"]

T = TypeVar("T")

#: A page's size when none is asked for (Stripe's default).
DEFAULT_LIMIT = 10
#: The largest page.
MAX_LIMIT = 100


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list: its ``items`` (newest first), ``has_more``, and the ``next_cursor``.

    ``next_cursor`` is the id of the last item when more follow (pass it as ``after=`` to
    read the next page), else ``None``. Iterating a page iterates its items.

    Example:
        >>> from datetime import datetime, UTC
        >>> from subkit.testing import InMemoryStore, TestClock
        >>> from subkit import BillingEngine
        >>> engine = BillingEngine(InMemoryStore(), TestClock(datetime(2027, 1, 1, tzinfo=UTC)))
        >>> for n in range(1, 4):
        ...     _ = engine.create_customer(id=f"cus_{n}", name=f"Customer {n}", currency="EUR")
        >>> first = engine.list_customers(limit=2)
        >>> [c.id for c in first], first.has_more, first.next_cursor
        (['cus_3', 'cus_2'], True, 'cus_2')
        >>> last = engine.list_customers(limit=2, after=first.next_cursor)
        >>> [c.id for c in last], last.has_more, last.next_cursor
        (['cus_1'], False, None)
    """

    items: tuple[T, ...]
    has_more: bool
    next_cursor: str | None

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    @classmethod
    def of(cls, found: Sequence[T], limit: int, id_of: Callable[[T], object] | None = None) -> Page[T]:
        """The page of ``found`` (up to ``limit + 1`` items, in order): the first ``limit``, and whether more.

        ``id_of`` reads an item's id (default: its ``id`` attribute).

        Example:
            >>> Page.of(["a", "b", "c"], 2, id_of=str)
            Page(items=('a', 'b'), has_more=True, next_cursor='b')
        """
        items = tuple(found[:limit])
        more = len(found) > limit
        last = None
        if more and items:
            last = str(id_of(items[-1]) if id_of is not None else getattr(items[-1], "id"))  # noqa: B009
        return cls(items, more, last)


def check_limit(limit: object) -> int:
    """``limit`` if it is an integer from 1 to :data:`MAX_LIMIT`, else ``ValidationError``.

    Example:
        >>> check_limit(100)
        100
    """
    if type(limit) is not int or not 1 <= limit <= MAX_LIMIT:
        raise ValidationError(f"limit must be an integer from 1 to {MAX_LIMIT}, not {limit!r}", field="limit")
    return limit
