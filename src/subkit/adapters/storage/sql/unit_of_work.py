"""One transaction on a :class:`~subkit.adapters.storage.sql.SqlStore`: reads, buffered writes, one flush.

Example:
    >>> from subkit.adapters.storage.sql import SqlStore
    >>> from subkit.customer.customer import Customer
    >>> store = SqlStore("sqlite://")
    >>> with store.begin() as uow:
    ...     uow.customers.add(Customer(id="cus_1", name="Ada", currency="EUR"))
    >>> with store.begin() as uow:
    ...     type(uow).__name__, uow.customers.get("cus_1").name
    ('SqlUnitOfWork', 'Ada')
    >>> store.close()
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import CursorResult, Executable, NestedTransaction, RootTransaction
from sqlalchemy.exc import DBAPIError, IntegrityError

from subkit.adapters.storage import UnitOfWorkBase
from subkit.adapters.storage.lookups import indexed_value
from subkit.adapters.storage.paging import USAGE, page_query
from subkit.adapters.storage.rules import check_key, check_where, read_entity
from subkit.adapters.storage.sql.pages import entity_page, usage_rows_page
from subkit.adapters.storage.sql.statements import (
    BEGIN_IMMEDIATE,
    claim_rows,
    entity_row,
    event_row,
    find_statement,
    index_value,
    micros,
    run,
    translate,
    update_row,
)
from subkit.adapters.storage.sql.usage import SqlUsage
from subkit.core.events import Event
from subkit.core.model import Entity
from subkit.core.paging import Page
from subkit.errors import ConcurrencyError, DuplicateError, NotFoundError
from subkit.usage.event import UsageRow

if TYPE_CHECKING:
    from subkit.adapters.storage.sql.store import SqlStore

__all__ = ["SqlUnitOfWork"]

E = TypeVar("E", bound=Entity)
_CHUNK = 500  # ids per statement in get_many (well under every bind limit)


class SqlUnitOfWork(UnitOfWorkBase):
    """One transaction on a :class:`SqlStore`; see :class:`subkit.ports.UnitOfWork`.

    Reads go to the database once per entity (an identity map keeps what was read or
    written); writes are buffered and sent at commit, one ``executemany`` per table, so a
    billing batch costs a few round trips rather than a dozen per invoice. Every guard
    still holds: a taken id or claim key fails the commit with ``DuplicateError``, a stale
    version with ``ConcurrencyError``, a value that cannot be stored with ``ValidationError``,
    and the whole unit of work is rolled back. Keys taken within the unit of work itself are
    refused at once.
    """

    def __init__(self, store: SqlStore) -> None:
        self._q = store._q
        self._done = False
        self._writing = False
        self._tx: RootTransaction | NestedTransaction
        # (kind, id) -> entity as this unit of work sees it (read or written)
        self._seen: dict[tuple[str, str], Entity] = {}
        self._adds: dict[tuple[str, str], Entity] = {}
        self._updates: dict[tuple[str, str], tuple[Entity, Entity]] = {}  # entity, the stored one it replaces
        self._written: dict[str, dict[str, Entity]] = {}  # kind -> id -> own adds and updates, in order
        self._claims: list[str] = []
        self._claim_set: set[str] = set()
        self._events: dict[str, Event] = {}
        self._seq: dict[str, tuple[int, int]] = {}  # series -> (first value taken, last value taken)
        if store._conn is not None:
            self._conn, self._own = store._conn, False
            self._tx = self._conn.begin_nested()
            self._writing = True  # the host's transaction decides the locking
        else:
            self._conn, self._own = store._connect(), True
            try:
                self._tx = self._conn.begin()
            except BaseException:
                self._conn.close()
                raise

    def _usage_repository(self) -> SqlUsage:
        return SqlUsage(self)  # sql/usage.py: usage events (bulk ingestion, aggregation in SQL)

    # -- plumbing ----------------------------------------------------------------------
    def _write(self) -> None:
        """On SQLite, take the write lock before the first write (``BEGIN IMMEDIATE``)."""
        self._check_open()
        if not self._writing:
            if self._q.sqlite:
                run(self._conn, BEGIN_IMMEDIATE, {})
            self._writing = True

    def _exec(self, stmt: Executable, params: dict[str, Any] | list[dict[str, Any]]) -> CursorResult[Any]:
        return run(self._conn, stmt, params)

    def _many(self, sql: str, rows: list[tuple[Any, ...]], duplicate: str = "", field: str = "") -> int:
        """Write ``rows`` (the driver's ``executemany``, or one array per column on PostgreSQL).

        Returns the rows written; a unique key already taken becomes ``DuplicateError``.
        """
        try:
            if self._q.bulk:
                return self._conn.exec_driver_sql(
                    sql, tuple(list(c) for c in zip(*rows, strict=True))
                ).rowcount
            return self._conn.exec_driver_sql(sql, rows).rowcount
        except IntegrityError:
            if not duplicate:
                raise
            raise DuplicateError(duplicate, field=field) from None
        except DBAPIError as exc:
            raise translate(exc) from exc

    def _flush(self) -> None:
        """Send the buffered writes; raise (before the commit) if a guard refuses them."""
        self._send()
        for series, (first, last) in self._seq.items():
            if last != first:
                self._exec(self._q.set_number, {"w_series": series, "w_value": last})

    def _send(self) -> None:
        """Send the buffered entities, claims and events, then drop them: the transaction holds them."""
        q = self._q
        # Serialize first: a value that cannot be stored fails before anything is sent.
        adds = [entity_row(e) for e in self._adds.values()]
        updates: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}  # by the index columns they change
        for ent, stored in self._updates.values():
            changed, row = update_row(ent, stored)
            updates.setdefault(changed, []).append(row)
        events = [event_row(e) for e in self._events.values()]
        if adds:
            if q.sqlite:  # insertion order; the write lock is held, so nobody else numbers rows
                base = int(self._exec(q.last_rowid, {}).scalar_one())
                adds = [(*row, base + n) for n, row in enumerate(adds, start=1)]
            self._many(q.insert_rows, adds, "an entity added in this unit of work already exists", "id")
        for changed, rows in updates.items():
            done = self._many(q.update_rows(changed), rows)
            if done != len(rows):
                raise ConcurrencyError(
                    f"{len(rows) - done} of {len(rows)} entities changed since they were read; "
                    "reload and retry"
                )
        if self._claims:
            self._many(
                q.insert_claims,
                claim_rows(self._claims),
                "a key claimed in this unit of work was already taken",
                "key",
            )
        if events:
            self._many(q.publish_rows, events)
        self._adds.clear()
        self._updates.clear()
        self._claims.clear()
        self._events.clear()

    def commit(self) -> None:
        """Send the buffered writes and commit (or release the SAVEPOINT)."""
        self._check_open()
        ok = False
        try:
            if self._adds or self._updates or self._claims or self._events or self._seq:
                self._write()
                self._flush()
            try:
                self._tx.commit()
            except DBAPIError as exc:
                raise translate(exc) from exc
            ok = True
        finally:
            if not ok and self._tx.is_active:
                self._tx.rollback()
            self._finish()

    def rollback(self) -> None:
        """Undo everything written through this unit of work."""
        if self._done:
            return
        try:
            if self._tx.is_active:
                self._tx.rollback()
        finally:
            self._finish()

    def _finish(self) -> None:
        self._done = True
        if self._own:
            self._conn.close()

    def _load(self, kind: type[E], body: str) -> E:
        """Parse a row, unless this unit of work already holds (a newer view of) that entity."""
        ent = read_entity(kind, body)
        held = self._seen.get((kind.kind, ent.id))
        if held is not None:
            return cast(E, held)
        self._seen[(kind.kind, ent.id)] = ent
        return ent

    # -- reads -------------------------------------------------------------------------
    def get(self, kind: type[E], id: str) -> E:
        """The entity, or ``NotFoundError``."""
        self._check_open()
        held = self._seen.get((kind.kind, id))
        if held is not None:
            return cast(E, held)
        body = self._exec(self._q.get, {"kind": kind.kind, "id": id}).scalar_one_or_none()
        if body is None:
            raise NotFoundError(f"no {kind.kind} with id {id!r}", field="id")
        ent = read_entity(kind, body)
        self._seen[(kind.kind, id)] = ent
        return ent

    def lock(self, kind: type[E], id: str, *, skip_locked: bool = False) -> E | None:
        """Re-read the row and hold it until the end (``FOR UPDATE [SKIP LOCKED]`` on PostgreSQL).

        Buffered writes of this unit of work stay this unit of work's view of the entity.
        """
        self._write()
        stmt = self._q.lock_skip if skip_locked else self._q.lock
        body = self._exec(stmt, {"kind": kind.kind, "id": id}).scalar_one_or_none()
        key = (kind.kind, id)
        if id in self._written.get(kind.kind, ()):
            return cast(E, self._seen[key])
        if body is None:
            return None
        ent = read_entity(kind, body)
        self._seen[key] = ent
        return ent

    def get_many(self, kind: type[E], ids: Sequence[str]) -> dict[str, E]:
        """The entities of ``ids`` that exist, by id, in one query (the rest from the identity map)."""
        self._check_open()
        found: dict[str, E] = {}
        missing = []
        for i in dict.fromkeys(ids):
            held = self._seen.get((kind.kind, i))
            if held is not None:
                found[i] = cast(E, held)
            else:
                missing.append(i)
        for chunk in (missing[n : n + _CHUNK] for n in range(0, len(missing), _CHUNK)):
            rows = self._exec(self._q.get_many, {"kind": kind.kind, "ids": chunk}).scalars().all()
            for body in rows:
                ent = self._load(kind, body)
                found[ent.id] = ent
        return found

    def find(self, kind: type[E], **where: object) -> list[E]:
        """Entities whose indexed attributes equal ``where``, in insertion order."""
        self._check_open()
        check_where(kind, where)
        params: dict[str, Any] = {"kind": kind.kind}
        shape: list[tuple[str, str]] = []
        for field, value in sorted(where.items()):
            if isinstance(value, list):
                shape.append((field, "in"))
                params[f"w_{field}"] = [index_value(v) for v in value]
            else:
                shape.append((field, "null" if value is None else "eq"))
                if value is not None:
                    params[f"w_{field}"] = index_value(value)
        rows = self._exec(find_statement(tuple(shape)), params).scalars().all()
        found = [self._load(kind, body) for body in rows]
        own = self._written.get(kind.kind)
        if own:
            known = {e.id for e in found}
            found.extend(cast(E, e) for i, e in own.items() if i not in known)  # own writes may now match
        return [e for e in found if all(_matches(indexed_value(e, f), v) for f, v in where.items())]

    def page(
        self, kind: type[E], where: Mapping[str, object], *, after: str | None = None, limit: int = 10
    ) -> Page[E]:
        """One page of ``kind``, newest first, from an index (:mod:`~subkit.adapters.storage.sql.pages`)."""
        self._check_open()
        return entity_page(self, kind, page_query(kind, where, after, limit))

    def page_usage(
        self, where: Mapping[str, object], *, after: str | None = None, limit: int = 10
    ) -> Page[UsageRow]:
        """One page of a subscription's usage events, newest first."""
        self._check_open()
        return usage_rows_page(self, page_query(USAGE, where, after, limit))

    def due(self, kind: type[E], until: datetime, limit: int) -> list[E]:
        """Up to ``limit`` entities with ``due_at <= until``, earliest first, locked for this worker.

        PostgreSQL skips rows other workers hold (``FOR UPDATE SKIP LOCKED``); SQLite
        takes the database write lock, so workers run one after the other.
        """
        params = {"kind": kind.kind, "until": micros(until), "limit": limit}
        self._write()
        rows = self._exec(self._q.due, params).scalars().all()
        found = {e.id: e for e in (self._load(kind, body) for body in rows)}
        for ent in self._written.get(kind.kind, {}).values():
            found[ent.id] = cast(E, ent)
        due = [e for e in found.values() if (d := getattr(e, "due_at", None)) is not None and d <= until]
        due.sort(key=lambda e: (getattr(e, "due_at"), e.id))  # noqa: B009
        return due[:limit]

    def claimed(self, key: str) -> bool:
        """Whether ``key`` is claimed (committed, or earlier in this unit of work)."""
        self._check_open()
        return key in self._claim_set or self._exec(self._q.claimed, {"key": key}).first() is not None

    # -- writes ------------------------------------------------------------------------
    def add(self, entity: Entity) -> None:
        """Insert at commit; ``DuplicateError`` now if this unit of work knows the id, else at commit."""
        self._check_open()
        key = (entity.kind, check_key(entity.id, "id"))
        if key in self._seen:
            raise DuplicateError(f"{entity.kind} {entity.id!r} already exists", field="id")
        self._seen[key] = entity
        self._adds[key] = entity
        self._written.setdefault(entity.kind, {})[entity.id] = entity

    def update(self, entity: Entity) -> None:
        """Replace at commit; the stored version must be ``entity.version - 1`` (checked again at commit)."""
        self._check_open()
        key = (entity.kind, entity.id)
        current = self._seen.get(key)
        if current is None:
            current = self.get(type(entity), entity.id)
        if entity.version != current.version + 1:
            raise ConcurrencyError(
                f"{entity.kind} {entity.id!r} is at version {current.version}, "
                f"the write expected {entity.version - 1}; reload and retry"
            )
        self._seen[key] = entity
        self._written.setdefault(entity.kind, {})[entity.id] = entity
        if key in self._adds:
            self._adds[key] = entity
        elif key in self._updates:
            self._updates[key] = (entity, self._updates[key][1])
        else:
            self._updates[key] = (entity, current)

    def claim(self, key: str) -> None:
        """Record a unique key at commit; ``DuplicateError`` if it is taken."""
        self._check_open()
        check_key(key, "key")
        if key in self._claim_set:
            raise DuplicateError(f"key {key!r} is already claimed", field="key")
        self._claim_set.add(key)
        self._claims.append(key)

    def next_number(self, series: str) -> int:
        """Next value of a gap-free sequence (1, 2, 3...); a rollback gives it back.

        The first number of a series locks its row until the end of the unit of work, so
        concurrent writers take numbers one after the other. On PostgreSQL the writes buffered
        so far are sent first, outside that lock: other workers then wait for the series only
        while this unit of work numbers, sends its numbered rows and commits.
        """
        self._write()
        taken = self._seq.get(series)
        if taken is None:
            if self._q.bulk and (self._adds or self._updates or self._claims or self._events):
                self._send()
            value = int(self._exec(self._q.next_number, {"series": check_key(series, "series")}).scalar_one())
            self._seq[series] = (value, value)
            return value
        self._seq[series] = (taken[0], taken[1] + 1)
        return taken[1] + 1

    def publish(self, event: Event) -> None:
        """Append to the outbox at commit (an event id already there is ignored)."""
        self._check_open()
        self._events.setdefault(event.id, event)


def _matches(actual: object, wanted: object) -> bool:
    return actual in wanted if isinstance(wanted, list) else actual == wanted
