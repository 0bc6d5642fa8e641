"""Shared base for subkit's domain models.

Every domain type is a frozen pydantic v2 model built on :class:`Model`. A bad
field raises a :class:`~subkit.errors.SubkitError` subclass (the class's
``_error``), never a bare pydantic error, with the failing field named. Money and
quantity fields use :data:`Amount`, which refuses floats.
"""

from __future__ import annotations

import operator
import sys
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Self, TypeVar

import pydantic
from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer

from subkit.core.deprecation import rename_keys
from subkit.core.money import check_currency, decimal_of
from subkit.errors import (
    NaiveDatetimeError,
    SubkitError,
    UnknownCurrencyError,
    ValidationError,
)

__all__ = [
    "INDEX_FIELDS",
    "STORED",
    "Amount",
    "CurrencyCode",
    "Entity",
    "Model",
    "field_values",
    "index_fields",
    "is_stored",
    "raise_subkit_error",
    "trusted_construct",
    "trusted_copy",
    "validated_construct",
]


def _amount(value: object) -> Decimal:
    # pydantic's location names the field; bounds are the entry points' (stored values read back)
    return decimal_of(value, "", bounded=False)


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
_GETTERS: dict[type, Callable[[dict[str, Any]], tuple[Any, ...]]] = {}
_setattr = object.__setattr__
_object_new = object.__new__
M = TypeVar("M", bound=BaseModel)


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


# --------------------------------------------------------------------------- the trusted place
# The only code in subkit that builds or reads a frozen model through its ``__dict__``. Everything
# that skips validation on a hot path (``Model.fast``, ``Entity.bumped``, ``Invoice.draft``, the
# memory store's rows) comes through these three functions, and tests/unit/test_hot_path_models.py
# proves that what they build reads back valid: ``model_validate(model_dump())`` equals it.
def trusted_construct(cls: type[M], values: dict[str, Any]) -> M:
    """Build ``cls`` from complete, already-valid ``values`` (every field, in any order), unchecked.

    The dict becomes the object's own: the caller must not keep or change it. Use the normal
    constructor for anything that comes from outside subkit.

    Example:
        >>> from subkit.core.periods import Interval, IntervalUnit
        >>> trusted_construct(Interval, {"unit": IntervalUnit.WEEK, "count": 2}).count
        2
    """
    m = _object_new(cls)  # what cls.__new__ is (pydantic models define none), without the lookup
    _setattr(m, "__dict__", values)
    _setattr(m, "__pydantic_fields_set__", _ALL_FIELDS.get(cls) or _all_fields(cls))
    _setattr(m, "__pydantic_extra__", None)
    _setattr(m, "__pydantic_private__", None)
    return m


def validated_construct(cls: type[M], values: dict[str, Any], fields_set: set[str]) -> M:
    """Build ``cls`` from what pydantic validated for its fields, as pydantic's model validator does.

    For a validator that checks a model's fields itself (a store's one-pass read,
    :func:`subkit.adapters.storage.rules.read_entity`): ``values`` are validated, complete.

    Example:
        >>> from subkit.core.periods import Interval, IntervalUnit
        >>> validated_construct(Interval, {"unit": IntervalUnit.WEEK, "count": 2}, {"unit"}).count
        2
    """
    m = _object_new(cls)
    _setattr(m, "__dict__", values)
    _setattr(m, "__pydantic_fields_set__", fields_set)
    _setattr(m, "__pydantic_extra__", None)
    _setattr(m, "__pydantic_private__", None)
    return m


def trusted_copy(obj: M, changes: dict[str, Any], *, bump: bool = False) -> M:
    """A copy of ``obj`` with ``changes`` applied (already valid), and ``version + 1`` if ``bump``.

    Equivalent to ``model_copy(update=changes)`` at half its cost.

    Example:
        >>> from subkit.core.periods import MONTHLY
        >>> trusted_copy(MONTHLY, {"count": 3}).months
        3
    """
    values = obj.__dict__.copy()
    values.update(changes)
    cls = type(obj)
    fields_set = obj.__pydantic_fields_set__
    if bump:
        values["version"] += 1
    if fields_set is not _ALL_FIELDS.get(cls):
        fields_set = fields_set | changes.keys() | ({"version"} if bump else set())
    new = _object_new(cls)
    _setattr(new, "__dict__", values)
    _setattr(new, "__pydantic_fields_set__", fields_set)
    _setattr(new, "__pydantic_extra__", None)
    _setattr(new, "__pydantic_private__", obj.__pydantic_private__)
    return new


