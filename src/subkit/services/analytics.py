"""Analytics over a store: MRR, ARR, movements, churn, retention, LTV, cohorts, churn risk, charts.

One read of the store per kind (subscriptions, invoices, payment attempts), in one unit of work;
then the pure :mod:`subkit.analytics` computes. Each subscription's MRR history is rebuilt from its
finalized invoices (:mod:`subkit.analytics.timeline` says why and how), in the reporting currency
(``BillingConfig.reporting_currency``, or the one currency all invoices share).

On the SQL stores the aggregation runs in Python too, over one bulk read: entities are JSON
documents, and the history needs each invoice line's proration logic (the fraction the engine
charged), which SQL would have to repeat per dialect. The heavy part after the read (movements
for every month of a million subscriptions) follows the points, not the month grid; see
``bench/bench_analytics.py``.

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.catalog.catalog import Catalog, Plan, Product
    >>> from subkit.catalog.pricing import FlatFee
    >>> from subkit.services.engine import BillingEngine
    >>> from subkit.testing import InMemoryStore, TestClock
    >>> clock = TestClock(datetime(2027, 1, 1, tzinfo=UTC))
    >>> engine = BillingEngine(InMemoryStore(), clock)
    >>> engine.set_catalog(Catalog(products=(Product(id="app", name="App"),), plans=(
    ...     Plan(id="basic", product_id="app", name="Basic", prices={"USD": FlatFee(flat_amount="10")}),)))
    >>> sub = engine.subscribe(engine.create_customer(name="Ada", currency="USD").id, "basic")
    >>> _ = clock.travel_to(datetime(2027, 3, 1, tzinfo=UTC)); _ = engine.advance()
    >>> analytics = engine.analytics()
    >>> jan = datetime(2027, 1, 1, tzinfo=UTC)
    >>> analytics.snapshot().mrr_minor, [m.new for m in analytics.monthly(jan, 2)]
    (1000, [1000, 0])
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from dateutil.relativedelta import relativedelta

from subkit.analytics.cohorts import Cohort, cohorts
from subkit.analytics.movements import Movements, monthly_movements, movements
from subkit.analytics.mrr import MrrBook, MrrPoint, MrrSnapshot, check_aware, month_starts, monthly_minor
from subkit.analytics.rates import Rates, ltv, rates
from subkit.analytics.risk import CustomerRisk, CustomerSignals, churn_risk
from subkit.analytics.timeline import history_of, mrr_points
from subkit.core.heap import frozen_heap
from subkit.core.money import check_currency
from subkit.core.periods import MONTHLY, zone
from subkit.errors import CurrencyMismatchError
from subkit.invoice.invoice import Invoice, InvoiceItem, InvoiceLine, InvoiceStatus, LineKind
from subkit.payment.attempts import AttemptStatus, PaymentAttempt
from subkit.services.context import ServiceContext
from subkit.subscription.model import ChangeAction, Subscription, SubscriptionStatus

__all__ = ["Analytics", "AnalyticsReport"]

_ONE = Decimal(1)
_FAILED = frozenset({AttemptStatus.FAILED, AttemptStatus.DECLINED})
_PAST_DUE = frozenset({SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID})


@dataclass(frozen=True, slots=True)
class AnalyticsReport:
    """The figures of a year (or any run of months) ending at ``at``: plain data.

    ``ltv_minor`` is ``None`` when no customer churned in the months (LTV has no finite value).

    Example:
        >>> AnalyticsReport.__dataclass_fields__.keys() >= {"snapshot", "periods", "rates", "ltv_minor"}
        True
    """

    at: datetime
    snapshot: MrrSnapshot
    periods: list[Movements]
    rates: Rates
    gross_margin: Decimal
    ltv_minor: int | None
    cohorts: list[Cohort]
    risks: list[CustomerRisk]

    @property
    def currency(self) -> str:
        """The reporting currency."""
        return self.snapshot.currency


class Analytics:
    """The analytics service: reads the store once per call, computes with :mod:`subkit.analytics`.

    ``reporting_currency`` overrides ``BillingConfig.reporting_currency``; ``timezone`` is where
    months begin; ``gross_margin`` (a fraction, 1 by default) weighs LTV; ``include_usage``
    counts metered usage in MRR (the last billed usage carries forward). ``currency`` keeps only
    the subscriptions billed in it, reported in it (a book with no locked rates, one currency
    at a time).

    Example:
        >>> from datetime import datetime, UTC
        >>> from subkit.services.context import ServiceContext
        >>> from subkit.testing import InMemoryStore, TestClock
        >>> ctx = ServiceContext(InMemoryStore(), TestClock(datetime(2027, 1, 1, tzinfo=UTC)))
        >>> Analytics(ctx, reporting_currency="EUR").snapshot().mrr_minor
        0
    """

    __slots__ = ("ctx", "currency", "gross_margin", "include_usage", "reporting_currency", "timezone")

    def __init__(
        self,
        ctx: ServiceContext,
        *,
        reporting_currency: str | None = None,
        timezone: str = "UTC",
        gross_margin: Decimal = _ONE,
        include_usage: bool = True,
        currency: str | None = None,
    ) -> None:
        ltv(arpa_minor=0, monthly_churn=None, gross_margin=gross_margin)  # checks the margin now
        self.ctx = ctx
        self.currency = check_currency(currency) if currency is not None else None
        self.reporting_currency = self.currency or reporting_currency or ctx.config.reporting_currency
        self.timezone = timezone
        self.gross_margin = gross_margin
        self.include_usage = include_usage

    # ------------------------------------------------------------------ reading the store
    def _read(self) -> tuple[list[Subscription], dict[str, list[Invoice]], dict[str, list[InvoiceLine]], str]:
        with self.ctx.store.begin() as uow:
            subs = uow.find(Subscription)
            invoices = uow.find(Invoice)
            items = uow.find(InvoiceItem, status="pending")
        if self.currency is not None:
            subs = [s for s in subs if s.currency == self.currency]
            kept = {s.id for s in subs}
            invoices = [i for i in invoices if i.subscription_id in kept]
        pending: dict[str, list[InvoiceLine]] = defaultdict(list)
        for it in items:
            if it.subscription_id is not None:
                pending[it.subscription_id].append(it.line)
        by_sub: dict[str, list[Invoice]] = defaultdict(list)
        currencies = set()
        for inv in invoices:
            if inv.subscription_id is not None and inv.status not in (
                InvoiceStatus.DRAFT,
                InvoiceStatus.VOID,
            ):
                by_sub[inv.subscription_id].append(inv)
                currencies.add(inv.currency)
        reporting = self.reporting_currency
        if reporting is None:
            if len(currencies) > 1:
                raise CurrencyMismatchError(
                    f"invoices are in {', '.join(sorted(currencies))}: set BillingConfig.reporting_currency "
                    "(rates lock at finalization) or pass reporting_currency=",
                    field="reporting_currency",
                )
            reporting = next(iter(currencies), None) or (subs[0].currency if subs else "USD")
        return subs, by_sub, pending, reporting

    def points(self) -> tuple[list[MrrPoint], str]:
        """Every subscription's MRR points, and the reporting currency they are in."""
        subs, by_sub, pending, reporting = self._read()
        granularity = self.ctx.config.granularity
        out: list[MrrPoint] = []
        for sub in subs:
            out.extend(
                mrr_points(
                    history_of(sub),
                    by_sub.get(sub.id, ()),
                    reporting=reporting,
                    granularity=granularity,
                    include_usage=self.include_usage,
                    pending=pending.get(sub.id, ()),
                )
            )
        return out, reporting

    def book(self) -> MrrBook:
        """The MRR book of the whole store.

        Built inside :func:`~subkit.core.heap.frozen_heap` when ``BillingConfig(freeze_heap=True)``.
        """
        with frozen_heap() if self.ctx.config.freeze_heap else nullcontext():
            points, reporting = self.points()
            return MrrBook(points, reporting)

    # ------------------------------------------------------------------ figures
    def _at(self, at: datetime | None) -> datetime:
        return self.ctx.now(at)

    def snapshot(self, at: datetime | None = None, *, book: MrrBook | None = None) -> MrrSnapshot:
        """MRR, ARR, paying customers and ARPA at ``at`` (default: now)."""
        return (book or self.book()).snapshot(self._at(at))

    def movements(self, start: datetime, end: datetime, *, book: MrrBook | None = None) -> Movements:
        """The movements of ``[start, end)``, with the customer behind each."""
        return movements(book or self.book(), check_aware(start, "start"), check_aware(end, "end"))

    def monthly(
        self, first: datetime, months: int, *, details: bool = False, book: MrrBook | None = None
    ) -> list[Movements]:
        """The movements of ``months`` calendar months from ``first``'s month (in ``timezone``)."""
        return monthly_movements(
            book or self.book(), month_starts(first, months, self.timezone), details=details
        )

    def cohorts(self, first: datetime, months: int, *, book: MrrBook | None = None) -> list[Cohort]:
        """Retention by the month customers first paid in, ``months`` months from ``first``'s month."""
        return cohorts(book or self.book(), month_starts(first, months, self.timezone))

    def risks(
        self,
        at: datetime | None = None,
        *,
        lookback: relativedelta | None = None,
        book: MrrBook | None = None,
    ) -> list[CustomerRisk]:
        """Paying (or past-due) customers showing signs of churn at ``at``, each flag with its reason.

        ``lookback`` (one month by default) is the window for failed payments and downgrades.
        """
        at = self._at(at)
        since = at - (lookback or relativedelta(months=1))
        book = book or self.book()
        now_mrr, before = book.customer_mrr(at), book.customer_mrr(since)
        with self.ctx.store.begin() as uow:
            subs = uow.find(Subscription)
            attempts = uow.find(PaymentAttempt)
            invoices = uow.find(Invoice)
        if self.currency is not None:
            subs = [s for s in subs if s.currency == self.currency]
            invoices = [i for i in invoices if i.currency == self.currency]
            attempts = [a for a in attempts if a.currency == self.currency]
        past_due: dict[str, list[str]] = defaultdict(list)
        cancels: dict[str, list[str]] = defaultdict(list)
        for sub in subs:
            if sub.status in _PAST_DUE:
                past_due[sub.customer_id].append(sub.id)
            if sub.status != SubscriptionStatus.CANCELED and (
                sub.cancel_at_period_end or any(c.action == ChangeAction.CANCEL for c in sub.schedule)
            ):
                cancels[sub.customer_id].append(sub.id)
        failed: dict[str, int] = defaultdict(int)
        for a in attempts:
            if a.status in _FAILED and since <= a.started_at <= at:
                failed[a.customer_id] += 1
        usage = self._usage(invoices, book.currency, at)
        customers = set(now_mrr) | set(past_due)
        signals = [
            CustomerSignals(
                c,
                mrr_minor=now_mrr.get(c, 0),
                mrr_before_minor=before.get(c, 0),
                past_due=tuple(past_due.get(c, ())),
                failed_payments=failed.get(c, 0),
                usage_minor=usage.get(c, ()),
                cancel_scheduled=tuple(cancels.get(c, ())),
            )
            for c in sorted(customers)
        ]
        return churn_risk(signals)

    @staticmethod
    def _usage(invoices: Sequence[Invoice], reporting: str, at: datetime) -> dict[str, tuple[int, ...]]:
        """Each customer's billed usage per period end (reporting minor units, monthly), oldest first."""
        per: dict[str, dict[datetime, int]] = defaultdict(lambda: defaultdict(int))
        for inv in invoices:
            if inv.status in (InvoiceStatus.DRAFT, InvoiceStatus.VOID) or inv.subscription_id is None:
                continue
            rate = inv.fx_rate if inv.reporting_currency == reporting else None
            for ln in inv.lines:
                if ln.kind == LineKind.USAGE and ln.period_end is not None and ln.period_end <= at:
                    per[inv.customer_id][ln.period_end] += _to_minor(
                        ln.net_minor, inv.currency, reporting, rate
                    )
        return {c: tuple(v for _, v in sorted(d.items())) for c, d in per.items()}

    def report(self, at: datetime | None = None, *, months: int = 12) -> AnalyticsReport:
        """The figures of the last ``months`` complete calendar months before ``at`` (default: now).

        The report is as of the end of those months (``report.at``): its snapshot is the last
        month's closing, so MRR, ARR and ARPA agree with the movements to the cent.
        """
        now = self._at(at)
        local = now.astimezone(zone(self.timezone))
        # from `months` months before `now`'s month to the start of `now`'s month (at or before now)
        bounds = month_starts(local - relativedelta(months=months), months, self.timezone)
        end = bounds[-1]
        book = self.book()
        periods = monthly_movements(book, bounds, details=True)
        snap = book.snapshot(end, before=True)
        r = rates(periods)
        return AnalyticsReport(
            at=end,
            snapshot=snap,
            periods=periods,
            rates=r,
            gross_margin=self.gross_margin,
            ltv_minor=ltv(
                arpa_minor=snap.arpa_minor, monthly_churn=r.logo_churn, gross_margin=self.gross_margin
            ),
            cohorts=cohorts(book, bounds),
            risks=self.risks(end, book=book),
        )

    def write_charts(
        self,
        directory: str | os.PathLike[str],
        report: AnalyticsReport,
        *,
        revenue: Mapping[str, int | Mapping[str, int]] | None = None,
        prefix: str = "",
    ) -> list[Path]:
        """Save the report's charts as PNG files in ``directory``; the paths written.

        ``mrr.png`` (movements and MRR), ``cohorts.png`` (retention heatmap, when a cohort has
        customers), and ``revenue.png`` when ``revenue`` (month -> amount in minor units, or
        month -> {source: amount}) is given. Needs matplotlib (``subkit[plot]``).
        """
        from subkit.analytics.charts import cohort_heatmap, mrr_chart, revenue_waterfall

        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        figures = [("mrr", mrr_chart(report.periods))]
        if any(c.customers for c in report.cohorts):
            figures.append(("cohorts", cohort_heatmap(report.cohorts)))
        if revenue:
            figures.append(("revenue", revenue_waterfall(revenue, report.currency)))
        written = []
        for name, fig in figures:
            path = folder / f"{prefix}{name}.png"
            fig.savefig(path)
            written.append(path)
        return written


def _to_minor(minor: int, currency: str, reporting: str, rate: Decimal | None) -> int:
    """A billed amount in reporting minor units (a month's worth of a one-month charge)."""
    return monthly_minor(minor, currency, MONTHLY, reporting=reporting, fx_rate=rate)
