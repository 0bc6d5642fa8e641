"""The demo: deterministic, complete, and its figures agree with what the store holds."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from subkit.adapters.storage.sql import SqlStore
from subkit.core.money import format_money, from_minor
from subkit.customer.customer import Customer
from subkit.entrypoints.demo import CURRENCIES, DemoSummary, run_demo
from subkit.errors import StateError, ValidationError
from subkit.invoice.invoice import CreditNote, Invoice, LineKind
from subkit.subscription.model import Subscription, SubscriptionStatus
from subkit.usage.wallet import EntryType, WalletEntry

SMALL = {"customers": 40, "months": 4}


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoSummary]:
    db = tmp_path_factory.mktemp("demo") / "first.sqlite"
    return db, run_demo(db, seed=7, **SMALL)


def stored(db: Path) -> tuple[list[Customer], list[Subscription], list[Invoice], list[CreditNote]]:
    with SqlStore(str(db)) as store, store.begin() as uow:
        return uow.find(Customer), uow.find(Subscription), uow.find(Invoice), uow.find(CreditNote)


def section(text: str, title: str) -> list[str]:
    """The lines under a heading, up to the next blank line."""
    lines = text.splitlines()
    start = lines.index(title) + 1
    end = lines.index("", start) if "" in lines[start:] else len(lines)
    return lines[start:end]


def money(minor: int, currency: str, locale: str = "en_US") -> str:
    return str(format_money(from_minor(minor, currency), locale))


def test_same_seed_same_bytes_other_seed_other_story(first: tuple[Path, DemoSummary], tmp_path: Path) -> None:
    _, summary = first
    again = run_demo(tmp_path / "again.sqlite", seed=7, **SMALL)
    assert again.render().encode() == summary.render().encode()
    assert again == summary
    other = run_demo(tmp_path / "other.sqlite", seed=8, **SMALL)
    assert other.render() != summary.render()


def test_the_summary_has_every_section(first: tuple[Path, DemoSummary]) -> None:
    text = first[1].render()
    assert text.startswith("subkit demo: 40 customers over 4 months from 2026-01-01 (seed 7)\n")
    for title in (
        "Customers",
        "Subscriptions by status",
        "Activity",
        "Invoices by currency",
        "Month by month (amounts invoiced)",
    ):
        assert title in text.splitlines(), title
    captions = re.findall(r"^Sample invoice \d: (.*)$", text, re.MULTILINE)
    assert captions[0] in ("an upgrade, prorated", "a seat change, prorated")
    assert captions[1:] == [
        "a discounted invoice",
        "a renewal with metered usage",
        "storage by the GB-month, paid with prepaid credits",
    ]
    months = section(text, "Month by month (amounts invoiced)")
    assert [row.split()[0] for row in months] == [
        "Month",
        "2026-01",
        "2026-02",
        "2026-03",
        "2026-04",
        "Total",
    ]


def test_currency_totals_match_the_invoices_in_the_store(first: tuple[Path, DemoSummary]) -> None:
    db, summary = first
    _, _, invoices, notes = stored(db)
    rows = {r.split()[0]: r.split() for r in section(summary.render(), "Invoices by currency")[1:]}
    assert sorted(rows) == sorted(CURRENCIES)
    for cur in CURRENCIES:
        mine = [i for i in invoices if i.currency == cur]
        assert mine, f"the demo bills in {cur}"
        count, subtotal, discounts, total, credited = rows[cur][1:]
        assert int(count.replace(",", "")) == len(mine)
        assert subtotal == money(sum(i.subtotal_minor for i in mine), cur)
        assert discounts == money(-sum(i.discount_minor for i in mine), cur)
        assert total == money(sum(i.total_minor for i in mine), cur)
        assert credited == money(-sum(n.amount_minor for n in notes if n.currency == cur), cur)
    assert f"Invoices: {len(invoices):,} issued" in summary.render()


def test_month_by_month_adds_up(first: tuple[Path, DemoSummary]) -> None:
    db, summary = first
    _, subs, invoices, _ = stored(db)
    assert sum(m.invoices for m in summary.monthly) == len(invoices)
    assert sum(m.new_subscriptions for m in summary.monthly) == len(subs)
    assert sum(m.cancellations for m in summary.monthly) == sum(1 for s in subs if s.ended_at is not None)
    march = [i for i in invoices if i.created_at.astimezone(UTC).strftime("%Y-%m") == "2026-03"]
    row = next(
        r for r in section(summary.render(), "Month by month (amounts invoiced)") if r.split()[0] == "2026-03"
    )
    for n, cur in enumerate(CURRENCIES):
        assert row.split()[4 + n] == money(sum(i.total_minor for i in march if i.currency == cur), cur)


def test_counts_by_status_match_the_store(first: tuple[Path, DemoSummary]) -> None:
    db, summary = first
    customers, subs, invoices, _ = stored(db)
    assert summary.customers == len(customers) == 40
    expected = {s.value: 0 for s in SubscriptionStatus} | Counter(s.status.value for s in subs)
    assert dict(summary.subscriptions_by_status) == expected
    assert sum(n for _, n in summary.customers_by_state) == len(customers)
    assert dict(summary.invoices_by_status) == dict(Counter(i.status.value for i in invoices))
    assert dict(summary.activity)["signups"] == len(customers)


def test_sample_invoices_are_real_invoices_in_their_customers_locale(first: tuple[Path, DemoSummary]) -> None:
    db, summary = first
    customers, _, invoices, _ = stored(db)
    by_number = {i.number: i for i in invoices}
    currencies = set()
    for _, text in summary.samples:
        number = re.match(r"Invoice (INV-\d+) \((in_\d+)\)", text)
        assert number, text
        inv = by_number[number.group(1)]
        assert inv.id == number.group(2)
        customer = next(c for c in customers if c.id == inv.customer_id)
        assert f"Customer: {customer.name} ({customer.id}), {inv.currency}, {customer.locale}" in text
        total = next(line for line in text.splitlines() if line.strip().startswith("Total "))
        assert total.strip().removeprefix("Total").strip() == money(
            inv.total_minor, inv.currency, customer.locale
        )
        assert len(text.splitlines()) >= 3 + 1 + len(inv.lines) + 3  # head, columns, lines, totals
        currencies.add(inv.currency)
    upgrade = by_number[re.findall(r"INV-\d+", summary.samples[0][1])[0]]
    amounts = [ln.amount_minor for ln in upgrade.lines if ln.kind == LineKind.PRORATION]
    assert min(amounts) < 0 < max(amounts)  # a credit for the old plan, a charge for the new one
    assert len(currencies) > 1


def test_the_demo_refuses_a_store_with_data(first: tuple[Path, DemoSummary]) -> None:
    db, _ = first
    before = stored(db)
    with pytest.raises(StateError, match="already holds subkit data"):
        run_demo(db, customers=2, months=1)
    assert stored(db) == before


def test_progress_is_reported_day_by_day(tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    run_demo(tmp_path / "p.sqlite", customers=2, months=1, start=datetime(2026, 2, 1, tzinfo=UTC),
             progress=lambda done, total: seen.append((done, total)))  # fmt: skip
    assert seen == [(d, 28) for d in range(1, 29)]


def test_bad_arguments_are_validation_errors(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        run_demo(tmp_path / "x.sqlite", months=0)
    with pytest.raises(ValidationError):
        run_demo(tmp_path / "y.sqlite", start=datetime(2026, 1, 1))  # naive


@pytest.mark.slow
def test_default_size_exercises_every_capability(tmp_path: Path) -> None:
    summary = run_demo(tmp_path / "full.sqlite")
    activity = dict(summary.activity)
    idle = [k for k, n in activity.items() if n == 0 and k not in ("refused", "billing_errors")]
    assert idle == [], f"the default demo never did: {idle}"
    assert activity["refused"] == 0 and activity.get("billing_errors", 0) == 0
    assert summary.customers == 300 and len(summary.monthly) == 12
    # Payments are optional (subkit.services.collector); when wired, every part of them is exercised too.
    assert [k for k, n in summary.payments if n == 0] == []


def test_the_integration_step_delivers_signed_webhooks_and_reads_the_audit_trail(
    first: tuple[Path, DemoSummary],
) -> None:
    from subkit.core.audit import AuditEntry
    from subkit.services.webhooks import Delivery

    db, summary = first
    text = summary.render()
    lines = section(text, "Integrations (portal, signed webhooks, audit trail)")
    assert (
        "Webhooks: 2 delivered to https://crm.example/subkit, 2 signatures verified by the receiver" in text
    )
    with SqlStore(str(db)) as store, store.begin() as uow:
        deliveries = uow.find(Delivery, status="delivered")
        sub_id = re.search(r"cancellation of (sub_\d+)", lines[0]).group(1)  # type: ignore[union-attr]
        entries = uow.find(AuditEntry, subscription_id=sub_id)
        sub = uow.get(Subscription, sub_id)
    assert [d.event_type for d in deliveries] == ["subscription.cancel_scheduled", "subscription.reactivated"]
    assert [(e.action, e.actor.kind, e.reason) for e in entries] == [
        ("subscription.cancel_scheduled", "customer", "trying another tool"),
        ("subscription.reactivated", "customer", ""),
    ]
    assert not sub.cancel_at_period_end  # the customer kept it: the year's figures are unchanged


# Standard rates in 2026 (EC TEDB for the EU, HMRC, CRA, NY DTF), in percent; 0 where the seller
# collects nothing (Japan, California: no SaaS tax) or the customer reverse-charges.
DEMO_TAX = {
    "DE:standard": 19, "FR:standard": 20, "ES:standard": 21, "NL:standard": 21, "IE:standard": 23,
    "GB:standard": 20, "CA-ON:standard": 13, "US-NY:standard": 4,
    "DE:reverse_charge": 0, "JP:out_of_scope": 0, "US-CA:out_of_scope": 0,
}  # fmt: skip


def test_every_invoice_carries_the_tax_of_its_market(first: tuple[Path, DemoSummary]) -> None:
    db, summary = first
    customers, _, invoices, notes = stored(db)
    by_id = {c.id: c for c in customers}
    place = {"US": {"New York": "US-NY", "San Francisco": "US-CA"}, "CA": {"Toronto": "CA-ON"}}
    seen = set()
    for inv in invoices:
        cus = by_id[inv.customer_id]
        assert cus.address is not None
        where = place.get(cus.country, {}).get(cus.address.city, cus.country)
        assert inv.seller_tax_id is not None and inv.tax_notes[-1].startswith(f"Place of supply: {where}")
        for ln in inv.lines:
            assert ln.tax_code is not None and ln.tax_code.startswith(f"{where}:")
            pct = DEMO_TAX[ln.tax_code]
            # Half-up to the minor unit, by hand: net x pct / 100.
            assert ln.tax_minor == int(
                (Decimal(ln.net_minor) * pct / 100).quantize(Decimal(1), ROUND_HALF_UP)
            )
            seen.add(ln.tax_code)
        assert inv.tax_minor == sum(ln.tax_minor for ln in inv.lines)
        assert inv.total_minor == inv.subtotal_minor - inv.discount_minor + inv.tax_minor
        if inv.lines[0].tax_code == "DE:reverse_charge":
            assert inv.customer_tax_id == "DE136695976" and any("Reverse charge" in n for n in inv.tax_notes)
    assert {"DE:standard", "FR:standard", "GB:standard", "US-NY:standard"} <= seen
    assert sum(n.tax_minor for n in notes) > 0  # the service credits gave tax back too
    rows = section(summary.render(), "Tax by jurisdiction")[1:]
    assert {r.split()[0] for r in rows} == {ln.tax_code for i in invoices for ln in i.lines}


def test_other_currencies_lock_a_rate_and_report_in_usd(first: tuple[Path, DemoSummary]) -> None:
    db, summary = first
    customers, _, invoices, _ = stored(db)
    # ECB reference rates of 31 Dec 2025 (per euro): USD 1.1750, GBP 0.8726, JPY 184.09.
    # In USD per unit: EUR 1.175, GBP 1.175 / 0.8726 = 1.346550538..., JPY 1.175 / 184.09 = 0.0063827...
    prefixes = {"EUR": "1.175", "GBP": "1.3465505386", "JPY": "0.0063827475691"}
    for inv in invoices:
        if inv.currency == "USD":
            assert (inv.fx_rate, inv.reporting_currency) == (None, None)
        else:
            assert (inv.reporting_currency, inv.fx_rate_source) == ("USD", "ECB 2025-12-31")
            assert str(inv.fx_rate).startswith(prefixes[inv.currency]), (inv.currency, inv.fx_rate)
            assert (
                inv.finalized_at is not None and inv.fx_rate_date == inv.finalized_at.astimezone(UTC).date()
            )
    heading = "Reported in USD (each invoice at its locked rate)"
    rows = {r.split()[0]: r.split()[1] for r in section(summary.render(), heading)[1:]}

    def in_usd(eur_cents: int) -> int:
        """x 1.175, rounded half up (away from zero) once: 123.00 EUR = 144.525 -> 144.53 USD."""
        q, r = divmod(abs(eur_cents) * 1175, 1000)
        q += r >= 500
        return q if eur_cents >= 0 else -q

    assert rows["EUR"] == money(sum(in_usd(i.total_minor) for i in invoices if i.currency == "EUR"), "USD")
    assert rows["USD"] == money(sum(i.total_minor for i in invoices if i.currency == "USD"), "USD")
    text = summary.render()
    converted = text.split("Converted invoice: ")[1].split("\n\n")[0]
    assert converted.startswith("an invoice in ")
    assert re.search(r"(Exchange rate|Wechselkurs|Taux de change): 1 (EUR|GBP|JPY) = ", text)
    assert summary.converted is not None and len(customers) == 40


def test_the_demo_ends_with_the_revenue_waterfall_and_roll_forward(first: tuple[Path, DemoSummary]) -> None:
    db, summary = first
    text = summary.render()
    assert text.splitlines()[-1].lstrip().startswith("Total")  # the waterfall is the last table
    assert "Revenue recognition (ASC 606 / IFRS 15: ratable by day, books in UTC)" in text
    rev = summary.revenue
    assert rev is not None and rev.currency == "USD"
    _, _, invoices, notes = stored(db)
    end = summary.end
    digits = {"USD": 2, "EUR": 2, "GBP": 2, "JPY": 0}

    def in_usd_cents(inv: Invoice, minor: int) -> int:
        # The locked-rate rule, by hand: minor / 10**digits x rate, in cents, rounded half up once.
        if inv.currency == "USD":
            return minor
        assert inv.fx_rate is not None and inv.reporting_currency == "USD"
        exact = Decimal(minor) / Decimal(10) ** digits[inv.currency] * inv.fx_rate * 100
        return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))

    # Every invoice is kept in the books' currency, USD, at the rate locked on it: one roll-forward.
    assert [r[0] for r in rev.rollforward] == ["USD"]
    for _cur, opening, billed, recognized, reversed_, closing in rev.rollforward:
        mine = [i for i in invoices if i.finalized_at is not None and i.finalized_at < end]
        # Billed is every finalized invoice's net of tax; nothing existed before the run.
        assert opening == 0
        # Deferred revenue is converted per obligation (invoice line), each rounded once.
        assert billed == sum(in_usd_cents(i, ln.net_minor) for i in mine for ln in i.lines)
        assert closing == opening + billed - recognized - reversed_ >= 0
        credited = sum(in_usd_cents(next(i for i in invoices if i.id == n.invoice_id), n.amount_minor)
                       for n in notes)  # fmt: skip
        # a voided invoice (an incomplete subscription that expired) reverses what it deferred
        voided = sum(in_usd_cents(i, ln.net_minor) for i in mine if i.status == "void" for ln in i.lines)
        assert 0 <= reversed_ <= credited + voided
    usd = next(r for r in rev.rollforward if r[0] == "USD")
    # The waterfall books what the roll-forward bills and recognizes what leaves deferred revenue.
    assert sum(b for _, b, _ in rev.waterfall) == usd[2]
    assert len(rev.months) == summary.months and sum(rev.recognized) == usd[3]


def test_metered_storage_and_prepaid_credits(first: tuple[Path, DemoSummary]) -> None:
    """The usage-based part: GB-month lines per region, events counted once, credits used, never negative."""
    db, summary = first
    activity = dict(summary.activity)
    assert activity["storage_events"] > 0 and activity["storage_duplicates"] > 0
    assert activity["wallet_grants"] == 6  # three founders, a promotional and a purchased grant each
    with SqlStore(str(db)) as store, store.begin() as uow:
        invoices = uow.find(Invoice)
        entries = uow.find(WalletEntry)
    storage = [
        ln for i in invoices for ln in i.lines if ln.plan_id == "storage" and ln.kind == LineKind.USAGE
    ]
    assert storage and all("GB-month, region" in ln.description for ln in storage)
    used = [i for i in invoices if i.prepaid_applied_minor > 0]
    assert used and all(
        i.amount_due_minor == max(i.total_minor - i.credit_applied_minor - i.prepaid_applied_minor, 0)
        for i in used
    )
    assert all(e.balance_minor >= 0 for e in entries)
    consumed = -sum(e.amount_minor for e in entries if e.type == EntryType.CONSUME)
    assert consumed == sum(i.prepaid_applied_minor for i in used)


def test_the_year_ends_with_its_analytics_and_charts(first: tuple[Path, DemoSummary]) -> None:
    from subkit.core.clock import TestClock
    from subkit.services.analytics import Analytics
    from subkit.services.context import ServiceContext

    db, summary = first
    text = summary.render()
    rows = section(text, "Subscription analytics at 2026-05-01 (MRR from invoices; churn and NRR per month)")
    assert rows[0].split()[:4] == ["Currency", "MRR", "ARR", "Customers"]
    # the demo reports in USD: one book, every other currency at its invoices' locked rates
    (usd,) = summary.analytics
    assert usd.currency == "USD" and rows[1].split()[0] == "USD"
    assert money(usd.mrr_minor, "USD") in rows[1] and money(12 * usd.mrr_minor, "USD") in rows[1]
    assert usd.nrr is not None and usd.logo_churn is not None
    _, subs, _, _ = stored(db)
    live = {
        s.customer_id
        for s in subs
        if s.status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID)
    }
    assert 0 < usd.customers <= len(live)
    # Cross-check: each currency's own book, converted by hand at the ECB rates of 31 Dec 2025
    # (USD per unit: EUR 1.175, GBP 1.175 / 0.8726, JPY 1.175 / 184.09), sums to the USD book,
    # within half a cent per subscription (the USD book rounds each subscription once).
    rate = {
        "USD": Decimal(1),
        "EUR": Decimal("1.175"),
        "GBP": Decimal("1.175") / Decimal("0.8726"),
        "JPY": Decimal("1.175") / Decimal("184.09"),
    }
    digits = {"USD": 2, "EUR": 2, "GBP": 2, "JPY": 0}
    end = datetime(2026, 5, 1, tzinfo=UTC)
    with SqlStore(str(db)) as store:
        ctx = ServiceContext(store, TestClock(end))
        by_hand = Decimal(0)
        paying = 0
        for cur in CURRENCIES:
            own = Analytics(ctx, currency=cur).snapshot(end)
            by_hand += Decimal(own.mrr_minor) * rate[cur] * Decimal(10) ** (2 - digits[cur])
            paying += own.subscriptions
        booked = Analytics(ctx, reporting_currency="USD").snapshot(end)
    assert booked.mrr_minor > 0 and abs(booked.mrr_minor - by_hand) <= Decimal(paying) / 2 + len(CURRENCIES)
    # the charts sit next to the database, at their size
    # the revenue waterfall is drawn from the demo's own revenue section (USD, like the book)
    assert summary.revenue is not None and summary.revenue.currency == "USD"
    assert summary.charts == ("analytics-mrr.png", "analytics-cohorts.png", "analytics-revenue.png")
    for name in summary.charts:
        data = (db.parent / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert data[16:24] == (800).to_bytes(4, "big") + (450).to_bytes(4, "big")
    assert f"  charts (USD) next to the database: {', '.join(summary.charts)}" in text.splitlines()
