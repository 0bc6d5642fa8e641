"""Catalog: products, plans in tiers, add-ons, prices per currency, entitlements.

A :class:`Plan` is sold at one billing interval, with one pricing model per
currency (:mod:`subkit.catalog.pricing`). Plans are versioned: publishing a new version with
an ``effective_from`` date changes the price for new subscriptions from that date,
while existing subscriptions keep the version they pinned until migrated.

Example:
    >>> from decimal import Decimal
    >>> from subkit.catalog.pricing import FlatFee
    >>> cat = Catalog(
    ...     currencies=("USD", "EUR"),
    ...     products=(Product(id="app", name="App"),),
    ...     plans=(Plan(id="basic", product_id="app", name="Basic", tier="Basic",
    ...                 prices={"USD": FlatFee(flat_amount="10"), "EUR": FlatFee(flat_amount="9")}),),
    ... )
    >>> cat.plan("basic").price("EUR").amount(Decimal(1))
    Decimal('9')
"""

from __future__ import annotations

import json
import weakref
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, Field, model_validator

from subkit.catalog.metrics import BillableMetric
from subkit.catalog.pricing import PricingModel
from subkit.core.inputs import MAX_DEPTH, check_plain
from subkit.core.model import Amount, CurrencyCode, Model
from subkit.core.periods import MONTHLY, Interval
from subkit.errors import CatalogError, NotFoundError, SubkitError

__all__ = ["BillingTiming", "Catalog", "Plan", "PlanKind", "Product"]


class Product(Model):
    """Something you sell; plans price it.

    Example:
        >>> Product(id="app", name="App").name
        'App'
    """

    _error: ClassVar[type[SubkitError]] = CatalogError
    id: str = Field(min_length=1)
    name: str
    description: str = ""


class PlanKind(StrEnum):
    """A base plan, or an add-on attached next to one.

    Example:
        >>> PlanKind.ADDON.value
        'addon'
    """

    PLAN = "plan"
    ADDON = "addon"


class BillingTiming(StrEnum):
    """Licensed fees are billed in advance; metered usage in arrears.

    Example:
        >>> BillingTiming("arrears").name
        'ARREARS'
    """

    ADVANCE = "advance"
    ARREARS = "arrears"


class Plan(Model):
    """A priced offer: interval, trial, setup fee, prices per currency, entitlements.

    ``metric`` makes it a usage charge: the quantity billed is the sum of usage
    recorded for that metric over the period, billed in arrears.

    Example:
        >>> from subkit.catalog.pricing import PerUnit
        >>> seats = Plan(id="pro", product_id="app", name="Pro", tier="Pro",
        ...              prices={"USD": PerUnit(unit_amount="12")}, entitlements={"seats": 10})
        >>> seats.timing, seats.interval.unit.value
        (<BillingTiming.ADVANCE: 'advance'>, 'month')
    """

    _error: ClassVar[type[SubkitError]] = CatalogError
    id: str = Field(min_length=1)
    product_id: str
    name: str
    tier: str = ""
    kind: PlanKind = PlanKind.PLAN
    interval: Interval = MONTHLY
    trial_days: int = Field(default=0, ge=0)
    setup_fee: dict[CurrencyCode, Amount] = Field(default_factory=dict)
    prices: dict[CurrencyCode, PricingModel]
    metric: str | None = None
    entitlements: dict[str, int | bool | None] = Field(default_factory=dict)
    version: int = Field(default=1, ge=1)
    effective_from: AwareDatetime | None = None
    #: Progressive billing: when a subscription's unbilled usage charges in a period reach this
    #: amount (per currency), an interim invoice bills them (services.progressive).
    usage_thresholds: dict[CurrencyCode, Amount] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> Plan:
        if not self.prices:
            raise CatalogError(f"plan {self.id!r} has no price", field="prices")
        for cur, fee in self.setup_fee.items():
            if fee < 0:
                raise CatalogError(f"setup fee in {cur} must not be negative", field="setup_fee")
        return self

    @property
    def timing(self) -> BillingTiming:
        """``ARREARS`` for metered plans, else ``ADVANCE``."""
        return BillingTiming.ARREARS if self.metric else BillingTiming.ADVANCE

    def price(self, currency: str) -> PricingModel:
        """The pricing model in ``currency``, or a ``CatalogError`` if it is not sold in it."""
        try:
            return self.prices[currency]
        except KeyError:
            raise CatalogError(
                f"plan {self.id!r} has no price in {currency}; add one to its prices", field="prices"
            ) from None


_Maps = tuple[dict[str, list[Plan]], dict[tuple[str, int], Plan]]
#: Plan lookups per live catalog, keyed by ``id()`` (catalogs compare by value and do not
#: hash); an entry is dropped when its catalog is freed, before the id can be reused.
_LOOKUPS: dict[int, _Maps] = {}


