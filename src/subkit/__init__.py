"""subkit: the money side of a subscription business, embedded in your application.

Example:
    >>> from datetime import datetime, UTC
    >>> import subkit
    >>> clock = subkit.TestClock(datetime(2027, 1, 1, tzinfo=UTC))
    >>> engine = subkit.BillingEngine(subkit.InMemoryStore(), clock)
    >>> basic = subkit.Plan(id="basic", product_id="app", name="Basic",
    ...                     prices={"EUR": subkit.FlatFee(flat_amount="9")})
    >>> engine.set_catalog(subkit.Catalog(products=(subkit.Product(id="app", name="App"),), plans=(basic,)))
    >>> cus = engine.create_customer(name="Ada", currency="EUR")
    >>> engine.invoices(cus.id) == []
    True
"""

import logging as _logging
import typing as _typing
from importlib.metadata import PackageNotFoundError as _PackageNotFoundError
from importlib.metadata import version as _dist_version
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from subkit.adapters.render import render_credit_note, render_invoice
from subkit.adapters.storage.memory import InMemoryStore
from subkit.catalog.catalog import BillingTiming, Catalog, Plan, PlanKind, Product
from subkit.catalog.metrics import Aggregation, BillableMetric
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
from subkit.core.audit import Actor
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
from subkit.core.paging import Page
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
from subkit.customer.customer import Address, CollectionMethod, Customer, Seller, TaxExemption, TaxId
from subkit.errors import (
    CatalogError,
    ConcurrencyError,
    ConflictError,
    CouponError,
    CurrencyMismatchError,
    DuplicateError,
    ExchangeRateNotFoundError,
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
    UnknownMetricError,
    UsageConflictError,
    ValidationError,
)
from subkit.fx import ExchangeRate, StaticRateProvider, fx_gain_loss, reporting_minor
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
from subkit.ports import Clock, EventPublisher, ExchangeRateProvider, Store, TaxProvider, UnitOfWork
from subkit.services.audit import AuditedStore, AuditTrail
from subkit.services.collector import CollectionReport, PaymentCollector
from subkit.services.engine import AdvanceReport, BillingConfig, BillingEngine
from subkit.services.portal import ChangeQuote, CustomerPortal
from subkit.services.privacy import Privacy, PrivacyPolicy
from subkit.services.retry import RetryPolicy
from subkit.services.taxes import TaxSettings
from subkit.services.webhooks import Endpoint, Webhooks
from subkit.subscription.model import Subscription, SubscriptionItem, SubscriptionStatus, TrialEndBehavior
from subkit.subscription.proration import Granularity, ProrationBehavior
from subkit.tax.engine import TaxEngine
from subkit.usage.event import IngestResult, UsageEvent
from subkit.usage.quarantine import QuarantinedUsage

if _TYPE_CHECKING:
    from subkit.adapters.storage.sql import SqlStore, make_engine

# A library logs, the application decides where to: nothing is printed unless the host configures logging.
_logging.getLogger("subkit").addHandler(_logging.NullHandler())

try:
    __version__ = _dist_version("subkit")
except _PackageNotFoundError:  # pragma: no cover - a source tree that was never installed
    __version__ = "0+unknown"

#: Names whose module needs an optional extra: imported on first use, with an install hint.
_OPTIONAL = {
    "SqlStore": ("subkit.adapters.storage.sql", "sql"),
    "make_engine": ("subkit.adapters.storage.sql", "sql"),
}


def __getattr__(name: str) -> _Any:
    """``subkit.SqlStore`` and ``subkit.make_engine`` load SQLAlchemy only when first used.

    Without the extra the error says what to install::

        ImportError: subkit.SqlStore needs the 'sql' extra: pip install 'subkit[sql]'
    """
    if name not in _OPTIONAL:
        raise AttributeError(f"module 'subkit' has no attribute {name!r}")
    module, extra = _OPTIONAL[name]
    try:
        mod = __import__(module, fromlist=[name])
    except ImportError as exc:
        raise ImportError(f"subkit.{name} needs the {extra!r} extra: pip install 'subkit[{extra}]'") from exc
    value = getattr(mod, name)
    globals()[name] = value
    return value


if _typing.TYPE_CHECKING:  # for type checkers subkit.money is the constructor it always was
    from subkit.core.money import money
else:  # at run time the module subkit/money.py, which is callable: money(...) as before
    from subkit import money


__all__ = [
    "DAILY",
    "MONTHLY",
    "WEEKLY",
    "YEARLY",
    "Actor",
    "Address",
    "AdvanceReport",
    "Aggregation",
    "AppliedDiscount",
    "AuditTrail",
    "AuditedStore",
    "BillableMetric",
    "BillingConfig",
    "BillingEngine",
    "BillingReason",
    "BillingTiming",
    "Catalog",
    "CatalogError",
    "ChangeQuote",
    "Clock",
    "CollectionMethod",
    "CollectionReport",
    "ConcurrencyError",
    "ConflictError",
    "Coupon",
    "CouponDuration",
    "CouponError",
    "CreditNote",
    "CurrencyMismatchError",
    "Customer",
    "CustomerPortal",
    "DuplicateError",
    "Endpoint",
    "Event",
    "EventPublisher",
    "EventType",
    "ExchangeRate",
    "ExchangeRateNotFoundError",
    "ExchangeRateProvider",
    "FlatFee",
    "FloatNotAllowedError",
    "GatewayError",
    "Graduated",
    "Granularity",
    "IdempotencyError",
    "IllegalTransitionError",
    "InMemoryStore",
    "IngestResult",
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
    "Page",
    "PaymentCollector",
    "PerUnit",
    "Percentage",
    "Period",
    "Plan",
    "PlanKind",
    "PricingError",
    "PricingModel",
    "Privacy",
    "PrivacyPolicy",
    "Product",
    "PromotionCode",
    "ProrationBehavior",
    "QuarantinedUsage",
    "RetryPolicy",
    "Rounding",
    "Seller",
    "SensitiveDataError",
    "SqlStore",
    "Stairstep",
    "StateError",
    "StaticRateProvider",
    "Store",
    "SubkitError",
    "Subscription",
    "SubscriptionItem",
    "SubscriptionStatus",
    "SystemClock",
    "TaxEngine",
    "TaxExemption",
    "TaxId",
    "TaxProvider",
    "TaxSettings",
    "TestClock",
    "Tier",
    "TrialEndBehavior",
    "UnitOfWork",
    "UnknownCurrencyError",
    "UnknownMetricError",
    "UsageConflictError",
    "UsageEvent",
    "ValidationError",
    "Volume",
    "Webhooks",
    "__version__",
    "allocate",
    "cycle_period",
    "cycle_start",
    "format_money",
    "from_minor",
    "fx_gain_loss",
    "make_engine",
    "minor_units",
    "money",
    "render_credit_note",
    "render_invoice",
    "reporting_minor",
    "to_minor",
]
