"""A hand-computed book: 10 customers, 6 months (Jan-Jun 2027), every movement type, run through the engine.

Plans: basic $10/month, pro $30/month, annual $1,200/year (MRR $100, ChartMogul's yearly / 12),
seats $5 per seat a month; coupon HALF3 takes 50% off the first 3 cycles. Mid-month changes are
made on the 16th of 30-day months, where exactly half the month is left.

    customer  story                                                 MRR Jan Feb Mar Apr May Jun (USD)
    c1        basic from Jan 1                                          10  10  10  10  10  10
    c2        pro from Jan 1, downgraded to basic Apr 16               30  30  30  10  10  10
    c3        basic from Jan 1, upgraded to pro Apr 16                 10  10  10  30  30  30
    c4        annual from Jan 1                                        100 100 100 100 100 100
    c5        pro with HALF3 from Jan 1 (discount ends with cycle 3)    15  15  15  30  30  30
    c6        basic from Jan 1, cancels Feb 10 at period end (Mar 1)   10  10   0   0   0   0
    c7        pro from Jan 1, cancels at once Feb 10; basic May 1      30   0   0   0  10  10
    c8        3 seats from Feb 1, 5 seats from Jun 16                   0  15  15  15  15  25
    c9        basic with a 31-day trial from Mar 1 (pays Apr 1)          0   0   0  10  10  10
    c10       pro from Jan 1, paused May 10                            30  30  30  30   0   0

(the MRR shown is each month's closing value). Movements by month, in dollars:
Jan new 235 (8); Feb new 15 (c8), churn -30 (c7); Mar churn -10 (c6); Apr new 10 (c9),
expansion 35 (c3 +20, c5 +15), contraction -20 (c2); May reactivation 10 (c7), churn -30 (c10);
Jun expansion 10 (c8). Closing: 235, 220, 210, 235, 215, 225.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from subkit.analytics import MovementKind
from subkit.analytics.charts import SIZE, cohort_heatmap, mrr_chart, revenue_waterfall
from subkit.analytics.frames import cohorts_frame, customer_movements_frame, movements_frame, risk_frame
from subkit.catalog.catalog import Catalog, Plan, Product
from subkit.catalog.pricing import FlatFee, PerUnit
from subkit.core.money import CONTEXT
from subkit.core.periods import Interval
from subkit.errors import ValidationError
from subkit.invoice.discounts import Coupon
from subkit.ports import Store
from subkit.services.engine import BillingEngine
from subkit.testing import InMemoryStore, TestClock


def at(month: int, day: int = 1) -> datetime:
    return datetime(2027, month, day, tzinfo=UTC)


def _catalog() -> Catalog:
    return Catalog(
        products=(Product(id="app", name="App"),),
        plans=(
            Plan(id="basic", product_id="app", name="Basic", prices={"USD": FlatFee(flat_amount="10")}),
            Plan(id="pro", product_id="app", name="Pro", prices={"USD": FlatFee(flat_amount="30")}),
            Plan(
                id="annual",
                product_id="app",
                name="Annual",
                interval=Interval(unit="year"),
                prices={"USD": FlatFee(flat_amount="1200")},
            ),
            Plan(id="seats", product_id="app", name="Seats", prices={"USD": PerUnit(unit_amount="5")}),
        ),
    )


def build_book(store: Store | None = None) -> BillingEngine:
    """The story of the module docstring, through the engine, up to July 1."""
    clock = TestClock(at(1))
    engine = BillingEngine(store or InMemoryStore(), clock)
    engine.set_catalog(_catalog())
    engine.add_coupon(Coupon(id="HALF3", percent_off="50", duration="repeating", duration_cycles=3))
    c = {n: engine.create_customer(id=f"c{n}", name=f"Customer {n}", currency="USD").id for n in range(1, 11)}
    s = {}
    s[1] = engine.subscribe(c[1], "basic")
    s[2] = engine.subscribe(c[2], "pro")
    s[3] = engine.subscribe(c[3], "basic")
    s[4] = engine.subscribe(c[4], "annual")
    s[5] = engine.subscribe(c[5], "pro", coupon="HALF3")
    s[6] = engine.subscribe(c[6], "basic")
    s[7] = engine.subscribe(c[7], "pro")
    s[10] = engine.subscribe(c[10], "pro")

    def go(when: datetime) -> None:
        clock.travel_to(when)
        engine.advance()

    go(at(2))
    s[8] = engine.subscribe(c[8], "seats", quantity=3)
    go(at(2, 10))
    engine.cancel(s[6].id, at_period_end=True)
    engine.cancel(s[7].id, at_period_end=False)
    go(at(3))
    s[9] = engine.subscribe(c[9], "basic", trial_days=31)
    go(at(4, 16))
    engine.change_plan(s[2].id, "basic", when="now")
    engine.change_plan(s[3].id, "pro", when="now")
    go(at(5))
    engine.subscribe(c[7], "basic")
    go(at(5, 10))
    engine.pause(s[10].id)
    go(at(6, 16))
    engine.change_quantity(s[8].id, 5)
    go(at(7))
    return engine


@pytest.fixture(scope="module")
def engine() -> BillingEngine:
    return build_book()


MONTHS = [at(m) for m in range(1, 8)]


def test_monthly_movements_match_the_hand_computed_book(engine: BillingEngine) -> None:
    periods = engine.analytics().monthly(at(1), 6, details=True)
    got = [
        (m.opening, m.new, m.expansion, m.contraction, m.churn, m.reactivation, m.closing) for m in periods
    ]
    assert got == [
        (0, 23500, 0, 0, 0, 0, 23500),
        (23500, 1500, 0, 0, -3000, 0, 22000),
        (22000, 0, 0, 0, -1000, 0, 21000),
        (21000, 1000, 3500, -2000, 0, 0, 23500),
        (23500, 0, 0, 0, -3000, 1000, 21500),
        (21500, 0, 1000, 0, 0, 0, 22500),
    ]
    assert [m.opening_customers for m in periods] == [0, 8, 8, 7, 8, 8]
    assert periods[0].counts[MovementKind.NEW] == 8
    april = {(c.customer_id, c.kind.value, c.delta) for c in periods[3].customers}
    assert april == {
        ("c9", "new", 1000),
        ("c2", "contraction", -2000),
        ("c3", "expansion", 2000),
        ("c5", "expansion", 1500),
    }
    may = {(c.customer_id, c.kind.value, c.delta) for c in periods[4].customers}
    assert may == {("c7", "reactivation", 1000), ("c10", "churn", -3000)}
    assert [(c.customer_id, c.opening, c.closing) for c in periods[5].customers] == [("c8", 1500, 2500)]


def test_snapshot_arr_arpa_and_the_annual_plan(engine: BillingEngine) -> None:
    analytics = engine.analytics()
    end = analytics.snapshot(at(6, 30))
    # c1 10 + c2 10 + c3 30 + c4 100 + c5 30 + c7 10 + c8 25 + c9 10 = $225 from 8 customers
    assert (end.mrr_minor, end.customers, end.arr_minor, end.arpa_minor) == (22500, 8, 270000, 2813)
    book = analytics.book()
    assert book.customer_mrr(at(3, 15)) == {
        "c1": 1000, "c2": 3000, "c3": 1000, "c4": 10000, "c5": 1500, "c8": 1500, "c10": 3000,
    }  # fmt: skip
    # the trial counts zero, the paused subscription zero, the canceled ones zero
    assert "c9" not in book.customer_mrr(at(3, 31))
    assert "c10" not in book.customer_mrr(at(5, 10))


def test_rates_ltv_and_the_report(engine: BillingEngine) -> None:
    analytics = engine.analytics(gross_margin=Decimal("0.8"))
    report = analytics.report(at(7, 1), months=6)
    assert report.at == at(7) and len(report.periods) == 6
    assert report.snapshot.mrr_minor == report.periods[-1].closing == 22500
    r = report.rates
    # 3 customers churned (c7, c6, c10) of 0 + 8 + 8 + 7 + 8 + 8 = 39 customer-months at the starts
    assert r.logo_churn == CONTEXT.divide(Decimal(3), Decimal(39))
    # opening MRR summed: 0 + 23500 + 22000 + 21000 + 23500 + 21500 = 111500
    # churn + contraction: 3000 + 1000 + 2000 + 3000 = 9000; expansion 4500, reactivation 1000
    assert r.gross_mrr_churn == CONTEXT.divide(Decimal(9000), Decimal(111500))
    assert r.net_mrr_churn == CONTEXT.divide(Decimal(9000 - 5500), Decimal(111500))
    assert r.grr == CONTEXT.divide(Decimal(102500), Decimal(111500))
    assert r.nrr == CONTEXT.divide(Decimal(107000), Decimal(111500))
    # LTV = ARPA 28.13 x 0.8 / (3/39) = 28.13 x 0.8 x 13 = $292.552 -> 29255 cents
    assert report.ltv_minor == 29255


def test_cohorts_by_first_paid_month(engine: BillingEngine) -> None:
    jan, feb, mar, apr = engine.analytics().cohorts(at(1), 6)[:4]
    assert (jan.customers, jan.initial_mrr) == (8, 23500)
    assert jan.logos == (8, 7, 6, 6, 6, 6)
    assert jan.mrr == (23500, 20500, 19500, 21000, 19000, 19000)
    assert (feb.customers, feb.logos, feb.mrr) == (1, (1, 1, 1, 1, 1), (1500, 1500, 1500, 1500, 2500))
    assert mar.customers == 0  # c9 only trialed in March: its cohort is April
    assert (apr.customers, apr.logos) == (1, (1, 1, 1))
    assert jan.logo_retention[-1] == Decimal("0.75")


def test_churn_risk_flags_cancel_scheduled_and_downgrade() -> None:
    clock = TestClock(at(1))
    engine = BillingEngine(InMemoryStore(), clock)
    engine.set_catalog(_catalog())
    a = engine.subscribe(engine.create_customer(id="ca", name="A", currency="USD").id, "pro")
    engine.subscribe(engine.create_customer(id="cb", name="B", currency="USD").id, "basic")
    clock.travel_to(at(1, 16))
    engine.change_plan(a.id, "basic", when="now")  # the pending proration lines say so already
    clock.travel_to(at(2, 5))
    engine.advance()
    engine.cancel(a.id, at_period_end=True)
    risks = engine.analytics().risks(at(2, 10))  # looks back a month: to Jan 10, when A paid $30
    assert [r.customer_id for r in risks] == ["ca"]
    assert risks[0].reasons == ("downgrade", "cancel_scheduled")
    assert risks[0].flags[0].detail == "MRR fell from 3000 to 1000 (-66.7%)"


# ---------------------------------------------------------------- output: charts, frames, the SQL store
def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (bytes 16-24)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_charts_render_at_their_size(engine: BillingEngine, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="charts need the plot extra")
    analytics = engine.analytics()
    report = analytics.report(at(7), months=6)
    revenue = {
        "2027-01": {"2027-01": 23500},
        "2027-02": {"2027-01": 20500, "2027-02": 1500},
        "2027-03": 21000,
    }
    paths = analytics.write_charts(tmp_path, report, revenue=revenue, prefix="book-")
    assert [p.name for p in paths] == ["book-mrr.png", "book-cohorts.png", "book-revenue.png"]
    for p in paths:
        assert png_size(p) == SIZE == (800, 450)
        assert p.stat().st_size > 10_000  # drawn, not blank
    fig = mrr_chart(report.periods)
    ax = fig.axes[0]
    # 5 movement kinds x 6 months of bars; the MRR line on the twin axis closes at $225
    assert len(ax.patches) == 30
    assert list(fig.axes[1].lines[0].get_ydata())[-1] == 225.0
    heat = cohort_heatmap(report.cohorts, by="mrr")
    assert heat.axes[0].images[0].get_array().shape == (3, 6)  # Jan, Feb and Apr cohorts have customers


def test_charts_refuse_nothing_to_draw() -> None:
    pytest.importorskip("matplotlib", reason="charts need the plot extra")
    with pytest.raises(ValidationError, match="no periods"):
        mrr_chart([])
    with pytest.raises(ValidationError, match="no cohort"):
        cohort_heatmap([])
    with pytest.raises(ValidationError, match="month -> amount"):
        revenue_waterfall({}, "USD")
    with pytest.raises(ValidationError, match="logos"):
        cohort_heatmap([], by="seats")


def test_frames(engine: BillingEngine) -> None:
    pytest.importorskip("pandas", reason="DataFrames need the analytics extra")
    analytics = engine.analytics()
    periods = analytics.monthly(at(1), 6, details=True)
    frame = movements_frame(periods)
    assert list(frame["closing"]) == [23500, 22000, 21000, 23500, 21500, 22500]
    assert list(frame["new_customers"]) == [8, 1, 0, 1, 0, 0]
    per_customer = customer_movements_frame(periods)
    # new: 235 (Jan) + 15 (Feb) + 10 (Apr); churn: 30 + 10 + 30; expansion: 20 + 15 + 10
    assert per_customer.groupby("kind")["delta"].sum().to_dict() == {
        "churn": -7000, "contraction": -2000, "expansion": 4500, "new": 26000, "reactivation": 1000,
    }  # fmt: skip
    cohort = cohorts_frame(analytics.cohorts(at(1), 6))
    assert list(cohort.loc["2027-01"]) == [8, 7, 6, 6, 6, 6]
    assert list(risk_frame([]).columns) == ["customer_id", "mrr_minor", "reason", "detail"]


def test_the_service_reads_the_sql_store_the_same(tmp_path: Path) -> None:
    pytest.importorskip("sqlalchemy", reason="the SQL store needs the sql extra")
    from subkit.adapters.storage.sql import SqlStore, make_engine

    db = make_engine(str(tmp_path / "book.sqlite"))
    store = SqlStore(db)
    try:
        engine = build_book(store)
        periods = engine.analytics().monthly(at(1), 6)
        assert [m.closing for m in periods] == [23500, 22000, 21000, 23500, 21500, 22500]
        assert periods[4].counts[MovementKind.REACTIVATION] == 1
        assert engine.analytics().snapshot(datetime(2027, 6, 30, tzinfo=UTC)).arpa_minor == 2813
    finally:
        store.close()
        db.dispose()


def test_an_annual_upgrade_mid_year_counts_from_the_change_at_the_new_rate() -> None:
    clock = TestClock(at(1))
    engine = BillingEngine(InMemoryStore(), clock)
    catalog = _catalog()
    engine.set_catalog(
        Catalog(
            products=catalog.products,
            plans=(
                *catalog.plans,
                Plan(
                    id="annual_pro",
                    product_id="app",
                    name="Annual Pro",
                    interval=Interval(unit="year"),
                    prices={"USD": FlatFee(flat_amount="2400")},
                ),
            ),
        )
    )
    sub = engine.subscribe(engine.create_customer(id="cy", name="Y", currency="USD").id, "annual")
    clock.travel_to(at(7, 2))  # 183 of 2027's 365 days left
    engine.change_plan(sub.id, "annual_pro", when="now")
    book = engine.analytics().book()
    # before: $1,200 / 12 = $100; after: the charge 2400 x 183/365 = $1,203.29 scales back to
    # $2,400.0016 a year, / 12 = $200.0001 -> $200.00 (rounded once)
    assert book.customer_mrr(at(7, 1)) == {"cy": 10000}
    assert book.customer_mrr(at(7, 2)) == {"cy": 20000}
    july = engine.analytics().movements(at(7), at(8))
    assert (july.expansion, july.closing) == (10000, 20000)


def test_a_declined_renewal_is_past_due_still_counts_and_is_flagged() -> None:
    from subkit.services.collector import PaymentCollector
    from subkit.testing.gateway import FakeGateway, decline

    clock = TestClock(at(1))
    engine = BillingEngine(InMemoryStore(), clock)
    engine.set_catalog(_catalog())
    gateway = FakeGateway()
    collector = PaymentCollector(engine, gateway)
    collector.attach()
    engine.create_customer(id="cp", name="P", currency="USD")
    collector.add_payment_method(
        "cp",
        {
            "type": "card",
            "token": "tok_p",
            "brand": "visa",
            "last4": "4242",
            "exp_month": 12,
            "exp_year": 2030,
        },
    )
    sub = engine.subscribe("cp", "pro")  # paid at once
    gateway.script(decline("insufficient_funds"), token="tok_p")
    clock.travel_to(at(2))
    engine.advance()  # the February renewal is declined: past due
    assert engine.get_subscription(sub.id).status.value == "past_due"
    analytics = engine.analytics()
    assert analytics.snapshot(at(2, 5)).mrr_minor == 3000  # past due counts until canceled
    (risk,) = analytics.risks(at(2, 5))
    assert risk.reasons == ("past_due", "failing_payments")
    assert risk.flags[1].detail == "1 payment attempt(s) failed recently"


def test_two_currencies_without_locked_rates_are_read_one_at_a_time() -> None:
    from subkit.errors import CurrencyMismatchError

    engine = BillingEngine(InMemoryStore(), TestClock(at(1)))
    catalog = _catalog()
    basic = catalog.plans[0].model_copy(
        update={"prices": {**catalog.plans[0].prices, "EUR": FlatFee(flat_amount="9")}}
    )
    engine.set_catalog(Catalog(products=catalog.products, plans=(basic, *catalog.plans[1:])))
    engine.subscribe(engine.create_customer(id="us", name="U", currency="USD").id, "basic")
    engine.subscribe(engine.create_customer(id="eu", name="E", currency="EUR").id, "basic")
    with pytest.raises(CurrencyMismatchError, match="reporting_currency"):
        engine.analytics().snapshot()
    assert engine.analytics(currency="EUR").snapshot().mrr_minor == 900
    assert engine.analytics(currency="USD").snapshot().mrr_minor == 1000
    # a reporting currency without locked rates on the EUR invoices: refused, saying how to fix it
    with pytest.raises(CurrencyMismatchError, match="no locked rate"):
        engine.analytics(reporting_currency="USD").snapshot()


def test_a_pause_that_ended_is_a_gap_between_two_charges() -> None:
    clock = TestClock(at(1))
    engine = BillingEngine(InMemoryStore(), clock)
    engine.set_catalog(_catalog())
    sub = engine.subscribe(engine.create_customer(id="cz", name="Z", currency="USD").id, "pro")
    clock.travel_to(at(2, 10))
    engine.advance()  # February renewed (paid to March 1)
    engine.pause(sub.id)
    clock.travel_to(at(4, 20))
    engine.advance()
    engine.resume(sub.id)  # charges the rest of April: $11.00 for 11 of 30 days, i.e. $30 a month
    clock.travel_to(at(6))
    engine.advance()
    steps = next(engine.analytics().book().customers())
    assert list(zip(steps[1], steps[2], strict=True)) == [(at(1), 3000), (at(3), 0), (at(4, 20), 3000)]
    march, april = engine.analytics().monthly(at(3), 2)
    assert (march.churn, april.reactivation) == (-3000, 3000)
