"""A SQL store on SQLAlchemy Core: SQLite (embedded default) and PostgreSQL (psycopg 3).

Entities are stored whole, as the JSON of ``model_dump_json()`` in one generic
document table (``subkit_entities``), with their indexed attributes
(:data:`subkit.core.model.INDEX_FIELDS`) copied into columns for ``find`` and ``due``.
Amounts are JSON strings, so money never passes through a float; times in index
columns are UTC epoch microseconds. The semantics are those of the reference
:class:`~subkit.adapters.storage.memory.InMemoryStore`, and :class:`SqlStore` passes the same
:class:`~subkit.testing.contracts.StoreContract`.

Every unit of work is one database transaction on one connection:

* ``update`` is a compare-and-set on the ``version`` column: ``ConcurrencyError``
  when another transaction got there first.
* ``add``, ``claim`` and ``publish`` are ``INSERT ... ON CONFLICT DO NOTHING``: a
  taken key raises ``DuplicateError`` (``publish`` ignores it) and the transaction
  stays usable, on PostgreSQL too.
* ``next_number`` is an upsert ``RETURNING`` the new value: the row lock serializes
  writers of a series, and a rollback gives the number back (gap-free).
* ``due`` on PostgreSQL adds ``FOR UPDATE SKIP LOCKED``, so concurrent workers get
  disjoint rows.

SQLite: file databases use WAL and a 30 s ``busy_timeout``. A unit of work reads
without a transaction (like the memory store: reads see committed data) until its
first write (or ``due``), which starts ``BEGIN IMMEDIATE``: it takes the write lock
up front, so two writers queue instead of deadlocking on a read-to-write lock
upgrade. Every write is guarded (version compare-and-set, unique keys), so the
unlocked reads before it cannot cause a lost update.

Example:
    >>> from subkit.customer.customer import Customer
    >>> store = SqlStore("sqlite://")  # in memory; use a file path for real data
    >>> with store.begin() as uow:
    ...     uow.add(Customer(id="cus_1", name="Ada", currency="EUR"))
    ...     uow.next_number("INV")
    1
    >>> with store.begin() as uow:
    ...     uow.get(Customer, "cus_1").name
    'Ada'
    >>> store.close()
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from enum import Enum
from functools import cache
from types import TracebackType
from typing import Any, Self, TypeVar, cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    CursorResult,
    Engine,
    Executable,
    Integer,
    MetaData,
    NestedTransaction,
    RootTransaction,
    Table,
    Text,
    bindparam,
    create_engine,
    event,
    false,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

from subkit.adapters.storage import UnitOfWorkBase
from subkit.adapters.storage.migrations import LATEST, SQLITE_BEGIN, migrate, schema_version
from subkit.core.events import Event
from subkit.core.model import INDEX_FIELDS, Entity
from subkit.errors import (
    ConcurrencyError,
    DuplicateError,
    NaiveDatetimeError,
    NotFoundError,
    StateError,
    ValidationError,
)

__all__ = ["SqlStore", "SqlUnitOfWork", "make_engine"]

E = TypeVar("E", bound=Entity)

#: How long a SQLite writer waits for the write lock before ``ConcurrencyError``.
SQLITE_BUSY_TIMEOUT_MS = 30_000

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_CHUNK = 500  # ids per statement in mark_published (well under every bind limit)

# Query-time table shapes (the DDL lives in subkit.adapters.storage.migrations).
_md = MetaData()
_entities = Table(
    "subkit_entities",
    _md,
    Column("kind", Text, primary_key=True),
    Column("id", Text, primary_key=True),
    Column("version", Integer),
    Column("body", Text),
    Column("customer_id", Text),
    Column("subscription_id", Text),
    Column("status", Text),
    Column("due_at", BigInteger),
    Column("seq", BigInteger),
    implicit_returning=False,
)
_claims = Table(
    "subkit_claims",
    _md,
    Column("key", Text, primary_key=True),
    Column("claimed_at", BigInteger),
    implicit_returning=False,
)
_sequences = Table(
    "subkit_sequences",
    _md,
    Column("series", Text, primary_key=True),
    Column("value", BigInteger),
    implicit_returning=False,
)
_outbox = Table(
    "subkit_outbox",
    _md,
    Column("seq", BigInteger, primary_key=True),
    Column("id", Text),
    Column("body", Text),
    Column("published", Boolean),
    implicit_returning=False,
)

_ENTITY_COLUMNS = ("customer_id", "subscription_id", "status", "due_at")
assert _ENTITY_COLUMNS == INDEX_FIELDS, "subkit_entities columns must follow INDEX_FIELDS"


def make_engine(url_or_path: str | os.PathLike[str], **engine_kwargs: Any) -> Engine:
    """An ``Engine`` set up the way :class:`SqlStore` wants it; ``engine_kwargs`` go to ``create_engine``.

    A string without ``://`` (or a path object) is a SQLite file. SQLite engines get
    WAL (file databases), ``busy_timeout`` and SQLAlchemy's documented recipe for
    taking control of ``BEGIN`` from the ``sqlite3`` module, so that transactions,
    SAVEPOINTs and transactional DDL behave. A host transaction on such an engine
    emits ``BEGIN`` (deferred); for a write transaction prefer ``BEGIN IMMEDIATE``::

        conn = engine.connect().execution_options(subkit_sqlite_begin="IMMEDIATE")

    ``sqlite://`` (in memory) uses one shared connection (``StaticPool``): fine for
    examples and tests, not for concurrent threads.

    Example:
        >>> engine = make_engine("sqlite://")
        >>> with engine.begin() as conn:
        ...     conn.exec_driver_sql("SELECT 1").scalar()
        1
        >>> engine.dispose()
    """
    if isinstance(url_or_path, os.PathLike) or "://" not in url_or_path:
        url = make_url("sqlite://").set(database=os.fspath(url_or_path))
    else:
        url = make_url(url_or_path)
    if url.get_backend_name() != "sqlite":
        return create_engine(url, **engine_kwargs)
    memory = url.database in (None, "", ":memory:") and url.query.get("mode") != "memory"
    if memory:
        engine_kwargs.setdefault("poolclass", StaticPool)
        engine_kwargs.setdefault("connect_args", {}).setdefault("check_same_thread", False)
    engine = create_engine(url, **engine_kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, record: ConnectionPoolEntry) -> None:
        dbapi_conn.isolation_level = None  # sqlite3 must not emit BEGIN itself
        cur = dbapi_conn.cursor()
        try:
            cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            # 64 MiB of page cache instead of SQLite's 2 MiB: a billing run touches every row.
            cur.execute("PRAGMA cache_size = -65536")
            if not memory:
                _enable_wal(cur)
        finally:
            cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")
        if mode is None:
            return  # subkit's own unit of work: it sends BEGIN IMMEDIATE at its first write
        if mode not in ("DEFERRED", "IMMEDIATE", "EXCLUSIVE"):
            raise ValidationError(f"{SQLITE_BEGIN} must be DEFERRED, IMMEDIATE or EXCLUSIVE, not {mode!r}")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _enable_wal(cur: Any) -> None:
    """Switch a SQLite file to WAL (a persistent setting), retrying while others hold it.

    The switch needs the database to itself and does not wait on ``busy_timeout``,
    so processes opening a new database at the same moment retry here.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cur.execute("PRAGMA journal_mode")
            if str(cur.fetchone()[0]).lower() != "wal":
                cur.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class SqlStore:
    """A :class:`subkit.ports.Store` in a SQL database (SQLite or PostgreSQL).

    ``SqlStore(url_or_engine)`` takes a SQLAlchemy URL, a bare file path (SQLite), or
    an ``Engine`` the host owns (build it with :func:`make_engine` for SQLite). With
    ``create=True`` the schema is created or upgraded (:func:`~subkit.adapters.storage.migrations.migrate`);
    with ``create=False`` it must already be at the current version.
    :meth:`from_connection` joins a host's transaction instead.

    Example:
        >>> import tempfile, pathlib
        >>> from subkit.customer.customer import Customer
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     with SqlStore(str(pathlib.Path(tmp) / "books.sqlite")) as store:
        ...         with store.begin() as uow:
        ...             uow.add(Customer(id="cus_1", name="Ada", currency="EUR"))
        ...         with store.begin() as uow:
        ...             [c.id for c in uow.find(Customer)]
        ['cus_1']
    """

    def __init__(self, url_or_engine: str | os.PathLike[str] | Engine, *, create: bool = True) -> None:
        if isinstance(url_or_engine, Engine):
            engine, self._owns_engine = url_or_engine, False
        else:
            engine, self._owns_engine = make_engine(url_or_engine), True
        self._engine: Engine | None = engine
        self._conn: Connection | None = None
        try:
            self._q = _statements(engine.dialect.name)
            if create:
                migrate(engine)
            else:
                with engine.connect() as conn:
                    _check_version(schema_version(conn))
        except BaseException:
            self.close()
            raise

    @classmethod
    def from_connection(cls, conn: Connection, *, create: bool = True) -> SqlStore:
        """A store that works inside the host's transaction on ``conn``.

        Each unit of work is a SAVEPOINT (``conn.begin_nested()``): its own failure
        rolls back only its writes, and its success commits nothing; the host's
        commit or rollback decides for subkit's writes and its own rows alike. On
        SQLite, ``conn`` should come from :func:`make_engine` (``sqlite3``'s legacy
        transaction handling breaks SAVEPOINTs). Not thread-safe, like ``conn``.

        Example:
            >>> from subkit.customer.customer import Customer
            >>> engine = make_engine("sqlite://")
            >>> with engine.connect() as conn:
            ...     with conn.begin():
            ...         store = SqlStore.from_connection(conn)
            ...         with store.begin() as uow:
            ...             uow.add(Customer(id="cus_1", name="Ada", currency="EUR"))
            ...     with conn.begin():  # the host committed: the customer is there
            ...         with store.begin() as uow:
            ...             uow.get(Customer, "cus_1").name
            'Ada'
            >>> engine.dispose()
        """
        self = cls.__new__(cls)
        self._engine, self._owns_engine, self._conn = None, False, conn
        self._q = _statements(conn.dialect.name)
        if create:
            migrate(conn)
        else:
            _check_version(schema_version(conn))
        return self

    @property
    def engine(self) -> Engine | None:
        """The engine (``None`` for a store made with :meth:`from_connection`)."""
        return self._engine

    def close(self) -> None:
        """Dispose of the engine if this store created it (from a URL or path)."""
        if self._owns_engine and self._engine is not None:
            self._engine.dispose()
            self._owns_engine = False

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def begin(self) -> SqlUnitOfWork:
        """Start a unit of work (one transaction, or one SAVEPOINT in a host's transaction)."""
        return SqlUnitOfWork(self)

    def _connect(self) -> Connection:
        assert self._engine is not None
        if self._q.sqlite:
            return self._engine.connect().execution_options(**{SQLITE_BEGIN: None})
        return self._engine.connect()

    def pending_events(self, limit: int = 100) -> Sequence[Event]:
        """Committed, unpublished events, oldest first."""
        params = {"limit": limit}
        if self._conn is not None:
            rows = _run(self._conn, self._q.pending, params).scalars().all()
        else:
            with self._connect() as conn:
                rows = _run(conn, self._q.pending, params).scalars().all()
                conn.rollback()
        return [Event.model_validate_json(body) for body in rows]

    def mark_published(self, event_ids: Sequence[str]) -> None:
        """Mark events delivered (unknown ids are ignored)."""
        ids = list(event_ids)
        if not ids:
            return
        if self._conn is not None:
            with self._conn.begin_nested():
                self._mark(self._conn, ids)
            return
        with self._connect() as conn, conn.begin():
            if self._q.sqlite:
                _run(conn, _BEGIN_IMMEDIATE, {})
            self._mark(conn, ids)

    def _mark(self, conn: Connection, ids: list[str]) -> None:
        for i in range(0, len(ids), _CHUNK):
            _run(conn, self._q.mark, {"ids": ids[i : i + _CHUNK]})


