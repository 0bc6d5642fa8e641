"""How the in-memory store keeps an entity: one plain tuple of atomic items (a row).

A stored pydantic entity costs an object, a ``__dict__`` and, for CPython's cyclic garbage
collector, a tracked object per container in it; a full collection then walks every
entity of the book, again and again as the book grows. A row costs one tuple. Its items
are atomic (``str``, ``int``, ``Decimal``, ``datetime``, ``None``) or plain tuples of atomic
items, so CPython stops tracking it at its first collection and later collections never
look at it. Per field:

- an enum member is kept as its value, a dict as a tuple of its pairs;
- a :class:`~subkit.core.value.Value` (or a tuple of them) as plain tuples, their enum
  members as values (a tuple subclass is always tracked, a plain tuple of atomic items
  is not);
- a small model of atomic fields (``Interval``) as a tuple of its fields, read back as one
  shared instance per distinct row;
- anything else as it is (the row is then tracked: correct, only less lean);
- the fields that repeat from row to row (:data:`SHARED`: currency, time zone, flags,
  mostly-empty optional fields) go in one tuple that every row with the same values
  shares.

Reading a row back builds the entity with :func:`~subkit.core.model.trusted_construct`:
it was valid when written (every write went through the entity's own constructor or a
trusted copy of a valid entity), and tests/unit/test_hot_path_models.py proves that what
goes through a row reads back equal and valid. The two conversions of a class are
generated once as straight-line functions (as ``dataclasses`` and ``namedtuple`` generate
theirs): a row is written or read in one call, without a loop over fields.

Example:
    >>> from subkit.customer.customer import Customer
    >>> codec = RowCodec(Customer)
    >>> ada = Customer(id="cus_1", name="Ada", currency="EUR", metadata={"crm": "7"})
    >>> row = codec.row(ada, 0)
    >>> row[codec.position["name"]], codec.entity(row) == ada
    ('Ada', True)
    >>> bo = codec.row(Customer(id="cus_2", name="Bo", currency="EUR", metadata={"crm": "7"}), 1)
    >>> row[-2] is bo[-2]  # the fields that repeat: one tuple for both rows
    True
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Callable
from enum import Enum
from typing import Any

from pydantic import BaseModel

from subkit.core.model import Entity, field_values, trusted_construct
from subkit.core.value import Value

__all__ = ["SHARED", "RowCodec", "plain", "unplain"]

_new = tuple.__new__
_SHARED_LIMIT = 4096


def _strip(hint: Any) -> tuple[Any, bool]:
    """The type inside ``Annotated`` and ``X | None``, and whether ``None`` is allowed."""
    optional = False
    while True:
        origin = typing.get_origin(hint)
        if origin is typing.Annotated:
            hint = typing.get_args(hint)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(hint) if a is not type(None)]
            if len(args) != 1:
                return hint, optional
            optional, hint = True, args[0]
        else:
            return hint, optional


def _enum_class(hint: Any) -> type[Enum] | None:
    inner, _ = _strip(hint)
    return inner if isinstance(inner, type) and issubclass(inner, Enum) else None


def _is_plain(hint: Any) -> bool:
    """A field whose values are atomic as they are (no container, model, value or enum)."""
    inner, _ = _strip(hint)
    if typing.get_origin(inner) is not None:
        return typing.get_origin(inner) is typing.Literal
    containers = (BaseModel, Value, Enum, dict, list, tuple, set)
    return not (isinstance(inner, type) and issubclass(inner, containers))


def _value(member: Any) -> Any:
    """An enum member's value (anything else as it is)."""
    return getattr(member, "_value_", member)


_INTS: dict[int, int] = {}
_INT_LIMIT = 1 << 16


#: Generated code: an enum member's value, and one shared object per distinct int (both in C).
_VALUE = 'getattr({x}, "_value_", {x})'
_INT = "(_ints.setdefault({x}, {x}) if len(_ints) < _int_limit else _ints.get({x}, {x}))"


def _is_int(hint: Any) -> bool:
    return _strip(hint)[0] is int


# --------------------------------------------------------------------------- values
@functools.cache
def _value_codec(cls: type[Value]) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    """Plain tuple of a value (enum members as values), and back."""
    ints = {i for i, f in enumerate(cls.model_fields.values()) if _is_int(f.annotation)}
    if not cls._enums and not ints:
        return tuple, functools.partial(_new, cls)
    out = ", ".join(
        (
            f"None if v[{i}] is None else {_VALUE.format(x=f'v[{i}]')}"
            if i in cls._enums
            else f"None if v[{i}] is None else {_INT.format(x=f'v[{i}]')}"
            if i in ints
            else f"v[{i}]"
        )
        for i in range(len(cls._fields))
    )
    back = ", ".join(
        (f"None if r[{i}] is None else _m{i}[r[{i}]]" if i in cls._enums else f"r[{i}]")
        for i in range(len(cls._fields))
    )
    namespace: dict[str, Any] = {
        "_value": _value,
        "_ints": _INTS,
        "_int_limit": _INT_LIMIT,
        "_new": _new,
        "_cls": cls,
    }
    for i, enum in cls._enums.items():
        namespace[f"_m{i}"] = {m.value: m for m in enum}
    exec(f"def encode(v): return ({out},)\ndef decode(r): return _new(_cls, ({back},))", namespace)
    return namespace["encode"], namespace["decode"]