class Catalog(Model):
    """Everything sold, validated as a whole, loadable from and savable to JSON.

    Every plan must be priced in each of ``currencies`` and name a known product.

    Example:
        >>> Catalog(currencies=("USD",)).plans
        ()
    """

    _error: ClassVar[type[SubkitError]] = CatalogError
    currencies: tuple[CurrencyCode, ...] = ()
    products: tuple[Product, ...] = ()
    plans: tuple[Plan, ...] = ()
    #: Billable metrics (:mod:`subkit.catalog.metrics`); a plan's ``metric`` not listed here
    #: sums the events' ``quantity`` property.
    metrics: tuple[BillableMetric, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> Catalog:
        product_ids = {p.id for p in self.products}
        if len(product_ids) != len(self.products):
            raise CatalogError("duplicate product id", field="products")
        if len({m.code for m in self.metrics}) != len(self.metrics):
            raise CatalogError("duplicate billable metric code", field="metrics")
        seen: set[tuple[str, int]] = set()
        for i, plan in enumerate(self.plans):
            key = (plan.id, plan.version)
            if key in seen:
                raise CatalogError(
                    f"plan {plan.id!r} version {plan.version} defined twice", field=f"plans.{i}"
                )
            seen.add(key)
            if plan.product_id not in product_ids:
                raise CatalogError(
                    f"plan {plan.id!r} names unknown product {plan.product_id!r}",
                    field=f"plans.{i}.product_id",
                )
            for cur in self.currencies:
                if cur not in plan.prices:
                    raise CatalogError(
                        f"plan {plan.id!r} has no price in {cur} "
                        f"(catalog currencies: {', '.join(self.currencies)})",
                        field=f"plans.{i}.prices",
                    )
        return self

    def _lookup(self) -> _Maps:
        """Plans by id (oldest version first) and by (id, version), built once per catalog.

        Kept outside the model (a weak-keyed side table), so equality and copies of the
        catalog never see the cache.
        """
        key = id(self)
        cached = _LOOKUPS.get(key)
        if cached is not None:
            return cached
        grouped: dict[str, list[Plan]] = {}
        for p in sorted(self.plans, key=lambda p: p.version):
            grouped.setdefault(p.id, []).append(p)
        maps = (grouped, {(p.id, p.version): p for p in self.plans})
        _LOOKUPS[key] = maps
        weakref.finalize(self, _LOOKUPS.pop, key, None)
        return maps

    def versions(self, plan_id: str) -> list[Plan]:
        """All versions of a plan, oldest first."""
        found = self._lookup()[0].get(plan_id)
        if not found:
            raise NotFoundError(f"no plan {plan_id!r} in the catalog", field="plan_id")
        return found

    def plan(self, plan_id: str, version: int | None = None, *, at: datetime | None = None) -> Plan:
        """A plan by id: a given ``version``, or the newest effective ``at`` (default newest).

        Example:
            >>> from subkit.catalog.pricing import FlatFee
            >>> c = Catalog(products=(Product(id="a", name="A"),), plans=(
            ...     Plan(id="p", product_id="a", name="P", prices={"USD": FlatFee(flat_amount="5")}),))
            >>> c.plan("p", 1).version
            1
        """
        if version is not None:
            found = self._lookup()[1].get((plan_id, version))
            if found is not None:
                return found
            self.versions(plan_id)
            raise NotFoundError(f"plan {plan_id!r} has no version {version}", field="version")
        versions = self.versions(plan_id)
        if at is None:
            return versions[-1]
        effective = [p for p in versions if p.effective_from is None or p.effective_from <= at]
        if not effective:
            raise NotFoundError(f"plan {plan_id!r} is not yet effective at {at.isoformat()}", field="at")
        return effective[-1]

    def billable_metric(self, code: str) -> BillableMetric | None:
        """The metric ``code`` (a plan's metric not in ``metrics`` sums ``quantity``), or ``None``.

        Example:
            >>> Catalog().billable_metric("calls") is None
            True
        """
        for m in self.metrics:
            if m.code == code:
                return m
        if any(p.metric == code for p in self.plans):
            return BillableMetric(code=code)
        return None

    def publish(self, plan: Plan) -> Catalog:
        """A new catalog with ``plan`` added (a new plan, or the next version of one).

        Example:
            >>> from subkit.catalog.pricing import FlatFee
            >>> c = Catalog(products=(Product(id="a", name="A"),))
            >>> c = c.publish(Plan(id="p", product_id="a", name="P",
            ...                    prices={"USD": FlatFee(flat_amount="5")}))
            >>> len(c.plans)
            1
        """
        return Catalog(
            currencies=self.currencies,
            products=self.products,
            plans=(*self.plans, plan),
            metrics=self.metrics,
        )

    def to_json(self) -> str:
        """Serialize to JSON (amounts as exact strings)."""
        return self.model_dump_json(indent=2)

    @classmethod
    def from_json(cls, text: str | bytes) -> Catalog:
        """Parse and validate a catalog from JSON text; errors name the failing field.

        ``text`` must be ``str`` or ``bytes``, nested at most
        :data:`~subkit.core.inputs.MAX_DEPTH` levels, with well-formed text (no lone surrogate).

        Example:
            >>> Catalog.from_json(None)
            Traceback (most recent call last):
            ...
            subkit.errors.CatalogError: [invalid_catalog] catalog: got NoneType; pass JSON text
        """
        if not isinstance(text, (str, bytes, bytearray)):
            raise CatalogError(f"got {type(text).__name__}; pass JSON text", field="catalog")
        try:
            data = json.loads(text)
        except RecursionError:
            raise CatalogError(f"nested more than {MAX_DEPTH} levels deep", field="catalog") from None
        except ValueError as e:
            raise CatalogError(f"not valid JSON: {e}", field="catalog") from None
        try:
            check_plain(data, "catalog")
        except SubkitError as e:
            raise CatalogError(e.message, field=e.field) from None
        return cls.model_validate_json(text)
