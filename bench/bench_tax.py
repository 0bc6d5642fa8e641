"""Tax: the built-in engine on N three-line invoices, and what tax adds to a billing run.

``tax.engine``: ``TaxEngine().calculate`` and ``TaxResult.apply`` on N invoices of three
lines (a German consumer of a French seller: 19%, per-line rounding) vs a bare loop doing
``round_half_up(net x 0.19)`` per line with ``Decimal``. Both results are checked equal.

``tax.billing``: one monthly renewal of N subscriptions of German consumers, in memory, with
``BillingConfig(seller=...)`` (taxed) vs the same run with no seller (untaxed: the baseline).
The ratio is the price of tax per invoice in a billing run; the untaxed run is exactly what a
host without a seller pays, one ``is None`` test per invoice.
"""

from __future__ import annotations

import gc
import random
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from bench import Row, timed
from subkit.catalog.catalog import Catalog, Plan, Product
from subkit.catalog.pricing import FlatFee
from subkit.customer.customer import Customer, Seller, TaxId
from subkit.invoice.invoice import InvoiceLine, LineKind
from subkit.services.engine import BillingConfig, BillingEngine
from subkit.tax.engine import TaxEngine, TaxRequest
from subkit.testing import InMemoryStore, TestClock

__all__ = ["MAX_SIZE", "run"]

MAX_SIZE = 100_000

SELLER = Seller(legal_name="Acme SAS", country="FR", tax_ids=(TaxId(type="eu_vat", value="FR40303265045"),))
_RATE = Decimal("0.19")
_ONE = Decimal(1)


def _invoices(n: int) -> list[tuple[InvoiceLine, ...]]:
    rnd = random.Random(5)
    return [
        tuple(
            InvoiceLine.build(
                f"L{k}",
                LineKind.RECURRING,
                exact_amount=Decimal(rnd.randint(1, 99_999)) / 100,
                currency="EUR",
            )
            for k in range(3)
        )
        for _ in range(n)
    ]


def _engine_rows(size: int) -> Row:
    invoices = _invoices(size)
    customer = Customer(id="cus_1", name="Jan", currency="EUR", country="DE")
    engine = TaxEngine()
    day = date(2026, 3, 1)

    def lib() -> list[int]:
        out = []
        for lines in invoices:
            result = engine.calculate(TaxRequest(SELLER, customer, "EUR", day, lines))
            out.extend(ln.tax_minor for ln in result.apply(lines))
        return out

    def bare() -> list[int]:
        return [
            int((Decimal(ln.amount_minor - ln.discount_minor) * _RATE).quantize(_ONE, rounding=ROUND_HALF_UP))
            for lines in invoices
            for ln in lines
        ]

    gc.collect()
    got, lib_s = timed(lib)
    gc.collect()
    want, base_s = timed(bare)
    if got != want:
        raise RuntimeError("tax.engine: subkit and the baseline disagree")
    return Row("tax.engine", size, size, lib_s, base_s, note="3-line invoices; items = invoices")


def _billing(size: int, seller: Seller | None) -> tuple[int, int, float]:
    start = datetime(2026, 1, 15, tzinfo=UTC)
    clock = TestClock(start)
    engine = BillingEngine(InMemoryStore(), clock, config=BillingConfig(seller=seller))
    engine.set_catalog(
        Catalog(
            products=(Product(id="app", name="App"),),
            plans=(
                Plan(id="pro", product_id="app", name="Pro", prices={"EUR": FlatFee(flat_amount="19.99")}),
            ),
        )
    )
    for n in range(size):
        cus = engine.create_customer(name=f"C{n}", currency="EUR", country="DE", timezone="Europe/Berlin")
        engine.subscribe(cus.id, "pro", at=start + timedelta(seconds=n))
    gc.collect()
    report, seconds = timed(lambda: engine.advance(start + timedelta(days=32)))
    tax = sum(i.tax_minor for i in engine.invoices() if i.billing_reason.value == "subscription_cycle")
    return report.invoices, tax, seconds


def run(size: int) -> list[Row]:
    """The engine alone, and a billing run taxed vs untaxed, at ``size``."""
    rows = [_engine_rows(size)]
    n_plain, tax_plain, plain_s = _billing(size, None)
    n_taxed, tax_taxed, taxed_s = _billing(size, SELLER)
    # 19.99 x 19% = 3.7981 -> 3.80 per renewal, by hand.
    if n_plain != n_taxed or tax_plain != 0 or tax_taxed != 380 * n_taxed:
        raise RuntimeError("tax.billing: unexpected invoices or tax")
    rows.append(
        Row("tax.billing", size, n_taxed, taxed_s, plain_s, note="baseline: the same run with no seller")
    )
    return rows
