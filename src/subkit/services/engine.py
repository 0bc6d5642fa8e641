"""The billing engine: one stable facade over subkit's billing services.

``BillingEngine`` keeps the public API; each method delegates to one of the small services of
:mod:`subkit.services`, which share a :class:`~subkit.services.context.ServiceContext`. Each
operation writes its results in one unit of work: the subscription, its invoice (numbered from
a gap-free sequence), pending items, the customer's balance, unique charge keys and outbox
events commit together or not at all. The engine keeps no state of any call: threads may share it.

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
    ...     Plan(id="basic", product_id="app", name="Basic", prices={"USD": FlatFee(flat_amount="10")}),)))
    >>> cus = engine.create_customer(name="Ada", currency="USD")
    >>> sub = engine.subscribe(cus.id, "basic")
    >>> _ = clock.travel_to(datetime(2027, 4, 30, tzinfo=UTC))
    >>> engine.advance().invoices
    3
    >>> [(i.period_start.date().isoformat(), i.total_minor) for i in engine.invoices(cus.id)]
    [('2027-01-31', 1000), ('2027-02-28', 1000), ('2027-03-31', 1000), ('2027-04-30', 1000)]
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar, cast, overload

from subkit.catalog.catalog import Catalog
from subkit.core.deprecation import renamed_keyword
from subkit.core.events import Event, EventType
from subkit.core.inputs import MAX_QUANTITY, check_id, check_optional_id, check_plain
from subkit.core.money import decimal_of
from subkit.customer.customer import Customer
from subkit.errors import ValidationError
from subkit.invoice.discounts import Coupon, PromotionCode
from subkit.invoice.invoice import CreditNote, Invoice, InvoiceItem, InvoiceLine
from subkit.ports import Clock, EventPublisher, Store
from subkit.services.analytics import Analytics
from subkit.services.audit import Actor, AuditedStore, acting_as
from subkit.services.billing_preview import preview_advance
from subkit.services.billing_run import AdvanceReport, BillingRun
from subkit.services.bus import EventBus
from subkit.services.catalog_admin import CatalogAdmin
from subkit.services.context import BillingConfig, CatalogRecord, ServiceContext, uuid_ids
from subkit.services.credit_notes import CreditNotes
from subkit.services.customers import Customers, change_balance
from subkit.services.invoicing import Invoicing
from subkit.services.listing import Listing
from subkit.services.metering import Metering
from subkit.services.outbox import relay
from subkit.services.plan_migration import PlanMigration, PlanMigrations
from subkit.services.preview import Preview
from subkit.services.progressive import check_thresholds
from subkit.services.subscriptions import Subscriptions, When
from subkit.services.usage_rating import current_usage
from subkit.services.wallets import Wallets
from subkit.subscription.model import ScheduledChange, Subscription, TrialEndBehavior
from subkit.subscription.proration import ProrationBehavior
from subkit.usage.event import IngestResult, UsageEvent
from subkit.usage.quarantine import QuarantinedUsage
from subkit.usage.rating import Measured
from subkit.usage.wallet import Wallet, WalletEntry

__all__ = ["AdvanceReport", "BillingConfig", "BillingEngine", "CatalogRecord", "change_balance"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class _Shared(Generic[T]):
    """An engine attribute that lives on the shared context (read and assigned through)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, engine: None, owner: type) -> _Shared[T]: ...
    @overload
    def __get__(self, engine: BillingEngine, owner: type) -> T: ...
    def __get__(self, engine: BillingEngine | None, owner: type) -> _Shared[T] | T:
        return self if engine is None else cast(T, getattr(engine._ctx, self._name))

    def __set__(self, engine: BillingEngine, value: T) -> None:
        setattr(engine._ctx, self._name, value)


