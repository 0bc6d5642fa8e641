"""Versioned schema migrations for :class:`subkit.adapters.storage.sql.SqlStore`.

The schema's version lives in the one-row table ``subkit_schema``. :data:`MIGRATIONS`
is an ordered list of numbered steps; each step is a function that takes a
SQLAlchemy ``Connection`` and changes the schema from version ``n - 1`` to ``n``.
:func:`migrate` applies the missing steps, in one transaction, and records the new
version. Running it again is a no-op, so every process may call it at start-up.

Concurrency: the runner first reads the version without locking (the common case,
an up-to-date schema, costs one query). Only when steps are missing does it lock
and read again: ``BEGIN IMMEDIATE`` on SQLite (the database's write lock), a
transaction-scoped advisory lock on PostgreSQL (keyed on the current schema). Two
processes upgrading at once therefore run the steps once, one after the other, and
the loser sees the schema already current. Both dialects have transactional DDL, so
a step that fails leaves the previous version intact.

Why not Alembic: subkit is a library that a host embeds, often next to its own
Alembic (or Django, or hand-rolled) migrations. A second Alembic environment would
fight over ``alembic_version``, would add a dependency and a configuration to ship,
and would be a heavy tool for one small, fixed, generic schema (a document table and
four helper tables) on two dialects. Steps written as plain SQLAlchemy Core are
enough, and a host can call :func:`migrate` from inside its own migration tool (on
a ``Connection``: the steps then join the host's transaction).

Steps are frozen: each one declares the tables it creates itself instead of
sharing the store's query-time table objects, so editing the store can never
change what an old step does. A schema change is a new step at the end.

Example:
    >>> from sqlalchemy import create_engine
    >>> from sqlalchemy.pool import StaticPool
    >>> engine = create_engine("sqlite://", poolclass=StaticPool)
    >>> migrate(engine, target=1)
    1
    >>> migrate(engine)  # upgrades to the latest version
    5
    >>> migrate(engine)  # idempotent
    5
    >>> engine.dispose()
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Engine,
    Identity,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    Table,
    Text,
    bindparam,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB

from subkit.errors import StateError, ValidationError

__all__ = ["LATEST", "MIGRATIONS", "SQLITE_BEGIN", "Migration", "migrate", "schema_version"]

#: Execution option read by the ``begin`` hook that :func:`subkit.adapters.storage.sql.make_engine`
#: installs on SQLite engines: the ``BEGIN`` variant to emit (``"DEFERRED"``,
#: ``"IMMEDIATE"``, ``"EXCLUSIVE"``), or ``None`` to emit nothing because the code
#: using the connection issues its own ``BEGIN IMMEDIATE`` when it first writes.
SQLITE_BEGIN = "subkit_sqlite_begin"

SCHEMA_TABLE = "subkit_schema"


class Migration(NamedTuple):
    """One schema step: ``apply(conn)`` moves the schema from ``version - 1`` to ``version``."""

    version: int
    description: str
    apply: Callable[[Connection], None]


def _v1_tables(conn: Connection) -> None:
    """The entity document table, claims, sequences and the outbox."""
    pg = conn.dialect.name == "postgresql"
    md = MetaData()
    # A rowid alias on SQLite (INTEGER PRIMARY KEY), BIGSERIAL on PostgreSQL.
    serial_pk = BigInteger().with_variant(Integer(), "sqlite")
    # Insertion order. PostgreSQL: an identity column. SQLite: the store inserts
    # max(rowid) + 1 (the rowid's b-tree makes it O(log n)) under the write lock.
    seq = (
        Column("seq", BigInteger, Identity(), nullable=False)
        if pg
        else Column("seq", BigInteger, nullable=False)
    )
    Table(
        "subkit_entities",
        md,
        Column("kind", Text, primary_key=True),
        Column("id", Text, primary_key=True),
        Column("version", Integer, nullable=False),
        Column("body", Text, nullable=False),
        Column("customer_id", Text),
        Column("subscription_id", Text),
        Column("status", Text),
        Column("due_at", BigInteger),  # UTC epoch microseconds
        seq,
        Index("ix_subkit_entities_customer", "kind", "customer_id"),
        Index("ix_subkit_entities_subscription", "kind", "subscription_id"),
        Index("ix_subkit_entities_status", "kind", "status"),
        Index("ix_subkit_entities_due", "kind", "due_at", "id"),
    )
    Table(
        "subkit_claims",
        md,
        Column("key", Text, primary_key=True),
        Column("claimed_at", BigInteger, nullable=False),  # UTC epoch microseconds
    )
    Table(
        "subkit_sequences",
        md,
        Column("series", Text, primary_key=True),
        Column("value", BigInteger, nullable=False),
    )
    Table(
        "subkit_outbox",
        md,
        Column("seq", serial_pk, primary_key=True, autoincrement=True),
        Column("id", Text, nullable=False, unique=True),
        Column("body", Text, nullable=False),
        Column("published", Boolean, nullable=False),
    )
    md.create_all(conn)


def _v2_outbox_pending_index(conn: Connection) -> None:
    """Index the outbox relay's query (unpublished events, oldest first)."""
    outbox = Table("subkit_outbox", MetaData(), Column("published", Boolean), Column("seq", BigInteger))
    Index("ix_subkit_outbox_pending", outbox.c.published, outbox.c.seq).create(conn)


