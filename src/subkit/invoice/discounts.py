"""Coupons, promotion codes and how discounts apply to invoice lines.

Rules (documented in ``docs/discounts.md``):

- A coupon is a percentage (``percent_off``) or a fixed amount per currency (``amount_off``).
- Duration counts billing cycles of the subscription, from the first paid cycle after
  redemption: ``once`` covers that cycle, ``repeating`` ``duration_cycles`` cycles,
  ``forever`` all. Proration lines of a covered cycle are discounted too.
- Discounts apply before tax, to positive lines only (credits already carry what was paid),
  restricted to ``applies_to`` plans when set.
- Stacking order: all percentage coupons first, compounded in the order they were attached
  (10% then 20% leaves 72%), rounded once per line; then fixed amounts in attach order,
  spread over the eligible lines by largest remainder and never beyond what is left.

Example:
    >>> from datetime import datetime, UTC
    >>> c = Coupon(id="SAVE20", percent_off="20", duration="repeating", duration_cycles=3)
    >>> [c.covers_cycle(start_cycle=0, cycle=n) for n in range(4)]
    [True, True, True, False]
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, Field, model_validator

from subkit.core.model import Amount, CurrencyCode, Entity
from subkit.core.money import CONTEXT, allocate_minor, to_minor
from subkit.core.value import Value
from subkit.errors import CouponError, SubkitError

__all__ = [
    "AppliedDiscount",
    "Coupon",
    "CouponDuration",
    "PromotionCode",
    "discount_amounts",
    "discount_lines",
]

_HUNDRED = Decimal(100)
_ONE = Decimal(1)


class CouponDuration(StrEnum):
    """How many billing cycles a coupon discounts.

    Example:
        >>> CouponDuration("repeating").name
        'REPEATING'
    """

    ONCE = "once"
    REPEATING = "repeating"
    FOREVER = "forever"


class Coupon(Entity):
    """A reusable discount definition.

    Example:
        >>> Coupon(id="TENOFF", amount_off={"USD": "10"}, duration="forever").is_percentage
        False
    """

    kind: ClassVar[str] = "coupon"
    _error: ClassVar[type[SubkitError]] = CouponError
    name: str = ""
    percent_off: Amount | None = None
    amount_off: dict[CurrencyCode, Amount] = Field(default_factory=dict)
    duration: CouponDuration = CouponDuration.ONCE
    duration_cycles: int | None = None
    applies_to: tuple[str, ...] = ()
    max_redemptions: int | None = Field(default=None, ge=1)
    redeem_by: AwareDatetime | None = None
    times_redeemed: int = 0

    @model_validator(mode="after")
    def _check(self) -> Coupon:
        if (self.percent_off is None) == (not self.amount_off):
            raise CouponError("give exactly one of percent_off or amount_off", field="percent_off")
        if self.percent_off is not None and not 0 < self.percent_off <= 100:
            raise CouponError("percent_off must be in (0, 100]", field="percent_off")
        if any(v <= 0 for v in self.amount_off.values()):
            raise CouponError("amount_off must be positive", field="amount_off")
        if self.duration == CouponDuration.REPEATING and not (
            self.duration_cycles and self.duration_cycles >= 1
        ):
            raise CouponError("a repeating coupon needs duration_cycles >= 1", field="duration_cycles")
        if self.duration != CouponDuration.REPEATING and self.duration_cycles is not None:
            raise CouponError("duration_cycles is only for repeating coupons", field="duration_cycles")
        return self

    @property
    def is_percentage(self) -> bool:
        """Whether this is a percentage coupon."""
        return self.percent_off is not None

    def covers_cycle(self, start_cycle: int, cycle: int) -> bool:
        """Whether a coupon redeemed for ``start_cycle`` discounts billing cycle ``cycle``."""
        if cycle < start_cycle:
            return False
        if self.duration == CouponDuration.FOREVER:
            return True
        if self.duration == CouponDuration.ONCE:
            return cycle == start_cycle
        return cycle < start_cycle + (self.duration_cycles or 0)

    def check_redeemable(self, at: datetime, plan_ids: Sequence[str], currency: str) -> None:
        """Raise ``CouponError`` saying why this coupon cannot be redeemed now, if so."""
        if self.redeem_by is not None and at >= self.redeem_by:
            raise CouponError(f"coupon {self.id!r} expired on {self.redeem_by.isoformat()}", field="coupon")
        if self.max_redemptions is not None and self.times_redeemed >= self.max_redemptions:
            raise CouponError(
                f"coupon {self.id!r} reached its {self.max_redemptions} redemptions", field="coupon"
            )
        if self.applies_to and not set(plan_ids) & set(self.applies_to):
            raise CouponError(
                f"coupon {self.id!r} applies only to {', '.join(self.applies_to)}", field="coupon"
            )
        if not self.is_percentage and currency not in self.amount_off:
            raise CouponError(f"coupon {self.id!r} has no amount in {currency}", field="coupon")


class PromotionCode(Entity):
    """A customer-facing code (``id``, case-insensitive) that redeems a coupon.

    Example:
        >>> PromotionCode(id="WELCOME", coupon_id="SAVE20").active
        True
    """

    kind: ClassVar[str] = "promotion_code"
    _error: ClassVar[type[SubkitError]] = CouponError
    coupon_id: str
    active: bool = True
    max_redemptions: int | None = Field(default=None, ge=1)
    times_redeemed: int = 0
    expires_at: AwareDatetime | None = None

    def check_redeemable(self, at: datetime) -> None:
        """Raise ``CouponError`` if the code is inactive, expired or used up."""
        if not self.active:
            raise CouponError(f"promotion code {self.id!r} is inactive", field="promotion_code")
        if self.expires_at is not None and at >= self.expires_at:
            raise CouponError(f"promotion code {self.id!r} has expired", field="promotion_code")
        if self.max_redemptions is not None and self.times_redeemed >= self.max_redemptions:
            raise CouponError(f"promotion code {self.id!r} is used up", field="promotion_code")


class AppliedDiscount(Value):
    """A coupon attached to a subscription, covering cycles from ``start_cycle`` (a slotted value).

    Example:
        >>> d = AppliedDiscount(coupon_id="SAVE20", start_cycle=0)
        >>> d.start_cycle, d.with_spent({0: 500}).spent
        (0, {0: 500})
    """

    __slots__ = ()
    coupon_id: str
    start_cycle: int
    #: For a fixed-amount coupon: what it took off so far, by billing cycle (recent cycles only).
    spent: dict[int, int] = Field(default_factory=dict)

    def with_spent(self, spent: dict[int, int]) -> AppliedDiscount:
        """This discount with its fixed amounts taken off so far, by cycle, replaced."""
        return AppliedDiscount.trusted(self[0], self[1], tuple(spent.items()))


@functools.lru_cache(maxsize=1024)
def _minor(amount: Decimal, currency: str) -> int:
    """A coupon's fixed amount in minor units (a few distinct amounts, converted once each)."""
    return to_minor(amount, currency)