def field_values(obj: BaseModel) -> tuple[Any, ...]:
    """Every field value of ``obj``, in ``model_fields`` order (one C call: the memory store's rows).

    Example:
        >>> from subkit.core.periods import MONTHLY
        >>> field_values(MONTHLY)
        (<IntervalUnit.MONTH: 'month'>, 1)
    """
    cls = type(obj)
    getter = _GETTERS.get(cls)
    if getter is None:
        names = tuple(cls.model_fields)
        if len(names) == 1:
            one = names[0]
            getter = _GETTERS[cls] = lambda d: (d[one],)
        else:
            getter = _GETTERS[cls] = operator.itemgetter(*names)
    return getter(obj.__dict__)


def _loading(caller: str) -> bool:
    """Whether ``__init__`` runs for pydantic or subkit itself rather than for the host's own call.

    pydantic also calls a custom ``__init__`` while it validates stored data (a store's read, a
    catalog file) or a nested dict; old keys found there are renamed silently by the class's
    ``mode="before"`` validator. Only a constructor call from the host's code warns.
    """
    return caller.startswith(("pydantic", "subkit."))


class Model(BaseModel):
    """Frozen, strict-ish pydantic model whose validation errors are subkit errors."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=False)
    _error: ClassVar[type[SubkitError]] = ValidationError
    #: Renamed fields, old name -> new: the old keyword still works for one release and warns
    #: (:func:`~subkit.core.deprecation.rename_keys`). Data validated by pydantic or read by
    #: subkit (stored JSON, nested dicts) is left to the class's ``mode="before"`` validator,
    #: which renames silently (:func:`_loading`).
    _renamed_fields: ClassVar[dict[str, str]] = {}

    def __init__(self, **data: Any) -> None:
        if self._renamed_fields and not _loading(sys._getframe(1).f_globals.get("__name__", "")):
            data = dict(rename_keys(data, self._renamed_fields, warn=True))
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
        A keyword spelling of :func:`trusted_construct`.
        """
        return trusted_construct(cls, values)

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

        Equivalent to ``model_copy(update=...)`` plus the version, at half its cost
        (:func:`trusted_copy`): ``changes`` must be valid values of their fields.
        """
        return trusted_copy(self, changes, bump=True)

    def index_values(self) -> dict[str, object]:
        """The indexed attributes this entity has (``None`` values included)."""
        return {f: getattr(self, f) for f in index_fields(type(self))}


_INDEXED: dict[type, tuple[str, ...]] = {}


def index_fields(kind: type[Entity]) -> tuple[str, ...]:
    """The members of :data:`INDEX_FIELDS` that ``kind`` declares (cached per class)."""
    found = _INDEXED.get(kind)
    if found is None:
        found = _INDEXED[kind] = tuple(f for f in INDEX_FIELDS if f in kind.model_fields)
    return found


#: Attributes every store indexes for :meth:`subkit.ports.UnitOfWork.find` and ``due``.
INDEX_FIELDS = ("customer_id", "subscription_id", "status", "due_at")


#: The validation context of a store reading back what it wrote (``validate_json(body, context=STORED)``):
#: validators that normalize costly input (an e-mail's syntax) accept it as stored. Every rule that
#: keeps a bad row out still runs.
STORED: dict[str, bool] = {"subkit_stored": True}


def is_stored(context: Any) -> bool:
    """Whether a validator runs on a stored row read back (see :data:`STORED`).

    Example:
        >>> is_stored(STORED), is_stored(None), is_stored({})
        (True, False, False)
    """
    return isinstance(context, dict) and context.get("subkit_stored") is True
