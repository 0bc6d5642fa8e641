"""Every protocol a host may implement, in one place.

subkit talks to the outside world only through these ports. Each has an
in-library implementation (see the table), and each has a contract test suite in
:mod:`subkit.testing.contracts` that a host runs against its own adapter.

==================  ==========================================  ==========================
Port                subkit's implementations                     Contract suite
==================  ==========================================  ==========================
``Clock``           ``SystemClock``, ``TestClock``               --
``Store``           ``InMemoryStore``, ``SqlStore``              ``StoreContract`` (one
                                                                 mixin per capability)
``EventPublisher``  ``testing.CollectingPublisher``              ``EventPublisherContract``
``PaymentGateway``  ``FakeGateway`` (``subkit.testing.gateway``)  ``GatewayContract``
``TaxProvider``     ``TaxEngine`` (``subkit.tax.engine``)        --
==================  ==========================================  ==========================

``WebhookTransport`` (sends a signed webhook) has ``adapters.webhooks.HttpxTransport`` and
``testing.webhooks.MockTransport``.

A unit of work reaches one small repository per aggregate (as cosmicpython's
``uow.batches``): ``uow.invoices.by_number("INV-000042")``,
``uow.payment_methods.by_reference("ACME-7781")``, ``uow.claims``, ``uow.numbers``,
``uow.outbox``... They are built on the generic methods (``get``, ``find``, ``add``...)
and come for free to a store whose unit of work inherits
:class:`subkit.adapters.storage.UnitOfWorkBase`; lookups go through an index, never a scan.

Example:
    >>> from subkit.adapters.storage.memory import InMemoryStore
    >>> from subkit.customer.customer import Customer
    >>> store: Store = InMemoryStore()
    >>> with store.begin() as uow:
    ...     uow.add(Customer(id="cus_1", name="Ada", currency="EUR"))
    >>> uow: UnitOfWork
    >>> with store.begin() as uow:
    ...     uow.get(Customer, "cus_1").name, uow.customers.get("cus_1").name
    ('Ada', 'Ada')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from types import TracebackType
from typing import Protocol, Self, TypeVar, runtime_checkable

from subkit.core.events import Event
from subkit.core.model import Entity
from subkit.core.paging import Page
from subkit.customer.customer import Customer
from subkit.fx.rates import ExchangeRate
from subkit.invoice.invoice import CreditNote, Invoice
from subkit.payment.methods import PaymentMethod
from subkit.payment.results import PaymentResult
from subkit.subscription.model import Subscription
from subkit.tax.engine import TaxRequest, TaxResult
from subkit.usage.aggregate import Group, UsageQuery
from subkit.usage.event import IngestResult, UsageRow

__all__ = [
    "ClaimRepository",
    "Clock",
    "CreditNoteRepository",
    "CustomerRepository",
    "EventPublisher",
    "ExchangeRateProvider",
    "InvoiceRepository",
    "NumberRepository",
    "OutboxRepository",
    "PaymentGateway",
    "PaymentMethodRepository",
    "Repository",
    "Store",
    "SubscriptionRepository",
    "TaxProvider",
    "UnitOfWork",
    "UsageRepository",
    "WebhookTransport",
]

E = TypeVar("E", bound=Entity)


@runtime_checkable
class Clock(Protocol):
    """Where "now" comes from. ``now()`` returns an aware datetime."""

    def now(self) -> datetime: ...


class Repository(Protocol[E]):
    """The entities of one kind in a unit of work (``uow.customers``); aggregate repositories extend it."""

    def get(self, id: str) -> E:
        """The entity, or ``NotFoundError``."""
        ...

    def get_many(self, ids: Sequence[str]) -> dict[str, E]:
        """The entities of ``ids`` that exist, by id."""
        ...

    def find(self, **where: object) -> list[E]:
        """Those whose indexed attributes equal ``where`` (see :meth:`UnitOfWork.find`)."""
        ...

    def add(self, entity: E) -> None:
        """Insert (``DuplicateError`` if the id exists)."""
        ...

    def update(self, entity: E) -> None:
        """Replace (``entity.version`` must be the stored version + 1)."""
        ...

    def page(self, *, after: str | None = None, limit: int = 10, **where: object) -> Page[E]:
        """One page, newest first, of those matching ``where`` (see :meth:`UnitOfWork.page`)."""
        ...


class CustomerRepository(Repository[Customer], Protocol):
    """``uow.customers``: by the host's ``external_id`` through an index (case and spaces ignored)."""

    def by_external_id(self, external_id: str) -> Customer | None:
        """The customer whose ``external_id`` is ``external_id``, or ``None``."""
        ...

    def by_email(self, email: str) -> list[Customer]:
        """The customers with this e-mail address (case-insensitive, whole address), oldest first."""
        ...


