"""What a metered item used in a period, ready to price: quantities per group, and how to name them.

The metering service measures (one store query per metered item); the subscription's line
generator prices each group (:mod:`subkit.subscription.metered`). A weighted sum is an
average level over the period, so its unit is the metric's unit per interval of the
period: "GB-month" on a monthly plan (an unexplained fraction would not do).

Example:
    >>> from subkit.catalog.metrics import BillableMetric
    >>> from subkit.core.periods import MONTHLY
    >>> unit_label(BillableMetric(code="storage", aggregation="weighted_sum", field="gb", unit="GB"), MONTHLY)
    'GB-month'
    >>> unit_label(BillableMetric(code="api_calls"), MONTHLY)
    'api_calls'
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from subkit.catalog.metrics import Aggregation, BillableMetric
from subkit.core.periods import Interval
from subkit.usage.aggregate import Group

__all__ = ["Measured", "unit_label"]


class Measured(NamedTuple):
    """A metered item's usage in one period: quantity per group (``None``: ungrouped), its label.

    ``amounts`` holds each event's number per group when the price needs them (a percentage
    with a fixed fee or bounds per transaction); else ``None``.

    Example:
        >>> m = Measured(((None, Decimal(4000)),), "api_calls", None)
        >>> m.total
        Decimal('4000')
    """

    groups: tuple[tuple[Group, Decimal], ...]
    label: str
    amounts: dict[Group, list[Decimal]] | None = None
    group_by: str | None = None
    #: What interim invoices already billed of this period: group -> (quantity, exact charge).
    billed: dict[Group, tuple[Decimal, Decimal]] | None = None

    @property
    def total(self) -> Decimal:
        """The quantity over every group."""
        return sum((q for _, q in self.groups), Decimal(0))


def unit_label(metric: BillableMetric, interval: Interval) -> str:
    """How a quantity of ``metric`` reads on an invoice: its unit (or code); a weighted sum per period."""
    base = metric.unit or metric.code
    if metric.aggregation != Aggregation.WEIGHTED_SUM:
        return base
    unit = interval.unit.value
    return f"{base}-{unit}" if interval.count == 1 else f"{base}-{interval.count}-{unit}s"
