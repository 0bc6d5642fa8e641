"""The billing engine: subkit's service layer.

``BillingEngine`` reads time from a :class:`~subkit.ports.Clock`, state from a
:class:`~subkit.ports.Store`, runs the pure operations of :mod:`subkit.subscription.machine`,
and writes each operation's results in one unit of work: the subscription, its invoice
(numbered from a gap-free sequence), pending items, the customer's balance, unique
charge keys and outbox events commit together or not at all.

``advance(until)`` bills everything due up to ``until`` in time order. Running it twice
for the same moment adds nothing; daily steps and one jump give the same invoices: each
action happens at its own instant, not at ``until``. A recurring charge per subscription
item and service period is a unique key in the store, so it can never be charged twice.

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.catalog.catalog import Catalog, Plan, Product
    >>> from subkit.catalog.pricing import FlatFee
    >>> from subkit.testing import InMemoryStore, TestClock
    >>> clock = TestClock(datetime(2027, 1, 31, tzinfo=UTC))
    >>> engine = BillingEngine(InMemoryStore(), clock)
    >>> engine.set_catalog(Catalog(products=(Product(id="app", name="App"),), plans=(
    ...     Plan(id="basic", product_id="app", name="Basic", prices={"USD": FlatFee(price="10")}),)))
    >>> cus = engine.create_customer(name="Ada", currency="USD")
    >>> sub = engine.subscribe(cus.id, "basic")
    >>> _ = clock.travel_to(datetime(2027, 4, 30, tzinfo=UTC))
    >>> engine.advance().invoices
    3
    >>> [(i.period_start.date().isoformat(), i.total_minor) for i in engine.invoices(cus.id)]
    [('2027-01-31', 1000), ('2027-02-28', 1000), ('2027-03-31', 1000), ('2027-04-30', 1000)]
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar, Literal

from subkit.catalog.catalog import BillingTiming, Catalog
from subkit.core.events import Event, EventType
from subkit.core.model import Entity
from subkit.core.money import Rounding, decimal_of, to_minor
from subkit.core.periods import ensure_aware
from subkit.customer.customer import Customer
from subkit.errors import (
    CatalogError,
    ConflictError,
    CouponError,
    NotFoundError,
    StateError,
    SubkitError,
    ValidationError,
)
from subkit.invoice.discounts import AppliedDiscount, Coupon, PromotionCode
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
from subkit.services.bus import EventBus
from subkit.subscription.machine import cancel as _cancel
from subkit.subscription.machine import change_items as _change_items
from subkit.subscription.machine import create as _create
from subkit.subscription.machine import is_upgrade as _is_upgrade
from subkit.subscription.machine import pause as _pause
from subkit.subscription.machine import reactivate as _reactivate
from subkit.subscription.machine import resume as _resume
from subkit.subscription.machine import run_due_action as _run_due_action
from subkit.subscription.machine import schedule_change as _schedule_change
from subkit.subscription.model import (
    BillingContext,
    Outcome,
    Subscription,
    SubscriptionStatus,
    TrialEndBehavior,
)
from subkit.subscription.proration import Granularity, ProrationBehavior
from subkit.usage.record import UsageRecord

__all__ = ["AdvanceReport", "BillingConfig", "BillingEngine", "CatalogRecord", "change_balance"]


class CatalogRecord(Entity):
    """The stored catalog (one record, id ``"catalog"``)."""

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


@dataclass(slots=True)
class AdvanceReport:
    """What one ``advance`` call did.

    Example:
        >>> from datetime import datetime, UTC
        >>> AdvanceReport(until=datetime(2027, 1, 1, tzinfo=UTC)).invoices
        0
    """

    until: datetime
    actions: int = 0
    invoices: int = 0
    conflicts: int = 0
    invoice_ids: list[str] = field(default_factory=list)
    errors: list[tuple[str, str, str]] = field(default_factory=list)

    def merge(self, other: AdvanceReport) -> None:
        """Add another report's counts to this one."""
        self.actions += other.actions
        self.invoices += other.invoices
        self.invoice_ids.extend(other.invoice_ids)


def _uuid_ids(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


When = Literal["auto", "now", "period_end"] | datetime


def change_balance(uow: UnitOfWork, customer: Customer, delta: int, at: datetime, **data: str) -> Customer:
    """Add ``delta`` minor units to a customer's credit balance and publish the change.

    Example:
        >>> from datetime import datetime, UTC
        >>> from subkit.adapters.storage.memory import InMemoryStore
        >>> store = InMemoryStore()
        >>> at = datetime(2027, 1, 1, tzinfo=UTC)
        >>> with store.begin() as uow:
        ...     uow.add(Customer(id="cus_1", name="Ada", currency="EUR"))
        ...     change_balance(uow, uow.get(Customer, "cus_1"), 500, at).credit_minor
        500
    """
    balance = customer.credit_minor + delta
    new = customer.bumped(credit_minor=balance)
    uow.update(new)
    uow.publish(
        Event.of(
            EventType.CUSTOMER_BALANCE_CHANGED,
            at,
            customer.id,
            customer_id=customer.id,
            balance=balance,
            **data,
        )
    )
    return new


class _Deferred:
    """A unit of work whose events, and the issuing of its invoices, wait for ``replay``.

    ``advance`` bills a batch through it: invoice numbers (whose series row stays locked
    until commit) are then taken together just before the commit, and the outbox still
    receives every event in the order the operations produced them.
    """

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self.queue: list[Event | tuple[Invoice, datetime]] = []

    def publish(self, event: Event) -> None:
        self.queue.append(event)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._uow, name)

    def replay(self, issue: Callable[[UnitOfWork, Invoice, datetime], Invoice]) -> dict[str, Invoice]:
        """Publish the queue in order, issuing each invoice at its place; the issued invoices by id."""
        issued: dict[str, Invoice] = {}
        for entry in self.queue:
            if isinstance(entry, Event):
                self._uow.publish(entry)
            else:
                draft, at = entry
                issued[draft.id] = issue(self._uow, draft, at)
        self.queue.clear()
        return issued


