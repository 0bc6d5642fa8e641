"""Pages of lists on :class:`~subkit.adapters.storage.sql.SqlStore`, each served by an index.

An entity page is one keyset query on the entity table, newest first::

    SELECT body FROM subkit_entities
    WHERE kind = ? [AND customer_id = ? | subscription_id = ? | status = ?] [AND currency = ?]
      [AND created >= ? AND created < ?]
      [AND created <= :c AND (created < :c OR id < :id)]      -- after the cursor (c, id)
    ORDER BY created DESC, id DESC LIMIT :limit + 1

served by ``ix_subkit_entities_created`` (kind, created, id) or the page index of the
equality filter (kind, customer_id | subscription_id | status, created, id) (migration 5):
the database walks the index from the cursor and stops after ``limit + 1`` rows, never
sorting nor scanning the table. The cursor's own (created, id) is one primary-key read.
Writes this unit of work buffered for the kind are sent first, so a page sees them.

Usage events are paged on the usage table's (subscription_id, metric, ts...) index: a
subscription's events (of a metric), newest ``ts`` first, then id.

Example:
    >>> from subkit.adapters.storage.sql import SqlStore
    >>> from subkit.customer.customer import Customer
    >>> store = SqlStore("sqlite://")
    >>> with store.begin() as uow:
    ...     for n in (1, 2, 3):
    ...         uow.add(Customer(id=f"cus_{n}", name="Ada", currency="EUR"))
    >>> with store.begin() as uow:
    ...     [c.id for c in uow.customers.page(limit=2)], uow.customers.page(limit=2).next_cursor
    (['cus_3', 'cus_2'], 'cus_2')
    >>> store.close()
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import ColumnElement, or_, select

from subkit.adapters.storage.paging import PageQuery, usage_page
from subkit.adapters.storage.sql.statements import ENTITIES, micros
from subkit.adapters.storage.sql.usage import _row
from subkit.core.model import Entity
from subkit.core.paging import Page
from subkit.errors import NotFoundError

if TYPE_CHECKING:
    from subkit.adapters.storage.sql.unit_of_work import SqlUnitOfWork

__all__ = ["entity_page", "usage_rows_page"]

E = TypeVar("E", bound=Entity)


def entity_page(uow: SqlUnitOfWork, kind: type[E], q: PageQuery) -> Page[E]:
    """The page of ``q`` (checked by :func:`~subkit.adapters.storage.paging.page_query`), from an index."""
    if uow._written.get(kind.kind) and (uow._adds or uow._updates):
        uow._write()
        uow._send()  # buffered writes join the transaction, so the query sees them
    t = ENTITIES
    by_id: ColumnElement[Any] = t.c.id if uow._q.sqlite else t.c.id.collate("C")
    stmt = select(t.c.body).where(t.c.kind == kind.kind)
    for field, value in q.where.items():
        if field == "created_gte":
            stmt = stmt.where(t.c.created >= micros(value))  # type: ignore[arg-type]
        elif field == "created_lt":
            stmt = stmt.where(t.c.created < micros(value))  # type: ignore[arg-type]
        else:
            stmt = stmt.where(t.c[field] == value)
    if q.after is not None:
        cursor = uow._exec(
            select(t.c.created).where(t.c.kind == kind.kind, t.c.id == q.after), {}
        ).one_or_none()
        if cursor is None:
            raise NotFoundError(f"no {q.kind} {q.after!r} to page after", field="after")
        created = cursor[0]
        stmt = stmt.where(t.c.created <= created, or_(t.c.created < created, by_id < q.after))
    stmt = stmt.order_by(t.c.created.desc(), by_id.desc()).limit(q.limit + 1)
    rows = uow._exec(stmt, {}).scalars().all()
    return Page.of([uow._load(kind, body) for body in rows], q.limit)


def usage_rows_page(uow: SqlUnitOfWork, q: PageQuery) -> Page[Any]:
    """The page of a subscription's usage events of ``q``, newest first."""
    pg = not uow._q.sqlite
    p = "%s" if pg else "?"
    w = q.where
    where, params = [f"subscription_id = {p}"], [w["subscription_id"]]
    for field, sql in (("metric", "metric = "), ("timestamp_gte", "ts >= "), ("timestamp_lt", "ts < ")):
        if field in w:
            where.append(sql + p)
            params.append(w[field])
    by_id = 'id COLLATE "C"' if pg else "id"
    usage = uow.usage
    if q.after is not None:
        cursor = usage.get(q.after)
        if cursor is None:
            return usage_page((), q, None)  # raises NotFoundError, naming the cursor
        where.append(f"ts <= {p} AND (ts < {p} OR {by_id} < {p})")
        params += [cursor.ts, cursor.ts, cursor.id]
    props = "properties::text" if pg else "properties"
    sql = (
        f"SELECT id, subscription_id, customer_id, metric, ts, units, nanos, {props}, recorded, late "
        f"FROM subkit_usage WHERE {' AND '.join(where)} ORDER BY ts DESC, {by_id} DESC LIMIT {q.limit + 1}"
    )
    return Page.of([_row(r) for r in usage._rows(sql, params)], q.limit)  # type: ignore[attr-defined]
