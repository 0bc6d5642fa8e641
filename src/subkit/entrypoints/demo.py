"""A year of a small SaaS, simulated on an embedded SQLite file: ``subkit demo``.

:func:`run_demo` builds a catalog (Basic, Pro per seat, Enterprise with graduated
seats, and a metered API-calls add-on, priced in USD, EUR, GBP and JPY), then drives
a :class:`~subkit.services.engine.BillingEngine` on a :class:`~subkit.core.clock.TestClock`
advanced day by day. Customers in eight countries sign up over the year and live
their lives: trials, coupons (once, repeating, forever) and a promotion code,
upgrades with proration, downgrades at period end, seat changes, metered usage,
one-off charges, pauses, cancellations (now and at period end), reactivations,
win-backs, a mid-year price increase, service credits (credit notes) and, when
:mod:`subkit.services.collector` is installed, card payments with a few declines.

Everything random comes from one ``random.Random(seed)`` and ids from a counter, so
the same arguments give a byte-identical :meth:`DemoSummary.render`.

Example:
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     summary = run_demo(pathlib.Path(tmp) / "demo.sqlite", customers=6, months=2, seed=1)
    >>> summary.customers, summary.invoice_count > 0
    (6, True)
    >>> "Month by month" in summary.render()
    True
"""

from __future__ import annotations

import heapq
import itertools
import os
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal
from dateutil.relativedelta import relativedelta

from subkit.catalog.catalog import Catalog, Plan, PlanKind, Product
from subkit.catalog.pricing import FlatFee, Graduated, Package, PerUnit, Tier
from subkit.core.clock import TestClock
from subkit.core.events import EventType
from subkit.core.money import format_money, from_minor, minor_to_decimal
from subkit.core.periods import zone
from subkit.customer.customer import Address, Customer
from subkit.errors import CouponError, StateError, ValidationError
from subkit.invoice.discounts import Coupon, PromotionCode
from subkit.invoice.invoice import CreditNote, Invoice, InvoiceStatus, LineKind
from subkit.ports import Store
from subkit.services.engine import BillingConfig, BillingEngine
from subkit.subscription.model import LIVE, Subscription, SubscriptionStatus
from subkit.subscription.proration import Granularity, ProrationBehavior

__all__ = ["DEFAULT_START", "CurrencyTotals", "DemoSummary", "MonthRow", "format_invoice", "run_demo"]

#: Where the simulated year starts by default.
DEFAULT_START = datetime(2026, 1, 1, tzinfo=UTC)
#: The currencies the demo sells in, in display order.
CURRENCIES = ("USD", "EUR", "GBP", "JPY")

Progress = Callable[[int, int], None]


# --------------------------------------------------------------------------- the business
def demo_catalog() -> Catalog:
    """The demo's catalog: three tiers, a metered add-on, four currencies.

    Example:
        >>> cat = demo_catalog()
        >>> [p.id for p in cat.plans]
        ['basic', 'pro', 'enterprise', 'api_calls']
        >>> cat.plan("enterprise").price("USD").amount(12)  # 200 + 10 x 40 + 2 x 32
        Decimal('664')
    """

    def graduated(flat: str, first: str, second: str, rest: str) -> Graduated:
        return Graduated(
            tiers=(
                Tier(up_to=10, unit_price=first, flat_price=flat),
                Tier(up_to=50, unit_price=second),
                Tier(up_to=None, unit_price=rest),
            )
        )

    def calls(price: str) -> Package:
        return Package(package_size=10_000, package_price=price, free_units=10_000)

    return Catalog(
        currencies=CURRENCIES,
        products=(
            Product(id="app", name="Acme Cloud", description="The app"),
            Product(id="api", name="Acme API", description="Programmatic access"),
        ),
        plans=(
            Plan(
                id="basic",
                product_id="app",
                name="Basic",
                tier="Basic",
                prices={
                    "USD": FlatFee(price="19"),
                    "EUR": FlatFee(price="18"),
                    "GBP": FlatFee(price="15"),
                    "JPY": FlatFee(price="2800"),
                },
                entitlements={"seats": 1, "sso": False},
            ),
            Plan(
                id="pro",
                product_id="app",
                name="Pro",
                tier="Pro",
                prices={
                    "USD": PerUnit(unit_price="12"),
                    "EUR": PerUnit(unit_price="11"),
                    "GBP": PerUnit(unit_price="9.50"),
                    "JPY": PerUnit(unit_price="1800"),
                },
                entitlements={"seats": None, "sso": False},
            ),
            Plan(
                id="enterprise",
                product_id="app",
                name="Enterprise",
                tier="Enterprise",
                setup_fee={
                    "USD": Decimal(500),
                    "EUR": Decimal(450),
                    "GBP": Decimal(400),
                    "JPY": Decimal(75000),
                },
                prices={
                    "USD": graduated("200", "40", "32", "25"),
                    "EUR": graduated("190", "37", "30", "23"),
                    "GBP": graduated("160", "32", "26", "20"),
                    "JPY": graduated("30000", "6000", "4800", "3700"),
                },
                entitlements={"seats": None, "sso": True},
            ),
            Plan(
                id="api_calls",
                product_id="api",
                name="API calls",
                kind=PlanKind.ADDON,
                metric="api_calls",
                prices={"USD": calls("5"), "EUR": calls("4.50"), "GBP": calls("4"), "JPY": calls("750")},
            ),
        ),
    )


def _price_increase(catalog: Catalog, at: datetime) -> Catalog:
    """Basic v2, about 10% dearer, for subscriptions started from ``at``."""
    old = catalog.plan("basic")
    prices = {
        "USD": FlatFee(price="21"),
        "EUR": FlatFee(price="20"),
        "GBP": FlatFee(price="17"),
        "JPY": FlatFee(price="3100"),
    }
    new = old.model_copy(update={"version": old.version + 1, "effective_from": at, "prices": prices})
    return catalog.publish(Plan.model_validate(new.model_dump()))


