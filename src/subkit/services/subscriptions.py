"""Subscriptions: sign up, change, cancel, pause, resume, coupons, and previews of each.

Each command reads the subscription and its customer in one unit of work, runs a pure
operation of :mod:`subkit.subscription.machine`, and hands the outcome to
:class:`~subkit.services.invoicing.Invoicing`, which writes it. A preview runs the same
operation and rolls back: nothing is written, nothing is dispatched.

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.catalog.catalog import Catalog, Plan, Product
    >>> from subkit.catalog.pricing import FlatFee
    >>> from subkit.services.catalog_admin import CatalogAdmin
    >>> from subkit.services.customers import Customers
    >>> from subkit.testing import InMemoryStore, TestClock
    >>> ctx = ServiceContext(InMemoryStore(), TestClock(datetime(2027, 1, 1, tzinfo=UTC)))
    >>> CatalogAdmin(ctx).set_catalog(Catalog(products=(Product(id="app", name="App"),), plans=(
    ...     Plan(id="basic", product_id="app", name="Basic", prices={"USD": FlatFee(flat_amount="10")}),)))
    >>> subs = Subscriptions(ctx, Invoicing(ctx))
    >>> sub = subs.subscribe(Customers(ctx).create(name="Ada", currency="USD").id, "basic")
    >>> mid_month = datetime(2027, 1, 16, tzinfo=UTC)
    >>> [ln.amount_minor for ln in subs.preview_cancel(sub.id, prorate=True, at=mid_month)]
    [-516]
    >>> subs.cancel(sub.id).cancel_at_period_end
    True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from subkit.core.deprecation import renamed_keyword
from subkit.core.inputs import (
    MAX_TRIAL_DAYS,
    check_bool,
    check_choice,
    check_id,
    check_int,
    check_metadata,
    check_optional_id,
    check_quantity,
    mask_card_numbers,
)
from subkit.core.money import MAX_AMOUNT, minor_units
from subkit.core.periods import ensure_aware
from subkit.customer.customer import Customer
from subkit.errors import CouponError, NotFoundError, StateError, ValidationError
from subkit.invoice.discounts import AppliedDiscount, Coupon, PromotionCode
from subkit.invoice.invoice import BillingReason, Invoice, InvoiceLine
from subkit.services.billing_run import AdvanceReport, run_due_actions
from subkit.services.context import ServiceContext, Work
from subkit.services.invoicing import Invoicing
from subkit.services.preview import Preview
from subkit.subscription.machine import cancel as _cancel
from subkit.subscription.machine import change_items as _change_items
from subkit.subscription.machine import create as _create
from subkit.subscription.machine import is_upgrade as _is_upgrade
from subkit.subscription.machine import pause as _pause
from subkit.subscription.machine import reactivate as _reactivate
from subkit.subscription.machine import resume as _resume
from subkit.subscription.machine import schedule_change as _schedule_change
from subkit.subscription.model import (
    BillingContext,
    Outcome,
    ScheduledChange,
    Subscription,
    SubscriptionStatus,
    TrialEndBehavior,
)
from subkit.subscription.proration import ProrationBehavior
from subkit.subscription.schedule import pending_changes, released_by
from subkit.subscription.schedule import release_schedule as _release_schedule

__all__ = ["Subscriptions", "When"]

#: When a plan or quantity change takes effect.
When = Literal["auto", "now", "period_end"] | datetime

_Op = Callable[[Subscription, BillingContext, Customer], Outcome]


class Subscriptions:
    """The subscription lifecycle commands and their previews.

    Example:
        >>> from datetime import datetime, UTC
        >>> from subkit.testing import InMemoryStore, TestClock
        >>> ctx = ServiceContext(InMemoryStore(), TestClock(datetime(2027, 1, 1, tzinfo=UTC)))
        >>> Subscriptions(ctx, Invoicing(ctx)).get("sub_missing")
        Traceback (most recent call last):
        subkit.errors.NotFoundError: [not_found] id: no subscription with id 'sub_missing'
    """

    __slots__ = ("ctx", "invoicing")

    def __init__(self, ctx: ServiceContext, invoicing: Invoicing) -> None:
        self.ctx = ctx
        self.invoicing = invoicing

    def get(self, subscription_id: str) -> Subscription:
        """A subscription by id."""
        check_id(subscription_id, "subscription_id")
        with self.ctx.store.begin() as uow:
            return uow.get(Subscription, subscription_id)

    # ------------------------------------------------------------------ sign-up
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
        out, _, work = self._subscribe(
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
        if self.ctx.committed(work):
            return self.get(out.subscription.id)
        return out.subscription

    def preview_subscribe(
        self, customer_id: str, plan_id: str | None = None, quantity: object = 1, **options: Any
    ) -> list[InvoiceLine]:
        """The first invoice's lines :meth:`subscribe` would produce (none in a trial); writes nothing.

        ``options`` are :meth:`subscribe`'s keywords (``trial_days``, ``coupon``, ``at``...); pass
        the ``id`` the subscription will have to get lines naming its items exactly.
        """
        out, inv, _ = self._subscribe(customer_id, plan_id, quantity, dry_run=True, **options)
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
    ) -> tuple[Outcome, Invoice | None, Work]:
        at = self.ctx.now(at)
        check_id(customer_id, "customer_id")
        if items is None:
            if plan_id is None:
                raise ValidationError("give a plan_id or items", field="plan_id")
            items = [(plan_id, quantity)]
        items = _checked_items(items)
        id = check_optional_id(id, "id")
        coupon = check_optional_id(coupon, "coupon")
        promotion_code = check_optional_id(promotion_code, "promotion_code")
        options = _checked_options(options)
        uow = self.ctx.store.begin()
        with uow:
            work = Work(uow)
            customer = uow.get(Customer, customer_id)
            ctx = self.ctx.billing_context(work, customer=customer)
            coupons = _redeem(work, coupon, promotion_code, at)
            out = _create(
                id or self.ctx.ids("sub"),
                customer.id,
                customer.currency,
                items,
                ctx,
                at=at,
                timezone=customer.timezone,
                coupons=coupons,
                **options,
            )
            _count_redemptions(work, coupons)
            _check_amounts(out)
            inv = self.invoicing.apply(work, out, customer, new=True)
            if dry_run:
                uow.rollback()
        return out, inv, work

    # ------------------------------------------------------------------ commands on a subscription
    def _run(self, sub_id: str, op: _Op, *, dry_run: bool = False) -> tuple[Outcome, Invoice | None]:
        check_id(sub_id, "subscription_id")
        uow = self.ctx.store.begin()
        with uow:
            work = Work(uow)
            sub = uow.get(Subscription, sub_id)
            customer = uow.get(Customer, sub.customer_id)
            out = op(sub, self.ctx.billing_context(work, sub, customer), customer)
            _check_amounts(out)
            inv = self.invoicing.apply(work, out, customer)
            if dry_run:
                if inv is not None:
                    out.invoice_lines = list(inv.lines)
                uow.rollback()
                return out, inv
        if self.ctx.committed(work):
            out.subscription = self.get(sub_id)
        return out, inv

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
        dry_run: bool = False,
        proration: ProrationBehavior | None = None,
    ) -> tuple[Subscription, Preview]:
        """Change plan and/or quantity: ``now``, at ``period_end``, at a date, or ``auto``.

        ``auto``: upgrades (the new full-period price is not lower) take effect now with
        proration; downgrades wait for the period end. Returns the subscription and a
        :class:`~subkit.services.preview.Preview` of what was invoiced or left pending (with
        ``dry_run``, of what would be: nothing is written). ``proration=`` is the deprecated
        alias of ``proration_behavior=``.
        """
        proration = renamed_keyword("proration", proration, "proration_behavior", proration_behavior)
        at = self.ctx.now(at)
        plan_id = check_optional_id(plan_id, "plan_id")
        item_id = check_optional_id(item_id, "item_id")
        if quantity is not None:
            quantity = check_quantity(quantity)
        if proration is not None:
            proration = check_choice(ProrationBehavior, proration, "proration_behavior")
        if not isinstance(when, datetime) and when not in ("auto", "now", "period_end"):
            raise ValidationError("when is 'auto', 'now', 'period_end' or an aware datetime", field="when")

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
                sub,
                ctx,
                at=at,
                when=target,
                item_id=item_id,
                plan_id=plan_id,
                quantity=quantity,
                proration=proration,
            )

        out, inv = self._run(subscription_id, op, dry_run=dry_run)
        if inv is not None and dry_run:
            inv = inv.model_copy(update={"number": None})  # a preview takes no number
        return out.subscription, Preview.of(out.lines, out.subscription.currency, inv)

    def scheduled_changes(self, subscription_id: str) -> tuple[ScheduledChange, ...]:
        """The plan and quantity changes waiting on a subscription, soonest first."""
        return pending_changes(self.get(subscription_id))

    def release_schedule(
        self,
        subscription_id: str,
        *,
        item_id: str | None = None,
        effective_at: datetime | None = None,
        at: datetime | None = None,
    ) -> Subscription:
        """Drop pending changes (all, one item's, or those at ``effective_at``); the plan stays as it is."""
        now = self.ctx.now(at)
        sub = self.get(subscription_id)
        if not released_by(sub, item_id=item_id, effective_at=effective_at):
            return sub  # nothing pending: nothing written
        out, _ = self._run(
            subscription_id,
            lambda s, c, _: _release_schedule(s, at=now, item_id=item_id, effective_at=effective_at),
        )
        return out.subscription

    def cancel(
        self,
        subscription_id: str,
        *,
        at_period_end: bool = True,
        prorate: bool = False,
        at: datetime | None = None,
    ) -> Subscription:
        """Cancel at period end (default), or now (optionally crediting unused time)."""
        now = self.ctx.now(at)
        check_bool(at_period_end, "at_period_end")
        check_bool(prorate, "prorate")
        out, _ = self._run(
            subscription_id,
            lambda s, c, _: _cancel(s, c, at=now, at_period_end=at_period_end, prorate=prorate),
        )
        return out.subscription

    def preview_cancel(
        self, subscription_id: str, *, prorate: bool = False, at: datetime | None = None
    ) -> list[InvoiceLine]:
        """The final invoice lines a cancellation now would produce; writes nothing."""
        now = self.ctx.now(at)
        check_bool(prorate, "prorate")
        return self._lines(
            self._run(
                subscription_id,
                lambda s, c, _: _cancel(s, c, at=now, at_period_end=False, prorate=prorate),
                dry_run=True,
            )
        )

    def reactivate(self, subscription_id: str, *, at: datetime | None = None) -> Subscription:
        """Undo a pending cancellation at period end."""
        now = self.ctx.now(at)
        return self._run(subscription_id, lambda s, c, _: _reactivate(s, at=now))[0].subscription

    def pause(
        self, subscription_id: str, *, resume_at: datetime | None = None, at: datetime | None = None
    ) -> Subscription:
        """Pause billing (renewals charge nothing until resumed)."""
        now = self.ctx.now(at)
        resume_at = None if resume_at is None else self.ctx.now(resume_at)
        out, _ = self._run(subscription_id, lambda s, c, _: _pause(s, at=now, resume_at=resume_at))
        return out.subscription

    def resume(self, subscription_id: str, *, at: datetime | None = None) -> Subscription:
        """Resume a paused subscription (an unpaid period is charged prorated from now)."""
        now = self.ctx.now(at)
        return self._run(subscription_id, lambda s, c, _: _resume(s, c, at=now))[0].subscription

    def preview_resume(self, subscription_id: str, *, at: datetime | None = None) -> list[InvoiceLine]:
        """The lines resuming now would invoice (the unpaid rest of the period); writes nothing."""
        now = self.ctx.now(at)
        return self._lines(self._run(subscription_id, lambda s, c, _: _resume(s, c, at=now), dry_run=True))

    @staticmethod
    def _lines(result: tuple[Outcome, Invoice | None]) -> list[InvoiceLine]:
        out, inv = result
        return list(inv.lines) if inv is not None else out.lines

    def upcoming_invoice(self, subscription_id: str) -> Invoice | None:
        """The invoice the next renewal will issue (scheduled changes applied first); writes nothing.

        Usage recorded so far counts; usage still to come does not. ``None`` when the
        subscription ends or pauses at its period end.
        """
        check_id(subscription_id, "subscription_id")
        uow = self.ctx.store.begin()
        with uow:
            sub = uow.get(Subscription, subscription_id)
            if sub.due_at is None:
                uow.rollback()
                return None
            report = AdvanceReport(until=sub.period_end)
            invoices = run_due_actions(self.ctx, self.invoicing, Work(uow), sub.id, sub.period_end, report)
            uow.rollback()
        renewals = [
            i
            for i in invoices
            if i.period_start == sub.period_end
            or i.billing_reason in (BillingReason.SUBSCRIPTION_CYCLE, BillingReason.SUBSCRIPTION_CANCEL)
        ]
        return renewals[-1] if renewals else None

    # ------------------------------------------------------------------ coupons
    def apply_coupon(
        self,
        subscription_id: str,
        coupon: str | None = None,
        *,
        promotion_code: str | None = None,
        at: datetime | None = None,
    ) -> Subscription:
        """Attach a coupon to a live subscription; it covers cycles from the next one."""
        now = self.ctx.now(at)
        check_id(subscription_id, "subscription_id")
        coupon = check_optional_id(coupon, "coupon")
        promotion_code = check_optional_id(promotion_code, "promotion_code")
        with self.ctx.store.begin() as uow:
            work = Work(uow)
            sub = uow.get(Subscription, subscription_id)
            if sub.status == SubscriptionStatus.CANCELED:
                raise StateError(f"subscription {sub.id} is canceled")
            coupons = _redeem(work, coupon, promotion_code, now)
            for c in coupons:
                c.check_redeemable(now, [it.plan_id for it in sub.items], sub.currency)
            _count_redemptions(work, coupons)
            start = max(sub.cycle + 1, 0)
            new = sub.bumped(
                discounts=(
                    *sub.discounts,
                    *(AppliedDiscount(coupon_id=c.id, start_cycle=start) for c in coupons),
                )
            )
            uow.update(new)
        return new


def _redeem(work: Work, coupon_id: str | None, promotion_code: str | None, at: datetime) -> list[Coupon]:
    """The coupon given, or the one a promotion code redeems (whose use is counted)."""
    uow = work.uow
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


def _count_redemptions(work: Work, coupons: Sequence[Coupon]) -> None:
    for c in coupons:
        new = c.bumped(times_redeemed=c.times_redeemed + 1)
        work.update(new)
        work.coupons[c.id] = new


def _checked_items(items: object) -> list[tuple[str, object]]:
    """``(plan_id, quantity)`` pairs, each checked (ids, quantities within bounds)."""
    if isinstance(items, (str, bytes)) or not isinstance(items, Sequence):
        raise ValidationError("items is a list of (plan_id, quantity) pairs", field="items")
    out: list[tuple[str, object]] = []
    for n, pair in enumerate(items):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValidationError("each item is a (plan_id, quantity) pair", field=f"items.{n}")
        out.append((check_id(pair[0], "plan_id"), check_quantity(pair[1])))
    return out


def _checked_options(options: dict[str, Any]) -> dict[str, Any]:
    """:meth:`Subscriptions.subscribe`'s keyword options, checked (types, trial length, metadata)."""
    known = {
        "trial_days",
        "trial_requires_payment_method",
        "trial_end_behavior",
        "proration_behavior",
        "metadata",
        "payment_method_id",
    }
    unknown = set(options) - known
    if unknown:
        names = mask_card_numbers(", ".join(sorted(unknown)))
        raise ValidationError(f"unknown option(s): {names}", field="options")
    out = dict(options)
    if out.get("trial_days") is not None:
        out["trial_days"] = check_int(out["trial_days"], "trial_days", low=0, high=MAX_TRIAL_DAYS)
    if "trial_requires_payment_method" in out:
        check_bool(out["trial_requires_payment_method"], "trial_requires_payment_method")
    if "trial_end_behavior" in out:
        out["trial_end_behavior"] = check_choice(
            TrialEndBehavior, out["trial_end_behavior"], "trial_end_behavior"
        )
    if "proration_behavior" in out:
        out["proration_behavior"] = check_choice(
            ProrationBehavior, out["proration_behavior"], "proration_behavior"
        )
    if "metadata" in out:
        out["metadata"] = check_metadata(out["metadata"])
    if "payment_method_id" in out:
        out["payment_method_id"] = check_optional_id(out["payment_method_id"], "payment_method_id")
    return out


def _check_amounts(out: Outcome) -> None:
    """Refuse an operation whose lines exceed :data:`~subkit.core.money.MAX_AMOUNT` (quantity x price)."""
    lines = [*out.invoice_lines, *out.pending_lines]
    if not lines:
        return
    limit = int(MAX_AMOUNT) * 10 ** minor_units(out.subscription.currency)
    for ln in lines:
        if abs(ln.amount_minor) > limit:
            raise ValidationError(
                "a line's amount is out of range: at most 10**12 major units (lower the quantity)",
                field="quantity",
            )
