"""Coupons and promotion codes: durations in billing cycles, stacking, restrictions.

Prices: Pro 30.00/month, Seats 8.00/seat/month, Pro annual 300.00/year.

1. Ana redeems the promotion code HELLO (coupon WELCOME25: 25 % for 3 cycles) on Jan 1.
   Jan, Feb, Mar: 30.00 − 7.50 = 22.50; April: 30.00. On April 15 she gets LOYAL10 (10 %
   forever), which starts at the next cycle: May 30.00 − 3.00 = 27.00.
2. Ben has Pro + 5 seats (30.00 + 40.00 = 70.00) with LOYAL10 from the start; on Jan 10 he
   also gets TENOFF (10.00 off, forever), from February on. Percentages come first:
   3.00 and 4.00 off, leaving 27.00 and 36.00; then 10.00 spread 27:36 = 4.2857… and
   5.7142… -> floors 4.28 + 5.71 = 9.99, the last cent to the larger remainder (.57 on the
   first line): 4.29 and 5.71. February: 70.00 − 7.00 − 10.00 = 53.00.
3. Cai buys the annual plan with WELCOME25: 3 *cycles* are 3 years here (Stripe counts
   repeating coupons in months instead): 2027-2029 at 225.00, 2030 at 300.00.
4. Restrictions: HELLO has max_redemptions=2; an expired code and a coupon limited to
   other plans are refused with CouponError.

Run it from the repository root::

    python examples/coupons.py
"""

from __future__ import annotations

from datetime import UTC, datetime

from subkit.catalog.catalog import Catalog, Plan, Product
from subkit.catalog.pricing import FlatFee, PerUnit
from subkit.core.money import minor_to_decimal
from subkit.core.periods import YEARLY
from subkit.errors import CouponError
from subkit.invoice.discounts import Coupon, PromotionCode
from subkit.services.engine import BillingEngine
from subkit.testing import InMemoryStore, TestClock

CATALOG = Catalog(
    products=(Product(id="app", name="App"),),
    plans=(
        Plan(id="pro", product_id="app", name="Pro", prices={"USD": FlatFee(flat_amount="30.00")}),
        Plan(id="seats", product_id="app", name="Seats", prices={"USD": PerUnit(unit_amount="8.00")}),
        Plan(
            id="pro_annual",
            product_id="app",
            name="Pro (annual)",
            interval=YEARLY,
            prices={"USD": FlatFee(flat_amount="300.00")},
        ),
    ),
)


def at(*ymd: int) -> datetime:
    return datetime(*ymd, tzinfo=UTC)


def new_engine() -> tuple[TestClock, BillingEngine]:
    clock = TestClock(at(2027, 1, 1))
    engine = BillingEngine(InMemoryStore(), clock)
    engine.set_catalog(CATALOG)
    engine.add_coupon(Coupon(id="WELCOME25", percent_off="25", duration="repeating", duration_cycles=3))
    engine.add_coupon(Coupon(id="LOYAL10", percent_off="10", duration="forever"))
    engine.add_coupon(Coupon(id="TENOFF", amount_off={"USD": "10.00"}, duration="forever"))
    engine.add_coupon(Coupon(id="SEATS_ONLY", percent_off="50", applies_to=("seats",)))
    engine.add_promotion_code(PromotionCode(id="HELLO", coupon_id="WELCOME25", max_redemptions=2))
    engine.add_promotion_code(PromotionCode(id="WINTER", coupon_id="LOYAL10", expires_at=at(2027, 1, 1)))
    return clock, engine


def report(engine: BillingEngine, customer_id: str, name: str) -> list[int]:
    print(name)
    totals = []
    for inv in engine.invoices(customer_id):
        discounts = ", ".join(str(minor_to_decimal(ln.discount_minor, "USD")) for ln in inv.lines)
        print(
            f"  {inv.period_start:%Y-%m-%d}  subtotal {minor_to_decimal(inv.subtotal_minor, 'USD'):>7}  "
            f"discounts [{discounts}]  total {minor_to_decimal(inv.total_minor, 'USD'):>7}"
        )
        totals.append(inv.total_minor)
    return totals


def main() -> None:
    clock, engine = new_engine()
    ana = engine.create_customer(name="Ana", currency="USD")
    ana_sub = engine.subscribe(ana.id, "pro", promotion_code="hello")  # codes are case-insensitive
    ben = engine.create_customer(name="Ben", currency="USD")
    ben_sub = engine.subscribe(ben.id, items=[("pro", 1), ("seats", 5)], coupon="LOYAL10")

    clock.travel_to(at(2027, 1, 10))
    engine.apply_coupon(ben_sub.id, "TENOFF")  # from the next cycle
    clock.travel_to(at(2027, 4, 15))
    engine.advance()
    engine.apply_coupon(ana_sub.id, "LOYAL10")
    clock.travel_to(at(2027, 5, 1))
    engine.advance()

    assert report(engine, ana.id, "Ana (HELLO, then LOYAL10)") == [2250, 2250, 2250, 3000, 2700]
    ben_totals = report(engine, ben.id, "Ben (LOYAL10, then TENOFF)")
    assert ben_totals == [6300, 5300, 5300, 5300, 5300]  # 70 − 7; then 70 − 7 − 10
    february = engine.invoices(ben.id)[1]
    assert [ln.discount_minor for ln in february.lines] == [729, 971]  # 3.00 + 4.29, 4.00 + 5.71

    # Restrictions.
    refusals = []
    for label, kwargs in [
        ("expired code", {"promotion_code": "WINTER"}),
        ("plan restriction", {"coupon": "SEATS_ONLY"}),
    ]:
        try:
            engine.subscribe(engine.create_customer(name=label, currency="USD").id, "pro", **kwargs)
        except CouponError as e:
            refusals.append(e.message)
            print(f"refused ({label}): {e.message}")
    engine.subscribe(engine.create_customer(name="Second", currency="USD").id, "pro", promotion_code="HELLO")
    try:
        engine.subscribe(
            engine.create_customer(name="Third", currency="USD").id, "pro", promotion_code="HELLO"
        )
    except CouponError as e:
        refusals.append(e.message)
        print(f"refused (third use of HELLO): {e.message}")
    assert len(refusals) == 3 and "used up" in refusals[2]

    # Annual: three cycles are three years.
    clock2, annual = new_engine()
    cai = annual.create_customer(name="Cai", currency="USD")
    annual.subscribe(cai.id, "pro_annual", coupon="WELCOME25")
    clock2.travel_to(at(2030, 1, 1))
    annual.advance()
    assert report(annual, cai.id, "Cai (annual, WELCOME25)") == [22500, 22500, 22500, 30000]
    print("all figures match the hand computation")


if __name__ == "__main__":
    main()
