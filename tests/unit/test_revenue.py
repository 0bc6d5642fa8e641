"""Revenue recognition: hand-computed schedules and journals.

Every expected number below is worked out in the comment above it. References:
- ASC 606-10-25-27 (over time) / 606-10-32-31 (relative standalone selling price) /
  606-10-55-51 (upfront fees), as quoted in Deloitte's Revenue Roadmap 5.6.
- IFRS 15.21(a): a modification of remaining distinct services is prospective.
- Stripe Revenue Recognition examples (docs.stripe.com/revenue-recognition/examples/contra and
  /methodology/subscriptions-and-invoicing): per-day recognition, $31 from Jan 15 = 17 days
  in Jan + 14 in Feb; an upgrade on Apr 21 from $90 to $120 = $60 + $40 in April.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from subkit.errors import UnbalancedEntryError, ValidationError
from subkit.invoice.invoice import InvoiceStatus, LineKind
from subkit.revenue import (
    Account,
    Basis,
    Chart,
    Component,
    EntryKind,
    JournalEntry,
    Method,
    RecognitionPolicy,
    balances,
    build_books,
    journal_csv,
    recognized_revenue,
    rollforward,
    rollforward_by_month,
    waterfall,
)
from subkit.revenue.books import Lock
from subkit.revenue.schedule import month_index, ratable_schedule

from .revenue_helpers import at, deferred, issued, line, note, paid, postings, refund


def amounts(books, start=date(2020, 1, 1), end=date(2040, 1, 1)) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return recognized_revenue(books, start, end)


# --------------------------------------------------------------------------- the reference cases
def test_annual_365_from_jan_1_recognizes_31_28_31_and_deferred_moves_334_minus_28_minus_31() -> None:
    # $365.00 for [2027-01-01, 2028-01-01): 2027 has 365 days, so $1.00 a day.
    inv = issued("in_1", [line(36500, start=at(2027, 1, 1), end=at(2028, 1, 1))], at(2027, 1, 1))
    books = build_books([inv])
    months = amounts(books)
    assert [months[f"2027-{m:02d}"] for m in (1, 2, 3)] == [3100, 2800, 3100]
    assert sum(months.values()) == 36500
    # Deferred revenue: +365 billed on Jan 1, -31 recognized Jan 31: a net move of +334 in
    # January; then -28 in February and -31 in March.
    rf = rollforward_by_month(books, date(2027, 1, 1), date(2027, 4, 1))
    assert [
        (r.opening_minor, r.billed_minor, r.recognized_minor, r.reversed_minor, r.closing_minor) for r in rf
    ] == [
        (0, 36500, 3100, 0, 33400),
        (33400, 0, 2800, 0, 30600),
        (30600, 0, 3100, 0, 27500),
    ]
    assert [r.closing_minor - r.opening_minor for r in rf] == [33400, -2800, -3100]


def test_one_time_10_dollar_payment_books_three_balanced_entries() -> None:
    inv = issued("in_1", [line(1000, LineKind.ONE_OFF, plan=None, item="fee")], at(2027, 1, 10))
    books = build_books([inv], payments=[paid("pa_1", inv, 1000, at(2027, 1, 10, 1))])
    assert postings(books) == [
        ("invoice", "2027-01-10", "receivable", 1000, 0),
        ("invoice", "2027-01-10", "deferred_revenue", 0, 1000),
        ("payment", "2027-01-10", "cash", 1000, 0),
        ("payment", "2027-01-10", "receivable", 0, 1000),
        ("recognition", "2027-01-10", "deferred_revenue", 1000, 0),
        ("recognition", "2027-01-10", "revenue", 0, 1000),
    ]
    assert all(e.debit_minor == e.credit_minor for e in books.entries)


# --------------------------------------------------------------------------- schedules
def test_monthly_from_jan_15_is_17_then_14_days_with_a_credit_balance_applied() -> None:
    # Stripe's contra example: $31 monthly from Jan 15, $11 of customer credit applied, $20 paid Feb 9.
    inv = issued(
        "in_1", [line(3100, start=at(2027, 1, 15), end=at(2027, 2, 15))], at(2027, 1, 15), credit=1100
    )
    books = build_books([inv], payments=[paid("pa_1", inv, 2000, at(2027, 2, 9))])
    assert amounts(books) == {"2027-01": 1700, "2027-02": 1400}
    jan = balances(books, date(2027, 1, 31))
    # End of January: AR +20, customer balance used 11 (a debit), revenue 17 (credit), deferred 14 (credit).
    assert (jan[Account.RECEIVABLE], jan[Account.CUSTOMER_BALANCE]) == (2000, 1100)
    assert (jan[Account.REVENUE], jan[Account.DEFERRED_REVENUE]) == (-1700, -1400)
    feb = balances(books, date(2027, 2, 28))
    assert (
        feb[Account.RECEIVABLE],
        feb[Account.CASH],
        feb[Account.REVENUE],
        feb[Account.DEFERRED_REVENUE],
    ) == (
        0,
        2000,
        -3100,
        0,
    )


def test_leap_year_february_has_29_days() -> None:
    # $366.00 for 2028 (a leap year): $1.00 a day, so February is $29.
    rows = ratable_schedule(36600, at(2028, 1, 1), at(2029, 1, 1))
    assert [a for _, a in rows][:3] == [3100, 2900, 3100] and sum(a for _, a in rows) == 36600
    # $30 for [Feb 29, Mar 29): 29 days, 1 in February. 3000 x 1/29 = 103.45, 3000 x 28/29 = 2896.55:
    # floors 103 + 2896 = 2999; the cent left goes to the larger remainder (.55), March.
    rows = ratable_schedule(3000, at(2028, 2, 29), at(2028, 3, 29))
    assert [a for _, a in rows] == [103, 2897]


def test_largest_remainder_makes_a_schedule_sum_to_its_line() -> None:
    # $100.00 over [Jan 1, Apr 1) 2027 = 31 + 28 + 31 = 90 days: 3444.44, 3111.11, 3444.44 -> floors sum
    # to 9999; the cent goes to the first of the equal largest remainders (.44), January.
    assert [a for _, a in ratable_schedule(10000, at(2027, 1, 1), at(2027, 4, 1))] == [3445, 3111, 3444]


def test_exact_duration_counts_the_dst_hour_and_day_basis_counts_days() -> None:
    # Paris: [Mar 15, Apr 15) 2027 local; summer time starts Mar 28 (a 23-hour day).
    # Exact: March has 17 x 24 - 1 = 407 hours, April 14 x 24 = 336 hours, 743 in all: $743 -> 407 + 336.
    from subkit.core.periods import zone

    paris = zone("Europe/Paris")
    start = at(2027, 3, 14, 23)  # Mar 15 00:00 CET
    end = at(2027, 4, 14, 22)  # Apr 15 00:00 CEST
    exact = ratable_schedule(74300, start, end, basis=Basis.EXACT, tz=paris)
    assert [a for _, a in exact] == [40700, 33600]
    # By day: 17 of 31 days and 14 of 31: 40745.16 and 33554.84 -> 40745 + 33555.
    assert [a for _, a in ratable_schedule(74300, start, end, tz=paris)] == [40745, 33555]


def test_a_non_utc_books_zone_moves_a_midnight_utc_invoice_to_the_previous_day() -> None:
    # Jan 1 00:00 UTC is Dec 31 19:00 in New York: a one-off fee is booked (and recognized) in December.
    inv = issued("in_1", [line(500, LineKind.ONE_OFF)], at(2027, 1, 1))
    books = build_books([inv], policy=RecognitionPolicy(timezone="America/New_York"))
    assert amounts(books) == {"2026-12": 500}
    assert books.entries[0].on == date(2026, 12, 31)


def test_catch_up_for_service_delivered_before_the_invoice_is_final() -> None:
    # Annual $365 from Jan 1, finalized Mar 3: Jan + Feb (59) are recognized in March with March's 31.
    inv = issued("in_1", [line(36500, start=at(2027, 1, 1), end=at(2028, 1, 1))], at(2027, 3, 3))
    months = amounts(build_books([inv]))
    assert "2027-01" not in months and months["2027-03"] == 9000 and months["2027-04"] == 3000


# ------------------------------------------------------------ price: discounts, bundles, setup fees
def test_a_discount_reduces_the_transaction_price() -> None:
    # $20 for January with $5 off: $15 deferred and recognized, not $20.
    inv = issued("in_1", [line(2000, start=at(2027, 1, 1), end=at(2027, 2, 1), discount=500)], at(2027, 1, 1))
    books = build_books([inv])
    assert postings(books, "invoice") == [
        ("invoice", "2027-01-01", "receivable", 1500, 0),
        ("invoice", "2027-01-01", "deferred_revenue", 0, 1500),
    ]
    assert amounts(books) == {"2027-01": 1500}


def test_a_bundle_is_allocated_by_relative_standalone_selling_price() -> None:
    # Suite $1,000 = software (SSP $900, point in time) + support (SSP $300, over the period):
    # 1000 x 900/1200 = 750 and 1000 x 300/1200 = 250.
    # Support $250 over Jan-Mar 2027 (90 days): 8611.11, 7777.78, 8611.11 -> 8611, 7778, 8611.
    policy = RecognitionPolicy(
        bundles={"suite": (Component("software", 90000, Method.POINT_IN_TIME), Component("support", 30000))}
    )
    inv = issued(
        "in_1", [line(100000, start=at(2027, 1, 1), end=at(2027, 4, 1), plan="suite")], at(2027, 1, 1)
    )
    books = build_books([inv], policy=policy)
    assert [(o.product, o.price_minor, o.method.value) for o in books.obligations] == [
        ("software", 75000, "point_in_time"),
        ("support", 25000, "ratable"),
    ]
    assert amounts(books) == {"2027-01": 75000 + 8611, "2027-02": 7778, "2027-03": 8611}
    by_product = recognized_revenue(books, date(2027, 1, 1), date(2027, 4, 1), by="product")
    assert by_product == {"software": 75000, "support": 25000}


def test_a_setup_fee_is_spread_over_the_service_period() -> None:
    # ASC 606-10-55-51: the fee is an advance payment for the service; $90 setup over Jan-Mar (90 days)
    # is $1 a day: 31, 28, 31, recognized with the first quarter's subscription.
    plan = line(30000, start=at(2027, 1, 1), end=at(2027, 4, 1))
    setup = line(9000, LineKind.SETUP_FEE, plan=None, item="setup")
    books = build_books([issued("in_1", [plan, setup], at(2027, 1, 1))])
    by_product = {
        r.month: r.amount_minor
        for r in books.revenue
        if r.product == "setup"  # the item id is the product
    }
    assert list(by_product.values()) == [3100, 2800, 3100]


def test_usage_in_arrears_is_recognized_when_billed() -> None:
    usage = line(4200, LineKind.USAGE, start=at(2027, 1, 1), end=at(2027, 2, 1))
    books = build_books([issued("in_1", [usage], at(2027, 2, 1))])
    assert amounts(books) == {"2027-02": 4200}


# --------------------------------------------------------------------------- modifications, credits, refunds
def test_upgrade_mid_period_stripe_example() -> None:
    # Apr 1: $90 for April. Apr 21: upgrade to $120; the invoice credits 10 unused days of $90 ($30)
    # and charges 10 days of $120 ($40). April: 90 - 30 + 40 = $100 = 20 days x $3 + 10 days x $4.
    first = issued("in_1", [line(9000, start=at(2027, 4, 1), end=at(2027, 5, 1))], at(2027, 4, 1))
    credit = line(-3000, LineKind.PRORATION, at(2027, 4, 21), at(2027, 5, 1))
    charge = line(4000, LineKind.PRORATION, at(2027, 4, 21), at(2027, 5, 1))
    books = build_books([first, issued("in_2", [credit, charge], at(2027, 4, 21))])
    assert amounts(books) == {"2027-04": 10000}
    assert deferred(books) == 0


def test_upgrade_across_months_ends_the_old_schedule_at_the_change() -> None:
    # $31 for [Jan 15, Feb 15) (17 + 14 days); Feb 1 upgrade to $62: credit the 14 unused days (-$14),
    # charge 14 days at $2 ($28). Jan $17; Feb 14 - 14 + 28 = $28. Deferred: 14 at Jan 31, 0 at Feb 28.
    first = issued("in_1", [line(3100, start=at(2027, 1, 15), end=at(2027, 2, 15))], at(2027, 1, 15))
    second = issued(
        "in_2",
        [
            line(-1400, LineKind.PRORATION, at(2027, 2, 1), at(2027, 2, 15)),
            line(2800, LineKind.PRORATION, at(2027, 2, 1), at(2027, 2, 15)),
        ],
        at(2027, 2, 1),
    )
    books = build_books([first, second])
    assert amounts(books) == {"2027-01": 1700, "2027-02": 2800}
    assert -balances(books, date(2027, 1, 31))[Account.DEFERRED_REVENUE] == 1400
    rf = rollforward(books, date(2027, 2, 1), date(2027, 3, 1))
    assert (rf.opening_minor, rf.billed_minor, rf.recognized_minor, rf.closing_minor) == (1400, 1400, 2800, 0)


def test_a_credit_note_reduces_remaining_deferred_revenue_prospectively() -> None:
    # Annual $365 from Jan 1; Mar 1, a $153 credit note on the open invoice. Jan + Feb (59) were
    # recognized; 306 remain for Mar-Dec (306 days). 153 of it goes: the rest is $0.50 a day,
    # March 15.50, April 15.00 ... December 15.50.
    inv = issued("in_1", [line(36500, start=at(2027, 1, 1), end=at(2028, 1, 1))], at(2027, 1, 1))
    cn = note("cn_1", inv, 15300, at(2027, 3, 1), outstanding=15300)
    books = build_books([inv], [cn])
    months = amounts(books)
    assert [months[f"2027-{m:02d}"] for m in range(1, 13)] == [
        3100, 2800, 1550, 1500, 1550, 1500, 1550, 1550, 1500, 1550, 1500, 1550,
    ]  # fmt: skip
    assert postings(books, "credit_note") == [
        ("credit_note", "2027-03-01", "receivable", 0, 15300),
        ("credit_note", "2027-03-01", "deferred_revenue", 15300, 0),
    ]
    rf = rollforward(books, date(2027, 3, 1), date(2027, 4, 1))
    assert (rf.opening_minor, rf.billed_minor, rf.recognized_minor, rf.reversed_minor, rf.closing_minor) == (
        30600, 0, 1550, 15300, 13750,
    )  # fmt: skip
    assert deferred(books) == 0


def test_a_credit_note_splits_tax_and_net_by_the_invoice_proportions() -> None:
    # $100 + $20 tax, one-off; a $60 credit reverses 60 / 1.2 = 50 net and 10 tax (the tax engine's
    # split, by the original rate, as docs.stripe.com/tax/invoicing/refunds does). The fee was recognized when
    # billed, so the 50 reverses revenue (Dr refunds) in the note's period.
    inv = issued("in_1", [line(10000, LineKind.ONE_OFF, tax=2000)], at(2027, 1, 5))
    books = build_books([inv], [note("cn_1", inv, 6000, at(2027, 2, 2), outstanding=6000, tax=1000)])
    assert postings(books, "invoice") == [
        ("invoice", "2027-01-05", "receivable", 12000, 0),
        ("invoice", "2027-01-05", "deferred_revenue", 0, 10000),
        ("invoice", "2027-01-05", "tax_payable", 0, 2000),
    ]
    assert postings(books, "credit_note") == [
        ("credit_note", "2027-02-02", "receivable", 0, 6000),
        ("credit_note", "2027-02-02", "tax_payable", 1000, 0),
        ("credit_note", "2027-02-02", "refunds", 5000, 0),
    ]
    assert amounts(books) == {"2027-01": 10000, "2027-02": -5000}


def test_refund_after_recognition_is_a_reversal_in_the_refund_period() -> None:
    # Annual $365 paid Jan 1; refunded in full on Mar 1: 306 still deferred is reduced, the 59 already
    # recognized (Jan, Feb) is reversed in March. January and February are not touched.
    inv = issued("in_1", [line(36500, start=at(2027, 1, 1), end=at(2028, 1, 1))], at(2027, 1, 1))
    books = build_books(
        [inv],
        [note("cn_1", inv, 36500, at(2027, 3, 1), refund=True)],
        [paid("pa_1", inv, 36500, at(2027, 1, 1))],
        [refund("re_1", inv, 36500, at(2027, 3, 1, 1))],
    )
    assert postings(books, "credit_note") == [
        ("credit_note", "2027-03-01", "deferred_revenue", 30600, 0),
        ("credit_note", "2027-03-01", "customer_balance", 0, 36500),
        ("credit_note", "2027-03-01", "refunds", 5900, 0),
    ]
    assert postings(books, "refund") == [
        ("refund", "2027-03-01", "cash", 0, 36500),
        ("refund", "2027-03-01", "customer_balance", 36500, 0),
    ]
    assert amounts(books) == {"2027-01": 3100, "2027-02": 2800, "2027-03": -5900}
    end = balances(books, date(2027, 12, 31))
    assert (
        end[Account.CASH] == 0 and end[Account.DEFERRED_REVENUE] == 0 and end[Account.CUSTOMER_BALANCE] == 0
    )


def test_a_void_reverses_what_is_left_and_a_write_off_is_bad_debt() -> None:
    void = issued("in_1", [line(5000, start=at(2027, 1, 1), end=at(2027, 2, 1))], at(2027, 1, 1))
    void = void.bumped(status=InvoiceStatus.VOID, voided_at=at(2027, 1, 1, 5))
    lost = issued("in_2", [line(4000, LineKind.ONE_OFF)], at(2027, 1, 2), customer="cus_2")
    lost = lost.bumped(status=InvoiceStatus.UNCOLLECTIBLE)
    books = build_books([void, lost], write_offs={"in_2": at(2027, 3, 1)})
    assert postings(books, "void") == [
        ("void", "2027-01-01", "receivable", 0, 5000),
        ("void", "2027-01-01", "deferred_revenue", 5000, 0),
    ]
    assert postings(books, "write_off") == [
        ("write_off", "2027-03-01", "receivable", 0, 4000),
        ("write_off", "2027-03-01", "write_off", 4000, 0),
    ]
    # The void left nothing to recognize; the uncollectible fee stays revenue (a credit loss).
    assert amounts(books) == {"2027-01": 4000}


# --------------------------------------------------------------------------- currencies
def test_two_currencies_at_the_locked_rate_rounded_once_per_account() -> None:
    # EUR 365 annual at 1.0833 USD/EUR, reporting in USD. Billed: 365 x 1.0833 = 395.4045 -> $395.40.
    # The deferred balance is converted once at each step (round(balance x rate)), so a month's revenue
    # is the fall of that balance: 334 x 1.0833 = 361.82 (Jan 33.58), 306 x 1.0833 = 331.49 (Feb 30.33),
    # 275 x 1.0833 = 297.91 (Mar 33.58). Paid at a settlement rate of 1.09: cash $397.85,
    # receivable 395.40, a realized FX gain of $2.45. A USD invoice of $10 joins the USD books as is.
    eur = issued(
        "in_1",
        [line(36500, start=at(2027, 1, 1), end=at(2028, 1, 1))],
        at(2027, 1, 1),
        currency="EUR",
        fx="1.0833",
        reporting="USD",
    )
    usd = issued("in_2", [line(1000, LineKind.ONE_OFF)], at(2027, 1, 3), customer="cus_2")
    pay = paid("pa_1", eur, 36500, at(2027, 1, 2))
    books = build_books([eur, usd], payments=[pay], settlement_rates={"pa_1": Decimal("1.09")})
    usd_months = recognized_revenue(books, date(2027, 1, 1), date(2027, 4, 1), currency="USD")
    assert usd_months == {"2027-01": 3358 + 1000, "2027-02": 3033, "2027-03": 3358}
    eur_rows = [r.amount_minor for r in books.revenue if r.currency == "EUR"][:3]
    assert eur_rows == [3100, 2800, 3100]
    pay = next(e for e in books.entries if e.kind is EntryKind.PAYMENT)
    assert [(p.account.value, p.debit_minor, p.credit_minor) for p in pay.postings] == [
        ("cash", 36500, 0),
        ("receivable", 0, 36500),
        ("fx_gain_loss", 0, 0),  # the gain exists only in the reporting currency
    ]
    assert [(p.account.value, p.reporting_debit_minor, p.reporting_credit_minor) for p in pay.postings] == [
        ("cash", 39785, 0),
        ("receivable", 0, 39540),
        ("fx_gain_loss", 0, 245),
    ]
    # A year later every EUR cent is recognized: deferred is exactly zero in USD too.
    end = balances(books, date(2028, 1, 31), "USD")
    assert end[Account.DEFERRED_REVENUE] == 0 and end[Account.RECEIVABLE] == 1000  # the USD fee is unpaid
    assert end[Account.REVENUE] == -(39540 + 1000)
    gbp = issued("in_3", [line(1000, LineKind.ONE_OFF)], at(2027, 1, 3), currency="GBP")
    with pytest.raises(ValidationError, match="pass currency= to pick one"):
        recognized_revenue(build_books([eur, gbp]), date(2027, 1, 1), date(2028, 1, 1))


# --------------------------------------------------------------------------- reports and journal
def test_waterfall_is_bookings_by_month_against_recognition_by_month() -> None:
    # Jan: annual $365 booked; Feb: monthly $28 for February booked.
    annual = issued("in_1", [line(36500, start=at(2027, 1, 1), end=at(2028, 1, 1))], at(2027, 1, 1))
    feb = issued("in_2", [line(2800, start=at(2027, 2, 1), end=at(2027, 3, 1))], at(2027, 2, 1))
    w = waterfall(build_books([annual, feb]), date(2027, 1, 1), date(2027, 4, 1))
    assert w.months == (date(2027, 1, 1), date(2027, 2, 1), date(2027, 3, 1))
    assert w.rows == {date(2027, 1, 1): (36500, (3100, 2800, 3100)), date(2027, 2, 1): (2800, (0, 2800, 0))}
    assert w.recognized == (3100, 5600, 3100)


def test_journal_csv_uses_the_hosts_chart_and_units() -> None:
    inv = issued("in_1", [line(1250, LineKind.ONE_OFF)], at(2027, 1, 10))
    chart = Chart({Account.REVENUE: ("400100", "SaaS revenue")})
    text = journal_csv(build_books([inv]), chart=chart)
    rows = [r.split(",") for r in text.splitlines()]
    assert rows[0][:7] == ["entry_id", "date", "kind", "account_code", "account_name", "debit", "credit"]
    assert [r[3:7] for r in rows[1:]] == [
        ["1100", "Accounts receivable", "12.50", "0.00"],
        ["2400", "Deferred revenue", "0.00", "12.50"],
        ["2400", "Deferred revenue", "12.50", "0.00"],
        ["400100", "SaaS revenue", "0.00", "12.50"],
    ]


def test_an_unbalanced_entry_is_refused() -> None:
    with pytest.raises(UnbalancedEntryError, match="debits - credits = 1"):
        JournalEntry.of("x", date(2027, 1, 1), EntryKind.INVOICE, "x", "c", "USD", {Account.CASH: 1})


def test_bad_input_says_what_to_fix() -> None:
    with pytest.raises(ValidationError, match="time zone"):
        RecognitionPolicy(timezone="Mars/Olympus")
    with pytest.raises(ValidationError, match="bundle 'suite'"):
        RecognitionPolicy(bundles={"suite": (Component("a", 0),)})
    with pytest.raises(ValidationError, match="share one account code"):
        Chart({Account.REVENUE: ("1000", "Clash with cash")})
    with pytest.raises(ValidationError, match="after start"):
        rollforward(build_books([]), date(2027, 2, 1), date(2027, 1, 1))
    with pytest.raises(ValidationError, match="by="):
        recognized_revenue(build_books([]), date(2027, 1, 1), date(2027, 2, 1), by="planet")


def test_a_document_dated_in_a_closed_month_moves_to_the_first_open_day() -> None:
    inv = issued("in_1", [line(36500, start=at(2027, 1, 1), end=at(2028, 1, 1))], at(2027, 1, 1))
    lock = Lock(month_index(date(2027, 1, 1)), frozenset({"in_1"}))
    late = note("cn_late", inv, 15300, at(2027, 1, 20), outstanding=15300)
    books = build_books([inv], [late], lock=lock)
    entry = next(e for e in books.entries if e.kind is EntryKind.CREDIT_NOTE)
    assert (entry.on, entry.moved_from) == (date(2027, 2, 1), date(2027, 1, 20))
    months = amounts(books)
    # January keeps its $31; from February, (365 - 31 - 153) = 181 over 334 days: Feb 28 x 181/334.
    assert months["2027-01"] == 3100 and sum(months.values()) == 36500 - 15300


def test_naive_datetimes_are_refused() -> None:
    from datetime import datetime

    from subkit.errors import NaiveDatetimeError

    with pytest.raises(NaiveDatetimeError):
        ratable_schedule(100, datetime(2027, 1, 1), at(2027, 2, 1))


def test_dataframes_hold_the_same_integers() -> None:
    pd = pytest.importorskip("pandas", reason="pandas is an optional extra (analytics)")
    from subkit.revenue.frames import journal_frame, revenue_frame, waterfall_frame

    inv = issued("in_1", [line(36500, start=at(2027, 1, 1), end=at(2028, 1, 1))], at(2027, 1, 1))
    books = build_books([inv])
    rev = revenue_frame(books)
    assert rev["amount_minor"].sum() == 36500 and rev["amount_minor"].dtype.kind == "i"
    assert rev.groupby("month")["amount_minor"].sum().iloc[:3].tolist() == [3100, 2800, 3100]
    journal = journal_frame(books)
    assert journal["debit_minor"].sum() == journal["credit_minor"].sum() == 2 * 36500
    w = waterfall_frame(waterfall(books, date(2027, 1, 1), date(2027, 3, 1)))
    assert isinstance(w, pd.DataFrame) and w.loc[date(2027, 1, 1)].tolist() == [36500, 3100, 2800]


def test_stripe_credit_note_before_payment_is_like_an_upfront_discount() -> None:
    # docs.stripe.com/revenue-recognition/examples/credit-notes: $120 for Jan-Mar from Jan 1, a $30 credit
    # note before payment, $90 paid in February: revenue 31, 28, 31; deferred +59, -28, -31.
    # Here: the schedule 4134/3733/4133 (12000 x 31/90, 28/90, 31/90, largest remainder) less 3000 is
    # re-spread by those weights: 3100.5, 2799.75, 3099.75 -> 3100, 2800, 3100.
    inv = issued("in_1", [line(12000, start=at(2027, 1, 1), end=at(2027, 4, 1))], at(2027, 1, 1))
    books = build_books(
        [inv],
        [note("cn_1", inv, 3000, at(2027, 1, 1, 1), outstanding=3000)],
        [paid("pa_1", inv, 9000, at(2027, 2, 10))],
    )
    assert amounts(books) == {"2027-01": 3100, "2027-02": 2800, "2027-03": 3100}
    rf = rollforward_by_month(books, date(2027, 1, 1), date(2027, 4, 1))
    assert [r.closing_minor - r.opening_minor for r in rf] == [5900, -2800, -3100]
    assert [balances(books, d)[Account.RECEIVABLE] for d in (date(2027, 1, 31), date(2027, 2, 28))] == [
        9000,
        0,
    ]
