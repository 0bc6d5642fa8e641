"""An in-memory store: the reference implementation of :class:`subkit.ports.Store`.

Transactional like a database: a unit of work buffers its writes and applies them
atomically at commit, after checking versions, unique keys and sequences against
what other units of work committed meanwhile (safe across threads). A unit of work
reads what was committed when it first reads an entity (as the SQL store's identity
map does); ``lock`` re-reads.

Lean at scale: an entity is kept as one plain tuple of atomic items
(:mod:`subkit.adapters.storage.memory_rows`), which CPython's cyclic garbage collector
stops tracking after its first collection, in containers it never walks
(:mod:`subkit.adapters.storage.memory_shelves`), so a full collection does not walk the book;
the outbox keeps only events not yet published (``mark_published`` drops them; an id is
deduplicated against the events still pending, at least once as the port promises).

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

import threading
from collections import deque
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar, cast

from subkit.adapters.storage import UnitOfWorkBase
from subkit.adapters.storage.lookups import computed_keys, indexed_value
from subkit.adapters.storage.memory_rows import RowCodec, plain, unplain
from subkit.adapters.storage.memory_shelves import DueIndex, Shelf
from subkit.adapters.storage.memory_usage import MemoryUsage, UsageTable
from subkit.adapters.storage.paging import USAGE, page_query, usage_page
from subkit.adapters.storage.rules import check_key, check_where, entity_json, event_json
from subkit.core.events import Event
from subkit.core.model import Entity, index_fields
from subkit.core.paging import Page
from subkit.errors import ConcurrencyError, DuplicateError, NotFoundError, ValidationError
from subkit.usage.event import UsageRow

__all__ = ["InMemoryStore", "MemorySnapshot"]

E = TypeVar("E", bound=Entity)
Row = tuple[Any, ...]
_NO_ROWS = Shelf()
#: The exact types a row may hold besides text and tuples; anything else is checked in full.
_ATOMIC_TYPES = frozenset({int, bool, Decimal, datetime, date})
_NO_INDEX = Shelf()
#: value -> the one id that has it, a tuple of a few ids, or a dict of many.
FieldIndex = Shelf  # of str | tuple[str, ...] | dict[str, None]


@dataclass(frozen=True, slots=True)
class MemorySnapshot:
    """Everything an :class:`InMemoryStore` committed (for bulk copies and benchmarks).

    Example:
        >>> InMemoryStore().snapshot().entities
        []
    """

    #: Every entity, kind by kind, each kind in insertion order.
    entities: list[Entity]
    claims: list[str]
    sequences: list[tuple[str, int]]
    #: Committed events not yet published, oldest first.
    pending_events: list[Event]


class InMemoryStore:
    """Entities as rows in dicts, with the same transactional guarantees as the SQL store."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._rows: dict[str, Shelf] = {}  # kind -> id -> row
        self._codecs: dict[str, RowCodec] = {}
        # kind -> ((field, row position), ...) of the fields with a value index
        self._indexed: dict[str, tuple[tuple[str, int], ...]] = {}
        self._index: dict[str, dict[str, Shelf]] = {}  # kind -> field -> FieldIndex
        # kind -> (due_at, id) in order; entries whose due_at changed are dropped lazily
        self._due: dict[str, DueIndex] = {}
        self._claims: dict[str, None] = {}  # a dict of atomic items is never tracked; a set always is
        self._sequences: dict[str, int] = {}
        self._outbox: dict[str, Row] = {}  # pending events by id, as plain tuples
        self._outbox_order: deque[str] = deque()
        # (kind, field) -> id -> its computed key (invoice numbers, e-mails...), for re-indexing
        self._lookup_keys: dict[tuple[str, str], dict[str, str | None]] = {}
        self._usage = UsageTable()  # usage events (memory_usage)

    # ------------------------------------------------------------------ rows
    def _codec(self, cls: type[Entity]) -> RowCodec:
        codec = self._codecs.get(cls.kind)
        if codec is None:
            with self._lock:
                codec = self._codecs.get(cls.kind)
                if codec is None:
                    codec = RowCodec(cls)
                    # due_at has the due heap; a value index of instants would hold one entry each
                    self._indexed[cls.kind] = tuple(
                        (f, codec.position[f]) for f in index_fields(cls) if f != "due_at"
                    )
                    self._codecs[cls.kind] = codec
        if codec.cls is not cls:
            raise ValidationError(
                f"kind {cls.kind!r} is stored as {codec.cls.__name__}, not {cls.__name__}", field="kind"
            )
        return codec

    def _rows_of(self, kind: str, entities: list[Entity]) -> list[tuple[Entity, Row]]:
        """Entities of one kind encoded as the rows they will be (under the lock), each checked storable.

        Nothing is written yet: a value no database can hold (a lone surrogate, NUL in an id or
        an indexed text) is refused here, before the commit changes anything.
        """
        codec = self._codecs[kind]
        encode = codec.row
        table = self._rows.get(kind, _NO_ROWS)
        seq = len(table)
        indexed = self._indexed[kind]
        gpos, checked, groups = codec.group, codec.checked, codec.groups
        out = []
        for ent in entities:
            old = table.get(ent.id)
            if old is None:
                row = encode(ent, seq)
                seq += 1
            else:
                row = encode(ent, old[-1])
            # The tuple of shared fields is checked once (rows share it), the rest each time.
            skip = None
            if gpos is not None:
                skip = row[gpos]
                if id(skip) not in checked:
                    if _storable(skip) and groups.get(skip) is skip:
                        checked.add(id(skip))
                    else:
                        skip = None
            if not _storable(row, skip):
                entity_json(ent)  # raises, naming the field; a row of other objects is checked in full
            for field, p in indexed:
                if isinstance(row[p], str) and "\x00" in row[p]:
                    check_key(row[p], field)  # PostgreSQL text cannot hold NUL: refused on every store
            out.append((ent, row))
        return out

    def _store(self, kind: str, entities: list[tuple[Entity, Row]]) -> None:
        """Write encoded entities of one kind (under the lock, checks done): rows, indexes, due heap."""
        codec = self._codecs[kind]
        table = self._rows.get(kind)
        if table is None:
            table = self._rows[kind] = Shelf()
        table.settle()
        index = self._index.setdefault(kind, {})
        indexed = [(index.setdefault(f, Shelf()), p) for f, p in self._indexed[kind]]
        for field, _ in indexed:
            field.settle()
        due_pos = codec.position.get("due_at")
        due_index = self._due.setdefault(kind, DueIndex()) if due_pos is not None else DueIndex()
        computed = []
        for name, compute in computed_keys(kind):
            key_index = index.setdefault(name, Shelf())
            key_index.settle()
            computed.append((compute, self._lookup_keys.setdefault((kind, name), {}), key_index))
        hot, cold, queue = table.hot, table.cold, table.queue
        for ent, row in entities:
            id = ent.id
            old = hot.get(id) or cold.get(id)  # rows are never empty
            for compute, keys, key_index in computed:
                new_key, old_key = compute(ent), keys.get(id)
                if old is None or new_key != old_key:
                    if old_key is not None:
                        _unindex(key_index, old_key, id)
                    if new_key is not None:
                        _index(key_index, new_key, id)
                    keys[id] = new_key
            if old is None:
                for field, p in indexed:
                    if row[p] is not None:
                        _index(field, row[p], id)
            else:
                for field, p in indexed:
                    new_v, old_v = row[p], old[p]
                    if old_v != new_v:
                        if old_v is not None:
                            _unindex(field, old_v, id)
                        if new_v is not None:
                            _index(field, new_v, id)
            if id not in hot:  # Shelf.__setitem__, inlined
                queue.append(id)
                table.added += 1
                if old is not None and id in cold:
                    del cold[id]
            hot[id] = row
            if due_pos is not None:
                due = row[due_pos]
                if due is not None and (old is None or old[due_pos] != due):
                    due_index.add(due, id)

    def _ids(self, kind: str, field: str, value: object) -> Collection[str]:
        """Ids whose indexed ``field`` equals ``value``, or is one of it when it is a list."""
        index = self._index.get(kind, {}).get(field, _NO_INDEX)
        if isinstance(value, list):
            merged: dict[str, None] = {}
            for v in value:
                merged.update(dict.fromkeys(_lookup(index, v)))
            return merged
        return _lookup(index, value)

    def _due_ids(self, kind: str, until: datetime, limit: int) -> list[str]:
        codec = self._codecs.get(kind)
        index = self._due.get(kind)
        if codec is None or index is None:
            return []
        table, pos = self._rows[kind], codec.position["due_at"]
        hot, cold = table.hot, table.cold

        def current(due: datetime, id: str) -> bool:
            row = hot.get(id) or cold.get(id)
            return row is not None and row[pos] == due

        return index.scan(until, limit, current)

    # ------------------------------------------------------------------ the port
    def begin(self) -> _MemoryUnitOfWork:
        """Start a unit of work."""
        return _MemoryUnitOfWork(self)

    def pending_events(self, limit: int = 100) -> Sequence[Event]:
        """Committed, unpublished events, oldest first."""
        with self._lock:
            box, order = self._outbox, self._outbox_order
            while order and order[0] not in box:
                order.popleft()
            rows = []
            for i in order:
                row = box.get(i)
                if row is not None:
                    rows.append(row)
                    if len(rows) >= limit:
                        break
        return [cast(Event, unplain(Event, r)) for r in rows]

    def mark_published(self, event_ids: Sequence[str]) -> None:
        """Mark events delivered: the store forgets them."""
        with self._lock:
            for i in event_ids:
                self._outbox.pop(i, None)

    def snapshot(self) -> MemorySnapshot:
        """A copy of everything committed (entities decoded, kind by kind, in insertion order)."""
        with self._lock:
            tables = [(self._codecs[k], list(t.values())) for k, t in self._rows.items()]
            claims = sorted(self._claims)
            sequences = sorted(self._sequences.items())
        return MemorySnapshot(
            entities=[codec.entity(r) for codec, rows in tables for r in sorted(rows, key=_seq)],
            claims=claims,
            sequences=sequences,
            pending_events=list(self.pending_events(len(self._outbox) + 1)),
        )


