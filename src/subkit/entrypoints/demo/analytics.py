"""The demo's last step: the year's subscription analytics, printed, and charts next to the database.

The figures at the end of the simulated months, in the reporting currency (the demo reports in
USD, every other invoice at the rate it locked; a book without a reporting currency gets one row
per currency): MRR, ARR, paying customers, ARPA, the average monthly logo churn, NRR and LTV
(ARPA x 80% gross margin / monthly churn). The charts (``analytics-mrr.png``,
``analytics-cohorts.png``, and ``analytics-revenue.png`` from the demo's revenue waterfall when
it is in the same currency) are drawn for the first row, when matplotlib is installed
(``subkit[plot]``).

Example:
    >>> from decimal import Decimal
    >>> row = AnalyticsRow("USD", 250000, 50, Decimal("0.02"), Decimal("1.05"), 400000)
    >>> row.arr_minor, row.arpa_minor
    (3000000, 5000)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from subkit.analytics.mrr import divide_half_up
from subkit.entrypoints.demo.business import CURRENCIES
from subkit.entrypoints.text import money, table
from subkit.invoice.invoice import Invoice
from subkit.services.analytics import Analytics, AnalyticsReport
from subkit.services.engine import BillingEngine

__all__ = ["CHARTS", "GROSS_MARGIN", "AnalyticsRow", "analytics_lines", "with_analytics"]

#: The gross margin the demo's LTV assumes.
GROSS_MARGIN = Decimal("0.8")
#: The chart files the demo writes next to its database (the revenue one when revenue was recognized).
CHARTS = ("analytics-mrr.png", "analytics-cohorts.png", "analytics-revenue.png")
S = TypeVar("S")


@dataclass(frozen=True, slots=True)
class AnalyticsRow:
    """One currency's figures at the end of the demo (minor units of ``currency``)."""

    currency: str
    mrr_minor: int
    customers: int
    logo_churn: Decimal | None
    nrr: Decimal | None
    ltv_minor: int | None

    @property
    def arr_minor(self) -> int:
        """12 x MRR."""
        return 12 * self.mrr_minor

    @property
    def arpa_minor(self) -> int:
        """MRR per paying customer, rounded half-up."""
        return divide_half_up(self.mrr_minor, self.customers)


def _row(report: AnalyticsReport) -> AnalyticsRow:
    s = report.snapshot
    return AnalyticsRow(
        s.currency, s.mrr_minor, s.customers, report.rates.logo_churn, report.rates.nrr, report.ltv_minor
    )


def with_analytics(summary: S, engine: BillingEngine, db_path: str, end: datetime, months: int) -> S:
    """``summary`` (a :class:`~subkit.entrypoints.demo.summary.DemoSummary`) with the analytics of
    the ``months`` months up to ``end``, and the charts written in ``db_path``'s folder (a file path;
    none for a database URL)."""
    reporting = engine.config.reporting_currency
    if reporting is not None:
        books = [engine.analytics(gross_margin=GROSS_MARGIN)]
    else:
        with engine.store.begin() as uow:
            found = {i.currency for i in uow.find(Invoice) if i.subscription_id is not None}
        currencies = [c for c in CURRENCIES if c in found] + sorted(found - set(CURRENCIES))
        books = [engine.analytics(currency=c, gross_margin=GROSS_MARGIN) for c in currencies]
    reports = [b.report(end, months=months) for b in books]
    charts: tuple[str, ...] = ()
    if reports and "://" not in db_path:
        revenue = _recognized(summary, reports[0].currency)
        charts = _charts(books[0], reports[0], Path(db_path).resolve().parent, revenue)
    changes: dict[str, Any] = {"analytics": tuple(_row(r) for r in reports), "charts": charts}
    return dataclasses.replace(summary, **changes)  # type: ignore[type-var]


def _recognized(summary: object, currency: str) -> dict[str, dict[str, int]] | None:
    """The demo's revenue waterfall (its revenue section, when it has one in ``currency``) as the
    plain mapping the chart takes: month recognized -> {month booked: amount}."""
    section = getattr(summary, "revenue", None)
    if section is None or getattr(section, "currency", None) != currency:
        return None
    out: dict[str, dict[str, int]] = {}
    for booked, _billed, cells in section.waterfall:
        for month, amount in zip(section.months, cells, strict=True):
            if amount:
                out.setdefault(f"{month:%Y-%m}", {})[f"{booked:%Y-%m}"] = amount
    return out or None


def _charts(
    analytics: Analytics, report: AnalyticsReport, folder: Path, revenue: dict[str, dict[str, int]] | None
) -> tuple[str, ...]:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return ()
    written = analytics.write_charts(folder, report, revenue=revenue, prefix="analytics-")
    return tuple(p.name for p in written)


def _rate(r: Decimal | None) -> str:
    return "-" if r is None else f"{(r * 100).quantize(Decimal('0.1'))}%"


def analytics_lines(rows: tuple[AnalyticsRow, ...], charts: tuple[str, ...], end: datetime) -> list[str]:
    """The summary's analytics section (empty without rows)."""
    if not rows:
        return []
    out = [
        "",
        f"Subscription analytics at {end.date().isoformat()} (MRR from invoices; churn and NRR per month)",
    ]
    header = ("Currency", "MRR", "ARR", "Customers", "ARPA", "Logo churn", "NRR", "LTV (80% margin)")
    out.extend(
        table(
            header,
            [
                (
                    r.currency,
                    money(r.mrr_minor, r.currency),
                    money(r.arr_minor, r.currency),
                    f"{r.customers:,}",
                    money(r.arpa_minor, r.currency),
                    _rate(r.logo_churn),
                    _rate(r.nrr),
                    "no churn" if r.ltv_minor is None else money(r.ltv_minor, r.currency),
                )
                for r in rows
            ],
            right=range(1, len(header)),
            indent="  ",
        )
    )
    if charts:
        out.append(f"  charts ({rows[0].currency}) next to the database: {', '.join(charts)}")
    return out