def _v3_lookup_key(conn: Connection) -> None:
    """The ``lookup_key`` column (invoice and credit-note numbers, bank-transfer references), indexed.

    Filled for the rows already there with this step's own copy of the rule (frozen: later
    changes to :mod:`subkit.adapters.storage.lookups` need a new step). The index is partial
    (``lookup_key IS NOT NULL``): most rows have no key and stay out of it.
    """
    conn.execute(text("ALTER TABLE subkit_entities ADD COLUMN lookup_key TEXT"))
    t = Table(
        "subkit_entities",
        MetaData(),
        Column("kind", Text),
        Column("id", Text),
        Column("body", Text),
        Column("lookup_key", Text),
    )
    Index(
        "ix_subkit_entities_lookup",
        t.c.kind,
        t.c.lookup_key,
        sqlite_where=t.c.lookup_key.isnot(None),
        postgresql_where=t.c.lookup_key.isnot(None),
    ).create(conn)
    rows = conn.execute(
        select(t.c.kind, t.c.id, t.c.body).where(t.c.kind.in_(("invoice", "credit_note", "payment_method")))
    )
    fill = (
        update(t)
        .where(t.c.kind == bindparam("k"), t.c.id == bindparam("i"))
        .values(lookup_key=bindparam("v"))
    )
    batch: list[dict[str, Any]] = []
    for kind, id, body in rows.all():
        key = _v3_key(kind, json.loads(body))
        if key is not None:
            batch.append({"k": kind, "i": id, "v": key})
        if len(batch) >= 1000:
            conn.execute(fill, batch)
            batch = []
    if batch:
        conn.execute(fill, batch)


def _v3_key(kind: str, body: dict[str, Any]) -> str | None:
    if kind in ("invoice", "credit_note"):
        number = body.get("number")
        return number.strip().casefold() if isinstance(number, str) else None
    details = body.get("details") or {}
    if details.get("type") == "bank_transfer" and isinstance(details.get("reference"), str):
        return str(details["reference"]).strip().casefold()
    return None


