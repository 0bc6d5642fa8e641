"""What every store accepts: one set of rules, so that no two adapters differ.

A host's tests run on the in-memory store and its production on SQL; a write or a query
that works on one must work, or fail the same way, on the other. These functions are
the rules, shared by every adapter (and by a host's own):

* :func:`check_where`: ``find`` filters on indexed attributes only
  (:data:`INDEXED_ATTRIBUTES`); anything else is a :class:`~subkit.errors.ValidationError`
  naming the indexed ones, on every store, instead of a scan on one and an error on another.
  ``due_at`` compares with aware datetimes only.
* :func:`check_key`: ids, indexed strings, claim keys and series names are text every
  database can hold: valid Unicode (no lone surrogate such as ``"\\ud800"``) without NUL.
* :func:`entity_json` / :func:`event_json`: what is written must serialize to JSON (what
  a SQL store keeps); a value that cannot is refused with ``ValidationError`` at ``add`` /
  ``update`` / ``publish``, or at the latest at commit, and nothing of the unit of work is kept.

Example:
    >>> from subkit.customer.customer import Customer
    >>> entity_json(Customer(id="cus_1", name="Ada", currency="EUR"))[:28]
    '{"id":"cus_1","version":1,"n'
    >>> entity_json(Customer(id="cus_1", name="Ada\\ud800", currency="EUR"))
    Traceback (most recent call last):
    ...
    subkit.errors.ValidationError: [invalid] name: customer 'cus_1' cannot be stored: ...
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar, cast

from pydantic_core import PydanticSerializationError, SchemaValidator
from pydantic_core import ValidationError as PydanticValidationError

from subkit.adapters.storage.lookups import EMAIL_FIELD, LOOKUP_FIELD, index_row
from subkit.core.events import Event
from subkit.core.model import INDEX_FIELDS, STORED, Entity, raise_subkit_error, validated_construct
from subkit.errors import NaiveDatetimeError, ValidationError

__all__ = [
    "INDEXED_ATTRIBUTES",
    "check_entity",
    "check_key",
    "check_where",
    "entity_json",
    "event_json",
    "read_entity",
    "serialize",
]

E = TypeVar("E", bound=Entity)

#: What ``find`` may filter on: :data:`~subkit.core.model.INDEX_FIELDS` and the computed keys.
INDEXED_ATTRIBUTES: tuple[str, ...] = (*INDEX_FIELDS, LOOKUP_FIELD, EMAIL_FIELD)


def check_where(kind: type[Entity], where: Mapping[str, object]) -> None:
    """Refuse a ``find`` filter that not every store can serve from an index.

    Example:
        >>> from subkit.customer.customer import Customer
        >>> check_where(Customer, {"name": "Ada"})
        Traceback (most recent call last):
        ...
        subkit.errors.ValidationError: [invalid] name: find() filters on indexed attributes only \
