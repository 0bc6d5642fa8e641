"""Every statement :class:`~subkit.adapters.storage.sql.SqlStore` runs, and how values become rows.

The tables here are query-time shapes; the DDL lives in
:mod:`subkit.adapters.storage.migrations` (frozen steps). Statements are built once per
dialect (:func:`statements`), so SQLAlchemy compiles each one once.

Example:
    >>> q = statements("sqlite")
    >>> str(q.get).split()[:2]
    ['SELECT', 'subkit_entities.body']
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from enum import Enum
from functools import cache
from operator import attrgetter
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    CursorResult,
    Executable,
    Integer,
    MetaData,
    Table,
    Text,
    bindparam,
    false,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

from subkit.adapters.storage.lookups import EMAIL_FIELD, LOOKUP_FIELD, computed_keys, created_of
from subkit.adapters.storage.rules import INDEXED_ATTRIBUTES, check_key, event_json, serialize
from subkit.core.events import Event
from subkit.core.model import INDEX_FIELDS, Entity, index_fields
from subkit.errors import ConcurrencyError, NaiveDatetimeError, ValidationError

__all__ = [
    "BEGIN_IMMEDIATE",
    "INDEX_COLUMNS",
    "Statements",
    "claim_rows",
    "entity_row",
    "event_row",
    "find_statement",
    "index_tuple",
    "index_value",
    "micros",
    "run",
    "statements",
    "translate",
    "update_row",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

_md = MetaData()
ENTITIES = Table(
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
    Column(LOOKUP_FIELD, Text),  # [v3]
    Column(EMAIL_FIELD, Text),  # [v5] a customer's e-mail, lower-cased (customers by e-mail)
    Column("created", BigInteger),  # [v5] UTC epoch microseconds (pages sort on it; 0: not known)
    Column("currency", Text),  # [v5] (a filter of pages)
    Column("seq", BigInteger),
    implicit_returning=False,
)
CLAIMS = Table(
    "subkit_claims",
    _md,
    Column("key", Text, primary_key=True),
    Column("claimed_at", BigInteger),
    implicit_returning=False,
)
SEQUENCES = Table(
    "subkit_sequences",
    _md,
    Column("series", Text, primary_key=True),
    Column("value", BigInteger),
    implicit_returning=False,
)
OUTBOX = Table(
    "subkit_outbox",
    _md,
    Column("seq", BigInteger, primary_key=True),
    Column("id", Text),
    Column("body", Text),
    Column("published", Boolean),
    implicit_returning=False,
)

#: The entity table's index columns, in order: the indexed attributes, the computed keys, and
#: what pages sort and filter on (the creation time, the currency).
INDEX_COLUMNS: tuple[str, ...] = (*INDEXED_ATTRIBUTES, "created", "currency")
assert (*INDEX_FIELDS, LOOKUP_FIELD, EMAIL_FIELD, "created", "currency") == INDEX_COLUMNS


class Statements:
    """The statements of one dialect (``sqlite`` or ``postgresql``).

    Example:
        >>> Statements("postgresql").sqlite
        False
    """

    def __init__(self, dialect: str) -> None:
        if dialect not in ("sqlite", "postgresql"):
            raise ValidationError(
                f"SqlStore supports SQLite and PostgreSQL, not {dialect!r}", field="url_or_engine"
            )
        self.sqlite = dialect == "sqlite"
        ins = sqlite.insert if self.sqlite else postgresql.insert
        t = ENTITIES
        key = (t.c.kind == bindparam("kind")) & (t.c.id == bindparam("id"))
        self.get = select(t.c.body).where(key)
        self.lock = self.get if self.sqlite else self.get.with_for_update()
        self.lock_skip = self.get if self.sqlite else self.get.with_for_update(skip_locked=True)
        self.get_many = select(t.c.body).where(
            t.c.kind == bindparam("kind"), t.c.id.in_(bindparam("ids", expanding=True))
        )
        self.due = (
            select(t.c.body)
            .where(t.c.kind == bindparam("kind"), t.c.due_at <= bindparam("until"))
            .order_by(t.c.due_at, t.c.id)
            .limit(bindparam("limit"))
        )
        if not self.sqlite:
            self.due = self.due.with_for_update(skip_locked=True)
        # Insertion order on SQLite: rows are numbered from the table's last rowid. The rowid is
        # the table's b-tree key, so max(rowid) is one descent (O(log n)), where max(seq) (not
        # indexed) read the whole table at every commit. seq = rowid for every row this store
        # writes (the write lock is held, rows are never deleted), so the order is unchanged.
        self.last_rowid = text("SELECT coalesce(max(rowid), 0) FROM subkit_entities")
        # The flush's bulk writes bypass SQLAlchemy's parameter processing (building a parameter
        # dict per row cost more than the database): on SQLite the driver's executemany of plain
        # tuples (in-process, one prepared statement); on PostgreSQL one statement per table that
        # unnests one array per column (one round trip; executemany paid a Bind/Execute per row).
        self.bulk = not self.sqlite
        cols = ("kind", "id", "version", "body", *INDEX_COLUMNS)
        if self.sqlite:  # PostgreSQL fills seq from its identity column
            self.insert_rows = _values_sql("INSERT INTO subkit_entities", (*cols, "seq"))
            self.insert_claims = _values_sql("INSERT INTO subkit_claims", ("key", "claimed_at"))
            self.publish_rows = (
                "INSERT INTO subkit_outbox (id, body, published) VALUES (?, ?, 0) ON CONFLICT (id) DO NOTHING"
            )
        else:
            # ORDER BY the arrays' ordinality: rows get their identity (insertion order) in array order.
            self.insert_rows = (
                f"INSERT INTO subkit_entities ({', '.join(cols)}) {_unnest_sql(cols)} ORDER BY n"
            )
            self.insert_claims = (
                f"INSERT INTO subkit_claims (key, claimed_at) {_unnest_sql(('key', 'claimed_at'))}"
            )
            self.publish_rows = (
                "INSERT INTO subkit_outbox (id, body, published) "
                f"SELECT id, body, false FROM {_unnest_from(('id', 'body'))} ORDER BY n "
                "ON CONFLICT (id) DO NOTHING"
            )
        self._updates: dict[tuple[str, ...], str] = {}
        self.claimed = select(CLAIMS.c.key).where(CLAIMS.c.key == bindparam("key"))
        upsert = ins(SEQUENCES).values(series=bindparam("series"), value=1)
        self.next_number = upsert.on_conflict_do_update(
            index_elements=[SEQUENCES.c.series], set_={"value": SEQUENCES.c.value + 1}
        ).returning(SEQUENCES.c.value)
        self.set_number = (
            update(SEQUENCES)
            .where(SEQUENCES.c.series == bindparam("w_series"))
            .values(value=bindparam("w_value"))
        )
        self.pending = (
            select(OUTBOX.c.body)
            .where(OUTBOX.c.published == false())
            .order_by(OUTBOX.c.seq)
            .limit(bindparam("limit"))
        )
        self.mark = (
            update(OUTBOX).where(OUTBOX.c.id.in_(bindparam("ids", expanding=True))).values(published=True)
        )

    def update_rows(self, changed: tuple[str, ...]) -> str:
        """``UPDATE`` of the version, the body and the ``changed`` index columns (compare-and-set on version).

        Parameters: the version, the body, the changed columns' values, then kind, id and the
        version replaced.
        """
        sql = self._updates.get(changed)
        if sql is None:
            if self.sqlite:
                sets = ", ".join(f"{c} = ?" for c in ("version", "body", *changed))
                sql = f"UPDATE subkit_entities SET {sets} WHERE kind = ? AND id = ? AND version = ?"
            else:
                sets = ", ".join(f"{c} = u.{c}" for c in ("version", "body", *changed))
                source = _unnest_from(("version", "body", *changed, "kind", "id", "expected"))
                sql = (
                    f"UPDATE subkit_entities AS t SET {sets} FROM {source} "
                    "WHERE t.kind = u.kind AND t.id = u.id AND t.version = u.expected"
                )
            self._updates[changed] = sql
        return sql


# PostgreSQL types of the columns the flush writes in bulk (arrays of them are unnested).
_PG_TYPES = {
    "kind": "text",
    "id": "text",
    "version": "integer",
    "expected": "integer",
    "body": "text",
    "customer_id": "text",
    "subscription_id": "text",
    "status": "text",
    "due_at": "bigint",
    LOOKUP_FIELD: "text",
    EMAIL_FIELD: "text",
    "created": "bigint",
    "currency": "text",
    "key": "text",
    "claimed_at": "bigint",
}


def _values_sql(insert: str, cols: tuple[str, ...]) -> str:
    return f"{insert} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"


def _unnest_from(cols: tuple[str, ...]) -> str:
    """``unnest(%s::type[], ...) WITH ORDINALITY AS u(cols..., n)``: one array parameter per column."""
    arrays = ", ".join(f"%b::{_PG_TYPES[c]}[]" for c in cols)
    return f"unnest({arrays}) WITH ORDINALITY AS u({', '.join(cols)}, n)"


def _unnest_sql(cols: tuple[str, ...]) -> str:
    return f"SELECT {', '.join(cols)} FROM {_unnest_from(cols)}"


@cache
def statements(dialect: str) -> Statements:
    """The statements of ``dialect``, built once."""
    return Statements(dialect)


@cache
def find_statement(shape: tuple[tuple[str, str], ...]) -> Executable:
    """``find``'s query for one filter shape: each field compared by ``eq``, ``null`` or ``in``.

    Example:
        >>> "lookup_key =" in str(find_statement((("lookup_key", "eq"),)))
        True
    """
    t = ENTITIES
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


class _BeginImmediate:
    """Marker for ``BEGIN IMMEDIATE`` (sent with ``exec_driver_sql``, bypassing SQLAlchemy)."""


BEGIN_IMMEDIATE = _BeginImmediate()


def run(
    conn: Connection, stmt: Executable | _BeginImmediate, params: dict[str, Any] | list[dict[str, Any]]
) -> CursorResult[Any]:
    """Execute, turning lock timeouts, deadlocks and serialization failures into ``ConcurrencyError``."""
    try:
        if isinstance(stmt, _BeginImmediate):
            return conn.exec_driver_sql("BEGIN IMMEDIATE")
        return conn.execute(stmt, params)
    except DBAPIError as exc:
        raise translate(exc) from exc


_RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03"}  # serialization failure, deadlock, lock timeout


def translate(exc: DBAPIError) -> BaseException:
    """``ConcurrencyError`` for a transient conflict, else the original error."""
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate in _RETRYABLE_SQLSTATES:
        return ConcurrencyError(f"the database reported a conflict ({sqlstate}); retry the unit of work")
    message = str(orig).lower()
    if "database is locked" in message or "database is busy" in message:
        return ConcurrencyError("the SQLite database stayed locked by another writer; retry the unit of work")
    return exc


def micros(at: datetime) -> int:
    """UTC epoch microseconds of an aware datetime (exact integer arithmetic).

    Example:
        >>> micros(datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC))
        1000000
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise NaiveDatetimeError("naive datetime; pass a timezone-aware datetime (e.g. tzinfo=UTC)")
    return (at - _EPOCH) // _MICROSECOND


