"""One small repository per aggregate, reached from the unit of work (``uow.invoices``).

As cosmicpython's ``uow.batches``: each repository is a few methods over the unit of
work's generic ones (``get``, ``find``, ``add``...), implemented once here for every store
that inherits :class:`~subkit.adapters.storage.UnitOfWorkBase`. Lookups go through
indexed attributes only (:data:`~subkit.adapters.storage.rules.INDEXED_ATTRIBUTES`): an
invoice by number and a bank transfer by reference use the store-computed lookup key
(:mod:`subkit.adapters.storage.lookups`), never a scan.

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.adapters.storage.memory import InMemoryStore
    >>> from subkit.customer.customer import Customer
    >>> store = InMemoryStore()
    >>> with store.begin() as uow:
    ...     uow.customers.add(Customer(id="cus_1", name="Ada", currency="EUR"))
    ...     uow.numbers.next("INV"), uow.claims.claimed("k")
    (1, False)
    >>> with store.begin() as uow:
    ...     uow.customers.get("cus_1").name
    'Ada'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar, Generic, TypeVar

from subkit.adapters.storage.lookups import EMAIL_FIELD, LOOKUP_FIELD, normalize
from subkit.core.events import Event
from subkit.core.model import Entity
from subkit.core.paging import DEFAULT_LIMIT, Page
from subkit.core.places import email_address
from subkit.customer.customer import Customer
from subkit.invoice.invoice import CreditNote, Invoice
from subkit.payment.methods import PaymentMethod
from subkit.subscription.model import Subscription

if TYPE_CHECKING:
    from subkit.ports import UnitOfWork

__all__ = [
    "Claims",
    "CreditNotes",
    "Customers",
    "Entities",
    "Invoices",
    "NumberSeries",
    "Outbox",
    "PaymentMethods",
    "Subscriptions",
]

E = TypeVar("E", bound=Entity)


class Entities(Generic[E]):
    """The entities of one kind in a unit of work: ``get``, ``get_many``, ``find``, ``add``, ``update``.

    Subclasses name the kind (``entity``) and add the lookups their aggregate needs.
    """

    entity: ClassVar[type[Entity]]

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    @property
    def _kind(self) -> type[E]:
        return self.entity  # type: ignore[return-value]  # the subclass's E

    def get(self, id: str) -> E:
        """The entity, or ``NotFoundError``."""
        return self._uow.get(self._kind, id)

    def get_many(self, ids: Sequence[str]) -> dict[str, E]:
        """The entities of ``ids`` that exist, by id."""
        return self._uow.get_many(self._kind, ids)

    def find(self, **where: object) -> list[E]:
        """Those whose indexed attributes equal ``where``, in insertion order."""
        return self._uow.find(self._kind, **where)

    def add(self, entity: E) -> None:
        """Insert (``DuplicateError`` if the id exists)."""
        self._uow.add(entity)

    def page(self, *, after: str | None = None, limit: int = DEFAULT_LIMIT, **where: object) -> Page[E]:
        """One page, newest first, of those matching ``where`` (see :mod:`subkit.adapters.storage.paging`)."""
        return self._uow.page(self._kind, where, after=after, limit=limit)

    def update(self, entity: E) -> None:
        """Replace (``entity.version`` must be the stored version + 1)."""
        self._uow.update(entity)

    def _by_lookup(self, text: str, exact: str) -> E | None:
        found = self._uow.find(self._kind, **{LOOKUP_FIELD: normalize(text)})
        for ent in found:
            if getattr(ent, exact, None) == text:
                return ent
        return found[0] if found else None


class Customers(Entities[Customer]):
    """``uow.customers``: the customers, and by the host's ``external_id`` (indexed, case-insensitive)."""

    entity = Customer

    def by_external_id(self, external_id: str) -> Customer | None:
        """The customer with this ``external_id`` (case and surrounding spaces ignored), or ``None``."""
        return self._by_lookup(external_id, "external_id")

    def by_email(self, email: str) -> list[Customer]:
        """The customers with this e-mail address (the whole address lower-cased), oldest first; indexed.

        ``email`` is stripped and normalized as a customer's is when stored (pydantic's ``EmailStr``
        rules: ``ValidationError`` if it is not an address), then matched case-insensitively.
        """
        text = email.strip() if isinstance(email, str) else email
        return self._uow.find(Customer, **{EMAIL_FIELD: normalize(email_address(text))})


