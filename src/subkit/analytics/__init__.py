"""Subscription analytics: MRR, ARR, movements, churn, retention, LTV, cohorts, churn risk, charts.

Pure domain code: values in, values out. :mod:`~subkit.analytics.timeline` rebuilds each
subscription's MRR history from its invoices, :class:`~subkit.analytics.mrr.MrrBook` holds the
histories, and the other modules compute from a book. :mod:`subkit.services.analytics` reads a
store and puts them together. See ``docs/analytics.md``.

Example:
    >>> from datetime import datetime, UTC
    >>> t = [datetime(2027, m, 1, tzinfo=UTC) for m in (1, 2, 3)]
    >>> book = MrrBook([MrrPoint.trusted("sub_1", "cus_1", t[0], 2000)], "USD")
    >>> [m.new for m in monthly_movements(book, t)], book.snapshot(t[1]).arr_minor
    ([2000, 0], 24000)
"""

from subkit.analytics.cohorts import Cohort, cohorts
from subkit.analytics.movements import CustomerMovement, MovementKind, Movements, monthly_movements, movements
from subkit.analytics.mrr import MrrBook, MrrPoint, MrrSnapshot, monthly_factor, monthly_minor, to_reporting
from subkit.analytics.rates import Rates, ltv, rates
from subkit.analytics.risk import CustomerRisk, CustomerSignals, RiskFlag, RiskReason, churn_risk
from subkit.analytics.timeline import SubscriptionHistory, history_of, mrr_points

__all__ = [
    "Cohort",
    "CustomerMovement",
    "CustomerRisk",
    "CustomerSignals",
    "MovementKind",
    "Movements",
    "MrrBook",
    "MrrPoint",
    "MrrSnapshot",
    "Rates",
    "RiskFlag",
    "RiskReason",
    "SubscriptionHistory",
    "churn_risk",
    "cohorts",
    "history_of",
    "ltv",
    "monthly_factor",
    "monthly_minor",
    "monthly_movements",
    "movements",
    "mrr_points",
    "rates",
    "to_reporting",
]
