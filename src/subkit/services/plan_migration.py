"""Moving subscriptions to a plan's newer version: explicit, previewable, never implied.

A published plan version is immutable while subscriptions pin it (see
:meth:`~subkit.services.catalog_admin.CatalogAdmin.set_catalog`). A price change is a new
version; existing subscriptions keep the old one until the host moves them with
:meth:`PlanMigrations.migrate`: at each subscription's period end (the default, as a
price change at renewal in Stripe or Chargebee: no proration), or now (prorated like any
plan change). ``dry_run=True`` returns the same list and writes nothing.

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.catalog.catalog import Catalog, Plan, Product
    >>> from subkit.catalog.pricing import FlatFee
    >>> from subkit.services.engine import BillingEngine
    >>> from subkit.testing import InMemoryStore, TestClock
    >>> clock = TestClock(datetime(2027, 1, 1, tzinfo=UTC))
    >>> engine = BillingEngine(InMemoryStore(), clock)
    >>> v1 = Plan(id="basic", product_id="app", name="Basic", prices={"USD": FlatFee(flat_amount="10")})
    >>> engine.set_catalog(Catalog(products=(Product(id="app", name="App"),), plans=(v1,)))
    >>> sub = engine.subscribe(engine.create_customer(name="Ada", currency="USD").id, "basic")
    >>> v2 = v1.model_copy(update={"version": 2, "prices": {"USD": FlatFee(flat_amount="12")}})
    >>> engine.set_catalog(engine.catalog.publish(v2))
    >>> [(m.from_version, m.to_version, m.amount_before.amount, m.amount_after.amount)
    ...  for m in engine.migrate_subscriptions("basic", dry_run=True)]
    [(1, 2, Decimal('10.00'), Decimal('12.00'))]
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from subkit.catalog.catalog import Plan
from subkit.core.money import Money, exact_to_minor, from_minor
from subkit.errors import ValidationError
from subkit.services.context import ServiceContext, Work
from subkit.services.subscriptions import Subscriptions
from subkit.subscription.model import Subscription, SubscriptionStatus

__all__ = ["PlanMigration", "PlanMigrations"]


@dataclass(frozen=True, slots=True)
class PlanMigration:
    """One subscription item moving from one version of a plan to another.

    ``amount_before`` / ``amount_after``: one full period at the item's quantity, before
    discounts and tax (what the list price change means for this customer).

    Example:
        >>> from datetime import datetime, UTC
        >>> m = PlanMigration("sub_1", "sub_1_si0", "basic", 1, 2, datetime(2027, 2, 1, tzinfo=UTC),
        ...                   from_minor(1000, "USD"), from_minor(1200, "USD"))
        >>> m.to_version
        2
    """

    subscription_id: str
    item_id: str
    plan_id: str
    from_version: int
    to_version: int
    effective_at: datetime
    amount_before: Money
    amount_after: Money


class PlanMigrations:
    """Moves subscriptions on a plan to the version in force when the move takes effect."""

    __slots__ = ("ctx", "subscriptions")

    def __init__(self, ctx: ServiceContext, subscriptions: Subscriptions) -> None:
        self.ctx = ctx
        self.subscriptions = subscriptions

    def migrate(
        self,
        plan_id: str,
        *,
        when: Literal["period_end", "now"] = "period_end",
        dry_run: bool = False,
        at: datetime | None = None,
    ) -> list[PlanMigration]:
        """Move every live subscription item on ``plan_id`` to the version in force at the move.

        ``period_end``: a change scheduled at each subscription's period end (listed by
        ``scheduled_changes``, releasable); ``now``: changed at once with proration. Items
        already on that version are left alone, so calling it twice moves nothing twice.
        """
        if when not in ("period_end", "now"):
            raise ValidationError(f"when must be 'period_end' or 'now', not {when!r}", field="when")
        now = self.ctx.now(at)
        with self.ctx.store.begin() as uow:
            catalog = Work(uow).catalog()
            catalog.versions(plan_id)  # NotFoundError for an unknown plan
            subs = uow.find(Subscription)
        moves: list[PlanMigration] = []
        for sub in subs:
            if sub.status == SubscriptionStatus.CANCELED:
                continue
            effective = sub.period_end if when == "period_end" else now
            target = catalog.plan(plan_id, at=effective)
            for it in sub.items:
                if it.plan_id != plan_id or it.plan_version == target.version:
                    continue
                before = catalog.plan(plan_id, it.plan_version)
                moves.append(
                    PlanMigration(
                        sub.id,
                        it.id,
                        plan_id,
                        it.plan_version,
                        target.version,
                        effective,
                        _period_amount(before, sub, it.quantity),
                        _period_amount(target, sub, it.quantity),
                    )
                )
        if not dry_run:
            for m in moves:
                self.subscriptions.change_plan(
                    m.subscription_id, plan_id, item_id=m.item_id, when=when, at=now
                )
        return moves


def _period_amount(plan: Plan, sub: Subscription, quantity: Decimal) -> Money:
    """One full period of ``plan`` at ``quantity`` in the subscription's currency, rounded once."""
    return from_minor(exact_to_minor(plan.price(sub.currency).exact(quantity), sub.currency), sub.currency)
