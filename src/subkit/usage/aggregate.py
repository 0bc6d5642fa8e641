"""Aggregations of usage rows into a period's quantities, per group: the pure part every store shares.

A :class:`UsageQuery` says what to aggregate (one subscription's events of one metric in a
half-open period ``[start, end)``, filtered, grouped). SQL stores run it in the database
(``GROUP BY``) and finish the weighted sum with :func:`weighted`; the memory store runs
:func:`aggregate_rows` on its plain rows. Both answer ``{group: quantity}`` (the group is
``None`` for an ungrouped metric, and for events without the ``group_by`` property).

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.catalog.metrics import BillableMetric
    >>> from subkit.usage.event import UsageRow, micros
    >>> q = UsageQuery.of("sub_1", BillableMetric(code="calls", aggregation="count"),
    ...                   datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC))
    >>> jan9 = micros(datetime(2027, 1, 9, tzinfo=UTC))
    >>> rows = [UsageRow(f"e{i}", "sub_1", "c", "calls", jan9, 0, 0, None, 0) for i in range(3)]
    >>> aggregate_rows(rows, q)
    {None: Decimal('3')}
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from subkit.catalog.metrics import Aggregation, BillableMetric
from subkit.core.money import CONTEXT
from subkit.errors import InvalidPeriodError
from subkit.usage.event import UsageRow, micros, value_of

__all__ = ["WEIGHTED_PLACES", "Group", "UsageQuery", "aggregate_rows", "amounts_of_rows", "weighted"]

#: A weighted sum (an average level) is kept to 9 decimal places (ROUND_HALF_UP), like usage values.
WEIGHTED_PLACES = 9
_Q = Decimal(1).scaleb(-WEIGHTED_PLACES)
_ONE = Decimal(1)

#: A group's key: the ``group_by`` property's value, or ``None``.
Group = str | None


class UsageQuery(NamedTuple):
    """One metric's events of one subscription in ``[start, end)`` (UTC epoch microseconds).

    ``filters`` is a sorted tuple of (property, allowed values).

    Example:
        >>> from datetime import datetime, UTC
        >>> q = UsageQuery.of("sub_1", BillableMetric(code="gb", aggregation="max", field="gb"),
        ...                   datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC))
        >>> q.aggregation.value, q.end - q.start  # 31 days in microseconds
        ('max', 2678400000000)
    """

    subscription_id: str
    metric: str
    aggregation: Aggregation
    field: str | None
    filters: tuple[tuple[str, tuple[str, ...]], ...]
    group_by: str | None
    start: int
    end: int

    @classmethod
    def of(cls, subscription_id: str, metric: BillableMetric, start: datetime, end: datetime) -> UsageQuery:
        """The query of ``metric`` for ``subscription_id`` over ``[start, end)``."""
        s, e = micros(start), micros(end)
        if e <= s:
            raise InvalidPeriodError(f"usage period must end after it starts ({start} .. {end})", field="end")
        field = None if metric.aggregation == Aggregation.COUNT else metric.field
        filters = tuple(sorted((k, tuple(v)) for k, v in metric.filters.items()))
        return cls(subscription_id, metric.code, metric.aggregation, field, filters, metric.group_by, s, e)


def _props(row: UsageRow) -> dict[str, str]:
    return json.loads(row.properties) if row.properties else {}


def _selected(rows: Iterable[UsageRow], q: UsageQuery) -> Iterable[tuple[Group, UsageRow]]:
    """(group, row) for the rows of ``q``'s subscription and metric that pass its filters (any time)."""
    needs_props = bool(q.filters) or q.group_by is not None
    sub, metric = q.subscription_id, q.metric
    for row in rows:
        if row.subscription_id != sub or row.metric != metric:
            continue
        if not needs_props:
            yield None, row
            continue
        props = _props(row)
        if all(props.get(k) in allowed for k, allowed in q.filters):
            yield (props.get(q.group_by) if q.group_by else None), row


