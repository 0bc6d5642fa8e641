"""Tax on everything the engine bills once a seller is set: subscriptions, renewals, prorations,
one-off items, credit notes and refunds; the tax point in the customer's time zone; the rate
locked on the invoice; both stores keep what tax wrote.

Figures by hand: 19% DE, 20% FR, 23% PL, FI 24% -> 25.5% on 2024-09-01 (vero.fi), see
tests/unit/tax/test_tax_rates.py for the authorities.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from subkit.catalog.catalog import Catalog, Plan, Product
from subkit.catalog.pricing import FlatFee, PerUnit
from subkit.customer.customer import Address, Seller, TaxExemption, TaxId
from subkit.payment.attempts import RefundStatus
from subkit.ports import Store
from subkit.services.collector import PaymentCollector
from subkit.services.engine import BillingConfig, BillingEngine
from subkit.services.taxes import TaxSettings
from subkit.subscription.proration import ProrationBehavior
from subkit.tax.calc import RoundingScope
from subkit.tax.engine import LineTax, TaxRequest, TaxResult, Treatment
from subkit.testing import InMemoryStore, TestClock
from subkit.testing.gateway import FakeGateway

pytest.importorskip("stdnum", reason="python-stdnum is not installed: pip install 'subkit[tax]'")

T0 = datetime(2027, 4, 1, tzinfo=UTC)
SELLER = Seller(legal_name="Acme SAS", country="FR", tax_ids=(TaxId(type="eu_vat", value="FR40303265045"),))


def catalog() -> Catalog:
    return Catalog(
        products=(Product(id="app", name="App"),),
        plans=(
            Plan(
                id="pro",
                product_id="app",
                name="Pro",
                prices={"EUR": FlatFee(flat_amount="100"), "USD": FlatFee(flat_amount="100")},
            ),
            Plan(id="seats", product_id="app", name="Seats", prices={"EUR": PerUnit(unit_amount="10")}),
            Plan(id="gross", product_id="app", name="Gross", prices={"EUR": FlatFee(flat_amount="119")}),
        ),
    )


def engine(
    store: Store | None = None, *, seller: Seller | None = SELLER, at: datetime = T0, **tax: Any
) -> BillingEngine:
    counter = itertools.count(1)
    config = BillingConfig(seller=seller, tax=TaxSettings(**tax))
    eng = BillingEngine(
        store or InMemoryStore(), TestClock(at), config=config, ids=lambda p: f"{p}_{next(counter)}"
    )
    eng.set_catalog(catalog())
    return eng


def german(eng: BillingEngine, **fields: Any) -> str:
    return eng.create_customer(
        name="Jan", currency="EUR", country="DE", timezone="Europe/Berlin", **fields
    ).id


def test_without_a_seller_nothing_is_taxed() -> None:
    eng = engine(seller=None)
    sub = eng.subscribe(german(eng), "pro")
    [inv] = eng.invoices(subscription_id=sub.id)
    assert (inv.tax_minor, inv.total_minor, inv.tax_notes, inv.seller_tax_id) == (0, 10000, (), None)


def test_a_subscription_and_its_renewals_are_taxed(tmp_path: Path) -> None:
    pytest.importorskip("sqlalchemy", reason="the SQL store needs SQLAlchemy: pip install 'subkit[sql]'")
    from subkit.adapters.storage.sql import SqlStore

    for store in (InMemoryStore(), SqlStore(f"sqlite:///{tmp_path / 'tax.sqlite'}")):
        eng = engine(store)
        sub = eng.subscribe(german(eng), "pro")
        eng.advance(datetime(2027, 5, 1, 12, tzinfo=UTC))
        invoices = eng.invoices(subscription_id=sub.id)
        assert [(i.subtotal_minor, i.tax_minor, i.total_minor) for i in invoices] == [
            (10000, 1900, 11900)
        ] * 2
        first = invoices[0]
        assert (first.lines[0].tax_minor, first.lines[0].tax_rate, first.lines[0].tax_code) == (
            1900,
            Decimal("0.19"),
            "DE:standard",
        )
        assert (first.seller_tax_id, first.customer_tax_id) == ("FR40303265045", None)
        assert first.tax_notes == ("Place of supply: DE (billing country DE)",)


def test_a_business_in_another_member_state_is_reverse_charged() -> None:
    eng = engine()
    cus = german(eng, tax_ids=(TaxId(type="eu_vat", value="DE136695976"),))
    [inv] = eng.invoices(subscription_id=eng.subscribe(cus, "pro").id)
    assert (inv.tax_minor, inv.total_minor) == (0, 10000)
    assert (inv.seller_tax_id, inv.customer_tax_id) == ("FR40303265045", "DE136695976")
    assert any("Reverse charge" in n for n in inv.tax_notes)


def test_a_proration_is_taxed_line_by_line() -> None:
    eng = engine()
    sub = eng.subscribe(german(eng), "seats", 3)
    # Half of April remains on the 16th (15 of 30 days): -15.00 for 3 seats, +25.00 for 5.
    eng.change_quantity(
        sub.id, 5, at=datetime(2027, 4, 16, tzinfo=UTC), proration_behavior=ProrationBehavior.ALWAYS_INVOICE
    )
    prorated = eng.invoices(subscription_id=sub.id)[1]
    assert [(ln.amount_minor, ln.tax_minor) for ln in prorated.lines] == [(-1500, -285), (2500, 475)]
    assert (prorated.tax_minor, prorated.total_minor) == (190, 1190)


def test_a_one_off_item_is_taxed() -> None:
    eng = engine()
    cus = german(eng)
    eng.add_invoice_item(cus, "Workshop", "50")
    inv = eng.invoice_now(cus)
    assert inv is not None and (inv.tax_minor, inv.total_minor) == (950, 5950)


def test_an_exempt_customer() -> None:
    eng = engine()
    cus = german(eng, tax_exemption=TaxExemption(reason="charity", certificate_id="C-1"))
    [inv] = eng.invoices(subscription_id=eng.subscribe(cus, "pro").id)
    assert inv.tax_minor == 0 and "Tax exempt: charity (certificate C-1)" in inv.tax_notes


def test_inclusive_prices_and_invoice_rounding() -> None:
    eng = engine(prices_include_tax=True)
    [inv] = eng.invoices(subscription_id=eng.subscribe(german(eng), "gross").id)
    assert (inv.subtotal_minor, inv.tax_minor, inv.total_minor) == (10000, 1900, 11900)  # 119 = 100 + 19
    eng = engine(scope=RoundingScope.INVOICE)
    cus = eng.create_customer(name="Ola", currency="EUR", country="PL").id
    eng.add_invoice_item(cus, "A", "55.55")
    eng.add_invoice_item(cus, "B", "11.11")
    inv2 = eng.invoice_now(cus)
    assert inv2 is not None and inv2.tax_minor == 1533  # 66.66 x 23% = 15.3318 (15.34 per line)


def test_the_tax_point_is_the_invoice_date_in_the_customers_time_zone() -> None:
    # 2024-08-31 21:30 UTC is 2024-09-01 00:30 in Helsinki (UTC+3 in summer): 25.5%.
    # 2024-08-31 20:30 UTC is 23:30 there, still August: 24%.
    eng = engine(at=datetime(2024, 8, 31, 20, 30, tzinfo=UTC))
    cus = eng.create_customer(name="Aino", currency="EUR", country="FI", timezone="Europe/Helsinki").id
    eng.add_invoice_item(cus, "A", "100")
    august = eng.invoice_now(cus)
    eng.add_invoice_item(cus, "B", "100")
    september = eng.invoice_now(cus, at=datetime(2024, 8, 31, 21, 30, tzinfo=UTC))
    assert august is not None and september is not None
    assert (august.tax_minor, september.tax_minor) == (2400, 2550)


def test_a_credit_note_reverses_tax_at_the_invoices_locked_rate() -> None:
    eng = engine(at=datetime(2024, 8, 20, tzinfo=UTC))
    cus = eng.create_customer(name="Aino", currency="EUR", country="FI", timezone="Europe/Helsinki").id
    eng.add_invoice_item(cus, "A", "100")
    inv = eng.invoice_now(cus)
    assert inv is not None and inv.total_minor == 12400  # 24% in August
    # In September (25.5% now) 12.40 is credited: base 12.40 / 1.24 = 10.00, tax 2.40 at the
    # invoice's 24% (25.5% would give 12.40 / 1.255 x 0.255 = 2.52).
    part = eng.issue_credit_note(inv.id, "12.40", at=datetime(2024, 9, 15, tzinfo=UTC))
    assert part.tax_minor == 240
    rest = eng.issue_credit_note(inv.id, at=datetime(2024, 9, 16, tzinfo=UTC))
    assert (rest.amount_minor, rest.tax_minor) == (11160, 2160)  # all the tax left: 2400 - 240


def test_a_credit_note_tax_comes_from_the_unrounded_base() -> None:
    eng = engine()
    cus = eng.create_customer(name="Ola", currency="EUR", country="PL").id
    eng.add_invoice_item(cus, "A", "100")
    inv = eng.invoice_now(cus)
    assert inv is not None and inv.total_minor == 12300
    # 2.22 incl. 23%: base 1.80487..., tax 0.41512... -> 0.42 (a base rounded to 1.80 gives 0.41).
    assert eng.issue_credit_note(inv.id, "2.22").tax_minor == 42


def test_a_refund_reverses_its_tax() -> None:
    eng = engine()
    collector = PaymentCollector(eng, FakeGateway())
    collector.attach()
    cus = german(eng)
    collector.add_payment_method(
        cus,
        {
            "type": "card",
            "token": "tok_jan",
            "brand": "visa",
            "last4": "4242",
            "exp_month": 12,
            "exp_year": 2030,
        },
    )
    [inv] = eng.invoices(subscription_id=eng.subscribe(cus, "pro").id)
    assert eng.get_invoice(inv.id).amount_paid_minor == 11900
    refund = collector.refund(inv.id, 5950, reason="half back")  # 59.50 incl. 19%: 50.00 + 9.50
    assert refund.status == RefundStatus.SUCCEEDED
    [note] = eng.credit_notes(inv.id)
    assert (note.refund_minor, note.tax_minor) == (5950, 950)


def test_a_customer_with_no_country_cannot_be_taxed() -> None:
    from subkit.errors import TaxLocationError

    eng = engine()
    cus = eng.create_customer(name="Nowhere", currency="EUR").id
    eng.add_invoice_item(cus, "A", "100")
    with pytest.raises(TaxLocationError, match="no billing country"):
        eng.invoice_now(cus)
    assert eng.invoices(cus) == []  # nothing half-written


def test_the_billing_address_wins_over_the_customer_country() -> None:
    eng = engine()
    cus = eng.create_customer(
        name="Jan", currency="EUR", country="DE", address=Address(country="AT"), ip_country="AT"
    ).id
    eng.add_invoice_item(cus, "A", "100")
    inv = eng.invoice_now(cus)
    assert inv is not None and inv.tax_minor == 2000  # Austria 20%, conflict noted
    assert inv.tax_notes[-1].endswith("conflicting evidence, taxed at the billing country")


class FlatProvider:
    """A host's tax service (a stand-in): 10% on every line, one note."""

    def __init__(self) -> None:
        self.requests: list[TaxRequest] = []

    def calculate(self, request: TaxRequest) -> TaxResult:
        self.requests.append(request)
        taxed = tuple(
            LineTax(ln.amount_minor, ln.discount_minor, ln.net_minor // 10, Decimal("0.1"), "XX:standard")
            for ln in request.lines
        )
        return TaxResult(taxed, Treatment.STANDARD, "XX", seller_tax_id="S-1", notes=("Taxed by the host",))


def test_a_host_plugs_its_own_tax_provider() -> None:
    provider = FlatProvider()
    eng = engine(provider=provider)
    [inv] = eng.invoices(subscription_id=eng.subscribe(german(eng), "pro").id)
    assert (inv.tax_minor, inv.total_minor, inv.seller_tax_id, inv.tax_notes) == (
        1000,
        11000,
        "S-1",
        ("Taxed by the host",),
    )
    [request] = provider.requests
    assert (request.tax_point.isoformat(), request.currency, len(request.lines)) == ("2027-04-01", "EUR", 1)


def test_without_a_seller_the_provider_is_never_asked() -> None:
    provider = FlatProvider()
    eng = engine(seller=None, provider=provider)
    eng.subscribe(german(eng), "pro")
    assert provider.requests == []