def _seq(row: Row) -> int:
    return cast(int, row[-1])


_SMALL = 8  # up to this many ids per value: a tuple (customer_id: a few invoices each), then a dict


def _index(field: FieldIndex, value: object, id: str) -> None:
    cur = field.get(value)
    if cur is None:
        field[value] = id
    elif isinstance(cur, str):
        if cur != id:
            field[value] = (cur, id)
    elif isinstance(cur, tuple):
        if id not in cur:
            field[value] = (*cur, id) if len(cur) < _SMALL else dict.fromkeys((*cur, id))
    else:
        cur[id] = None


def _unindex(field: FieldIndex, value: object, id: str) -> None:
    cur = field.get(value)
    if cur is None:
        return
    if isinstance(cur, str):
        if cur == id:
            del field[value]
    elif isinstance(cur, tuple):
        rest = tuple(i for i in cur if i != id)
        if not rest:
            del field[value]
        else:
            field[value] = rest[0] if len(rest) == 1 else rest
    else:
        cur.pop(id, None)
        if not cur:
            del field[value]


def _lookup(field: FieldIndex, value: object) -> Collection[str]:
    cur = field.get(value)
    if cur is None:
        return ()
    return (cur,) if isinstance(cur, str) else cur


def _has_none(value: object) -> bool:
    return isinstance(value, list) and None in value


