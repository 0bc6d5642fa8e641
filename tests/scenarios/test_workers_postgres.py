"""Four worker processes advance the same PostgreSQL database at once: every period is billed exactly once.

Needs ``SUBKIT_TEST_POSTGRES_URL`` (e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/test``);
the test runs in a fresh schema (``search_path``) and drops it afterwards.

Setup (one transaction, through ``SqlStore.from_connection``): 2,000 subscriptions
anchored at random instants of January 2027 (days 1-28, so no month-end clamping):

- monthly plans (flat, per-seat, graduated), some with coupons, some with a downgrade
  scheduled for the end of the first period: each renews on the anchor's day of
  February, March and April, so cycles 1, 2, 3 are due before ``UNTIL = 2027-05-01``;
- annual plans: nothing due before 2028;
- monthly plans cancelled at the end of the first period: they end in February, no
  renewal invoice;
- every tenth customer has two subscriptions and a credit balance both renewals draw
  on, so two workers race on the same customer row (the version column must catch it:
  the loser's batch rolls back and is redone one subscription per transaction).

Four worker processes (``subprocess``, see ``_crash_worker.py``) are
released together and each runs ``engine.advance`` through the same steps up to
``UNTIL`` with batches of 50 (``FOR UPDATE SKIP LOCKED`` hands them disjoint batches).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text

from subkit.adapters.storage.sql import SqlStore, make_engine
from subkit.core.periods import MONTHLY, cycle_period
from subkit.customer.customer import Customer
from subkit.invoice.discounts import Coupon
from subkit.invoice.invoice import BillingReason, Invoice
from subkit.services.engine import BillingEngine
from subkit.subscription.model import Subscription, SubscriptionStatus
from subkit.testing import TestClock

from ._crash_worker import command
from .conftest import catalog

pytestmark = pytest.mark.postgres

POSTGRES_URL = os.environ.get("SUBKIT_TEST_POSTGRES_URL")
HERE = Path(__file__).resolve().parent
T0 = datetime(2027, 1, 1, tzinfo=UTC)
UNTIL = datetime(2027, 5, 1, tzinfo=UTC)
STEPS = [
    datetime(2027, 2, 10, tzinfo=UTC),
    datetime(2027, 2, 20, tzinfo=UTC),
    datetime(2027, 3, 1, tzinfo=UTC),
    datetime(2027, 3, 15, tzinfo=UTC),
    datetime(2027, 4, 1, tzinfo=UTC),
    datetime(2027, 4, 15, tzinfo=UTC),
    UNTIL,
]
SUBSCRIPTIONS = 2000
WORKERS = 4
BATCH = 50
CREDIT = 50_000


@pytest.fixture
def schema() -> Iterator[tuple[str, str]]:
    """A fresh schema on the test server: yields (url, schema); drops it afterwards."""
    if not POSTGRES_URL:
        pytest.skip("set SUBKIT_TEST_POSTGRES_URL to run the multi-worker PostgreSQL test")
    name = f"t_{uuid.uuid4().hex}"
    admin = create_engine(POSTGRES_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{name}"'))
        try:
            yield POSTGRES_URL, name
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
    finally:
        admin.dispose()


def _engine(url: str, schema: str) -> Engine:
    return make_engine(url, connect_args={"options": f"-csearch_path={schema}"})


def populate(engine: BillingEngine, n: int, seed: int = 2027) -> dict[str, tuple[datetime, int]]:
    """``n`` subscriptions; returns ``{sub_id: (anchor, renewals due before UNTIL)}``."""
    rnd = random.Random(seed)
    engine.set_catalog(catalog())
    engine.add_coupon(Coupon(id="Q3", percent_off="25", duration="repeating", duration_cycles=3))
    engine.add_coupon(Coupon(id="FIVEOFF", amount_off={"USD": "5.00"}, duration="forever"))
    expected: dict[str, tuple[datetime, int]] = {}
    customer = ""
    for i in range(n):
        if i % 10 != 1:
            customer = engine.create_customer(id=f"cus_{i:05d}", name=f"C{i}", currency="USD").id
        else:  # a second subscription, and credit both renewals draw on: workers may race for it
            engine.update_customer(customer, credit_minor=CREDIT)
        anchor = T0 + timedelta(days=rnd.randrange(28), seconds=rnd.randrange(86_400))
        sub_id = f"sub_{i:05d}"
        coupon = rnd.choice([None, None, "Q3", "FIVEOFF"])
        r = rnd.random()
        if r < 0.10:
            engine.subscribe(customer, "annual", at=anchor, id=sub_id, coupon=coupon)
            expected[sub_id] = (anchor, 0)
            continue
        plan, qty = rnd.choice([("basic", 1), ("seats", rnd.randint(2, 30)), ("team", rnd.randint(1, 20))])
        engine.subscribe(customer, plan, qty, at=anchor, id=sub_id, coupon=coupon)
        if r < 0.18:
            engine.cancel(sub_id, at=anchor + timedelta(hours=1))  # ends at the first renewal
            expected[sub_id] = (anchor, 0)
        else:
            if r < 0.25 and plan != "basic":
                engine.change_plan(sub_id, quantity=1, when="period_end", at=anchor + timedelta(hours=1))
            expected[sub_id] = (anchor, 3)
    return expected


def _start(url: str, schema: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            *command(str(HERE), url, STEPS, batch_size=BATCH, schema=schema, wait_for_go=True),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if line != "ready":
        _, err = proc.communicate(timeout=60)
        pytest.fail(f"a worker died before it was ready:\n{line}\n{err}")
    return proc


@pytest.mark.slow
def test_four_workers_bill_every_period_exactly_once(schema: tuple[str, str]) -> None:
    url, name = schema
    db = _engine(url, name)
    try:
        counter = itertools.count(1)
        with db.connect() as conn, conn.begin():
            store = SqlStore.from_connection(conn)
            setup = BillingEngine(store, TestClock(T0), ids=lambda p: f"{p}_setup{next(counter):06d}")
            expected = populate(setup, SUBSCRIPTIONS)
        with SqlStore(db, create=False).begin() as uow:
            initial = len(uow.find(Invoice))
        assert initial == SUBSCRIPTIONS  # each subscription invoiced its first period, nothing more

        procs = [_start(url, name) for _ in range(WORKERS)]
        try:
            for p in procs:  # release them together
                assert p.stdin is not None
                p.stdin.write("go\n")
                p.stdin.flush()
            outputs = [p.communicate(timeout=300) for p in procs]
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.communicate()
        reports: list[dict[str, Any]] = []
        for p, (out, err) in zip(procs, outputs, strict=True):
            assert p.returncode == 0, err
            done = [ln for ln in out.splitlines() if ln.startswith("done ")]
            assert done, out + err
            reports.append(json.loads(done[0][5:]))
        print(f"\nworker reports: {reports}")

        with SqlStore(db, create=False).begin() as uow:
            invoices = uow.find(Invoice)
            subs = {s.id: s for s in uow.find(Subscription)}
            customers = uow.find(Customer)
        with db.connect() as conn:
            claims = {k for (k,) in conn.execute(text("SELECT key FROM subkit_claims"))}
            seq = conn.execute(text("SELECT value FROM subkit_sequences WHERE series = 'INV'")).scalar_one()
    finally:
        db.dispose()

    # Exactly one cycle invoice per subscription and period; none missing, none extra.
    want = {
        (sub_id, cycle_period(anchor, MONTHLY, k).start)
        for sub_id, (anchor, renewals) in expected.items()
        for k in range(1, renewals + 1)
    }
    renewals = [i for i in invoices if i.created_at > T0 + timedelta(days=31)]
    cycle = Counter(
        (i.subscription_id, i.period_start)
        for i in renewals
        if i.billing_reason == BillingReason.SUBSCRIPTION_CYCLE
    )
    duplicates = {k: c for k, c in cycle.items() if c > 1}
    assert duplicates == {}
    assert set(cycle) == want
    assert len(renewals) == len(want) == sum(r for _, r in expected.values())
    assert {f"cycle:{s}:{k}" for s, (_, r) in expected.items() for k in range(1, r + 1)} <= claims
    assert sum(r["invoices"] for r in reports) == len(want)
    assert all(r["errors"] == 0 for r in reports)

    # Gap-free numbering across the four workers (and the setup).
    numbers = sorted(i.number or "" for i in invoices)
    assert numbers == [f"INV-{k:06d}" for k in range(1, len(invoices) + 1)]
    assert seq == len(invoices)

    # The work was shared, and every subscription is where it should be.
    assert sum(1 for r in reports if r["invoices"] > 0) >= 2
    for sub_id, (anchor, renewals_due) in expected.items():
        sub = subs[sub_id]
        if renewals_due:
            assert (sub.status, sub.cycle) == (SubscriptionStatus.ACTIVE, 3), sub_id
            assert sub.period_start == cycle_period(anchor, MONTHLY, 3).start
    assert sum(s.status == SubscriptionStatus.CANCELED for s in subs.values()) == sum(
        1 for s in subs.values() if s.interval == MONTHLY and expected[s.id][1] == 0
    )
    # Credit was spent exactly once: what the invoices applied is what left the balances.
    shared = {f"cus_{i - 1:05d}" for i in range(SUBSCRIPTIONS) if i % 10 == 1}
    assert sum(1 for c in customers if c.id in shared and 0 < c.credit_minor < CREDIT) > 0
    applied: Counter[str] = Counter()
    for inv in invoices:
        applied[inv.customer_id] += inv.credit_applied_minor
    for c in customers:
        assert c.credit_minor + applied[c.id] == (CREDIT if c.id in shared else 0), c.id