class SubscriptionRepository(Repository[Subscription], Protocol):
    """``uow.subscriptions``."""

    def for_customer(self, customer_id: str) -> list[Subscription]:
        """A customer's subscriptions, oldest first."""
        ...


class InvoiceRepository(Repository[Invoice], Protocol):
    """``uow.invoices``: by number through an index (case and surrounding spaces ignored)."""

    def by_number(self, number: str) -> Invoice | None:
        """The invoice numbered ``number`` (an exact match wins over one differing in case), or ``None``."""
        ...

    def for_customer(self, customer_id: str, *, status: str | None = None) -> list[Invoice]:
        """A customer's invoices (in ``status`` if given), oldest first."""
        ...


class CreditNoteRepository(Repository[CreditNote], Protocol):
    """``uow.credit_notes``: by number through an index."""

    def by_number(self, number: str) -> CreditNote | None:
        """The credit note numbered ``number``, or ``None``."""
        ...

    def for_customer(self, customer_id: str) -> list[CreditNote]:
        """A customer's credit notes, oldest first."""
        ...


class PaymentMethodRepository(Repository[PaymentMethod], Protocol):
    """``uow.payment_methods``: a bank transfer by the reference payers quote, through an index."""

    def by_reference(self, reference: str) -> PaymentMethod | None:
        """The bank-transfer method with this reference (case-insensitive; the oldest), or ``None``."""
        ...

    def for_customer(self, customer_id: str) -> list[PaymentMethod]:
        """A customer's payment methods, oldest first."""
        ...


class ClaimRepository(Protocol):
    """``uow.claims``: unique keys that make an operation happen once."""

    def claim(self, key: str) -> None:
        """Record ``key``; ``DuplicateError`` if taken (at once, or at commit)."""
        ...

    def claimed(self, key: str) -> bool:
        """Whether ``key`` was claimed."""
        ...

    def __contains__(self, key: object) -> bool: ...


class NumberRepository(Protocol):
    """``uow.numbers``: gap-free number series."""

    def next(self, series: str) -> int:
        """The next number of ``series`` (1, 2, 3...); a rollback gives it back."""
        ...


class OutboxRepository(Protocol):
    """``uow.outbox``: events committed with the state change that produced them."""

    def publish(self, *events: Event) -> None:
        """Append ``events`` in order; an event id already there is stored once."""
        ...


class UsageRepository(Protocol):
    """``uow.usage``: metered usage events, stored in bulk as plain rows and aggregated where they live.

    An event id is a unique key of the store (not a check per call): the same id twice is
    counted once, across units of work and processes, and reported as a duplicate; the same
    id with other content is :class:`~subkit.errors.UsageConflictError` and nothing of the
    batch is kept. SQL stores aggregate in the database (``GROUP BY``); nothing loads the
    history as objects. ``UsageContract`` checks all of it.
    """

    def ingest(self, rows: Sequence[UsageRow]) -> IngestResult:
        """Insert ``rows``; duplicates are reported by id (each counted once), conflicts refused."""
        ...

    def get(self, id: str) -> UsageRow | None:
        """The stored event ``id`` (committed, or ingested in this unit of work), or ``None``."""
        ...

    def aggregate(self, query: UsageQuery) -> dict[Group, Decimal]:
        """``query``'s quantity per group (:func:`subkit.usage.aggregate.aggregate_rows` defines it)."""
        ...

    def events(self, subscription_id: str, *, metric: str | None = None, limit: int = 1000) -> list[UsageRow]:
        """A subscription's events (of ``metric``), by timestamp then arrival, at most ``limit``."""
        ...

    def aggregate_many(self, queries: Sequence[UsageQuery]) -> list[dict[Group, Decimal]]:
        """Each query's answer, in order (SQL stores answer many subscriptions in one statement)."""
        ...

    def amounts(self, query: UsageQuery) -> dict[Group, list[Decimal]]:
        """Each event's number in the period, per group, in time order (per-transaction pricing)."""
        ...

    def late_span(self, subscription_id: str, before: int, recorded_since: int) -> tuple[int, int] | None:
        """Earliest and latest ``ts`` of late events (``late`` = 1) before ``before`` recorded since then."""
        ...