class Subscriptions(Entities[Subscription]):
    """``uow.subscriptions``: subscriptions, and a customer's."""

    entity = Subscription

    def for_customer(self, customer_id: str) -> list[Subscription]:
        """A customer's subscriptions, oldest first."""
        return self._uow.find(Subscription, customer_id=customer_id)


class Invoices(Entities[Invoice]):
    """``uow.invoices``: invoices by id, by number (indexed, case-insensitive), by customer."""

    entity = Invoice

    def by_number(self, number: str) -> Invoice | None:
        """The invoice with this number (``"INV-000042"``; case and surrounding spaces ignored), or ``None``.

        Served by the lookup-key index. An exact match wins over one that differs in case.
        """
        return self._by_lookup(number, "number")

    def for_customer(self, customer_id: str, *, status: str | None = None) -> list[Invoice]:
        """A customer's invoices (those in ``status`` if given), oldest first."""
        if status is None:
            return self._uow.find(Invoice, customer_id=customer_id)
        return self._uow.find(Invoice, customer_id=customer_id, status=status)


class CreditNotes(Entities[CreditNote]):
    """``uow.credit_notes``: credit notes by id, by number, by customer."""

    entity = CreditNote

    def by_number(self, number: str) -> CreditNote | None:
        """The credit note with this number (case and surrounding spaces ignored), or ``None``."""
        return self._by_lookup(number, "number")

    def for_customer(self, customer_id: str) -> list[CreditNote]:
        """A customer's credit notes, oldest first."""
        return self._uow.find(CreditNote, customer_id=customer_id)


class PaymentMethods(Entities[PaymentMethod]):
    """``uow.payment_methods``: saved payment methods, and bank transfers by reference."""

    entity = PaymentMethod

    def by_reference(self, reference: str) -> PaymentMethod | None:
        """The bank-transfer payment method payers quote ``reference`` for (case-insensitive), or ``None``.

        Served by the lookup-key index; the oldest one when several share a reference.
        """
        found = self._uow.find(PaymentMethod, **{LOOKUP_FIELD: normalize(reference)})
        return found[0] if found else None

    def for_customer(self, customer_id: str) -> list[PaymentMethod]:
        """A customer's payment methods, oldest first."""
        return self._uow.find(PaymentMethod, customer_id=customer_id)


class Claims:
    """``uow.claims``: unique keys (charged periods, idempotency keys, imported transfers).

    Example:
        >>> from subkit.adapters.storage.memory import InMemoryStore
        >>> with InMemoryStore().begin() as uow:
        ...     uow.claims.claim("transfer:stmt-1")
        ...     "transfer:stmt-1" in uow.claims
        True
    """

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def claim(self, key: str) -> None:
        """Record ``key``; ``DuplicateError`` if taken (now, or at commit)."""
        self._uow.claim(key)

    def claimed(self, key: str) -> bool:
        """Whether ``key`` was claimed (committed, or earlier in this unit of work)."""
        return self._uow.claimed(key)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._uow.claimed(key)


class NumberSeries:
    """``uow.numbers``: gap-free number series (``uow.numbers.next("INV")`` -> 1, 2, 3...).

    Example:
        >>> from subkit.adapters.storage.memory import InMemoryStore
        >>> with InMemoryStore().begin() as uow:
        ...     uow.numbers.next("INV"), uow.numbers.next("INV"), uow.numbers.next("CN")
        (1, 2, 1)
    """

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def next(self, series: str) -> int:
        """The next number of ``series``; a rollback gives it back."""
        return self._uow.next_number(series)


class Outbox:
    """``uow.outbox``: events committed with the state change that produced them.

    Example:
        >>> from datetime import datetime, UTC
        >>> from subkit.adapters.storage.memory import InMemoryStore
        >>> from subkit.core.events import EventType
        >>> store = InMemoryStore()
        >>> with store.begin() as uow:
        ...     uow.outbox.publish(Event.of(EventType.INVOICE_PAID, datetime(2027, 1, 1, tzinfo=UTC), "in_1"))
        >>> [e.type.value for e in store.pending_events()]
        ['invoice.paid']
    """

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def publish(self, *events: Event) -> None:
        """Append events, in order (an event id already there is stored once)."""
        for event in events:
            self._uow.publish(event)
