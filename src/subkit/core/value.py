"""Slotted lightweight values: what the billing loop creates in bulk, validated at the edges.

A :class:`Value` is an immutable tuple with named fields (as beancount's ``Amount``): no
``__dict__``, one small object, and fields read at C speed. Its items are atomic
(``str``, ``int``, ``Decimal``, ``datetime``, ``None``), enum members, or tuples of
atomic pairs: a dict field is kept as a tuple of its pairs and reads as a new ``dict``,
so a value cannot be changed in place. A store turns a value into a plain tuple of
atomic items (enum members as their values), which CPython's cyclic garbage collector
stops tracking after its first collection: millions of stored invoice lines cost the
collector nothing (see :mod:`subkit.adapters.storage.memory_rows`).

Validation lives at the edges. The keyword constructor, ``model_validate`` and
``model_validate_json`` check every field with a pydantic model generated from the
annotations (errors are :class:`~subkit.errors.SubkitError`, naming the field), and a
value nested in a pydantic entity validates and serializes through that same model, so
the JSON of an invoice and its lines is what it always was. Hot paths build values
already known to be valid with :meth:`Value.trusted`, which checks nothing.

Example:
    >>> class Seat(Value):
    ...     '''A seat (example).'''
    ...     __slots__ = ()
    ...     user: str
    ...     seats: int = 1
    >>> s = Seat(user="ada")
    >>> s.user, s.seats, s.model_dump_json()
    ('ada', 1, '{"user":"ada","seats":1}')
    >>> Seat.trusted("ada", 1) == s, Seat.model_validate({"user": "ada"}) == s
    (True, True)
    >>> Seat(user="bo", seats="many")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    subkit.errors.ValidationError: [invalid] seats: Input should be a valid integer, unable to parse string...
"""

from __future__ import annotations

import inspect
import types
import typing
from collections import _tuplegetter  # type: ignore[attr-defined]  # namedtuple's C accessor
from collections.abc import Callable
from enum import Enum
from typing import Any, ClassVar, Self

from pydantic import GetCoreSchemaHandler
from pydantic_core import CoreSchema, SchemaSerializer, core_schema

from subkit.core.model import Model, trusted_construct
from subkit.errors import SubkitError, ValidationError

__all__ = ["Value"]

_new = tuple.__new__
_MISSING = object()


def _optional(hint: Any) -> tuple[Any, bool]:
    """``(inner, True)`` for ``X | None``, else ``(hint, False)``."""
    origin = typing.get_origin(hint)
    if origin is typing.Annotated:
        return _optional(typing.get_args(hint)[0])
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(hint)) == 2:
            return args[0], True
    return hint, False


def _dict_getter(i: int, doc: str) -> property:
    return property(lambda self: dict(self[i]), doc=doc)