def _v4_usage(conn: Connection) -> None:
    """The usage events table (:mod:`subkit.adapters.storage.sql.usage`): the event id is its key.

    One row per event, plain columns: times as UTC epoch microseconds, the metric's number
    as exact integers (``units`` and ``nanos``, billionths), properties as JSON (``JSONB``
    on PostgreSQL), ``recorded`` (ingestion time) and ``batch`` (which ingestion wrote the
    row, to tell a duplicate from a row just written), ``late`` (1: the event's period had
    closed when it arrived). Indexed for a period's aggregation (subscription, metric, time),
    and the late events alone (a partial index on subscription, recorded). SQLite keeps
    it ``WITHOUT ROWID`` (the id is the table's own key: one b-tree less to write).
    """
    pg = conn.dialect.name == "postgresql"
    md = MetaData()
    props = JSONB() if pg else Text()
    Table(
        "subkit_usage",
        md,
        Column("id", Text, primary_key=True),
        Column("subscription_id", Text, nullable=False),
        Column("customer_id", Text, nullable=False),
        Column("metric", Text, nullable=False),
        Column("ts", BigInteger, nullable=False),
        Column("units", BigInteger, nullable=False),
        Column("nanos", BigInteger, nullable=False),
        Column("properties", props),
        Column("recorded", BigInteger, nullable=False),
        Column("late", SmallInteger, nullable=False),
        Column("batch", BigInteger, nullable=False),
        Index("ix_subkit_usage_series", "subscription_id", "metric", "ts", "units", "nanos"),
        sqlite_with_rowid=False,
    )
    md.create_all(conn)
    late = Table(
        "subkit_usage",
        MetaData(),
        Column("subscription_id", Text),
        Column("recorded", BigInteger),
        Column("late", SmallInteger),
    )
    # Partial: only late events (rare) are in it, so the usual insert writes one index less.
    Index(
        "ix_subkit_usage_late",
        late.c.subscription_id,
        late.c.recorded,
        sqlite_where=late.c.late == 1,
        postgresql_where=late.c.late == 1,
    ).create(conn)


def _v5_pages(conn: Connection) -> None:
    """Pages of lists and customers by e-mail: ``created``, ``currency`` and ``email_key`` columns.

    ``created`` is the creation time in UTC epoch microseconds (a payment attempt's start; 0 when
    an entity has none), ``email_key`` a customer's e-mail lower-cased. Filled for the rows
    already there with this step's own copy of the rules (frozen). The three single-purpose
    indexes of step 1 (kind and customer, subscription or status) become page indexes that end
    with (created, id): they serve ``find`` as before (same leading columns) and a page's order.
    On PostgreSQL the id is ordered bytewise (``COLLATE "C"``), as SQLite and Python order it.
    """
    pg = conn.dialect.name == "postgresql"
    for name, sql_type in (("email_key", "TEXT"), ("created", "BIGINT"), ("currency", "TEXT")):
        conn.execute(text(f"ALTER TABLE subkit_entities ADD COLUMN {name} {sql_type}"))
    t = Table(
        "subkit_entities",
        MetaData(),
        Column("kind", Text),
        Column("id", Text),
        Column("body", Text),
        Column("customer_id", Text),
        Column("subscription_id", Text),
        Column("status", Text),
        Column("email_key", Text),
        Column("created", BigInteger),
        Column("currency", Text),
    )
    fill = (
        update(t)
        .where(t.c.kind == bindparam("k"), t.c.id == bindparam("i"))
        .values(email_key=bindparam("e"), created=bindparam("c"), currency=bindparam("m"))
    )
    batch: list[dict[str, Any]] = []
    for kind, id, body in conn.execute(select(t.c.kind, t.c.id, t.c.body)).all():
        batch.append({"k": kind, "i": id, **_v5_values(kind, json.loads(body))})
        if len(batch) >= 1000:
            conn.execute(fill, batch)
            batch = []
    if batch:
        conn.execute(fill, batch)
    for old in ("customer", "subscription", "status"):
        conn.execute(text(f"DROP INDEX ix_subkit_entities_{old}"))
    by_id = t.c.id.collate("C") if pg else t.c.id
    Index("ix_subkit_entities_created", t.c.kind, t.c.created, by_id).create(conn)
    for page, column in (
        ("customer", t.c.customer_id),
        ("subscription", t.c.subscription_id),
        ("status", t.c.status),
    ):
        Index(f"ix_subkit_entities_{page}_page", t.c.kind, column, t.c.created, by_id).create(conn)
    Index(
        "ix_subkit_entities_email",
        t.c.kind,
        t.c.email_key,
        sqlite_where=t.c.email_key.isnot(None),
        postgresql_where=t.c.email_key.isnot(None),
    ).create(conn)