def plain(value: Value) -> tuple[Any, ...]:
    """A value as a plain tuple of atomic items (enum members as their values).

    Example:
        >>> from subkit.invoice.invoice import InvoiceLine, LineKind
        >>> line = InvoiceLine.build("Pro", LineKind.RECURRING, unit_amount="20", currency="USD")
        >>> plain(line)[:2], unplain(InvoiceLine, plain(line)) == line
        (('Pro', 'recurring'), True)
    """
    return _value_codec(type(value))[0](value)  # type: ignore[no-any-return]


def unplain(cls: type[Value], items: tuple[Any, ...]) -> Value:
    """The value of class ``cls`` a plain tuple holds."""
    return _value_codec(cls)[1](items)  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- fields
def _small_model_codec(cls: type[BaseModel]) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    names = tuple(cls.model_fields)
    enums = {
        i: {m.value: m for m in e}
        for i, f in enumerate(cls.model_fields.values())
        if (e := _enum_class(f.annotation)) is not None
    }
    shared: dict[tuple[Any, ...], BaseModel] = {}

    kept: dict[tuple[Any, ...], tuple[Any, ...]] = {}

    def encode(obj: BaseModel) -> tuple[Any, ...]:
        items = field_values(obj)
        if enums:
            items = tuple(map(_value, items))
        # one shared tuple per distinct value (a few intervals for a whole book)
        found = kept.get(items)
        if found is None and len(kept) < _SHARED_LIMIT:
            found = kept[items] = items
        return found if found is not None else items

    def decode(row: tuple[Any, ...]) -> BaseModel:
        found = shared.get(row)
        if found is None:
            values = dict(zip(names, row, strict=True))
            for i, members in enums.items():
                if row[i] is not None:
                    values[names[i]] = members[row[i]]
            found = trusted_construct(cls, values)
            if len(shared) < _SHARED_LIMIT:
                shared[row] = found
        return found

    return encode, decode


def _field(hint: Any, name: str, i: int, ns: dict[str, Any]) -> tuple[str, str]:
    """Source of how field ``i`` (``{x}``) is kept in a row, and how it reads back from ``r[i]``."""
    inner, _ = _strip(hint)
    origin = typing.get_origin(inner)
    raw = f"r[{i}]"
    enum = _enum_class(hint)
    if enum is not None:
        ns[f"_m{i}"] = {m.value: m for m in enum}
        return _VALUE, f"_m{i}[{raw}]"
    if origin is dict:
        return "tuple({x}.items())", f"dict({raw})"
    if isinstance(inner, type) and issubclass(inner, Value):
        ns[f"_e{i}"], ns[f"_d{i}"] = _value_codec(inner)
        return f"_e{i}({{x}})", f"_d{i}({raw})"
    if origin is tuple:
        args = typing.get_args(inner)
        item, _ = _strip(args[0]) if args else (None, False)
        if len(args) == 2 and args[1] is Ellipsis and isinstance(item, type) and issubclass(item, Value):
            ns[f"_e{i}"], ns[f"_d{i}"] = _value_codec(item)
            return f"tuple(map(_e{i}, {{x}}))", f"tuple(map(_d{i}, {raw}))"
        return "", ""
    if isinstance(inner, type) and issubclass(inner, BaseModel) and not issubclass(inner, Entity):
        fields = inner.model_fields.values()
        if all(_is_plain(f.annotation) or _enum_class(f.annotation) for f in fields):
            ns[f"_e{i}"], ns[f"_d{i}"] = _small_model_codec(inner)
            return f"_e{i}({{x}})", f"_d{i}({raw})"
    return "", ""


