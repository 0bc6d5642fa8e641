"""One billing cycle over N active subscriptions, in memory: subkit vs plain Python.

Setup (not timed): a catalog of flat, per-seat and graduated plans, monthly and
annual; N customers, each with one subscription created in the past, so that at
``T0 = 2027-02-01`` nothing is overdue:

- 80 % monthly, anchored at a random instant of January 2027 (days 1-28): each
  renews exactly once before ``UNTIL = 2027-02-28 23:59:59``;
- 20 % annual, anchored at a random instant between 2026-02-01 and 2027-01-31: only
  those anchored in February 2026 (about 1 in 12) renew in the window;
- 40 % flat plans, 30 % a platform fee plus per-seat seats (two items), 30 % graduated tiers;
- 15 % carry a 20 %-off coupon (12 cycles), 5 % a $5.00-off coupon (forever).

Timed: ``engine.advance(UNTIL)`` on a ``BillingEngine`` over an ``InMemoryStore``,
producing the renewal invoices. The baseline does the same work from the same specs
with ``Decimal`` and tuples only: the service period from the anchor with
``relativedelta``, line amounts per pricing model, discounts, rounding to cents with
``ROUND_HALF_UP``, totals. Both results are checked equal (the sum of totals and every
invoice's total), so the two sides cannot drift apart silently.
"""

from __future__ import annotations

import gc
import random
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from dateutil.relativedelta import relativedelta

from bench import Row, timed
from subkit.catalog.catalog import Catalog, Plan, Product
from subkit.catalog.pricing import FlatFee, Graduated, PerUnit, Tier
from subkit.core.money import minor_to_decimal
from subkit.core.periods import MONTHLY, YEARLY
from subkit.invoice.discounts import Coupon
from subkit.services.engine import BillingEngine
from subkit.testing import InMemoryStore, TestClock

__all__ = ["MAX_SIZE", "PLANS", "baseline", "make_specs", "run", "setup_engine"]

#: 100k subscriptions take about a minute to set up; above 200k the run gets long.
MAX_SIZE = 200_000

T0 = datetime(2027, 2, 1, tzinfo=UTC)
UNTIL = datetime(2027, 2, 28, 23, 59, 59, tzinfo=UTC)

# plan id -> (interval months, pricing); pricing is ("flat", price) | ("per_unit", unit)
#          | ("graduated", ((up_to or None, unit_price, flat_price), ...))
_GRAD_M = (("10", "7.00", "0"), ("50", "6.495", "5.00"), (None, "5.9925", "0"))
_GRAD_Y = (("10", "70.00", "0"), ("50", "64.95", "50.00"), (None, "59.925", "0"))
PLANS: dict[str, tuple[int, tuple[object, ...]]] = {
    "basic": (1, ("flat", "10.00")),
    "team": (1, ("flat", "49.00")),
    "platform": (1, ("flat", "20.00")),
    "seats": (1, ("per_unit", "12.49")),
    "api": (1, ("graduated", _GRAD_M)),
    "basic_y": (12, ("flat", "100.00")),
    "team_y": (12, ("flat", "490.00")),
    "platform_y": (12, ("flat", "200.00")),
    "seats_y": (12, ("per_unit", "124.90")),
    "api_y": (12, ("graduated", _GRAD_Y)),
}
# coupon id -> ("percent", pct, cycles or None) | ("amount", minor, None)
COUPONS: dict[str, tuple[str, object, int | None]] = {
    "SAVE20": ("percent", "20", 12),
    "FIVEOFF": ("amount", 500, None),
}

# (sub_id, customer_id, months, anchor, ((plan_id, quantity), ...), coupon_id | None)
Spec = tuple[str, str, int, datetime, tuple[tuple[str, int], ...], str | None]


def _pricing(p: tuple[object, ...]) -> FlatFee | PerUnit | Graduated:
    kind = p[0]
    if kind == "flat":
        return FlatFee(price=p[1])
    if kind == "per_unit":
        return PerUnit(unit_price=p[1])
    tiers = p[1]
    assert isinstance(tiers, tuple)
    return Graduated(tiers=tuple(Tier(up_to=u, unit_price=up, flat_price=fp) for u, up, fp in tiers))


