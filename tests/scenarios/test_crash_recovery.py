"""A billing worker killed (SIGKILL) again and again mid-run bills exactly what an uninterrupted run bills.

Setup (once, in this process): a SQLite file with ~200 subscriptions, a mix of monthly
and annual plans, seats, graduated tiers, metered usage, trials, coupons, customers with
two subscriptions, scheduled downgrades and upgrades mid-period (prorations, credits,
pending items), period-end cancellations and a pause with a resume date. A copy of that
file is the reference.

The reference is billed for twelve months by one uninterrupted worker process. The
other file is billed by the same worker, started and SIGKILLed at seeded random
moments many times (small batches, so kills land between and inside transactions),
then run to completion. Both files must then hold the same invoices (subscription,
period, total, reason, line amounts), gap-free numbers 1..N, the same claims, the same
subscription states, customer balances, pending items and outbox event counts.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from subkit.adapters.storage.sql import SqlStore
from subkit.customer.customer import Customer
from subkit.invoice.discounts import Coupon
from subkit.invoice.invoice import Invoice, InvoiceItem
from subkit.services.engine import BillingEngine
from subkit.subscription.model import Subscription, SubscriptionStatus
from subkit.subscription.proration import ProrationBehavior
from subkit.testing import TestClock

from ._crash_worker import command
from .conftest import catalog

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")

HERE = Path(__file__).resolve().parent
T0 = datetime(2027, 1, 1, tzinfo=UTC)
#: The worker advances month by month: 2027-02-01, 2027-03-01, ... 2028-01-01.
STEPS = [datetime(2027 + (m // 12), m % 12 + 1, 1, tzinfo=UTC) for m in range(1, 13)]
SUBSCRIPTIONS = 200
BATCH = 7  # small batches: many commits per run, so kills land between and inside them
KILLS = 30
SEED = 20270101


def populate(engine: BillingEngine, n: int, seed: int = SEED) -> dict[str, int]:
    """``n`` subscriptions of every kind the engine knows; returns how many of each."""
    rnd = random.Random(seed)
    engine.set_catalog(catalog())
    engine.add_coupon(Coupon(id="Q3", percent_off="25", duration="repeating", duration_cycles=3))
    engine.add_coupon(Coupon(id="FIVEOFF", amount_off={"USD": "5.00"}, duration="forever"))
    engine.add_coupon(Coupon(id="HALF1", percent_off="50", duration="once"))
    kinds: Counter[str] = Counter()
    customer = ""
    for i in range(n):
        if i % 10 != 1:  # every tenth customer has two subscriptions
            customer = engine.create_customer(id=f"cus_{i:04d}", name=f"Customer {i}", currency="USD").id
        anchor = T0 + timedelta(days=rnd.randrange(28), seconds=rnd.randrange(86_400))
        sub_id = f"sub_{i:04d}"
        coupon = rnd.choice([None, None, None, "Q3", "FIVEOFF", "HALF1"])
        r = rnd.random()
        if r < 0.30:
            engine.subscribe(customer, "basic", at=anchor, id=sub_id, coupon=coupon)
            kinds["basic"] += 1
        elif r < 0.50:
            behavior = rnd.choice([ProrationBehavior.CREATE_PRORATIONS, ProrationBehavior.ALWAYS_INVOICE])
            engine.subscribe(
                customer,
                "seats",
                rnd.randint(2, 40),
                at=anchor,
                id=sub_id,
                coupon=coupon,
                proration_behavior=behavior,
            )
            kinds["seats"] += 1
        elif r < 0.62:
            engine.subscribe(customer, "annual", at=anchor, id=sub_id, coupon=coupon)
            kinds["annual"] += 1
        elif r < 0.74:
            engine.subscribe(customer, "team", rnd.randint(1, 25), at=anchor, id=sub_id)
            kinds["team"] += 1
        elif r < 0.86:
            engine.subscribe(customer, "pro", at=anchor, id=sub_id, coupon=coupon)  # 14-day trial
            kinds["pro_trial"] += 1
        else:
            engine.subscribe(customer, items=[("basic", 1), ("api", 1)], at=anchor, id=sub_id)
            for month in range(12):
                engine.record_usage(
                    sub_id,
                    "api_calls",
                    rnd.randint(0, 50_000),
                    at=anchor + timedelta(days=30 * month + rnd.randrange(28)),
                    id=f"use_{i:04d}_{month:02d}",
                )
            kinds["metered"] += 1
        # Things that happen later, decided now.
        s = rnd.random()
        sub = engine.get_subscription(sub_id)
        later = anchor + timedelta(days=rnd.randrange(40, 300), hours=rnd.randrange(24))
        if s < 0.08:
            engine.cancel(sub_id, at=anchor + timedelta(hours=1))  # at the end of the first period
            kinds["cancel_at_period_end"] += 1
        elif s < 0.18 and sub.items[0].plan_id in ("seats", "team"):
            engine.change_plan(sub_id, quantity=1, when=later, at=anchor + timedelta(hours=1))
            kinds["scheduled_downgrade_mid_period"] += 1
        elif s < 0.24 and sub.items[0].plan_id in ("seats", "team"):
            engine.change_plan(sub_id, quantity=60, when=later, at=anchor + timedelta(hours=1))
            kinds["scheduled_upgrade_mid_period"] += 1
        elif s < 0.30 and sub.items[0].plan_id == "annual":
            engine.change_plan(sub_id, "basic", when="period_end", at=anchor + timedelta(hours=1))
            kinds["downgrade_at_period_end"] += 1
        elif s < 0.34 and sub.status == SubscriptionStatus.ACTIVE:
            engine.pause(sub_id, resume_at=later, at=anchor + timedelta(days=3))
            kinds["pause_then_resume"] += 1
    return dict(kinds)


def _count_invoices(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return int(db.execute("SELECT count(*) FROM subkit_entities WHERE kind = 'invoice'").fetchone()[0])


def _worker(path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, *command(str(HERE), str(path), STEPS, batch_size=BATCH)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_until_ready(proc: subprocess.Popen[str]) -> None:
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        _, err = proc.communicate(timeout=60)
        pytest.fail(f"the worker died before it was ready:\n{err}")


def _run_to_completion(path: Path) -> dict[str, Any]:
    return _report(_worker(path))


def _report(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    done = [line for line in out.splitlines() if line.startswith("done ")]
    assert done, out + err
    report: dict[str, Any] = json.loads(done[0][5:])
    assert report["errors"] == 0, err
    return report


def snapshot(path: Path) -> dict[str, Any]:
    """Everything billing produced, in forms that do not depend on ids or commit order."""
    store = SqlStore(path, create=False)
    try:
        with store.begin() as uow:
            invoices = uow.find(Invoice)
            subs = uow.find(Subscription)
            customers = uow.find(Customer)
            items = uow.find(InvoiceItem)
    finally:
        store.close()
    with contextlib.closing(sqlite3.connect(path)) as db:
        claims = sorted(k for (k,) in db.execute("SELECT key FROM subkit_claims"))
        bodies = [b for (b,) in db.execute("SELECT body FROM subkit_outbox")]
        sequences = dict(db.execute("SELECT series, value FROM subkit_sequences").fetchall())
    return {
        "invoices": sorted(
            (
                i.subscription_id or "",
                i.period_start.isoformat() if i.period_start else "",
                i.total_minor,
                i.billing_reason.value,
                tuple(sorted(ln.amount_minor for ln in i.lines)),
            )
            for i in invoices
        ),
        "numbers": sorted(i.number or "" for i in invoices),
        "subscriptions": {
            s.id: (s.status.value, s.period_start, s.period_end, s.cycle, s.due_at) for s in subs
        },
        "balances": {c.id: c.credit_minor for c in customers},
        "items": sorted((i.subscription_id or "", i.status, i.line.amount_minor) for i in items),
        "claims": claims,
        "events": Counter(json.loads(b)["type"] for b in bodies),
        "sequences": sequences,
    }


@pytest.mark.slow
def test_killed_worker_bills_exactly_what_an_uninterrupted_run_bills(tmp_path: Path) -> None:
    crashed, reference = tmp_path / "crashed.sqlite", tmp_path / "reference.sqlite"
    counter = itertools.count(1)
    store = SqlStore(crashed)
    try:
        engine = BillingEngine(store, TestClock(T0), ids=lambda p: f"{p}_setup{next(counter):06d}")
        kinds = populate(engine, SUBSCRIPTIONS)
    finally:
        store.close()
    with (
        contextlib.closing(sqlite3.connect(crashed)) as src,
        contextlib.closing(sqlite3.connect(reference)) as dst,
    ):
        src.backup(dst)
    initial = _count_invoices(crashed)
    assert snapshot(crashed) == snapshot(reference)

    # The uninterrupted run; its duration (printed, never asserted) scales the kill delays.
    proc = _worker(reference)
    _wait_until_ready(proc)
    t0 = time.perf_counter()
    proc.wait(timeout=300)
    span = time.perf_counter() - t0
    expected_report = _report(proc)
    expected = snapshot(reference)
    final = len(expected["invoices"])
    assert expected_report["invoices"] == final - initial > SUBSCRIPTIONS * 6
    # The year exercised what the setup promised: renewals, mid-period changes invoiced now,
    # credits (negative lines), pending items pulled into invoices, cancellations.
    reasons = Counter(inv[3] for inv in expected["invoices"])
    print(f"\ninvoices by reason: {dict(reasons)}; balances: {sum(expected['balances'].values())}")
    assert reasons["subscription_cycle"] > 0 and reasons["subscription_update"] > 0
    assert any(min(inv[4], default=0) < 0 for inv in expected["invoices"])
    assert any(status == "invoiced" for _, status, _ in expected["items"])
    assert any(s[0] == "canceled" for s in expected["subscriptions"].values())

    rnd = random.Random(SEED)
    progress = [initial]
    mid_run = 0
    for _ in range(KILLS):
        proc = _worker(crashed)
        if rnd.random() < 0.15:
            delay = rnd.uniform(0, 0.5)  # while it starts up and opens the store
        else:
            _wait_until_ready(proc)
            # Somewhere in what is left to do: each run gets part of the way, the next goes on.
            delay = rnd.uniform(0, 0.3 * span * (final - progress[-1]) / (final - initial))
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            mid_run += 1
            proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode in (0, -signal.SIGKILL), err
        progress.append(_count_invoices(crashed))
    resumed_report = _run_to_completion(crashed)
    got = snapshot(crashed)
    print(
        f"\n{kinds}\nreference run {span:.2f}s, {final - initial} invoices; {mid_run}/{KILLS} kills mid-run; "
        f"invoices after each kill: {progress}; the last run billed {resumed_report['invoices']}"
    )

    assert mid_run >= KILLS // 2
    assert sum(initial < p < final for p in progress) >= 3, "too few kills landed after partial progress"
    assert progress == sorted(progress)  # committed work is never lost
    assert got["invoices"] == expected["invoices"]
    assert len(set(got["invoices"])) == len(got["invoices"])
    n = len(got["numbers"])
    assert got["numbers"] == expected["numbers"] == [f"INV-{k:06d}" for k in range(1, n + 1)]
    assert got["sequences"] == expected["sequences"] == {"INV": n}
    assert got["subscriptions"] == expected["subscriptions"]
    assert got["claims"] == expected["claims"]
    assert got["balances"] == expected["balances"]
    assert got["items"] == expected["items"]
    assert got["events"] == expected["events"]
    # The year really was billed: every subscription reached its last state.
    assert all(s[4] is None or s[4] > STEPS[-1] for s in got["subscriptions"].values())