#: Fields of the billing book's entities whose values repeat from one row to the next: a row
#: keeps them in one tuple shared by every row with the same values (a few dozen for a
#: whole book), not in slots of its own. Index fields, ids, versions and amounts stay in the row.
SHARED: dict[str, tuple[str, ...]] = {
    "customer": (
        "email",
        "address",
        "country",
        "locale",
        "currency",
        "timezone",
        "tax_ids",
        "metadata",
        "credit_minor",
        "collection_method",
        "default_payment_method_id",
    ),
    "subscription": (
        "currency",
        "timezone",
        "interval",
        "trial_start",
        "trial_end",
        "trial_requires_payment_method",
        "trial_end_behavior",
        "cancel_at_period_end",
        "canceled_at",
        "ended_at",
        "paused_at",
        "resume_at",
        "schedule",
        "payment_method_id",
        "proration_behavior",
        "metadata",
    ),
    "invoice": (
        "currency",
        "billing_reason",
        "discount_minor",
        "tax_minor",
        "credit_applied_minor",
        "amount_paid_minor",
        "amount_credited_minor",
        "voided_at",
        "payment_due_at",
        "fx_rate",
        "fx_rate_date",
        "fx_rate_source",
        "reporting_currency",
        "seller_tax_id",
        "customer_tax_id",
        "tax_notes",
        "locale",
        "metadata",
    ),
}
_GROUPS_LIMIT = 1 << 14


class RowCodec:
    """Rows of one entity class: ``row(entity, seq)`` and back with ``entity(row)``.

    A row holds the kept fields in ``model_fields`` order, then one tuple of the fields
    :data:`SHARED` names (shared by every row with the same values), then the entity's
    insertion number ``seq`` (which keeps ``find`` in insertion order without a table of
    its own). ``position`` gives the place of each field kept in the row itself.
    """

    def __init__(self, cls: type[Entity]) -> None:
        self.cls = cls
        self.names = tuple(cls.model_fields)
        shared = [n for n in SHARED.get(cls.kind, ()) if n in cls.model_fields]
        own = [n for n in self.names if n not in shared]
        #: Position of each field kept in the row itself.
        self.position = {n: i for i, n in enumerate(own)}
        self.version = self.position["version"]
        groups: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        ns: dict[str, Any] = {
            "_value": _value,
            "_ints": _INTS,
            "_int_limit": _INT_LIMIT,
            "_fields": field_values,
            "_construct": trusted_construct,
            "_cls": cls,
            "_groups": groups,
            "_limit": _GROUPS_LIMIT,
        }
        out: list[str] = []
        group: list[str] = []
        back: list[str] = []
        kept: set[str] = set()
        for i, (name, f) in enumerate(cls.model_fields.items()):
            if name in shared:
                at = f"g[{len(group)}]"
                target = group
            else:
                at = f"r[{len(out)}]"
                target = out
            keep, read = _field(f.annotation, name, i, ns)
            read = read.replace(f"r[{i}]", at)
            if keep:
                kept.add(name)
                if _strip(f.annotation)[1]:  # optional
                    target.append(f"None if v[{i}] is None else {keep.format(x=f'v[{i}]')}")
                    back.append(f"{name!r}: None if {at} is None else {read}")
                else:
                    target.append(keep.format(x=f"v[{i}]"))
                    back.append(f"{name!r}: {read}")
            elif _is_int(f.annotation):
                optional = _strip(f.annotation)[1]
                kept_int = _INT.format(x=f"v[{i}]")
                target.append(f"None if v[{i}] is None else {kept_int}" if optional else kept_int)
                back.append(f"{name!r}: {at}")
            else:
                target.append(f"v[{i}]")
                back.append(f"{name!r}: {at}")
        self.seq = len(out) + 1 if group else len(out)
        #: Position of the shared tuple in a row (``None``: the class has no shared fields).
        self.group: int | None = len(out) if group else None
        #: The shared tuples already checked storable (ids of tuples ``groups`` keeps for good).
        self.checked: set[int] = set()
        self.groups = groups
        if group:
            src = (
                "def row(entity, seq):\n"
                "    v = _fields(entity)\n"
                f"    g = ({', '.join(group)},)\n"
                "    try:\n"
                "        found = _groups.get(g)\n"
                "        if found is None and len(_groups) < _limit:\n"
                "            found = _groups[g] = g\n"
                "    except TypeError:\n"  # an unhashable value: a group of its own
                "        found = None\n"
                f"    return ({', '.join(out)}, found if found is not None else g, seq)\n"
                "def entity(r):\n"
                f"    g = r[{len(out)}]\n"
                f"    return _construct(_cls, {{{', '.join(back)}}})\n"
            )
        else:
            src = (
                "def row(entity, seq):\n"
                "    v = _fields(entity)\n"
                f"    return ({', '.join(out)}, seq)\n"
                "def entity(r):\n"
                f"    return _construct(_cls, {{{', '.join(back)}}})\n"
            )
        exec(src, ns)
        self.row: Callable[[Entity, int], tuple[Any, ...]] = ns["row"]
        self.entity: Callable[[tuple[Any, ...]], Entity] = ns["entity"]
        #: Fields kept as they are in the row itself: a filter can read them without decoding.
        self.plain = frozenset(n for n in own if n not in kept)
