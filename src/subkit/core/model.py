"""Shared base for subkit's domain models.

Every domain type is a frozen pydantic v2 model built on :class:`Model`. A bad
field raises a :class:`~subkit.errors.SubkitError` subclass (the class's
``_error``), never a bare pydantic error, with the failing field named. Money and
quantity fields use :data:`Amount`, which refuses floats.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, ClassVar, Self

import pydantic
from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer

from subkit.core.money import check_currency, decimal_of
from subkit.errors import (
    NaiveDatetimeError,
    SubkitError,
    UnknownCurrencyError,
    ValidationError,
)

__all__ = ["INDEX_FIELDS", "Amount", "CurrencyCode", "Entity", "Model", "index_fields", "raise_subkit_error"]


def _amount(value: object) -> Decimal:
    return decimal_of(value, "")  # pydantic's location names the field


#: A Decimal that refuses floats; serialized to JSON as a string (exact).
Amount = Annotated[Decimal, BeforeValidator(_amount), PlainSerializer(str, return_type=str, when_used="json")]


def _currency(value: object) -> str:
    if not isinstance(value, str):
        raise UnknownCurrencyError(f"{value!r} is not a currency code", field="currency")
    return check_currency(value)


#: An upper-cased ISO 4217 code, checked.
CurrencyCode = Annotated[str, BeforeValidator(_currency)]


def raise_subkit_error(exc: pydantic.ValidationError, default: type[SubkitError]) -> SubkitError:
    """Translate pydantic's error into subkit's tree, keeping the first failing field."""
    first = exc.errors()[0]
    parts = [str(p) for p in first.get("loc", ())]
    cause = first.get("ctx", {}).get("error")
    if isinstance(cause, SubkitError):
        err_type: type[SubkitError] = type(cause)
        message = cause.message
        if cause.field and (not parts or parts[-1] != cause.field):
            parts.append(cause.field)
    else:
        kind = first.get("type", "")
        err_type = {"timezone_aware": NaiveDatetimeError}.get(kind, default)
        if kind == "timezone_aware":
            message = "naive datetime; pass a timezone-aware datetime (e.g. tzinfo=UTC)"
        else:
            message = first.get("msg", str(exc))
    field = ".".join(parts) or None
    return err_type(message, field=field)


_ALL_FIELDS: dict[type, set[str]] = {}


def _all_fields(cls: type[BaseModel]) -> set[str]:
    """One shared "every field was set" set per class, for objects built complete on hot paths.

    Sharing it keeps each object from carrying a set of its own: fewer objects for the cyclic
    garbage collector to track in a store holding millions of them. Nothing mutates it:
    frozen models never add to their fields set, and ``model_copy`` copies it before updating.
    """
    found = _ALL_FIELDS.get(cls)
    if found is None:
        found = _ALL_FIELDS[cls] = set(cls.model_fields)
    return found


class Model(BaseModel):
    """Frozen, strict-ish pydantic model whose validation errors are subkit errors."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=False)
    _error: ClassVar[type[SubkitError]] = ValidationError

    def __init__(self, **data: Any) -> None:
        # The subkit error is raised outside the ``except`` block so that it carries no
        # context: pydantic's error quotes the raw input, which may be sensitive.
        err = None
        try:
            super().__init__(**data)
        except pydantic.ValidationError as exc:
            err = raise_subkit_error(exc, self._error)
        if err is not None:
            raise err

    @classmethod
    def fast(cls, **values: Any) -> Self:
        """Build from trusted, complete, already-valid values without validation (hot paths only).

        Every field must be given; nothing is checked. Use the normal constructor for input.
        """
        m = cls.__new__(cls)
        object.__setattr__(m, "__dict__", values)
        object.__setattr__(m, "__pydantic_fields_set__", _all_fields(cls))
        object.__setattr__(m, "__pydantic_extra__", None)
        object.__setattr__(m, "__pydantic_private__", None)
        return m

    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> Self:
        err = None
        try:
            return super().model_validate(obj, *args, **kwargs)
        except pydantic.ValidationError as exc:
            err = raise_subkit_error(exc, cls._error)
        raise err

    @classmethod
    def model_validate_json(cls, json_data: str | bytes | bytearray, *args: Any, **kwargs: Any) -> Self:
        err = None
        try:
            return super().model_validate_json(json_data, *args, **kwargs)
        except pydantic.ValidationError as exc:
            err = raise_subkit_error(exc, cls._error)
        raise err


class Entity(Model):
    """A stored aggregate: an ``id``, a ``version`` for optimistic concurrency, a ``kind``.

    Stores index four optional attributes when a kind has them: ``customer_id``,
    ``subscription_id``, ``status`` and ``due_at`` (see :mod:`subkit.ports`).
    """

    kind: ClassVar[str] = ""
    id: str
    version: int = 1

    def bumped(self, **changes: Any) -> Self:
        """A copy with ``changes`` applied and the version incremented (no re-validation).

        Equivalent to ``model_copy(update=...)`` plus the version, at half its cost (hot path).
        """
        values = dict(self.__dict__)
        values.update(changes)
        values["version"] = self.version + 1
        cls = type(self)
        new = cls.__new__(cls)
        object.__setattr__(new, "__dict__", values)
        fields_set = self.__pydantic_fields_set__
        if fields_set is not _all_fields(cls):
            fields_set = fields_set | changes.keys() | {"version"}
        object.__setattr__(new, "__pydantic_fields_set__", fields_set)
        object.__setattr__(new, "__pydantic_extra__", None)
        object.__setattr__(new, "__pydantic_private__", self.__pydantic_private__)
        return new

    def index_values(self) -> dict[str, object]:
        """The indexed attributes this entity has (``None`` values included)."""
        return {f: self.__dict__[f] for f in index_fields(type(self))}


_INDEXED: dict[type, tuple[str, ...]] = {}


def index_fields(kind: type[Entity]) -> tuple[str, ...]:
    """The members of :data:`INDEX_FIELDS` that ``kind`` declares (cached per class)."""
    found = _INDEXED.get(kind)
    if found is None:
        found = _INDEXED[kind] = tuple(f for f in INDEX_FIELDS if f in kind.model_fields)
    return found


#: Attributes every store indexes for :meth:`subkit.ports.UnitOfWork.find` and ``due``.
INDEX_FIELDS = ("customer_id", "subscription_id", "status", "due_at")
