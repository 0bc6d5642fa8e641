"""Usage events as plain rows: what a host sends, checked once at the edge, stored in bulk.

A usage event is one metric's usage by one subscription at one instant, with the host's
unique ``id`` (the same id twice is counted once) and string ``properties``
(``{"region": "eu", "gb": "20"}``). :func:`usage_row` checks one event and turns it into
a :class:`UsageRow`, the slotted tuple every store keeps: times as UTC epoch microseconds,
the metric's number as exact integer ``units`` and ``nanos`` (billionths, same sign), so a
database sums it exactly (SQLite has no decimal type; an integer sum never rounds).

Example:
    >>> from datetime import datetime, UTC
    >>> row = usage_row("evt_1", "sub_1", "cus_1", "storage", datetime(2027, 1, 5, tzinfo=UTC),
    ...                 {"gb": "20.5", "region": "eu"}, value_field="gb")
    >>> row.units, row.nanos, row.properties
    (20, 500000000, '{"region":"eu"}')
    >>> row_value(row)
    Decimal('20.5')
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from subkit.core.money import decimal_of
from subkit.errors import NaiveDatetimeError, UsageConflictError, ValidationError

__all__ = [
    "IngestResult",
    "UsageEvent",
    "UsageRow",
    "conflict",
    "dedupe",
    "from_micros",
    "micros",
    "parts",
    "row_value",
    "usage_row",
    "value_of",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NANO = Decimal("1e-9")
_MAX_UNITS = 2**63 - 1
_BILLION = 1_000_000_000


class UsageRow(NamedTuple):
    """One stored usage event (plain values; see the module docstring).

    Example:
        >>> UsageRow("e1", "sub_1", "cus_1", "calls", 0, 3, 0, None, 0).late
        0
    """

    id: str
    subscription_id: str
    customer_id: str
    metric: str
    ts: int  # UTC epoch microseconds
    units: int
    nanos: int
    properties: str | None  # JSON object of strings, keys sorted; None when empty
    recorded: int  # when it was ingested, UTC epoch microseconds
    late: int = 0  # 1: its period had already closed when it arrived (a late event; see usage_rating)

    def same_event(self, other: UsageRow) -> bool:
        """Whether ``other`` is this event (the same content; ``recorded`` aside).

        Example:
            >>> a = UsageRow("e1", "s", "c", "calls", 0, 3, 0, None, 0)
            >>> a.same_event(a._replace(recorded=5)), a.same_event(a._replace(units=4))
            (True, False)
        """
        return self[1:8] == other[1:8]


class UsageEvent(NamedTuple):
    """What ``record_usage`` answers: the event as stored, and whether it was a duplicate.

    Example:
        >>> from datetime import datetime, UTC
        >>> e = UsageEvent("evt_1", "sub_1", "calls", datetime(2027, 1, 5, tzinfo=UTC), Decimal(3), {}, False)
        >>> e.quantity, e.duplicate
        (Decimal('3'), False)
    """

    id: str
    subscription_id: str
    metric: str
    timestamp: datetime
    quantity: Decimal  # the metric's number (0 for count and unique-count metrics)
    properties: Mapping[str, str]
    duplicate: bool  # True: this id was already recorded with the same content; counted once
    quarantined: bool = False  # True: refused (unknown metric or subscription) and kept aside to replay

    @classmethod
    def of(cls, row: UsageRow, duplicate: bool) -> UsageEvent:
        """The public view of a stored row."""
        props = json.loads(row.properties) if row.properties else {}
        return cls(
            row.id, row.subscription_id, row.metric, from_micros(row.ts), row_value(row), props, duplicate
        )


class IngestResult(NamedTuple):
    """The answer to a bulk ingestion: how many were new, which ids were duplicates, how many quarantined.

    Example:
        >>> IngestResult(2, ("evt_1",), 0).duplicates
        ('evt_1',)
    """

    accepted: int
    duplicates: tuple[str, ...]
    quarantined: int = 0


def micros(at: datetime) -> int:
    """UTC epoch microseconds of an aware datetime (exact integer arithmetic).

    Example:
        >>> micros(datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC))
        1000000
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise NaiveDatetimeError("usage timestamps must be timezone-aware", field="timestamp")
    return (at - _EPOCH) // timedelta(microseconds=1)


def from_micros(us: int) -> datetime:
    """The aware UTC datetime of epoch microseconds.

    Example:
        >>> from_micros(1000000).isoformat()
        '1970-01-01T00:00:01+00:00'
    """
    return _EPOCH + timedelta(microseconds=us)


def parts(value: Decimal, field: str = "value") -> tuple[int, int]:
    """``value`` as whole ``units`` and ``nanos`` (billionths) with the same sign; exact or refused.

    Example:
        >>> parts(Decimal("-1.25")), parts(Decimal("3"))
        ((-1, -250000000), (3, 0))
    """
    exp = value.as_tuple().exponent
    if isinstance(exp, int) and exp < -9 and value != value.quantize(_NANO):
        raise ValidationError(f"{value} has more than 9 decimal places; round it first", field=field)
    units = int(value)  # toward zero
    if abs(units) > _MAX_UNITS:
        raise ValidationError(f"{value} is too large for a usage value", field=field)
    return units, int((value - units).scaleb(9))