def _coupons(start: datetime, end: datetime) -> tuple[list[Coupon], list[PromotionCode]]:
    promo_until = start + (end - start) * 3 // 4
    coupons = [
        Coupon(id="LAUNCH20", name="Launch: 20% off the first month", percent_off="20", duration="once"),
        Coupon(
            id="QUARTER15",
            name="15% off for 3 months",
            percent_off="15",
            duration="repeating",
            duration_cycles=3,
        ),
        Coupon(id="NONPROFIT30", name="Non-profit: 30% off forever", percent_off="30", duration="forever"),
        Coupon(
            id="WELCOME",
            name="Welcome credit",
            amount_off={"USD": "10", "EUR": "9", "GBP": "8", "JPY": "1200"},
            duration="once",
        ),
        Coupon(id="STAY50", name="Please stay: 50% off next month", percent_off="50", duration="once"),
    ]
    codes = [PromotionCode(id="WELCOME10", coupon_id="WELCOME", expires_at=promo_until)]
    return coupons, codes


@dataclass(frozen=True, slots=True)
class _Market:
    country: str
    currency: str
    locale: str
    timezone: str
    city: str
    suffixes: tuple[str, ...]
    weight: int


_MARKETS = (
    _Market("US", "USD", "en_US", "America/New_York", "New York", ("Inc.", "LLC"), 22),
    _Market("US", "USD", "en_US", "America/Los_Angeles", "San Francisco", ("Inc.", "Labs"), 12),
    _Market("GB", "GBP", "en_GB", "Europe/London", "London", ("Ltd",), 15),
    _Market("DE", "EUR", "de_DE", "Europe/Berlin", "Berlin", ("GmbH", "AG"), 14),
    _Market("FR", "EUR", "fr_FR", "Europe/Paris", "Paris", ("SAS", "SARL"), 10),
    _Market("ES", "EUR", "es_ES", "Europe/Madrid", "Madrid", ("S.L.",), 6),
    _Market("NL", "EUR", "nl_NL", "Europe/Amsterdam", "Amsterdam", ("B.V.",), 5),
    _Market("IE", "EUR", "en_IE", "Europe/Dublin", "Dublin", ("Ltd",), 4),
    _Market("JP", "JPY", "ja_JP", "Asia/Tokyo", "Tokyo", ("K.K.",), 12),
)
_FIRST = (
    "Blue", "Bright", "Cedar", "Copper", "Delta", "Fable", "Granite", "Harbor", "Iris", "Juniper",
    "Kite", "Lumen", "Maple", "Nimbus", "Orbit", "Pine", "Quartz", "River", "Summit", "Tidal",
)  # fmt: skip
_SECOND = (
    "Analytics", "Bakery", "Studio", "Robotics", "Logistics", "Health", "Media", "Foods",
    "Systems", "Design", "Ventures", "Works", "Energy", "Travel", "Learning", "Security",
)  # fmt: skip
_ONBOARDING = {"USD": "300", "EUR": "280", "GBP": "240", "JPY": "45000"}

#: Activity counters in display order, with their labels.
_ACTIVITY = (
    ("signups", "Sign-ups"),
    ("trials", "  with a trial"),
    ("coupons", "  with a coupon"),
    ("promo_codes", "  with promotion code WELCOME10"),
    ("promo_refused", "  promotion code refused (expired)"),
    ("addons", "  with the API-calls add-on"),
    ("upgrades", "Upgrades (prorated now)"),
    ("downgrades", "Downgrades (at period end)"),
    ("seat_changes", "Seat changes"),
    ("usage_events", "Usage events recorded"),
    ("usage_duplicates", "  duplicate usage events ignored"),
    ("one_offs", "One-off charges (onboarding)"),
    ("pauses", "Pauses"),
    ("resumes", "Resumes"),
    ("cancel_now", "Cancellations, immediate"),
    ("cancel_prorated", "  with a prorated credit"),
    ("cancel_period_end", "Cancellations at period end"),
    ("reactivations", "Reactivations"),
    ("retention", "Retention offers accepted (STAY50)"),
    ("winbacks", "Win-backs (new subscription)"),
    ("price_changes", "Catalog versions published"),
    ("credit_notes", "Credit notes (service credits)"),
    ("refused", "Operations refused by the engine"),
    ("billing_errors", "Subscriptions the billing run could not bill"),
)


# --------------------------------------------------------------------------- the summary
@dataclass(frozen=True, slots=True)
class CurrencyTotals:
    """Invoice totals in one currency, in minor units.

    Example:
        >>> CurrencyTotals("USD", 2, 3000, 500, 2500, 0).total_minor
        2500
    """

    currency: str
    invoices: int
    subtotal_minor: int
    discount_minor: int
    total_minor: int
    credited_minor: int


