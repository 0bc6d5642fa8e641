"""A hypothesis state machine drives random lifecycle operations and checks the books.

Invariants after every step:
- every invoice's totals equal the sum of its lines; gap-free numbering;
- no two effective charges of one subscription item overlap in time (no period paid twice);
- credits never exceed charges, per item and billing cycle, and per charge segment;
- the net charged for any billing cycle of a subscription is never negative;
- the subscription status follows a simple model (cancel now -> canceled, etc.).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from subkit.errors import SubkitError
from subkit.invoice.discounts import Coupon
from subkit.invoice.invoice import Invoice, LineKind
from subkit.services.engine import BillingEngine
from subkit.subscription.model import Subscription, SubscriptionStatus
from subkit.subscription.proration import ProrationBehavior
from subkit.testing import InMemoryStore, TestClock

from ..scenarios.conftest import catalog

MONTHLY_PLANS = ["basic", "pro", "seats", "team"]
MODES = (
    [ProrationBehavior.ALWAYS_INVOICE] * 3
    + [ProrationBehavior.CREATE_PRORATIONS] * 2
    + [ProrationBehavior.NONE]
)


class Lifecycle(RuleBasedStateMachine):
    subs = Bundle("subs")

    def __init__(self) -> None:
        super().__init__()
        counter = itertools.count(1)
        self.clock = TestClock(datetime(2027, 1, 31, 9, tzinfo=UTC))
        self.store = InMemoryStore()
        self.engine = BillingEngine(self.store, self.clock, ids=lambda p: f"{p}_{next(counter)}")
        self.engine.set_catalog(catalog())
        self.engine.add_coupon(Coupon(id="Q3", percent_off="25", duration="repeating", duration_cycles=3))
        self.engine.add_coupon(Coupon(id="FIVE", amount_off={"USD": "5"}, duration="forever"))
        self.customer = self.engine.create_customer(
            name="Ada", currency="USD", timezone="America/Los_Angeles"
        ).id
        self.expected: dict[str, SubscriptionStatus] = {}

    # ---------------------------------------------------------------- operations
    @rule(
        target=subs,
        plan=st.sampled_from(MONTHLY_PLANS),
        qty=st.integers(min_value=1, max_value=15),
        trial=st.sampled_from([None, 0, 7]),
        coupon=st.sampled_from([None, "Q3", "FIVE"]),
    )
    def subscribe(self, plan: str, qty: int, trial: int | None, coupon: str | None) -> str:
        sub = self.engine.subscribe(self.customer, plan, qty, trial_days=trial, coupon=coupon)
        self.expected[sub.id] = sub.status
        return sub.id

    @rule(
        sub_id=subs,
        plan=st.sampled_from([*MONTHLY_PLANS, None]),
        qty=st.one_of(st.none(), st.integers(min_value=0, max_value=15)),
        when=st.sampled_from(["now", "now", "now", "auto", "period_end"]),
        mode=st.sampled_from(MODES),
    )
    def change(
        self, sub_id: str, plan: str | None, qty: int | None, when: str, mode: ProrationBehavior
    ) -> None:
        before = self.engine.get_subscription(sub_id)
        try:
            self.engine.change_plan(sub_id, plan, quantity=qty, when=when, proration_behavior=mode)  # type: ignore[arg-type]
        except SubkitError:
            assert before.status == SubscriptionStatus.CANCELED
            return
        assert before.status != SubscriptionStatus.CANCELED

    @rule(sub_id=subs, at_period_end=st.booleans(), prorate=st.booleans())
    def cancel(self, sub_id: str, at_period_end: bool, prorate: bool) -> None:
        before = self.engine.get_subscription(sub_id)
        try:
            after = self.engine.cancel(sub_id, at_period_end=at_period_end, prorate=prorate)
        except SubkitError:
            assert before.status == SubscriptionStatus.CANCELED or (
                at_period_end and before.cancel_at_period_end
            )
            return
        if not at_period_end:
            self.expected[sub_id] = SubscriptionStatus.CANCELED
            assert after.status == SubscriptionStatus.CANCELED

    @rule(sub_id=subs)
    def reactivate(self, sub_id: str) -> None:
        before = self.engine.get_subscription(sub_id)
        try:
            after = self.engine.reactivate(sub_id)
        except SubkitError:
            assert not before.cancel_at_period_end or before.status == SubscriptionStatus.CANCELED
            return
        assert not after.cancel_at_period_end

    @rule(sub_id=subs)
    def pause_or_resume(self, sub_id: str) -> None:
        before = self.engine.get_subscription(sub_id)
        if before.status == SubscriptionStatus.PAUSED:
            self.engine.resume(sub_id)
            self.expected[sub_id] = SubscriptionStatus.ACTIVE
        elif before.status == SubscriptionStatus.ACTIVE:
            self.engine.pause(sub_id)
            self.expected[sub_id] = SubscriptionStatus.PAUSED

    @rule(days=st.integers(min_value=0, max_value=40), hours=st.integers(min_value=0, max_value=23))
    def advance(self, days: int, hours: int) -> None:
        before = {s.id: s for s in self._subs()}
        self.clock.advance(timedelta(days=days, hours=hours))
        report = self.engine.advance()
        assert report.errors == []
        assert self.engine.advance().actions == 0  # idempotent
        for s in self._subs():
            old = before[s.id]
            if old.cancel_at_period_end and old.period_end <= self.clock.now():
                self.expected[s.id] = SubscriptionStatus.CANCELED
            elif old.status == SubscriptionStatus.TRIALING and old.period_end <= self.clock.now():
                self.expected[s.id] = SubscriptionStatus.ACTIVE

    # ---------------------------------------------------------------- invariants
    def _subs(self) -> list[Subscription]:
        with self.store.begin() as uow:
            return uow.find(Subscription)

    def _invoices(self) -> list[Invoice]:
        with self.store.begin() as uow:
            return uow.find(Invoice)

    @invariant()
    def statuses_follow_the_model(self) -> None:
        for s in self._subs():
            assert s.status == self.expected[s.id], (s.id, s.status, self.expected[s.id])

    @invariant()
    def invoice_totals_equal_their_lines(self) -> None:
        invoices = self._invoices()
        for inv in invoices:
            assert inv.subtotal_minor == sum(ln.amount_minor for ln in inv.lines)
            assert inv.discount_minor == sum(ln.discount_minor for ln in inv.lines)
            assert inv.total_minor == inv.subtotal_minor - inv.discount_minor + inv.tax_minor
            assert inv.amount_due_minor == max(inv.total_minor - inv.credit_applied_minor, 0)
            assert all(0 <= ln.discount_minor <= max(ln.amount_minor, 0) for ln in inv.lines)
        numbers = sorted(int(i.number.split("-")[1]) for i in invoices if i.number)
        assert numbers == list(range(1, len(numbers) + 1))
        assert self.engine.get_customer(self.customer).credit_minor >= 0

    @invariant()
    def no_overlapping_charges_per_item(self) -> None:
        for s in self._subs():
            by_item = defaultdict(list)
            for seg in s.segments:
                assert 0 <= seg.credited_minor <= seg.net_minor
                if seg.start < seg.effective_end:
                    by_item[seg.item_id].append((seg.start, seg.effective_end))
            for spans in by_item.values():
                spans.sort()
                assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans)), spans
        recurring = defaultdict(list)
        for inv in self._invoices():
            for ln in inv.lines:
                if ln.kind == LineKind.RECURRING:
                    recurring[ln.item_id].append((ln.period_start, ln.period_end))
        for spans in recurring.values():
            spans.sort()
            assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans)), spans

    @invariant()
    def credits_never_exceed_charges_and_cycles_never_go_negative(self) -> None:
        charged: dict[tuple[str | None, str | None, int | None], int] = defaultdict(int)
        credited: dict[tuple[str | None, str | None, int | None], int] = defaultdict(int)
        net_per_cycle: dict[tuple[str | None, int | None], int] = defaultdict(int)
        lines = [(inv.subscription_id, ln) for inv in self._invoices() for ln in inv.lines]
        with self.store.begin() as uow:
            from subkit.invoice.invoice import InvoiceItem

            lines += [(i.subscription_id, i.line) for i in uow.find(InvoiceItem, status="pending")]
        for sub_id, ln in lines:
            key = (sub_id, ln.item_id, ln.cycle)
            if ln.kind in (LineKind.RECURRING, LineKind.PRORATION) and ln.amount_minor > 0:
                charged[key] += ln.net_minor
            elif ln.kind == LineKind.PRORATION:
                credited[key] += -ln.amount_minor
            net_per_cycle[(sub_id, ln.cycle)] += ln.net_minor
        for key, credit in credited.items():
            assert credit <= charged[key], (key, credit, charged[key])
        assert all(v >= 0 for v in net_per_cycle.values()), net_per_cycle


TestLifecycle = Lifecycle.TestCase
TestLifecycle.settings = settings(
    max_examples=100, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