def discount_amounts(
    lines: Sequence[tuple[int, str | None]],
    coupons: Sequence[Coupon],
    currency: str,
) -> list[int]:
    """Discount, in minor units, of each line ``(amount_minor, plan_id)`` under ``coupons``.

    ``coupons`` are those covering the lines' cycle, in attach order. Only positive
    lines of eligible plans are discounted; the result never exceeds a line's amount.

    Example:
        >>> pct = Coupon(id="P", percent_off="10", duration="forever")
        >>> fixed = Coupon(id="F", amount_off={"USD": "5"}, duration="forever")
        >>> discount_amounts([(2000, "pro"), (1000, "seats"), (-300, "pro")], [fixed, pct], "USD")
        [533, 267, 0]
    """
    return discount_lines(lines, coupons, currency)[0]


def discount_lines(
    lines: Sequence[tuple[int, str | None]],
    coupons: Sequence[Coupon],
    currency: str,
    used: Mapping[str, int] | None = None,
) -> tuple[list[int], dict[str, int]]:
    """Like :func:`discount_amounts`, tracking fixed amounts across invoices of one cycle.

    ``used`` maps a fixed-amount coupon id to what it already took off earlier in the
    same billing cycle; the second result is what each fixed coupon takes off here. A
    cycle billed over several invoices (advance fees now, usage in arrears later) never
    gets more than ``amount_off`` in total.

    Example:
        >>> fixed = Coupon(id="F", amount_off={"USD": "5"}, duration="once")
        >>> discount_lines([(300, "api")], [fixed], "USD", used={"F": 400})
        ([100], {'F': 100})
    """
    used = used or {}
    pct_keep = [_ONE] * len(lines)
    for c in coupons:
        if c.percent_off is None:
            continue
        keep = CONTEXT.subtract(_ONE, CONTEXT.divide(c.percent_off, _HUNDRED))
        pct_keep = [
            CONTEXT.multiply(k, keep) if amt > 0 and (not c.applies_to or pid in c.applies_to) else k
            for k, (amt, pid) in zip(pct_keep, lines, strict=True)
        ]
    discounts = [
        int(
            CONTEXT.subtract(Decimal(amt), CONTEXT.multiply(Decimal(amt), k)).quantize(
                _ONE, rounding=ROUND_HALF_UP, context=CONTEXT
            )
        )
        if amt > 0 and k != 1
        else 0
        for (amt, _), k in zip(lines, pct_keep, strict=True)
    ]
    spent: dict[str, int] = {}
    for c in coupons:
        if c.percent_off is not None:
            continue
        flags = [amt > 0 and (not c.applies_to or pid in c.applies_to) for amt, pid in lines]
        left = [amt - d if f else 0 for (amt, _), d, f in zip(lines, discounts, flags, strict=True)]
        total_left = sum(left)
        allowance = _minor(c.amount_off[currency], currency) - used.get(c.id, 0)
        off = min(allowance, total_left)
        if off <= 0:
            continue
        spent[c.id] = off
        for i, part in enumerate(allocate_minor(off, left)):
            discounts[i] += part
    return discounts, spent
