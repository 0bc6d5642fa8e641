"""Lists with filters and cursor paging, and customers by e-mail (``engine.list_invoices(...)``...).

Every list answers a :class:`~subkit.core.paging.Page` as Stripe's list calls do: newest
first (creation time, then id), ``limit`` from 1 to 100 (default 10), ``after=`` the id of
the last object of the previous page (Stripe's ``starting_after``; ``page.next_cursor``),
``has_more``. Filters are keyword arguments, as Lago's list endpoints take
``external_customer_id`` and ``status``; ``None`` means no filter, ranges are half-open
(``created_gte <= created < created_lt``, aware datetimes). The same request gives the same
page on every store; SQL stores serve it from an index
(:mod:`subkit.adapters.storage.paging` has the rules).

:class:`Listing` is mixed into :class:`~subkit.services.engine.BillingEngine`; a
:class:`~subkit.services.collector.PaymentCollector` lists payments through its engine.

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.testing import InMemoryStore, TestClock
    >>> from subkit.services.engine import BillingEngine
    >>> engine = BillingEngine(InMemoryStore(), TestClock(datetime(2027, 1, 1, tzinfo=UTC)))
    >>> for n in range(1, 4):
    ...     _ = engine.create_customer(id=f"cus_{n}", name="Ada", currency="EUR",
    ...                                email=f"ADA{n % 2}@example.com")
    >>> page = engine.list_customers(limit=2)
    >>> [c.id for c in page], page.has_more, page.next_cursor
    (['cus_3', 'cus_2'], True, 'cus_2')
    >>> [c.id for c in engine.customers_by_email("ada1@Example.com")]
    ['cus_1', 'cus_3']
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TypeVar

from subkit.core.model import Entity
from subkit.core.paging import DEFAULT_LIMIT, Page
from subkit.customer.customer import Customer
from subkit.invoice.invoice import CreditNote, Invoice
from subkit.payment.attempts import PaymentAttempt
from subkit.services.context import ServiceContext
from subkit.subscription.model import Subscription
from subkit.usage.event import UsageEvent

__all__ = ["Listing", "page_of"]

E = TypeVar("E", bound=Entity)


def page_of(
    ctx: ServiceContext, kind: type[E], where: Mapping[str, object], after: str | None, limit: int
) -> Page[E]:
    """One page of ``kind`` read in its own unit of work (``uow.page``)."""
    with ctx.store.begin() as uow:
        return uow.page(kind, where, after=after, limit=limit)


class Listing:
    """The list methods of :class:`~subkit.services.engine.BillingEngine` (a mixin over ``_ctx``)."""

    _ctx: ServiceContext

    def list_customers(
        self,
        *,
        currency: str | None = None,
        created_gte: datetime | None = None,
        created_lt: datetime | None = None,
        limit: int = DEFAULT_LIMIT,
        after: str | None = None,
    ) -> Page[Customer]:
        """Customers, newest first (those created before subkit recorded creation times last)."""
        where = {"currency": currency, "created_gte": created_gte, "created_lt": created_lt}
        return page_of(self._ctx, Customer, where, after, limit)

    def customers_by_email(self, email: str) -> list[Customer]:
        """The customers with this e-mail address, oldest first (case-insensitive, whole address; indexed).

        The address is normalized as when a customer is stored (pydantic's ``EmailStr`` rules),
        then lower-cased as a whole: ``Ada@Example.com`` finds ``ada@example.com``. Several
        customers may share one; none is an empty list.
        """
        with self._ctx.store.begin() as uow:
            return uow.customers.by_email(email)

    def list_subscriptions(
        self,
        *,
        customer_id: str | None = None,
        status: str | None = None,
        currency: str | None = None,
        created_gte: datetime | None = None,
        created_lt: datetime | None = None,
        limit: int = DEFAULT_LIMIT,
        after: str | None = None,
    ) -> Page[Subscription]:
        """Subscriptions, newest first, of a customer, in a status (``"active"``...), currency, time range."""
        where = {
            "customer_id": customer_id,
            "status": status,
            "currency": currency,
            "created_gte": created_gte,
            "created_lt": created_lt,
        }
        return page_of(self._ctx, Subscription, where, after, limit)

    def list_invoices(
        self,
        *,
        customer_id: str | None = None,
        subscription_id: str | None = None,
        status: str | None = None,
        currency: str | None = None,
        created_gte: datetime | None = None,
        created_lt: datetime | None = None,
        limit: int = DEFAULT_LIMIT,
        after: str | None = None,
    ) -> Page[Invoice]:
        """Invoices, newest first, of a customer or subscription, in a status (``"open"``...), currency..."""
        where = {
            "customer_id": customer_id,
            "subscription_id": subscription_id,
            "status": status,
            "currency": currency,
            "created_gte": created_gte,
            "created_lt": created_lt,
        }
        return page_of(self._ctx, Invoice, where, after, limit)

    def list_credit_notes(
        self,
        *,
        customer_id: str | None = None,
        currency: str | None = None,
        created_gte: datetime | None = None,
        created_lt: datetime | None = None,
        limit: int = DEFAULT_LIMIT,
        after: str | None = None,
    ) -> Page[CreditNote]:
        """Credit notes, newest first, of a customer, in a currency, in a time range."""
        where = {
            "customer_id": customer_id,
            "currency": currency,
            "created_gte": created_gte,
            "created_lt": created_lt,
        }
        return page_of(self._ctx, CreditNote, where, after, limit)

    def list_payments(
        self,
        *,
        customer_id: str | None = None,
        status: str | None = None,
        currency: str | None = None,
        created_gte: datetime | None = None,
        created_lt: datetime | None = None,
        limit: int = DEFAULT_LIMIT,
        after: str | None = None,
    ) -> Page[PaymentAttempt]:
        """Payment attempts, newest first (by when they started), of a customer, in a status..."""
        where = {
            "customer_id": customer_id,
            "status": status,
            "currency": currency,
            "created_gte": created_gte,
            "created_lt": created_lt,
        }
        return page_of(self._ctx, PaymentAttempt, where, after, limit)

    def list_usage(
        self,
        subscription_id: str,
        *,
        metric: str | None = None,
        timestamp_gte: datetime | None = None,
        timestamp_lt: datetime | None = None,
        limit: int = DEFAULT_LIMIT,
        after: str | None = None,
    ) -> Page[UsageEvent]:
        """A subscription's usage events, newest first (timestamp, then id), of a metric, in a time range."""
        where = {
            "subscription_id": subscription_id,
            "metric": metric,
            "timestamp_gte": timestamp_gte,
            "timestamp_lt": timestamp_lt,
        }
        with self._ctx.store.begin() as uow:
            rows = uow.page_usage(where, after=after, limit=limit)
        return Page(tuple(UsageEvent.of(r, False) for r in rows), rows.has_more, rows.next_cursor)
