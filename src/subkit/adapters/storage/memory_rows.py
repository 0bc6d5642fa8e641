"""How the in-memory store keeps an entity: one plain tuple of atomic items (a row).

A stored pydantic entity costs an object, a ``__dict__`` and, for CPython's cyclic garbage
collector, a tracked object per container in it; a full collection then walks every
entity of the book, again and again as the book grows. A row costs one tuple. Its items
are atomic (``str``, ``int``, ``Decimal``, ``datetime``, ``None``) or plain tuples of atomic
items, so CPython stops tracking it at its first collection and later collections never
look at it. Per field:

- an enum member is kept as its value, a dict as a tuple of its pairs;
- a :class:`~subkit.core.value.Value` (or a tuple of them) as plain tuples (a tuple
  subclass is always tracked, a plain tuple of atomic items is not);
- a small model of atomic fields (``Interval``) as a tuple of its fields, read back as one
  shared instance per distinct row;
- anything else as it is (the row is then tracked: correct, only less lean).

Reading a row back builds the entity with :func:`~subkit.core.model.trusted_construct`:
it was valid when written (every write went through the entity's own constructor or a
trusted copy of a valid entity), and tests/unit/test_hot_path_models.py proves that what
goes through a row reads back equal and valid.

Example:
    >>> from subkit.customer.customer import Customer
    >>> codec = RowCodec(Customer)
    >>> ada = Customer(id="cus_1", name="Ada", currency="EUR", metadata={"crm": "7"})
    >>> row = codec.row(ada, 0)
    >>> row[codec.position["metadata"]], codec.entity(row) == ada
    ((('crm', '7'),), True)
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

__all__ = ["RowCodec"]

Codec = tuple[Callable[[Any], Any], Callable[[Any], Any]]
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


def _is_plain(hint: Any) -> bool:
    """A field whose values are atomic as they are (no container, model, value or enum)."""
    inner, _ = _strip(hint)
    if typing.get_origin(inner) is not None:
        return typing.get_origin(inner) is typing.Literal
    return not (
        isinstance(inner, type) and issubclass(inner, (BaseModel, Value, Enum, dict, list, tuple, set))
    )


def _codec(hint: Any) -> Codec | None:
    """How a field of type ``hint`` is kept in a row (``None``: as it is)."""
    inner, _ = _strip(hint)
    origin = typing.get_origin(inner)
    if isinstance(inner, type) and issubclass(inner, Enum):
        members = {m.value: m for m in inner}
        return _enum_value, members.__getitem__
    if origin is dict:
        return _pairs, dict
    if isinstance(inner, type) and issubclass(inner, Value):
        return tuple, functools.partial(_new, inner)
    if origin is tuple:
        args = typing.get_args(inner)
        if len(args) == 2 and args[1] is Ellipsis:
            item, _ = _strip(args[0])
            if isinstance(item, type) and issubclass(item, Value):
                rebuild = functools.partial(_new, item)
                return _plain_tuples, lambda rows: tuple(map(rebuild, rows))
        return None
    if isinstance(inner, type) and issubclass(inner, BaseModel) and not issubclass(inner, Entity):
        fields = inner.model_fields
        if all(_is_plain(f.annotation) or _enum_of(f.annotation) for f in fields.values()):
            return _small_model_codec(inner)
    return None


def _enum_of(hint: Any) -> bool:
    inner, _ = _strip(hint)
    return isinstance(inner, type) and issubclass(inner, Enum)


def _small_model_codec(cls: type[BaseModel]) -> Codec:
    names = tuple(cls.model_fields)
    enums = {
        i: {m.value: m for m in typing.cast(type[Enum], _strip(f.annotation)[0])}
        for i, f in enumerate(cls.model_fields.values())
        if _enum_of(f.annotation)
    }
    shared: dict[tuple[Any, ...], BaseModel] = {}

    def encode(obj: BaseModel) -> tuple[Any, ...]:
        items = field_values(obj)
        if enums:
            items = tuple(_enum_value(v) if i in enums else v for i, v in enumerate(items))
        return items

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


def _enum_value(member: Any) -> Any:
    return member._value_ if isinstance(member, Enum) else member


def _pairs(mapping: dict[Any, Any]) -> tuple[tuple[Any, Any], ...]:
    return tuple(mapping.items())


def _plain_tuples(values: tuple[Value, ...]) -> tuple[tuple[Any, ...], ...]:
    return tuple(map(tuple, values))


class RowCodec:
    """Rows of one entity class: ``row(entity, seq)`` and back with ``entity(row)``.

    A row holds the encoded fields in ``model_fields`` order, then the entity's insertion
    number ``seq`` (which keeps ``find`` in insertion order without a table of its own).
    """

    def __init__(self, cls: type[Entity]) -> None:
        self.cls = cls
        self.names = tuple(cls.model_fields)
        #: Position of each field in a row.
        self.position = {n: i for i, n in enumerate(self.names)}
        self.seq = len(self.names)
        self.version = self.position["version"]
        self._codecs = [
            (i, codec)
            for i, f in enumerate(cls.model_fields.values())
            if (codec := _codec(f.annotation)) is not None
        ]
        #: Fields kept as they are: a filter on them can read the row without decoding it.
        self.plain = frozenset(n for i, n in enumerate(self.names) if i not in dict(self._codecs))

    def row(self, entity: Entity, seq: int) -> tuple[Any, ...]:
        """The row of ``entity`` (inserted as number ``seq``)."""
        items = list(field_values(entity))
        for i, (encode, _) in self._codecs:
            v = items[i]
            if v is not None:
                items[i] = encode(v)
        items.append(seq)
        return tuple(items)

    def entity(self, row: tuple[Any, ...]) -> Entity:
        """The entity a row holds."""
        values = dict(zip(self.names, row, strict=False))  # zip stops before the trailing seq
        names = self.names
        for i, (_, decode) in self._codecs:
            v = row[i]
            if v is not None:
                values[names[i]] = decode(v)
        return trusted_construct(self.cls, values)
