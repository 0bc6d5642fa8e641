"""Engines the way :class:`~subkit.adapters.storage.sql.SqlStore` wants them (SQLite's pragmas and BEGIN).

Example:
    >>> engine = make_engine("sqlite://")
    >>> with engine.begin() as conn:
    ...     conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
    30000
    >>> engine.dispose()
"""

from __future__ import annotations

import os
import sqlite3
import time
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

from subkit.adapters.storage.migrations import SQLITE_BEGIN
from subkit.errors import ValidationError

__all__ = ["SQLITE_BUSY_TIMEOUT_MS", "SQLITE_MMAP_BYTES", "make_engine"]

#: How long a SQLite writer waits for the write lock before ``ConcurrencyError``.
SQLITE_BUSY_TIMEOUT_MS = 30_000
#: How much of a SQLite file is read through a memory map (``PRAGMA mmap_size``) instead of copies.
SQLITE_MMAP_BYTES = 256 * 2**20
_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")


def make_engine(
    url_or_path: str | os.PathLike[str], *, sqlite_synchronous: str = "NORMAL", **engine_kwargs: Any
) -> Engine:
    """An ``Engine`` set up the way :class:`SqlStore` wants it; ``engine_kwargs`` go to ``create_engine``.

    A string without ``://`` (or a path object) is a SQLite file. SQLite engines get
    WAL (file databases), ``busy_timeout``, a 64 MiB page cache, temporary tables in
    memory, a memory-mapped read path, ``synchronous`` (``NORMAL`` by default: in WAL a
    commit is not synced to disk, a checkpoint is; the database never corrupts, and a
    power cut or OS crash, not a crash of the process, may undo the last commits whole,
    numbers with their invoices; pass ``sqlite_synchronous="FULL"`` to sync every commit),
    and SQLAlchemy's documented recipe for
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
    synchronous = str(sqlite_synchronous).upper()
    if synchronous not in _SYNCHRONOUS:
        raise ValidationError(
            f"sqlite_synchronous must be one of {', '.join(_SYNCHRONOUS)}, not {sqlite_synchronous!r}",
            field="sqlite_synchronous",
        )
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
            cur.execute("PRAGMA temp_store = MEMORY")
            if not memory:
                _enable_wal(cur)
                cur.execute(f"PRAGMA mmap_size = {SQLITE_MMAP_BYTES}")
                cur.execute(f"PRAGMA synchronous = {synchronous}")
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