def catalog() -> Catalog:
    """The benchmark's catalog, built from :data:`PLANS`."""
    return Catalog(
        currencies=("USD",),
        products=(Product(id="app", name="App"),),
        plans=tuple(
            Plan(
                id=pid,
                product_id="app",
                name=pid.replace("_y", " (annual)").title(),
                interval=YEARLY if months == 12 else MONTHLY,
                prices={"USD": _pricing(pricing)},
            )
            for pid, (months, pricing) in PLANS.items()
        ),
    )


def make_specs(n: int, seed: int = 7) -> list[Spec]:
    """``n`` subscription specs, deterministic for a seed."""
    rnd = random.Random(seed)
    specs: list[Spec] = []
    jan = datetime(2027, 1, 1, tzinfo=UTC)
    year_start = datetime(2026, 2, 1, tzinfo=UTC)
    for i in range(n):
        annual = rnd.random() < 0.20
        sfx = "_y" if annual else ""
        if annual:
            anchor = year_start + timedelta(days=rnd.randrange(365), seconds=rnd.randrange(86400))
        else:
            anchor = jan + timedelta(days=rnd.randrange(28), seconds=rnd.randrange(86400))
        r = rnd.random()
        items: tuple[tuple[str, int], ...]
        if r < 0.40:
            items = ((rnd.choice(("basic", "team")) + sfx, 1),)
        elif r < 0.70:
            items = (("platform" + sfx, 1), ("seats" + sfx, rnd.randint(1, 40)))
        else:
            items = (("api" + sfx, rnd.randint(1, 120)),)
        c = rnd.random()
        coupon = "SAVE20" if c < 0.15 else "FIVEOFF" if c < 0.20 else None
        specs.append((f"sub_{i:07d}", f"cus_{i:07d}", 12 if annual else 1, anchor, items, coupon))
    return specs


def setup_engine(specs: list[Spec]) -> BillingEngine:
    """A BillingEngine over an InMemoryStore with every spec subscribed at its anchor."""
    clock = TestClock(T0)
    counter = iter(range(10**12))
    engine = BillingEngine(InMemoryStore(), clock, ids=lambda prefix: f"{prefix}_{next(counter):09d}")
    engine.set_catalog(catalog())
    engine.add_coupon(Coupon(id="SAVE20", percent_off="20", duration="repeating", duration_cycles=12))
    engine.add_coupon(Coupon(id="FIVEOFF", amount_off={"USD": "5.00"}, duration="forever"))
    for sub_id, cus_id, _months, anchor, items, coupon in specs:
        engine.create_customer(id=cus_id, name=cus_id, currency="USD")
        engine.subscribe(cus_id, items=list(items), at=anchor, id=sub_id, coupon=coupon)
    return engine


# ------------------------------------------------------------------------- the bare baseline
_CENT = Decimal("0.01")
_ONE = Decimal(1)
_HUNDRED = Decimal(100)


def _exact(pricing: tuple[object, ...], q: Decimal) -> Decimal:
    kind = pricing[0]
    if kind == "flat":
        return Decimal(str(pricing[1]))
    if kind == "per_unit":
        return q * Decimal(str(pricing[1]))
    total = Decimal(0)
    lower = Decimal(0)
    for up_to, unit, flat in pricing[1]:  # type: ignore[union-attr]
        if q <= lower:
            break
        top = q if up_to is None or q < Decimal(up_to) else Decimal(up_to)
        total += (top - lower) * Decimal(unit) + Decimal(flat)
        if up_to is None:
            break
        lower = Decimal(up_to)
    return total