class UnitOfWork(Protocol):
    """One transaction: everything written through it commits together or not at all.

    Used as a context manager: it commits when the block ends normally and rolls
    back when it raises. Entities are stored whole (as JSON in SQL stores) and found
    by the indexed attributes of :data:`subkit.core.model.INDEX_FIELDS` and the lookup
    key of :mod:`subkit.adapters.storage.lookups` (``lookup_key``).

    Every store follows the same rules (:mod:`subkit.adapters.storage.rules`): ``find``
    refuses a non-indexed attribute with ``ValidationError``, and a value some store
    could not keep (text with a lone surrogate, an id or key with NUL, anything that does
    not serialize to JSON) is refused with ``ValidationError`` at the call or at the
    latest at commit, with nothing of the unit of work kept.

    The repositories (``uow.invoices`` ...) are the aggregate-shaped way in; the generic
    methods below are what a store implements.
    """

    @property
    def customers(self) -> CustomerRepository:
        """The customers."""
        ...

    @property
    def subscriptions(self) -> SubscriptionRepository:
        """The subscriptions."""
        ...

    @property
    def invoices(self) -> InvoiceRepository:
        """The invoices (``by_number``)."""
        ...

    @property
    def credit_notes(self) -> CreditNoteRepository:
        """The credit notes (``by_number``)."""
        ...

    @property
    def payment_methods(self) -> PaymentMethodRepository:
        """The payment methods (``by_reference``)."""
        ...

    @property
    def usage(self) -> UsageRepository:
        """Metered usage events (bulk ingestion, aggregation in the store)."""
        ...

    @property
    def claims(self) -> ClaimRepository:
        """Unique keys."""
        ...

    @property
    def numbers(self) -> NumberRepository:
        """Gap-free number series."""
        ...

    @property
    def outbox(self) -> OutboxRepository:
        """The outbox."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def get(self, kind: type[E], id: str) -> E:
        """The entity, or ``NotFoundError``."""
        ...

    def lock(self, kind: type[E], id: str, *, skip_locked: bool = False) -> E | None:
        """Re-read an entity and hold it against other writers until this unit of work ends.

        ``None`` when it does not exist, or, with ``skip_locked``, when another unit of work
        holds it (PostgreSQL ``FOR UPDATE [SKIP LOCKED]``; SQLite's write lock already
        serializes writers; the in-memory store checks versions at commit instead).
        """
        ...

    def get_many(self, kind: type[E], ids: Sequence[str]) -> dict[str, E]:
        """The entities of ``ids`` that exist, by id (one round trip for a whole batch)."""
        ...

    def find(self, kind: type[E], **where: object) -> list[E]:
        """Entities of ``kind`` whose indexed attributes equal ``where``, in insertion order.

        A list value means "is one of" (``subscription_id=["sub_1", "sub_2"]``). Any other
        attribute is refused with ``ValidationError`` (no store scans).
        """
        ...

    def page(
        self, kind: type[E], where: Mapping[str, object], *, after: str | None = None, limit: int = 10
    ) -> Page[E]:
        """One page of ``kind``, newest first (creation time, then id), after the object ``after``.

        ``where`` holds the kind's filters (a whitelist, the same on every store: see
        :mod:`subkit.adapters.storage.paging`); ``limit`` is 1 to 100. Objects inserted
        between pages never make a page repeat or skip one. SQL stores answer from an index.
        """
        ...

    def page_usage(
        self, where: Mapping[str, object], *, after: str | None = None, limit: int = 10
    ) -> Page[UsageRow]:
        """One page of a subscription's usage events, newest first (timestamp, then id)."""
        ...

    def add(self, entity: Entity) -> None:
        """Insert; ``DuplicateError`` if the id exists (at once, or at the latest at commit)."""
        ...

    def update(self, entity: Entity) -> None:
        """Replace; ``entity.version`` must be the stored version + 1, else ``ConcurrencyError``.

        The check may happen at once or at commit; either way nothing of the unit of work is kept.
        """
        ...

    def due(self, kind: type[E], until: datetime, limit: int) -> list[E]:
        """Up to ``limit`` entities whose ``due_at <= until``, earliest first (then by id).

        SQL stores on PostgreSQL lock the rows returned (``FOR UPDATE SKIP LOCKED``) so
        that concurrent workers claim disjoint sets.
        """
        ...

    def claim(self, key: str) -> None:
        """Record a unique key (charged period, idempotency key); ``DuplicateError`` if taken.

        A key taken earlier in the same unit of work is refused at once; one taken by another
        unit of work may be reported at commit (like a deferred constraint), rolling back all.
        """
        ...

    def claimed(self, key: str) -> bool:
        """Whether ``key`` was claimed (committed, or earlier in this unit of work)."""
        ...

    def next_number(self, series: str) -> int:
        """Next value of a gap-free sequence (1, 2, 3...); a rollback gives the number back."""
        ...

    def publish(self, event: Event) -> None:
        """Append an event to the outbox, committed with the rest."""
        ...

    def commit(self) -> None:
        """Commit now (the ``with`` block does this at its end)."""
        ...

    def rollback(self) -> None:
        """Discard every write of this unit of work (previews use this: nothing is left behind)."""
        ...


