"""The customer portal: own objects only (others are "not found", indistinguishably), quotes applied
to the cent at the quoted instant, seats, cancel with a reason, resume, payment methods, invoices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from subkit.adapters.render import render_invoice
from subkit.catalog.catalog import Catalog, Plan, Product
from subkit.catalog.pricing import FlatFee, PerUnit
from subkit.errors import NotFoundError, QuoteExpiredError, StateError, ValidationError
from subkit.services.audit import AuditedStore, AuditTrail
from subkit.services.collector import PaymentCollector
from subkit.services.engine import BillingEngine
from subkit.services.portal import CustomerPortal
from subkit.testing import InMemoryStore, TestClock
from subkit.testing.gateway import FakeGateway

CARD = {
    "type": "card",
    "token": "tok_visa",
    "brand": "visa",
    "last4": "4242",
    "exp_month": 12,
    "exp_year": 2030,
}


class Shop:
    def __init__(self) -> None:
        self.clock = TestClock(datetime(2027, 4, 1, tzinfo=UTC))
        self.engine = BillingEngine(AuditedStore(InMemoryStore(), self.clock), self.clock)
        self.engine.set_catalog(
            Catalog(
                products=(Product(id="app", name="App"),),
                plans=(
                    Plan(
                        id="basic", product_id="app", name="Basic", prices={"USD": FlatFee(flat_amount="10")}
                    ),
                    Plan(id="pro", product_id="app", name="Pro", prices={"USD": FlatFee(flat_amount="20")}),
                    Plan(
                        id="seats", product_id="app", name="Seats", prices={"USD": PerUnit(unit_amount="8")}
                    ),
                    Plan(id="euro", product_id="app", name="Euro", prices={"EUR": FlatFee(flat_amount="9")}),
                ),
            )
        )
        self.collector = PaymentCollector(self.engine, FakeGateway()).attach()
        for who in ("ada", "bo"):
            self.engine.create_customer(id=f"cus_{who}", name=who.title(), currency="USD")
            self.collector.add_payment_method(f"cus_{who}", CARD, id=f"pm_{who}")
            self.engine.subscribe(f"cus_{who}", "basic", id=f"sub_{who}")
        self.ada = CustomerPortal(self.engine, "cus_ada", collector=self.collector)


@pytest.fixture
def shop() -> Shop:
    return Shop()


def test_another_customers_objects_are_not_found_exactly_like_missing_ones(shop: Shop) -> None:
    bo_invoice = shop.engine.invoices("cus_bo")[0].id
    pairs = [
        (lambda: shop.ada.subscription("sub_bo"), lambda: shop.ada.subscription("sub_nobody")),
        (lambda: shop.ada.invoice(bo_invoice), lambda: shop.ada.invoice("in_nobody")),
        (lambda: shop.ada.invoice_document(bo_invoice), lambda: shop.ada.invoice_document("in_nobody")),
        (lambda: shop.ada.cancel("sub_bo"), lambda: shop.ada.cancel("sub_nobody")),
        (
            lambda: shop.ada.preview_change("sub_bo", "pro"),
            lambda: shop.ada.preview_change("sub_nobody", "pro"),
        ),
        (
            lambda: shop.ada.set_default_payment_method("pm_bo"),
            lambda: shop.ada.set_default_payment_method("pm_x"),
        ),
    ]
    for theirs, missing in pairs:
        with pytest.raises(NotFoundError) as a:
            theirs()
        with pytest.raises(NotFoundError) as b:
            missing()
        assert str(a.value).replace("sub_bo", "X").replace(bo_invoice, "X").replace("pm_bo", "X") == str(
            b.value
        ).replace("sub_nobody", "X").replace("in_nobody", "X").replace("pm_x", "X")
    assert shop.engine.get_subscription("sub_bo").status.value == "active"  # untouched
    assert [s.id for s in shop.ada.subscriptions()] == ["sub_ada"]
    assert [i.customer_id for i in shop.ada.invoices()] == ["cus_ada"]
    assert [p.id for p in shop.ada.plans()] == ["basic", "pro", "seats"]  # no EUR plan for a USD customer


def test_an_upgrade_is_charged_exactly_what_the_quote_showed(shop: Shop) -> None:
    shop.clock.travel_to(datetime(2027, 4, 16, tzinfo=UTC))  # 15 of April's 30 days left
    quote = shop.ada.preview_change("sub_ada", "pro")
    # credit 15/30 x $10 = $5.00, charge 15/30 x $20 = $10.00: $5.00 due now
    assert [line.amount_minor for line in quote.lines] == [-500, 1000]
    assert (quote.total_minor, quote.immediate) == (500, True)
    shop.clock.advance(timedelta(minutes=7, seconds=13))  # the customer reads, then confirms
    sub = shop.ada.apply(quote)
    assert sub.items[0].plan_id == "pro"
    newest = shop.ada.invoices()[-1]
    assert (newest.total_minor, [line.amount_minor for line in newest.lines]) == (500, [-500, 1000])
    assert "$5.00" in shop.ada.invoice_document(newest.id)
    changed = AuditTrail(shop.engine.store).for_object("sub_ada")[-1]
    assert (changed.action, changed.actor.label) == ("subscription.plan_changed", "customer:cus_ada")


def test_a_stale_quote_is_refused(shop: Shop) -> None:
    shop.clock.travel_to(datetime(2027, 4, 16, tzinfo=UTC))
    quote = shop.ada.preview_change("sub_ada", "pro")
    shop.clock.advance(timedelta(minutes=31))
    with pytest.raises(QuoteExpiredError, match="expired"):
        shop.ada.apply(quote)
    quote = shop.ada.preview_change("sub_ada", quantity=2)
    shop.ada.apply(shop.ada.preview_change("sub_ada", quantity=3))  # another tab changed it meanwhile
    with pytest.raises(QuoteExpiredError, match="changed since"):
        shop.ada.apply(quote)
    with pytest.raises(QuoteExpiredError, match="amounts changed"):
        q = shop.ada.preview_change("sub_ada", "pro")
        shop.ada.apply_change(
            "sub_ada", "pro", quoted_at=q.at, version=q.version, expected_total_minor=q.total_minor - 1
        )
    with pytest.raises(QuoteExpiredError):  # a quote "from the future" is not accepted either
        shop.ada.apply_change(
            "sub_ada", "pro", quoted_at=q.at + timedelta(days=1), version=q.version, expected_total_minor=0
        )


def test_a_downgrade_waits_for_the_period_end_and_bills_nothing_now(shop: Shop) -> None:
    shop.engine.change_plan("sub_ada", "pro", when="now")
    shop.clock.travel_to(datetime(2027, 4, 20, tzinfo=UTC))
    quote = shop.ada.preview_change("sub_ada", "basic")
    assert (quote.lines, quote.total_minor, quote.immediate) == ((), 0, False)
    assert quote.effective_at == datetime(2027, 5, 1, tzinfo=UTC)
    before = len(shop.ada.invoices())
    sub = shop.ada.apply(quote)
    assert (sub.items[0].plan_id, len(sub.schedule), len(shop.ada.invoices())) == ("pro", 1, before)


def test_seats(shop: Shop) -> None:
    shop.engine.create_customer(id="cus_team", name="Team", currency="USD")
    shop.collector.add_payment_method("cus_team", CARD)
    shop.engine.subscribe("cus_team", "seats", quantity=3, id="sub_team")
    team = CustomerPortal(shop.engine, "cus_team")
    shop.clock.travel_to(datetime(2027, 4, 21, tzinfo=UTC))  # 10 of 30 days left
    quote = team.preview_change("sub_team", quantity=5)
    # 3 seats -> 5 at $8: credit 10/30 x $24 = $8.00, charge 10/30 x $40 = $13.33 (13.333 rounded)
    assert [line.amount_minor for line in quote.lines] == [-800, 1333]
    assert quote.total_minor == 533
    assert team.apply(quote).items[0].quantity == 5
    with pytest.raises(ValidationError, match="whole number"):
        team.preview_change("sub_team", quantity=0)


def test_cancel_with_a_reason_then_resume(shop: Shop) -> None:
    sub = shop.ada.cancel("sub_ada", reason="switching to annual billing elsewhere")
    assert sub.cancel_at_period_end and sub.status.value == "active"
    entry = AuditTrail(shop.engine.store).for_object("sub_ada")[-1]
    assert (entry.action, entry.reason) == (
        "subscription.cancel_scheduled",
        "switching to annual billing elsewhere",
    )
    assert not shop.ada.resume("sub_ada").cancel_at_period_end
    with pytest.raises(StateError, match="nothing to resume"):
        shop.ada.resume("sub_ada")


def test_invoice_pdf_needs_a_renderer_and_only_shows_own_invoices(shop: Shop) -> None:
    own = shop.ada.invoices()[0]
    with pytest.raises(StateError, match="render_pdf"):
        shop.ada.invoice_pdf(own.id)
    calls = []

    def fake_pdf(inv: object, customer: object, seller: object) -> bytes:
        calls.append((inv, customer, seller))
        return b"%PDF-fake"

    portal = CustomerPortal(shop.engine, "cus_ada", render_pdf=fake_pdf)
    assert portal.invoice_pdf(own.id) == b"%PDF-fake" and calls[0][0] == own
    with pytest.raises(NotFoundError):
        portal.invoice_pdf(shop.engine.invoices("cus_bo")[0].id)


def test_the_invoice_download_is_the_library_layout_with_customer_text_escaped(shop: Shop) -> None:
    shop.engine.create_customer(id="cus_x", name="<script>alert(1)</script>", currency="USD")
    shop.engine.add_invoice_item("cus_x", "Seats & <b>support</b>", "12.50")
    issued = shop.engine.invoice_now("cus_x")
    page = CustomerPortal(shop.engine, "cus_x").invoice_document(issued.id)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>" not in page and "Seats &amp; &lt;b&gt;support&lt;/b&gt;" in page
    assert "$12.50" in page  # 1250 minor units in en_US
    # one layout: the page is the one render_invoice(..., "html") and the CLI give
    assert page == render_invoice(shop.engine.store, issued.id, "html", seller=shop.engine.config.seller)
    # a host's own renderer still takes its place
    mine = CustomerPortal(
        shop.engine, "cus_x", render_invoice=lambda inv, cus, seller: f"<p>{inv.number}</p>"
    )
    assert mine.invoice_document(issued.id) == f"<p>{issued.number}</p>"


def test_default_payment_method(shop: Shop) -> None:
    new = shop.ada.add_payment_method(
        CARD | {"token": "tok_mastercard", "brand": "mastercard", "last4": "4444"}
    )
    assert shop.ada.customer().default_payment_method_id == new.id
    assert shop.ada.set_default_payment_method("pm_ada").default_payment_method_id == "pm_ada"
    assert [pm.id for pm in shop.ada.payment_methods()] == ["pm_ada", new.id]
    with pytest.raises(StateError, match="no payment collector"):
        CustomerPortal(shop.engine, "cus_ada").payment_methods()


def test_a_quote_across_a_dst_change_for_a_new_york_customer() -> None:
    from zoneinfo import ZoneInfo

    ny = ZoneInfo("America/New_York")
    clock = TestClock(datetime(2027, 3, 1, tzinfo=ny))
    engine = BillingEngine(InMemoryStore(), clock)
    engine.set_catalog(
        Catalog(
            products=(Product(id="app", name="App"),),
            plans=(
                Plan(id="basic", product_id="app", name="Basic", prices={"USD": FlatFee(flat_amount="10")}),
                Plan(id="pro", product_id="app", name="Pro", prices={"USD": FlatFee(flat_amount="20")}),
            ),
        )
    )
    engine.create_customer(name="Ny", currency="USD", id="cus_ny", timezone="America/New_York")
    engine.subscribe("cus_ny", "basic", id="sub_ny")
    clock.travel_to(datetime(2027, 3, 20, tzinfo=ny))
    portal = CustomerPortal(engine, "cus_ny")
    quote = portal.preview_change("sub_ny", "pro")
    # The period runs Mar 1 00:00 EST to Apr 1 00:00 EDT: 31 days less the hour DST takes on
    # Mar 14, 743 hours. From Mar 20 00:00 EDT, 12 days (288 h) are left:
    # credit 288/743 x $10 = $3.876 -> $3.88, charge 288/743 x $20 = $7.752 -> $7.75.
    assert [line.amount_minor for line in quote.lines] == [-388, 775]
    clock.advance(timedelta(minutes=12))
    portal.apply(quote)
    assert portal.invoices()[-1].total_minor == 387
