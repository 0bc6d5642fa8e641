"""One billing cycle over N active subscriptions, in memory: subkit vs plain Python.

The book (not timed): a catalog of flat, per-seat and graduated plans, monthly and
annual; N customers, each with one subscription created in the past and its first
invoice, so that at ``T0 = 2027-02-01`` nothing is overdue:

- 80 % monthly, anchored at a random instant of January 2027, on every day 1-31: each
  renews exactly once before ``UNTIL = 2027-02-28 23:59:59``, those anchored on the 29th,
  30th and 31st on February 28 (month-end clamping);
- 20 % annual, anchored at a random instant between 2026-02-01 and 2027-01-31: only
  those anchored in February 2026 (about 1 in 12) renew in the window;
- 40 % flat plans, 30 % a platform fee plus per-seat seats (two items), 30 % graduated tiers;
- 15 % carry a 20 %-off coupon (12 cycles), 5 % a $5.00-off coupon (forever).

The book is built directly in the store (:func:`build_book`): each subscription is made
by the state machine's ``create`` and its first invoice by ``Invoice.draft(...).issue``,
then written with the store's public unit of work, as ``BillingEngine.subscribe`` does
but without its per-call overhead (1M subscriptions in a couple of minutes rather than
an hour). Up to 2,000 subscriptions, the run also builds the same book through
``subscribe()`` and checks both stores hold the same entities, keys and numbers.
The outbox is then relayed (as a running service would have), and the engine runs with
a publisher, so events published during the run are relayed after each batch.

Timed: ``engine.advance(UNTIL)`` on a ``BillingEngine`` over the ``InMemoryStore``,
producing the renewal invoices. The bare baseline runs first, before the book exists:
plain Python with ``Decimal`` and tuples doing the same arithmetic from the same specs,
with prices parsed once, each subscription holding its next due instant as subkit's
does, and periods computed only for the subscriptions due (the new period's end from
the anchor, month-end clamped), line amounts per pricing model, discounts, rounding to
cents with ``ROUND_HALF_UP``, totals. Both results are checked equal (every invoice's
total), so the two sides cannot drift apart silently.

Every size runs in a fresh process, so its peak memory is its own. The row reports
the time per invoice, the memory held per subscription (resident memory after the run
less before the book was built) and the process's peak resident memory.
"""

from __future__ import annotations

import functools
import gc
import itertools
import json
import os
import random
import resource
import subprocess
import sys
import time
from array import array
from calendar import monthrange
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import subkit
from bench import Row
from subkit.adapters.storage.memory import InMemoryStore
from subkit.catalog.catalog import Catalog, Plan, Product
from subkit.catalog.pricing import FlatFee, Graduated, PerUnit, Tier
from subkit.core.events import Event, EventType
from subkit.core.heap import frozen_heap
from subkit.core.money import minor_to_decimal
from subkit.core.periods import MONTHLY, YEARLY
from subkit.customer.customer import Customer
from subkit.invoice.discounts import Coupon
from subkit.invoice.invoice import Invoice, InvoiceStatus
from subkit.services.engine import BillingEngine, CatalogRecord
from subkit.subscription.machine import create
from subkit.subscription.model import BillingContext
from subkit.testing import TestClock

__all__ = [
    "MAX_SIZE",
    "PLANS",
    "baseline",
    "build_book",
    "iter_specs",
    "make_specs",
    "run",
    "setup_engine",
    "subscribe_engine",
    "targets",
]


#: The book is built directly in the store: 1M subscriptions take a couple of minutes and about 3 GB.
MAX_SIZE = 2_000_000

T0 = datetime(2027, 2, 1, tzinfo=UTC)
UNTIL = datetime(2027, 2, 28, 23, 59, 59, tzinfo=UTC)
#: Up to this size, the book built directly is checked against the one ``subscribe()`` builds.
CHECK_BUILD_UP_TO = 2000