class Store(Protocol):
    """A persistent home for subkit's entities."""

    def begin(self) -> UnitOfWork:
        """Start a unit of work (use it in a ``with`` block)."""
        ...

    def pending_events(self, limit: int = 100) -> Sequence[Event]:
        """Committed outbox events not yet marked published, oldest first."""
        ...

    def mark_published(self, event_ids: Sequence[str]) -> None:
        """Mark outbox events as delivered."""
        ...


class EventPublisher(Protocol):
    """Delivers events to the host (webhooks, a queue, emails).

    Called with a batch of committed events, oldest first; raising leaves them in the
    outbox for the next relay, so a batch may come again (at least once): deliver in the
    order given and deduplicate on ``Event.id``. ``EventPublisherContract`` checks this.
    """

    def publish(self, events: Sequence[Event]) -> None:
        """Deliver ``events`` in order (each once, even when a batch is delivered again)."""
        ...


class PaymentGateway(Protocol):
    """Moves money: charges a saved payment method's token, refunds, reports on a payment.

    A decline is an answer, not an error: it comes back as a :class:`~subkit.payment.results.PaymentResult`
    with status ``declined`` or ``failed``. Only transport faults (timeouts, connection
    resets, 5xx) raise :class:`~subkit.errors.GatewayError`; the caller then retries with the
    **same** ``idempotency_key``, and the gateway must return the original result rather than
    charge twice (as Stripe does with its ``Idempotency-Key`` header). Amounts are integers in
    the currency's minor units. See :mod:`subkit.testing.gateway` for a scriptable fake.

    Example:
        >>> from subkit.testing.gateway import FakeGateway
        >>> gw: PaymentGateway = FakeGateway()
        >>> r = gw.charge(1000, "USD", "tok_visa", "charge:in_1:1", {"invoice_id": "in_1"})
        >>> again = gw.charge(1000, "USD", "tok_visa", "charge:in_1:1", {"invoice_id": "in_1"})
        >>> r.status.value, again.payment_id == r.payment_id   # a retry: the same payment
        ('succeeded', True)
    """

    def charge(
        self, amount_minor: int, currency: str, token: str, idempotency_key: str, metadata: Mapping[str, str]
    ) -> PaymentResult:
        """Charge ``token`` (off session); succeeded, pending, declined or failed."""
        ...

    def refund(self, payment_id: str, amount_minor: int, idempotency_key: str) -> PaymentResult:
        """Refund part or all of a succeeded payment; the result's ``payment_id`` is the refund's id."""
        ...

    def retrieve(self, payment_id: str) -> PaymentResult:
        """The current state of a payment (how a pending bank debit is seen to settle)."""
        ...


