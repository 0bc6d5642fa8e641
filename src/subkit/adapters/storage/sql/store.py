"""The SQL store itself: opening (URL, path, engine or a host's connection), units of work, the outbox relay.

Example:
    >>> from subkit.adapters.storage.sql import SqlStore
    >>> with SqlStore("sqlite://") as store:
    ...     with store.begin() as uow:
    ...         uow.numbers.next("INV")
    1
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine

from subkit.adapters.storage.migrations import LATEST, SQLITE_BEGIN, migrate, schema_version
from subkit.adapters.storage.sql.engine import make_engine
from subkit.adapters.storage.sql.statements import BEGIN_IMMEDIATE, run, statements
from subkit.adapters.storage.sql.unit_of_work import SqlUnitOfWork
from subkit.core.events import Event
from subkit.errors import StateError

__all__ = ["SqlStore"]

_CHUNK = 500  # ids per statement in mark_published (well under every bind limit)


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
            self._q = statements(engine.dialect.name)
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
        self._q = statements(conn.dialect.name)
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
            rows = run(self._conn, self._q.pending, params).scalars().all()
        else:
            with self._connect() as conn:
                rows = run(conn, self._q.pending, params).scalars().all()
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
                run(conn, BEGIN_IMMEDIATE, {})
            self._mark(conn, ids)

    def _mark(self, conn: Connection, ids: list[str]) -> None:
        for i in range(0, len(ids), _CHUNK):
            run(conn, self._q.mark, {"ids": ids[i : i + _CHUNK]})


def _check_version(found: int) -> None:
    if found != LATEST:
        raise StateError(
            f"the database's subkit schema is at version {found}, this subkit needs {LATEST}; "
            "open the store with create=True or run subkit.adapters.storage.migrations.migrate()"
        )
