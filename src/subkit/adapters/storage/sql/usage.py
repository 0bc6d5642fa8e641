"""``uow.usage`` on the SQL store: bulk ingestion with the event id as a unique key, aggregation in SQL.

Ingestion takes a batch as columns (:class:`~subkit.usage.bulk.UsageBatch`, repeats within
it dropped first) and writes it in one statement, inside a SAVEPOINT. SQLite: the driver's
``executemany`` of ``INSERT OR IGNORE``, fed one plain tuple at a time. PostgreSQL: ``COPY``
straight into the table, and only when an id is already taken (the ``COPY`` fails on the
unique key and its own SAVEPOINT is rolled back) ``COPY`` into a temporary table, then one
``INSERT ... SELECT ... ON CONFLICT (id) DO NOTHING``. When fewer rows went in than were
sent, the rows holding those ids but written by another ingestion (another ``batch``) are
read back (PostgreSQL: one join with the staging table): the same content is a duplicate
(counted once, reported), other content is :class:`~subkit.errors.UsageConflictError` and
the SAVEPOINT drops the whole batch.

Aggregations are one ``GROUP BY`` each (``count``, ``sum``, ``count(DISTINCT ...)``, a
window for ``max`` and ``latest``); the numbers are exact integers (``units`` and
``nanos``), so no sum passes through a float. The weighted sum reads the level carried
in (one sum) and the period's changes grouped per instant, then
:func:`subkit.usage.aggregate.weighted` finishes it.

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.adapters.storage.sql import SqlStore
    >>> from subkit.catalog.metrics import BillableMetric
    >>> from subkit.usage.aggregate import UsageQuery
    >>> from subkit.usage.event import usage_row
    >>> store = SqlStore("sqlite://")
    >>> rows = [usage_row(f"e{i}", "sub_1", "cus_1", "calls", datetime(2027, 1, 5, tzinfo=UTC),
    ...                   {"quantity": i}, value_field="quantity") for i in range(1, 4)]
    >>> with store.begin() as uow:
    ...     uow.usage.ingest(rows)
    IngestResult(accepted=3, duplicates=(), quarantined=0)
    >>> q = UsageQuery.of("sub_1", BillableMetric(code="calls"), datetime(2027, 1, 1, tzinfo=UTC),
    ...                   datetime(2027, 2, 1, tzinfo=UTC))
    >>> with store.begin() as uow:
    ...     uow.usage.aggregate(q)
    {None: Decimal('6')}
    >>> store.close()
"""

from __future__ import annotations

import itertools
import json
import secrets
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import DBAPIError

from subkit.adapters.storage.sql.statements import translate
from subkit.catalog.metrics import Aggregation
from subkit.usage.aggregate import Group, UsageQuery, weighted
from subkit.usage.bulk import UsageBatch
from subkit.usage.event import IngestResult, UsageRow, conflict, value_of

if TYPE_CHECKING:
    from subkit.adapters.storage.sql.unit_of_work import SqlUnitOfWork

__all__ = ["COLUMNS", "SqlUsage"]

#: The stored columns, in :class:`~subkit.usage.event.UsageRow` order (then ``batch``).
COLUMNS = (
    "id",
    "subscription_id",
    "customer_id",
    "metric",
    "ts",
    "units",
    "nanos",
    "properties",
    "recorded",
    "late",
)
_COLS = ", ".join(COLUMNS)
_CHUNK = 500  # ids per statement when reading duplicates back


