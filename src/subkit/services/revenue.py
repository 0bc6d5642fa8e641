"""Revenue books from the store: schedules, journals, period close and reports.

:class:`RevenueBooks` reads (never writes) invoices, credit notes, payment attempts and
refunds, and hands them to the pure :func:`subkit.revenue.books.build_books`. The one thing
it writes is its own: a :class:`~subkit.revenue.close.RevenueClose` when a month is closed.

An annual $365 plan from Jan 1 (the issue's reference case).

Example:
    >>> from datetime import UTC, date, datetime
    >>> from subkit.invoice.invoice import Invoice, InvoiceLine, LineKind
    >>> from subkit.testing import InMemoryStore, TestClock
    >>> store, at = InMemoryStore(), datetime(2027, 1, 1, tzinfo=UTC)
    >>> plan = InvoiceLine.build("Annual", LineKind.RECURRING, unit_amount="365", currency="USD",
    ...                          period_start=at, period_end=datetime(2028, 1, 1, tzinfo=UTC))
    >>> with store.begin() as uow:
    ...     uow.add(Invoice.draft("in_1", "cus_1", "USD", [plan], at=at).issue("INV-1", at))
    >>> rb = RevenueBooks(store, TestClock(datetime(2027, 4, 1, tzinfo=UTC)))
    >>> rb.recognized_revenue(date(2027, 1, 1), date(2027, 4, 1))
    {'2027-01': 3100, '2027-02': 2800, '2027-03': 3100}
    >>> rb.close(date(2027, 1, 1)).id
    'revenue_close_2027-01'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal

from subkit.core.periods import ensure_aware
from subkit.errors import NotFoundError, PeriodClosedError, StateError
from subkit.invoice.invoice import CreditNote, Invoice, InvoiceLine
from subkit.payment.attempts import PaymentAttempt, Refund
from subkit.ports import Clock, Store, UnitOfWork
from subkit.revenue.books import Books, build_books
from subkit.revenue.close import RevenueClose, close_id, lock_of
from subkit.revenue.journal import Chart
from subkit.revenue.reports import (
    RollForward,
    Waterfall,
    balances,
    journal_csv,
    recognized_revenue,
    rollforward,
    rollforward_by_month,
    waterfall,
)
from subkit.revenue.schedule import RecognitionPolicy, local_date, month_index, month_of
from subkit.services.context import CatalogRecord

__all__ = ["RevenueBooks"]


class RevenueBooks:
    """The revenue books of a store, with the host's policy and chart of accounts.

    ``write_offs`` dates uncollectible invoices (invoice id -> when; the store keeps no date);
    ``settlement_rates`` books a payment's cash at its own rate (attempt id -> rate).

    Example:
        >>> from datetime import UTC, datetime
        >>> from subkit.testing import InMemoryStore, TestClock
        >>> RevenueBooks(InMemoryStore(), TestClock(datetime(2027, 1, 1, tzinfo=UTC))).books().entries
        []
    """

    __slots__ = ("chart", "clock", "policy", "settlement_rates", "store", "write_offs")

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        policy: RecognitionPolicy | None = None,
        chart: Chart | None = None,
        write_offs: Mapping[str, datetime] | None = None,
        settlement_rates: Mapping[str, Decimal] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.policy = policy or RecognitionPolicy()
        self.chart = chart or Chart()
        self.write_offs = dict(write_offs or {})
        self.settlement_rates = dict(settlement_rates or {})

    def _product_of(self, uow: UnitOfWork) -> Callable[[InvoiceLine], str]:
        try:
            catalog = uow.get(CatalogRecord, "catalog").catalog
        except NotFoundError:
            products: dict[str, str] = {}
        else:
            products = {p.id: p.product_id for p in catalog.plans}

        def product_of(line: InvoiceLine) -> str:
            if line.plan_id is not None:
                return products.get(line.plan_id, line.plan_id)
            return line.item_id or line.kind.value

        return product_of

    def _build(self, uow: UnitOfWork) -> tuple[Books, list[RevenueClose]]:
        closes = uow.find(RevenueClose)
        books = build_books(
            uow.find(Invoice),
            uow.find(CreditNote),
            uow.find(PaymentAttempt),
            uow.find(Refund),
            policy=self.policy,
            lock=lock_of(closes),
            write_offs=self.write_offs,
            settlement_rates=self.settlement_rates,
            product_of=self._product_of(uow),
        )
        return books, closes

    def books(self) -> Books:
        """Obligations, revenue rows and journal entries of everything in the store now."""
        with self.store.begin() as uow:
            return self._build(uow)[0]

    def closes(self) -> list[RevenueClose]:
        """The closes so far, oldest first."""
        with self.store.begin() as uow:
            return sorted(uow.find(RevenueClose), key=lambda c: c.through)

    def close(self, month: date, *, at: datetime | None = None, by: str = "") -> RevenueClose:
        """Close every open month up to and including ``month`` (any day of it); returns the close.

        A month can be closed once it has ended (in the books' time zone); closing a month
        already closed is a :class:`~subkit.errors.PeriodClosedError`. Two closes racing for
        one month cannot both commit (the close's id is unique per month).
        """
        now = ensure_aware(at) if at is not None else self.clock.now()
        through = month_index(month)
        if through >= month_index(local_date(now, self.policy.tz)):
            raise StateError(
                f"{month_of(through).isoformat()[:7]} has not ended yet: close a month after its last day",
                field="month",
            )
        with self.store.begin() as uow:
            books, closes = self._build(uow)
            last = max((month_index(c.through) for c in closes), default=None)
            if last is not None and through <= last:
                raise PeriodClosedError(
                    f"{month_of(through).isoformat()[:7]} is already closed (closed through "
                    f"{month_of(last).isoformat()[:7]}): a closed period is never rewritten",
                    field="month",
                )
            end = month_of(through + 1)
            first = month_of(last + 1) if last is not None else None
            sources: set[str] = set()
            totals: dict[str, int] = {}
            for e in books.entries:
                if e.on >= end or (first is not None and e.on < first):
                    continue
                sources.add(e.source_id)
                for p in e.postings:
                    key = f"{e.currency}:{p.account.value}"
                    totals[key] = totals.get(key, 0) + p.signed_minor
            if first is None:
                first = min((e.on for e in books.entries), default=month_of(through)).replace(day=1)
            record = RevenueClose(
                id=close_id(month_of(through)),
                first=first,
                through=month_of(through),
                closed_at=now,
                closed_by=by,
                sources=tuple(sorted(sources)),
                totals=dict(sorted(totals.items())),
            )
            uow.claim(record.id)
            uow.add(record)
        return record

    # -- reports -------------------------------------------------------------------------
    def waterfall(self, start: date, end: date, currency: str | None = None) -> Waterfall:
        """Bookings by month against recognition by month (:func:`subkit.revenue.reports.waterfall`)."""
        return waterfall(self.books(), start, end, currency)

    def rollforward(self, start: date, end: date, currency: str | None = None) -> RollForward:
        """Deferred revenue roll-forward of ``[start, end)``."""
        return rollforward(self.books(), start, end, currency)

    def rollforward_by_month(self, start: date, end: date, currency: str | None = None) -> list[RollForward]:
        """One roll-forward per month of ``[start, end)``."""
        return rollforward_by_month(self.books(), start, end, currency)

    def recognized_revenue(
        self, start: date, end: date, by: str = "month", currency: str | None = None
    ) -> dict[str, int]:
        """Revenue recognized less reversals in ``[start, end)``, by month, product or customer."""
        return recognized_revenue(self.books(), start, end, by, currency)

    def balances(self, through: date, currency: str | None = None) -> dict[str, int]:
        """The trial balance at the end of ``through``, by account code (debit positive)."""
        return {self.chart.code(a): v for a, v in balances(self.books(), through, currency).items()}

    def journal_csv(self, start: date | None = None, end: date | None = None) -> str:
        """The journal entries of ``[start, end)`` as CSV in the host's account codes."""
        return journal_csv(self.books(), start, end, self.chart)
