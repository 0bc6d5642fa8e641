"""Seats with proration: adding seats mid-period, removing them, and what each invoice says.

A team pays 12.00 per seat per month, billed in advance, prorated to the second.

- April 1: 5 seats -> 5 × 12.00 = 60.00.
- April 16 (15 of April's 30 days left): 8 seats. Credit 60.00 × 15/30 = 30.00 for the
  unused time of what was paid; charge 8 × 12.00 × 15/30 = 48.00 for the rest of April.
  With the default CREATE_PRORATIONS both wait for the May 1 invoice.
- May 1: 8 × 12.00 = 96.00, plus the April proration −30.00 + 48.00 -> 114.00.
- May 11 (21 of May's 31 days left): 6 seats, invoiced at once (ALWAYS_INVOICE).
  Credit 96.00 × 21/31 = 65.032… -> 65.03; charge 6 × 12.00 × 21/31 = 48.774… -> 48.77;
  net −16.26, which goes to the customer's credit balance.
- June 1: 6 × 12.00 = 72.00, of which the 16.26 balance pays first -> 55.74 due.

Run it from the repository root::

    python examples/seats_with_proration.py
"""

from __future__ import annotations

from datetime import UTC, datetime

from subkit.catalog.catalog import Catalog, Plan, Product
from subkit.catalog.pricing import PerUnit
from subkit.core.money import minor_to_decimal
from subkit.invoice.invoice import Invoice
from subkit.services.engine import BillingEngine
from subkit.subscription.proration import ProrationBehavior
from subkit.testing import InMemoryStore, TestClock


def at(*ymd: int) -> datetime:
    return datetime(*ymd, tzinfo=UTC)


def usd(minor: int) -> str:
    return f"{minor_to_decimal(minor, 'USD'):>8}"  # exact Decimal, never a float


def show(inv: Invoice) -> None:
    print(
        f"{inv.number} ({inv.billing_reason.value}) total {usd(inv.total_minor)}  "
        f"credit applied {usd(inv.credit_applied_minor).strip()}  due {usd(inv.amount_due_minor).strip()}"
    )
    for ln in inv.lines:
        print(f"    {ln.description:<44} {usd(ln.amount_minor)}")


def main() -> None:
    clock = TestClock(at(2027, 4, 1))
    engine = BillingEngine(InMemoryStore(), clock)
    engine.set_catalog(
        Catalog(
            products=(Product(id="app", name="App"),),
            plans=(
                Plan(id="seat", product_id="app", name="Seat", prices={"USD": PerUnit(unit_amount="12.00")}),
            ),
        )
    )
    team = engine.create_customer(name="Team Ltd", currency="USD")
    sub = engine.subscribe(team.id, "seat", 5)

    clock.travel_to(at(2027, 4, 16))
    preview = engine.preview_change(sub.id, quantity=8)
    print("preview of going to 8 seats on April 16:", [ln.amount_minor for ln in preview])
    assert [ln.amount_minor for ln in preview] == [-3000, 4800]
    engine.change_quantity(sub.id, 8)  # CREATE_PRORATIONS: pending until the next invoice

    clock.travel_to(at(2027, 5, 1))
    engine.advance()

    clock.travel_to(at(2027, 5, 11))
    engine.change_quantity(sub.id, 6, proration_behavior=ProrationBehavior.ALWAYS_INVOICE)
    balance = engine.get_customer(team.id).credit_minor
    print(f"credit balance after removing 2 seats: {usd(balance).strip()}")

    clock.travel_to(at(2027, 6, 1))
    engine.advance()

    invoices = engine.invoices(team.id)
    for inv in invoices:
        show(inv)

    april, may, removal, june = invoices
    assert april.total_minor == 6000  # 5 × 12.00
    assert [ln.amount_minor for ln in may.lines] == [9600, -3000, 4800]  # 96.00 − 30.00 + 48.00
    assert may.total_minor == 11400
    assert [ln.amount_minor for ln in removal.lines] == [-6503, 4877]  # −65.03 + 48.77
    assert removal.total_minor == -1626 and balance == 1626
    assert (june.total_minor, june.credit_applied_minor, june.amount_due_minor) == (7200, 1626, 5574)
    assert engine.get_customer(team.id).credit_minor == 0
    print("all figures match the hand computation")


if __name__ == "__main__":
    main()