class SqlUnitOfWork(UnitOfWorkBase):
    """One transaction on a :class:`SqlStore`; see :class:`subkit.ports.UnitOfWork`.

    Reads go to the database once per entity (an identity map keeps what was read or
    written); writes are buffered and sent at commit, one ``executemany`` per table, so a
    billing batch costs a few round trips rather than a dozen per invoice. Every guard
    still holds: a taken id or claim key fails the commit with ``DuplicateError``, a stale
    version with ``ConcurrencyError``, and the whole unit of work is rolled back. Keys taken
    within the unit of work itself are refused at once.
    """

    def __init__(self, store: SqlStore) -> None:
        self._q = store._q
        self._done = False
        self._writing = False
        self._tx: RootTransaction | NestedTransaction
        # (kind, id) -> entity as this unit of work sees it (read or written)
        self._seen: dict[tuple[str, str], Entity] = {}
        self._adds: dict[tuple[str, str], Entity] = {}
        self._updates: dict[tuple[str, str], tuple[Entity, int]] = {}  # entity, version it replaces
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

    # -- plumbing ----------------------------------------------------------------------
    def _write(self) -> None:
        """On SQLite, take the write lock before the first write (``BEGIN IMMEDIATE``)."""
        self._check_open()
        if not self._writing:
            if self._q.sqlite:
                _run(self._conn, _BEGIN_IMMEDIATE, {})
            self._writing = True

    def _exec(self, stmt: Executable, params: dict[str, Any] | list[dict[str, Any]]) -> CursorResult[Any]:
        return _run(self._conn, stmt, params)

    def _flush(self) -> None:
        """Send the buffered writes; raise (before the commit) if a guard refuses them."""
        if self._adds:
            rows = [_row(e) for e in self._adds.values()]
            if self._q.sqlite:  # insertion order; the write lock is held, so nobody else numbers rows
                base = int(self._exec(self._q.max_seq, {}).scalar_one())
                for n, row in enumerate(rows, start=1):
                    row["seq"] = base + n
            try:
                self._conn.execute(self._q.insert, rows)
            except IntegrityError:
                raise DuplicateError(
                    "an entity added in this unit of work already exists (created concurrently?)", field="id"
                ) from None
            except DBAPIError as exc:
                raise _translate(exc) from exc
        if self._updates:
            params = []
            for ent, base in self._updates.values():
                row = _row(ent)
                row.update(w_kind=ent.kind, w_id=ent.id, expected=base)
                params.append(row)
            done = self._exec(self._q.update, params).rowcount
            if done != len(params):
                raise ConcurrencyError(
                    f"{len(params) - done} of {len(params)} entities changed since they were read; "
                    "reload and retry"
                )
        if self._claims:
            now = time.time_ns() // 1000
            try:
                self._conn.execute(
                    self._q.insert_claim, [{"key": k, "claimed_at": now} for k in self._claims]
                )
            except IntegrityError:
                raise DuplicateError(
                    "a key claimed in this unit of work was already taken", field="key"
                ) from None
            except DBAPIError as exc:
                raise _translate(exc) from exc
        for series, (first, last) in self._seq.items():
            if last != first:
                self._exec(self._q.set_number, {"w_series": series, "w_value": last})
        if self._events:
            rows = [{"id": e.id, "body": e.model_dump_json()} for e in self._events.values()]
            self._exec(self._q.publish, rows)

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
                raise _translate(exc) from exc
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
        ent = kind.model_validate_json(body)
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
        ent = kind.model_validate_json(body)
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
        if key in self._adds or key in self._updates:
            return cast(E, self._seen[key])
        if body is None:
            return None
        ent = kind.model_validate_json(body)
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
        for chunk in (missing[n : n + 500] for n in range(0, len(missing), 500)):
            rows = self._exec(self._q.get_many, {"kind": kind.kind, "ids": chunk}).scalars().all()
            for body in rows:
                ent = self._load(kind, body)
                found[ent.id] = ent
        return found

    def find(self, kind: type[E], **where: object) -> list[E]:
        """Entities whose indexed attributes equal ``where``, in insertion order."""
        self._check_open()
        params: dict[str, Any] = {"kind": kind.kind}
        shape: list[tuple[str, str]] = []
        for field, value in sorted(where.items()):
            if field not in INDEX_FIELDS:
                raise ValidationError(
                    f"find() filters on indexed attributes only ({', '.join(INDEX_FIELDS)}), not {field!r}",
                    field=field,
                )
            if field == "due_at" and not isinstance(value, datetime | list | None):
                raise ValidationError("due_at must be compared with an aware datetime", field=field)
            if isinstance(value, list):
                shape.append((field, "in"))
                params[f"w_{field}"] = [_index_value(v) for v in value]
            else:
                shape.append((field, "null" if value is None else "eq"))
                if value is not None:
                    params[f"w_{field}"] = _index_value(value)
        rows = self._exec(_find_statement(tuple(shape)), params).scalars().all()
        found = [self._load(kind, body) for body in rows]
        own = self._written.get(kind.kind)
        if own:
            known = {e.id for e in found}
            found.extend(cast(E, e) for i, e in own.items() if i not in known)  # own writes may now match
        return [e for e in found if all(_matches(getattr(e, f, None), v) for f, v in where.items())]

    def due(self, kind: type[E], until: datetime, limit: int) -> list[E]:
        """Up to ``limit`` entities with ``due_at <= until``, earliest first, locked for this worker.

        PostgreSQL skips rows other workers hold (``FOR UPDATE SKIP LOCKED``); SQLite
        takes the database write lock, so workers run one after the other.
        """
        params = {"kind": kind.kind, "until": _micros(until), "limit": limit}
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
        key = (entity.kind, entity.id)
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
            self._updates[key] = (entity, current.version)

    def claim(self, key: str) -> None:
        """Record a unique key at commit; ``DuplicateError`` if it is taken."""
        self._check_open()
        if key in self._claim_set:
            raise DuplicateError(f"key {key!r} is already claimed", field="key")
        self._claim_set.add(key)
        self._claims.append(key)

    def next_number(self, series: str) -> int:
        """Next value of a gap-free sequence (1, 2, 3...); a rollback gives it back.

        The first number of a series locks its row until the end of the unit of work, so
        concurrent writers take numbers one after the other.
        """
        self._write()
        taken = self._seq.get(series)
        if taken is None:
            value = int(self._exec(self._q.next_number, {"series": series}).scalar_one())
            self._seq[series] = (value, value)
            return value
        self._seq[series] = (taken[0], taken[1] + 1)
        return taken[1] + 1

    def publish(self, event: Event) -> None:
        """Append to the outbox at commit (an event id already there is ignored)."""
        self._check_open()
        self._events.setdefault(event.id, event)