# plan id -> (interval months, pricing); pricing is ("flat", price) | ("per_unit", unit)
#          | ("graduated", ((up_to or None, unit_amount, flat_amount), ...))
_GRAD_M = (("10", "7.00", "0"), ("50", "6.495", "5.00"), (None, "5.9925", "0"))
_GRAD_Y = (("10", "70.00", "0"), ("50", "64.95", "50.00"), (None, "59.925", "0"))
PLANS: dict[str, tuple[int, tuple[Any, ...]]] = {
    "basic": (1, ("flat", "10.00")),
    "team": (1, ("flat", "49.00")),
    "platform": (1, ("flat", "20.00")),
    "seats": (1, ("per_unit", "12.49")),
    "api": (1, ("graduated", _GRAD_M)),
    "basic_y": (12, ("flat", "100.00")),
    "team_y": (12, ("flat", "490.00")),
    "platform_y": (12, ("flat", "200.00")),
    "seats_y": (12, ("per_unit", "124.90")),
    "api_y": (12, ("graduated", _GRAD_Y)),
}
# coupon id -> ("percent", pct, cycles or None) | ("amount", minor, None)
COUPONS: dict[str, tuple[str, Any, int | None]] = {
    "SAVE20": ("percent", "20", 12),
    "FIVEOFF": ("amount", 500, None),
}

# (sub_id, customer_id, months, anchor, ((plan_id, quantity), ...), coupon_id | None)
Spec = tuple[str, str, int, datetime, tuple[tuple[str, int], ...], str | None]


def _pricing(p: tuple[Any, ...]) -> FlatFee | PerUnit | Graduated:
    kind = p[0]
    if kind == "flat":
        return FlatFee(flat_amount=p[1])
    if kind == "per_unit":
        return PerUnit(unit_amount=p[1])
    return Graduated(tiers=tuple(Tier(up_to=u, unit_amount=up, flat_amount=fp) for u, up, fp in p[1]))


def catalog() -> Catalog:
    """The benchmark's catalog, built from :data:`PLANS`."""
    return Catalog(
        currencies=("USD",),
        products=(Product(id="app", name="App"),),
        plans=tuple(
            Plan(
                id=pid,
                product_id="app",
                name=pid.replace("_y", " (annual)").title(),
                interval=YEARLY if months == 12 else MONTHLY,
                prices={"USD": _pricing(pricing)},
            )
            for pid, (months, pricing) in PLANS.items()
        ),
    )


def coupons() -> list[Coupon]:
    """The benchmark's coupons, built from :data:`COUPONS`."""
    return [
        Coupon(id="SAVE20", percent_off="20", duration="repeating", duration_cycles=12),
        Coupon(id="FIVEOFF", amount_off={"USD": "5.00"}, duration="forever"),
    ]


def iter_specs(n: int, seed: int = 7) -> Iterator[Spec]:
    """``n`` subscription specs, deterministic for a seed; monthly anchors on every day of January."""
    rnd = random.Random(seed)
    jan = datetime(2027, 1, 1, tzinfo=UTC)
    year_start = datetime(2026, 2, 1, tzinfo=UTC)
    for i in range(n):
        annual = rnd.random() < 0.20
        sfx = "_y" if annual else ""
        if annual:
            anchor = year_start + timedelta(days=rnd.randrange(365), seconds=rnd.randrange(86400))
        else:
            anchor = jan + timedelta(days=rnd.randrange(31), seconds=rnd.randrange(86400))
        r = rnd.random()
        items: tuple[tuple[str, int], ...]
        if r < 0.40:
            items = ((rnd.choice(("basic", "team")) + sfx, 1),)
        elif r < 0.70:
            items = (("platform" + sfx, 1), ("seats" + sfx, rnd.randint(1, 40)))
        else:
            items = (("api" + sfx, rnd.randint(1, 120)),)
        c = rnd.random()
        coupon = "SAVE20" if c < 0.15 else "FIVEOFF" if c < 0.20 else None
        yield (f"sub_{i:07d}", f"cus_{i:07d}", 12 if annual else 1, anchor, items, coupon)


def make_specs(n: int, seed: int = 7) -> list[Spec]:
    """:func:`iter_specs` as a list."""
    return list(iter_specs(n, seed))


# ------------------------------------------------------------------------- the book
def _ids(start: int = 0) -> Any:
    counter = itertools.count(start)
    return lambda prefix: f"{prefix}_{next(counter):09d}"


