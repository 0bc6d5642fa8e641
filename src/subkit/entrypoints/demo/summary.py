"""What a demo run produced: :class:`DemoSummary` and its text (:meth:`DemoSummary.render`).

Example:
    >>> from datetime import timedelta
    >>> from subkit.entrypoints.demo.business import DEFAULT_START
    >>> row = MonthRow("2026-01", 3, 0, 4, (("USD", 5700),))
    >>> s = DemoSummary(seed=1, customers=3, months=1, start=DEFAULT_START,
    ...                 end=DEFAULT_START + timedelta(days=31), days=31, monthly=(row,))
    >>> print(s.render().split("Month by month")[1])
     (amounts invoiced)
      Month    New subs  Cancellations  Invoices     USD    EUR    GBP  JPY
      2026-01         3              0         4  $57.00  €0.00  £0.00   ¥0
      Total           3              0         4  $57.00  €0.00  £0.00   ¥0
    <BLANKLINE>
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from subkit.entrypoints.demo.business import CURRENCIES
from subkit.entrypoints.demo.revenue import RevenueSection
from subkit.entrypoints.demo.tax import render_tax
from subkit.entrypoints.text import money, table

__all__ = ["ACTIVITY", "CurrencyTotals", "DemoSummary", "MonthRow"]

#: Activity counters in display order, with their labels.
ACTIVITY = (
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
    ("storage_events", "Storage usage events (GB-month, per region)"),
    ("storage_duplicates", "  sent twice, counted once"),
    ("wallet_grants", "Prepaid credit grants"),
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
        >>> from datetime import timedelta
        >>> from subkit.entrypoints.demo.business import DEFAULT_START
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
    tax: tuple[tuple[str, str, int, int], ...] = ()
    reported: tuple[tuple[str, int], ...] = ()
    converted: tuple[str, str] | None = None
    revenue: RevenueSection | None = None
    integrations: tuple[str, ...] = ()

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
        width = max((len(label) for _, label in ACTIVITY), default=0)
        counts = dict(self.activity)
        for key, label in ACTIVITY:
            add(f"  {label:<{width}}  {counts.get(key, 0):>6,}")
        if self.payments:
            add("")
            add("Payments (cards on a FakeGateway, dunning, transfers)")
            pw = max(len(k) for k, _ in self.payments)
            for key, n in self.payments:
                add(f"  {key.capitalize():<{pw}}  {n:>6,}")
        if self.integrations:
            add("")
            add("Integrations (portal, signed webhooks, audit trail)")
            out.extend(self.integrations)
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
                money(t.subtotal_minor, t.currency),
                money(-t.discount_minor, t.currency),
                money(t.total_minor, t.currency),
                money(-t.credited_minor, t.currency),
            )
            for t in self.currency_totals
        ]
        out.extend(table(header, rows, right=range(1, len(header)), indent="  "))
        out.extend(render_tax(self.tax))
        out.extend(_converted(self.reported, self.converted))
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
                *(money(m.billed_minor(c), c) for c in CURRENCIES),
            )
            for m in self.monthly
        ]
        mrows.append(
            (
                "Total",
                f"{sum(m.new_subscriptions for m in self.monthly):,}",
                f"{sum(m.cancellations for m in self.monthly):,}",
                f"{sum(m.invoices for m in self.monthly):,}",
                *(money(sum(m.billed_minor(c) for m in self.monthly), c) for c in CURRENCIES),
            )
        )
        out.extend(table(mheader, mrows, right=range(1, len(mheader)), indent="  "))
        if self.revenue is not None:
            out.extend(["", *self.revenue.render()])
        return "\n".join(out) + "\n"


def _pairs(pairs: Sequence[tuple[str, int]]) -> str:
    return "  " + ", ".join(f"{k}: {v:,}" for k, v in pairs)


def _converted(reported: Sequence[tuple[str, int]], converted: tuple[str, str] | None) -> list[str]:
    """Totals in USD at each invoice's locked rate, and one converted invoice as its customer sees it."""
    out: list[str] = []
    if reported:
        out += ["", "Reported in USD (each invoice at its locked rate)"]
        rows = [(cur, money(minor, "USD")) for cur, minor in reported]
        rows.append(("Total", money(sum(m for _, m in reported), "USD")))
        out += table(("Currency", "Total in USD"), rows, right=(1,), indent="  ")
    if converted is not None:
        out += ["", f"Converted invoice: {converted[0]}", *("  " + ln for ln in converted[1].splitlines())]
    return out