@dataclass(frozen=True, slots=True)
class MonthRow:
    """One month of the demo: new subscriptions, cancellations, invoices, billed per currency.

    Example:
        >>> MonthRow("2026-01", 3, 0, 4, (("USD", 5700),)).billed_minor("USD")
        5700
    """

    month: str
    new_subscriptions: int
    cancellations: int
    invoices: int
    billed: tuple[tuple[str, int], ...]

    def billed_minor(self, currency: str) -> int:
        """Total invoiced in ``currency`` this month (minor units)."""
        return dict(self.billed).get(currency, 0)


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """What a demo run produced, read back from the store; :meth:`render` prints it.

    Example:
        >>> s = DemoSummary(seed=1, customers=0, months=1, start=DEFAULT_START,
        ...                 end=DEFAULT_START + timedelta(days=31), days=31)
        >>> s.render().splitlines()[0]
        'subkit demo: 0 customers over 1 months from 2026-01-01 (seed 1)'
    """

    seed: int
    customers: int
    months: int
    start: datetime
    end: datetime
    days: int
    customers_by_market: tuple[tuple[str, int], ...] = ()
    customers_by_state: tuple[tuple[str, int], ...] = ()
    subscriptions_by_status: tuple[tuple[str, int], ...] = ()
    cancel_scheduled: int = 0
    activity: tuple[tuple[str, int], ...] = ()
    invoices_by_status: tuple[tuple[str, int], ...] = ()
    currency_totals: tuple[CurrencyTotals, ...] = ()
    samples: tuple[tuple[str, str], ...] = ()
    monthly: tuple[MonthRow, ...] = ()
    payments: tuple[tuple[str, int], ...] = ()

    @property
    def invoice_count(self) -> int:
        """Invoices issued in all currencies."""
        return sum(t.invoices for t in self.currency_totals)

    def render(self) -> str:
        """The summary as plain text (amounts with babel, sample invoices in their customer's locale)."""
        out: list[str] = []
        add = out.append
        add(
            f"subkit demo: {self.customers} customers over {self.months} months "
            f"from {self.start.date().isoformat()} (seed {self.seed})"
        )
        add(f"Simulated {self.days} days, {self.start.isoformat()} to {self.end.isoformat()}")
        add("")
        add("Customers")
        add(_pairs(self.customers_by_state))
        add("  by market: " + ", ".join(f"{k} {v}" for k, v in self.customers_by_market))
        add("")
        add("Subscriptions by status")
        add(_pairs(self.subscriptions_by_status))
        add(f"  set to cancel at period end: {self.cancel_scheduled}")
        add("")
        add("Activity")
        width = max((len(label) for _, label in _ACTIVITY), default=0)
        counts = dict(self.activity)
        for key, label in _ACTIVITY:
            add(f"  {label:<{width}}  {counts.get(key, 0):>6,}")
        if self.payments:
            add("")
            add("Payments (cards on a FakeGateway, dunning, transfers)")
            pw = max(len(k) for k, _ in self.payments)
            for key, n in self.payments:
                add(f"  {key.capitalize():<{pw}}  {n:>6,}")
        add("")
        add(f"Invoices: {self.invoice_count:,} issued")
        add(_pairs(self.invoices_by_status))
        add("")
        add("Invoices by currency")
        header = ("Currency", "Invoices", "Subtotal", "Discounts", "Total invoiced", "Credit notes")
        rows = [
            (
                t.currency,
                f"{t.invoices:,}",
                _fmt(t.subtotal_minor, t.currency),
                _fmt(-t.discount_minor, t.currency),
                _fmt(t.total_minor, t.currency),
                _fmt(-t.credited_minor, t.currency),
            )
            for t in self.currency_totals
        ]
        out.extend(_table(header, rows))
        for n, (caption, text) in enumerate(self.samples, 1):
            add("")
            add(f"Sample invoice {n}: {caption}")
            out.extend("  " + line for line in text.splitlines())
        add("")
        add("Month by month (amounts invoiced)")
        mheader = ("Month", "New subs", "Cancellations", "Invoices", *CURRENCIES)
        mrows = [
            (
                m.month,
                f"{m.new_subscriptions:,}",
                f"{m.cancellations:,}",
                f"{m.invoices:,}",
                *(_fmt(m.billed_minor(c), c) for c in CURRENCIES),
            )
            for m in self.monthly
        ]
        mrows.append(
            (
                "Total",
                f"{sum(m.new_subscriptions for m in self.monthly):,}",
                f"{sum(m.cancellations for m in self.monthly):,}",
                f"{sum(m.invoices for m in self.monthly):,}",
                *(_fmt(sum(m.billed_minor(c) for m in self.monthly), c) for c in CURRENCIES),
            )
        )
        out.extend(_table(mheader, mrows))
        return "\n".join(out) + "\n"


def _fmt(minor: int, currency: str, locale: str = "en_US") -> str:
    return str(format_money(from_minor(minor, currency), locale))


def _pairs(pairs: Sequence[tuple[str, int]]) -> str:
    return "  " + ", ".join(f"{k}: {v:,}" for k, v in pairs)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Left-aligned first column, right-aligned others."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(r: Sequence[str]) -> str:
        cells = [r[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True))]
        return "  " + "  ".join(cells).rstrip()

    return [line(header), *(line(r) for r in rows)]


