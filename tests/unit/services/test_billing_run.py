"""A billing run is an object per ``advance``: one engine shared by threads bills each period once."""

from __future__ import annotations

import itertools
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest

from subkit.core.events import Event, EventType
from subkit.invoice.discounts import Coupon
from subkit.invoice.invoice import Invoice
from subkit.services.engine import AdvanceReport, BillingConfig, BillingEngine
from subkit.testing import InMemoryStore, TestClock

from ...scenarios.conftest import catalog

T0 = datetime(2027, 1, 1, tzinfo=UTC)
UNTIL = datetime(2027, 4, 1, 12, tzinfo=UTC)  # three renewals for each subscription
SUBS = 60


def _engine(batch_size: int = 7) -> BillingEngine:
    counter = itertools.count(1)
    engine = BillingEngine(
        InMemoryStore(),
        TestClock(T0),
        config=BillingConfig(batch_size=batch_size),
        ids=lambda p: f"{p}_{next(counter):05d}",
    )
    engine.set_catalog(catalog())
    engine.add_coupon(Coupon(id="Q3", percent_off="25", duration="repeating", duration_cycles=3))
    for n in range(SUBS):
        cus = engine.create_customer(name=f"C{n}", currency="USD")
        plan = ("basic", "seats", "team")[n % 3]
        coupon = "Q3" if n % 5 == 0 else None
        engine.subscribe(
            cus.id, plan, 1 + n % 4, id=f"sub_{n:03d}", at=T0 + timedelta(minutes=n), coupon=coupon
        )
    return engine


def test_two_threads_on_one_engine_bill_every_period_exactly_once() -> None:
    engine = _engine()
    dispatched: list[str] = []
    engine.bus.subscribe(EventType.INVOICE_FINALIZED, lambda e: dispatched.append(e.subject_id))
    reports: list[AdvanceReport] = []
    barrier = threading.Barrier(2)

    def worker() -> None:
        barrier.wait()
        reports.append(engine.advance(UNTIL))

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often: the two runs interleave closely
    try:
        threads = [threading.Thread(target=worker) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)

    renewals = [i for i in engine.invoices() if i.created_at > T0 + timedelta(days=1)]
    assert len(renewals) == 3 * SUBS
    assert len({(i.subscription_id, i.period_start) for i in renewals}) == 3 * SUBS
    assert sum(r.invoices for r in reports) == 3 * SUBS
    assert sorted(rid for r in reports for rid in r.invoice_ids) == sorted(i.id for i in renewals)
    assert all(r.errors == [] for r in reports)
    numbers = sorted(i.number or "" for i in engine.invoices())
    assert numbers == [f"INV-{n:06d}" for n in range(1, 4 * SUBS + 1)]  # gap-free, none twice
    with engine.store.begin() as uow:
        for n in range(SUBS):
            assert all(uow.claimed(f"cycle:sub_{n:03d}:{c}") for c in range(4))
            assert not uow.claimed(f"cycle:sub_{n:03d}:4")
    # Every committed open invoice was dispatched once, and nothing rolled back was.
    assert sorted(dispatched) == sorted(i.id for i in renewals)
    assert engine.advance(UNTIL).actions == 0


def _held(engine: BillingEngine) -> dict[str, tuple[int, int | None]]:
    """Every attribute the engine, its services and their shared context hold: identity and size."""
    found: dict[str, tuple[int, int | None]] = {}
    stack: list[tuple[str, object]] = [("engine", engine)]
    while stack:
        path, obj = stack.pop()
        names = set(getattr(obj, "__dict__", {}))
        names.update(s for c in type(obj).__mro__ for s in getattr(c, "__slots__", ()))
        for name in sorted(names):
            value = object.__getattribute__(obj, name)
            size = len(value) if isinstance(value, (list, dict, set, tuple)) else None
            found[f"{path}.{name}"] = (id(value), size)
            if type(value).__module__.startswith("subkit.services") and f"{path}.{name}".count(".") < 4:
                stack.append((f"{path}.{name}", value))
    return found


