"""Pages of a list: the filters each kind accepts (one whitelist for every store), and the reference paging.

``uow.page(kind, where, after=..., limit=...)`` and ``uow.page_usage(where, ...)`` (see
:class:`subkit.ports.UnitOfWork`) answer a :class:`~subkit.core.paging.Page`, newest first:

==================  ============================================  ===========================
kind                filters (``where``)                           sorted by (descending)
==================  ============================================  ===========================
``customer``        ``currency``, ``created_gte``, ``created_lt``  created, id
``subscription``    ``customer_id``, ``status``, ``currency``,    created, id
                    ``created_gte``, ``created_lt``
``invoice``         the same and ``subscription_id``              created, id
``credit_note``     ``customer_id``, ``currency``, ``created_*``  created, id
``payment_attempt`` ``customer_id``, ``status``, ``currency``,    started, id
                    ``created_gte``, ``created_lt``
usage events        ``subscription_id`` (required), ``metric``,   timestamp, id
                    ``timestamp_gte``, ``timestamp_lt``
==================  ============================================  ===========================

A filter not in its kind's list, a value of the wrong type, a status the kind does not
have, a naive datetime, a ``limit`` outside 1..100 or a cursor that names no object are
refused with a :class:`~subkit.errors.SubkitError` on every store alike (:func:`page_query`).
A ``None`` value means "no filter". Ranges are half-open: ``gte`` <= value < ``lt``.

:func:`page_found` is the reference implementation over ``find`` (the in-memory store
uses it, and so may a host's store); SQL stores answer from an index
(:mod:`subkit.adapters.storage.sql.pages`).

Example:
    >>> from subkit.customer.customer import Customer
    >>> page_query(Customer, {"currency": "eur"}, None, 10).where
    {'currency': 'EUR'}
    >>> page_query(Customer, {"name": "Ada"}, None, 10)
    Traceback (most recent call last):
    ...
    subkit.errors.ValidationError: [invalid] name: customer pages filter on currency, created_gte, \
created_lt; not 'name'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, TypeVar

from subkit.adapters.storage.lookups import created_of
from subkit.adapters.storage.rules import check_key
from subkit.core.model import Entity
from subkit.core.money import check_currency
from subkit.core.paging import Page, check_limit
from subkit.errors import NaiveDatetimeError, NotFoundError, ValidationError
from subkit.usage.event import UsageRow
from subkit.usage.event import micros as to_micros

if TYPE_CHECKING:
    from subkit.ports import UnitOfWork

__all__ = ["PAGE_FILTERS", "USAGE", "PageQuery", "page_found", "page_query", "sort_key", "usage_page"]

E = TypeVar("E", bound=Entity)

#: The name of usage events' list (they are rows, not entities).
USAGE = "usage"
_CREATED = ("created_gte", "created_lt")
#: The filters each kind's pages accept: the same on every store.
PAGE_FILTERS: dict[str, tuple[str, ...]] = {
    "customer": ("currency", *_CREATED),
    "subscription": ("customer_id", "status", "currency", *_CREATED),
    "invoice": ("customer_id", "subscription_id", "status", "currency", *_CREATED),
    "credit_note": ("customer_id", "currency", *_CREATED),
    "payment_attempt": ("customer_id", "status", "currency", *_CREATED),
    USAGE: ("subscription_id", "metric", "timestamp_gte", "timestamp_lt"),
}
#: Filters that compare for equality (the others are ranges).
EQUALS = ("customer_id", "subscription_id", "status", "currency", "metric")


@dataclass(frozen=True, slots=True)
class PageQuery:
    """A checked page request: the kind, its filters (normalized), the cursor and the limit."""

    kind: str
    #: Equality filters as stored (text); ``created_*`` as aware datetimes; ``timestamp_*`` in UTC µs.
    where: dict[str, object]
    after: str | None
    limit: int


def page_query(
    kind: type[Entity] | str, where: Mapping[str, object], after: object, limit: object
) -> PageQuery:
    """Check a page request against its kind's whitelist (:data:`PAGE_FILTERS`); normalized.

    ``kind`` is an entity class, or :data:`USAGE`.

    Example:
        >>> page_query("usage", {"subscription_id": "sub_1", "metric": None}, "ev_9", 5)
        PageQuery(kind='usage', where={'subscription_id': 'sub_1'}, after='ev_9', limit=5)
    """
    name = kind if isinstance(kind, str) else kind.kind
    allowed = PAGE_FILTERS.get(name)
    if allowed is None:
        raise ValidationError(
            f"{name!r} has no pages; lists exist for {', '.join(PAGE_FILTERS)}", field="kind"
        )
    checked_limit = check_limit(limit)
    cursor = None if after is None else check_key(after, "after")
    out: dict[str, object] = {}
    for field, value in where.items():
        if field not in allowed:
            raise ValidationError(f"{name} pages filter on {', '.join(allowed)}; not {field!r}", field=field)
        if value is None:
            continue
        if field in ("created_gte", "created_lt", "timestamp_gte", "timestamp_lt"):
            out[field] = _instant(value, field, micros=field.startswith("timestamp"))
        elif field == "currency":
            if not isinstance(value, str):
                raise ValidationError(f"currency must be a currency code, not {value!r}", field=field)
            out[field] = check_currency(value)
        elif field == "status":
            out[field] = _status(kind, value)
        else:
            out[field] = check_key(value, field)
    if name == USAGE and "subscription_id" not in out:
        raise ValidationError(
            "usage pages need subscription_id (a customer's usage: page each of its subscriptions)",
            field="subscription_id",
        )
    return PageQuery(name, out, cursor, checked_limit)


def _instant(value: object, field: str, *, micros: bool) -> object:
    if not isinstance(value, datetime):
        raise ValidationError(f"{field} must be an aware datetime, not {value!r}", field=field)
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetimeError(
            "naive datetime; pass a timezone-aware datetime (e.g. tzinfo=UTC)", field=field
        )
    return to_micros(value) if micros else value


def _status(kind: type[Entity] | str, value: object) -> str:
    text = value.value if isinstance(value, Enum) else value
    field = None if isinstance(kind, str) else kind.model_fields.get("status")
    enum = getattr(field, "annotation", None)
    known = [str(m.value) for m in enum] if isinstance(enum, type) and issubclass(enum, Enum) else []
    if not isinstance(text, str) or text not in known:
        raise ValidationError(f"status must be one of {', '.join(known)}; not {value!r}", field="status")
    return text


def sort_key(entity: Entity) -> tuple[datetime, str]:
    """Where ``entity`` sorts in its kind's pages (descending): its creation time, then its id."""
    return created_of(entity), entity.id