def format_invoice(invoice: Invoice, customer: Customer) -> str:
    """An invoice as text: amounts and dates in the customer's locale and time zone.

    Example:
        >>> from datetime import datetime, UTC
        >>> from subkit.invoice.invoice import InvoiceLine, LineKind
        >>> cus = Customer(id="cus_1", name="Ada Ltd", currency="GBP", locale="en_GB",
        ...                timezone="Europe/London")
        >>> line = InvoiceLine.build("Pro × 3", LineKind.RECURRING, quantity=3, unit_amount="9.50",
        ...                          currency="GBP")
        >>> inv = Invoice.draft("in_1", "cus_1", "GBP", [line], at=datetime(2026, 3, 1, tzinfo=UTC))
        >>> print(format_invoice(inv.finalize("INV-000001", inv.created_at), cus))
        Invoice INV-000001 (in_1), open, reason: manual
        Customer: Ada Ltd (cus_1), GBP, en_GB, Europe/London
        Issued: 1 Mar 2026
          Description  Period  Qty  Amount  Discount
          Pro × 3                3  £28.50
          Subtotal                  £28.50
          Total                     £28.50
          Amount due                £28.50
    """
    loc = customer.locale
    tz = zone(customer.timezone)

    def day(at: datetime | None) -> str:
        return "" if at is None else str(format_date(at.astimezone(tz).date(), "medium", locale=loc))

    def money(minor: int) -> str:
        return _fmt(minor, invoice.currency, loc)

    def period(a: datetime | None, b: datetime | None) -> str:
        return f"{day(a)} – {day(b)}" if a is not None and b is not None else ""

    head = [
        f"Invoice {invoice.number or '(draft)'} ({invoice.id}), {invoice.status.value}, "
        f"reason: {invoice.billing_reason.value}",
        f"Customer: {customer.name} ({customer.id}), {invoice.currency}, {loc}, {customer.timezone}",
        f"Issued: {day(invoice.finalized_at or invoice.created_at)}"
        + (f"   Period: {period(invoice.period_start, invoice.period_end)}" if invoice.period_start else ""),
    ]

    def qty(q: Decimal) -> str:
        return str(format_decimal(q.normalize(), locale=loc))

    rows: list[tuple[str, ...]] = [
        (
            ln.description,
            period(ln.period_start, ln.period_end),
            qty(ln.quantity),
            money(ln.amount_minor),
            money(-ln.discount_minor) if ln.discount_minor else "",
        )
        for ln in invoice.lines
    ]
    totals: list[tuple[str, ...]] = [("Subtotal", "", "", money(invoice.subtotal_minor), "")]
    if invoice.discount_minor:
        totals.append(("Discount", "", "", money(-invoice.discount_minor), ""))
    if invoice.tax_minor:
        totals.append(("Tax", "", "", money(invoice.tax_minor), ""))
    totals.append(("Total", "", "", money(invoice.total_minor), ""))
    if invoice.credit_applied_minor:
        totals.append(("Credit balance applied", "", "", money(-invoice.credit_applied_minor), ""))
    if invoice.amount_credited_minor:
        totals.append(("Credit notes", "", "", money(-invoice.amount_credited_minor), ""))
    totals.append(("Amount due", "", "", money(invoice.amount_remaining_minor), ""))
    header = ("Description", "Period", "Qty", "Amount", "Discount")
    widths = [max(len(r[i]) for r in (header, *rows, *totals)) for i in range(len(header))]

    def line(r: tuple[str, ...]) -> str:
        cells = [
            r[0].ljust(widths[0]),
            r[1].ljust(widths[1]),
            *(c.rjust(w) for c, w in zip(r[2:], widths[2:], strict=True)),
        ]
        return "  " + "  ".join(cells).rstrip()

    return "\n".join([*head, line(header), *(line(r) for r in rows), *(line(r) for r in totals)])


# --------------------------------------------------------------------------- the simulation
@dataclass(order=True, slots=True)
class _Task:
    at: datetime
    seq: int
    kind: str = field(compare=False)
    args: tuple[Any, ...] = field(compare=False, default=())


