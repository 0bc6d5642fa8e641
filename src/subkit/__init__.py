"""subkit: the money side of a subscription business, embedded in your application.

Example:
    >>> from datetime import datetime, UTC
    >>> import subkit
    >>> clock = subkit.TestClock(datetime(2027, 1, 1, tzinfo=UTC))
    >>> engine = subkit.BillingEngine(subkit.InMemoryStore(), clock)
    >>> basic = subkit.Plan(id="basic", product_id="app", name="Basic",
    ...                     prices={"EUR": subkit.FlatFee(price="9")})
    >>> engine.set_catalog(subkit.Catalog(products=(subkit.Product(id="app", name="App"),), plans=(basic,)))
    >>> cus = engine.create_customer(name="Ada", currency="EUR")
    >>> engine.invoices(cus.id) == []
    True
"""

import typing

from subkit.adapters.storage.memory import InMemoryStore
from subkit.catalog.catalog import BillingTiming, Catalog, Plan, PlanKind, Product
from subkit.catalog.pricing import (
    FlatFee,
    Graduated,
    Package,
    Percentage,
    PerUnit,
    PricingModel,
    Stairstep,
    Tier,
    Volume,
)
from subkit.core.clock import SystemClock, TestClock
from subkit.core.events import Event, EventType
from subkit.core.money import (
    Money,
    Rounding,
    allocate,
    format_money,
    from_minor,
    minor_units,
    to_minor,
)
from subkit.core.periods import (
    DAILY,
    MONTHLY,
    WEEKLY,
    YEARLY,
    Interval,
    IntervalUnit,
    Period,
    cycle_period,
    cycle_start,
)
from subkit.customer.customer import Address, CollectionMethod, Customer, Seller, TaxId
from subkit.errors import (
    CatalogError,
    ConcurrencyError,
    ConflictError,
    CouponError,
    CurrencyMismatchError,
    DuplicateError,
    FloatNotAllowedError,
    GatewayError,
    IdempotencyError,
    IllegalTransitionError,
    InvalidPeriodError,
    InvoiceImmutableError,
    NaiveDatetimeError,
    NotFoundError,
    PricingError,
    SensitiveDataError,
    StateError,
    SubkitError,
    UnknownCurrencyError,
    ValidationError,
)
from subkit.invoice.discounts import AppliedDiscount, Coupon, CouponDuration, PromotionCode
from subkit.invoice.invoice import (
    BillingReason,
    CreditNote,
    Invoice,
    InvoiceItem,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
)
from subkit.ports import Clock, EventPublisher, Store, UnitOfWork
from subkit.services.engine import AdvanceReport, BillingConfig, BillingEngine
from subkit.subscription.model import Subscription, SubscriptionItem, SubscriptionStatus, TrialEndBehavior
from subkit.subscription.proration import Granularity, ProrationBehavior
from subkit.usage.record import UsageRecord

if typing.TYPE_CHECKING:  # for type checkers subkit.money is the constructor it always was
    from subkit.core.money import money
else:  # at run time the module subkit/money.py, which is callable: money(...) as before
    from subkit import money

__version__ = "0.1.0"

__all__ = [
    "DAILY",
    "MONTHLY",
    "WEEKLY",
    "YEARLY",
    "Address",
    "AdvanceReport",
    "AppliedDiscount",
    "BillingConfig",
    "BillingEngine",
    "BillingReason",
    "BillingTiming",
    "Catalog",
    "CatalogError",
    "Clock",
    "CollectionMethod",
    "ConcurrencyError",
    "ConflictError",
    "Coupon",
    "CouponDuration",
    "CouponError",
    "CreditNote",
    "CurrencyMismatchError",
    "Customer",
    "DuplicateError",
    "Event",
    "EventPublisher",
    "EventType",
    "FlatFee",
    "FloatNotAllowedError",
    "GatewayError",
    "Graduated",
    "Granularity",
    "IdempotencyError",
    "IllegalTransitionError",
    "InMemoryStore",
    "Interval",
    "IntervalUnit",
    "InvalidPeriodError",
    "Invoice",
    "InvoiceImmutableError",
    "InvoiceItem",
    "InvoiceLine",
    "InvoiceStatus",
    "LineKind",
    "Money",
    "NaiveDatetimeError",
    "NotFoundError",
    "Package",
    "PerUnit",
    "Percentage",
    "Period",
    "Plan",
    "PlanKind",
    "PricingError",
    "PricingModel",
    "Product",
    "PromotionCode",
    "ProrationBehavior",
    "Rounding",
    "Seller",
    "SensitiveDataError",
    "Stairstep",
    "StateError",
    "Store",
    "SubkitError",
    "Subscription",
    "SubscriptionItem",
    "SubscriptionStatus",
    "SystemClock",
    "TaxId",
    "TestClock",
    "Tier",
    "TrialEndBehavior",
    "UnitOfWork",
    "UnknownCurrencyError",
    "UsageRecord",
    "ValidationError",
    "Volume",
    "__version__",
    "allocate",
    "cycle_period",
    "cycle_start",
    "format_money",
    "from_minor",
    "minor_units",
    "money",
    "to_minor",
]
