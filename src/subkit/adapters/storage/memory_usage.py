"""The in-memory store's usage events: an index by id (the unique key), rows per subscription and metric.

A unit of work buffers what it ingests (:class:`MemoryUsage`); the commit checks the
buffer against what other units of work committed meanwhile (an id taken since with other
content refuses the whole commit) and appends it (:class:`UsageTable`). Aggregations run
on the plain rows (:func:`subkit.usage.aggregate.aggregate_rows`).

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.adapters.storage.memory import InMemoryStore
    >>> from subkit.usage.event import usage_row
    >>> row = usage_row("e1", "sub_1", "cus_1", "calls", datetime(2027, 1, 5, tzinfo=UTC), {"quantity": 3},
    ...                 value_field="quantity")
    >>> store = InMemoryStore()
    >>> with store.begin() as uow:
    ...     uow.usage.ingest([row])
    IngestResult(accepted=1, duplicates=(), quarantined=0)
    >>> with store.begin() as uow:
    ...     uow.usage.ingest([row]).duplicates
    ('e1',)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from subkit.usage.aggregate import Group, UsageQuery, aggregate_rows, amounts_of_rows
from subkit.usage.bulk import UsageBatch
from subkit.usage.event import IngestResult, UsageRow, conflict, dedupe

if TYPE_CHECKING:
    import threading

__all__ = ["MemoryUsage", "UsageTable"]


class UsageTable:
    """Committed usage rows: ``by_id`` (the unique key) and per (subscription, metric), in arrival order."""

    __slots__ = ("by_id", "by_series")

    def __init__(self) -> None:
        self.by_id: dict[str, UsageRow] = {}
        self.by_series: dict[tuple[str, str], list[UsageRow]] = {}

    def check(self, pending: dict[str, UsageRow]) -> list[UsageRow]:
        """The pending rows still new (under the store lock); an id since taken with other content raises."""
        fresh = []
        for id, row in pending.items():
            stored = self.by_id.get(id)
            if stored is None:
                fresh.append(row)
            elif not stored.same_event(row):
                raise conflict(stored, row)
        return fresh

    def apply(self, rows: list[UsageRow]) -> None:
        """Append rows already checked (under the store lock)."""
        by_id, series = self.by_id, self.by_series
        for row in rows:
            by_id[row.id] = row
            key = (row.subscription_id, row.metric)
            found = series.get(key)
            if found is None:
                series[key] = [row]
            else:
                found.append(row)


class MemoryUsage:
    """``uow.usage`` on the in-memory store (see :class:`subkit.ports.UsageRepository`)."""

    __slots__ = ("_check_open", "_lock", "_pending", "_table")

    def __init__(
        self,
        table: UsageTable,
        lock: threading.RLock,
        pending: dict[str, UsageRow],
        check_open: Callable[[], None],
    ) -> None:
        self._table, self._lock, self._pending, self._check_open = table, lock, pending, check_open

    def ingest(self, rows: Sequence[UsageRow]) -> IngestResult:
        """Buffer new rows for the commit; duplicates (committed or buffered) are reported."""
        self._check_open()
        committed = self._table.by_id
        if isinstance(rows, UsageBatch):
            fresh, again = rows.unique()
            with self._lock:
                taken = committed.keys() & fresh.ids or self._pending.keys() & fresh.ids
            if not taken:  # the usual case: every id is new (checked as sets, not one by one)
                self._pending.update(zip(fresh.ids, fresh, strict=True))
                return IngestResult(len(fresh), tuple(again))
            unique, again = dedupe(rows)
        else:
            unique, again = dedupe(rows)
        duplicates = list(again)
        new: dict[str, UsageRow] = {}
        with self._lock:
            for id, row in unique.items():
                stored = committed.get(id) or self._pending.get(id)
                if stored is None:
                    new[id] = row
                elif stored.same_event(row):
                    duplicates.append(id)
                else:
                    raise conflict(stored, row)
        self._pending.update(new)
        return IngestResult(len(new), tuple(duplicates))

    def get(self, id: str) -> UsageRow | None:
        """The event ``id`` (buffered here, or committed), or ``None``."""
        self._check_open()
        return self._pending.get(id) or self._table.by_id.get(id)

    def _rows(self, q: UsageQuery) -> list[UsageRow]:
        with self._lock:
            rows = list(self._table.by_series.get((q.subscription_id, q.metric), ()))
        rows.extend(r for r in self._pending.values() if r.subscription_id == q.subscription_id)
        return rows

    def aggregate(self, query: UsageQuery) -> dict[Group, Decimal]:
        """``query`` on the plain rows of its subscription and metric."""
        self._check_open()
        return aggregate_rows(self._rows(query), query)

    def events(self, subscription_id: str, *, metric: str | None = None, limit: int = 1000) -> list[UsageRow]:
        """A subscription's events (of ``metric``), by timestamp then arrival, at most ``limit``."""
        self._check_open()
        with self._lock:
            found = [
                r
                for (sub, m), rows in self._table.by_series.items()
                if sub == subscription_id and metric in (None, m)
                for r in rows
            ]
        found += [
            r
            for r in self._pending.values()
            if r.subscription_id == subscription_id and metric in (None, r.metric)
        ]
        return sorted(found, key=lambda r: (r.ts, r.recorded, r.id))[:limit]

    def aggregate_many(self, queries: Sequence[UsageQuery]) -> list[dict[Group, Decimal]]:
        """Each query's answer, as :meth:`aggregate`."""
        return [self.aggregate(q) for q in queries]

    def amounts(self, query: UsageQuery) -> dict[Group, list[Decimal]]:
        """Each event's number in the period, per group, in time order."""
        self._check_open()
        return amounts_of_rows(self._rows(query), query)

    def late_span(self, subscription_id: str, before: int, recorded_since: int) -> tuple[int, int] | None:
        """Earliest and latest ``ts`` of events before ``before`` recorded since ``recorded_since``."""
        self._check_open()
        with self._lock:
            series = [rows for (sub, _), rows in self._table.by_series.items() if sub == subscription_id]
            found = [
                r.ts
                for rows in series
                for r in rows
                if r.late and r.ts < before and r.recorded >= recorded_since
            ]
        found.extend(
            r.ts
            for r in self._pending.values()
            if r.subscription_id == subscription_id
            and r.late
            and r.ts < before
            and r.recorded >= recorded_since
        )
        return (min(found), max(found)) if found else None