class _Simulation:
    """The business's year: a queue of tasks run in time order on a TestClock."""

    def __init__(
        self,
        engine: BillingEngine,
        clock: TestClock,
        rng: random.Random,
        start: datetime,
        end: datetime,
        payments: _Payments | None = None,
    ) -> None:
        self.engine = engine
        self.payments = payments
        self.clock = clock
        self.rng = rng
        self.start = start
        self.end = end
        self.tasks: list[_Task] = []
        self.seq = itertools.count()
        self.counts: Counter[str] = Counter()
        self.winback_scheduled = False
        self.customer_ids: list[str] = []
        self.usage_seq = itertools.count(1)

    # -- plumbing ------------------------------------------------------------------------
    def chance(self, percent: int) -> bool:
        return self.rng.randrange(100) < percent

    def later(self, at: datetime, min_days: int, max_days: int) -> datetime:
        """A random instant between ``min_days`` and ``max_days`` days after ``at``."""
        return at + timedelta(days=self.rng.randint(min_days, max_days), seconds=self.rng.randrange(86_400))

    def schedule(self, at: datetime, kind: str, *args: Any) -> None:
        if at < self.end:
            heapq.heappush(self.tasks, _Task(at, next(self.seq), kind, args))

    def run_until(self, until: datetime) -> None:
        """Run every task before ``until``, each at its own instant after billing what is due."""
        while self.tasks and self.tasks[0].at < until:
            task = heapq.heappop(self.tasks)
            self.clock.travel_to(task.at)
            self.bill()
            try:
                getattr(self, f"_do_{task.kind}")(*task.args)
            except (StateError, ValidationError) as exc:
                # A real customer sometimes asks for something the engine rightly refuses.
                self.counts["refused"] += 1
                self.counts[f"refused:{exc.code}"] += 1
        self.clock.travel_to(until)
        self.bill()
        if self.payments is not None:
            self.payments.collect()

    def bill(self) -> None:
        """Bill everything due up to now (renewals, trial ends, scheduled changes, resumes)."""
        self.counts["billing_errors"] += len(self.engine.advance().errors)

    def sub(self, sub_id: str) -> Subscription:
        return self.engine.get_subscription(sub_id)

    # -- tasks ---------------------------------------------------------------------------
    def _do_signup(self) -> None:
        rng = self.rng
        market = _weighted(rng, _MARKETS)
        name = f"{rng.choice(_FIRST)} {rng.choice(_SECOND)} {rng.choice(market.suffixes)}"
        slug = "".join(ch for ch in name.lower() if ch.isalnum())[:24]
        customer = self.engine.create_customer(
            name=name,
            email=f"billing@{slug}.example",
            country=market.country,
            currency=market.currency,
            locale=market.locale,
            timezone=market.timezone,
            address=Address(city=market.city, country=market.country),
            metadata={"segment": "demo"},
        )
        self.customer_ids.append(customer.id)
        self.counts["signups"] += 1
        if self.payments is not None:
            pays = self.payments.onboard(customer)
            if pays == "hard":
                self.schedule(self.later(self.clock.now(), 2, 6), "new_card", customer.id)
            elif pays == "transfer":
                self.schedule(self.later(self.clock.now(), 5, 12), "transfer", customer.id)
        roll = rng.randrange(100)
        if roll < 45:
            plan, seats = "basic", 1
        elif roll < 85:
            plan, seats = "pro", rng.randint(2, 15)
        else:
            plan, seats = "enterprise", rng.randint(8, 60)
        self.start_subscription(customer, plan, seats, first=True)

    def start_subscription(self, customer: Customer, plan: str, seats: int, *, first: bool) -> None:
        rng, now = self.rng, self.clock.now()
        items: list[tuple[str, object]] = [(plan, seats)]
        addon = plan != "basic" and self.chance(45)
        if addon:
            items.append(("api_calls", 1))
            self.counts["addons"] += 1
        trial = 14 if first and self.chance(35) else 0
        coupon: str | None = None
        promo: str | None = None
        roll = rng.randrange(100)
        if first and roll < 8:
            coupon = "LAUNCH20"
        elif first and roll < 14:
            coupon = "QUARTER15"
        elif first and roll < 17:
            coupon = "NONPROFIT30"
        elif first and roll < 27:
            promo = "welcome10"  # codes are case-insensitive
        try:
            sub = self.engine.subscribe(
                customer.id, items=items, trial_days=trial, coupon=coupon, promotion_code=promo
            )
        except CouponError:
            self.counts["promo_refused"] += 1
            promo = None
            sub = self.engine.subscribe(customer.id, items=items, trial_days=trial)
        self.counts["trials"] += bool(trial)
        self.counts["coupons"] += bool(coupon)
        self.counts["promo_codes"] += bool(promo)
        if plan != "basic" and self.chance(10):
            self.engine.add_invoice_item(customer.id, "Onboarding workshop", _ONBOARDING[customer.currency])
            self.engine.invoice_now(customer.id)
            self.counts["one_offs"] += 1
        self.plan_life(sub, plan, seats, addon, now)

    def plan_life(self, sub: Subscription, plan: str, seats: int, addon: bool, now: datetime) -> None:
        """Decide what this subscription will do, and when."""
        if addon:
            self.schedule(self.later(now, 1, 4), "usage", sub.id)
        if plan == "basic" and self.chance(30):
            self.schedule(self.later(now, 10, 150), "upgrade", sub.id, "pro", self.rng.randint(2, 6))
        if plan == "pro" and self.chance(12):
            self.schedule(self.later(now, 30, 200), "downgrade", sub.id, "basic")
        if plan == "enterprise" and self.chance(15):
            self.schedule(self.later(now, 30, 200), "downgrade", sub.id, "pro")
        if plan != "basic":
            for _ in range(self.rng.randint(0, 3)):
                delta = self.rng.choice((-3, -2, -1, 1, 2, 3, 4, 5, 6))
                self.schedule(self.later(now, 5, 300), "seats", sub.id, delta)
        if self.chance(6):
            self.schedule(self.later(now, 30, 200), "pause", sub.id)
        if self.chance(22):
            self.schedule(self.later(now, 20, 330), "cancel", sub.id)

    def _do_usage(self, sub_id: str) -> None:
        sub = self.sub(sub_id)
        if sub.status == SubscriptionStatus.CANCELED:
            return
        if sub.status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE):
            event_id = f"evt_{sub_id}_{next(self.usage_seq):06d}"
            calls = self.rng.randint(1, 40) * 1000 + self.rng.randrange(1000)
            self.engine.record_usage(sub_id, "api_calls", calls, id=event_id)
            self.counts["usage_events"] += 1
            if self.chance(3):  # the client retried: same event id, counted once
                self.engine.record_usage(sub_id, "api_calls", calls, id=event_id)
                self.counts["usage_duplicates"] += 1
        self.schedule(self.later(self.clock.now(), 3, 6), "usage", sub_id)

    def _do_upgrade(self, sub_id: str, plan: str, seats: int) -> None:
        sub = self.sub(sub_id)
        if sub.status not in LIVE or sub.items[0].plan_id == plan:
            return
        proration = ProrationBehavior.ALWAYS_INVOICE if self.chance(50) else None
        self.engine.change_plan(sub_id, plan, quantity=seats, proration=proration)
        self.counts["upgrades"] += 1

    def _do_downgrade(self, sub_id: str, plan: str) -> None:
        sub = self.sub(sub_id)
        if sub.status not in LIVE or sub.cancel_at_period_end or sub.items[0].plan_id == plan:
            return
        quantity = 1 if plan == "basic" else None
        self.engine.change_plan(sub_id, plan, quantity=quantity, when="period_end")
        self.counts["downgrades"] += 1

    def _do_seats(self, sub_id: str, delta: int) -> None:
        sub = self.sub(sub_id)
        item = sub.items[0]
        if sub.status not in LIVE or item.plan_id == "basic":
            return
        self.engine.change_quantity(sub_id, max(item.quantity + delta, Decimal(1)))
        self.counts["seat_changes"] += 1

    def _do_pause(self, sub_id: str) -> None:
        sub = self.sub(sub_id)
        if sub.status != SubscriptionStatus.ACTIVE or sub.cancel_at_period_end:
            return
        resume_at = self.later(self.clock.now(), 20, 60)
        self.engine.pause(sub_id, resume_at=resume_at)  # the engine resumes it at resume_at
        self.counts["pauses"] += 1
        if resume_at <= self.end:
            self.counts["resumes"] += 1

    def _do_cancel(self, sub_id: str) -> None:
        sub = self.sub(sub_id)
        if sub.status not in LIVE or sub.cancel_at_period_end:
            return
        if sub.status == SubscriptionStatus.ACTIVE and self.chance(20):
            self.engine.apply_coupon(sub_id, "STAY50")
            self.counts["retention"] += 1
            return
        if self.chance(55):
            self.engine.cancel(sub_id, at_period_end=True)
            self.counts["cancel_period_end"] += 1
            if self.chance(35):  # changes their mind before the period ends
                now = self.clock.now()
                left = int((sub.period_end - now).total_seconds())
                self.schedule(now + timedelta(seconds=self.rng.randrange(max(left, 1))), "reactivate", sub_id)
            return
        prorate = self.chance(50)
        self.engine.cancel(sub_id, at_period_end=False, prorate=prorate)
        self.counts["cancel_now"] += 1
        self.counts["cancel_prorated"] += prorate
        # Some come back later; the first immediate cancellation always does, so that every
        # default demo shows a win-back whatever the seed.
        if self.chance(40) or not self.winback_scheduled:
            self.winback_scheduled = True
            self.schedule(self.later(self.clock.now(), 20, 90), "winback", sub.customer_id)

    def _do_reactivate(self, sub_id: str) -> None:
        sub = self.sub(sub_id)
        if sub.status == SubscriptionStatus.CANCELED or not sub.cancel_at_period_end:
            return
        self.engine.reactivate(sub_id)
        self.counts["reactivations"] += 1

    def _do_winback(self, customer_id: str) -> None:
        customer = self.engine.get_customer(customer_id)
        self.counts["winbacks"] += 1
        self.start_subscription(
            customer, self.rng.choice(("basic", "pro")), self.rng.randint(1, 5), first=False
        )

    def _do_new_card(self, customer_id: str) -> None:
        assert self.payments is not None
        self.payments.new_card(customer_id)

    def _do_transfer(self, customer_id: str) -> None:
        """A customer paying by bank transfer settles what is open, and will again in a few weeks."""
        assert self.payments is not None
        self.payments.transfer(customer_id)
        self.schedule(self.later(self.clock.now(), 20, 35), "transfer", customer_id)

    def _do_price_increase(self) -> None:
        self.engine.set_catalog(_price_increase(self.engine.catalog, self.clock.now()))
        self.counts["price_changes"] += 1

    def _do_outage(self) -> None:
        """A bad day: a few customers get 10% of their latest invoice back as a credit note."""
        if not self.customer_ids:
            return
        for customer_id in self.rng.sample(self.customer_ids, min(3, len(self.customer_ids))):
            invoices = [i for i in self.engine.invoices(customer_id) if i.total_minor > 0]
            if not invoices:
                continue
            inv = invoices[-1]
            share = inv.creditable_minor // 10
            if share <= 0:
                continue
            paid = self.payments is not None and inv.status == InvoiceStatus.PAID
            if paid and self.chance(50) and self.payments is not None and self.payments.refund(inv, share):
                self.counts["credit_notes"] += 1
                continue
            day = self.clock.now().date().isoformat()
            amount = minor_to_decimal(share, inv.currency)
            self.engine.issue_credit_note(inv.id, amount, reason=f"Service credit: outage on {day}")
            self.counts["credit_notes"] += 1


