"""Quickstart: a catalog, a customer, a subscription, and three months of renewals.

Run it from the repository root::

    python examples/quickstart.py
"""

from __future__ import annotations

from datetime import UTC, datetime

from subkit.catalog.catalog import Catalog, Plan, Product
from subkit.catalog.pricing import FlatFee, PerUnit
from subkit.core.money import format_money, from_minor
from subkit.services.engine import BillingEngine
from subkit.testing import InMemoryStore, TestClock


def main() -> None:
    catalog = Catalog(
        currencies=("USD",),
        products=(Product(id="app", name="Acme App"),),
        plans=(
            Plan(id="starter", product_id="app", name="Starter", prices={"USD": FlatFee(flat_amount="19.00")}),
            Plan(id="seats", product_id="app", name="Seats", prices={"USD": PerUnit(unit_amount="7.50")}),
        ),
    )
    clock = TestClock(datetime(2027, 1, 31, 9, 30, tzinfo=UTC))
    engine = BillingEngine(InMemoryStore(), clock)
    engine.set_catalog(catalog)

    ada = engine.create_customer(name="Ada Lovelace Ltd", email="billing@ada.example", currency="USD")
    sub = engine.subscribe(ada.id, items=[("starter", 1), ("seats", 3)])
    print(
        f"subscribed {ada.name}: {sub.status.value}, "
        f"period {sub.period_start:%Y-%m-%d} -> {sub.period_end:%Y-%m-%d}"
    )

    clock.travel_to(datetime(2027, 4, 30, 9, 30, tzinfo=UTC))
    report = engine.advance()
    print(f"advance: {report.actions} actions, {report.invoices} invoices")

    invoices = engine.invoices(ada.id)
    for inv in invoices:
        print(
            f"{inv.number}  {inv.period_start:%Y-%m-%d} -> {inv.period_end:%Y-%m-%d}  "
            f"{format_money(from_minor(inv.total_minor, inv.currency))}  [{inv.status.value}]"
        )
        for line in inv.lines:
            print(
                f"    {line.description:<20} {format_money(from_minor(line.amount_minor, inv.currency)):>10}"
            )

    # Starter 19.00 + 3 seats × 7.50 = 22.50 -> 41.50 per month.
    assert [i.total_minor for i in invoices] == [4150, 4150, 4150, 4150]
    # The Jan 31 anchor renews on the last day of shorter months, then comes back to the 31st.
    assert [i.period_start.date().isoformat() for i in invoices] == [
        "2027-01-31",
        "2027-02-28",
        "2027-03-31",
        "2027-04-30",
    ]
    assert [i.number for i in invoices] == ["INV-000001", "INV-000002", "INV-000003", "INV-000004"]
    assert engine.advance().actions == 0  # idempotent: nothing more is due
    total = sum(i.total_minor for i in invoices)
    assert total == 16600  # 4 × 41.50
    print(f"billed so far: {format_money(from_minor(total, 'USD'))}")


if __name__ == "__main__":
    main()