def aggregate_rows(rows: Iterable[UsageRow], q: UsageQuery) -> dict[Group, Decimal]:
    """``q`` computed on plain rows (the memory store's way; SQL stores compute the same in SQL).

    Example:
        >>> from subkit.usage.event import UsageRow
        >>> q = UsageQuery("s", "gb", Aggregation.MAX, "gb", (), None, 0, 100)
        >>> aggregate_rows([UsageRow("a", "s", "c", "gb", 5, 7, 0, None, 0),
        ...                 UsageRow("b", "s", "c", "gb", 9, 3, 0, None, 0)], q)
        {None: Decimal('7')}
    """
    agg, start, end = q.aggregation, q.start, q.end
    if agg == Aggregation.WEIGHTED_SUM:
        carry: dict[Group, tuple[int, int]] = {}
        changes: dict[Group, list[tuple[int, int, int]]] = {}
        for g, r in _selected(rows, q):
            if r.ts < start:
                u, n = carry.get(g, (0, 0))
                carry[g] = (u + r.units, n + r.nanos)
            elif r.ts < end:
                changes.setdefault(g, []).append((r.ts, r.units, r.nanos))
        return weighted(carry, changes, start, end)
    out: dict[Group, Decimal] = {}
    if agg == Aggregation.COUNT:
        counts: dict[Group, int] = {}
        for g, r in _selected(rows, q):
            if start <= r.ts < end:
                counts[g] = counts.get(g, 0) + 1
        return {g: Decimal(c) for g, c in counts.items()}
    if agg == Aggregation.UNIQUE_COUNT:
        seen: dict[Group, set[str | None]] = {}
        field = q.field or ""
        for g, r in _selected(rows, q):
            if start <= r.ts < end:
                value = _props(r).get(field)
                if value is not None:
                    seen.setdefault(g, set()).add(value)
                else:
                    seen.setdefault(g, set())
        return {g: Decimal(len(v)) for g, v in seen.items()}
    if agg == Aggregation.SUM:
        sums: dict[Group, tuple[int, int]] = {}
        for g, r in _selected(rows, q):
            if start <= r.ts < end:
                u, n = sums.get(g, (0, 0))
                sums[g] = (u + r.units, n + r.nanos)
        return {g: value_of(u, n) for g, (u, n) in sums.items()}
    best: dict[Group, tuple[int, ...]] = {}
    key: tuple[int, ...]
    for g, r in _selected(rows, q):
        if start <= r.ts < end:
            # MAX: the largest (units, nanos); LATEST: the last by time, then by arrival
            key = (r.units, r.nanos) if agg == Aggregation.MAX else (r.ts, r.recorded, r.units, r.nanos)
            if g not in best or key > best[g]:
                best[g] = key
    for g, key in best.items():
        out[g] = value_of(key[-2], key[-1])
    return out


def amounts_of_rows(rows: Iterable[UsageRow], q: UsageQuery) -> dict[Group, list[Decimal]]:
    """Each event's number in ``[start, end)``, per group, in time order (per-transaction pricing).

    Example:
        >>> from subkit.usage.event import UsageRow
        >>> q = UsageQuery("s", "pay", Aggregation.SUM, "amount", (), None, 0, 100)
        >>> amounts_of_rows([UsageRow("a", "s", "c", "pay", 5, 10, 0, None, 0)], q)
        {None: [Decimal('10')]}
    """
    found: dict[Group, list[tuple[int, Decimal]]] = {}
    for g, r in _selected(rows, q):
        if q.start <= r.ts < q.end:
            found.setdefault(g, []).append((r.ts, value_of(r.units, r.nanos)))
    return {g: [v for _, v in sorted(pairs, key=lambda p: p[0])] for g, pairs in found.items()}


def weighted(
    carry: Mapping[Group, tuple[int, int]],
    changes: Mapping[Group, Sequence[tuple[int, int, int]]],
    start: int,
    end: int,
) -> dict[Group, Decimal]:
    """The average level over ``[start, end)`` per group, from the level carried in and the changes in it.

    ``carry[g]`` is the sum of the changes before ``start`` (units, nanos); ``changes[g]`` the
    changes at instants in ``[start, end)`` (ts, units, nanos). Each level counts for as long
    as it lasted (to the microsecond), and the total is divided by the period's length.

    Example:
        >>> # 20 GB from day 15 of a 30-day period, nothing before: 20 * 15 / 30 = 10
        >>> day = 86_400_000_000
        >>> weighted({}, {None: [(15 * day, 20, 0)]}, 0, 30 * day)
        {None: Decimal('10')}
    """
    length = Decimal(end - start)
    out: dict[Group, Decimal] = {}
    for g in dict.fromkeys([*carry, *changes]):
        level = value_of(*carry.get(g, (0, 0)))
        total = CONTEXT.multiply(level, length)
        for ts, units, nanos in changes.get(g, ()):
            total = CONTEXT.add(total, CONTEXT.multiply(value_of(units, nanos), Decimal(end - ts)))
        q = CONTEXT.divide(total, length).quantize(_Q, rounding=ROUND_HALF_UP, context=CONTEXT)
        out[g] = q.quantize(_ONE) if q == q.to_integral_value() else q.normalize(CONTEXT)
    return out