class SqlUsage:
    """``uow.usage`` of a :class:`~subkit.adapters.storage.sql.SqlUnitOfWork`."""

    __slots__ = ("_pg", "_uow")

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self._pg = not uow._q.sqlite

    # -- plumbing ----------------------------------------------------------------------
    def _p(self) -> str:
        return "%s" if self._pg else "?"

    def _rows(self, sql: str, params: Sequence[Any]) -> list[Any]:
        self._uow._check_open()
        try:
            return list(self._uow._conn.exec_driver_sql(sql, tuple(params)).fetchall())
        except DBAPIError as exc:
            raise translate(exc) from exc

    def _prop(self, key: str) -> tuple[str, str]:
        """SQL reading property ``key`` as text, and its parameter."""
        if self._pg:
            return "(properties ->> %s)", key
        return "json_extract(properties, ?)", '$."' + key + '"'

    # -- writes ------------------------------------------------------------------------
    def ingest(self, rows: Sequence[UsageRow]) -> IngestResult:
        """Insert a batch; duplicates are read back and reported, a conflict drops the batch."""
        fresh, again = (rows if isinstance(rows, UsageBatch) else UsageBatch.of(rows)).unique()
        if not fresh:
            return IngestResult(0, tuple(again))
        uow = self._uow
        uow._write()
        batch = secrets.randbits(62)
        conn = uow._conn
        savepoint = conn.begin_nested()
        try:
            inserted = self._copy(fresh, batch) if self._pg else self._executemany(fresh, batch)
            duplicates = list(again)
            if inserted < len(fresh):
                at = {id: n for n, id in enumerate(fresh.ids)}
                for stored in self._taken(fresh.ids, batch):
                    row = fresh[at[stored.id]]
                    if not stored.same_event(row):
                        raise conflict(stored, row)
                    duplicates.append(stored.id)
            savepoint.commit()
        except BaseException:
            if savepoint.is_active:
                savepoint.rollback()
            raise
        return IngestResult(inserted, tuple(duplicates))

    def _executemany(self, rows: UsageBatch, batch: int) -> int:
        # OR IGNORE: an id already stored is skipped (read back after, when fewer went in)
        sql = (
            f"INSERT OR IGNORE INTO subkit_usage ({_COLS}, batch) "
            f"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, {int(batch)})"
        )
        raw: Any = self._uow._conn.connection.driver_connection
        try:
            return int(raw.executemany(sql, rows.tuples()).rowcount)
        except DBAPIError as exc:  # pragma: no cover - the raw driver raises its own errors
            raise translate(exc) from exc

    def _copy(self, rows: UsageBatch, batch: int) -> int:
        from psycopg.errors import UniqueViolation  # PostgreSQL only: psycopg is its driver

        raw: Any = self._uow._conn.connection.driver_connection
        with raw.cursor() as cur:
            # Straight into the table first: when no id is taken (the usual case) that is all.
            cur.execute("SAVEPOINT subkit_usage_copy")
            try:
                with cur.copy(f"COPY subkit_usage ({_COLS}, batch) FROM STDIN") as copy:
                    write = copy.write_row
                    for row in zip(*rows.columns, itertools.repeat(batch)):
                        write(row)
            except UniqueViolation:  # some id is taken: through a staging table, skipping those
                cur.execute("ROLLBACK TO SAVEPOINT subkit_usage_copy")
            else:
                cur.execute("RELEASE SAVEPOINT subkit_usage_copy")
                return len(rows)
            cur.execute(
                "CREATE TEMP TABLE IF NOT EXISTS subkit_usage_in (id text, subscription_id text, "
                "customer_id text, metric text, ts bigint, units bigint, nanos bigint, properties jsonb, "
                "recorded bigint, late smallint) ON COMMIT DELETE ROWS"
            )
            cur.execute("TRUNCATE subkit_usage_in")
            with cur.copy(f"COPY subkit_usage_in ({_COLS}) FROM STDIN") as copy:
                write = copy.write_row
                for row in rows.tuples():
                    write(row)
            cur.execute(
                f"INSERT INTO subkit_usage ({_COLS}, batch) SELECT {_COLS}, %s FROM subkit_usage_in "
                "ON CONFLICT (id) DO NOTHING",
                (batch,),
            )
            return int(cur.rowcount)

    def _taken(self, ids: list[str], batch: int) -> list[UsageRow]:
        """The stored rows of ``ids`` that another ingestion wrote (PostgreSQL: a join with the
        staging table still holding the batch, no ids sent back)."""
        if self._pg:
            sql = (
                "SELECT u.id, u.subscription_id, u.customer_id, u.metric, u.ts, u.units, u.nanos, "
                "u.properties::text, u.recorded, u.late FROM subkit_usage u "
                "JOIN subkit_usage_in i ON u.id = i.id WHERE u.batch <> %s"
            )
            return [_row(r) for r in self._rows(sql, [batch])]
        p = self._p()
        found: list[UsageRow] = []
        for n in range(0, len(ids), _CHUNK):
            chunk = ids[n : n + _CHUNK]
            marks = ", ".join([p] * len(chunk))
            props = "properties::text" if self._pg else "properties"
            sql = (
                f"SELECT id, subscription_id, customer_id, metric, ts, units, nanos, {props}, recorded, late "
                f"FROM subkit_usage WHERE id IN ({marks}) AND batch <> {p}"
            )
            found.extend(_row(r) for r in self._rows(sql, [*chunk, batch]))
        return found

    # -- reads -------------------------------------------------------------------------
    def get(self, id: str) -> UsageRow | None:
        """The stored event ``id``, or ``None``."""
        props = "properties::text" if self._pg else "properties"
        sql = (
            f"SELECT id, subscription_id, customer_id, metric, ts, units, nanos, {props}, recorded, late "
            f"FROM subkit_usage WHERE id = {self._p()}"
        )
        found = self._rows(sql, [id])
        return _row(found[0]) if found else None

    def _where(
        self, q: UsageQuery, *, carry: bool = False, subs: Sequence[str] | None = None
    ) -> tuple[str, str, list[Any]]:
        """(group expression, WHERE clause, parameters) of ``q`` (``carry``: before the period instead;
        ``subs``: for these subscriptions instead of ``q``'s)."""
        p = self._p()
        params: list[Any] = []
        group = "NULL"
        if q.group_by is not None:
            group, key = self._prop(q.group_by)
            params.append(key)
        if subs is None:
            clauses = [f"subscription_id = {p}", f"metric = {p}"]
            params += [q.subscription_id, q.metric]
        else:
            clauses = [f"subscription_id IN ({', '.join([p] * len(subs))})", f"metric = {p}"]
            params += [*subs, q.metric]
        if carry:
            clauses.append(f"ts < {p}")
            params.append(q.start)
        else:
            clauses += [f"ts >= {p}", f"ts < {p}"]
            params += [q.start, q.end]
        for key, allowed in q.filters:
            expr, arg = self._prop(key)
            clauses.append(f"{expr} IN ({', '.join([p] * len(allowed))})")
            params += [arg, *allowed]
        return group, " AND ".join(clauses), params

    def aggregate(self, query: UsageQuery) -> dict[Group, Decimal]:
        """``query``'s quantity per group, computed by the database."""
        q = query
        group, where, params = self._where(q)
        agg = q.aggregation
        if agg == Aggregation.COUNT:
            sql = f"SELECT {group} AS g, count(*) FROM subkit_usage WHERE {where} GROUP BY 1"
            return {g: Decimal(c) for g, c in self._rows(sql, params)}
        if agg == Aggregation.SUM:
            sql = f"SELECT {group} AS g, sum(units), sum(nanos) FROM subkit_usage WHERE {where} GROUP BY 1"
            return {g: value_of(int(u), int(n)) for g, u, n in self._rows(sql, params)}
        if agg == Aggregation.UNIQUE_COUNT:
            expr, key = self._prop(q.field or "")
            sql = f"SELECT {group} AS g, count(DISTINCT {expr}) FROM subkit_usage WHERE {where} GROUP BY 1"
            # the field's parameter comes first in the SELECT list, after the group's
            args = [*params[: 1 if q.group_by else 0], key, *params[1 if q.group_by else 0 :]]
            return {g: Decimal(c) for g, c in self._rows(sql, args)}
        if agg in (Aggregation.MAX, Aggregation.LATEST):
            order = (
                "units DESC, nanos DESC"
                if agg == Aggregation.MAX
                else "ts DESC, recorded DESC, units DESC, nanos DESC"
            )
            sql = (
                f"SELECT g, units, nanos FROM (SELECT {group} AS g, units, nanos, "
                f"row_number() OVER (PARTITION BY {group} ORDER BY {order}) AS rn "
                f"FROM subkit_usage WHERE {where}) AS ranked WHERE rn = 1"
            )
            if q.group_by is not None:  # the group expression appears twice
                params = [params[0], *params]
            return {g: value_of(int(u), int(n)) for g, u, n in self._rows(sql, params)}
        # weighted sum: the level carried in, and the changes within the period per instant
        cgroup, cwhere, cparams = self._where(q, carry=True)
        carry_sql = (
            f"SELECT {cgroup} AS g, sum(units), sum(nanos) FROM subkit_usage WHERE {cwhere} GROUP BY 1"
        )
        carry = {g: (int(u), int(n)) for g, u, n in self._rows(carry_sql, cparams)}
        sql = (
            f"SELECT {group} AS g, ts, sum(units), sum(nanos) FROM subkit_usage WHERE {where} "
            "GROUP BY 1, 2 ORDER BY 2"
        )
        changes: dict[Group, list[tuple[int, int, int]]] = {}
        for g, ts, u, n in self._rows(sql, params):
            changes.setdefault(g, []).append((int(ts), int(u), int(n)))
        return weighted(carry, changes, q.start, q.end)

    def events(self, subscription_id: str, *, metric: str | None = None, limit: int = 1000) -> list[UsageRow]:
        """A subscription's events (of ``metric``), by timestamp then arrival, at most ``limit``."""
        p = self._p()
        props = "properties::text" if self._pg else "properties"
        where, params = f"subscription_id = {p}", [subscription_id]
        if metric is not None:
            where += f" AND metric = {p}"
            params.append(metric)
        sql = (
            f"SELECT id, subscription_id, customer_id, metric, ts, units, nanos, {props}, recorded, late "
            f"FROM subkit_usage WHERE {where} ORDER BY ts, recorded, id LIMIT {int(limit)}"
        )
        return [_row(r) for r in self._rows(sql, params)]

    def aggregate_many(self, queries: Sequence[UsageQuery]) -> list[dict[Group, Decimal]]:
        """Each query's answer, as :meth:`aggregate`; counts and sums of the same shape (metric,
        filters, groups, period) for many subscriptions in one ``GROUP BY subscription_id`` each."""
        out: list[dict[Group, Decimal] | None] = [None] * len(queries)
        shapes: dict[UsageQuery, list[int]] = {}
        for n, q in enumerate(queries):
            if q.aggregation in (Aggregation.COUNT, Aggregation.SUM):
                shapes.setdefault(q._replace(subscription_id=""), []).append(n)
            else:
                out[n] = self.aggregate(q)
        for shape, positions in shapes.items():
            by_sub: dict[str, list[int]] = {}
            for n in positions:
                by_sub.setdefault(queries[n].subscription_id, []).append(n)
            subs = list(by_sub)
            for n in positions:
                out[n] = {}
            for c in range(0, len(subs), _CHUNK):
                chunk = subs[c : c + _CHUNK]
                group, where, params = self._where(shape, subs=chunk)
                what = "count(*), 0" if shape.aggregation == Aggregation.COUNT else "sum(units), sum(nanos)"
                sql = (
                    f"SELECT subscription_id, {group} AS g, {what} FROM subkit_usage "
                    f"WHERE {where} GROUP BY 1, 2"
                )
                for sub_id, g, u, nn in self._rows(sql, params):
                    value = value_of(int(u), int(nn))
                    for n in by_sub[sub_id]:
                        out[n][g] = value  # type: ignore[index]  # set just above
        return [o or {} for o in out]

    def amounts(self, query: UsageQuery) -> dict[Group, list[Decimal]]:
        """Each event's number in the period, per group, in time order."""
        group, where, params = self._where(query)
        sql = f"SELECT {group} AS g, units, nanos FROM subkit_usage WHERE {where} ORDER BY ts, recorded, id"
        out: dict[Group, list[Decimal]] = {}
        for g, u, n in self._rows(sql, params):
            out.setdefault(g, []).append(value_of(int(u), int(n)))
        return out

    def late_span(self, subscription_id: str, before: int, recorded_since: int) -> tuple[int, int] | None:
        """Earliest and latest ``ts`` of events before ``before`` recorded since ``recorded_since``."""
        p = self._p()
        sql = (
            f"SELECT min(ts), max(ts) FROM subkit_usage WHERE subscription_id = {p} "
            f"AND late = 1 AND recorded >= {p} AND ts < {p}"
        )
        ((low, high),) = self._rows(sql, [subscription_id, recorded_since, before])
        return None if low is None else (int(low), int(high))


def _row(r: Sequence[Any]) -> UsageRow:
    props = r[7]
    if props is not None:  # PostgreSQL's jsonb text is not ours: write it back our way
        props = json.dumps(json.loads(props), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        if props == "{}":
            props = None
    return UsageRow(r[0], r[1], r[2], r[3], int(r[4]), int(r[5]), int(r[6]), props, int(r[8]), int(r[9]))
