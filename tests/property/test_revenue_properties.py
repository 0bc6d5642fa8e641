"""Properties of the revenue books, for any documents hypothesis can think of.

- Every journal entry balances, in its currency and in the reporting currency (invoices open,
  paid, partly credited, voided or written off; proration credits; overpayments).
- At every date: deferred + recognized + tax payable = invoiced - credited (all in minor units,
  tax included on both sides; recognized is revenue less reversals). Without tax this is the
  issue's "recognized + deferred = invoiced - credited".
- Once every service period is over, deferred revenue is exactly zero, in both currencies.
- A schedule sums exactly to its amount and no month is more than one cent from its exact share.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from subkit.core.money import allocate_minor, exact_to_minor, minor_to_decimal
from subkit.invoice.invoice import CreditNote, Invoice, InvoiceLine, InvoiceStatus, LineKind
from subkit.payment.attempts import AttemptStatus, PaymentAttempt
from subkit.revenue import Account, Basis, RecognitionPolicy, balances, build_books
from subkit.revenue.schedule import month_index, ratable_schedule

T0 = datetime(2027, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


@st.composite
def invoice_docs(draw: st.DrawFn, n: int) -> tuple[Invoice, list[CreditNote], list[PaymentAttempt]]:
    booked = T0 + draw(st.integers(0, 500)) * DAY + draw(st.integers(0, 23)) * timedelta(hours=1)
    lines = []
    # One tax rate per invoice, on every line, credits included (as the tax engine does): 0-27%.
    rate = Decimal(draw(st.integers(0, 27))) / 100
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(
            st.sampled_from([LineKind.RECURRING, LineKind.ONE_OFF, LineKind.PRORATION, LineKind.USAGE])
        )
        start = booked + draw(st.integers(-40, 40)) * DAY
        end = start + draw(st.integers(1, 400)) * DAY
        amount = draw(
            st.integers(-20000, -1)
            if kind == LineKind.PRORATION and draw(st.booleans())
            else st.integers(0, 500000)
        )
        discount = draw(st.integers(0, amount)) if amount > 0 else 0
        tax = int((Decimal(amount - discount) * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        lines.append(
            InvoiceLine(
                description="x",
                kind=kind,
                plan_id=draw(st.sampled_from(["a", "b"])),
                period_start=None if kind == LineKind.ONE_OFF else start,
                period_end=None if kind == LineKind.ONE_OFF else end,
                amount_minor=amount,
                discount_minor=discount,
                tax_minor=tax,
            )
        )
    inv = Invoice.draft(f"in_{n}", f"cus_{n % 3}", "USD", lines, at=booked).issue(f"INV-{n}", booked)
    notes: list[CreditNote] = []
    left = inv.total_minor
    due = inv.amount_due_minor
    for k in range(draw(st.integers(0, 2))):
        if left <= 0:
            break
        amount = draw(st.integers(1, left))
        outstanding = draw(st.integers(0, min(amount, due)))
        net, tax_total = inv.total_minor - inv.tax_minor, inv.tax_minor
        tax = allocate_minor(amount, [net, tax_total])[1] if net > 0 and tax_total > 0 else 0
        when = booked + draw(st.integers(0, 500)) * DAY
        notes.append(
            CreditNote(
                id=f"cn_{n}_{k}",
                invoice_id=inv.id,
                customer_id=inv.customer_id,
                currency="USD",
                amount_minor=amount,
                outstanding_minor=outstanding,
                credit_minor=amount - outstanding,
                tax_minor=tax,
                created_at=when,
            )
        )
        left -= amount
        due -= outstanding
    pays = []
    fate = draw(st.sampled_from(["open", "open", "void", "uncollectible"]))
    if not notes and inv.amount_due_minor > 0 and fate != "open":
        if fate == "void":
            inv = inv.bumped(status=InvoiceStatus.VOID, voided_at=booked + draw(st.integers(0, 400)) * DAY)
        else:
            inv = inv.bumped(status=InvoiceStatus.UNCOLLECTIBLE, payment_due_at=booked + 30 * DAY)
        return inv, notes, pays
    if due > 0 and draw(st.booleans()):
        pays.append(
            PaymentAttempt(
                id=f"pa_{n}",
                customer_id=inv.customer_id,
                invoice_id=inv.id,
                status=AttemptStatus.SUCCEEDED,
                attempt_no=1,
                idempotency_key=f"k{n}",
                amount_minor=due + draw(st.integers(0, 500)),  # an overpayment becomes credit
                applied_minor=due,
                currency="USD",
                started_at=booked + DAY,
                completed_at=booked + DAY,
            )
        )
    return inv, notes, pays


@st.composite
def books_docs(draw: st.DrawFn) -> tuple[list[Invoice], list[CreditNote], list[PaymentAttempt]]:
    invoices, notes, pays = [], [], []
    for n in range(draw(st.integers(1, 6))):
        inv, ns, ps = draw(invoice_docs(n))
        invoices.append(inv)
        notes.extend(ns)
        pays.extend(ps)
    return invoices, notes, pays


@settings(max_examples=150, deadline=None)
@given(
    books_docs(), st.sampled_from(["UTC", "America/Los_Angeles", "Asia/Tokyo"]), st.sampled_from(list(Basis))
)
def test_books_balance_and_reconcile_at_every_date(
    docs: tuple[list[Invoice], list[CreditNote], list[PaymentAttempt]], tz: str, basis: Basis
) -> None:
    invoices, notes, pays = docs
    policy = RecognitionPolicy(timezone=tz, basis=basis)
    books = build_books(invoices, notes, pays, policy=policy)
    for e in books.entries:
        assert sum(p.signed_minor for p in e.postings) == 0
        assert sum(p.reporting_signed_minor for p in e.postings) == 0
    local = policy.tz
    dates = sorted({e.on for e in books.entries} | {date(2026, 12, 31), date(2030, 1, 1)})
    for d in dates:
        b = balances(books, d, "USD")
        invoiced = sum(
            i.total_minor for i in invoices if i.finalized_at and i.finalized_at.astimezone(local).date() <= d
        )
        credited = 0
        for n in notes:
            inv = next(i for i in invoices if i.id == n.invoice_id)
            assert inv.finalized_at is not None
            on = max(n.created_at.astimezone(local).date(), inv.finalized_at.astimezone(local).date())
            credited += n.amount_minor if on <= d else 0
        for i in invoices:  # a void credits everything left on the invoice, on its date
            if i.status == InvoiceStatus.VOID and i.voided_at and i.finalized_at:
                on = max(i.voided_at.astimezone(local).date(), i.finalized_at.astimezone(local).date())
                credited += i.total_minor if on <= d else 0
        deferred = -b[Account.DEFERRED_REVENUE]
        recognized = -(b[Account.REVENUE] + b[Account.REFUNDS])
        tax = -b[Account.TAX_PAYABLE]
        assert deferred + recognized + tax == invoiced - credited, d
    end = balances(books, date(2030, 1, 1), "USD")
    assert end[Account.DEFERRED_REVENUE] == 0


@settings(max_examples=100, deadline=None)
@given(
    st.integers(1, 10**9),
    st.integers(0, 800),
    st.sampled_from(["1.0833", "0.7", "149.37", "0.00912"]),
    st.lists(st.integers(1, 50000), min_size=0, max_size=3),
)
def test_a_foreign_invoice_leaves_nothing_deferred_in_the_reporting_currency(
    amount: int, days: int, rate: str, credits: list[int]
) -> None:
    start = T0 + days * DAY
    end = start + 365 * DAY
    line = InvoiceLine(
        description="x", kind=LineKind.RECURRING, period_start=start, period_end=end, amount_minor=amount
    )
    inv = Invoice.draft("in_1", "cus_1", "EUR", [line], at=start).issue("INV-1", start)
    inv = inv.bumped(fx_rate=Decimal(rate), reporting_currency="USD")
    notes, left = [], amount
    for k, c in enumerate(credits):
        c = min(c, left)
        if c <= 0:
            break
        when = start + (50 * k + 20) * DAY
        notes.append(
            CreditNote(id=f"cn_{k}", invoice_id="in_1", customer_id="cus_1", currency="EUR",
                       amount_minor=c, outstanding_minor=c, created_at=when)
        )  # fmt: skip
        left -= c
    books = build_books([inv], notes)
    for e in books.entries:
        assert sum(p.reporting_signed_minor for p in e.postings) == 0
    final = balances(books, date(2031, 1, 1), "USD")
    assert final[Account.DEFERRED_REVENUE] == 0
    # The receivable still open is what is left, converted once: round((amount - credits) x rate).
    left_usd = exact_to_minor(minor_to_decimal(left, "EUR") * Decimal(rate), "USD")
    assert final[Account.RECEIVABLE] == left_usd
    # Revenue less reversals in USD is what was billed less what was credited, each converted once.
    billed_usd = -sum(
        e.amount(Account.DEFERRED_REVENUE, reporting=True) for e in books.entries if e.kind.value == "invoice"
    )
    credited_usd = sum(
        e.amount(Account.DEFERRED_REVENUE, reporting=True) + e.amount(Account.REFUNDS, reporting=True)
        for e in books.entries
        if e.kind.value == "credit_note"
    )
    assert -(final[Account.REVENUE] + final[Account.REFUNDS]) == billed_usd - credited_usd


@settings(max_examples=300, deadline=None)
@given(
    st.integers(-(10**12), 10**12), st.integers(0, 3000), st.integers(1, 2000), st.sampled_from(list(Basis))
)
def test_a_schedule_sums_to_its_amount_within_a_cent_of_each_exact_share(
    amount: int, offset: int, days: int, basis: Basis
) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC) + offset * DAY + timedelta(hours=offset % 24)
    end = start + days * DAY
    rows = ratable_schedule(amount, start, end, basis=basis)
    assert sum(a for _, a in rows) == amount
    assert [m for m, _ in rows] == list(range(rows[0][0], rows[0][0] + len(rows)))
    assert rows[0][0] == month_index(start.date())
    if basis is Basis.EXACT:
        total = end - start
        for m, a in rows:
            lo = max(start, datetime(m // 12, m % 12 + 1, 1, tzinfo=UTC))
            hi = min(end, datetime((m + 1) // 12, (m + 1) % 12 + 1, 1, tzinfo=UTC))
            exact = Fraction(amount) * Fraction(
                (hi - lo) // timedelta(microseconds=1), total // timedelta(microseconds=1)
            )
            assert abs(a - exact) < 1


@settings(max_examples=300, deadline=None)
@given(st.integers(-(10**12), 10**12), st.lists(st.integers(1, 400), min_size=1, max_size=14))
def test_the_inlined_largest_remainder_is_allocate_minor(total: int, weights: list[int]) -> None:
    from subkit.core.money import allocate_minor
    from subkit.revenue.schedule import _largest_remainder

    assert _largest_remainder(total, weights) == allocate_minor(total, weights)
