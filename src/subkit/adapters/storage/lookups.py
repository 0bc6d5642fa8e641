"""Lookup keys: the one store-computed, indexed attribute that repositories find an aggregate by.

People quote an invoice by its number and pay a bank transfer with a reference; both are
looked up case-insensitively and must never need a scan. Every store therefore keeps, next
to the indexed attributes of :data:`subkit.core.model.INDEX_FIELDS`, one more indexed value
per entity: :data:`LOOKUP_FIELD` (``lookup_key``), computed here from the entity, so that
all stores compute it the same way:

==================  ===========================================================
kind                ``lookup_key``
==================  ===========================================================
``customer``        the host's ``external_id``, normalized (else ``None``)
``invoice``         its ``number``, normalized (``None`` while a draft)
``credit_note``     its ``number``, normalized
``payment_method``  a bank transfer's ``reference``, normalized (else ``None``)
``audit_entry``     its ``subject_id``, normalized (the audit trail of one object)
==================  ===========================================================

``find(kind, lookup_key=normalize(text))`` then serves ``uow.invoices.by_number(...)``
and ``uow.payment_methods.by_reference(...)`` from an index.

A customer has a second computed key, :data:`EMAIL_FIELD` (``email_key``): its e-mail
address (already normalized by pydantic's ``EmailStr`` rules when it came in), stripped and
lower-cased as a whole, so ``uow.customers.by_email("ADA@Example.com")`` is an index lookup.
Pages of a list (:mod:`subkit.adapters.storage.paging`) sort on :func:`created_of`.

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.payment.methods import PaymentMethod
    >>> pm = PaymentMethod(id="pm_1", customer_id="cus_1", created_at=datetime(2027, 1, 1, tzinfo=UTC),
    ...                    details={"type": "bank_transfer", "reference": " ACME-7781 "})
    >>> lookup_key(pm), normalize("acme-7781")
    ('acme-7781', 'acme-7781')
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from subkit.core.model import Entity, index_fields
from subkit.payment.methods import BankTransferDetails

__all__ = [
    "COMPUTED_KEYS",
    "EMAIL_FIELD",
    "EPOCH",
    "LOOKUP_FIELD",
    "LOOKUP_KINDS",
    "computed_keys",
    "created_of",
    "index_row",
    "indexed_value",
    "lookup_key",
    "normalize",
]

#: The name of the store-computed lookup attribute (a column on SQL stores).
LOOKUP_FIELD = "lookup_key"
#: The name of a customer's store-computed e-mail key (a column on SQL stores).
EMAIL_FIELD = "email_key"
#: The creation time of an entity that has none (customers stored before they had one).
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def normalize(text: str) -> str:
    """The form lookup keys are stored and compared in: stripped, case-folded.

    Example:
        >>> normalize("  INV-000042 ")
        'inv-000042'
    """
    return text.strip().casefold()


def _number(entity: Any) -> str | None:
    number = entity.number
    return None if number is None else normalize(number)


def _transfer_reference(entity: Any) -> str | None:
    details = entity.details
    return normalize(details.reference) if isinstance(details, BankTransferDetails) else None


#: The kinds that have a lookup key, and how it is computed.
LOOKUP_KINDS: dict[str, Callable[[Any], str | None]] = {
    "customer": lambda entity: None if entity.external_id is None else normalize(entity.external_id),
    "invoice": _number,
    "credit_note": _number,
    "payment_method": _transfer_reference,
    "audit_entry": lambda entity: normalize(entity.subject_id),
}


def _email_key(entity: Any) -> str | None:
    email = entity.email
    return normalize(email) if email else None


#: Every store-computed indexed value, by kind: ``((field, compute), ...)``.
COMPUTED_KEYS: dict[str, tuple[tuple[str, Callable[[Any], str | None]], ...]] = {
    kind: ((LOOKUP_FIELD, compute),) for kind, compute in LOOKUP_KINDS.items()
}
COMPUTED_KEYS["customer"] = (*COMPUTED_KEYS["customer"], (EMAIL_FIELD, _email_key))


def computed_keys(kind: str) -> tuple[tuple[str, Callable[[Any], str | None]], ...]:
    """The store-computed indexed values of ``kind``: ``((field, compute), ...)`` (may be empty).

    Example:
        >>> [f for f, _ in computed_keys("customer")], computed_keys("subscription")
        (['lookup_key', 'email_key'], ())
    """
    return COMPUTED_KEYS.get(kind, ())


def created_of(entity: Entity) -> datetime:
    """When ``entity`` was created: ``created_at`` (a payment attempt's ``started_at``), else :data:`EPOCH`.

    Pages of a list are ordered by it, newest first (then by id).

    Example:
        >>> from subkit.customer.customer import Customer
        >>> created_of(Customer(id="cus_1", name="Ada", currency="EUR")) == EPOCH
        True
    """
    at = getattr(entity, "started_at" if entity.kind == "payment_attempt" else "created_at", None)
    return at if isinstance(at, datetime) else EPOCH


def lookup_key(entity: Entity) -> str | None:
    """The entity's lookup key (``None`` when its kind has none or it has no value yet).

    Example:
        >>> from subkit.customer.customer import Customer
        >>> lookup_key(Customer(id="cus_1", name="Ada", currency="EUR")) is None
        True
    """
    compute = LOOKUP_KINDS.get(entity.kind)
    return None if compute is None else compute(entity)


def indexed_value(entity: Entity, field: str) -> object:
    """The value a store indexes under ``field`` for ``entity`` (``None`` if it has none).

    Example:
        >>> from subkit.customer.customer import Customer
        >>> indexed_value(Customer(id="cus_1", name="Ada", currency="EUR"), "status") is None
        True
    """
    for name, compute in computed_keys(entity.kind):
        if name == field:
            return compute(entity)
    if field in (LOOKUP_FIELD, EMAIL_FIELD):
        return None
    return getattr(entity, field, None)


def index_row(entity: Entity) -> dict[str, object]:
    """Every indexed value the entity has: its :data:`~subkit.core.model.INDEX_FIELDS` and its lookup key.

    Example:
        >>> from datetime import datetime, UTC
        >>> from subkit.payment.methods import PaymentMethod
        >>> pm = PaymentMethod(id="pm_1", customer_id="cus_1", created_at=datetime(2027, 1, 1, tzinfo=UTC),
        ...                    details={"type": "bank_transfer", "reference": "ACME-7781"})
        >>> index_row(pm)
        {'customer_id': 'cus_1', 'lookup_key': 'acme-7781'}
    """
    row: dict[str, object] = {f: getattr(entity, f) for f in index_fields(type(entity))}
    for field, compute in computed_keys(entity.kind):
        row[field] = compute(entity)
    return row
