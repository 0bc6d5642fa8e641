"""Customers: create, update and read them, and move their credit balance.

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.testing import InMemoryStore, TestClock
    >>> customers = Customers(ServiceContext(InMemoryStore(), TestClock(datetime(2027, 1, 1, tzinfo=UTC))))
    >>> ada = customers.create(name="Ada", currency="EUR", id="cus_ada")
    >>> customers.update(ada.id, name="Ada L.").name, customers.get(ada.id).version
    ('Ada L.', 2)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from subkit.core.events import Event, EventType
from subkit.core.inputs import (
    check_id,
    check_int,
    check_metadata,
    check_optional_id,
    check_plain,
    check_text,
)
from subkit.customer.customer import Customer
from subkit.errors import DuplicateError, NotFoundError, ValidationError
from subkit.ports import UnitOfWork
from subkit.services.context import ServiceContext, Work

__all__ = ["Customers", "change_balance"]


def change_balance(
    uow: UnitOfWork | Work, customer: Customer, delta: int, at: datetime, **data: str
) -> Customer:
    """Add ``delta`` minor units to a customer's credit balance and publish the change.

    Example:
        >>> from datetime import datetime, UTC
        >>> from subkit.adapters.storage.memory import InMemoryStore
        >>> store = InMemoryStore()
        >>> at = datetime(2027, 1, 1, tzinfo=UTC)
        >>> with store.begin() as uow:
        ...     uow.add(Customer(id="cus_1", name="Ada", currency="EUR"))
        ...     change_balance(uow, uow.get(Customer, "cus_1"), 500, at).credit_minor
        500
    """
    balance = customer.credit_minor + delta
    new = customer.bumped(credit_minor=balance)
    uow.update(new)
    uow.publish(
        Event.of(
            EventType.CUSTOMER_BALANCE_CHANGED,
            at,
            customer.id,
            customer_id=customer.id,
            balance=balance,
            **data,
        )
    )
    return new


class Customers:
    """Creates, changes and reads customers.

    Example:
        >>> from datetime import datetime, UTC
        >>> from subkit.testing import InMemoryStore, TestClock
        >>> ctx = ServiceContext(InMemoryStore(), TestClock(datetime(2027, 1, 1, tzinfo=UTC)))
        >>> Customers(ctx).create(name="Bo", currency="USD", id="cus_bo").currency
        'USD'
    """

    __slots__ = ("ctx",)

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def create(self, *, id: str | None = None, **fields: Any) -> Customer:
        """Create and store a customer (fields of :class:`~subkit.customer.customer.Customer`)."""
        fields.setdefault("created_at", self.ctx.clock.now())
        customer = Customer(id=check_optional_id(id, "id") or self.ctx.ids("cus"), **_checked(fields))
        with self.ctx.store.begin() as uow:
            if customer.external_id is not None:
                _claim_external_id(uow, customer.external_id)
            uow.add(customer)
            uow.publish(
                Event.of(
                    EventType.CUSTOMER_CREATED, self.ctx.clock.now(), customer.id, customer_id=customer.id
                )
            )
        return customer

    def update(self, customer_id: str, **changes: Any) -> Customer:
        """Change a customer's fields (validated); ``id`` and ``version`` cannot change."""
        check_id(customer_id, "customer_id")
        for name in ("id", "version"):
            if name in changes:
                raise ValidationError(f"a customer's {name} cannot be changed", field=name)
        changes = _checked(changes)
        with self.ctx.store.begin() as uow:
            cur = uow.get(Customer, customer_id)
            new = Customer(**{**cur.model_dump(), **changes, "version": cur.version + 1})
            if new.external_id != cur.external_id:
                if cur.external_id is not None:
                    raise ValidationError(
                        f"customer {customer_id} already has external_id {cur.external_id!r}; it is set once",
                        field="external_id",
                    )
                assert new.external_id is not None
                _claim_external_id(uow, new.external_id)
            uow.update(new)
            uow.publish(
                Event.of(
                    EventType.CUSTOMER_UPDATED,
                    self.ctx.clock.now(),
                    customer_id,
                    customer_id=customer_id,
                    fields=",".join(sorted(changes)),
                )
            )
        return new

    def by_external_id(self, external_id: str) -> Customer:
        """The customer whose ``external_id`` is ``external_id`` (case and surrounding spaces ignored)."""
        check_id(external_id, "external_id")
        with self.ctx.store.begin() as uow:
            found = uow.customers.by_external_id(external_id)
        if found is None:
            raise NotFoundError(f"no customer with external_id {external_id!r}", field="external_id")
        return found

    def get(self, customer_id: str) -> Customer:
        """A customer by id."""
        check_id(customer_id, "customer_id")
        with self.ctx.store.begin() as uow:
            return uow.get(Customer, customer_id)


#: The largest credit balance a customer may be given, in minor units.
MAX_CREDIT_MINOR = 10**15


def _checked(fields: dict[str, Any]) -> dict[str, Any]:
    """Customer fields checked as plain, well-formed data with no card data (PCI) before the model.

    Example:
        >>> _checked({"name": "Ada", "metadata": {"cvc": "1"}})
        Traceback (most recent call last):
        ...
        subkit.errors.SensitiveDataError: [sensitive_data] metadata.cvc: card security codes (CVV/CVC) \
must never be sent to subkit
    """
    out = {}
    for name, value in fields.items():
        check_text(name, "field name")  # an unknown field's name shows in the model's error
        if name == "metadata":
            value = check_metadata(value, name)
        elif name == "credit_minor":
            value = check_int(value, name, low=0, high=MAX_CREDIT_MINOR)
        elif name == "default_payment_method_id":
            value = check_optional_id(value, name)
        elif hasattr(value, "model_dump"):
            check_plain(value.model_dump(mode="json"), name)
        else:
            check_plain(value, name)
        out[name] = value
    return out


def _claim_external_id(uow: UnitOfWork, external_id: str) -> None:
    """Reserve ``external_id`` for one customer: looked up first (the clear error), then claimed as a
    unique key of the store, so that two workers creating the same one at once cannot both commit."""
    check_id(external_id, "external_id")
    taken = uow.customers.by_external_id(external_id)
    if taken is not None:
        raise DuplicateError(
            f"a customer with external_id {external_id!r} exists ({taken.id})", field="external_id"
        )
    uow.claim(f"customer.external_id:{external_id.strip().casefold()}")