# -- helpers -----------------------------------------------------------------------------
class _Statements:
    """Every statement the store runs, built once per dialect (SQLAlchemy caches their SQL)."""

    def __init__(self, dialect: str) -> None:
        if dialect not in ("sqlite", "postgresql"):
            raise ValidationError(
                f"SqlStore supports SQLite and PostgreSQL, not {dialect!r}", field="url_or_engine"
            )
        self.sqlite = dialect == "sqlite"
        ins = sqlite.insert if self.sqlite else postgresql.insert
        t = _entities
        key = (t.c.kind == bindparam("kind")) & (t.c.id == bindparam("id"))
        self.get = select(t.c.body).where(key)
        self.lock = self.get if self.sqlite else self.get.with_for_update()
        self.lock_skip = self.get if self.sqlite else self.get.with_for_update(skip_locked=True)
        self.get_many = select(t.c.body).where(
            t.c.kind == bindparam("kind"), t.c.id.in_(bindparam("ids", expanding=True))
        )
        self.version = select(t.c.version).where(key)
        self.due = (
            select(t.c.body)
            .where(t.c.kind == bindparam("kind"), t.c.due_at <= bindparam("until"))
            .order_by(t.c.due_at, t.c.id)
            .limit(bindparam("limit"))
        )
        if not self.sqlite:
            self.due = self.due.with_for_update(skip_locked=True)
        values: dict[str, Any] = {c: bindparam(c) for c in ("kind", "id", "version", "body", *INDEX_FIELDS)}
        if self.sqlite:  # PostgreSQL fills seq from its identity column; SQLite gets it from the flush
            values["seq"] = bindparam("seq")
        self.max_seq = select(func.coalesce(func.max(t.c.seq), 0))
        self.update = (
            update(t)
            .where(t.c.kind == bindparam("w_kind"), t.c.id == bindparam("w_id"))
            .where(t.c.version == bindparam("expected"))
            .values({c: bindparam(c) for c in ("version", "body", *INDEX_FIELDS)})
        )
        self.insert = insert(t).values(values)  # a taken (kind, id) raises IntegrityError
        self.insert_claim = insert(_claims).values(key=bindparam("key"), claimed_at=bindparam("claimed_at"))
        self.claimed = select(_claims.c.key).where(_claims.c.key == bindparam("key"))
        upsert = ins(_sequences).values(series=bindparam("series"), value=1)
        self.next_number = upsert.on_conflict_do_update(
            index_elements=[_sequences.c.series], set_={"value": _sequences.c.value + 1}
        ).returning(_sequences.c.value)
        self.set_number = (
            update(_sequences)
            .where(_sequences.c.series == bindparam("w_series"))
            .values(value=bindparam("w_value"))
        )
        self.publish = (
            ins(_outbox)
            .values(id=bindparam("id"), body=bindparam("body"), published=False)
            .on_conflict_do_nothing(index_elements=[_outbox.c.id])
        )
        self.pending = (
            select(_outbox.c.body)
            .where(_outbox.c.published == false())
            .order_by(_outbox.c.seq)
            .limit(bindparam("limit"))
        )
        self.mark = (
            update(_outbox).where(_outbox.c.id.in_(bindparam("ids", expanding=True))).values(published=True)
        )