class BillingEngine:
    """Runs a subscription business over a store and a clock.

    Example:
        >>> from datetime import datetime, UTC
        >>> from subkit.testing import InMemoryStore, TestClock
        >>> engine = BillingEngine(InMemoryStore(), TestClock(datetime(2027, 1, 1, tzinfo=UTC)))
        >>> engine.create_customer(name="Ada", currency="EUR", id="cus_ada").id
        'cus_ada'
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        config: BillingConfig | None = None,
        publisher: EventPublisher | None = None,
        ids: Callable[[str], str] = _uuid_ids,
    ) -> None:
        self.store = store
        self.clock = clock
        self.config = config or BillingConfig()
        self.publisher = publisher
        self._ids = ids
        self._catalog: tuple[UnitOfWork, Catalog] | None = None
        self._coupons: dict[str, Coupon] = {}
        # The pending invoice items of the batch ``advance`` is billing, read once for the batch.
        self._batch_pending: tuple[UnitOfWork, dict[str, list[InvoiceItem]]] | None = None
        # The drafts of the batch ``advance`` is billing, issued together before its commit.
        self._batch_issue: tuple[UnitOfWork, list[Event | tuple[Invoice, datetime]]] | None = None
        #: Called with each finalized invoice id after its commit (payment collection hooks in here).
        self.after_finalize: list[Callable[[str], None]] = []
        #: Dispatches ``invoice.finalized`` after commit for each invoice left open (collection subscribes).
        self.bus = EventBus()

    # ------------------------------------------------------------------ plumbing
    def new_id(self, prefix: str) -> str:
        """A new id from the engine's generator (``ids=`` at construction), e.g. ``in_...``."""
        return self._ids(prefix)

    def _now(self, at: datetime | None) -> datetime:
        # Everything stored is UTC; local calendars come from the customer's time zone.
        return (ensure_aware(at) if at is not None else self.clock.now()).astimezone(UTC)

    def _catalog_in(self, uow: UnitOfWork) -> Catalog:
        # Read once per unit of work (a SQL store parses the whole catalog on every read).
        if self._catalog is not None and self._catalog[0] is uow:
            return self._catalog[1]
        catalog = uow.get(CatalogRecord, "catalog").catalog
        self._catalog = (uow, catalog)
        return catalog

    def _ctx(
        self, uow: UnitOfWork, sub: Subscription | None = None, customer: Customer | None = None
    ) -> BillingContext:
        catalog = self._catalog_in(uow)
        coupons: dict[str, Coupon] = {}
        if sub is not None:
            for d in sub.discounts:
                c = self._coupons.get(d.coupon_id)
                if c is None:
                    c = uow.get(Coupon, d.coupon_id)
                    self._coupons[c.id] = c
                coupons[c.id] = c
        has_pm = customer is not None and customer.default_payment_method_id is not None
        if sub is not None and sub.payment_method_id is not None:
            has_pm = True
        return BillingContext(
            catalog=catalog,
            coupons=coupons,
            granularity=self.config.granularity,
            rounding=self.config.rounding,
            has_payment_method=has_pm,
        )

    def _usage(
        self, uow: UnitOfWork, sub: Subscription, ctx: BillingContext, end: datetime
    ) -> dict[str, Decimal]:
        metered = {}
        for it in sub.items:
            plan = ctx.catalog.plan(it.plan_id, it.plan_version)
            if plan.timing == BillingTiming.ARREARS and plan.metric:
                metered[it.id] = plan.metric
        if not metered:
            return {}
        records = uow.find(UsageRecord, subscription_id=sub.id)
        totals = {}
        for item_id, metric in metered.items():
            totals[item_id] = sum(
                (r.quantity for r in records if r.metric == metric and sub.period_start <= r.timestamp < end),
                Decimal(0),
            )
        return totals

    def _apply(
        self, uow: UnitOfWork, out: Outcome, customer: Customer, *, new: bool = False
    ) -> Invoice | None:
        """Write an outcome: claims, pending items, the invoice, the customer, the subscription, events."""
        sub = out.subscription
        for key in out.claims:
            uow.claim(key)
        at = out.events[0].occurred_at if out.events else self.clock.now()
        batch = self._batch_pending
        for line in out.pending_lines:
            item = InvoiceItem.fast(
                id=self._ids("ii"),
                version=1,
                customer_id=customer.id,
                subscription_id=sub.id,
                currency=sub.currency,
                line=line,
                status="pending",
                invoice_id=None,
                created_at=at,
            )
            uow.add(item)
            if batch is not None and batch[0] is uow:  # keep the batch's prefetch complete
                batch[1].setdefault(sub.id, []).append(item)
        invoice = None
        if out.reason is not None and out.invoice_lines:
            invoice = self._invoice(uow, customer, list(out.invoice_lines), at, sub, out.reason, out.period)
        if new:
            uow.add(sub)
        else:
            uow.update(sub)
        for ev in out.events:
            uow.publish(ev)
        return invoice

    def _invoice(
        self,
        uow: UnitOfWork,
        customer: Customer,
        lines: list[InvoiceLine],
        at: datetime,
        sub: Subscription | None,
        reason: BillingReason,
        period: tuple[datetime, datetime] | None,
    ) -> Invoice:
        """Build, finalize and store an invoice, pulling in pending items and applying the balance."""
        currency = sub.currency if sub is not None else customer.currency
        if sub is not None:
            batch = self._batch_pending
            if batch is not None and batch[0] is uow:
                pending = batch[1].pop(sub.id, [])
            else:
                pending = uow.find(InvoiceItem, status="pending", subscription_id=sub.id)
        else:
            pending = [
                i
                for i in uow.find(InvoiceItem, status="pending", customer_id=customer.id)
                if i.subscription_id is None
            ]
        inv_id = self._ids("in")
        for item in pending:
            if item.currency == currency:
                lines.append(item.line)
                uow.update(item.bumped(status="invoiced", invoice_id=inv_id))
        total = sum(ln.amount_minor - ln.discount_minor + ln.tax_minor for ln in lines)
        if currency == customer.currency and (total < 0 or (total > 0 and customer.credit_minor > 0)):
            # The balance will change: re-read the customer under a row lock, so a balance
            # another worker changed since the batch was read is used, not overwritten.
            customer = uow.lock(Customer, customer.id) or customer
        credit = customer.credit_minor if currency == customer.currency else 0
        inv = Invoice.draft(
            inv_id,
            customer.id,
            currency,
            lines,
            at=at,
            subscription_id=sub.id if sub else None,
            reason=reason,
            period_start=period[0] if period else None,
            period_end=period[1] if period else None,
            credit_available_minor=credit,
            locale=customer.locale,
        )
        delta = -inv.credit_applied_minor + (-inv.total_minor if inv.total_minor < 0 else 0)
        if delta:
            change_balance(uow, customer, delta, at, invoice_id=inv.id)
        issuing = self._batch_issue
        if issuing is not None and issuing[0] is uow:
            issuing[1].append((inv, at))  # numbered and stored just before the batch commits
            return inv
        return self._issue(uow, inv, at)

    def _issue(self, uow: UnitOfWork, draft: Invoice, at: datetime) -> Invoice:
        """Number, finalize and store a draft, and publish that it was issued.

        Taking a number locks the series until commit, so ``advance`` issues a batch's
        invoices together just before its commit: concurrent workers then wait for each
        other only that long.
        """
        number = f"{self.config.invoice_prefix}-{uow.next_number(self.config.invoice_prefix):06d}"
        inv = draft.finalize(number, at)
        inv.__dict__["version"] = 1  # stored for the first time: the draft never reached the store
        uow.add(inv)
        uow.publish(
            Event.of(
                EventType.INVOICE_FINALIZED,
                at,
                inv.id,
                customer_id=inv.customer_id,
                number=number,
                total=inv.total_minor,
                currency=inv.currency,
            )
        )
        if inv.status == InvoiceStatus.PAID:
            uow.publish(Event.of(EventType.INVOICE_PAID, at, inv.id, customer_id=inv.customer_id, amount=0))
        return inv

    def _after(self, invoices: Sequence[Invoice | None]) -> None:
        for inv in invoices:
            if inv is not None and inv.status == InvoiceStatus.OPEN:
                for hook in self.after_finalize:
                    hook(inv.id)
                finalized = Event.of(  # the same event (same id) as the one in the outbox
                    EventType.INVOICE_FINALIZED,
                    inv.finalized_at or inv.created_at,
                    inv.id,
                    customer_id=inv.customer_id,
                    number=inv.number,
                    total=inv.total_minor,
                    currency=inv.currency,
                )
                self.bus.dispatch([finalized])
        if self.publisher is not None:
            self.relay()

    def relay(self, limit: int = 1000) -> int:
        """Publish committed outbox events to the publisher; returns how many were sent."""
        if self.publisher is None:
            return 0
        sent = 0
        while events := self.store.pending_events(limit):
            self.publisher.publish(events)
            self.store.mark_published([e.id for e in events])
            sent += len(events)
        return sent

    # ------------------------------------------------------------------ catalog, customers, coupons
    def set_catalog(self, catalog: Catalog) -> None:
        """Store the catalog (replacing the previous one; subscriptions keep their pinned versions).

        A catalog that drops a plan version a live subscription still pins is refused with a
        ``CatalogError`` naming it: publish new versions instead of removing old ones.
        """
        with self.store.begin() as uow:
            available = {(p.id, p.version) for p in catalog.plans}
            for sub in uow.find(Subscription):
                if sub.status == SubscriptionStatus.CANCELED:
                    continue
                for it in sub.items:
                    if (it.plan_id, it.plan_version) not in available:
                        raise CatalogError(
                            f"subscription {sub.id} still uses plan {it.plan_id!r} version "
                            f"{it.plan_version}; keep that version in the catalog or migrate it first",
                            field="plans",
                        )
            try:
                rec = uow.get(CatalogRecord, "catalog")
                uow.update(rec.bumped(catalog=catalog))
            except NotFoundError:
                uow.add(CatalogRecord(id="catalog", catalog=catalog))

    @property
    def catalog(self) -> Catalog:
        """The current catalog."""
        with self.store.begin() as uow:
            return self._catalog_in(uow)

    def create_customer(self, *, id: str | None = None, **fields: Any) -> Customer:
        """Create and store a customer (fields of :class:`~subkit.customer.customer.Customer`)."""
        customer = Customer(id=id or self._ids("cus"), **fields)
        with self.store.begin() as uow:
            uow.add(customer)
            uow.publish(
                Event.of(EventType.CUSTOMER_CREATED, self.clock.now(), customer.id, customer_id=customer.id)
            )
        return customer

    def update_customer(self, customer_id: str, **changes: Any) -> Customer:
        """Change a customer's fields (validated)."""
        with self.store.begin() as uow:
            cur = uow.get(Customer, customer_id)
            new = Customer(**{**cur.model_dump(), **changes, "version": cur.version + 1})
            uow.update(new)
            uow.publish(
                Event.of(
                    EventType.CUSTOMER_UPDATED,
                    self.clock.now(),
                    customer_id,
                    customer_id=customer_id,
                    fields=",".join(sorted(changes)),
                )
            )
        return new

    def add_coupon(self, coupon: Coupon) -> Coupon:
        """Store a coupon."""
        with self.store.begin() as uow:
            uow.add(coupon)
        return coupon

    def add_promotion_code(self, code: PromotionCode) -> PromotionCode:
        """Store a promotion code (its id is the code, upper-cased)."""
        code = code.model_copy(update={"id": code.id.upper()})
        with self.store.begin() as uow:
            uow.get(Coupon, code.coupon_id)
            uow.add(code)
        return code

    def _redeem(
        self, uow: UnitOfWork, coupon_id: str | None, promotion_code: str | None, at: datetime
    ) -> list[Coupon]:
        found = []
        if promotion_code:
            try:
                promo = uow.get(PromotionCode, promotion_code.upper())
            except NotFoundError:
                raise CouponError(f"no promotion code {promotion_code!r}", field="promotion_code") from None
            promo.check_redeemable(at)
            uow.update(promo.bumped(times_redeemed=promo.times_redeemed + 1))
            coupon_id = coupon_id or promo.coupon_id
            if coupon_id != promo.coupon_id:
                raise CouponError("give a coupon or a promotion code, not both", field="coupon")
        if coupon_id:
            try:
                coupon = uow.get(Coupon, coupon_id)
            except NotFoundError:
                raise CouponError(f"no coupon {coupon_id!r}", field="coupon") from None
            found.append(coupon)
        return found

    def _count_redemptions(self, uow: UnitOfWork, coupons: Sequence[Coupon]) -> None:
        for c in coupons:
            new = c.bumped(times_redeemed=c.times_redeemed + 1)
            uow.update(new)
            self._coupons[c.id] = new

    # ------------------------------------------------------------------ subscriptions
    def subscribe(
        self,
        customer_id: str,
        plan_id: str | None = None,
        quantity: object = 1,
        *,
        items: Sequence[tuple[str, object]] | None = None,
        at: datetime | None = None,
        id: str | None = None,
        trial_days: int | None = None,
        trial_requires_payment_method: bool = False,
        trial_end_behavior: TrialEndBehavior = TrialEndBehavior.CREATE_INVOICE,
        coupon: str | None = None,
        promotion_code: str | None = None,
        proration_behavior: ProrationBehavior = ProrationBehavior.CREATE_PRORATIONS,
        metadata: Mapping[str, str] | None = None,
    ) -> Subscription:
        """Subscribe a customer to a plan (or several ``items``), in the customer's currency.

        Without a trial the first period is invoiced at once (in advance).
        """
        out, inv = self._subscribe(
            customer_id,
            plan_id,
            quantity,
            items=items,
            at=at,
            id=id,
            trial_days=trial_days,
            trial_requires_payment_method=trial_requires_payment_method,
            trial_end_behavior=trial_end_behavior,
            coupon=coupon,
            promotion_code=promotion_code,
            proration_behavior=proration_behavior,
            metadata=metadata,
        )
        self._after([inv])
        return out.subscription

    def preview_subscribe(
        self, customer_id: str, plan_id: str | None = None, quantity: object = 1, **options: Any
    ) -> list[InvoiceLine]:
        """The first invoice's lines :meth:`subscribe` would produce (none in a trial); writes nothing.

        ``options`` are :meth:`subscribe`'s keywords (``trial_days``, ``coupon``, ``at``...); pass
        the ``id`` the subscription will have to get lines naming its items exactly.
        """
        out, inv = self._subscribe(customer_id, plan_id, quantity, dry_run=True, **options)
        return list(inv.lines) if inv is not None else out.lines

    def _subscribe(
        self,
        customer_id: str,
        plan_id: str | None,
        quantity: object,
        *,
        items: Sequence[tuple[str, object]] | None = None,
        at: datetime | None = None,
        id: str | None = None,
        coupon: str | None = None,
        promotion_code: str | None = None,
        dry_run: bool = False,
        **options: Any,
    ) -> tuple[Outcome, Invoice | None]:
        at = self._now(at)
        if items is None:
            if plan_id is None:
                raise ValidationError("give a plan_id or items", field="plan_id")
            items = [(plan_id, quantity)]
        uow = self.store.begin()
        with uow:
            customer = uow.get(Customer, customer_id)
            ctx = self._ctx(uow, customer=customer)
            coupons = self._redeem(uow, coupon, promotion_code, at)
            out = _create(
                id or self._ids("sub"),
                customer.id,
                customer.currency,
                items,
                ctx,
                at=at,
                timezone=customer.timezone,
                coupons=coupons,
                **options,
            )
            self._count_redemptions(uow, coupons)
            inv = self._apply(uow, out, customer, new=True)
            if dry_run:
                uow.rollback()
                self._coupons.clear()  # redemption counts were not kept
        return out, inv

    def _run(
        self,
        sub_id: str,
        op: Callable[[Subscription, BillingContext, Customer], Outcome],
        *,
        dry_run: bool = False,
    ) -> tuple[Outcome, Invoice | None]:
        uow = self.store.begin()
        with uow:
            sub = uow.get(Subscription, sub_id)
            customer = uow.get(Customer, sub.customer_id)
            ctx = self._ctx(uow, sub, customer)
            out = op(sub, ctx, customer)
            inv = self._apply(uow, out, customer)
            if dry_run:
                if inv is not None:
                    out.invoice_lines = list(inv.lines)
                uow.rollback()
                return out, inv
        self._after([inv])
        return out, inv

    def change_plan(
        self,
        subscription_id: str,
        plan_id: str | None = None,
        *,
        quantity: object = None,
        item_id: str | None = None,
        when: When = "auto",
        proration: ProrationBehavior | None = None,
        at: datetime | None = None,
    ) -> Subscription:
        """Change plan and/or quantity: ``now``, at ``period_end``, at a date, or ``auto``.

        ``auto`` (default): upgrades (the new full-period price is not lower) take effect
        now with proration; downgrades wait for the period end.
        """
        return self._change(subscription_id, plan_id, quantity, item_id, when, proration, at, dry_run=False)[
            0
        ]

    def change_quantity(
        self,
        subscription_id: str,
        quantity: object,
        *,
        item_id: str | None = None,
        when: When = "now",
        proration: ProrationBehavior | None = None,
        at: datetime | None = None,
    ) -> Subscription:
        """Change an item's quantity (seats), now by default, with proration."""
        return self.change_plan(
            subscription_id, None, quantity=quantity, item_id=item_id, when=when, proration=proration, at=at
        )

    def preview_change(
        self,
        subscription_id: str,
        plan_id: str | None = None,
        *,
        quantity: object = None,
        item_id: str | None = None,
        when: When = "auto",
        proration: ProrationBehavior | None = None,
        at: datetime | None = None,
    ) -> list[InvoiceLine]:
        """The invoice lines :meth:`change_plan` would produce at the same instant; writes nothing.

        With ``ALWAYS_INVOICE`` they include pending items the invoice would pull in.
        """
        return self._change(subscription_id, plan_id, quantity, item_id, when, proration, at, dry_run=True)[1]

    def _change(
        self,
        sub_id: str,
        plan_id: str | None,
        quantity: object,
        item_id: str | None,
        when: When,
        proration: ProrationBehavior | None,
        at: datetime | None,
        *,
        dry_run: bool,
    ) -> tuple[Subscription, list[InvoiceLine]]:
        at = self._now(at)

        def op(sub: Subscription, ctx: BillingContext, customer: Customer) -> Outcome:
            target: datetime | None
            if when == "auto":
                upgrade = _is_upgrade(sub, ctx, item_id, plan_id, quantity, at)
                target = None if upgrade or sub.status == SubscriptionStatus.TRIALING else sub.period_end
            elif when == "now":
                target = None
            elif when == "period_end":
                target = sub.period_end
            else:
                target = ensure_aware(when, "when")
            if target is None or target <= at:
                return _change_items(
                    sub, ctx, at=at, item_id=item_id, plan_id=plan_id, quantity=quantity, proration=proration
                )
            return _schedule_change(
                sub, ctx, at=at, when=target, item_id=item_id, plan_id=plan_id, quantity=quantity
            )

        out, inv = self._run(sub_id, op, dry_run=dry_run)
        return out.subscription, (list(inv.lines) if inv is not None else out.lines)

    def cancel(
        self,
        subscription_id: str,
        *,
        at_period_end: bool = True,
        prorate: bool = False,
        at: datetime | None = None,
    ) -> Subscription:
        """Cancel at period end (default), or now (optionally crediting unused time)."""
        now = self._now(at)
        return self._run(
            subscription_id,
            lambda s, c, _: _cancel(s, c, at=now, at_period_end=at_period_end, prorate=prorate),
        )[0].subscription

    def preview_cancel(
        self, subscription_id: str, *, prorate: bool = False, at: datetime | None = None
    ) -> list[InvoiceLine]:
        """The final invoice lines a cancellation now would produce; writes nothing."""
        now = self._now(at)
        out, inv = self._run(
            subscription_id,
            lambda s, c, _: _cancel(s, c, at=now, at_period_end=False, prorate=prorate),
            dry_run=True,
        )
        return list(inv.lines) if inv is not None else out.lines

    def preview_resume(self, subscription_id: str, *, at: datetime | None = None) -> list[InvoiceLine]:
        """The lines resuming now would invoice (the unpaid rest of the period); writes nothing."""
        now = self._now(at)
        out, inv = self._run(subscription_id, lambda s, c, _: _resume(s, c, at=now), dry_run=True)
        return list(inv.lines) if inv is not None else out.lines

    def upcoming_invoice(self, subscription_id: str) -> Invoice | None:
        """The invoice the next renewal will issue (scheduled changes applied first); writes nothing.

        Usage recorded so far counts; usage still to come does not. ``None`` when the
        subscription ends or pauses at its period end.
        """
        uow = self.store.begin()
        with uow:
            sub = uow.get(Subscription, subscription_id)
            if sub.due_at is None:
                uow.rollback()
                return None
            report = AdvanceReport(until=sub.period_end)
            invoices = self._advance_in(uow, sub.id, sub.period_end, report)
            uow.rollback()
        renewals = [
            i
            for i in invoices
            if i.period_start == sub.period_end
            or i.billing_reason in (BillingReason.SUBSCRIPTION_CYCLE, BillingReason.SUBSCRIPTION_CANCEL)
        ]
        return renewals[-1] if renewals else None

    def reactivate(self, subscription_id: str, *, at: datetime | None = None) -> Subscription:
        """Undo a pending cancellation at period end."""
        now = self._now(at)
        return self._run(subscription_id, lambda s, c, _: _reactivate(s, at=now))[0].subscription

    def pause(
        self, subscription_id: str, *, resume_at: datetime | None = None, at: datetime | None = None
    ) -> Subscription:
        """Pause billing (renewals charge nothing until resumed)."""
        now = self._now(at)
        return self._run(subscription_id, lambda s, c, _: _pause(s, at=now, resume_at=resume_at))[
            0
        ].subscription

    def resume(self, subscription_id: str, *, at: datetime | None = None) -> Subscription:
        """Resume a paused subscription (an unpaid period is charged prorated from now)."""
        now = self._now(at)
        return self._run(subscription_id, lambda s, c, _: _resume(s, c, at=now))[0].subscription

    def apply_coupon(
        self,
        subscription_id: str,
        coupon: str | None = None,
        *,
        promotion_code: str | None = None,
        at: datetime | None = None,
    ) -> Subscription:
        """Attach a coupon to a live subscription; it covers cycles from the next one."""
        now = self._now(at)
        with self.store.begin() as uow:
            sub = uow.get(Subscription, subscription_id)
            if sub.status == SubscriptionStatus.CANCELED:
                raise StateError(f"subscription {sub.id} is canceled")
            coupons = self._redeem(uow, coupon, promotion_code, now)
            for c in coupons:
                c.check_redeemable(now, [it.plan_id for it in sub.items], sub.currency)
            self._count_redemptions(uow, coupons)
            start = max(sub.cycle + 1, 0)
            new = sub.bumped(
                discounts=(
                    *sub.discounts,
                    *(AppliedDiscount(coupon_id=c.id, start_cycle=start) for c in coupons),
                )
            )
            uow.update(new)
        return new

    def record_usage(
        self,
        subscription_id: str,
        metric: str,
        quantity: object,
        *,
        at: datetime | None = None,
        id: str | None = None,
    ) -> UsageRecord:
        """Record metered usage; a repeated event ``id`` is ignored (idempotent)."""
        rec = UsageRecord(
            id=id or self._ids("use"),
            subscription_id=subscription_id,
            metric=metric,
            quantity=decimal_of(quantity, "quantity"),
            timestamp=self._now(at),
        )
        if rec.quantity < 0:
            raise ValidationError("usage quantity must not be negative", field="quantity")
        with self.store.begin() as uow:
            if id is not None:
                try:
                    return uow.get(UsageRecord, id)
                except NotFoundError:
                    pass
            uow.get(Subscription, subscription_id)
            uow.add(rec)
        return rec

    def add_invoice_item(
        self,
        customer_id: str,
        description: str,
        amount: object,
        *,
        subscription_id: str | None = None,
        quantity: object = 1,
        at: datetime | None = None,
    ) -> InvoiceItem:
        """A one-off charge (or credit, if negative) for the customer's next invoice."""
        now = self._now(at)
        with self.store.begin() as uow:
            customer = uow.get(Customer, customer_id)
            currency = customer.currency
            if subscription_id is not None:
                currency = uow.get(Subscription, subscription_id).currency
            line = InvoiceLine.build(
                description,
                LineKind.ONE_OFF,
                currency=currency,
                quantity=quantity,
                unit_amount=amount,
                rounding=self.config.rounding,
            )
            item = InvoiceItem(
                id=self._ids("ii"),
                customer_id=customer_id,
                subscription_id=subscription_id,
                currency=currency,
                line=line,
                created_at=now,
            )
            uow.add(item)
        return item

    def invoice_now(self, customer_id: str, *, at: datetime | None = None) -> Invoice | None:
        """Invoice a customer's pending items that belong to no subscription."""
        now = self._now(at)
        with self.store.begin() as uow:
            customer = uow.get(Customer, customer_id)
            if not [
                i
                for i in uow.find(InvoiceItem, status="pending", customer_id=customer_id)
                if i.subscription_id is None
            ]:
                return None
            inv = self._invoice(uow, customer, [], now, None, BillingReason.MANUAL, None)
        self._after([inv])
        return inv

    # ------------------------------------------------------------------ the clock moves
    def advance(self, until: datetime | None = None) -> AdvanceReport:
        """Do everything due up to ``until`` (default: now), each at its own instant.

        Due subscriptions are taken in batches: a batch is read (and, on PostgreSQL, locked
        with ``SKIP LOCKED`` so concurrent workers take disjoint batches) and processed in
        one transaction. If that transaction conflicts with another writer, the batch is
        redone one subscription per transaction; a subscription that still fails is
        reported in ``errors`` and the run goes on.
        """
        until = self._now(until)
        report = AdvanceReport(until=until)
        while True:
            done = AdvanceReport(until=until)
            invoices: list[Invoice] = []
            try:
                with self.store.begin() as uow:
                    batch = self._due_batch(uow, until, report)
                    # One read each for the batch's customers and pending items, not one per invoice.
                    uow.get_many(Customer, [s.customer_id for s in batch])
                    pending: dict[str, list[InvoiceItem]] = {}
                    if batch:
                        ids = [s.id for s in batch]
                        for item in uow.find(InvoiceItem, status="pending", subscription_id=ids):
                            pending.setdefault(item.subscription_id or "", []).append(item)
                    deferred = _Deferred(uow)
                    self._batch_pending = (deferred, pending)
                    self._batch_issue = (deferred, deferred.queue)
                    try:
                        for sub in batch:
                            invoices.extend(self._advance_in(deferred, sub.id, until, done))
                        issued = deferred.replay(self._issue)
                        invoices = [issued.get(i.id, i) for i in invoices]
                    finally:
                        self._batch_pending = None
                        self._batch_issue = None
            except SubkitError as e:
                if isinstance(e, ConflictError):
                    report.conflicts += 1
                if not self._advance_singly(until, report):
                    break
                continue
            if not batch:
                break
            report.merge(done)
            self._after(invoices)
        return report

    def _due_batch(self, uow: UnitOfWork, until: datetime, report: AdvanceReport) -> list[Subscription]:
        """The next due subscriptions, leaving out those this run already failed to bill."""
        bad = {sid for sid, _, _ in report.errors}
        found = uow.due(Subscription, until, self.config.batch_size + len(bad))
        return [s for s in found if s.id not in bad][: self.config.batch_size]

    def _advance_singly(self, until: datetime, report: AdvanceReport) -> bool:
        with self.store.begin() as uow:
            ids = [s.id for s in self._due_batch(uow, until, report)]
        progressed = False
        for sub_id in ids:
            done = AdvanceReport(until=until)
            try:
                with self.store.begin() as uow:
                    # Lock the subscription before anything else (as a batch does with due()),
                    # and leave it to the worker that holds it.
                    if uow.lock(Subscription, sub_id, skip_locked=True) is None:
                        continue
                    invoices = self._advance_in(uow, sub_id, until, done)
            except ConflictError:
                report.conflicts += 1
                continue
            except SubkitError as e:
                report.errors.append((sub_id, e.code, e.message))
                progressed = True  # it is set aside: the next batch goes past it
                continue
            progressed = progressed or done.actions > 0
            report.merge(done)
            self._after(invoices)
        return progressed

    def _advance_in(
        self, uow: UnitOfWork, sub_id: str, until: datetime, report: AdvanceReport
    ) -> list[Invoice]:
        """Run every action of one subscription due up to ``until`` inside ``uow``."""
        invoices: list[Invoice] = []
        while True:
            sub = uow.get(Subscription, sub_id)
            if sub.due_at is None or sub.due_at > until:
                return invoices
            customer = uow.get(Customer, sub.customer_id)
            ctx = self._ctx(uow, sub, customer)
            if sub.period_end == sub.due_at:
                usage = self._usage(uow, sub, ctx, sub.period_end)
                if usage:
                    ctx = replace(ctx, usage=usage)
            inv = self._apply(uow, _run_due_action(sub, ctx), customer)
            report.actions += 1
            if inv is not None:
                report.invoices += 1
                report.invoice_ids.append(inv.id)
                invoices.append(inv)

    # ------------------------------------------------------------------ invoices
    def get_invoice(self, invoice_id: str) -> Invoice:
        """An invoice by id."""
        with self.store.begin() as uow:
            return uow.get(Invoice, invoice_id)

    def invoices(
        self, customer_id: str | None = None, *, subscription_id: str | None = None
    ) -> list[Invoice]:
        """Invoices of a customer or subscription (all when neither), oldest first."""
        where: dict[str, object] = {}
        if customer_id:
            where["customer_id"] = customer_id
        if subscription_id:
            where["subscription_id"] = subscription_id
        with self.store.begin() as uow:
            found = uow.find(Invoice, **where)
        return sorted(found, key=lambda i: (i.created_at, i.number or ""))

    def get_subscription(self, subscription_id: str) -> Subscription:
        """A subscription by id."""
        with self.store.begin() as uow:
            return uow.get(Subscription, subscription_id)

    def get_customer(self, customer_id: str) -> Customer:
        """A customer by id."""
        with self.store.begin() as uow:
            return uow.get(Customer, customer_id)

    def void_invoice(self, invoice_id: str, *, at: datetime | None = None) -> Invoice:
        """Void an unpaid open invoice (the credit balance it used is given back)."""
        now = self._now(at)
        with self.store.begin() as uow:
            inv = uow.get(Invoice, invoice_id)
            new = inv.void(now)
            uow.update(new)
            if inv.credit_applied_minor:
                cus = uow.get(Customer, inv.customer_id)
                change_balance(uow, cus, inv.credit_applied_minor, now, invoice_id=inv.id)
            uow.publish(Event.of(EventType.INVOICE_VOIDED, now, inv.id, customer_id=inv.customer_id))
        return new

    def mark_uncollectible(self, invoice_id: str, *, at: datetime | None = None) -> Invoice:
        """Write off an open invoice."""
        now = self._now(at)
        with self.store.begin() as uow:
            new = uow.get(Invoice, invoice_id).mark_uncollectible()
            uow.update(new)
            uow.publish(
                Event.of(EventType.INVOICE_UNCOLLECTIBLE, now, invoice_id, customer_id=new.customer_id)
            )
        return new

    def issue_credit_note(
        self,
        invoice_id: str,
        amount: object = None,
        *,
        reason: str = "",
        at: datetime | None = None,
        refund: bool = False,
        id: str | None = None,
    ) -> CreditNote:
        """Credit a finalized invoice, fully (no ``amount``) or partly; never more than its total.

        On an open invoice the credit first reduces what is still due; the rest (or all,
        on a paid invoice) goes to the customer's credit balance, or is marked for refund.
        With ``id``, issuing is idempotent: the credit note with that id, if any, is returned.
        """
        now = self._now(at)
        with self.store.begin() as uow:
            if id is not None and (existing := uow.get_many(CreditNote, [id]).get(id)) is not None:
                return existing
            inv = uow.get(Invoice, invoice_id)
            if inv.status in (InvoiceStatus.DRAFT, InvoiceStatus.VOID):
                raise StateError(
                    f"invoice {inv.id} is {inv.status.value}; only finalized invoices take credit notes"
                )
            value = inv.creditable_minor if amount is None else to_minor(decimal_of(amount), inv.currency)
            if value <= 0:
                raise ValidationError("a credit note must be positive", field="amount")
            if value > inv.creditable_minor:
                raise ValidationError(
                    f"credit {value} exceeds what is left to credit on {inv.number} ({inv.creditable_minor})",
                    field="amount",
                )
            outstanding = min(value, inv.amount_remaining_minor) if inv.status == InvoiceStatus.OPEN else 0
            rest = value - outstanding
            note = CreditNote(
                id=id or self._ids("cn"),
                invoice_id=inv.id,
                customer_id=inv.customer_id,
                currency=inv.currency,
                number=f"{self.config.credit_note_prefix}-{uow.next_number(self.config.credit_note_prefix):06d}",
                amount_minor=value,
                outstanding_minor=outstanding,
                credit_minor=0 if refund else rest,
                refund_minor=rest if refund else 0,
                reason=reason,
                created_at=now,
            )
            changes: dict[str, Any] = {"amount_credited_minor": inv.amount_credited_minor + value}
            if outstanding:
                changes["amount_due_minor"] = inv.amount_due_minor - outstanding
                if inv.amount_due_minor - outstanding <= inv.amount_paid_minor:
                    changes.update(status=InvoiceStatus.PAID, paid_at=now, due_at=None)
            uow.update(inv.bumped(**changes))
            if note.credit_minor:
                cus = uow.get(Customer, inv.customer_id)
                change_balance(uow, cus, note.credit_minor, now, invoice_id=inv.id)
            uow.add(note)
            uow.publish(
                Event.of(
                    EventType.CREDIT_NOTE_ISSUED,
                    now,
                    note.id,
                    customer_id=inv.customer_id,
                    invoice_id=inv.id,
                    amount=value,
                )
            )
        return note

    def credit_notes(self, invoice_id: str) -> list[CreditNote]:
        """Credit notes of an invoice."""
        with self.store.begin() as uow:
            inv = uow.get(Invoice, invoice_id)
            return [
                n for n in uow.find(CreditNote, customer_id=inv.customer_id) if n.invoice_id == invoice_id
            ]