class TaxProvider(Protocol):
    """Computes the tax of an invoice's lines: the built-in engine, or an external service.

    ``calculate`` gets a :class:`~subkit.tax.engine.TaxRequest` (seller, customer, currency,
    the tax point's date, the lines, whether prices include tax, the rounding scope) and answers
    a :class:`~subkit.tax.engine.TaxResult`: one :class:`~subkit.tax.engine.LineTax` per line in
    the same order, the treatment, both tax ids and the mentions the invoice must carry. It is
    called inside the unit of work that builds the invoice, once per invoice: an adapter for a
    remote service should be quick or cache, and raise a :class:`~subkit.errors.SubkitError`
    (nothing is then written) rather than answer a guess. Set it as
    ``BillingConfig(tax=TaxSettings(provider=...))``; without one, subkit uses
    :class:`~subkit.tax.engine.TaxEngine`.

    Example:
        >>> from datetime import date
        >>> from subkit.customer.customer import Customer, Seller
        >>> from subkit.tax.engine import TaxEngine
        >>> provider: TaxProvider = TaxEngine()
        >>> request = TaxRequest(Seller(legal_name="Acme Ltd", country="GB"),
        ...                      Customer(id="c", name="Bo", currency="GBP", country="GB"), "GBP",
        ...                      date(2025, 1, 1), ())
        >>> provider.calculate(request).notes
        ('Place of supply: GB (billing country GB)',)
    """

    def calculate(self, request: TaxRequest) -> TaxResult:
        """The tax of ``request``'s lines, one result line per request line, in order."""


class ExchangeRateProvider(Protocol):
    """Exchange rates by day: ``StaticRateProvider`` (``subkit.fx``) and ``EcbRateProvider``
    (``subkit.adapters.ecb_rates``, the ECB reference history, offline) implement it.

    ``rate`` answers the rate in force on a day: on a day with no publication (a weekend, a
    holiday) the last one published before it, dated the day it was published. A currency
    the provider does not quote, or a day outside the history it holds, raises
    :class:`~subkit.errors.ExchangeRateNotFoundError`. Finalizing an invoice in a currency
    other than ``BillingConfig.reporting_currency`` calls it once and locks the answer.

    Example:
        >>> from datetime import date
        >>> from subkit.fx import StaticRateProvider
        >>> rates: ExchangeRateProvider = StaticRateProvider({"USD": "1.25"}, on=date(2027, 1, 4))
        >>> r = rates.rate("USD", "EUR", date(2027, 1, 5))
        >>> str(r.rate), r.date.isoformat()
        ('0.8', '2027-01-04')
    """

    def rate(self, base: str, quote: str, on: date) -> ExchangeRate:
        """Units of ``quote`` per one ``base`` in force on ``on``, with its date and source."""


class WebhookTransport(Protocol):
    """Sends one webhook request (``subkit.adapters.webhooks.HttpxTransport``; a fake in ``subkit.testing``).

    Returns the HTTP status code; raises (any exception) when no answer came (connection
    refused, timeout). The relay (:class:`subkit.services.webhooks.Webhooks`) retries both.

    Example:
        >>> from subkit.testing.webhooks import MockTransport
        >>> t: WebhookTransport = MockTransport(lambda request: 204)
        >>> t.send("https://example.test/hook", b"{}", {"Subkit-Signature": "t=0,v1=00"}, 5.0)
        204
    """

    def send(
        self,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        timeout: float,  # float ok: seconds
    ) -> int:
        """POST ``body`` with ``headers`` to ``url``; the response's status code."""
        ...