def subscribe_engine(specs: list[Spec]) -> BillingEngine:
    """A BillingEngine whose book was built by ``create_customer`` and ``subscribe`` (slow, exact)."""
    engine = BillingEngine(InMemoryStore(), TestClock(T0), ids=_ids())
    engine.set_catalog(catalog())
    for c in coupons():
        engine.add_coupon(c)
    for sub_id, cus_id, _months, anchor, items, coupon in specs:
        engine.create_customer(id=cus_id, name=cus_id, currency="USD")
        engine.subscribe(cus_id, items=list(items), at=anchor, id=sub_id, coupon=coupon)
    return engine


def build_book(specs: Iterable[Spec], store: InMemoryStore, batch: int = 2000) -> None:
    """Write what ``subscribe_engine`` would write, directly with the store's units of work.

    Per spec: the customer (validated constructor) and its ``customer.created`` event; the
    subscription from ``subscription.machine.create``; its first invoice from
    ``Invoice.draft(...).issue(number)`` with its events; the unique keys; the coupons
    with their redemption counts.
    """
    cat = catalog()
    by_id = {c.id: c for c in coupons()}
    redeemed = dict.fromkeys(by_id, 0)
    with store.begin() as uow:
        uow.add(CatalogRecord(id="catalog", catalog=cat))
    invoice_ids = _ids()
    it = iter(specs)
    while chunk := list(itertools.islice(it, batch)):
        with store.begin() as uow:
            for sub_id, cus_id, _months, anchor, items, coupon in chunk:
                customer = Customer(id=cus_id, name=cus_id, currency="USD", created_at=T0)
                uow.add(customer)
                uow.publish(Event.of(EventType.CUSTOMER_CREATED, T0, cus_id, customer_id=cus_id))
                chosen = [by_id[coupon]] if coupon else []
                ctx = BillingContext(catalog=cat, coupons={c.id: c for c in chosen}, has_payment_method=False)
                out = create(sub_id, cus_id, "USD", list(items), ctx, at=anchor, coupons=chosen)
                for c in chosen:
                    redeemed[c.id] += 1
                for key in out.claims:
                    uow.claim(key)
                assert out.reason is not None and out.period is not None
                number = f"INV-{uow.next_number('INV'):06d}"
                inv = Invoice.draft(
                    invoice_ids("in"),
                    cus_id,
                    "USD",
                    out.invoice_lines,
                    at=anchor,
                    subscription_id=sub_id,
                    reason=out.reason,
                    period_start=out.period[0],
                    period_end=out.period[1],
                    locale=customer.locale,
                ).issue(number, anchor)
                uow.add(inv)
                uow.publish(
                    Event.of(
                        EventType.INVOICE_FINALIZED,
                        anchor,
                        inv.id,
                        customer_id=cus_id,
                        number=number,
                        total=inv.total_minor,
                        currency="USD",
                    )
                )
                if inv.status == InvoiceStatus.PAID:
                    uow.publish(
                        Event.of(EventType.INVOICE_PAID, anchor, inv.id, customer_id=cus_id, amount=0)
                    )
                uow.add(out.subscription)
                for ev in out.events:
                    uow.publish(ev)
    with store.begin() as uow:
        for cid, c in by_id.items():
            uow.add(c.model_copy(update={"times_redeemed": redeemed[cid], "version": 1 + redeemed[cid]}))


def setup_engine(specs: Iterable[Spec], publisher: Any = None) -> BillingEngine:
    """A BillingEngine over an InMemoryStore holding the book of ``specs`` (built directly)."""
    store = InMemoryStore()
    counted = _Counted(specs)
    build_book(counted, store)
    return BillingEngine(store, TestClock(T0), ids=_ids(counted.n), publisher=publisher)


class _Counted:
    """An iterable that counts what went through it."""

    def __init__(self, items: Iterable[Spec]) -> None:
        self.items, self.n = items, 0

    def __iter__(self) -> Iterator[Spec]:
        for x in self.items:
            self.n += 1
            yield x


