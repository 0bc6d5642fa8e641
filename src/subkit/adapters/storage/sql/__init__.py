"""A SQL store on SQLAlchemy Core: SQLite (embedded default) and PostgreSQL (psycopg 3).

Entities are stored whole, as the JSON of ``model_dump_json()`` in one generic
document table (``subkit_entities``), with their indexed attributes
(:data:`subkit.core.model.INDEX_FIELDS`) and their lookup key
(:mod:`subkit.adapters.storage.lookups`) copied into indexed columns for ``find``,
``due`` and the repositories' lookups. Amounts are JSON strings, so money never passes
through a float; times in index columns are UTC epoch microseconds. The semantics are
those of the reference :class:`~subkit.adapters.storage.memory.InMemoryStore`, and
:class:`SqlStore` passes the same :class:`~subkit.testing.contracts.StoreContract`.

=====================  ==========================================================
module                 what it holds
=====================  ==========================================================
``sql.engine``         :func:`make_engine`: SQLite's WAL, pragmas, ``BEGIN``
``sql.statements``     the tables' query shapes, every statement, values to rows
``sql.unit_of_work``   :class:`SqlUnitOfWork`: identity map, buffered writes, one flush
``sql.store``          :class:`SqlStore`: opening, units of work, the outbox relay
=====================  ==========================================================

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

SQLite: file databases use WAL, ``synchronous = NORMAL`` and a 30 s ``busy_timeout``.
A unit of work reads without a transaction (like the memory store: reads see committed
data) until its first write (or ``due``), which starts ``BEGIN IMMEDIATE``: it takes the write lock
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

from subkit.adapters.storage.sql.engine import make_engine
from subkit.adapters.storage.sql.store import SqlStore
from subkit.adapters.storage.sql.unit_of_work import SqlUnitOfWork

__all__ = ["SqlStore", "SqlUnitOfWork", "make_engine"]