def test_the_engine_keeps_no_state_of_a_run_or_an_operation() -> None:
    engine = _engine(batch_size=5)
    engine.bus.subscribe(EventType.INVOICE_FINALIZED, lambda e: None)
    with pytest.deprecated_call():
        _ = engine.after_finalize
    before = _held(engine)
    assert any(k.endswith("._ctx") for k in before) and len(before) > 10
    report = engine.advance(UNTIL)
    assert report.invoices == 3 * SUBS
    engine.preview_change("sub_001", "pro", at=UNTIL)
    assert engine.upcoming_invoice("sub_001") is not None
    engine.subscribe(engine.create_customer(name="Z", currency="USD").id, "basic", coupon="Q3")
    assert _held(engine) == before


def test_a_coupon_changed_between_two_operations_is_read_fresh() -> None:
    engine = BillingEngine(InMemoryStore(), TestClock(T0))
    engine.set_catalog(catalog())
    engine.add_coupon(Coupon(id="OFF", percent_off="20", duration="forever"))
    cus = engine.create_customer(name="A", currency="USD")
    sub = engine.subscribe(cus.id, "basic", coupon="OFF")
    engine.advance(datetime(2027, 2, 1, tzinfo=UTC))
    with engine.store.begin() as uow:  # e.g. another worker or an admin tool corrects the coupon
        coupon = uow.get(Coupon, "OFF")
        uow.update(coupon.model_copy(update={"percent_off": 50, "version": coupon.version + 1}))
    engine.advance(datetime(2027, 3, 1, tzinfo=UTC))
    assert [i.total_minor for i in engine.invoices(subscription_id=sub.id)] == [800, 800, 500]
    upcoming = engine.upcoming_invoice(sub.id)
    assert upcoming is not None and upcoming.total_minor == 500


def test_dispatched_events_name_the_invoice() -> None:
    engine = _engine()
    seen: list[Event] = []
    engine.bus.subscribe(EventType.INVOICE_FINALIZED, seen.append)
    report = engine.advance(UNTIL)
    assert [e.subject_id for e in seen] == report.invoice_ids
    with engine.store.begin() as uow:
        invoices = [uow.get(Invoice, e.subject_id) for e in seen]
    assert all(
        e.data["number"] == i.number and e.customer_id == i.customer_id
        for e, i in zip(seen, invoices, strict=True)
    )


def test_freeze_heap_freezes_only_while_the_run_lasts_and_bills_the_same() -> None:
    import gc

    seen: list[int] = []
    books = []
    for freeze in (False, True):
        engine = _engine(batch_size=5)
        engine.config = BillingConfig(batch_size=5, freeze_heap=freeze)
        engine.bus.subscribe(EventType.INVOICE_FINALIZED, lambda e: seen.append(gc.get_freeze_count()))
        report = engine.advance(UNTIL)
        assert gc.get_freeze_count() == 0  # thawed when the run ends
        books.append(sorted(engine.invoices(), key=lambda i: i.number or ""))
        assert report.invoices == 3 * SUBS
    plain, frozen = books
    assert [(i.number, i.total_minor) for i in plain] == [(i.number, i.total_minor) for i in frozen]
    # Handlers run after each batch's commit, inside the run: frozen only in the second run.
    assert seen[: 3 * SUBS] == [0] * (3 * SUBS) and min(seen[3 * SUBS :]) > 0


def test_the_collector_is_paused_while_a_batch_runs_by_default_and_on_between_batches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import gc

    from subkit.services import billing_run

    for pause in (True, False):
        during: list[bool] = []
        between: list[bool] = []
        real = billing_run.run_due_actions

        def spy(*args: object, _real: object = real, _during: list[bool] = during) -> object:
            _during.append(gc.isenabled())
            return _real(*args)  # type: ignore[operator]

        monkeypatch.setattr(billing_run, "run_due_actions", spy)
        engine = _engine(batch_size=5)
        engine.config = BillingConfig(batch_size=5, pause_gc=pause)
        engine.bus.subscribe(EventType.INVOICE_FINALIZED, lambda e, _b=between: _b.append(gc.isenabled()))
        assert engine.advance(UNTIL).invoices == 3 * SUBS
        assert during and set(during) == {not pause}
        assert set(between) == {True}  # handlers run after each batch's commit: collector on
        assert gc.isenabled()