def _v5_values(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    at = body.get("started_at" if kind == "payment_attempt" else "created_at")
    created = 0
    if isinstance(at, str):
        when = datetime.fromisoformat(at)
        created = (when - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    email = body.get("email") if kind == "customer" else None
    currency = body.get("currency")
    return {
        "e": email.strip().casefold() if isinstance(email, str) and email else None,
        "c": created,
        "m": currency if isinstance(currency, str) else None,
    }


#: Every step, in order. Append only; never edit a released step.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "entities, claims, sequences and outbox tables", _v1_tables),
    Migration(2, "index on the outbox's pending events", _v2_outbox_pending_index),
    Migration(3, "lookup_key column and index (invoice numbers, transfer references)", _v3_lookup_key),
    Migration(4, "usage events table (unique event id; period and late-event indexes)", _v4_usage),
    Migration(5, "pages and e-mails: created, currency and email_key columns; page indexes", _v5_pages),
)

#: The schema version this code reads and writes.
LATEST = MIGRATIONS[-1].version


def schema_version(conn: Connection) -> int:
    """The version recorded in the database (0 when subkit's schema is absent).

    Example:
        >>> from sqlalchemy import create_engine
        >>> engine = create_engine("sqlite://")
        >>> with engine.connect() as conn:
        ...     schema_version(conn)
        0
        >>> engine.dispose()
    """
    if not inspect(conn).has_table(SCHEMA_TABLE):
        return 0
    value = conn.execute(text(f"SELECT max(version) FROM {SCHEMA_TABLE}")).scalar()
    return int(value or 0)


def migrate(bind: Engine | Connection, *, target: int | None = None) -> int:
    """Upgrade subkit's schema to ``target`` (default: :data:`LATEST`); returns the version.

    On an ``Engine`` the runner opens, commits and closes its own connection. On a
    ``Connection`` it works inside a SAVEPOINT and never commits: the upgrade becomes
    part of the caller's transaction. A database newer than this code raises
    :class:`~subkit.errors.StateError`.
    """
    goal = LATEST if target is None else target
    if not 0 <= goal <= LATEST:
        raise ValidationError(f"target must be between 0 and {LATEST}, got {goal}", field="target")
    if isinstance(bind, Connection):
        with bind.begin_nested():
            return _upgrade(bind, goal, lock=_lock_postgres)
    sqlite = bind.dialect.name == "sqlite"
    options = {SQLITE_BEGIN: None} if sqlite else {}
    with bind.connect().execution_options(**options) as conn, conn.begin():
        # On SQLite the read above runs outside any lock; the lock is the write lock.
        return _upgrade(conn, goal, lock=_lock_sqlite if sqlite else _lock_postgres)


def _lock_sqlite(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _lock_postgres(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(coalesce(current_schema(), '') || '.subkit_schema'))")
        )


def _upgrade(conn: Connection, goal: int, *, lock: Callable[[Connection], None]) -> int:
    current = schema_version(conn)
    _check_not_newer(current)
    if current >= goal:
        return current
    lock(conn)
    current = schema_version(conn)  # again, under the lock: another process may have upgraded
    _check_not_newer(current)
    if current >= goal:
        return current
    if current == 0:
        conn.execute(text(f"CREATE TABLE IF NOT EXISTS {SCHEMA_TABLE} (version INTEGER NOT NULL)"))
        conn.execute(text(f"DELETE FROM {SCHEMA_TABLE}"))
        conn.execute(text(f"INSERT INTO {SCHEMA_TABLE} (version) VALUES (0)"))
    for step in MIGRATIONS:
        if current < step.version <= goal:
            step.apply(conn)
            current = step.version
    conn.execute(text(f"UPDATE {SCHEMA_TABLE} SET version = :v"), {"v": current})
    return current


def _check_not_newer(current: int) -> None:
    if current > LATEST:
        raise StateError(
            f"the database's subkit schema is at version {current}, newer than this subkit "
            f"(version {LATEST}); upgrade subkit"
        )