def value_of(units: int, nanos: int) -> Decimal:
    """The exact Decimal of ``units`` and ``nanos`` (sums of them too).

    Example:
        >>> value_of(1, 1_500_000_000), value_of(-1, -250_000_000), value_of(100, 0)
        (Decimal('2.5'), Decimal('-1.25'), Decimal('100'))
    """
    if not nanos:
        return Decimal(units)
    total = units * _BILLION + nanos
    if total % _BILLION == 0:
        return Decimal(total // _BILLION)
    return Decimal(total).scaleb(-9).normalize()  # a fraction remains: no exponent above 0


def row_value(row: UsageRow) -> Decimal:
    """The number a row carries.

    Example:
        >>> row_value(UsageRow("e", "s", "c", "m", 0, 2, 0, None, 0))
        Decimal('2')
    """
    return value_of(row.units, row.nanos)


def _text(value: object, key: str) -> str:
    if isinstance(value, str):
        return value
    if type(value) is int:
        return str(value)
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return str(decimal_of(value, f"properties.{key}"))
    if isinstance(value, (bool, float)):
        decimal_of(value, f"properties.{key}")  # refuses floats with the usual message
    raise ValidationError(
        f"property {key!r} is a {type(value).__name__}; pass a str, int or Decimal", field=f"properties.{key}"
    )


def usage_row(
    id: str,
    subscription_id: str,
    customer_id: str,
    metric: str,
    timestamp: datetime,
    properties: Mapping[str, object] | None,
    *,
    value_field: str | None,
    recorded: int = 0,
    late: int = 0,
) -> UsageRow:
    """Check one event and encode it (``value_field``: the property holding the metric's number).

    The number is kept exactly in ``units`` and ``nanos``, not repeated in ``properties``.

    Example:
        >>> from datetime import datetime, UTC
        >>> usage_row("", "s", "c", "m", datetime(2027, 1, 1, tzinfo=UTC), {}, value_field=None)
        Traceback (most recent call last):
        subkit.errors.ValidationError: [invalid] id: a usage event needs its unique id (the host's event id)
    """
    if type(id) is not str or not id or "\x00" in id or (not id.isascii() and _has_surrogate(id)):
        raise ValidationError("a usage event needs its unique id (the host's event id)", field="id")
    if not isinstance(timestamp, datetime):
        raise ValidationError("timestamp must be an aware datetime", field="timestamp")
    try:
        d = timestamp - _EPOCH  # a naive datetime cannot be subtracted from an aware one
    except TypeError:
        raise NaiveDatetimeError("usage timestamps must be timezone-aware", field="timestamp") from None
    ts = (d.days * 86_400 + d.seconds) * 1_000_000 + d.microseconds
    units = nanos = 0
    found = value_field is None
    body = None
    if properties:
        props: dict[str, str] = {}
        for key, value in properties.items():
            if key == value_field:
                units, nanos = _number(value, key)
                found = True
                continue
            if type(key) is not str:
                raise ValidationError("property names must be strings", field="properties")
            text = props[key] = value if type(value) is str else _text(value, key)
            if "\x00" in key or "\x00" in text:
                raise ValidationError("properties must be text without NUL", field=f"properties.{key}")
        if props:
            body = _dumps(props)
            if not body.isascii() and _has_surrogate(body):
                raise ValidationError("properties must be text without lone surrogates", field="properties")
    if not found:
        raise ValidationError(
            f"metric {metric!r} reads property {value_field!r}; the event has none",
            field=f"properties.{value_field}",
        )
    return UsageRow(id, subscription_id, customer_id, metric, ts, units, nanos, body, recorded, late)


_dumps = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def _number(value: object, key: str) -> tuple[int, int]:
    if type(value) is int:
        if abs(value) > _MAX_UNITS:
            raise ValidationError(f"{value} is too large for a usage value", field=f"properties.{key}")
        return value, 0
    return parts(decimal_of(value, f"properties.{key}"), f"properties.{key}")


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def dedupe(rows: Iterable[UsageRow]) -> tuple[dict[str, UsageRow], list[str]]:
    """A batch's rows by id, and the ids it repeats (an id repeated with other content is refused).

    Example:
        >>> r = UsageRow("e1", "s", "c", "m", 0, 1, 0, None, 0)
        >>> unique, again = dedupe([r, r])
        >>> list(unique), again
        (['e1'], ['e1'])
        >>> dedupe([r, r._replace(units=2)])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        subkit.errors.UsageConflictError: [usage_conflict] id: usage event 'e1' appears twice in the batch ...
    """
    unique: dict[str, UsageRow] = {}
    again: list[str] = []
    for row in rows:
        held = unique.get(row.id)
        if held is None:
            unique[row.id] = row
        else:
            if not held.same_event(row):
                raise UsageConflictError(
                    f"usage event {row.id!r} appears twice in the batch with different content", field="id"
                )
            again.append(row.id)
    return unique, again


def conflict(stored: UsageRow, row: UsageRow) -> UsageConflictError:
    """The error for ``row`` reusing the id of a different ``stored`` event.

    Example:
        >>> r = UsageRow("e1", "s", "c", "m", 0, 1, 0, None, 0)
        >>> conflict(r, r._replace(units=2)).code
        'usage_conflict'
    """
    return UsageConflictError(
        f"usage event {row.id!r} was already recorded with other content (metric {stored.metric!r}, "
        f"value {row_value(stored)}, at {from_micros(stored.ts).isoformat()}); "
        "send a new id for a new event",
        field="id",
    )