def _same_book(a: InMemoryStore, b: InMemoryStore) -> None:
    sa, sb = a.snapshot(), b.snapshot()
    ka = sorted(((e.kind, e.id), e) for e in sa.entities)
    kb = sorted(((e.kind, e.id), e) for e in sb.entities)
    if [k for k, _ in ka] != [k for k, _ in kb] or [e for _, e in ka] != [e for _, e in kb]:
        raise RuntimeError("the book built directly differs from the one subscribe() builds")
    if (sa.claims, sa.sequences) != (sb.claims, sb.sequences):
        raise RuntimeError("the directly built book has other unique keys or numbers than subscribe()'s")
    if sorted(e.id for e in sa.pending_events) != sorted(e.id for e in sb.pending_events):
        raise RuntimeError("the directly built book published other events than subscribe()")


class _Relay:
    """A publisher that counts what the engine relays (a host would send it somewhere)."""

    def __init__(self) -> None:
        self.count = 0

    def publish(self, events: Sequence[Event]) -> None:
        self.count += len(events)


# ------------------------------------------------------------------------- the bare baseline
_CENT = Decimal("0.01")
_ONE = Decimal(1)
_HUNDRED = Decimal(100)

# A spec as the baseline holds it: (sub_id, due, anchor, months, lines, coupon) where due is
# the next renewal (cycle 1 starts, what subkit's subscription holds as period_end) and
# lines are ((kind, parsed prices), quantity) with every price parsed once.
State = tuple[str, datetime, datetime, int, tuple[tuple[tuple[Any, ...], Decimal], ...], Any]


def _add_months(at: datetime, months: int) -> datetime:
    y, m = divmod(at.month - 1 + months, 12)
    year, month = at.year + y, m + 1
    return at.replace(year=year, month=month, day=min(at.day, monthrange(year, month)[1]))


def _parsed(pricing: tuple[Any, ...]) -> tuple[Any, ...]:
    if pricing[0] == "graduated":
        tiers = tuple(
            (None if u is None else Decimal(u), Decimal(up), Decimal(fp)) for u, up, fp in pricing[1]
        )
        return ("graduated", tiers)
    return (pricing[0], Decimal(pricing[1]))


def baseline_state(specs: Iterable[Spec]) -> list[State]:
    """What the baseline keeps per subscription (not timed, as subkit's book is not)."""
    prices = {pid: _parsed(p) for pid, (_, p) in PLANS.items()}
    coupon = {cid: (k, Decimal(v) if k == "percent" else v, n) for cid, (k, v, n) in COUPONS.items()}
    return [
        (
            sub_id,
            _add_months(anchor, months),
            anchor,
            months,
            tuple((prices[pid], Decimal(q)) for pid, q in items),
            coupon[c] if c else None,
        )
        for sub_id, _cus, months, anchor, items, c in specs
    ]


def _exact(pricing: tuple[Any, ...], q: Decimal) -> Decimal:
    kind = pricing[0]
    if kind == "flat":
        return pricing[1]  # type: ignore[no-any-return]
    if kind == "per_unit":
        return q * pricing[1]  # type: ignore[no-any-return]
    total = Decimal(0)
    lower = Decimal(0)
    for up_to, unit, flat in pricing[1]:
        if q <= lower:
            break
        top = q if up_to is None or q < up_to else up_to
        total += (top - lower) * unit + flat
        if up_to is None:
            break
        lower = up_to
    return total


