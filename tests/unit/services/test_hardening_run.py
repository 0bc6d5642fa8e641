"""Issue 10: the billing run numbers invoices in issue order and isolates a broken subscription."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from subkit.adapters.storage.sql import SqlStore
from subkit.services.context import BillingConfig
from subkit.services.engine import BillingEngine
from subkit.subscription.model import Subscription
from subkit.testing import InMemoryStore, TestClock

from ...scenarios.conftest import catalog


def _engine(batch_size: int = 1000, store: Any = None) -> tuple[BillingEngine, TestClock]:
    counter = itertools.count(1)
    clock = TestClock(datetime(2027, 1, 1, tzinfo=UTC))
    engine = BillingEngine(
        store if store is not None else InMemoryStore(),
        clock,
        config=BillingConfig(batch_size=batch_size),
        ids=lambda p: f"{p}_{next(counter):05d}",
    )
    engine.set_catalog(catalog())
    return engine, clock


def _two_subscriptions(batch_size: int, daily: bool) -> list[tuple[str, str, str]]:
    """s1 from Jan 1, s2 from Jan 15; then to Mar 20 in one jump or in daily steps."""
    engine, clock = _engine(batch_size)
    s1 = engine.subscribe(engine.create_customer(name="A", currency="USD").id, "basic").id
    clock.travel_to(datetime(2027, 1, 15, tzinfo=UTC))
    s2 = engine.subscribe(engine.create_customer(name="B", currency="USD").id, "basic").id
    end = datetime(2027, 3, 20, tzinfo=UTC)
    if daily:
        day = clock.now()
        while day < end:
            day += timedelta(days=1)
            clock.travel_to(day)
            engine.advance()
    else:
        clock.travel_to(end)
        engine.advance()
    names = {s1: "s1", s2: "s2"}
    return sorted(
        (
            i.number or "",
            names[i.subscription_id or ""],
            i.period_start.date().isoformat() if i.period_start else "",
        )
        for i in engine.invoices()
    )


@pytest.mark.parametrize("batch_size", [1, 1000])
def test_invoice_numbers_follow_issue_time_in_one_jump_as_in_daily_steps(batch_size: int) -> None:
    # Issue order by hand: s1 Jan 1, s2 Jan 15, s1 Feb 1, s2 Feb 15, s1 Mar 1, s2 Mar 15.
    expected = [
        ("INV-000001", "s1", "2027-01-01"),
        ("INV-000002", "s2", "2027-01-15"),
        ("INV-000003", "s1", "2027-02-01"),
        ("INV-000004", "s2", "2027-02-15"),
        ("INV-000005", "s1", "2027-03-01"),
        ("INV-000006", "s2", "2027-03-15"),
    ]
    assert _two_subscriptions(batch_size, daily=False) == expected
    assert _two_subscriptions(batch_size, daily=True) == expected


@pytest.mark.parametrize("batch_size", [1, 1000])
@pytest.mark.parametrize("sql", [False, True], ids=["memory", "sqlite"])
def test_one_broken_subscription_is_reported_and_never_blocks_the_others(
    batch_size: int, sql: bool, tmp_path: Path
) -> None:
    engine, clock = _engine(batch_size, SqlStore(f"sqlite:///{tmp_path / 'b.sqlite'}") if sql else None)
    ok = [engine.subscribe(engine.create_customer(name=n, currency="USD").id, "basic").id for n in "AB"]
    broken = engine.subscribe(engine.create_customer(name="C", currency="USD").id, "seats", 2).id
    # A value beyond today's bounds, stored before they existed (entry points refuse it now):
    # its renewal fails with decimal.InvalidOperation, not a SubkitError.
    with engine.store.begin() as uow:
        sub = uow.get(Subscription, broken)
        item = sub.items[0].model_copy(update={"quantity": Decimal("1e60")})
        uow.update(sub.bumped(items=(item,)))
    clock.travel_to(datetime(2027, 2, 1, tzinfo=UTC))
    report = engine.advance()
    assert [sid for sid, _, _ in report.errors] == [broken]
    for sid in ok:  # renewed: the Jan 1 invoice and the Feb 1 one, $10 each
        assert [i.total_minor for i in engine.invoices(subscription_id=sid)] == [1000, 1000]
    # the next run renews the others again and reports the broken one again, nothing more
    clock.travel_to(datetime(2027, 3, 1, tzinfo=UTC))
    report = engine.advance()
    assert [sid for sid, _, _ in report.errors] == [broken]
    for sid in ok:
        assert len(engine.invoices(subscription_id=sid)) == 3