class BillingEngine(Listing):
    """Runs a subscription business over a store and a clock; lists come from :class:`Listing`.

    ``store``, ``clock``, ``config``, ``publisher`` (the outbox relay's target, may be set
    later) and ``bus`` (the in-process :class:`~subkit.services.bus.EventBus`) are shared by
    every service.

    Example:
        >>> from datetime import datetime, UTC
        >>> from subkit.testing import InMemoryStore, TestClock
        >>> engine = BillingEngine(InMemoryStore(), TestClock(datetime(2027, 1, 1, tzinfo=UTC)))
        >>> engine.create_customer(name="Ada", currency="EUR", id="cus_ada").id
        'cus_ada'
    """

    store: _Shared[Store] = _Shared()
    clock: _Shared[Clock] = _Shared()
    config: _Shared[BillingConfig] = _Shared()
    publisher: _Shared[EventPublisher | None] = _Shared()
    bus: _Shared[EventBus] = _Shared()

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        config: BillingConfig | None = None,
        publisher: EventPublisher | None = None,
        ids: Callable[[str], str] = uuid_ids,
    ) -> None:
        if config is not None and config.audit and not isinstance(store, AuditedStore):
            store = AuditedStore(store, clock)
        self._ctx = ctx = ServiceContext(store, clock, config or BillingConfig(), publisher, ids)
        self._catalog_admin = CatalogAdmin(ctx)
        self._customers = Customers(ctx)
        self._invoicing = Invoicing(ctx)
        self._credit_notes = CreditNotes(ctx)
        self._metering = Metering(ctx, on_usage=self.check_usage_thresholds)
        self._subscriptions = Subscriptions(ctx, self._invoicing)
        self._plan_migrations = PlanMigrations(ctx, self._subscriptions)
        self._after_finalize: list[Callable[[str], None]] = []

    def new_id(self, prefix: str) -> str:
        """A new id from the engine's generator (``ids=`` at construction), e.g. ``in_...``."""
        return self._ctx.ids(prefix)

    @property
    def after_finalize(self) -> list[Callable[[str], None]]:
        """Deprecated: use ``bus.subscribe(EventType.INVOICE_FINALIZED, handler)``.

        Callbacks appended here are still called, with the invoice id, for one release.
        """
        warnings.warn(
            "BillingEngine.after_finalize is deprecated: use "
            "engine.bus.subscribe(EventType.INVOICE_FINALIZED, handler)",
            DeprecationWarning,
            stacklevel=2,
        )
        self.bus.subscribe(EventType.INVOICE_FINALIZED, self._call_after_finalize)
        return self._after_finalize

    def _call_after_finalize(self, event: Event) -> None:
        for hook in self._after_finalize:
            hook(event.subject_id)

    def relay(self, limit: int = 1000) -> int:
        """Publish committed outbox events to the publisher; returns how many were sent."""
        return 0 if self.publisher is None else relay(self.store, self.publisher, limit)

    # ------------------------------------------------------------------ catalog, customers, coupons
    def set_catalog(self, catalog: Catalog) -> None:
        """Store the catalog; one dropping a plan version a live subscription pins is refused."""
        self._catalog_admin.set_catalog(catalog)

    @property
    def catalog(self) -> Catalog:
        """The current catalog."""
        return self._catalog_admin.catalog()

    def add_coupon(self, coupon: Coupon) -> Coupon:
        """Store a coupon."""
        return self._catalog_admin.add_coupon(coupon)

    def add_promotion_code(self, code: PromotionCode) -> PromotionCode:
        """Store a promotion code (its id is the code, upper-cased)."""
        return self._catalog_admin.add_promotion_code(code)

    def create_customer(self, *, id: str | None = None, **fields: Any) -> Customer:
        """Create and store a customer (fields of :class:`~subkit.customer.customer.Customer`)."""
        return self._customers.create(id=id, **fields)

    def update_customer(self, customer_id: str, **changes: Any) -> Customer:
        """Change a customer's fields (validated)."""
        return self._customers.update(customer_id, **changes)

    def customer_by_external_id(self, external_id: str) -> Customer:
        """The customer with this ``external_id`` (the host's own id; case and spaces ignored; indexed)."""
        return self._customers.by_external_id(external_id)

    def get_customer(self, customer_id: str) -> Customer:
        """A customer by id."""
        return self._customers.get(customer_id)

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
        """Subscribe a customer to a plan (or several ``items``); without a trial, invoiced at once."""
        return self._subscriptions.subscribe(
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

    def preview_subscribe(
        self, customer_id: str, plan_id: str | None = None, quantity: object = 1, **options: Any
    ) -> list[InvoiceLine]:
        """The first invoice's lines :meth:`subscribe` would produce (its keywords); writes nothing."""
        return self._subscriptions.preview_subscribe(customer_id, plan_id, quantity, **options)

    def get_subscription(self, subscription_id: str) -> Subscription:
        """A subscription by id."""
        return self._subscriptions.get(subscription_id)

    def change_plan(
        self,
        subscription_id: str,
        plan_id: str | None = None,
        *,
        quantity: object = None,
        item_id: str | None = None,
        when: When = "auto",
        proration_behavior: ProrationBehavior | None = None,
        at: datetime | None = None,
        proration: ProrationBehavior | None = None,
    ) -> Subscription:
        """Change plan and/or quantity: ``now``, at ``period_end``, at a date, or ``auto``.

        ``auto`` (default): upgrades (the new full-period price is not lower) take effect
        now with proration; downgrades wait for the period end. ``proration_behavior`` (Stripe's
        name) says how an immediate change is billed; ``proration=`` is its deprecated alias.
        """
        proration_behavior = renamed_keyword("proration", proration, "proration_behavior", proration_behavior)
        return self._subscriptions.change_plan(
            subscription_id,
            plan_id,
            quantity=quantity,
            item_id=item_id,
            when=when,
            proration_behavior=proration_behavior,
            at=at,
        )[0]

    def change_quantity(
        self,
        subscription_id: str,
        quantity: object,
        *,
        item_id: str | None = None,
        when: When = "now",
        proration_behavior: ProrationBehavior | None = None,
        at: datetime | None = None,
        proration: ProrationBehavior | None = None,
    ) -> Subscription:
        """Change an item's quantity (seats), now by default, with proration (``proration=``: deprecated)."""
        proration_behavior = renamed_keyword("proration", proration, "proration_behavior", proration_behavior)
        return self.change_plan(
            subscription_id,
            None,
            quantity=quantity,
            item_id=item_id,
            when=when,
            proration_behavior=proration_behavior,
            at=at,
        )

    def preview_change(
        self,
        subscription_id: str,
        plan_id: str | None = None,
        *,
        quantity: object = None,
        item_id: str | None = None,
        when: When | None = None,
        proration_behavior: ProrationBehavior | None = None,
        at: datetime | None = None,
        proration: ProrationBehavior | None = None,
    ) -> Preview:
        """What the change would do at the same instant, with the action's defaults; writes nothing.

        Without ``when``, the default of the action the arguments name: :meth:`change_quantity`'s
        ``"now"`` when only a quantity is given, :meth:`change_plan`'s ``"auto"`` otherwise. The
        :class:`~subkit.services.preview.Preview` has the lines, the totals, and the draft invoice
        when the lines are invoiced at once (``pending`` when they wait for the next invoice); it
        is also a sequence of its lines, as previews were. ``proration=`` is the deprecated alias
        of ``proration_behavior=``.
        """
        proration_behavior = renamed_keyword("proration", proration, "proration_behavior", proration_behavior)
        if when is None:
            when = "now" if plan_id is None and quantity is not None else "auto"
        return self._subscriptions.change_plan(
            subscription_id,
            plan_id,
            quantity=quantity,
            item_id=item_id,
            when=when,
            proration_behavior=proration_behavior,
            at=at,
            dry_run=True,
        )[1]

    def scheduled_changes(self, subscription_id: str) -> tuple[ScheduledChange, ...]:
        """The plan and quantity changes waiting on a subscription, soonest first."""
        return self._subscriptions.scheduled_changes(subscription_id)

    def release_schedule(
        self,
        subscription_id: str,
        *,
        item_id: str | None = None,
        effective_at: datetime | None = None,
        at: datetime | None = None,
    ) -> Subscription:
        """Cancel pending scheduled changes (all, one item's, or those due at ``effective_at``)."""
        return self._subscriptions.release_schedule(
            subscription_id, item_id=item_id, effective_at=effective_at, at=at
        )

    def migrate_subscriptions(
        self,
        plan_id: str,
        *,
        when: Literal["period_end", "now"] = "period_end",
        dry_run: bool = False,
        at: datetime | None = None,
    ) -> list[PlanMigration]:
        """Move live subscriptions on ``plan_id`` to the version in force at the move (previewable).

        See :mod:`subkit.services.plan_migration`: at each period end by default (no
        proration), or ``now`` (prorated); ``dry_run`` lists the moves and writes nothing.
        """
        return self._plan_migrations.migrate(plan_id, when=when, dry_run=dry_run, at=at)

    def cancel(
        self,
        subscription_id: str,
        *,
        at_period_end: bool = True,
        prorate: bool = False,
        at: datetime | None = None,
    ) -> Subscription:
        """Cancel at period end (default), or now (optionally crediting unused time)."""
        return self._subscriptions.cancel(
            subscription_id, at_period_end=at_period_end, prorate=prorate, at=at
        )

    def preview_cancel(
        self, subscription_id: str, *, prorate: bool = False, at: datetime | None = None
    ) -> list[InvoiceLine]:
        """The final invoice lines a cancellation now would produce; writes nothing."""
        return self._subscriptions.preview_cancel(subscription_id, prorate=prorate, at=at)

    def reactivate(self, subscription_id: str, *, at: datetime | None = None) -> Subscription:
        """Undo a pending cancellation at period end."""
        return self._subscriptions.reactivate(subscription_id, at=at)

    def pause(
        self, subscription_id: str, *, resume_at: datetime | None = None, at: datetime | None = None
    ) -> Subscription:
        """Pause billing (renewals charge nothing until resumed)."""
        return self._subscriptions.pause(subscription_id, resume_at=resume_at, at=at)

    def resume(self, subscription_id: str, *, at: datetime | None = None) -> Subscription:
        """Resume a paused subscription (an unpaid period is charged prorated from now)."""
        return self._subscriptions.resume(subscription_id, at=at)

    def preview_resume(self, subscription_id: str, *, at: datetime | None = None) -> list[InvoiceLine]:
        """The lines resuming now would invoice (the unpaid rest of the period); writes nothing."""
        return self._subscriptions.preview_resume(subscription_id, at=at)

    def apply_coupon(
        self,
        subscription_id: str,
        coupon: str | None = None,
        *,
        promotion_code: str | None = None,
        at: datetime | None = None,
    ) -> Subscription:
        """Attach a coupon to a live subscription; it covers cycles from the next one."""
        return self._subscriptions.apply_coupon(subscription_id, coupon, promotion_code=promotion_code, at=at)

    def upcoming_invoice(self, subscription_id: str) -> Invoice | None:
        """The invoice the next renewal will issue (usage so far counted); writes nothing."""
        return self._subscriptions.upcoming_invoice(subscription_id)

    def record_usage(
        self,
        subscription_id: str,
        metric: str,
        quantity: object = None,
        *,
        at: datetime | None = None,
        id: str | None = None,
        properties: Mapping[str, object] | None = None,
    ) -> UsageEvent:
        """Record one usage event; the same ``id`` again is a duplicate (counted once, ``.duplicate``).

        The same ``id`` with other content is ``UsageConflictError``; an unknown metric is
        ``UnknownMetricError`` (see :mod:`subkit.services.metering`).
        """
        # input checks only (issue 10); the event's idempotency and quantity rules are metering's
        check_id(subscription_id, "subscription_id")
        check_id(metric, "metric")
        check_optional_id(id, "id")
        if quantity is not None and decimal_of(quantity, "quantity").copy_abs() > MAX_QUANTITY:
            raise ValidationError(
                "usage quantity is out of range: at most 10**12 in magnitude", field="quantity"
            )
        if properties is not None:
            check_plain(properties, "properties")
        return self._metering.record(subscription_id, metric, quantity, at=at, id=id, properties=properties)

    # ------------------------------------------------------------------ the clock moves
    def advance(self, until: datetime | None = None) -> AdvanceReport:
        """Do everything due up to ``until`` (default: now), each at its own instant, in batches.

        A :class:`~subkit.services.billing_run.BillingRun` per call: a conflicting batch is
        redone one subscription per transaction; one that still fails is in ``errors``.
        """
        report = BillingRun(self._ctx, self._invoicing, self._ctx.now(until)).execute()
        for sub_id, code, message in report.errors:
            log.warning("advance: subscription %s skipped [%s]: %s", sub_id, code, message)
        log.info(
            "advance to %s: %d actions, %d invoices, %d conflicts retried, %d skipped",
            report.until.isoformat(),
            report.actions,
            report.invoices,
            report.conflicts,
            len(report.errors),
        )
        return report

    def preview_advance(self, until: datetime | None = None) -> list[Invoice]:
        """The invoices :meth:`advance` would issue up to ``until``, in order; writes nothing.

        See :mod:`subkit.services.billing_preview` (``subkit bill --dry-run`` prints it).
        """
        return preview_advance(self._ctx, self._invoicing, self._ctx.now(until))

    # ------------------------------------------------------------------ invoices
    def add_invoice_item(
        self,
        customer_id: str,
        description: str,
        amount: object,
        *,
        subscription_id: str | None = None,
        quantity: object = 1,
        at: datetime | None = None,
        idempotency_key: str | None = None,
    ) -> InvoiceItem:
        """A one-off charge (or credit, if negative) for the customer's next invoice.

        A retry with the same ``idempotency_key`` and parameters returns the first item;
        the key with other parameters is an ``IdempotencyError``.
        """
        return self._invoicing.add_item(
            customer_id,
            description,
            amount,
            subscription_id=subscription_id,
            quantity=quantity,
            at=at,
            idempotency_key=idempotency_key,
        )

    def invoice_now(
        self, customer_id: str, *, at: datetime | None = None, idempotency_key: str | None = None
    ) -> Invoice | None:
        """Invoice a customer's pending items that belong to no subscription (a retry with the
        same ``idempotency_key`` returns the first call's invoice)."""
        return self._invoicing.invoice_now(customer_id, at=at, idempotency_key=idempotency_key)

    def get_invoice(self, invoice_id: str) -> Invoice:
        """An invoice by id."""
        return self._invoicing.get(invoice_id)

    def invoices(
        self, customer_id: str | None = None, *, subscription_id: str | None = None
    ) -> list[Invoice]:
        """Invoices of a customer or subscription (all when neither), oldest first."""
        return self._invoicing.invoices(customer_id, subscription_id=subscription_id)

    def void_invoice(self, invoice_id: str, *, at: datetime | None = None) -> Invoice:
        """Void an unpaid open invoice (the credit balance it used is given back)."""
        return self._invoicing.void(invoice_id, at=at)

    def mark_uncollectible(self, invoice_id: str, *, at: datetime | None = None) -> Invoice:
        """Write off an open invoice."""
        return self._invoicing.mark_uncollectible(invoice_id, at=at)

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

        On an open invoice the credit first reduces what is still due; the rest (or all, on
        a paid invoice) goes to the customer's credit balance, or is marked for refund. ``id``
        is the idempotency key: an existing credit note of that id is returned unchanged; the
        id reused with another invoice, amount or reason is an error.
        """
        return self._credit_notes.issue(invoice_id, amount, reason=reason, at=at, refund=refund, id=id)

    def credit_notes(self, invoice_id: str) -> list[CreditNote]:
        """Credit notes of an invoice."""
        return self._credit_notes.of_invoice(invoice_id)

    def acting_as(self, actor: Actor | str, reason: str = "") -> AbstractContextManager[Actor]:
        """Attribute the changes made in the ``with`` block to ``actor`` (the audit trail's who/why).

        See :mod:`subkit.services.audit` (the store must be an ``AuditedStore`` to record them).
        """
        return acting_as(actor, reason)

    # ------------------------------------------------------------- usage, prepaid credits (metering, wallets)
    def ingest_usage(self, events: Iterable[Mapping[str, Any]], *, chunk_size: int = 50_000) -> IngestResult:
        """Ingest usage events in bulk (plain mappings); see :mod:`subkit.services.metering`."""
        return self._metering.ingest(events, chunk_size=chunk_size)

    def usage_events(
        self, subscription_id: str, *, metric: str | None = None, limit: int = 1000
    ) -> list[UsageEvent]:
        """A subscription's recorded usage events (of ``metric``), oldest first, at most ``limit``."""
        return self._metering.events(subscription_id, metric=metric, limit=limit)

    def quarantined_usage(self) -> list[QuarantinedUsage]:
        """Usage events held in quarantine (``BillingConfig(usage_quarantine=True)``)."""
        return self._metering.quarantined()

    def replay_quarantined_usage(self) -> IngestResult:
        """Ingest the quarantined events again; ``quarantined`` counts those still refused."""
        return self._metering.replay_quarantined()

    def current_usage(self, subscription_id: str, *, at: datetime | None = None) -> dict[str, Measured]:
        """Each metered item's usage in the current period so far (to ``at``, default now), by item id."""
        return current_usage(self._ctx, subscription_id, self._ctx.now(at))

    def grant_credits(self, customer_id: str, amount: object, **options: Any) -> Wallet:
        """Add prepaid credits to the customer's wallet (``kind``, ``priority``, ``expires_at``...)."""
        return Wallets(self._ctx).grant(customer_id, amount, **options)

    def wallet(self, customer_id: str, currency: str | None = None) -> Wallet:
        """The customer's wallet (``wallet.available(at)`` is the balance usable at ``at``)."""
        return Wallets(self._ctx).wallet(customer_id, currency)

    def wallet_ledger(self, customer_id: str) -> list[WalletEntry]:
        """Every movement of the customer's prepaid credits, oldest first."""
        return Wallets(self._ctx).ledger(customer_id)

    def check_usage_thresholds(
        self, subscription_ids: Iterable[str], *, at: datetime | None = None
    ) -> list[Invoice]:
        """Issue interim invoices where unbilled usage reached the plan's threshold (progressive billing)."""
        return check_thresholds(self._ctx, self._invoicing, subscription_ids, self._ctx.now(at))

    def analytics(self, **options: Any) -> Analytics:
        """The analytics service over this engine's store: :class:`~subkit.services.analytics.Analytics`."""
        return Analytics(self._ctx, **options)
