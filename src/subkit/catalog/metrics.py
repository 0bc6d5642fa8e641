"""Billable metrics: how a metric's usage events become the quantity a plan prices.

A :class:`BillableMetric` names the events it aggregates (``code``, which usage events
carry as their ``metric``), the :class:`Aggregation`, the event property it reads
(``field``), optional property ``filters`` (only events whose property is one of the
listed values count) and an optional ``group_by`` property (one quantity, and one
invoice line, per value: a price per region). ``unit`` is what a customer reads on the
invoice ("GB"); a weighted sum is shown per interval of the period ("GB-month").

The six aggregations, over the events of one billing period (as Lago defines them):

=================  ==================================================================
``count``          how many events
``sum``            the sum of ``field``
``max``            the largest ``field``
``unique_count``   how many distinct values of ``field``
``latest``         ``field`` of the last event by timestamp
``weighted_sum``   ``field`` is a change of level (+20 GB, -5 GB); the level held over
                   the period, weighted by how long each level lasted (per
                   microsecond), divided by the period's length: the average level, in
                   ``unit``-periods (GB-months). The level at the start carries over
                   from every earlier event.
=================  ==================================================================

Example:
    >>> m = BillableMetric(code="storage", aggregation="weighted_sum", field="gb", unit="GB")
    >>> m.aggregation.value, m.field
    ('weighted_sum', 'gb')
    >>> BillableMetric(code="calls", aggregation="count").numeric  # a count reads no property
    False
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar, Self

from pydantic import Field, model_validator

from subkit.core.model import Model
from subkit.errors import CatalogError, SubkitError

__all__ = ["DEFAULT_FIELD", "Aggregation", "BillableMetric"]

#: The property a plan's implicit metric sums (``record_usage(sub, "calls", 120)`` sets it).
DEFAULT_FIELD = "quantity"


class Aggregation(StrEnum):
    """How a metric's events in a period become one quantity.

    Example:
        >>> Aggregation("unique_count").name
        'UNIQUE_COUNT'
    """

    COUNT = "count"
    SUM = "sum"
    MAX = "max"
    UNIQUE_COUNT = "unique_count"
    LATEST = "latest"
    WEIGHTED_SUM = "weighted_sum"


class BillableMetric(Model):
    """What a metered plan bills: an aggregation of one property of one metric's events.

    ``filters`` maps a property to the values that count (``{"region": ("eu",)}``);
    ``group_by`` splits the quantity by a property's value (``"region"``).

    Example:
        >>> BillableMetric(code="calls", aggregation="sum", field="n", filters={"region": ("eu",)},
        ...                group_by="method").group_by
        'method'
        >>> BillableMetric(code="gb", aggregation="max", field=None)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        subkit.errors.CatalogError: [invalid_catalog] field: a max metric needs the event property it ...
    """

    _error: ClassVar[type[SubkitError]] = CatalogError
    code: str = Field(min_length=1)
    name: str = ""
    aggregation: Aggregation = Aggregation.SUM
    field: str | None = DEFAULT_FIELD  # ignored by count
    filters: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    group_by: str | None = None
    unit: str = ""

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.aggregation != Aggregation.COUNT and not self.field:
            raise CatalogError(
                f"a {self.aggregation.value} metric needs the event property it reads (field)", field="field"
            )
        for key, values in self.filters.items():
            if not values:
                raise CatalogError(
                    f"filter {key!r} lists no value; list the values that count", field="filters"
                )
        return self

    @property
    def numeric(self) -> bool:
        """Whether events carry a number in ``field`` (sum, max, latest, weighted sum).

        Example:
            >>> BillableMetric(code="u", aggregation="unique_count", field="user").numeric
            False
        """
        return self.aggregation in _NUMERIC


_NUMERIC = frozenset({Aggregation.SUM, Aggregation.MAX, Aggregation.LATEST, Aggregation.WEIGHTED_SUM})
