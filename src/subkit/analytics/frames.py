"""The figures as pandas DataFrames (``pip install 'subkit[analytics]'``), for notebooks and exports.

Every function also has a plain-data twin: :meth:`Movements.as_dict` and the values themselves;
these only arrange them in tables. Amounts stay integer minor units of the reporting currency.

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.analytics.movements import Movements
    >>> jan, feb = datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC)
    >>> m = Movements(jan, feb, "USD", opening=100, new=50)
    >>> movements_frame([m])[["opening", "new", "closing"]].to_dict("records")
    [{'opening': 100, 'new': 50, 'closing': 150}]
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

from subkit.analytics.cohorts import Cohort
from subkit.analytics.movements import Movements
from subkit.analytics.risk import CustomerRisk

__all__ = ["cohorts_frame", "customer_movements_frame", "movements_frame", "risk_frame"]


def _pandas() -> Any:
    try:
        pandas = importlib.import_module("pandas")  # no stubs needed: the frames are typed Any
    except ImportError as e:  # pragma: no cover - the analytics extra is installed in tests
        raise ImportError(f"DataFrames need pandas: pip install 'subkit[analytics]' ({e})") from e
    return pandas


def movements_frame(periods: Sequence[Movements]) -> Any:
    """One row per period: opening, the five movements, closing, customer counts."""
    return _pandas().DataFrame([m.as_dict() for m in periods])


def customer_movements_frame(periods: Sequence[Movements]) -> Any:
    """One row per customer movement (periods computed with ``details=True``).

    Example:
        >>> list(customer_movements_frame([]).columns)
        ['start', 'customer_id', 'kind', 'opening', 'closing', 'delta']
    """
    rows = [
        {
            "start": m.start.isoformat(),
            "customer_id": c.customer_id,
            "kind": c.kind.value,
            "opening": c.opening,
            "closing": c.closing,
            "delta": c.delta,
        }
        for m in periods
        for c in m.customers
    ]
    return _pandas().DataFrame(rows, columns=["start", "customer_id", "kind", "opening", "closing", "delta"])


def cohorts_frame(cohorts: Sequence[Cohort], *, by: str = "logos") -> Any:
    """Cohorts (rows, by start month) by age (columns): customers (``by="logos"``) or MRR (``"mrr"``).

    Ages a cohort has not reached yet are empty (``None``).
    """
    width = max((len(c.logos) for c in cohorts), default=0)
    rows = [list(c.logos if by == "logos" else c.mrr) for c in cohorts]
    return _pandas().DataFrame(
        [r + [None] * (width - len(r)) for r in rows],
        index=[f"{c.start:%Y-%m}" for c in cohorts],
        columns=list(range(width)),
    )


def risk_frame(risks: Sequence[CustomerRisk]) -> Any:
    """One row per flag: customer, MRR, reason, detail."""
    rows = [
        {"customer_id": r.customer_id, "mrr_minor": r.mrr_minor, "reason": f.reason.value, "detail": f.detail}
        for r in risks
        for f in r.flags
    ]
    return _pandas().DataFrame(rows, columns=["customer_id", "mrr_minor", "reason", "detail"])
