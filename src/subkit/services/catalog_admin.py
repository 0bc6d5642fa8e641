"""Catalog administration: the stored catalog, coupons and promotion codes.

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.catalog.catalog import Plan, Product
    >>> from subkit.catalog.pricing import FlatFee
    >>> from subkit.testing import InMemoryStore, TestClock
    >>> admin = CatalogAdmin(ServiceContext(InMemoryStore(), TestClock(datetime(2027, 1, 1, tzinfo=UTC))))
    >>> admin.set_catalog(Catalog(products=(Product(id="app", name="App"),), plans=(
    ...     Plan(id="basic", product_id="app", name="Basic", prices={"USD": FlatFee(price="10")}),)))
    >>> [p.id for p in admin.catalog().plans]
    ['basic']
    >>> _ = admin.add_coupon(Coupon(id="SAVE10", percent_off="10"))
    >>> admin.add_promotion_code(PromotionCode(id="spring", coupon_id="SAVE10")).id
    'SPRING'
"""

from __future__ import annotations

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

        A catalog that drops a plan version a live subscription still pins is refused with a
        ``CatalogError`` naming it: publish new versions instead of removing old ones.
        """
        _check_entity(catalog, Catalog, "catalog")
        with self.ctx.store.begin() as uow:
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


def _check_entity(value: object, kind: type[BaseModel], field: str) -> None:
    """``value`` is a ``kind`` whose every text is well-formed, without card data (checked before writing)."""
    if not isinstance(value, kind):
        raise ValidationError(f"got {type(value).__name__}; pass a {kind.__name__}", field=field)
    check_plain(value.model_dump(mode="json"), field)