def _weighted(rng: random.Random, markets: Sequence[_Market]) -> _Market:
    roll = rng.randrange(sum(m.weight for m in markets))
    for m in markets:
        if roll < m.weight:
            return m
        roll -= m.weight
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass(frozen=True, slots=True)
class _Payments:
    """Hooks into payment collection (built by :func:`_payments` when it is installed)."""

    #: Give a new customer a card (or an invoice to pay by transfer); returns what the card will do.
    onboard: Callable[[Customer], str]
    #: The customer replaces a declined card (its open invoices are retried at once).
    new_card: Callable[[str], None]
    #: Settle a customer's open invoices by bank transfer; returns how many.
    transfer: Callable[[str], int]
    #: Refund part of a paid invoice through the gateway; ``False`` if it was not charged by card.
    refund: Callable[[Invoice, int], bool]
    #: Run the dunning schedule (retries, final actions) due now.
    collect: Callable[[], None]
    #: Counts for the summary.
    report: Callable[[], tuple[tuple[str, int], ...]]


def _payments(engine: BillingEngine, rng: random.Random, ids: Callable[[str], str]) -> _Payments | None:
    """Card payments through a ``FakeGateway``, with a few declines, when payments exist.

    The only place the demo touches payments: ``None`` (bill without collecting) when
    the payments capability is not installed.
    """
    try:
        from subkit.customer.customer import CollectionMethod
        from subkit.payment.results import PaymentStatus
        from subkit.services.collector import PaymentCollector
        from subkit.testing.gateway import FakeGateway, decline
    except ImportError:
        return None

    gateway = FakeGateway()
    collector = PaymentCollector(engine, gateway, ids=ids).attach()
    cards: Counter[str] = Counter()
    counts: Counter[str] = Counter()

    def card(customer_id: str) -> dict[str, object]:
        cards[customer_id] += 1
        token = f"tok_{customer_id}_{cards[customer_id]}"
        return {
            "type": "card",
            "token": token,
            "brand": rng.choice(("visa", "mastercard", "amex")),
            "last4": f"{rng.randrange(10_000):04d}",
            "exp_month": rng.randint(1, 12),
            "exp_year": rng.randint(2028, 2031),
        }

    def onboard(customer: Customer) -> str:
        roll = rng.randrange(100)
        if roll < 5:  # pays its invoices by bank transfer
            engine.update_customer(customer.id, collection_method=CollectionMethod.SEND_INVOICE)
            return "transfer"
        details = card(customer.id)
        token = str(details["token"])
        collector.add_payment_method(customer.id, details)
        if roll < 13:  # not enough funds today: the retry a day later succeeds
            gateway.script(decline("insufficient_funds"), token=token)
            return "soft"
        if roll < 16:  # a card reported stolen: no retry until the customer gives another card
            gateway.script(decline("stolen_card"), token=token)
            return "hard"
        if roll < 17:  # never pays: dunning runs out and cancels the subscription
            gateway.script(*(decline("insufficient_funds") for _ in range(8)), token=token)
            return "lost"
        return "ok"

    def new_card(customer_id: str) -> None:
        collector.add_payment_method(customer_id, card(customer_id), make_default=True)
        counts["new_cards"] += 1

    def transfer(customer_id: str) -> int:
        paid = 0
        for inv in engine.invoices(customer_id):
            if inv.status == InvoiceStatus.OPEN and inv.amount_remaining_minor > 0:
                collector.pay_by_bank_transfer(inv.id, amount_minor=inv.amount_remaining_minor)
                paid += 1
        counts["transfers"] += paid
        return paid

    def refund(invoice: Invoice, amount_minor: int) -> bool:
        charged = any(c.metadata.get("invoice_id") == invoice.id for c in gateway.succeeded_charges)
        if not charged:
            return False
        collector.refund(invoice.id, amount_minor, reason="Service credit, refunded to the card")
        counts["refunds"] += 1
        return True

    def collect() -> None:
        collector.retry_due()

    def report() -> tuple[tuple[str, int], ...]:
        status = Counter(c.status for c in gateway.charges)
        # Final actions are read from the outbox: the demo has no publisher, so it holds every event.
        finals = sum(
            1
            for e in engine.store.pending_events(10**9)
            if e.type == EventType.DUNNING_STEP and e.data.get("action") == "final_action"
        )
        return (
            ("card charges", len(gateway.charges)),
            ("succeeded", status[PaymentStatus.SUCCEEDED]),
            ("declined", status[PaymentStatus.DECLINED] + status[PaymentStatus.FAILED]),
            ("cards replaced after a decline", counts["new_cards"]),
            ("dunning final actions", finals),
            ("bank transfers", counts["transfers"]),
            ("refunds", counts["refunds"]),
        )

    return _Payments(onboard, new_card, transfer, refund, collect, report)


