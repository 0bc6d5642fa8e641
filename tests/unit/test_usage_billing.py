"""Metered usage end to end: events, metrics, rating lines, quarantine; every number computed by hand."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from subkit.adapters.storage.memory import InMemoryStore
from subkit.adapters.storage.sql import SqlStore
from subkit.catalog.catalog import Catalog, Plan, Product
from subkit.catalog.metrics import BillableMetric
from subkit.catalog.pricing import FlatFee, Graduated, Package, Percentage, PerUnit, Tier, Volume
from subkit.core.clock import TestClock
from subkit.errors import (
    NaiveDatetimeError,
    NotFoundError,
    UnknownMetricError,
    UsageConflictError,
    ValidationError,
)
from subkit.invoice.invoice import LineKind
from subkit.ports import Store
from subkit.services.context import BillingConfig
from subkit.services.engine import BillingEngine

JAN = datetime(2027, 1, 1, tzinfo=UTC)
FEB = datetime(2027, 2, 1, tzinfo=UTC)
SRC = Path(__file__).resolve().parents[2] / "src"

METRICS = (
    BillableMetric(code="storage", aggregation="weighted_sum", field="gb", unit="GB"),
    BillableMetric(code="calls", aggregation="sum", field="n", group_by="region"),
    BillableMetric(code="seats", aggregation="unique_count", field="user"),
    BillableMetric(code="peak", aggregation="max", field="cpu"),
    BillableMetric(code="pay", aggregation="sum", field="amount"),
    BillableMetric(code="eu_calls", aggregation="count", filters={"region": ("eu",)}),
)


def _plan(id: str, metric: str, price: object) -> Plan:
    return Plan(id=id, product_id="app", name=id.title(), metric=metric, prices={"USD": price})


def _engine(
    store: Store | None = None, *, quarantine: bool = False, plans: tuple[Plan, ...] = ()
) -> BillingEngine:
    engine = BillingEngine(
        store or InMemoryStore(), TestClock(JAN), config=BillingConfig(usage_quarantine=quarantine)
    )
    engine.set_catalog(
        Catalog(
            products=(Product(id="app", name="App"),),
            plans=(
                Plan(id="base", product_id="app", name="Base", prices={"USD": FlatFee(flat_amount="10")}),
                *plans,
            ),
            metrics=METRICS,
        )
    )
    return engine


def _usage_lines(engine: BillingEngine, sub_id: str) -> list[tuple[str, Decimal, int]]:
    inv = engine.invoices(subscription_id=sub_id)[-1]
    return [(ln.description, ln.quantity, ln.amount_minor) for ln in inv.lines if ln.kind == LineKind.USAGE]


def test_weighted_sum_billed_in_gb_months_with_carry_over() -> None:
    e = _engine(plans=(_plan("disk", "storage", PerUnit(unit_amount="0.10")),))
    cus = e.create_customer(name="Ada", currency="USD")
    sub = e.subscribe(cus.id, items=[("base", 1), ("disk", 0)], at=JAN, id="sub_1")
    # January (31 days): +31 GB on Jan 1, +62 GB on Jan 17 (15 days left). Average level:
    # 31 + 62 * 15 / 31 = 31 + 30 = 61 GB-month; at 0.10: 6.10
    e.record_usage(sub.id, "storage", 31, at=JAN, id="s1")
    e.record_usage(sub.id, "storage", 62, at=datetime(2027, 1, 17, tzinfo=UTC), id="s2")
    e.advance(FEB)
    assert _usage_lines(e, sub.id) == [("Disk (GB-month)", Decimal(61), 610)]
    # February: -53 GB on Feb 15 (14 of 28 days at 93 GB, 14 at 40): (93 + 40) / 2 = 66.5 GB-month
    e.record_usage(sub.id, "storage", -53, at=datetime(2027, 2, 15, tzinfo=UTC), id="s3")
    e.advance(datetime(2027, 3, 1, tzinfo=UTC))
    assert _usage_lines(e, sub.id) == [("Disk (GB-month)", Decimal("66.5"), 665)]


def test_price_per_region_and_filters() -> None:
    e = _engine(
        plans=(
            _plan("api", "calls", PerUnit(unit_amount="0.01")),
            _plan("eu", "eu_calls", PerUnit(unit_amount="1")),
        )
    )
    cus = e.create_customer(name="Ada", currency="USD")
    sub = e.subscribe(cus.id, items=[("base", 1), ("api", 0), ("eu", 0)], at=JAN)
    at = datetime(2027, 1, 5, tzinfo=UTC)
    e.ingest_usage(
        [
            {
                "id": "a",
                "subscription_id": sub.id,
                "metric": "calls",
                "timestamp": at,
                "properties": {"n": 100, "region": "eu"},
            },
            {
                "id": "b",
                "subscription_id": sub.id,
                "metric": "calls",
                "timestamp": at,
                "properties": {"n": 50, "region": "us"},
            },
            {
                "id": "c",
                "subscription_id": sub.id,
                "metric": "calls",
                "timestamp": at,
                "properties": {"n": 25, "region": "eu"},
            },
            {
                "id": "d",
                "subscription_id": sub.id,
                "metric": "eu_calls",
                "timestamp": at,
                "properties": {"region": "eu"},
            },
            {
                "id": "f",
                "subscription_id": sub.id,
                "metric": "eu_calls",
                "timestamp": at,
                "properties": {"region": "us"},
            },
        ]
    )
    e.advance(FEB)
    # eu: 125 calls x 0.01 = 1.25; us: 50 x 0.01 = 0.50; eu_calls counts only region eu: 1 x 1.00
    assert _usage_lines(e, sub.id) == [
        ("Api (calls, region eu)", Decimal(125), 125),
        ("Api (calls, region us)", Decimal(50), 50),
        ("Eu (eu_calls)", Decimal(1), 100),
    ]


@pytest.mark.parametrize(
    ("price", "minor"),
    [
        (Package(package_size=1000, package_amount="5", free_units=500), 1500),  # 2600-500=2100 -> 3 packs
        (Graduated(tiers=(Tier(up_to=1000, unit_amount="0"), Tier(up_to=None, unit_amount="0.01"))), 1600),
        (Volume(tiers=(Tier(up_to=1000, unit_amount="0.02"), Tier(up_to=None, unit_amount="0.01"))), 2600),
    ],
)
def test_pricing_models_on_metered_usage(price: object, minor: int) -> None:
    e = _engine(plans=(_plan("api", "calls", price),))
    cus = e.create_customer(name="Ada", currency="USD")
    sub = e.subscribe(cus.id, items=[("base", 1), ("api", 0)], at=JAN)
    e.record_usage(sub.id, "calls", properties={"n": 2600}, at=datetime(2027, 1, 3, tzinfo=UTC), id="e1")
    e.advance(FEB)
    assert [m for _, _, m in _usage_lines(e, sub.id)] == [minor]


def test_percentage_with_fixed_fee_and_bounds_per_transaction() -> None:
    price = Percentage(rate="2.9", fixed_fee="0.30", max_per_transaction="5")
    e = _engine(plans=(_plan("pay", "pay", price),))
    cus = e.create_customer(name="Ada", currency="USD")
    sub = e.subscribe(cus.id, items=[("base", 1), ("pay", 0)], at=JAN)
    for n, amount in enumerate(["100.00", "10.00", "1000.00"]):
        e.record_usage(sub.id, "pay", amount, at=datetime(2027, 1, 3 + n, tzinfo=UTC), id=f"p{n}")
    e.advance(FEB)
    # 2.90 + 0.30 = 3.20; 0.29 + 0.30 = 0.59; 29.00 + 0.30 capped at 5.00: total 8.79
    assert _usage_lines(e, sub.id) == [("Pay (pay)", Decimal("1110.00"), 879)]


def test_unique_count_and_max() -> None:
    e = _engine(
        plans=(
            _plan("seat", "seats", PerUnit(unit_amount="4")),
            _plan("cpu", "peak", PerUnit(unit_amount="3")),
        )
    )
    cus = e.create_customer(name="Ada", currency="USD")
    sub = e.subscribe(cus.id, items=[("base", 1), ("seat", 0), ("cpu", 0)], at=JAN)
    for n, user in enumerate(["ann", "bob", "ann", "cy"]):
        e.record_usage(
            sub.id, "seats", properties={"user": user}, at=datetime(2027, 1, 2 + n, tzinfo=UTC), id=f"u{n}"
        )
    for n, cpu in enumerate(["2", "7.5", "4"]):
        e.record_usage(sub.id, "peak", cpu, at=datetime(2027, 1, 2 + n, tzinfo=UTC), id=f"c{n}")
    e.advance(FEB)
    # 3 distinct users x 4.00 = 12.00; max 7.5 CPUs x 3.00 = 22.50
    assert _usage_lines(e, sub.id) == [
        ("Seat (seats)", Decimal(3), 1200),
        ("Cpu (peak)", Decimal("7.5"), 2250),
    ]


def test_periods_follow_the_customer_time_zone() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    e = _engine(plans=(_plan("api", "calls", PerUnit(unit_amount="1")),))
    cus = e.create_customer(name="Aki", currency="USD", timezone="Asia/Tokyo")
    start = datetime(2027, 1, 1, tzinfo=tokyo)  # 2026-12-31 15:00 UTC
    sub = e.subscribe(cus.id, items=[("base", 1), ("api", 0)], at=start)
    assert sub.period_end == datetime(2027, 2, 1, tzinfo=tokyo)
    # Jan 31 23:30 in Tokyo is Jan 31 14:30 UTC: January. Feb 1 08:00 Tokyo is Jan 31 23:00 UTC: February.
    e.record_usage(
        sub.id, "calls", properties={"n": 2}, at=datetime(2027, 1, 31, 23, 30, tzinfo=tokyo), id="in"
    )
    e.record_usage(sub.id, "calls", properties={"n": 5}, at=datetime(2027, 2, 1, 8, tzinfo=tokyo), id="out")
    e.advance(datetime(2027, 2, 1, tzinfo=tokyo))
    assert _usage_lines(e, sub.id) == [("Api (calls)", Decimal(2), 200)]


def test_duplicates_conflicts_and_unknown_metrics() -> None:
    e = _engine(plans=(_plan("api", "calls", PerUnit(unit_amount="1")),))
    cus = e.create_customer(name="Ada", currency="USD")
    sub = e.subscribe(cus.id, items=[("base", 1), ("api", 0)], at=JAN)
    first = e.record_usage(sub.id, "calls", properties={"n": 3}, at=JAN, id="e1")
    again = e.record_usage(sub.id, "calls", properties={"n": 3}, at=JAN, id="e1")
    assert (first.duplicate, again.duplicate, again.quantity) == (False, True, 3)
    with pytest.raises(UsageConflictError, match="other content"):
        e.record_usage(sub.id, "calls", properties={"n": 4}, at=JAN, id="e1")
    with pytest.raises(UnknownMetricError, match="'cals'"):
        e.record_usage(sub.id, "cals", 3, id="e2")
    with pytest.raises(NotFoundError, match="sub_nope"):
        e.record_usage("sub_nope", "calls", properties={"n": 3}, id="e3")
    with pytest.raises(ValidationError, match="negative"):
        e.record_usage(sub.id, "calls", properties={"n": -3}, id="e4")
    with pytest.raises(ValidationError, match="float"):
        e.record_usage(sub.id, "calls", properties={"n": 1.5}, id="e5")
    with pytest.raises(NaiveDatetimeError):
        e.ingest_usage(
            [
                {
                    "id": "e7",
                    "subscription_id": sub.id,
                    "metric": "calls",
                    "timestamp": datetime(2027, 1, 2),
                    "properties": {"n": 1},
                }
            ]
        )
    result = e.ingest_usage(
        [
            {
                "id": "e1",
                "subscription_id": sub.id,
                "metric": "calls",
                "timestamp": JAN,
                "properties": {"n": 3},
            },
            {"id": "e6", "customer_id": cus.id, "metric": "calls", "timestamp": JAN, "properties": {"n": 1}},
        ]
    )
    assert (result.accepted, result.duplicates) == (1, ("e1",))  # e6 found its subscription by customer
    assert {k: m.total for k, m in e.current_usage(sub.id, at=FEB).items()} == {sub.items[1].id: 4}


def test_quarantine_keeps_refused_events_and_replays_them() -> None:
    e = _engine(quarantine=True, plans=(_plan("api", "calls", PerUnit(unit_amount="1")),))
    cus = e.create_customer(name="Ada", currency="USD")
    sub = e.subscribe(cus.id, items=[("base", 1), ("api", 0)], at=JAN)
    held = e.record_usage(sub.id, "minutes", 7, at=JAN, id="m1")
    assert held.quarantined
    result = e.ingest_usage(
        [
            {
                "id": "m2",
                "subscription_id": "sub_late",
                "metric": "calls",
                "timestamp": JAN,
                "properties": {"n": 2},
            }
        ]
    )
    assert result.quarantined == 1
    assert sorted((q.id, q.reason) for q in e.quarantined_usage()) == [
        ("m1", "unknown_metric"),
        ("m2", "not_found"),
    ]
    assert e.replay_quarantined_usage().quarantined == 2  # nothing fixed yet
    e.subscribe(cus.id, "api", at=JAN, id="sub_late")
    replay = e.replay_quarantined_usage()
    assert (replay.accepted, replay.quarantined) == (1, 1)
    assert [q.id for q in e.quarantined_usage()] == ["m1"]


def test_same_ids_from_two_processes_counted_once(tmp_path: Path) -> None:
    db = tmp_path / "usage.sqlite"
    e = _engine(SqlStore(str(db)), plans=(_plan("api", "calls", PerUnit(unit_amount="1")),))
    cus = e.create_customer(name="Ada", currency="USD")
    sub = e.subscribe(cus.id, items=[("base", 1), ("api", 0)], at=JAN, id="sub_1")
    script = textwrap.dedent(
        f"""
        import sys; sys.path.insert(0, {str(SRC)!r})
        from datetime import datetime, UTC, timedelta
        from subkit.adapters.storage.sql import SqlStore
        from subkit.core.clock import TestClock
        from subkit.services.engine import BillingEngine
        e = BillingEngine(SqlStore({str(db)!r}), TestClock(datetime(2027, 1, 1, tzinfo=UTC)))
        events = [{{"id": f"e{{n}}", "subscription_id": "sub_1", "metric": "calls",
                   "timestamp": datetime(2027, 1, 2, tzinfo=UTC) + timedelta(minutes=n),
                   "properties": {{"n": 1}}}} for n in range(2000)]
        r = e.ingest_usage(events, chunk_size=100)
        print(r.accepted, len(r.duplicates))
        """
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) for _ in range(2)
    ]
    outs = [p.communicate(timeout=120)[0].split() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    accepted = [int(o[0]) for o in outs]
    duplicates = [int(o[1]) for o in outs]
    assert sum(accepted) == 2000 and sum(duplicates) == 2000  # each event stored by exactly one process
    e.advance(FEB)
    assert _usage_lines(e, sub.id) == [("Api (calls)", Decimal(2000), 200000)]


def test_events_arriving_in_order_of_ingestion_do_not_change_latest() -> None:
    # latest = the event with the latest timestamp, whatever order events arrive in
    e = _engine(
        plans=(
            Plan(
                id="lvl",
                product_id="app",
                name="Level",
                metric="level",
                prices={"USD": PerUnit(unit_amount="1")},
            ),
        )
    )
    e.set_catalog(
        e.catalog.model_copy(
            update={"metrics": (*METRICS, BillableMetric(code="level", aggregation="latest", field="v"))}
        )
    )
    cus = e.create_customer(name="Ada", currency="USD")
    sub = e.subscribe(cus.id, items=[("base", 1), ("lvl", 0)], at=JAN)
    e.record_usage(sub.id, "level", properties={"v": 9}, at=datetime(2027, 1, 20, tzinfo=UTC), id="late_ts")
    e.record_usage(sub.id, "level", properties={"v": 4}, at=datetime(2027, 1, 10, tzinfo=UTC), id="early_ts")
    e.advance(FEB)
    assert _usage_lines(e, sub.id) == [("Level (level)", Decimal(9), 900)]


def test_current_usage_any_moment() -> None:
    e = _engine(plans=(_plan("api", "calls", PerUnit(unit_amount="1")),))
    cus = e.create_customer(name="Ada", currency="USD")
    sub = e.subscribe(cus.id, items=[("base", 1), ("api", 0)], at=JAN)
    e.record_usage(sub.id, "calls", properties={"n": 5}, at=datetime(2027, 1, 3, tzinfo=UTC), id="a")
    e.record_usage(sub.id, "calls", properties={"n": 7}, at=datetime(2027, 1, 20, tzinfo=UTC), id="b")
    item = sub.items[1].id
    assert e.current_usage(sub.id, at=datetime(2027, 1, 10, tzinfo=UTC))[item].total == 5
    assert e.current_usage(sub.id, at=datetime(2027, 1, 25, tzinfo=UTC))[item].total == 12
    upcoming = e.upcoming_invoice(sub.id)
    assert upcoming is not None
    assert [ln.amount_minor for ln in upcoming.lines if ln.kind == LineKind.USAGE] == [1200]


def test_late_events_go_to_the_next_invoice_as_labelled_adjustments() -> None:
    e = _engine(plans=(_plan("api", "calls", PerUnit(unit_amount="0.01")),))
    cus = e.create_customer(name="Ada", currency="USD")
    sub = e.subscribe(cus.id, items=[("base", 1), ("api", 0)], at=JAN, id="sub_1")
    e.record_usage(sub.id, "calls", properties={"n": 4000}, at=datetime(2027, 1, 10, tzinfo=UTC), id="j1")
    e.advance(FEB)
    january_bill = e.invoices(subscription_id=sub.id)[-1]
    assert _usage_lines(e, sub.id) == [("Api (calls)", Decimal(4000), 4000)]
    # February 10: an event of January 20 arrives, after January's invoice was finalized
    e.clock.travel_to(datetime(2027, 2, 10, tzinfo=UTC))
    e.record_usage(sub.id, "calls", properties={"n": 500}, at=datetime(2027, 1, 20, tzinfo=UTC), id="late1")
    e.record_usage(sub.id, "calls", properties={"n": 100}, at=datetime(2027, 2, 12, tzinfo=UTC), id="f1")
    e.advance(datetime(2027, 3, 1, tzinfo=UTC))
    assert e.get_invoice(january_bill.id).total_minor == january_bill.total_minor  # never re-billed
    # March 1 invoice: February's 100 calls (1.00) and January's late 500 calls (5.00), labelled
    assert _usage_lines(e, sub.id) == [
        ("Api (calls)", Decimal(100), 100),
        ("Late usage 2027-01-01 - 2027-02-01: Api (calls)", Decimal(500), 500),
    ]
    # April 1: nothing late any more, nothing billed twice
    e.advance(datetime(2027, 4, 1, tzinfo=UTC))
    assert _usage_lines(e, sub.id) == []


def test_late_event_two_periods_back_with_graduated_price_bills_the_difference() -> None:
    price = Graduated(tiers=(Tier(up_to=1000, unit_amount="0"), Tier(up_to=None, unit_amount="0.01")))
    e = _engine(plans=(_plan("api", "calls", price),))
    cus = e.create_customer(name="Ada", currency="USD")
    sub = e.subscribe(cus.id, items=[("base", 1), ("api", 0)], at=JAN, id="sub_1")
    e.record_usage(sub.id, "calls", properties={"n": 800}, at=datetime(2027, 1, 10, tzinfo=UTC), id="j1")
    e.advance(datetime(2027, 3, 1, tzinfo=UTC))  # January: 800 calls, all free
    e.clock.travel_to(datetime(2027, 3, 5, tzinfo=UTC))
    e.record_usage(sub.id, "calls", properties={"n": 700}, at=datetime(2027, 1, 30, tzinfo=UTC), id="late")
    e.advance(datetime(2027, 4, 1, tzinfo=UTC))
    # January now 1500 calls: 1000 free + 500 x 0.01 = 5.00, of which 0.00 was billed: 700 more, 5.00
    assert _usage_lines(e, sub.id) == [("Late usage 2027-01-01 - 2027-02-01: Api (calls)", Decimal(700), 500)]


def test_grace_period_keeps_the_period_open_for_late_events() -> None:
    e = BillingEngine(InMemoryStore(), TestClock(JAN), config=BillingConfig(usage_grace=timedelta(days=3)))
    e.set_catalog(
        Catalog(
            products=(Product(id="app", name="App"),),
            plans=(
                Plan(id="base", product_id="app", name="Base", prices={"USD": FlatFee(flat_amount="10")}),
                _plan("api", "calls", PerUnit(unit_amount="0.01")),
            ),
            metrics=METRICS,
        )
    )
    cus = e.create_customer(name="Ada", currency="USD")
    sub = e.subscribe(cus.id, items=[("base", 1), ("api", 0)], at=JAN, id="sub_1")
    e.record_usage(sub.id, "calls", properties={"n": 300}, at=datetime(2027, 1, 10, tzinfo=UTC), id="a")
    e.advance(FEB)
    renewal = e.invoices(subscription_id=sub.id)[-1]
    assert [ln.kind for ln in renewal.lines] == [LineKind.RECURRING]  # January's usage is held open
    # February 2, within the grace period: an event of January 31 still counts for January
    e.clock.travel_to(datetime(2027, 2, 2, tzinfo=UTC))
    e.record_usage(sub.id, "calls", properties={"n": 200}, at=datetime(2027, 1, 31, tzinfo=UTC), id="b")
    e.advance(datetime(2027, 2, 4, tzinfo=UTC))
    usage_bill = e.invoices(subscription_id=sub.id)[-1]
    assert usage_bill.period_start == JAN and usage_bill.period_end == FEB
    assert [(ln.description, ln.quantity, ln.amount_minor) for ln in usage_bill.lines] == [
        ("Api (calls)", Decimal(500), 500)
    ]
    # after the grace period: a January event is an adjustment on the next invoice, billed once
    e.clock.travel_to(datetime(2027, 2, 10, tzinfo=UTC))
    e.record_usage(sub.id, "calls", properties={"n": 50}, at=datetime(2027, 1, 31, tzinfo=UTC), id="c")
    e.advance(datetime(2027, 3, 1, tzinfo=UTC))
    e.advance(datetime(2027, 3, 4, tzinfo=UTC))
    march = e.invoices(subscription_id=sub.id)[-1]  # February had no usage: no usage invoice for it
    assert march.period_start == datetime(2027, 3, 1, tzinfo=UTC)
    assert [(ln.description, ln.amount_minor) for ln in march.lines if ln.kind == LineKind.USAGE] == [
        ("Late usage 2027-01-01 - 2027-02-01: Api (calls)", 50)
    ]


def test_dst_period_in_new_york_and_a_leap_february() -> None:
    ny = ZoneInfo("America/New_York")
    e = _engine(
        plans=(
            _plan("disk", "storage", PerUnit(unit_amount="0.10")),
            _plan("api", "calls", PerUnit(unit_amount="1")),
        )
    )
    cus = e.create_customer(name="Ny", currency="USD", timezone="America/New_York")
    start = datetime(2027, 3, 1, tzinfo=ny)
    sub = e.subscribe(cus.id, items=[("base", 1), ("disk", 0), ("api", 0)], at=start)
    assert sub.period_end == datetime(2027, 4, 1, tzinfo=ny)  # 743 hours: clocks go forward on March 14
    e.record_usage(sub.id, "calls", properties={"n": 1}, at=datetime(2027, 3, 31, 23, 30, tzinfo=ny), id="in")
    e.record_usage(sub.id, "calls", properties={"n": 5}, at=datetime(2027, 4, 1, 0, 30, tzinfo=ny), id="out")
    # +10 GB at March 16 00:00 local, for 16 x 24 = 384 of the period's 743 hours:
    # 10 x 384 / 743 = 5.168236877... GB-month (to 9 places: 5.168236878), x 0.10 = 0.52
    e.record_usage(sub.id, "storage", 10, at=datetime(2027, 3, 16, tzinfo=ny), id="gb")
    e.advance(datetime(2027, 4, 1, tzinfo=ny))
    assert _usage_lines(e, sub.id) == [
        ("Disk (GB-month)", Decimal("5.168236878"), 52),
        ("Api (calls)", Decimal(1), 100),
    ]


def test_weighted_sum_in_a_leap_february() -> None:
    e = _engine(plans=(_plan("disk", "storage", PerUnit(unit_amount="1")),))
    cus = e.create_customer(name="Lea", currency="USD")
    feb = datetime(2028, 2, 1, tzinfo=UTC)
    sub = e.subscribe(cus.id, items=[("base", 1), ("disk", 0)], at=feb)
    # +29 GB on February 15, 2028: 15 of the 29 days (15 to 29 inclusive) = 15 GB-month exactly
    e.record_usage(sub.id, "storage", 29, at=datetime(2028, 2, 15, tzinfo=UTC), id="gb")
    e.advance(datetime(2028, 3, 1, tzinfo=UTC))
    assert _usage_lines(e, sub.id) == [("Disk (GB-month)", Decimal(15), 1500)]


def test_a_retry_without_a_time_is_the_same_event() -> None:
    e = _engine(plans=(_plan("api", "calls", PerUnit(unit_amount="1")),))
    cus = e.create_customer(name="Ada", currency="USD")
    sub = e.subscribe(cus.id, items=[("base", 1), ("api", 0)], at=JAN)
    e.clock.travel_to(datetime(2027, 1, 5, tzinfo=UTC))
    first = e.record_usage(sub.id, "calls", properties={"n": 3}, id="r1")  # timed by subkit
    e.clock.travel_to(datetime(2027, 1, 5, 0, 0, 30, tzinfo=UTC))
    again = e.record_usage(sub.id, "calls", properties={"n": 3}, id="r1")  # the retry, 30 s later
    assert (first.duplicate, again.duplicate, again.timestamp) == (False, True, first.timestamp)
    with pytest.raises(UsageConflictError):
        e.record_usage(sub.id, "calls", properties={"n": 4}, id="r1")
    assert [ev.id for ev in e.usage_events(sub.id)] == ["r1"]