def _keep(entity: Entity, q: PageQuery) -> bool:
    for field, wanted in q.where.items():
        if field == "created_gte":
            if created_of(entity) < wanted:  # type: ignore[operator]
                return False
        elif field == "created_lt":
            if created_of(entity) >= wanted:  # type: ignore[operator]
                return False
        else:
            actual = getattr(entity, field, None)
            if isinstance(actual, Enum):
                actual = actual.value
            if actual != wanted:
                return False
    return True


def page_found(uow: UnitOfWork, kind: type[E], q: PageQuery) -> Page[E]:
    """The page of ``q`` read with ``find`` (the equality filters it indexes), sorted in memory.

    The reference implementation: the in-memory store answers with it, as may a host's store.
    """
    indexed = {f: v for f, v in q.where.items() if f in ("customer_id", "subscription_id", "status")}
    found = [e for e in uow.find(kind, **indexed) if _keep(e, q)]
    found.sort(key=sort_key, reverse=True)
    if q.after is not None:
        try:
            cursor = sort_key(uow.get(kind, q.after))
        except NotFoundError:
            raise NotFoundError(f"no {q.kind} {q.after!r} to page after", field="after") from None
        found = [e for e in found if sort_key(e) < cursor]
    return Page.of(found, q.limit)


def usage_page(rows: Iterable[UsageRow], q: PageQuery, cursor: UsageRow | None) -> Page[UsageRow]:
    """The page of ``q`` among ``rows`` (a subscription's usage events): newest ``ts`` first, then id.

    ``cursor`` is the row of ``q.after`` (``NotFoundError`` when ``q.after`` is set and it is ``None``).
    """
    if q.after is not None and cursor is None:
        raise NotFoundError(f"no usage event {q.after!r} to page after", field="after")
    w = q.where
    sub, metric = w["subscription_id"], w.get("metric")
    low, high = w.get("timestamp_gte"), w.get("timestamp_lt")
    found = [
        r
        for r in {r.id: r for r in rows}.values()  # an id ingested again in this unit of work: once
        if r.subscription_id == sub
        and (metric is None or r.metric == metric)
        and (low is None or r.ts >= low)  # type: ignore[operator]
        and (high is None or r.ts < high)  # type: ignore[operator]
        and (cursor is None or (r.ts, r.id) < (cursor.ts, cursor.id))
    ]
    found.sort(key=lambda r: (r.ts, r.id), reverse=True)
    return Page.of(found, q.limit)