def _allocate(total: int, weights: list[int]) -> list[int]:
    """Largest remainder, ties to the earliest (integers only)."""
    wsum = sum(weights)
    parts = [total * w // wsum for w in weights]
    rems = [total * w % wsum for w in weights]
    for i in sorted(range(len(weights)), key=lambda i: (-rems[i], i))[: total - sum(parts)]:
        parts[i] += 1
    return parts


def baseline(state: list[State], until: datetime) -> list[tuple[Any, ...]]:
    """Plain-Python renewals due up to ``until``: (sub, start, end, lines, subtotal, discount, total)."""
    out: list[tuple[Any, ...]] = []
    n = 1  # cycle 0 was invoiced at subscription; the renewal is cycle 1
    for sub_id, start, anchor, months, items, coupon in state:
        if start > until:
            continue
        end = _add_months(anchor, months * (n + 1))
        amounts = [int(_exact(p, q).quantize(_CENT, rounding=ROUND_HALF_UP) * 100) for p, q in items]
        discounts = [0] * len(amounts)
        if coupon is not None:
            kind, value, cycles = coupon
            if cycles is None or n < cycles:
                if kind == "percent":
                    keep = _ONE - value / _HUNDRED
                    discounts = [
                        int((a - a * keep).quantize(_ONE, rounding=ROUND_HALF_UP)) if a > 0 else 0
                        for a in amounts
                    ]
                else:
                    left = [max(a, 0) for a in amounts]
                    discounts = _allocate(min(value, sum(left)), left)
        lines = tuple((p, q, a, d) for (p, q), a, d in zip(items, amounts, discounts, strict=True))
        subtotal, discount = sum(amounts), sum(discounts)
        out.append((sub_id, start, end, lines, subtotal, discount, subtotal - discount))
    return out


# ------------------------------------------------------------------------- one size, in a fresh process
def _rss() -> int:
    """Resident memory of this process now, in bytes (Linux; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def _gc_timer() -> tuple[list[float], Any]:
    spent = [0.0, 0.0]

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            spent[1] = time.perf_counter()
        else:
            spent[0] += time.perf_counter() - spent[1]

    return spent, callback


def measure(size: int, freeze: bool = False) -> dict[str, Any]:
    """Baseline, book, timed run and checks for one size (call in a fresh process).

    With ``freeze``, the run is wrapped in :func:`subkit.core.heap.frozen_heap` (the opt-in
    freeze per run): the collector leaves the book alone while the run lasts.
    """
    state = baseline_state(iter_specs(size))
    monthly = sum(1 for s in state if s[3] == 1)
    gc.collect()
    base, base_s = _timed(functools.partial(baseline, state, UNTIL))
    base_totals = array("q", [-1]) * size  # by subscription number: the total of its renewal
    for t in base:
        base_totals[int(t[0][4:])] = t[6]
    renewals, base_sum = len(base), sum(t[6] for t in base)
    del state, base

    gc.collect()
    rss0 = _rss()
    t0 = time.perf_counter()
    relay = _Relay()
    engine = setup_engine(iter_specs(size), publisher=relay)
    setup_s = time.perf_counter() - t0
    if size <= CHECK_BUILD_UP_TO:
        assert isinstance(engine.store, InMemoryStore)
        slow = subscribe_engine(make_specs(size))
        assert isinstance(slow.store, InMemoryStore)
        _same_book(engine.store, slow.store)
        del slow
    engine.relay()  # what the book published before the run, as a running service would have sent it
    relay.count = 0
    gc.collect()

    spent, callback = _gc_timer()
    gc.callbacks.append(callback)
    cpu0 = time.process_time()
    if freeze:
        with frozen_heap():
            report, lib_s = _timed(lambda: engine.advance(UNTIL))
    else:
        report, lib_s = _timed(lambda: engine.advance(UNTIL))
    cpu_s = time.process_time() - cpu0
    gc.callbacks.remove(callback)
    gc.collect()
    held = _rss() - rss0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    # Same work, same results: every renewal invoice total matches the baseline's.
    wrong, seen = [], 0
    for n in range(0, len(report.invoice_ids), 10_000):
        with engine.store.begin() as uow:
            for inv in uow.get_many(Invoice, report.invoice_ids[n : n + 10_000]).values():
                seen += 1
                if (
                    inv.subscription_id is None
                    or base_totals[int(inv.subscription_id[4:])] != inv.total_minor
                ):
                    wrong.append(inv.subscription_id)
    if wrong or seen != renewals or report.errors:
        raise RuntimeError(
            f"subkit and the baseline disagree on {len(wrong)} of {seen} invoices (baseline: {renewals}), "
            f"e.g. {sorted(map(str, wrong))[:3]}; errors {report.errors[:3]}"
        )
    note = (
        f"{report.invoices:,} renewal invoices ({monthly:,} monthly + {report.invoices - monthly:,} annual), "
        f"sum of totals ${minor_to_decimal(base_sum, 'USD'):,} on both sides; "
        f"{cpu_s / report.invoices * 1e6:.1f} us CPU per invoice, "
        f"cyclic GC {spent[0] / lib_s:.0%} of the run; "
        f"{relay.count:,} events relayed; book built in {setup_s:.1f}s"
    )
    return {
        "items": report.invoices,
        "lib_s": lib_s,
        "base_s": base_s,
        "held": held,
        "peak": peak,
        "note": note,
        "cpu_s": cpu_s,
    }


def _timed(fn: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


SCENARIOS = {
    "billing.advance (one cycle)": False,
    "billing.advance (frozen heap per run)": True,
}


def run(size: int) -> list[Row]:
    """One billing cycle over ``size`` subscriptions, subkit and baseline, each way in a fresh process."""
    root = Path(__file__).resolve().parent.parent
    src = Path(subkit.__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), str(root)])}
    rows = []
    for scenario, freeze in SCENARIOS.items():
        proc = subprocess.run(
            [sys.executable, "-m", "bench.bench_billing", str(size), "freeze" if freeze else "default"],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"bench_billing at {size:,} failed:\n{proc.stderr[-4000:]}")
        got = json.loads(proc.stdout.strip().splitlines()[-1])
        rows.append(
            Row(
                scenario,
                size,
                got["items"],
                got["lib_s"],
                got["base_s"],
                got["note"],
                held_bytes=got["held"],
                peak_bytes=got["peak"],
                lib_cpu_seconds=got["cpu_s"],
            )
        )
    return rows


#: Issue 9's targets for billing in memory.
TARGET_RATE = 20_000  # invoices per second, at 10k and 100k subscriptions
TARGET_RATIO = 4.0  # at most this many times the bare baseline's time, at 10k and 100k
TARGET_FLAT = 0.20  # time per invoice from 1k to 1M within 20 %
TARGET_PEAK = 4 * 2**30  # peak resident memory at 1M


def _verdict(ok: bool | None) -> str:
    return "not measured" if ok is None else "MET" if ok else "NOT MET"


def targets(rows: Sequence[Row]) -> list[str]:
    """Which of issue 9's in-memory targets ``rows`` met, one line each (per scenario)."""
    out = []
    for scenario in SCENARIOS:
        got = {r.size: r for r in rows if r.scenario == scenario}
        if not got:
            continue
        for size in (10_000, 100_000):
            r = got.get(size)
            rate = None if r is None else r.lib_rate >= TARGET_RATE
            ratio = None if r is None else r.ratio <= TARGET_RATIO
            shown = "" if r is None else f": {r.lib_rate:,.0f} invoices/s, {r.ratio:.1f}x the baseline"
            if r is not None and r.lib_cpu_seconds:
                shown += f" (by CPU time: {r.items / r.lib_cpu_seconds:,.0f} invoices/s)"
            out.append(
                f"[{_verdict(rate)} / {_verdict(ratio)}] {scenario} @ {size:,}: >= {TARGET_RATE:,} invoices/s"
                f" / within {TARGET_RATIO:.0f}x the baseline{shown}"
            )
        sizes = sorted(got)
        flat = None
        if 1000 in got and 1_000_000 in got:
            spread = max(got[n].micros_per_item for n in sizes) / min(got[n].micros_per_item for n in sizes)
            flat = spread - 1 <= TARGET_FLAT
        per = ", ".join(f"{n:,}: {got[n].micros_per_item:.0f} us" for n in sizes)
        out.append(
            f"[{_verdict(flat)}] {scenario}: time per invoice from 1k to 1M within {TARGET_FLAT:.0%} ({per})"
        )
        big = got.get(1_000_000)
        peak = None if big is None or big.peak_bytes is None else big.peak_bytes < TARGET_PEAK
        held = ", ".join(
            f"{n:,}: {got[n].held_bytes / n / 1024:.2f} KB" for n in sizes if got[n].held_bytes is not None
        )
        shown = "" if big is None or big.peak_bytes is None else f" (peak {big.peak_bytes / 2**30:.2f} GB)"
        out.append(f"[{_verdict(peak)}] {scenario}: peak memory at 1M under 4 GB{shown}")
        out.append(f"[info] {scenario}: memory held per subscription ({held})")
    return out


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]), freeze=len(sys.argv) > 2 and sys.argv[2] == "freeze")))