# --------------------------------------------------------------------------- entry point
def run_demo(
    db_path: str | os.PathLike[str],
    *,
    customers: int = 300,
    months: int = 12,
    seed: int = 42,
    start: datetime = DEFAULT_START,
    progress: Progress | None = None,
) -> DemoSummary:
    """Simulate ``months`` of a SaaS with ``customers`` sign-ups into a new SQLite file at ``db_path``.

    ``progress(days_done, days_total)`` is called once per simulated day. The store
    must be empty (a new file): the demo refuses to write into existing data.
    Needs SQLAlchemy (``pip install 'subkit[sql]'``) for the SQLite store.

    Example:
        >>> import pathlib, tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     s = run_demo(pathlib.Path(tmp) / "d.sqlite", customers=4, months=1, seed=3)
        >>> s.customers, s.days
        (4, 31)
    """
    if customers < 0 or months < 1:
        raise ValidationError("customers must be >= 0 and months >= 1", field="customers")
    if start.tzinfo is None:
        raise ValidationError("start must be timezone-aware", field="start")
    end = start + relativedelta(months=months)
    days = (end - start).days
    store, close = _open_demo_store(os.fspath(db_path))
    try:
        with store.begin() as uow:
            if uow.find(Customer):
                raise StateError(f"{os.fspath(db_path)} already holds subkit data; give the demo a new file")
        counter = itertools.count(1)

        def ids(prefix: str) -> str:
            return f"{prefix}_{next(counter):06d}"

        clock = TestClock(start)
        engine = BillingEngine(store, clock, config=BillingConfig(granularity=Granularity.DAY), ids=ids)
        rng = random.Random(seed)
        engine.set_catalog(demo_catalog())
        coupons, codes = _coupons(start, end)
        for c in coupons:
            engine.add_coupon(c)
        for code in codes:
            engine.add_promotion_code(code)
        payments = _payments(engine, rng, ids)
        sim = _Simulation(engine, clock, rng, start, end, payments)
        founders = customers // 5
        for n in range(customers):
            day = 0 if n < founders else rng.randrange(days)
            sim.schedule(start + timedelta(days=day, seconds=rng.randrange(86_400)), "signup")
        if days >= 60:
            sim.schedule(start + timedelta(days=days // 2), "price_increase")
        for month in range(months):
            sim.schedule(start + relativedelta(months=month, days=14, hours=rng.randrange(24)), "outage")
        for day in range(1, days + 1):
            sim.run_until(start + timedelta(days=day))
            if progress is not None:
                progress(day, days)
        return _summarize(engine, sim, seed=seed, months=months, days=days, payments=payments)
    finally:
        close()


def _open_demo_store(db: str) -> tuple[Store, Callable[[], None]]:
    """The demo's SQL store. A SQLite file skips the fsync of each commit (``synchronous=NORMAL``,
    safe with WAL: a crash loses only the last commits, never consistency), which makes
    the demo's ~20,000 small transactions several times faster on a busy disk."""
    from sqlalchemy import event

    from subkit.adapters.storage.sql import SqlStore, make_engine

    engine = make_engine(db)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _fast(dbapi_conn: Any, record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA synchronous = NORMAL")
            cur.close()

    try:
        store = SqlStore(engine)
    except BaseException:
        engine.dispose()
        raise

    def close() -> None:
        store.close()
        engine.dispose()

    return store, close


def _summarize(
    engine: BillingEngine,
    sim: _Simulation,
    *,
    seed: int,
    months: int,
    days: int,
    payments: _Payments | None,
) -> DemoSummary:
    start, end = sim.start, sim.end
    with engine.store.begin() as uow:
        customers = uow.find(Customer)
        subs = uow.find(Subscription)
        notes = uow.find(CreditNote)
    invoices = sorted(engine.invoices(), key=lambda i: i.number or "")
    by_id = {c.id: c for c in customers}

    markets = Counter(f"{c.country}/{c.currency}" for c in customers)
    subs_of: dict[str, list[Subscription]] = {}
    for s in subs:
        subs_of.setdefault(s.customer_id, []).append(s)
    states: Counter[str] = Counter()
    for c in customers:
        statuses = {s.status for s in subs_of.get(c.id, [])}
        if statuses & {SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID}:
            states["subscribed"] += 1
        elif SubscriptionStatus.TRIALING in statuses:
            states["trialing"] += 1
        elif SubscriptionStatus.PAUSED in statuses:
            states["paused"] += 1
        else:
            states["churned"] += 1
    sub_status = Counter(s.status.value for s in subs)

    totals = []
    credited = Counter[str]()
    for n in notes:
        credited[n.currency] += n.amount_minor
    for cur in CURRENCIES:
        mine = [i for i in invoices if i.currency == cur]
        totals.append(
            CurrencyTotals(
                currency=cur,
                invoices=len(mine),
                subtotal_minor=sum(i.subtotal_minor for i in mine),
                discount_minor=sum(i.discount_minor for i in mine),
                total_minor=sum(i.total_minor for i in mine),
                credited_minor=credited[cur],
            )
        )

    def month_of(at: datetime) -> int:
        at = at.astimezone(UTC)
        return (at.year - start.year) * 12 + at.month - start.month

    last = month_of(end - timedelta(microseconds=1))
    new_subs = Counter(month_of(s.created_at) for s in subs)
    ended = Counter(month_of(s.ended_at) for s in subs if s.ended_at is not None)
    inv_count = Counter(month_of(i.created_at) for i in invoices)
    billed: dict[int, Counter[str]] = {}
    for i in invoices:
        billed.setdefault(month_of(i.created_at), Counter())[i.currency] += i.total_minor
    span = max([last, *new_subs, *ended, *inv_count])
    monthly = tuple(
        MonthRow(
            month=_month_label(start, m),
            new_subscriptions=new_subs[m],
            cancellations=ended[m],
            invoices=inv_count[m],
            billed=tuple((c, billed.get(m, Counter())[c]) for c in CURRENCIES),
        )
        for m in range(span + 1)
    )
    activity = tuple((key, sim.counts[key]) for key, _ in _ACTIVITY)
    return DemoSummary(
        seed=seed,
        customers=len(customers),
        months=months,
        start=start,
        end=end,
        days=days,
        customers_by_market=tuple(sorted(markets.items())),
        customers_by_state=tuple((k, states[k]) for k in ("subscribed", "trialing", "paused", "churned")),
        subscriptions_by_status=tuple((s.value, sub_status[s.value]) for s in SubscriptionStatus),
        cancel_scheduled=sum(1 for s in subs if s.cancel_at_period_end),
        activity=activity,
        invoices_by_status=tuple(sorted(Counter(i.status.value for i in invoices).items())),
        currency_totals=tuple(totals),
        samples=_samples(invoices, by_id),
        monthly=monthly,
        payments=payments.report() if payments is not None else (),
    )


def _month_label(start: datetime, m: int) -> str:
    first = date(start.year, start.month, 1) + relativedelta(months=m)
    return f"{first.year:04d}-{first.month:02d}"


def _samples(invoices: Sequence[Invoice], customers: dict[str, Customer]) -> tuple[tuple[str, str], ...]:
    """Three telling invoices, in different currencies where possible."""

    def prorations(i: Invoice, sign: int) -> set[str | None]:
        return {ln.plan_id for ln in i.lines if ln.kind == LineKind.PRORATION and ln.amount_minor * sign > 0}

    def upgrade(i: Invoice) -> bool:
        """A credit for the old plan and a charge for another one."""
        return bool(prorations(i, -1) and prorations(i, 1) and prorations(i, -1) != prorations(i, 1))

    def prorated(i: Invoice) -> bool:
        return bool(prorations(i, -1) and prorations(i, 1))

    slots: list[list[tuple[str, Callable[[Invoice], bool]]]] = [
        [("an upgrade, prorated", upgrade), ("a seat change, prorated", prorated)],
        [("a discounted invoice", lambda i: i.discount_minor > 0 and i.total_minor > 0)],
        [("a renewal with metered usage", lambda i: any(ln.kind == LineKind.USAGE for ln in i.lines))],
    ]
    picked: list[tuple[str, Invoice]] = []
    for wants in slots:
        taken = {i.id for _, i in picked}
        used = {i.currency for _, i in picked}
        for caption, ok in wants:
            pool = [i for i in invoices if i.id not in taken and ok(i)]
            fresh = [i for i in pool if i.currency not in used]
            if pool:
                picked.append((caption, (fresh or pool)[0]))
                break
        else:
            rest = [i for i in invoices if i.id not in taken]
            if rest:
                picked.append(("the largest invoice", max(rest, key=lambda i: (i.total_minor, i.id))))
    return tuple((caption, format_invoice(inv, customers[inv.customer_id])) for caption, inv in picked)
