"""The analytics domain on hand-made values: normalization, locked-rate conversion, timelines, errors."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from subkit.analytics import (
    CustomerSignals,
    MrrBook,
    MrrPoint,
    SubscriptionHistory,
    churn_risk,
    ltv,
    monthly_minor,
    monthly_movements,
    movements,
    mrr_points,
)
from subkit.analytics.mrr import month_starts, to_reporting
from subkit.core.periods import MONTHLY, Interval
from subkit.errors import CurrencyMismatchError, InvalidPeriodError, NaiveDatetimeError, ValidationError
from subkit.invoice.invoice import Invoice, InvoiceLine, LineKind
from subkit.subscription.proration import Granularity

UTC_JAN = datetime(2027, 1, 1, tzinfo=UTC)


def d(month: int, day: int = 1, year: int = 2027) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def line(
    kind: LineKind, amount: str, start: datetime, end: datetime, *, currency: str = "USD", **kw: object
) -> InvoiceLine:
    return InvoiceLine.build(
        "x", kind, unit_amount=amount, currency=currency, item_id=kw.pop("item_id", "si_1"),
        plan_id="p", period_start=start, period_end=end, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def invoice(
    lines: list[InvoiceLine], at: datetime, *, currency: str = "USD", n: int = 1, **fields: object
) -> Invoice:
    inv = Invoice.draft(f"in_{n}", "cus_1", currency, lines, at=at, subscription_id="sub_1").issue(
        f"INV-{n}", at
    )
    return inv.model_copy(update=fields) if fields else inv


# ---------------------------------------------------------------- normalization and rounding
@pytest.mark.parametrize(
    ("interval", "amount_minor", "expected"),
    [
        (Interval(unit="month"), 2999, 2999),
        (Interval(unit="year"), 200_000, 16667),  # ChartMogul: $2,000 a year is $166.67 of MRR
        (Interval(unit="month", count=3), 9000, 3000),  # quarterly / 3
        (Interval(unit="week"), 1000, 4333),  # $10 x 52 / 12 = $43.333...
        (Interval(unit="week", count=2), 1000, 2167),  # $10 x 26 / 12 = $21.666...
        (Interval(unit="month", count=6), 1, 0),  # 1/6 of a cent rounds to nothing
    ],
)
def test_monthly_normalization(interval: Interval, amount_minor: int, expected: int) -> None:
    assert monthly_minor(amount_minor, "USD", interval, reporting="USD") == expected


def test_conversion_at_the_locked_rate_rounds_once() -> None:
    # 99.99 EUR a year at 1.0825 USD/EUR: 108.239175 USD / 12 = 9.01993125 -> $9.02 (rounded once)
    assert to_reporting(9999, "EUR", "USD", Decimal("1.0825")) == Decimal("108.239175")
    assert (
        monthly_minor(9999, "EUR", Interval(unit="year"), reporting="USD", fx_rate=Decimal("1.0825")) == 902
    )
    # JPY has no minor units: 12,000 yen a year at 0.0067 USD/JPY = $80.40 / 12 = $6.70
    assert (
        monthly_minor(12000, "JPY", Interval(unit="year"), reporting="USD", fx_rate=Decimal("0.0067")) == 670
    )
    # to a currency with three decimals: 10.00 USD at 0.3075 KWD/USD = 3.075 KWD
    assert monthly_minor(1000, "USD", MONTHLY, reporting="KWD", fx_rate=Decimal("0.3075")) == 3075
    with pytest.raises(CurrencyMismatchError, match="no locked rate"):
        monthly_minor(1000, "EUR", MONTHLY, reporting="USD")


def test_invoices_in_another_currency_use_their_own_locked_rate() -> None:
    history = SubscriptionHistory("sub_1", "cus_1", MONTHLY, currency="EUR")
    jan = invoice([line(LineKind.RECURRING, "20", d(1), d(2), currency="EUR")], d(1), currency="EUR",
                  fx_rate=Decimal("1.10"), reporting_currency="USD")  # fmt: skip
    feb = invoice([line(LineKind.RECURRING, "20", d(2), d(3), currency="EUR")], d(2), currency="EUR", n=2,
                  fx_rate=Decimal("1.05"), reporting_currency="USD")  # fmt: skip
    points = mrr_points(history, [feb, jan], reporting="USD")
    # 20 EUR at 1.10 = $22.00 in January; at February's locked 1.05 = $21.00
    assert [(p.at, p.mrr_minor) for p in points] == [(d(1), 2200), (d(2), 2100)]
    # the same invoices reported in EUR need no rate
    assert [p.mrr_minor for p in mrr_points(history, [jan, feb], reporting="EUR")] == [2000]
    # locked to another reporting currency: refused, with the fix in the message
    gbp = invoice([line(LineKind.RECURRING, "20", d(1), d(2), currency="EUR")], d(1), currency="EUR",
                  fx_rate=Decimal("0.85"), reporting_currency="GBP")  # fmt: skip
    with pytest.raises(CurrencyMismatchError, match="reporting_currency"):
        mrr_points(history, [gbp], reporting="USD")


# ---------------------------------------------------------------- timelines from invoices
def test_discount_lowers_mrr_only_for_its_cycles_and_one_offs_tax_do_not_count() -> None:
    history = SubscriptionHistory("sub_1", "cus_1", MONTHLY, currency="USD")
    invs = []
    for n, month in enumerate(range(1, 5)):
        rec = line(LineKind.RECURRING, "40", d(month), d(month + 1), cycle=n)
        if n < 2:
            rec = rec.with_discount(1000)  # $10 off the first two cycles
        extra = InvoiceLine.build(
            "Setup", LineKind.SETUP_FEE, unit_amount="99", currency="USD", item_id="si_1"
        )
        invs.append(invoice([rec, extra], d(month), n=n + 1))
    points = mrr_points(history, invs, reporting="USD")
    assert [(p.at.month, p.mrr_minor) for p in points] == [(1, 3000), (3, 4000)]


def test_proration_charge_is_scaled_to_a_full_period_with_the_engines_fraction() -> None:
    # Paris customer, day granularity: upgrade on April 16 local time, 15 of April's 30 days left
    paris = ZoneInfo("Europe/Paris")
    start, end = datetime(2027, 4, 1, tzinfo=paris), datetime(2027, 5, 1, tzinfo=paris)
    change = datetime(2027, 4, 16, 9, 30, tzinfo=paris)
    history = SubscriptionHistory("sub_1", "cus_1", MONTHLY, timezone="Europe/Paris", currency="USD")
    rec = line(LineKind.RECURRING, "10", start, end, cycle=3)
    credit = InvoiceLine.build("Unused", LineKind.PRORATION, exact_amount=Decimal("-5"), currency="USD",
                               item_id="si_1", period_start=change, period_end=end, cycle=3)  # fmt: skip
    charge = InvoiceLine.build("Remaining", LineKind.PRORATION, exact_amount=Decimal("15"), currency="USD",
                               item_id="si_1", period_start=change, period_end=end, cycle=3)  # fmt: skip
    invs = [invoice([rec], start), invoice([credit, charge], change, n=2)]
    points = mrr_points(history, invs, reporting="USD", granularity=Granularity.DAY)
    assert [(p.at, p.mrr_minor) for p in points] == [(start, 1000), (change, 3000)]


def test_usage_counts_from_its_billing_until_the_next_and_can_be_left_out() -> None:
    history = SubscriptionHistory("sub_1", "cus_1", MONTHLY, currency="USD")
    u1 = line(LineKind.USAGE, "12", d(1), d(2), item_id="si_u")
    u2 = line(LineKind.USAGE, "7", d(2), d(3), item_id="si_u")
    rec = line(LineKind.RECURRING, "10", d(2), d(3), cycle=1)
    invs = [invoice([u1, rec], d(2)), invoice([u2], d(3), n=2)]
    assert [(p.at.month, p.mrr_minor) for p in mrr_points(history, invs, reporting="USD")] == [
        (2, 2200),
        (3, 1700),
    ]
    assert [p.mrr_minor for p in mrr_points(history, invs, reporting="USD", include_usage=False)] == [1000]


def test_end_pause_incomplete_and_void() -> None:
    rec = [invoice([line(LineKind.RECURRING, "10", d(m), d(m + 1), cycle=m)], d(m), n=m) for m in (1, 2, 3)]
    ended = SubscriptionHistory("sub_1", "cus_1", MONTHLY, ended_at=d(2, 15))
    assert [(p.at, p.mrr_minor) for p in mrr_points(ended, rec, reporting="USD")] == [
        (d(1), 1000),
        (d(2, 15), 0),
    ]
    paused = SubscriptionHistory("sub_1", "cus_1", MONTHLY, paused_at=d(3, 1))
    assert [(p.at, p.mrr_minor) for p in mrr_points(paused, rec, reporting="USD")] == [
        (d(1), 1000),
        (d(3), 0),
    ]
    assert (
        mrr_points(SubscriptionHistory("sub_1", "cus_1", MONTHLY, incomplete=True), rec, reporting="USD")
        == []
    )
    voided = rec[0].void(d(1, 2))
    assert [
        p.at for p in mrr_points(SubscriptionHistory("sub_1", "cus_1", MONTHLY), [voided], reporting="USD")
    ] == []


# ---------------------------------------------------------------- book, movements, months
def test_months_begin_at_local_midnight_across_dst() -> None:
    bounds = month_starts(datetime(2027, 3, 20, tzinfo=UTC), 2, "America/New_York")
    # EST (UTC-5) on March 1, EDT (UTC-4) from March 14
    assert bounds == [
        datetime(2027, 3, 1, 5, tzinfo=UTC),
        datetime(2027, 4, 1, 4, tzinfo=UTC),
        datetime(2027, 5, 1, 4, tzinfo=UTC),
    ]
    leap = month_starts(datetime(2028, 2, 29, 12, tzinfo=UTC), 1)
    assert leap == [d(2, 1, 2028), d(3, 1, 2028)]


def test_a_change_at_the_period_start_belongs_to_it_and_one_at_its_end_to_the_next() -> None:
    book = MrrBook([MrrPoint.trusted("s", "c", d(2), 500), MrrPoint.trusted("s", "c", d(3), 0)], "USD")
    feb = movements(book, d(2), d(3))
    assert (feb.opening, feb.new, feb.churn, feb.closing) == (0, 500, 0, 500)
    assert movements(book, d(3), d(4)).churn == -500
    assert book.snapshot(d(3)).mrr_minor == 0 and book.snapshot(d(3), before=True).mrr_minor == 500


def test_new_then_churned_inside_one_period_moves_nothing_and_comes_back_as_reactivation() -> None:
    book = MrrBook(
        [MrrPoint.trusted("s1", "c", d(1, 5), 700), MrrPoint.trusted("s1", "c", d(1, 20), 0),
         MrrPoint.trusted("s2", "c", d(2, 3), 900)], "USD",
    )  # fmt: skip
    jan, feb = monthly_movements(book, [d(1), d(2), d(3)], details=True)
    assert (jan.new, jan.churn, jan.customers) == (0, 0, [])
    assert (feb.reactivation, feb.new) == (900, 0)


def test_two_subscriptions_of_one_customer_cancel_one_is_contraction() -> None:
    book = MrrBook(
        [MrrPoint.trusted("s1", "c", d(1), 1000), MrrPoint.trusted("s2", "c", d(1), 3000),
         MrrPoint.trusted("s2", "c", d(2, 10), 0)], "USD",
    )  # fmt: skip
    feb = movements(book, d(2), d(3))
    assert (feb.contraction, feb.churn, feb.closing_customers) == (-3000, 0, 1)


def test_bad_input_is_refused_before_anything_is_computed() -> None:
    book = MrrBook([], "USD")
    with pytest.raises(NaiveDatetimeError):
        book.snapshot(datetime(2027, 1, 1))  # naive: the point of the test
    with pytest.raises(InvalidPeriodError, match="ascend"):
        monthly_movements(book, [d(2), d(1)])
    with pytest.raises(InvalidPeriodError):
        monthly_movements(book, [d(2)])
    with pytest.raises(ValidationError, match="gross_margin"):
        ltv(arpa_minor=100, monthly_churn=Decimal("0.1"), gross_margin=Decimal("1.5"))
    with pytest.raises(ValidationError, match="has points for customers"):
        MrrBook([MrrPoint.trusted("s", "a", d(1), 1), MrrPoint.trusted("s", "b", d(2), 1)], "USD")
    with pytest.raises(ValidationError, match="usage_drop"):
        churn_risk([], usage_drop=Decimal(2))


def test_ltv_guard_for_zero_churn() -> None:
    assert ltv(arpa_minor=5000, monthly_churn=Decimal(0)) is None
    assert ltv(arpa_minor=5000, monthly_churn=None) is None
    # $50 ARPA, 70% margin, 2% monthly churn: 50 x 0.7 / 0.02 = $1,750
    assert ltv(arpa_minor=5000, monthly_churn=Decimal("0.02"), gross_margin=Decimal("0.7")) == 175000


def test_churn_risk_each_flag_with_its_reason() -> None:
    risks = churn_risk(
        [
            CustomerSignals("calm", mrr_minor=9000, usage_minor=(100, 90)),  # a 10% dip is no flag
            CustomerSignals("late", mrr_minor=1000, past_due=("sub_9",), failed_payments=3),
            CustomerSignals("big", mrr_minor=50000, cancel_scheduled=("sub_2",)),
            CustomerSignals("quiet", mrr_minor=2000, usage_minor=(1000, 700)),  # exactly 30% down
        ]
    )
    assert [(r.customer_id, r.reasons) for r in risks] == [
        ("late", ("past_due", "failing_payments")),
        ("big", ("cancel_scheduled",)),
        ("quiet", ("usage_dropping",)),
    ]
    assert risks[0].flags[1].detail == "3 payment attempt(s) failed recently"
    assert risks[2].flags[0].detail == "billed usage fell from 1000 to 700 (-30.0%)"