class Value(tuple[Any, ...]):
    """Base of subkit's slotted values: a tuple with named, typed fields.

    Subclasses declare fields as annotations (with optional defaults), like a dataclass.
    ``Cls(**fields)`` validates; ``Cls.trusted(*items)`` does not (hot paths only). A
    subclass may define ``_check(self)`` for rules across fields; it runs after validation.
    """

    __slots__ = ()
    #: Field names, in order.
    _fields: ClassVar[tuple[str, ...]] = ()
    #: The pydantic model that validates input, JSON and storage for this value.
    _schema: ClassVar[type[Model]]
    #: Fields kept in another form than they read: position -> (to the kept form, from it).
    _codecs: ClassVar[dict[int, tuple[Callable[[Any], Any], Callable[[Any], Any]]]] = {}
    #: Enum fields: position -> the enum class (a store keeps their values).
    _enums: ClassVar[dict[int, type[Enum]]] = {}
    #: The subkit error raised for a bad field.
    _error: ClassVar[type[SubkitError]] = ValidationError
    model_fields: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__slots__" not in cls.__dict__:
            raise TypeError(f"{cls.__name__} must declare __slots__ = ()")
        hints = typing.get_type_hints(cls, include_extras=True)
        own = [
            n
            for n in inspect.get_annotations(cls)
            if not n.startswith("_") and typing.get_origin(hints[n]) is not ClassVar
        ]
        namespace: dict[str, Any] = {
            "__annotations__": {},
            "__module__": cls.__module__,
            "_error": cls._error,
        }
        codecs: dict[int, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {}
        enums: dict[int, type[Enum]] = {}
        for i, name in enumerate(own):
            hint = hints[name]
            namespace["__annotations__"][name] = hint
            default = cls.__dict__.get(name, _MISSING)
            if default is not _MISSING:
                namespace[name] = default
            inner, _ = _optional(hint)
            doc = f"Field {i}: {name}."
            if isinstance(inner, type) and issubclass(inner, Enum):
                enums[i] = inner
                setattr(cls, name, _tuplegetter(i, doc))
            elif typing.get_origin(inner) is dict:
                codecs[i] = (_pairs, dict)
                setattr(cls, name, _dict_getter(i, doc))
            else:
                setattr(cls, name, _tuplegetter(i, doc))
        cls._fields = tuple(own)
        cls._codecs = codecs
        cls._enums = enums
        # Nested in a model, the schema is validated by pydantic-core itself: ``Model.__init__``
        # (which turns errors into subkit errors) runs only where the value is built directly.
        # Without this, every nested value read from JSON was validated a second time.
        namespace["__init__"] = _schema_init
        cls._schema = typing.cast(type[Model], type(f"{cls.__name__}Schema", (Model,), namespace))
        cls._schema.__doc__ = f"Validates input, JSON and storage of :class:`{cls.__name__}`."
        cls.model_fields = cls._schema.model_fields

    # ------------------------------------------------------------------ building
    def __new__(cls, **data: Any) -> Self:
        return cls._from_schema(cls._schema(**data))

    @classmethod
    def trusted(cls, *items: Any) -> Self:
        """Build from items already valid, in field order (dicts as tuples of pairs); unchecked."""
        return _new(cls, items)

    @classmethod
    def _from_schema(cls, m: Model) -> Self:
        """The value of a validated schema model; then the cross-field ``_check``."""
        values = m.__dict__  # a validated model's fields (read here only, never written)
        if cls._codecs:
            items = [values[f] for f in cls._fields]
            for i, (encode, _) in cls._codecs.items():
                if items[i] is not None:
                    items[i] = encode(items[i])
            value = _new(cls, items)
        else:
            value = _new(cls, [values[f] for f in cls._fields])
        if cls._check is not Value._check:
            value._check()
        return value

    def _check(self) -> None:
        """Rules across fields (override); raise a :class:`~subkit.errors.SubkitError`."""

    def _to_schema(self) -> Model:
        return trusted_construct(self._schema, self._asdict())

    def _asdict(self) -> dict[str, Any]:
        """The fields as they read (enum members, dicts), by name."""
        values = dict(zip(self._fields, self, strict=True))
        for i, (_, decode) in self._codecs.items():
            name = self._fields[i]
            if values[name] is not None:
                values[name] = decode(values[name])
        return values

    # ------------------------------------------------------------------ pydantic-compatible API
    def model_copy(self, *, update: dict[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy with ``update`` applied, unchecked (as pydantic's ``model_copy``)."""
        if not update:
            return self
        items = list(self)
        index = {n: i for i, n in enumerate(self._fields)}
        for name, v in update.items():
            i = index[name]
            codec = self._codecs.get(i)
            items[i] = codec[0](v) if codec is not None and v is not None else v
        return _new(type(self), items)

    def model_dump(self, **kwargs: Any) -> dict[str, Any]:
        """The fields as a dict (``mode="json"`` for JSON-ready values), as pydantic's ``model_dump``."""
        return self._to_schema().model_dump(**kwargs)

    def model_dump_json(self, **kwargs: Any) -> str:
        """The value as JSON, as pydantic's ``model_dump_json``."""
        if not kwargs:
            cls = type(self)
            if cls not in _JSON:
                fields = _fields_schema(cls._schema)
                _JSON[cls] = SchemaSerializer(fields) if fields is not None else None
            serializer = _JSON[cls]
            if serializer is not None:
                return serializer.to_json(self._asdict()).decode()
        return self._to_schema().model_dump_json(**kwargs)

    @classmethod
    def model_validate(cls, obj: Any) -> Self:
        """Validate a dict (or a value of this class, returned as is)."""
        if isinstance(obj, cls):
            return obj
        return cls._from_schema(cls._schema.model_validate(obj))

    @classmethod
    def model_validate_json(cls, data: str | bytes | bytearray) -> Self:
        """Validate JSON text."""
        return cls._from_schema(cls._schema.model_validate_json(data))

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        """Nested in a pydantic model: validate and serialize through the schema model."""
        inner = handler.generate_schema(cls._schema)
        from_input = core_schema.no_info_after_validator_function(cls._from_schema, inner)
        # Serialized as a dict of its fields through the schema model's field serializers: the
        # same output as through a schema model instance, without building one per value.
        fields = _fields_schema(cls._schema)
        serialization = (
            core_schema.plain_serializer_function_ser_schema(cls._asdict, return_schema=fields)
            if fields is not None
            else core_schema.plain_serializer_function_ser_schema(cls._to_schema, return_schema=inner)
        )
        return core_schema.json_or_python_schema(
            json_schema=from_input,
            python_schema=core_schema.no_info_wrap_validator_function(_as_is_or_validated(cls), from_input),
            serialization=serialization,
        )

    # ------------------------------------------------------------------ tuple behaviour, narrowed
    def __eq__(self, other: object) -> bool:
        if type(other) is type(self):
            return tuple.__eq__(self, other)
        return False if isinstance(other, tuple) else NotImplemented

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = tuple.__hash__

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._asdict().items())
        return f"{type(self).__name__}({args})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), tuple(self)))

    def __copy__(self) -> Self:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        return self


#: Per value class: the serializer of its fields as a dict (``None``: through the schema model).
_JSON: dict[type[Value], SchemaSerializer | None] = {}


def _fields_schema(model: type[Model]) -> CoreSchema | None:
    """A typed-dict schema of ``model``'s fields (for serializing), or ``None`` if it has definitions."""
    node: Any = model.__pydantic_core_schema__
    if node.get("type") != "model" or node["schema"].get("type") != "model-fields":
        return None
    fields = node["schema"]["fields"]
    if any(f.get("serialization_exclude") or f.get("serialization_alias") for f in fields.values()):
        return None
    return core_schema.typed_dict_schema(
        {name: core_schema.typed_dict_field(_no_refs(f["schema"])) for name, f in fields.items()}
    )


def _no_refs(schema: Any) -> Any:
    """A copy of a core schema without ``ref`` keys (one definition per ref in the enclosing schema)."""
    if isinstance(schema, dict):
        return {k: _no_refs(v) for k, v in schema.items() if k != "ref"}
    if isinstance(schema, list):
        return [_no_refs(v) for v in schema]
    return schema


def _schema_init(self: Model, **data: Any) -> None:
    Model.__init__(self, **data)


_schema_init.__pydantic_base_init__ = True  # type: ignore[attr-defined]


def _as_is_or_validated(cls: type[Value]) -> Callable[[Any, Callable[[Any], Any]], Any]:
    """A value of ``cls`` passes as it is (it was valid when made); anything else is validated."""

    def check(value: Any, validate: Callable[[Any], Any]) -> Any:
        return value if isinstance(value, cls) else validate(value)

    return check


def _rebuild(cls: type[Value], items: tuple[Any, ...]) -> Value:
    return _new(cls, items)


def _pairs(mapping: dict[Any, Any]) -> tuple[tuple[Any, Any], ...]:
    return tuple(mapping.items())