(customer_id, subscription_id, status, due_at, lookup_key, email_key), not 'name' (customer)
    """
    for field, value in where.items():
        if field not in INDEXED_ATTRIBUTES:
            raise ValidationError(
                f"find() filters on indexed attributes only ({', '.join(INDEXED_ATTRIBUTES)}), "
                f"not {field!r} ({kind.kind})",
                field=field,
            )
        if field == "due_at":
            for v in value if isinstance(value, list) else [value]:
                if v is None:
                    continue
                if not isinstance(v, datetime):
                    raise ValidationError("due_at must be compared with an aware datetime", field=field)
                if v.tzinfo is None or v.utcoffset() is None:
                    raise NaiveDatetimeError(
                        "naive datetime; pass a timezone-aware datetime (e.g. tzinfo=UTC)", field=field
                    )


def check_key(value: object, field: str) -> str:
    """``value`` if every database can hold it as an id or key: a ``str``, valid Unicode, without NUL.

    Example:
        >>> check_key("charge:sub_1:2027-01", "key")
        'charge:sub_1:2027-01'
        >>> check_key("bad\\x00key", "key")
        Traceback (most recent call last):
        ...
        subkit.errors.ValidationError: [invalid] key: must not contain NUL characters
    """
    if not isinstance(value, str):
        raise ValidationError(f"must be a string, not {type(value).__name__}", field=field)
    if "\x00" in value:
        raise ValidationError("must not contain NUL characters", field=field)
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError(
                "is not valid Unicode text (a lone surrogate such as \\ud800?)", field=field
            ) from None
    return value


def read_entity(cls: type[E], body: str | bytes) -> E:
    """A stored entity's JSON, fully validated as ``cls.model_validate_json`` would, in one pass.

    On a subkit model, ``model_validate_json`` validates the JSON, then validates the parsed
    dict a second time, nested models included (pydantic calls a model's own ``__init__``,
    subkit's turns errors into subkit errors). A store's read uses the same schema, every
    rule and validator kept, with that second pass off; a bad row is still a subkit error.

    Example:
        >>> from subkit.customer.customer import Customer
        >>> read_entity(Customer, '{"id": "cus_1", "name": "Ada", "currency": "EUR"}').name
        'Ada'
        >>> from subkit.errors import SubkitError
        >>> try:
        ...     read_entity(Customer, '{"id": "cus_1", "name": "Ada", "currency": "EURO"}')
        ... except SubkitError as e:
        ...     print(e.code, e.field)
        unknown_currency currency
    """
    validator = _READERS.get(cls)
    if validator is None:
        schema = cls.__pydantic_core_schema__
        config = _model_node(schema).get("config")
        validator = _READERS[cls] = SchemaValidator(_one_pass(schema), config)
    err = None
    try:
        return cast(E, validator.validate_json(body, context=STORED))
    except PydanticValidationError as exc:
        err = raise_subkit_error(exc, cls._error)  # raised outside: no context quoting the row
    raise err


_READERS: dict[type[Entity], SchemaValidator] = {}


def _model_node(schema: Any) -> dict[str, Any]:
    while schema.get("type") == "definitions":
        schema = schema["schema"]
    return cast(dict[str, Any], schema)


def _one_pass(schema: Any) -> Any:
    """A copy of a core schema whose models are built from their validated fields, not by ``__init__``.

    A model with its own ``__init__`` becomes its fields' schema followed by building the
    instance as pydantic does (fields, fields set, no extra, no private state). pydantic-core
    reuses a class's own validator for a model node, so flipping ``custom_init`` is not enough.
    """
    if isinstance(schema, list):
        return [_one_pass(v) for v in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _one_pass(v) for k, v in schema.items()}
    inner = out.get("schema")
    if (
        out.get("type") == "model"
        and out.get("custom_init")
        and not out.get("root_model")
        and not out.get("post_init")
        and isinstance(inner, dict)
        and inner.get("type") == "model-fields"
    ):
        built: dict[str, Any] = {
            "type": "function-after",
            "function": {"type": "no-info", "function": _builder(out["cls"])},
            "schema": inner,
        }
        if "ref" in out:
            built["ref"] = out["ref"]
        return built
    return out


def _builder(cls: type[Entity]) -> Any:
    def build(validated: tuple[dict[str, Any], None, set[str]]) -> Entity:
        values, _extra, fields_set = validated  # extra fields are forbidden: never any
        return validated_construct(cls, values, fields_set)

    return build


def check_entity(entity: Entity) -> None:
    """Refuse an entity that some store could not keep or read back (see :func:`entity_json`).

    Example:
        >>> from subkit.customer.customer import Customer
        >>> check_entity(Customer(id="cus_1", name="Ada", currency="EUR"))
    """
    entity_json(entity)


def entity_json(entity: Entity) -> str:
    """The entity as the JSON text a store keeps; ``ValidationError`` if it cannot be stored.

    Checks the id and the indexed strings with :func:`check_key`, then serializes.
    """
    check_key(entity.id, "id")
    for field, value in index_row(entity).items():
        if isinstance(value, str):
            check_key(value, field)
    return serialize(entity)


def serialize(entity: Entity) -> str:
    """``entity.model_dump_json()``, or ``ValidationError`` naming the field that cannot be serialized.

    Only the JSON: :func:`entity_json` checks the id and the indexed strings as well.

    Example:
        >>> from subkit.customer.customer import Customer
        >>> serialize(Customer(id="cus_1", name="Ada", currency="EUR")).startswith('{"id":"cus_1"')
        True
    """
    try:
        text = entity.model_dump_json()
    except (PydanticSerializationError, UnicodeError, ValueError, TypeError) as exc:
        raise ValidationError(
            f"{entity.kind} {entity.id!r} cannot be stored: {_reason(exc)}", field=_culprit(entity)
        ) from None
    if "\ufffd" in text:  # rare: pydantic replaces a lone surrogate in a dict key, silently
        _refuse_surrogates(entity.model_dump(), f"{entity.kind} {entity.id!r}")
    return text


def event_json(event: Event) -> str:
    """The event as the JSON text an outbox keeps; ``ValidationError`` if it cannot be stored.

    Example:
        >>> from datetime import datetime, UTC
        >>> from subkit.core.events import EventType
        >>> event_json(Event.of(EventType.INVOICE_PAID, datetime(2027, 1, 1, tzinfo=UTC), "in_1"))[:7]
        '{"id":"'
    """
    check_key(event.id, "event.id")
    try:
        text = event.model_dump_json()
    except (PydanticSerializationError, UnicodeError, ValueError, TypeError) as exc:
        raise ValidationError(f"event {event.id!r} cannot be stored: {_reason(exc)}", field="data") from None
    if "\ufffd" in text:
        _refuse_surrogates(event.model_dump(), f"event {event.id!r}")
    return text


def _refuse_surrogates(data: object, what: str, path: str = "") -> None:
    """``ValidationError`` at the first string (dict keys included) that is not valid Unicode."""
    if isinstance(data, str):
        try:
            data.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError(
                f"{what} cannot be stored: text with a lone surrogate", field=path or None
            ) from None
    elif isinstance(data, dict):
        for key, value in data.items():
            _refuse_surrogates(key, what, path)
            _refuse_surrogates(value, what, f"{path}.{key}" if path else str(key))
    elif isinstance(data, list | tuple):
        for item in data:
            _refuse_surrogates(item, what, path)


def _reason(exc: BaseException) -> str:
    text = str(exc)
    return text.removeprefix("Error serializing to JSON: ")


def _culprit(entity: Entity) -> str | None:
    """The first top-level field whose value does not serialize alone (for the error's ``field``)."""
    for name in type(entity).model_fields:
        try:
            entity.model_dump_json(include={name})
        except (PydanticSerializationError, UnicodeError, ValueError, TypeError):
            return name
    return None