def index_value(value: object) -> object:
    """The column value of an indexed attribute (times as UTC epoch microseconds, enums as values)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return micros(value)
    if isinstance(value, Enum):
        value = value._value_  # what ``.value`` reads, without the enum property's lookup
    return value if isinstance(value, str) else str(value)


def index_tuple(entity: Entity, *, check: bool = True) -> tuple[Any, ...]:
    """The entity's index column values, in :data:`INDEX_COLUMNS` order (strings checked unless told).

    Example:
        >>> from subkit.customer.customer import Customer
        >>> index_tuple(Customer(id="cus_1", name="Ada", currency="EUR"))
        (None, None, None, None, None, None, 0, 'EUR')
    """
    values: list[object] = []
    for field, read in _index_readers(type(entity)):
        value = None if read is None else read(entity)
        if value is None:
            values.append(None)
        elif type(value) is str:
            if check:
                check_key(value, field)
            values.append(value)
        else:
            values.append(index_value(value))
    return tuple(values)


_READERS: dict[type[Entity], tuple[tuple[str, Any], ...]] = {}


def _index_readers(cls: type[Entity]) -> tuple[tuple[str, Any], ...]:
    """Per index column: how to read it from an entity of ``cls`` (``None``: the class has no such value)."""
    found = _READERS.get(cls)
    if found is None:
        readers: dict[str, Any] = {f: attrgetter(f) for f in index_fields(cls)}
        readers.update(computed_keys(cls.kind))
        readers["created"] = _created_reader(cls)
        if "currency" in cls.model_fields:
            readers["currency"] = attrgetter("currency")
        found = _READERS[cls] = tuple((f, readers.get(f)) for f in INDEX_COLUMNS)
    return found


def _created_reader(cls: type[Entity]) -> Any:
    """How to read ``created`` (:func:`~subkit.adapters.storage.lookups.created_of`): a plain
    attribute read when the class always has one (most kinds; 1 us less a row), else the rule."""
    name = "started_at" if cls.kind == "payment_attempt" else "created_at"
    field = cls.model_fields.get(name)
    if field is not None and field.is_required():
        return attrgetter(name)
    return created_of


def entity_row(entity: Entity) -> tuple[Any, ...]:
    """The entity table's values for ``entity``, in ``insert_rows`` order (without ``seq``).

    ``ValidationError`` if it cannot be stored (see :mod:`subkit.adapters.storage.rules`).
    """
    return (entity.kind, entity.id, entity.version, serialize(entity), *index_tuple(entity))


def update_row(entity: Entity, stored: Entity) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    """The index columns changed from ``stored`` to ``entity``, and the parameters of their ``UPDATE``.

    Only changed index columns are written: SQLite rewrites the entries of every index whose
    columns an ``UPDATE`` sets, changed or not (a subscription's renewal moves only ``due_at``).
    The attributes are compared as they are (a renewal shares most of them with the stored
    value, so mostly by identity); only the changed ones are converted and checked.
    """
    changed: list[str] = []
    values: list[object] = []
    for field, read in _index_readers(type(entity)):
        if read is None:
            continue
        value, was = read(entity), read(stored)
        if value is not was and value != was:  # compared as read: only what changed is converted
            changed.append(field)
            if value is None:
                values.append(None)
            elif type(value) is str:
                values.append(check_key(value, field))
            else:
                values.append(index_value(value))
    row = (entity.version, serialize(entity), *values, entity.kind, entity.id, stored.version)
    return tuple(changed), row


def event_row(event: Event) -> tuple[str, str]:
    """The outbox's values for ``event``; ``ValidationError`` if it cannot be stored."""
    return (event.id, event_json(event))


def claim_rows(keys: list[str]) -> list[tuple[str, int]]:
    """The claims table's values for ``keys`` (checked by ``claim``), stamped now."""
    now = time.time_ns() // 1000
    return [(k, now) for k in keys]
