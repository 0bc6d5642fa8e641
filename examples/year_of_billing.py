"""A year of billing with a test clock: five customers, monthly and annual plans, two currencies.

The clock moves one day at a time through 2027, as a daily cron job would, and
``engine.advance()`` runs after each step. The script prints every invoice and a
summary per month and currency, and checks the figures computed by hand below.

USD customers (UTC):
- Acme: Basic 29.00/month from Jan 31. A Jan 31 anchor bills on the last day of
  shorter months: Jan 31, Feb 28, Mar 31, Apr 30, …, Dec 31 -> 12 × 29.00 = 348.00.
- Dune: Pro 99.00/month from Feb 10; cancels on Jul 20, effective at the period end
  (Aug 10): Feb 10 … Jul 10 -> 6 × 99.00 = 594.00.
- Echo: Basic annual 290.00 from Jan 1 -> one invoice, 290.00.
USD total: 348.00 + 594.00 + 290.00 = 1,232.00 on 19 invoices.

EUR customers:
- Bistro (Europe/Paris): Pro annual 490.00 from Mar 15 -> one invoice, 490.00.
- Cobalt (Europe/Berlin): Team at 11.50/seat/month, 4 seats, 14-day trial from Jan 1
  10:00 local: the anchor is Jan 15, 10:00 Berlin time, every month, summer and winter.
  Jan 15 … May 15: 5 × 46.00 = 230.00. On Jun 1, 10:00 local, 6 seats: of the period
  May 15 - Jun 15 (31 days) 14 days are left. Credit 46.00 × 14/31 = 20.774… -> 20.77,
  charge 69.00 × 14/31 = 31.161… -> 31.16, both on the Jun 15 invoice:
  69.00 − 20.77 + 31.16 = 79.39. Jul 15 … Dec 15: 6 × 69.00 = 414.00.
  Cobalt: 230.00 + 79.39 + 414.00 = 723.39 on 12 invoices.
EUR total: 490.00 + 723.39 = 1,213.39 on 13 invoices.

All 32 invoices are numbered INV-000001 … INV-000032 without a gap.

Run it from the repository root::

    python examples/year_of_billing.py
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from subkit.catalog.catalog import Catalog, Plan, Product
from subkit.catalog.pricing import FlatFee, PerUnit
from subkit.core.money import minor_to_decimal
from subkit.core.periods import YEARLY
from subkit.services.engine import BillingEngine
from subkit.subscription.model import SubscriptionStatus
from subkit.testing import InMemoryStore, TestClock

BERLIN = ZoneInfo("Europe/Berlin")

CATALOG = Catalog(
    currencies=("USD", "EUR"),
    products=(Product(id="app", name="App"),),
    plans=(
        Plan(
            id="basic",
            product_id="app",
            name="Basic",
            prices={"USD": FlatFee(flat_amount="29.00"), "EUR": FlatFee(flat_amount="27.00")},
        ),
        Plan(
            id="pro",
            product_id="app",
            name="Pro",
            prices={"USD": FlatFee(flat_amount="99.00"), "EUR": FlatFee(flat_amount="92.00")},
        ),
        Plan(
            id="team",
            product_id="app",
            name="Team",
            prices={"USD": PerUnit(unit_amount="12.50"), "EUR": PerUnit(unit_amount="11.50")},
        ),
        Plan(
            id="basic_annual",
            product_id="app",
            name="Basic (annual)",
            interval=YEARLY,
            prices={"USD": FlatFee(flat_amount="290.00"), "EUR": FlatFee(flat_amount="270.00")},
        ),
        Plan(
            id="pro_annual",
            product_id="app",
            name="Pro (annual)",
            interval=YEARLY,
            prices={"USD": FlatFee(flat_amount="990.00"), "EUR": FlatFee(flat_amount="490.00")},
        ),
    ),
)


def main() -> None:
    clock = TestClock(datetime(2027, 1, 1, 9, 0, tzinfo=UTC))
    counter = iter(range(1_000_000))
    engine = BillingEngine(InMemoryStore(), clock, ids=lambda prefix: f"{prefix}_{next(counter):04d}")
    engine.set_catalog(CATALOG)

    ids: dict[str, str] = {}

    def customer(name: str, currency: str, tz: str = "UTC") -> str:
        ids[name] = engine.create_customer(
            name=name, currency=currency, timezone=tz, id=f"cus_{name.lower()}"
        ).id
        return ids[name]

    def subscribe(name: str, *args: object, **kwargs: object) -> None:
        engine.subscribe(ids[name], *args, id=f"sub_{name.lower()}", **kwargs)  # type: ignore[arg-type]

    # What happens on which day (each runs at that day's clock time, before advance()).
    script: dict[date, list[Callable[[], None]]] = defaultdict(list)
    script[date(2027, 1, 1)] += [
        lambda: customer("Echo", "USD"),
        lambda: subscribe("Echo", "basic_annual"),
    ]
    script[date(2027, 1, 31)] += [lambda: customer("Acme", "USD"), lambda: subscribe("Acme", "basic")]
    script[date(2027, 2, 10)] += [lambda: customer("Dune", "USD"), lambda: subscribe("Dune", "pro")]
    script[date(2027, 3, 15)] += [
        lambda: customer("Bistro", "EUR", "Europe/Paris"),
        lambda: subscribe("Bistro", "pro_annual"),
    ]
    script[date(2027, 7, 20)] += [lambda: engine.cancel("sub_dune")]  # at period end (Aug 10)

    # Cobalt works in Berlin time: subscribe at 10:00 local on Jan 1, add seats at 10:00 local on Jun 1.
    cobalt_start = datetime(2027, 1, 1, 10, 0, tzinfo=BERLIN)
    cobalt_seats = datetime(2027, 6, 1, 10, 0, tzinfo=BERLIN)

    end = datetime(2028, 1, 1, 0, 0, tzinfo=UTC)
    day = clock.now()
    while day < end:
        if day.date() == date(2027, 1, 1):
            customer("Cobalt", "EUR", "Europe/Berlin")
            subscribe("Cobalt", "team", 4, trial_days=14, at=cobalt_start)
        if day.date() == date(2027, 6, 1):
            engine.advance(cobalt_seats)
            engine.change_quantity("sub_cobalt", 6, at=cobalt_seats)  # an upgrade: now, prorated
        for action in script.get(day.date(), []):
            action()
        engine.advance()
        day = clock.advance(timedelta(days=1)) if day + timedelta(days=1) < end else clock.travel_to(end)
        if day == end:
            engine.advance()
            break

    invoices = engine.invoices()
    by_customer: dict[str, list[int]] = defaultdict(list)
    months: dict[tuple[str, str], int] = defaultdict(int)
    print(f"{'number':<11} {'customer':<12} {'issued (UTC)':<17} {'period':<25} {'total':>9}")
    for inv in invoices:
        name = inv.customer_id.removeprefix("cus_").title()
        period = f"{inv.period_start:%Y-%m-%d} -> {inv.period_end:%Y-%m-%d}" if inv.period_start else ""
        print(
            f"{inv.number:<11} {name:<12} {inv.created_at.astimezone(UTC):%Y-%m-%d %H:%M}  {period:<25} "
            f"{minor_to_decimal(inv.total_minor, inv.currency):>9} {inv.currency}"
        )
        by_customer[name].append(inv.total_minor)
        months[(inv.created_at.astimezone(UTC).strftime("%Y-%m"), inv.currency)] += inv.total_minor

    print("\ninvoiced per month")
    for (month, cur), minor in sorted(months.items()):
        print(f"  {month} {cur} {minor_to_decimal(minor, cur):>9}")

    # --- hand-computed checks (see the module docstring) ---------------------------------
    assert by_customer["Acme"] == [2900] * 12
    assert by_customer["Dune"] == [9900] * 6
    assert by_customer["Echo"] == [29000]
    assert by_customer["Bistro"] == [49000]
    assert by_customer["Cobalt"] == [4600] * 5 + [7939] + [6900] * 6
    acme_days = [i.period_start.date().isoformat() for i in engine.invoices("cus_acme")]
    assert acme_days[:4] == ["2027-01-31", "2027-02-28", "2027-03-31", "2027-04-30"]
    # Cobalt renews at 10:00 Berlin time in winter (09:00 UTC) and in summer (08:00 UTC).
    cobalt = engine.invoices("cus_cobalt")
    starts = [i.period_start for i in (cobalt[0], cobalt[6])]  # Jan 15 and Jul 15
    assert [(s.astimezone(BERLIN).hour, s.astimezone(UTC).hour) for s in starts] == [(10, 9), (10, 8)]
    assert [(ln.description, ln.amount_minor) for ln in cobalt[5].lines] == [
        ("Team × 6", 6900),
        ("Unused time on Team after 2027-06-01", -2077),
        ("Remaining time on Team × 6 after 2027-06-01", 3116),
    ]
    assert engine.get_subscription("sub_dune").status == SubscriptionStatus.CANCELED
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for inv in invoices:
        totals[inv.currency] += minor_to_decimal(inv.total_minor, inv.currency)
    assert totals == {"USD": Decimal("1232.00"), "EUR": Decimal("1213.39")}
    assert [i.number for i in sorted(invoices, key=lambda i: i.number or "")] == [
        f"INV-{n:06d}" for n in range(1, 33)
    ]
    print(f"\n{len(invoices)} invoices; USD {totals['USD']:,}, EUR {totals['EUR']:,}; all figures match")


if __name__ == "__main__":
    main()