@cache
def _find_statement(shape: tuple[tuple[str, str], ...]) -> Executable:
    """``find``'s query for one filter shape: each field compared by ``eq``, ``null`` or ``in``."""
    t = _entities
    stmt = select(t.c.body).where(t.c.kind == bindparam("kind"))
    for field, op in shape:
        col = t.c[field]
        if op == "null":
            stmt = stmt.where(col.is_(None))
        elif op == "in":
            stmt = stmt.where(col.in_(bindparam(f"w_{field}", expanding=True)))
        else:
            stmt = stmt.where(col == bindparam(f"w_{field}"))
    return stmt.order_by(t.c.seq)


def _matches(actual: object, wanted: object) -> bool:
    return actual in wanted if isinstance(wanted, list) else actual == wanted


@cache
def _statements(dialect: str) -> _Statements:
    return _Statements(dialect)


class _BeginImmediate:
    """Marker for ``BEGIN IMMEDIATE`` (sent with ``exec_driver_sql``, bypassing SQLAlchemy)."""


_BEGIN_IMMEDIATE = _BeginImmediate()


def _run(
    conn: Connection, stmt: Executable | _BeginImmediate, params: dict[str, Any] | list[dict[str, Any]]
) -> CursorResult[Any]:
    """Execute, turning lock timeouts, deadlocks and serialization failures into ``ConcurrencyError``."""
    try:
        if isinstance(stmt, _BeginImmediate):
            return conn.exec_driver_sql("BEGIN IMMEDIATE")
        return conn.execute(stmt, params)
    except DBAPIError as exc:
        raise _translate(exc) from exc


_RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03"}  # serialization failure, deadlock, lock timeout


def _translate(exc: DBAPIError) -> BaseException:
    """``ConcurrencyError`` for a transient conflict, else the original error."""
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate in _RETRYABLE_SQLSTATES:
        return ConcurrencyError(f"the database reported a conflict ({sqlstate}); retry the unit of work")
    message = str(orig).lower()
    if "database is locked" in message or "database is busy" in message:
        return ConcurrencyError("the SQLite database stayed locked by another writer; retry the unit of work")
    return exc


def _check_version(found: int) -> None:
    if found != LATEST:
        raise StateError(
            f"the database's subkit schema is at version {found}, this subkit needs {LATEST}; "
            "open the store with create=True or run subkit.adapters.storage.migrations.migrate()"
        )


def _micros(at: datetime) -> int:
    """UTC epoch microseconds of an aware datetime (exact integer arithmetic)."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise NaiveDatetimeError("naive datetime; pass a timezone-aware datetime (e.g. tzinfo=UTC)")
    return (at - _EPOCH) // _MICROSECOND


def _index_value(value: object) -> object:
    """The column value of an indexed attribute."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return _micros(value)
    if isinstance(value, Enum):
        value = value.value
    return value if isinstance(value, str) else str(value)


def _row(entity: Entity) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(INDEX_FIELDS)
    for field, value in entity.index_values().items():
        row[field] = _index_value(value)
    row["kind"] = entity.kind
    row["id"] = entity.id
    row["version"] = entity.version
    row["body"] = entity.model_dump_json()
    return row
