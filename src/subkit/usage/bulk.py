"""Bulk encoding of plain events into :class:`~subkit.usage.event.UsageRow` s, on plain values.

The per-event path (:func:`subkit.usage.event.usage_row`) checks everything an event may
carry. A product's stream is mostly the same shape: a known subscription and metric, an
aware datetime, an integer quantity, no other property. :func:`encode` takes those on a
short path, with what a chunk needs resolved once (metric codes and subscriptions in
dicts) and the ids checked for the whole chunk at once (one ``join``: no NUL, no lone
surrogate, none empty); every other event goes through ``slow`` (the per-event path, with
its precise errors). Both paths give the same row for the same event (a property test
checks it).

Example:
    >>> from datetime import datetime, UTC
    >>> specs = {"calls": Spec("calls", "quantity", "quantity", False)}
    >>> targets = {"sub_1": ("sub_1", "cus_1", 0)}
    >>> ev = {"id": "e1", "subscription_id": "sub_1", "metric": "calls",
    ...       "timestamp": datetime(1970, 1, 1, 0, 0, 2, tzinfo=UTC), "quantity": 3}
    >>> row, = encode([ev], specs, targets, 5, lambda n, e: None)
    >>> row.ts, row.units, row.customer_id, row.recorded
    (2000000, 3, 'cus_1', 5)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from itertools import repeat
from operator import attrgetter, itemgetter, lt, sub
from typing import Any, NamedTuple, overload

from subkit.errors import UsageConflictError
from subkit.usage.event import UsageRow

__all__ = ["Spec", "UsageBatch", "encode"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_UNITS = 2**63 - 1
_new = tuple.__new__
_ROW = partial(_new, UsageRow)  # a row from a tuple, without the Python-level ``_make``
_TZ = attrgetter("tzinfo")
_FIRST, _SECOND, _THIRD = itemgetter(0), itemgetter(1), itemgetter(2)


class Spec(NamedTuple):
    """How a metric's events are encoded: ``merge`` (the property ``quantity`` fills; ``None``:
    ``quantity`` is ignored), ``value_field`` (the property read as the number; ``None``: none is),
    ``signed`` (negative numbers allowed: a weighted sum's level changes).

    Example:
        >>> Spec("calls", None, None, False).value_field is None
        True
    """

    code: str
    merge: str | None
    value_field: str | None
    signed: bool


class UsageBatch(Sequence[UsageRow]):
    """Rows as columns (one list per :class:`~subkit.usage.event.UsageRow` field): what bulk
    ingestion hands a store. It is a sequence of rows (made on demand), and a store that can
    takes the columns as they are: a database driver reads :meth:`tuples` one at a time, so
    a chunk never holds one object per event (nor makes the garbage collector walk them).

    Example:
        >>> b = UsageBatch.of([UsageRow("e1", "s", "c", "m", 0, 2, 0, None, 0)] * 2)
        >>> len(b), b[1].units
        (2, 2)
        >>> b.unique()
        (UsageBatch(1 rows), ['e1'])
    """

    __slots__ = ("columns",)

    def __init__(self, columns: Sequence[list[Any]]) -> None:
        #: id, subscription_id, customer_id, metric, ts, units, nanos, properties, recorded, late
        self.columns = tuple(columns)

    @classmethod
    def of(cls, rows: Sequence[UsageRow]) -> UsageBatch:
        """The batch of ``rows``."""
        if not rows:
            return cls([[] for _ in UsageRow._fields])
        return cls([list(c) for c in zip(*rows, strict=True)])

    def __len__(self) -> int:
        return len(self.columns[0])

    @overload
    def __getitem__(self, i: int) -> UsageRow: ...
    @overload
    def __getitem__(self, i: slice) -> list[UsageRow]: ...
    def __getitem__(self, i: int | slice) -> UsageRow | list[UsageRow]:
        if isinstance(i, slice):
            return [self[n] for n in range(*i.indices(len(self)))]
        return _new(UsageRow, [c[i] for c in self.columns])

    def __iter__(self) -> Iterator[UsageRow]:
        return map(_ROW, self.tuples())

    def __repr__(self) -> str:
        return f"UsageBatch({len(self)} rows)"

    def tuples(self) -> Iterator[tuple[Any, ...]]:
        """The rows as plain tuples, made one at a time (for a driver's ``executemany`` or ``COPY``)."""
        return zip(*self.columns, strict=True)

    @property
    def ids(self) -> list[str]:
        """The id column."""
        return self.columns[0]

    def take(self, positions: Sequence[int]) -> UsageBatch:
        """The rows at ``positions``, in that order."""
        if not positions:
            return UsageBatch([[] for _ in self.columns])
        if len(positions) == 1:
            return UsageBatch([[c[positions[0]]] for c in self.columns])
        pick = itemgetter(*positions)
        return UsageBatch([list(pick(c)) for c in self.columns])

    def unique(self) -> tuple[UsageBatch, list[str]]:
        """The batch without its repeated ids (the first kept), and the ids repeated (each time).

        An id repeated with other content is :class:`~subkit.errors.UsageConflictError`
        (as :func:`~subkit.usage.event.dedupe`).
        """
        ids = self.ids
        size = len(ids)
        first = dict(zip(reversed(ids), range(size - 1, -1, -1), strict=True))  # id -> first position
        if len(first) == size:
            return self, []
        keep = sorted(first.values())  # descending runs: a linear sort
        repeats = sorted(set(range(size)).difference(keep))
        again: list[str] = []
        for n in repeats:
            id = ids[n]
            if not self[first[id]].same_event(self[n]):
                raise UsageConflictError(
                    f"usage event {id!r} appears twice in the batch with different content", field="id"
                )
            again.append(id)
        return self.take(keep), again


def encode(
    chunk: Sequence[Mapping[str, Any]],
    specs: Mapping[str, Spec],
    targets: Mapping[str, tuple[str, str, int]],
    recorded: int,
    slow: Callable[[int, Mapping[str, Any]], UsageRow | None],
) -> UsageBatch:
    """The chunk's rows, in order, as columns (``targets``: subscription id -> (id, customer id,
    current period start in epoch microseconds); ``slow(n, event)``: the per-event path,
    ``None`` to leave the event out, e.g. quarantined)."""
    whole = _columns(chunk, specs, targets, recorded)
    if whole is not None:
        return whole
    ids: list[Any] = []
    subs: list[Any] = []
    cus: list[Any] = []
    metrics: list[Any] = []
    stamps: list[Any] = []
    units_of: list[Any] = []
    lates: list[Any] = []
    slow_at: list[int] = []
    spec_of, target_of = specs.get, targets.get
    epoch, max_units = _EPOCH, _MAX_UNITS
    for n, e in enumerate(chunk):
        get = e.get
        code, sub_id, id, ts = get("metric"), get("subscription_id"), get("id"), get("timestamp")
        spec = spec_of(code) if type(code) is str else None
        target = target_of(sub_id) if type(sub_id) is str else None
        units: Any = 0
        if (
            spec is None
            or target is None
            or type(id) is not str
            or type(ts) is not datetime
            or get("properties")
            or ts.tzinfo is None
        ):
            slow_at.append(n)
        elif spec[2] is None:  # count, unique count: no number
            if spec[1] is not None and get("quantity") is not None:  # a unique count's property
                slow_at.append(n)
        else:
            units = get("quantity")
            if type(units) is not int or not (-max_units if spec[3] else 0) <= units <= max_units:
                slow_at.append(n)
        if not slow_at or slow_at[-1] != n:
            try:
                d = ts - epoch  # type: ignore[operator]  # a datetime with its time zone
            except TypeError:  # a time zone without an offset: the per-event path refuses it
                slow_at.append(n)
        if slow_at and slow_at[-1] == n:
            ids.append(None)
            subs.append(None)
            cus.append(None)
            metrics.append(None)
            stamps.append(None)
            units_of.append(None)
            lates.append(None)
            continue
        us = (d.days * 86_400 + d.seconds) * 1_000_000 + d.microseconds
        ids.append(id)
        subs.append(target[0])  # type: ignore[index]
        cus.append(target[1])  # type: ignore[index]
        metrics.append(spec[0])  # type: ignore[index]
        stamps.append(us)
        units_of.append(units)
        lates.append(1 if us < target[2] else 0)  # type: ignore[index]
    size = len(ids)
    batch = UsageBatch(
        [ids, subs, cus, metrics, stamps, units_of, [0] * size, [None] * size, [recorded] * size, lates]
    )
    if not slow_at:
        if size and not _ids_ok(ids):
            slow_at = list(range(size))  # the per-event path says which id is wrong
        else:
            return batch
    elif size > len(slow_at) and not _ids_ok([i for i in ids if i is not None]):
        slow_at = list(range(size))
    dropped = set()
    cols = batch.columns
    for n in slow_at:
        row = slow(n, chunk[n])
        if row is None:
            dropped.add(n)
        else:
            for col, value in zip(cols, row, strict=True):
                col[n] = value
    return batch.take([n for n in range(size) if n not in dropped]) if dropped else batch


def _columns(
    chunk: Sequence[Mapping[str, Any]],
    specs: Mapping[str, Spec],
    targets: Mapping[str, tuple[str, str, int]],
    recorded: int,
) -> UsageBatch | None:
    """The chunk as columns when every event has the usual shape (one metric, known
    subscriptions, aware datetimes, integer quantities, no other property), checked column by
    column; ``None`` when one does not (then each event is looked at)."""
    size = len(chunk)
    if not size:
        return None
    try:
        ids: list[Any] = [e.get("id") for e in chunk]
        codes: set[Any] = set([e.get("metric") for e in chunk])  # a list first: faster
        if len(codes) != 1 or any([e.get("properties") for e in chunk]):
            return None
        spec = specs.get(codes.pop())
        subs: list[Any] = [e.get("subscription_id") for e in chunk]
        found: list[Any] = [targets.get(s) for s in subs]
        stamps = [e.get("timestamp") for e in chunk]
        if spec is None or None in found or set(map(type, ids)) != {str}:
            return None
        if set(map(type, stamps)) != {datetime}:
            return None
        if None in set(map(_TZ, stamps)):
            return None
        deltas = map(sub, stamps, repeat(_EPOCH))
        micros = [(d.days * 86_400 + d.seconds) * 1_000_000 + d.microseconds for d in deltas]
        if spec.value_field is None:
            if spec.merge is not None and any([e.get("quantity") is not None for e in chunk]):
                return None
            units: list[Any] = [0] * size
        else:
            units = [e.get("quantity") for e in chunk]
            low = -_MAX_UNITS if spec.signed else 0
            if set(map(type, units)) != {int} or min(units) < low or max(units) > _MAX_UNITS:
                return None
    except TypeError:  # an unhashable code, a time zone without an offset: each event is looked at
        return None
    if not _ids_ok(ids):
        return None
    return UsageBatch(
        [
            ids,
            list(map(_FIRST, found)),
            list(map(_SECOND, found)),
            [spec.code] * size,
            micros,
            units,
            [0] * size,
            [None] * size,
            [recorded] * size,
            list(map(int, map(lt, micros, map(_THIRD, found)))),
        ]
    )


def _ids_ok(ids: list[Any]) -> bool:
    """Whether every id is non-empty text without NUL or lone surrogates (checked in bulk)."""
    joined = "\x01".join(ids)
    if "\x00" in joined or not all(ids):
        return False
    if not joined.isascii():
        try:
            joined.encode("utf-8")
        except UnicodeEncodeError:
            return False
    return True
