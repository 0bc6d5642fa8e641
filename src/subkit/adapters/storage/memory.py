"""An in-memory store: the reference implementation of :class:`subkit.ports.Store`.

Transactional like a database: a unit of work buffers its writes and applies them
atomically at commit, after checking versions, unique keys and sequences against
what other units of work committed meanwhile (safe across threads).

Example:
    >>> from subkit.customer.customer import Customer
    >>> store = InMemoryStore()
    >>> with store.begin() as uow:
    ...     uow.add(Customer(id="cus_1", name="Ada", currency="EUR"))
    ...     uow.next_number("INV")
    1
    >>> with store.begin() as uow:
    ...     len(uow.find(Customer))
    1
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import TypeVar, cast

from subkit.adapters.storage import UnitOfWorkBase
from subkit.core.events import Event
from subkit.core.model import INDEX_FIELDS, Entity, index_fields
from subkit.errors import ConcurrencyError, DuplicateError, NotFoundError

__all__ = ["InMemoryStore"]

E = TypeVar("E", bound=Entity)


class InMemoryStore:
    """Entities in dicts, with the same transactional guarantees as the SQL store."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._data: dict[str, dict[str, Entity]] = {}
        self._claims: set[str] = set()
        self._sequences: dict[str, int] = {}
        self._outbox: list[Event] = []
        self._outbox_ids: set[str] = set()
        self._published: set[str] = set()
        # kind -> field -> value -> ids (ordered set); kind -> id -> insertion number
        self._index: dict[str, dict[str, dict[object, dict[str, None]]]] = {}
        self._order: dict[str, dict[str, int]] = {}
        # kind -> heap of (due_at, id); entries whose due_at changed are dropped lazily
        self._due: dict[str, list[tuple[datetime, str]]] = {}

    def _store(self, ent: Entity) -> None:
        kind, id = ent.kind, ent.id
        table = self._data.setdefault(kind, {})
        old = table.get(id)
        order = self._order.setdefault(kind, {})
        if id not in order:
            order[id] = len(order)
        index = self._index.setdefault(kind, {})
        new_vals, old_vals = vars(ent), vars(old) if old is not None else {}
        for f in index_fields(type(ent)):
            new_v, old_v = new_vals[f], old_vals.get(f)
            if old is not None and old_v == new_v:
                continue
            if old_v is not None:
                index.get(f, {}).get(old_v, {}).pop(id, None)
            if new_v is not None:
                index.setdefault(f, {}).setdefault(new_v, {})[id] = None
        table[id] = ent
        due = new_vals.get("due_at")
        if due is not None and old_vals.get("due_at") != due:
            heapq.heappush(self._due.setdefault(kind, []), (due, id))

    def _due_ids(self, kind: str, until: datetime, limit: int) -> list[str]:
        heap = self._due.get(kind, [])
        table = self._data.get(kind, {})
        valid: list[tuple[datetime, str]] = []
        seen: set[str] = set()
        while heap and len(valid) < limit and heap[0][0] <= until:
            entry = heapq.heappop(heap)
            cur = table.get(entry[1])
            if cur is not None and getattr(cur, "due_at", None) == entry[0] and entry[1] not in seen:
                seen.add(entry[1])
                valid.append(entry)
        for entry in valid:
            heapq.heappush(heap, entry)
        return [i for _, i in valid]

    def begin(self) -> _MemoryUnitOfWork:
        """Start a unit of work."""
        return _MemoryUnitOfWork(self)

    def pending_events(self, limit: int = 100) -> Sequence[Event]:
        """Committed, unpublished events, oldest first."""
        with self._lock:
            return [e for e in self._outbox if e.id not in self._published][:limit]

    def mark_published(self, event_ids: Sequence[str]) -> None:
        """Mark events delivered."""
        with self._lock:
            self._published.update(event_ids)


def _matching(index: dict[object, dict[str, None]], value: object) -> dict[str, None]:
    """Ids whose indexed value equals ``value``, or is one of it when it is a list."""
    if isinstance(value, list):
        merged: dict[str, None] = {}
        for v in value:
            merged.update(index.get(v, {}))
        return merged
    return index.get(value, {})


def _matches(actual: object, wanted: object) -> bool:
    return actual in wanted if isinstance(wanted, list) else actual == wanted


