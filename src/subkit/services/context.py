"""What every billing service shares, and one unit of work with what is read once in it.

:class:`ServiceContext` is the services' common ground: the store, the clock, the policies
(:class:`BillingConfig`), the id generator, the event bus and the outbox publisher. It holds
no state of any operation, so one context (and one engine) can serve many threads.

:class:`Work` is one unit of work as an operation sees it: the store's transaction, the
catalog and coupons read at most once in it, and the ``invoice.finalized`` events of the
invoices it left open, dispatched on the bus once it has committed. A billing run also keeps
a batch's prefetched pending items and its deferred invoices on the batch's ``Work``.
Nothing cached outlives the unit of work that read it.

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.catalog.catalog import Catalog, Plan, Product
    >>> from subkit.catalog.pricing import FlatFee
    >>> from subkit.testing import InMemoryStore, TestClock
    >>> ctx = ServiceContext(InMemoryStore(), TestClock(datetime(2027, 1, 1, tzinfo=UTC)))
    >>> basic = Plan(id="basic", product_id="app", name="Basic", prices={"USD": FlatFee(flat_amount="9")})
    >>> with ctx.store.begin() as uow:
    ...     uow.add(CatalogRecord(id="catalog", catalog=Catalog(
    ...         products=(Product(id="app", name="App"),), plans=(basic,))))
    >>> with ctx.store.begin() as uow:
    ...     work = Work(uow)
    ...     work.catalog() is work.catalog()           # read once per unit of work
    True
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar

from subkit.catalog.catalog import Catalog
from subkit.core.events import Event
from subkit.core.inputs import check_choice
from subkit.core.model import Entity
from subkit.core.money import Rounding, check_currency, check_rounding
from subkit.core.periods import ensure_aware
from subkit.customer.customer import Customer, Seller
from subkit.errors import ValidationError
from subkit.invoice.discounts import Coupon
from subkit.invoice.invoice import Invoice, InvoiceItem
from subkit.ports import Clock, EventPublisher, ExchangeRateProvider, Store, UnitOfWork
from subkit.services.bus import EventBus
from subkit.services.outbox import relay
from subkit.services.taxes import TaxSettings
from subkit.subscription.model import BillingContext, Subscription
from subkit.subscription.proration import Granularity

if TYPE_CHECKING:
    from subkit.usage.aggregate import Group, UsageQuery

__all__ = ["BillingConfig", "CatalogRecord", "ServiceContext", "Work", "uuid_ids"]


class CatalogRecord(Entity):
    """The stored catalog (one record, id ``"catalog"``).

    Example:
        >>> CatalogRecord(id="catalog", catalog=Catalog()).kind
        'catalog'
    """

    kind: ClassVar[str] = "catalog"
    catalog: Catalog


@dataclass(frozen=True, slots=True)
class BillingConfig:
    """Engine policies.

    Example:
        >>> BillingConfig(granularity=Granularity.DAY).invoice_prefix
        'INV'
    """

    granularity: Granularity = Granularity.SECOND
    rounding: Rounding = Rounding.HALF_UP
    invoice_prefix: str = "INV"
    credit_note_prefix: str = "CN"
    batch_size: int = 1000
    #: Run each ``advance()`` inside :func:`subkit.core.heap.frozen_heap`: the cyclic garbage
    #: collector leaves what the process held before the run alone (a large in-memory book).
    #: Off by default: it changes a process-wide setting for the length of the run.
    freeze_heap: bool = False
    #: Switch the cyclic garbage collector off while each batch of a billing run runs
    #: (:func:`subkit.core.heap.paused_collector`): a batch's values hold no cycles and are freed
    #: by reference counting, and the cost per invoice stays flat however large the process's
    #: heap. The collector is back on between batches (a fraction of a second each); a host that
    #: switched it off itself is left alone. ``False``: the collector runs as it is set.
    pause_gc: bool = True
    #: The business issuing the invoices (legal details, home country for tax); ``None``: not set.
    seller: Seller | None = None
    #: The currency reports and the books are kept in; an invoice in another currency locks the
    #: rate to it at finalization (``Invoice.fx_rate``). ``None``: every invoice's own currency.
    reporting_currency: str | None = None
    #: How invoices are taxed once ``seller`` is set (provider, inclusive prices, rounding scope).
    tax: TaxSettings = field(default_factory=TaxSettings)
    #: Where the rate locked at finalization comes from (``StaticRateProvider``, ``EcbRateProvider``,
    #: the host's); required with ``reporting_currency``.
    exchange_rates: ExchangeRateProvider | None = None
    #: Record the audit trail: the engine wraps its store in :class:`~subkit.services.audit.AuditedStore`.
    audit: bool = False
    #: Keep usage events for an unknown metric or subscription aside (``QuarantinedUsage``) instead
    #: of refusing them; ``engine.replay_quarantined_usage()`` ingests them once fixed.
    usage_quarantine: bool = False
    #: Prepaid-credit wallets (services.wallets): invoices consume them before payment. Off: no reads.
    wallets: bool = False
    #: Bill a period's usage this long after it ends (services.usage_close), with the events that
    #: arrived meanwhile, instead of at the renewal. Zero: at the renewal; later events are adjustments.
    usage_grace: timedelta = timedelta(0)

    def __post_init__(self) -> None:
        if self.reporting_currency is not None:
            object.__setattr__(self, "reporting_currency", check_currency(self.reporting_currency))
            if self.exchange_rates is None:
                raise ValidationError(
                    "reporting_currency needs exchange_rates: pass BillingConfig(exchange_rates=...) "
                    "(subkit.fx.StaticRateProvider, subkit.adapters.ecb_rates.EcbRateProvider, or yours)",
                    field="exchange_rates",
                )
        check_rounding(self.rounding)
        check_choice(Granularity, self.granularity, "granularity")
        if type(self.batch_size) is not int or self.batch_size < 1:
            raise ValidationError("batch_size is a positive int", field="batch_size")


_ID_DIGITS = 24
_ID_BATCH = 512  # ids per read of the system's random source
_ids = threading.local()


def _forget_ids() -> None:
    """In a forked child: never hand out the random digits the parent read (and may use)."""
    global _ids
    _ids = threading.local()


os.register_at_fork(after_in_child=_forget_ids)


def uuid_ids(prefix: str) -> str:
    """The default id generator: ``prefix`` plus 24 random hex digits (96 bits from ``os.urandom``).

    The random source is read for many ids at once (per thread; a forked child starts afresh):
    one ``uuid4()`` per id was a system call each, a tenth of a SQL billing run.

    Example:
        >>> len(uuid_ids("in")), uuid_ids("in")[:3], uuid_ids("in") != uuid_ids("in")
        (27, 'in_', True)
    """
    state = _ids
    text: str = getattr(state, "text", "")
    pos: int = getattr(state, "pos", 0)
    if pos >= len(text):
        text, pos = os.urandom(_ID_DIGITS // 2 * _ID_BATCH).hex(), 0
        state.text = text
    state.pos = pos + _ID_DIGITS
    return f"{prefix}_{text[pos : pos + _ID_DIGITS]}"


class Work:
    """One unit of work and what an operation reads once in it.

    ``publish`` writes an event to the outbox, or, in a billing run's batch (``deferred``),
    queues it with the batch's drafts so that invoices are numbered together just before
    commit while the outbox keeps the order the operations produced. ``finalized`` collects
    the ``invoice.finalized`` events of invoices left open, for the bus after commit.

    Example:
        >>> from subkit.testing import InMemoryStore
        >>> with InMemoryStore().begin() as uow:
        ...     work = Work(uow)
        ...     work.finalized, work.queue is None
        ([], True)
    """

    __slots__ = (
        "_catalog",
        "_metered",
        "contexts",
        "coupons",
        "finalized",
        "pending",
        "publish",
        "queue",
        "uow",
        "update",
        "usage",
    )

    def __init__(
        self,
        uow: UnitOfWork,
        *,
        pending: dict[str, list[InvoiceItem]] | None = None,
        deferred: bool = False,
    ) -> None:
        self.uow = uow
        self.update: Callable[[Entity], None] = uow.update
        #: A batch's pending invoice items by subscription, read once for the batch.
        self.pending = pending
        #: A batch's events and drafts, in order, issued together before commit (``None``: at once).
        self.queue: list[Event | tuple[Invoice, datetime]] | None = [] if deferred else None
        self.publish: Callable[[Event], None] = self.queue.append if self.queue is not None else uow.publish
        self.finalized: list[Event] = []
        self.coupons: dict[str, Coupon] = {}
        #: A billing run's batch: billing contexts by (coupon ids, has a payment method), made
        #: once per batch (nothing a renewal does changes a coupon or the catalog). ``None``: off.
        self.contexts: dict[tuple[tuple[str, ...], bool], BillingContext] | None = {} if deferred else None
        self._catalog: Catalog | None = None
        self._metered: bool | None = None
        #: A billing run's batch: its renewals' usage aggregations, read in one call
        #: (:func:`subkit.services.usage_rating.prefetch_usage`). ``None``: each is read when rated.
        self.usage: dict[UsageQuery, dict[Group, Decimal]] | None = None

    def catalog(self) -> Catalog:
        """The stored catalog, read once in this unit of work (a SQL store parses it at each read)."""
        if self._catalog is None:
            self._catalog = self.uow.get(CatalogRecord, "catalog").catalog
        return self._catalog

    def metered(self) -> bool:
        """Whether any plan of the catalog is metered (else no usage is ever read), once per unit of work."""
        if self._metered is None:
            self._metered = any(p.metric for p in self.catalog().plans)
        return self._metered

    def coupon(self, coupon_id: str) -> Coupon:
        """A coupon, read once in this unit of work."""
        found = self.coupons.get(coupon_id)
        if found is None:
            found = self.coupons[coupon_id] = self.uow.get(Coupon, coupon_id)
        return found


@dataclass(slots=True, eq=False)
class ServiceContext:
    """The store, clock, policies, ids, bus and publisher every service shares; no per-call state.

    Example:
        >>> from datetime import datetime, timezone, timedelta
        >>> from subkit.testing import InMemoryStore, TestClock
        >>> ctx = ServiceContext(InMemoryStore(), TestClock(datetime(2027, 1, 1, tzinfo=UTC)))
        >>> ctx.now(datetime(2027, 1, 1, 9, tzinfo=timezone(timedelta(hours=2)))).isoformat()
        '2027-01-01T07:00:00+00:00'
    """

    store: Store
    clock: Clock
    config: BillingConfig = field(default_factory=BillingConfig)
    publisher: EventPublisher | None = None
    ids: Callable[[str], str] = uuid_ids
    bus: EventBus = field(default_factory=EventBus)

    def now(self, at: datetime | None = None) -> datetime:
        """``at`` (checked aware, years 1971 to 9998) or the clock's now, in UTC: everything stored is UTC."""
        if at is None:
            return self.clock.now().astimezone(UTC)
        if not 1970 < ensure_aware(at).year < 9999:
            raise ValidationError("a date from 1971 to 9998", field="at")
        return at.astimezone(UTC)

    def billing_context(
        self, work: Work, sub: Subscription | None = None, customer: Customer | None = None
    ) -> BillingContext:
        """What the pure subscription operations need: catalog, the subscription's coupons, policies.

        In a billing run's batch (``work.contexts``) one context serves every subscription
        with the same coupons and payment-method presence.
        """
        has_pm = customer is not None and customer.default_payment_method_id is not None
        if sub is not None and sub.payment_method_id is not None:
            has_pm = True
        cache = work.contexts
        if cache is not None:
            key = (tuple([d.coupon_id for d in sub.discounts]) if sub is not None else (), has_pm)
            found = cache.get(key)
            if found is None:
                found = cache[key] = self._billing_context(work, sub, has_pm)
            return found
        return self._billing_context(work, sub, has_pm)

    def _billing_context(self, work: Work, sub: Subscription | None, has_pm: bool) -> BillingContext:
        coupons = {}
        if sub is not None:
            for d in sub.discounts:
                c = work.coupon(d.coupon_id)
                coupons[c.id] = c
        return BillingContext(
            catalog=work.catalog(),
            coupons=coupons,
            granularity=self.config.granularity,
            rounding=self.config.rounding,
            has_payment_method=has_pm,
        )

    def committed(self, work: Work) -> bool:
        """After ``work`` committed: dispatch its open invoices' ``invoice.finalized``, then relay.

        Returns whether handlers ran (a payment may then have changed what ``work`` wrote: an
        operation re-reads what it returns, so that it returns the state the store holds).
        """
        ran = bool(work.finalized) and self.bus.dispatch(work.finalized)
        if self.publisher is not None:
            relay(self.store, self.publisher)
        return ran
