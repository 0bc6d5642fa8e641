"""Store adapters: in memory (tests, simulations) and SQL (SQLite, PostgreSQL).

:class:`UnitOfWorkBase` is what both share, and what a host's own store can inherit: the
``with`` protocol, and one small repository per aggregate (``uow.invoices``,
``uow.payment_methods``, ``uow.claims``, ``uow.numbers``, ``uow.outbox``...; see
:mod:`subkit.adapters.storage.repositories`) built on the unit of work's generic methods.

Example:
    >>> from subkit.adapters.storage.memory import InMemoryStore
    >>> with InMemoryStore().begin() as uow:
    ...     uow.next_number("INV"), uow.numbers.next("INV"), uow.invoices.by_number("INV-000001")
    (1, 2, None)
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Self, TypeVar, cast

from subkit.adapters.storage.paging import USAGE, page_found, page_query, usage_page
from subkit.adapters.storage.repositories import (
    Claims,
    CreditNotes,
    Customers,
    Invoices,
    NumberSeries,
    Outbox,
    PaymentMethods,
    Subscriptions,
)
from subkit.core.model import Entity
from subkit.core.paging import DEFAULT_LIMIT, Page
from subkit.errors import StateError
from subkit.usage.event import UsageRow

if TYPE_CHECKING:
    from subkit.ports import UnitOfWork, UsageRepository

E = TypeVar("E", bound=Entity)

__all__ = ["UnitOfWorkBase"]


class UnitOfWorkBase:
    """The ``with`` protocol and the repositories shared by subkit's units of work.

    Subclasses set ``self._done = False``, implement the generic methods of
    :class:`subkit.ports.UnitOfWork` (``get``, ``find``, ``add``...) and ``commit`` and
    ``rollback`` (which set ``_done``); an explicit ``commit()`` or ``rollback()`` inside
    the block ends it early. The repositories come for free, built on those methods.
    """

    _done: bool

    def commit(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def rollback(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._done:
            return
        if exc_type is None:
            self.commit()
        else:
            self.rollback()

    def _check_open(self) -> None:
        if self._done:
            raise StateError("this unit of work is already committed or rolled back; begin a new one")

    # -- pages (subkit.adapters.storage.paging) --------------------------------------------
    def page(
        self,
        kind: type[E],
        where: Mapping[str, object],
        *,
        after: str | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> Page[E]:
        """One page of ``kind``, newest first (the reference implementation, over ``find``)."""
        self._check_open()
        return page_found(self._uow, kind, page_query(kind, where, after, limit))

    def page_usage(
        self, where: Mapping[str, object], *, after: str | None = None, limit: int = DEFAULT_LIMIT
    ) -> Page[UsageRow]:
        """One page of a subscription's usage events, newest first.

        The reference implementation: all of the subscription's events (of the metric) read with
        ``uow.usage.events`` and paged in memory; subkit's stores page in the store instead.
        """
        self._check_open()
        q = page_query(USAGE, where, after, limit)
        usage = self._uow.usage
        metric = q.where.get("metric")
        rows = usage.events(
            str(q.where["subscription_id"]), metric=None if metric is None else str(metric), limit=2**62
        )
        return usage_page(rows, q, None if after is None else usage.get(after))

    # -- repositories (one per aggregate, over the generic methods) -------------------------
    # Built on each access (a few hundred nanoseconds) rather than cached on the unit of work:
    # a cached repository would hold its unit of work in a reference cycle.
    @property
    def _uow(self) -> UnitOfWork:
        return cast("UnitOfWork", self)

    @property
    def customers(self) -> Customers:
        """The customers."""
        return Customers(self._uow)

    @property
    def subscriptions(self) -> Subscriptions:
        """The subscriptions (``for_customer``)."""
        return Subscriptions(self._uow)

    @property
    def invoices(self) -> Invoices:
        """The invoices (``by_number``, ``for_customer``)."""
        return Invoices(self._uow)

    @property
    def credit_notes(self) -> CreditNotes:
        """The credit notes (``by_number``, ``for_customer``)."""
        return CreditNotes(self._uow)

    @property
    def payment_methods(self) -> PaymentMethods:
        """The payment methods (``by_reference``, ``for_customer``)."""
        return PaymentMethods(self._uow)

    @property
    def usage(self) -> UsageRepository:
        """Metered usage events (``ingest``, ``aggregate``...): each store's own ``_usage_repository``."""
        return self._usage_repository()

    def _usage_repository(self) -> UsageRepository:  # pragma: no cover - overridden
        raise NotImplementedError("this unit of work has no usage repository")

    @property
    def claims(self) -> Claims:
        """Unique keys (``claim``, ``claimed``, ``in``)."""
        return Claims(self._uow)

    @property
    def numbers(self) -> NumberSeries:
        """Gap-free number series (``next``)."""
        return NumberSeries(self._uow)

    @property
    def outbox(self) -> Outbox:
        """Events committed with the state (``publish``)."""
        return Outbox(self._uow)