def _allocate(total: int, weights: list[int]) -> list[int]:
    """Largest remainder, ties to the earliest (integers only)."""
    wsum = sum(weights)
    parts = [total * w // wsum for w in weights]
    rems = [total * w % wsum for w in weights]
    for i in sorted(range(len(weights)), key=lambda i: (-rems[i], i))[: total - sum(parts)]:
        parts[i] += 1
    return parts


def baseline(specs: list[Spec], until: datetime) -> list[tuple[object, ...]]:
    """Plain-Python renewals due up to ``until``: (sub, start, end, lines, subtotal, discount, total)."""
    out: list[tuple[object, ...]] = []
    for sub_id, _cus, months, anchor, items, coupon in specs:
        n = 1  # cycle 0 was invoiced at subscription; the renewal is cycle 1
        start = anchor + relativedelta(months=months * n)
        if start > until:
            continue
        end = anchor + relativedelta(months=months * (n + 1))
        amounts = []
        for plan_id, qty in items:
            exact = _exact(PLANS[plan_id][1], Decimal(qty))
            amounts.append(int(exact.quantize(_CENT, rounding=ROUND_HALF_UP) * 100))
        discounts = [0] * len(amounts)
        if coupon is not None:
            kind, value, cycles = COUPONS[coupon]
            if cycles is None or n < cycles:
                if kind == "percent":
                    keep = _ONE - Decimal(str(value)) / _HUNDRED
                    discounts = [
                        int((a - a * keep).quantize(_ONE, rounding=ROUND_HALF_UP)) if a > 0 else 0
                        for a in amounts
                    ]
                else:
                    left = [max(a, 0) for a in amounts]
                    off = min(int(str(value)), sum(left))
                    discounts = _allocate(off, left)
        lines = tuple(
            (plan_id, qty, a, d) for (plan_id, qty), a, d in zip(items, amounts, discounts, strict=True)
        )
        subtotal, discount = sum(amounts), sum(discounts)
        out.append((sub_id, start, end, lines, subtotal, discount, subtotal - discount))
    return out


def run(size: int) -> list[Row]:
    """Time one billing cycle over ``size`` subscriptions, subkit and baseline."""
    specs = make_specs(size)
    engine = setup_engine(specs)
    gc.collect()
    report, lib_s = timed(lambda: engine.advance(UNTIL))
    gc.collect()
    base, base_s = timed(lambda: baseline(specs, UNTIL))

    # Same work, same results: every renewal invoice total matches the baseline's.
    with engine.store.begin() as uow:
        from subkit.invoice.invoice import Invoice

        lib_totals = {
            inv.subscription_id: inv.total_minor for inv in (uow.get(Invoice, i) for i in report.invoice_ids)
        }
    base_totals = {str(t[0]): t[6] for t in base}
    if lib_totals != base_totals:
        diff = [k for k in base_totals.keys() | lib_totals.keys() if lib_totals.get(k) != base_totals.get(k)]
        raise RuntimeError(
            f"subkit and the baseline disagree on {len(diff)} invoices, e.g. {sorted(diff)[:3]}"
        )
    monthly = sum(1 for s in specs if s[2] == 1)
    note = (
        f"{report.invoices:,} renewal invoices ({monthly:,} monthly + {report.invoices - monthly:,} annual), "
        f"sum of totals ${minor_to_decimal(sum(base_totals.values()), 'USD'):,} on both sides"
    )
    rows = [Row("billing.advance (one cycle)", size, report.invoices, lib_s, base_s, note)]

    # The same run with the setup heap frozen (gc.freeze(), as long-running services do after
    # loading): the cyclic GC then stops rescanning every stored entity on each full
    # collection. Same work, same baseline; it shows what the GC, not subkit, costs.
    del engine
    engine = setup_engine(specs)
    gc.collect()
    gc.freeze()
    try:
        frozen, frozen_s = timed(lambda: engine.advance(UNTIL))
    finally:
        gc.unfreeze()
    if frozen.invoices != report.invoices:
        raise RuntimeError("the frozen-heap run billed a different number of invoices")
    rows.append(
        Row(
            "billing.advance (gc.freeze after setup)",
            size,
            frozen.invoices,
            frozen_s,
            base_s,
            "same subscriptions and work; the heap built during setup is frozen before timing",
        )
    )
    return rows
