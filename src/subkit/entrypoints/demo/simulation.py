"""The simulated year: a queue of tasks (sign-ups, upgrades, usage, cancellations...) run in time order.

Each task runs at its own instant on a :class:`~subkit.core.clock.TestClock`, after the
engine has billed what is due; what each task does is decided with one seeded
``random.Random``, so a run is reproducible.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from subkit.core.clock import TestClock
from subkit.core.money import minor_to_decimal
from subkit.customer.customer import Customer
from subkit.entrypoints.demo.business import ONBOARDING_FEE, pick_company, price_increase
from subkit.entrypoints.demo.payments import Payments
from subkit.entrypoints.demo.tax import customer_tax_fields
from subkit.errors import CouponError, StateError, ValidationError
from subkit.invoice.invoice import InvoiceStatus
from subkit.services.engine import BillingEngine
from subkit.subscription.model import LIVE, Subscription, SubscriptionStatus
from subkit.subscription.proration import ProrationBehavior

__all__ = ["Simulation"]


@dataclass(order=True, slots=True)
class _Task:
    """A task in the queue: what to do (``_do_<kind>(*args)``) and when."""

    at: datetime
    seq: int
    kind: str = field(compare=False)
    args: tuple[Any, ...] = field(compare=False, default=())


class Simulation:
    """The business's year: a queue of tasks run in time order on a TestClock."""

    def __init__(
        self,
        engine: BillingEngine,
        clock: TestClock,
        rng: random.Random,
        start: datetime,
        end: datetime,
        payments: Payments | None = None,
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
        market, name = pick_company(rng)
        slug = "".join(ch for ch in name.lower() if ch.isalnum())[:24]
        customer = self.engine.create_customer(
            name=name,
            email=f"billing@{slug}.example",
            country=market.country,
            currency=market.currency,
            locale=market.locale,
            timezone=market.timezone,
            metadata={"segment": "demo"},
            **customer_tax_fields(market, name),
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
            self.engine.add_invoice_item(
                customer.id, "Onboarding workshop", ONBOARDING_FEE[customer.currency]
            )
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
        self.engine.change_plan(sub_id, plan, quantity=seats, proration_behavior=proration)
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
        self.engine.set_catalog(price_increase(self.engine.catalog, self.clock.now()))
        self.counts["price_changes"] += 1

    def _do_outage(self) -> None:
        """A bad day: a few customers get 10% of their latest invoice back as a credit note."""
        if not self.customer_ids:
            return
        for customer_id in self.rng.sample(self.customer_ids, min(3, len(self.customer_ids))):
            invoices = [
                i
                for i in self.engine.invoices(customer_id)
                if i.total_minor > 0 and i.status != InvoiceStatus.VOID  # voided: e.g. an expired incomplete
            ]
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
