"""Where the in-memory store keeps rows so the cyclic garbage collector never walks them.

A row (:mod:`subkit.adapters.storage.memory_rows`) is untracked by CPython after its first
collection or two, but the containers that hold the book are not: a dict holding a fresh
(tracked) row is tracked again and goes back to the youngest generation, a list is always
tracked, and a full collection walks every item of a tracked container. :class:`Shelf`
and :class:`DueIndex` keep the book's rows, indexes and due instants in containers CPython
leaves untracked, so a collection costs the same with ten thousand subscriptions or a
million.
"""

from __future__ import annotations

import gc
import itertools
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

__all__ = ["DueIndex", "Shelf"]


class Shelf:
    """A dict whose settled entries the cyclic garbage collector never walks.

    CPython leaves a dict untracked while it holds only atomic values and untracked
    tuples, and tracks it again (putting it back in the youngest generation, where every
    collection walks it) as soon as a value that may be tracked goes in. A fresh row is
    such a value until a collection or two has passed. So a write goes to ``hot``, a small
    dict; :meth:`settle` (at each commit) moves the entries whose values the collector has
    since untracked into ``cold``, which stays untracked however large it grows. It looks
    at entries oldest first, and at most as many as were written since the last settle
    plus 32, so its cost follows the writes even if entries stay tracked (the host
    disabled the collector, a value holds a model). Reads look in both dicts. Keys are
    unique across the two; values are never ``None``.

    Example:
        >>> shelf = Shelf()
        >>> shelf["a"] = ("row",)
        >>> _ = gc.collect()
        >>> shelf.settle(), shelf["a"], len(shelf), gc.is_tracked(shelf.cold)
        (None, ('row',), 1, False)
    """

    __slots__ = ("added", "cold", "hot", "queue")

    def __init__(self) -> None:
        self.hot: dict[Any, Any] = {}
        self.cold: dict[Any, Any] = {}
        self.queue: deque[Any] = deque()  # keys in hot, oldest first
        self.added = 0

    def get(self, key: Any) -> Any:
        """The value of ``key``, or ``None``."""
        found = self.hot.get(key)
        return found if found is not None else self.cold.get(key)

    def __getitem__(self, key: Any) -> Any:
        found = self.get(key)
        if found is None:
            raise KeyError(key)
        return found

    def __setitem__(self, key: Any, value: Any) -> None:
        hot = self.hot
        if key not in hot:
            self.queue.append(key)
            self.added += 1
            if key in self.cold:
                del self.cold[key]
        hot[key] = value

    def __delitem__(self, key: Any) -> None:
        if self.hot.pop(key, None) is None:
            del self.cold[key]

    def __contains__(self, key: Any) -> bool:
        return key in self.hot or key in self.cold

    def __len__(self) -> int:
        return len(self.hot) + len(self.cold)

    def __iter__(self) -> Iterator[Any]:
        return itertools.chain(self.cold, self.hot)

    def items(self) -> Iterator[tuple[Any, Any]]:
        """Every entry (settled ones first)."""
        return itertools.chain(self.cold.items(), self.hot.items())

    def values(self) -> Iterator[Any]:
        """Every value (settled ones first)."""
        return itertools.chain(self.cold.values(), self.hot.values())

    def settle(self) -> None:
        """Move entries whose values are untracked now into the untracked dict, oldest first."""
        hot, cold, queue = self.hot, self.cold, self.queue
        budget = min(len(queue), self.added + 32)
        self.added = 0
        for _ in range(budget):
            key = queue.popleft()
            value = hot.get(key)
            if value is None:
                continue  # deleted since
            if type(value) is not dict and not gc.is_tracked(value):
                cold[key] = value
                del hot[key]
            else:
                queue.append(key)  # not yet: look again later


_CHUNK = 256


class DueIndex:
    """``(due, id)`` entries in order, for "what is due first": a heap's job, in sorted chunks.

    A heap is one list of every entry, which the collector walks on each full collection.
    Here entries sit in sorted tuples of at most 256 (untracked once collected), found by
    bisecting the chunks' first entries: the collector walks one small list per 256
    entries. Entries are never updated in place: a new due adds an entry, and the old one,
    now stale, is dropped when a scan reaches it (``current`` says which are current).

    Example:
        >>> from datetime import UTC
        >>> idx = DueIndex()
        >>> t = datetime(2027, 1, 1, tzinfo=UTC)
        >>> for n, id in enumerate(["c", "a", "b"]):
        ...     idx.add(t.replace(day=n + 1), id)
        >>> idx.scan(t.replace(day=2), 10, lambda due, id: id != "c")
        ['a']
        >>> len(idx)  # "c" was stale: dropped
        2
    """

    __slots__ = ("chunks", "firsts")

    def __init__(self) -> None:
        self.chunks: list[tuple[tuple[datetime, str], ...]] = []
        self.firsts: list[tuple[datetime, str]] = []

    def __len__(self) -> int:
        return sum(map(len, self.chunks))

    def add(self, due: datetime, id: str) -> None:
        """Add the entry ``(due, id)``."""
        entry = (due, id)
        chunks, firsts = self.chunks, self.firsts
        if not chunks:
            chunks.append((entry,))
            firsts.append(entry)
            return
        i = max(bisect_right(firsts, entry) - 1, 0)
        chunk = chunks[i]
        j = bisect_right(chunk, entry)
        chunk = (*chunk[:j], entry, *chunk[j:])
        if len(chunk) > _CHUNK:
            half = len(chunk) // 2
            chunks[i : i + 1] = [chunk[:half], chunk[half:]]
            firsts[i : i + 1] = [chunk[0], chunk[half]]
        else:
            chunks[i] = chunk
            firsts[i] = chunk[0]

    def scan(self, until: datetime, limit: int, current: Callable[[datetime, str], bool]) -> list[str]:
        """Ids of the first ``limit`` current entries due at or before ``until``, in order.

        Stale entries met on the way (``current`` false) are dropped; current ones stay.
        """
        chunks, firsts = self.chunks, self.firsts
        found: list[str] = []
        seen: set[str] = set()
        i = 0
        while i < len(chunks) and len(found) < limit:
            chunk = chunks[i]
            kept: list[tuple[datetime, str]] = []
            stop = len(chunk)
            for n, entry in enumerate(chunk):
                if entry[0] > until or len(found) >= limit:
                    stop = n
                    break
                if entry[1] not in seen and current(*entry):
                    seen.add(entry[1])
                    found.append(entry[1])
                    kept.append(entry)
            if len(kept) < stop:  # some were stale
                rest = (*kept, *chunk[stop:])
                if rest:
                    chunks[i], firsts[i] = rest, rest[0]
                else:
                    del chunks[i], firsts[i]
                    continue
            if stop < len(chunk):
                break
            i += 1
        return found
