"""Catalog administration: the stored catalog, coupons and promotion codes.

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.catalog.catalog import Plan, Product
    >>> from subkit.catalog.pricing import FlatFee
    >>> from subkit.testing import InMemoryStore, TestClock
    >>> admin = CatalogAdmin(ServiceContext(InMemoryStore(), TestClock(datetime(2027, 1, 1, tzinfo=UTC))))
    >>> admin.set_catalog(Catalog(products=(Product(id="app", name="App"),), plans=(
    ...     Plan(id="basic", product_id="app", name="Basic", prices={"USD": FlatFee(flat_amount="10")}),)))
    >>> [p.id for p in admin.catalog().plans]
    ['basic']
    >>> _ = admin.add_coupon(Coupon(id="SAVE10", percent_off="10"))
    >>> admin.add_promotion_code(PromotionCode(id="spring", coupon_id="SAVE10")).id
    'SPRING'
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from pydantic import BaseModel

from subkit.catalog.catalog import Catalog
from subkit.core.inputs import check_plain
from subkit.errors import CatalogError, NotFoundError, ValidationError
from subkit.invoice.discounts import Coupon, PromotionCode
from subkit.services.context import CatalogRecord, ServiceContext, Work
from subkit.subscription.model import Subscription, SubscriptionStatus

__all__ = ["CatalogAdmin"]


class CatalogAdmin:
    """Stores the catalog, coupons and promotion codes.

    Example:
        >>> from datetime import datetime, UTC
        >>> from subkit.testing import InMemoryStore, TestClock
        >>> ctx = ServiceContext(InMemoryStore(), TestClock(datetime(2027, 1, 1, tzinfo=UTC)))
        >>> CatalogAdmin(ctx).add_coupon(Coupon(id="FIVE", amount_off={"USD": "5"})).id
        'FIVE'
    """

    __slots__ = ("ctx",)

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def set_catalog(self, catalog: Catalog) -> None:
        """Store the catalog (replacing the previous one; subscriptions keep their pinned versions).

        A published plan version is immutable once a live subscription pins it: a catalog
        that drops such a version, or changes it (its prices, interval, trial...), is refused
        with a ``CatalogError`` naming it and saying what to do instead (publish the change as
        the next version with an ``effective_from``, then move subscriptions with
        :meth:`~subkit.services.plan_migration.PlanMigrations.migrate`). Nothing is written then.
        """
        _check_entity(catalog, Catalog, "catalog")
        with self.ctx.store.begin() as uow:
            try:
                rec: CatalogRecord | None = uow.get(CatalogRecord, "catalog")
            except NotFoundError:
                rec = None
            _check_pinned_versions(uow.find(Subscription), rec.catalog if rec else None, catalog)
            if rec is None:
                uow.add(CatalogRecord(id="catalog", catalog=catalog))
            else:
                uow.update(rec.bumped(catalog=catalog))

    def catalog(self) -> Catalog:
        """The current catalog."""
        with self.ctx.store.begin() as uow:
            return Work(uow).catalog()

    def add_coupon(self, coupon: Coupon) -> Coupon:
        """Store a coupon."""
        _check_entity(coupon, Coupon, "coupon")
        with self.ctx.store.begin() as uow:
            uow.add(coupon)
        return coupon

    def add_promotion_code(self, code: PromotionCode) -> PromotionCode:
        """Store a promotion code (its id is the code, upper-cased)."""
        _check_entity(code, PromotionCode, "code")
        code = code.model_copy(update={"id": code.id.upper()})
        with self.ctx.store.begin() as uow:
            uow.get(Coupon, code.coupon_id)
            uow.add(code)
        return code


def _check_pinned_versions(subs: Iterable[Subscription], old: Catalog | None, new: Catalog) -> None:
    """Refuse a catalog that drops or rewrites a plan version a live subscription pins."""
    users: Counter[tuple[str, int]] = Counter()
    example: dict[tuple[str, int], str] = {}
    for sub in subs:
        if sub.status == SubscriptionStatus.CANCELED:
            continue
        for it in sub.items:
            key = (it.plan_id, it.plan_version)
            users[key] += 1
            example.setdefault(key, sub.id)
    before = {(p.id, p.version): p for p in old.plans} if old is not None else {}
    after = {(p.id, p.version): p for p in new.plans}
    for key in sorted(users):
        plan_id, version = key
        who = f"subscription {example[key]}" + (f" and {users[key] - 1} more" if users[key] > 1 else "")
        if key not in after:
            raise CatalogError(
                f"{who} still uses plan {plan_id!r} version {version}; keep that version in the "
                "catalog (publish new versions instead of removing old ones) or migrate them first",
                field="plans",
            )
        if key in before and before[key] != after[key]:
            nxt = max(v for (pid, v) in after if pid == plan_id) + 1
            raise CatalogError(
                f"plan {plan_id!r} version {version} is in use by {who} and cannot change; publish "
                f"the change as version {nxt} with an effective_from date, then move subscriptions "
                f"with engine.migrate_subscriptions({plan_id!r})",
                field="plans",
            )


def _check_entity(value: object, kind: type[BaseModel], field: str) -> None:
    """``value`` is a ``kind`` whose every text is well-formed, without card data (checked before writing)."""
    if not isinstance(value, kind):
        raise ValidationError(f"got {type(value).__name__}; pass a {kind.__name__}", field=field)
    check_plain(value.model_dump(mode="json"), field)