class _MemoryUnitOfWork(UnitOfWorkBase):
    def __init__(self, store: InMemoryStore) -> None:
        self._s = store
        # kind -> id -> (entity, committed version it replaces, or None when new)
        self._writes: dict[str, dict[str, tuple[Entity, int | None]]] = {}
        self._claims: set[str] = set()
        self._seq: dict[str, int] = {}
        self._seq_base: dict[str, int] = {}
        self._events: list[Event] = []
        self._done = False

    def _current(self, kind: str, id: str) -> Entity | None:
        w = self._writes.get(kind, {}).get(id)
        if w is not None:
            return w[0]
        return self._s._data.get(kind, {}).get(id)

    def get(self, kind: type[E], id: str) -> E:
        self._check_open()
        found = self._current(kind.kind, id)
        if found is None:
            raise NotFoundError(f"no {kind.kind} with id {id!r}", field="id")
        return cast(E, found)

    def lock(self, kind: type[E], id: str, *, skip_locked: bool = False) -> E | None:
        self._check_open()
        return cast(E | None, self._current(kind.kind, id))

    def get_many(self, kind: type[E], ids: Sequence[str]) -> dict[str, E]:
        self._check_open()
        found = {i: self._current(kind.kind, i) for i in ids}
        return {i: cast(E, e) for i, e in found.items() if e is not None}

    def find(self, kind: type[E], **where: object) -> list[E]:
        self._check_open()
        k = kind.kind
        s = self._s
        indexed = [f for f in where if f in INDEX_FIELDS]
        with s._lock:
            table = s._data.get(k, {})
            order = s._order.get(k, {})
            if indexed:
                idx = s._index.get(k, {})
                sets = sorted((_matching(idx.get(f, {}), where[f]) for f in indexed), key=len)
                ids = [i for i in sets[0] if all(i in other for other in sets[1:])]
                found = {i: table[i] for i in ids}
            else:
                found = dict(table)
        for wid, (ent, _) in self._writes.get(k, {}).items():
            found[wid] = ent
        items = [e for e in found.values() if all(_matches(getattr(e, f, None), v) for f, v in where.items())]
        last = len(order)
        items.sort(key=lambda e: order.get(e.id, last))
        return cast(list[E], items)

    def add(self, entity: Entity) -> None:
        self._check_open()
        if self._current(entity.kind, entity.id) is not None:
            raise DuplicateError(f"{entity.kind} {entity.id!r} already exists", field="id")
        self._writes.setdefault(entity.kind, {})[entity.id] = (entity, None)

    def update(self, entity: Entity) -> None:
        self._check_open()
        current = self._current(entity.kind, entity.id)
        if current is None:
            raise NotFoundError(f"no {entity.kind} with id {entity.id!r} to update", field="id")
        if entity.version != current.version + 1:
            raise ConcurrencyError(
                f"{entity.kind} {entity.id!r} is at version {current.version}, "
                f"the write expected {entity.version - 1}; reload and retry"
            )
        writes = self._writes.setdefault(entity.kind, {})
        prev = writes.get(entity.id)
        writes[entity.id] = (entity, prev[1] if prev else current.version)

    def due(self, kind: type[E], until: datetime, limit: int) -> list[E]:
        self._check_open()
        k = kind.kind
        own = self._writes.get(k, {})
        with self._s._lock:
            ids = self._s._due_ids(k, until, limit + len(own))
        found = {i: self._current(k, i) for i in ids}
        for wid, (ent, _) in own.items():
            found[wid] = ent
        due = [
            e
            for e in found.values()
            if e is not None and (d := getattr(e, "due_at", None)) is not None and d <= until
        ]
        due.sort(key=lambda e: (getattr(e, "due_at"), e.id))  # noqa: B009
        return cast(list[E], due[:limit])

    def claim(self, key: str) -> None:
        self._check_open()
        if self.claimed(key):
            raise DuplicateError(f"key {key!r} is already claimed", field="key")
        self._claims.add(key)

    def claimed(self, key: str) -> bool:
        return key in self._claims or key in self._s._claims

    def next_number(self, series: str) -> int:
        self._check_open()
        if series not in self._seq:
            with self._s._lock:
                base = self._s._sequences.get(series, 0)
            self._seq_base[series] = base
            self._seq[series] = base
        self._seq[series] += 1
        return self._seq[series]

    def publish(self, event: Event) -> None:
        self._check_open()
        self._events.append(event)

    def commit(self) -> None:
        self._check_open()
        s = self._s
        with s._lock:
            for kind, id, base in ((k, i, w[1]) for k, ws in self._writes.items() for i, w in ws.items()):
                stored = s._data.get(kind, {}).get(id)
                if base is None and stored is not None:
                    raise DuplicateError(f"{kind} {id!r} was created concurrently", field="id")
                if base is not None and (stored is None or stored.version != base):
                    raise ConcurrencyError(f"{kind} {id!r} changed concurrently; reload and retry")
            if self._claims & s._claims:
                raise DuplicateError(f"key {sorted(self._claims & s._claims)[0]!r} was claimed concurrently")
            for series, base in self._seq_base.items():
                if s._sequences.get(series, 0) != base:
                    raise ConcurrencyError(f"sequence {series!r} advanced concurrently; retry")
            for ws in self._writes.values():
                for ent, _ in ws.values():
                    s._store(ent)
            s._claims |= self._claims
            s._sequences.update(self._seq)
            for ev in self._events:
                if ev.id not in s._outbox_ids:
                    s._outbox_ids.add(ev.id)
                    s._outbox.append(ev)
        self._done = True

    def rollback(self) -> None:
        self._writes.clear()
        self._done = True
