"""Metering: record usage events, and total a period's usage for billing in arrears.

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.catalog.catalog import Catalog, Plan, Product
    >>> from subkit.catalog.pricing import FlatFee
    >>> from subkit.services.engine import BillingEngine
    >>> from subkit.testing import InMemoryStore, TestClock
    >>> engine = BillingEngine(InMemoryStore(), TestClock(datetime(2027, 1, 1, tzinfo=UTC)))
    >>> engine.set_catalog(Catalog(products=(Product(id="app", name="App"),), plans=(
    ...     Plan(id="api", product_id="app", name="API", metric="calls",
    ...          prices={"USD": FlatFee(price="0")}),)))
    >>> sub = engine.subscribe(engine.create_customer(name="Ada", currency="USD").id, "api")
    >>> metering = Metering(ServiceContext(engine.store, engine.clock))
    >>> metering.record(sub.id, "calls", 500, id="evt_1").quantity
    Decimal('500')
    >>> metering.record(sub.id, "calls", 900, id="evt_1").quantity   # the same event again: kept once
    Decimal('500')
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from subkit.catalog.catalog import BillingTiming
from subkit.core.inputs import check_id, check_optional_id, check_quantity
from subkit.core.money import decimal_of
from subkit.errors import NotFoundError, ValidationError
from subkit.ports import UnitOfWork
from subkit.services.context import ServiceContext
from subkit.subscription.model import BillingContext, Subscription
from subkit.usage.record import UsageRecord, sum_usage

__all__ = ["Metering", "usage_totals"]


class Metering:
    """Records metered usage.

    Example:
        >>> from datetime import datetime, UTC
        >>> from subkit.testing import InMemoryStore, TestClock
        >>> metering = Metering(ServiceContext(InMemoryStore(), TestClock(datetime(2027, 1, 1, tzinfo=UTC))))
        >>> metering.record("sub_1", "calls", -1)
        Traceback (most recent call last):
        subkit.errors.ValidationError: [invalid] quantity: usage quantity must not be negative
    """

    __slots__ = ("ctx",)

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def record(
        self,
        subscription_id: str,
        metric: str,
        quantity: object,
        *,
        at: datetime | None = None,
        id: str | None = None,
    ) -> UsageRecord:
        """Record metered usage; a repeated event ``id`` is ignored (idempotent)."""
        check_id(subscription_id, "subscription_id")
        check_id(metric, "metric")
        q = decimal_of(quantity, "quantity")
        if q < 0:
            raise ValidationError("usage quantity must not be negative", field="quantity")
        rec = UsageRecord(
            id=check_optional_id(id, "id") or self.ctx.ids("use"),
            subscription_id=subscription_id,
            metric=metric,
            quantity=check_quantity(q),
            timestamp=self.ctx.now(at),
        )
        with self.ctx.store.begin() as uow:
            if id is not None:
                try:
                    return uow.get(UsageRecord, id)
                except NotFoundError:
                    pass
            uow.get(Subscription, subscription_id)
            uow.add(rec)
        return rec


def usage_totals(
    uow: UnitOfWork, sub: Subscription, ctx: BillingContext, end: datetime
) -> dict[str, Decimal]:
    """Usage of each metered (in arrears) item of ``sub`` from its period start to ``end``, by item id.

    Empty, without reading the store, when no item is metered.

    Example:
        >>> from datetime import datetime, UTC
        >>> from subkit.catalog.catalog import Catalog, Plan, Product
        >>> from subkit.catalog.pricing import FlatFee, PerUnit
        >>> from subkit.services.context import Work
        >>> from subkit.services.engine import BillingEngine
        >>> from subkit.testing import InMemoryStore, TestClock
        >>> engine = BillingEngine(InMemoryStore(), TestClock(datetime(2027, 1, 1, tzinfo=UTC)))
        >>> engine.set_catalog(Catalog(products=(Product(id="app", name="App"),), plans=(
        ...     Plan(id="basic", product_id="app", name="Basic", prices={"USD": FlatFee(price="10")}),
        ...     Plan(id="api", product_id="app", name="API", metric="calls",
        ...          prices={"USD": PerUnit(unit_price="0.01")}))))
        >>> cus = engine.create_customer(name="Ada", currency="USD")
        >>> sub = engine.subscribe(cus.id, items=[("basic", 1), ("api", 0)])
        >>> _ = engine.record_usage(sub.id, "calls", 120, at=datetime(2027, 1, 9, tzinfo=UTC))
        >>> ctx = ServiceContext(engine.store, engine.clock)
        >>> with engine.store.begin() as uow:
        ...     totals = usage_totals(uow, sub, ctx.billing_context(Work(uow), sub), sub.period_end)
        >>> list(totals.values())
        [Decimal('120')]
    """
    metered = {}
    for it in sub.items:
        plan = ctx.catalog.plan(it.plan_id, it.plan_version)
        if plan.timing == BillingTiming.ARREARS and plan.metric:
            metered[it.id] = plan.metric
    if not metered:
        return {}
    records = uow.find(UsageRecord, subscription_id=sub.id)
    return {item_id: sum_usage(records, metric, sub.period_start, end) for item_id, metric in metered.items()}