def _storable(row: Row, skip: Row | None = None) -> bool:
    """Whether every item of a row is one a database can hold: atomic, its text valid Unicode.

    Text must encode to UTF-8 (no lone surrogate); an item that is not atomic (a row that kept
    an object as it is) answers ``False``, and the caller then checks the entity in full.
    One pass over the row and its nested tuples, without recursion (it runs on every write);
    the nested tuple ``skip`` (already checked) is passed over.
    """
    atomic, text, nested = _ATOMIC_TYPES, str, tuple
    stack = [row]
    while stack:
        for item in stack.pop():
            kind = type(item)
            if kind is text:
                if not item.isascii():
                    try:
                        item.encode("utf-8")
                    except UnicodeEncodeError:
                        return False
            elif kind is nested:
                if item is not skip:
                    stack.append(item)
            elif kind not in atomic and item is not None:
                return False
    return True


def _matches(actual: object, wanted: object) -> bool:
    return actual in wanted if isinstance(wanted, list) else actual == wanted


class _MemoryUnitOfWork(UnitOfWorkBase):
    def __init__(self, store: InMemoryStore) -> None:
        self._s = store
        # kind -> id -> the entity as this unit of work sees it: its own write, else the
        # committed one as it first read it
        self._view: dict[str, dict[str, Entity]] = {}
        # kind -> id -> the committed version its own write replaces (None: a new entity)
        self._base: dict[str, dict[str, int | None]] = {}
        self._claims: set[str] = set()
        self._seq: dict[str, int] = {}
        self._seq_base: dict[str, int] = {}
        self._events: list[tuple[str, Row]] = []  # (event id, its outbox row), encoded once at publish
        self._usage: dict[str, UsageRow] = {}  # usage events ingested, by id (memory_usage)
        self._done = False

    def _usage_repository(self) -> MemoryUsage:
        return MemoryUsage(self._s._usage, self._s._lock, self._usage, self._check_open)

    def page_usage(
        self, where: Mapping[str, object], *, after: str | None = None, limit: int = 10
    ) -> Page[UsageRow]:
        q = page_query(USAGE, where, after, limit)  # paging.py: the rules, then the page of the rows
        with self._s._lock:
            rows = [
                r
                for (s, _), found in self._s._usage.by_series.items()
                if s == q.where["subscription_id"]
                for r in found
            ]
        return usage_page([*rows, *self._usage.values()], q, None if after is None else self.usage.get(after))

    def _load(self, kind: str, id: str) -> Entity | None:
        """The committed entity, read now (and kept as this unit of work's view of it)."""
        table = self._s._rows.get(kind, _NO_ROWS)
        row = table.hot.get(id) or table.cold.get(id)
        if row is None:
            return None
        ent = self._s._codecs[kind].entity(row)
        view = self._view.get(kind)
        if view is None:
            view = self._view[kind] = {}
        view[id] = ent
        return ent

    def _current(self, kind: str, id: str) -> Entity | None:
        view = self._view.get(kind)
        if view is not None:
            found = view.get(id)
            if found is not None:
                return found
        return self._load(kind, id)

    def _own(self, kind: str, id: str) -> bool:
        bases = self._base.get(kind)
        return bases is not None and id in bases

    def get(self, kind: type[E], id: str) -> E:
        if self._done:
            self._check_open()
        view = self._view.get(kind.kind)
        found = view.get(id) if view is not None else None
        if found is None:
            found = self._load(kind.kind, id)
        if found is None:
            raise NotFoundError(f"no {kind.kind} with id {id!r}", field="id")
        return found  # type: ignore[return-value]

    def lock(self, kind: type[E], id: str, *, skip_locked: bool = False) -> E | None:
        self._check_open()
        if self._own(kind.kind, id):
            return self._view[kind.kind][id]  # type: ignore[return-value]
        return self._load(kind.kind, id)  # type: ignore[return-value]

    def get_many(self, kind: type[E], ids: Sequence[str]) -> dict[str, E]:
        self._check_open()
        k = kind.kind
        found = {i: self._current(k, i) for i in ids}
        return {i: e for i, e in found.items() if e is not None}  # type: ignore[misc]

    def find(self, kind: type[E], **where: object) -> list[E]:
        self._check_open()
        check_where(kind, where)
        k = kind.kind
        s = self._s
        codec = s._codecs.get(k)
        hits: list[tuple[int, Entity]] = []
        own = self._base.get(k, {})
        view = self._view.get(k, {})
        table = s._rows.get(k, _NO_ROWS)
        if codec is not None:
            indexed = {f for f, _ in s._indexed.get(k, ())}
            indexed.update(name for name, _ in computed_keys(k))
            # ``None`` is not indexed (most entities have no value): such a filter scans instead
            use = [f for f in where if f in indexed and where[f] is not None and not _has_none(where[f])]
            with s._lock:
                if use:
                    sets = sorted((s._ids(k, f, where[f]) for f in use), key=len)
                    rows = [
                        (i, table[i])
                        for i in sets[0]
                        if i not in own and i in table and all(i in other for other in sets[1:])
                    ]
                else:
                    rows = [(i, r) for i, r in table.items() if i not in own]
            raw = [(codec.position[f], v) for f, v in where.items() if f in codec.plain]
            if raw:
                rows = [(i, r) for i, r in rows if all(_matches(r[p], v) for p, v in raw)]
            for i, r in rows:
                ent = view.get(i)
                if ent is None or ent.version != r[codec.version]:
                    ent = codec.entity(r)
                hits.append((r[-1], ent))
        last = len(table)
        for wid in own:
            committed = table.get(wid)
            hits.append((committed[-1] if committed is not None else last, view[wid]))
        hits.sort(key=lambda h: h[0])
        return [
            e  # type: ignore[misc]
            for _, e in hits
            if all(_matches(indexed_value(e, f), v) for f, v in where.items())
        ]

    def add(self, entity: Entity) -> None:
        self._check_open()
        check_key(entity.id, "id")
        k = entity.kind
        self._s._codec(type(entity))
        if self._current(k, entity.id) is not None:
            raise DuplicateError(f"{k} {entity.id!r} already exists", field="id")
        self._view.setdefault(k, {})[entity.id] = entity
        self._base.setdefault(k, {})[entity.id] = None

    def update(self, entity: Entity) -> None:
        self._check_open()
        k, id = entity.kind, entity.id
        current = self._current(k, id)
        if current is None:
            raise NotFoundError(f"no {k} with id {id!r} to update", field="id")
        self._s._codec(type(entity))
        if entity.version != current.version + 1:
            raise ConcurrencyError(
                f"{k} {id!r} is at version {current.version}, "
                f"the write expected {entity.version - 1}; reload and retry"
            )
        bases = self._base.get(k)
        if bases is None:
            bases = self._base[k] = {}
        if id not in bases:
            bases[id] = current.version
        self._view[k][id] = entity

    def due(self, kind: type[E], until: datetime, limit: int) -> list[E]:
        self._check_open()
        check_where(kind, {"due_at": until})
        k = kind.kind
        own = self._base.get(k, {})
        with self._s._lock:
            ids = self._s._due_ids(k, until, limit + len(own))
        found = {i: self._current(k, i) for i in ids}
        for wid in own:
            found[wid] = self._view[k][wid]
        due = [
            e
            for e in found.values()
            if e is not None and (d := getattr(e, "due_at", None)) is not None and d <= until
        ]
        due.sort(key=lambda e: (getattr(e, "due_at"), e.id))  # noqa: B009
        return cast(list[E], due[:limit])

    def claim(self, key: str) -> None:
        self._check_open()
        check_key(key, "key")
        if key in self._claims or key in self._s._claims:
            raise DuplicateError(f"key {key!r} is already claimed", field="key")
        self._claims.add(key)

    def claimed(self, key: str) -> bool:
        return key in self._claims or key in self._s._claims

    def next_number(self, series: str) -> int:
        self._check_open()
        check_key(series, "series")
        if series not in self._seq:
            with self._s._lock:
                base = self._s._sequences.get(series, 0)
            self._seq_base[series] = base
            self._seq[series] = base
        self._seq[series] += 1
        return self._seq[series]

    def publish(self, event: Event) -> None:
        self._check_open()
        check_key(event.id, "event.id")
        row = plain(event)
        if not _storable(row):
            event_json(event)  # raises, naming what cannot be stored
        self._events.append((event.id, row))

    def commit(self) -> None:
        self._check_open()
        s = self._s
        with s._lock:
            for kind, bases in self._base.items():
                table = s._rows.get(kind, _NO_ROWS)
                version = s._codecs[kind].version
                for id, base in bases.items():
                    stored = table.get(id)
                    if base is None and stored is not None:
                        raise DuplicateError(f"{kind} {id!r} was created concurrently", field="id")
                    if base is not None and (stored is None or stored[version] != base):
                        raise ConcurrencyError(f"{kind} {id!r} changed concurrently; reload and retry")
            taken = self._claims & s._claims.keys()
            if taken:
                raise DuplicateError(f"key {sorted(taken)[0]!r} was claimed concurrently")
            for series, base in self._seq_base.items():
                if s._sequences.get(series, 0) != base:
                    raise ConcurrencyError(f"sequence {series!r} advanced concurrently; retry")
            usage = s._usage.check(self._usage) if self._usage else None
            rows = [
                (kind, s._rows_of(kind, [self._view[kind][id] for id in bases]))
                for kind, bases in self._base.items()
            ]
            for kind, encoded in rows:
                s._store(kind, encoded)
            s._claims.update(dict.fromkeys(self._claims))
            if usage:
                s._usage.apply(usage)
            s._sequences.update(self._seq)
            box = s._outbox
            for event_id, row in self._events:
                if event_id not in box:
                    box[event_id] = row
                    s._outbox_order.append(event_id)
        self._done = True
        # Closed, it reads nothing more: its view goes now, not when a billing run has relayed
        # the batch's events (kept that long, a batch's entities outlive a collection or two).
        self._view.clear()
        self._base.clear()
        self._events.clear()

    def rollback(self) -> None:
        self._base.clear()
        self._view.clear()
        self._usage.clear()
        self._done = True
