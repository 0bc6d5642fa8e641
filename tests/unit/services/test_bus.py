"""The event bus, and what the engine dispatches on it: open invoices, after commit, before the relay."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from subkit.core.events import Event, EventType
from subkit.invoice.discounts import Coupon
from subkit.invoice.invoice import InvoiceStatus
from subkit.services.bus import EventBus

from ...scenarios.conftest import World

AT = datetime(2027, 1, 1, tzinfo=UTC)


def _ev(type: EventType, subject: str) -> Event:
    return Event.of(type, AT, subject)


def test_subscribing_twice_is_a_no_op_and_handlers_run_in_order() -> None:
    bus, calls = EventBus(), []

    class Listener:
        def on(self, e: Event) -> None:
            calls.append(("method", e.subject_id))

    listener = Listener()
    bus.subscribe(EventType.INVOICE_FINALIZED, listener.on)
    bus.subscribe(EventType.INVOICE_FINALIZED, listener.on)  # a new bound method, equal: no-op
    bus.subscribe(EventType.INVOICE_FINALIZED, lambda e: calls.append(("lambda", e.subject_id)))
    bus.subscribe(EventType.INVOICE_PAID, lambda e: calls.append(("paid", e.subject_id)))
    bus.dispatch(
        [
            _ev(EventType.INVOICE_FINALIZED, "in_1"),
            _ev(EventType.INVOICE_VOIDED, "in_x"),
            _ev(EventType.INVOICE_PAID, "in_1"),
        ]
    )
    assert calls == [("method", "in_1"), ("lambda", "in_1"), ("paid", "in_1")]
    assert len(bus.handlers(EventType.INVOICE_FINALIZED)) == 2


def test_a_handler_error_reaches_the_caller() -> None:
    bus = EventBus()

    def boom(e: Event) -> None:
        raise RuntimeError(e.subject_id)

    bus.subscribe(EventType.INVOICE_PAID, boom)
    with pytest.raises(RuntimeError, match="in_9"):
        bus.dispatch([_ev(EventType.INVOICE_PAID, "in_9")])


class _Log:
    """A publisher and a bus handler writing to one log, to see what happens in which order."""

    def __init__(self, w: World) -> None:
        self.w = w
        self.log: list[tuple[str, str]] = []

    def on_finalized(self, event: Event) -> None:
        # Runs after commit: a fresh unit of work sees the invoice, open.
        assert self.w.engine.get_invoice(event.subject_id).status == InvoiceStatus.OPEN
        assert event.type == EventType.INVOICE_FINALIZED
        self.log.append(("bus", event.subject_id))

    def publish(self, events: Sequence[Event]) -> None:
        self.log.extend(("relay", e.subject_id) for e in events if e.type == EventType.INVOICE_FINALIZED)


def test_open_invoices_are_dispatched_after_commit_before_the_relay() -> None:
    w = World(datetime(2027, 1, 1, tzinfo=UTC))
    log = _Log(w)
    w.engine.publisher = log
    w.engine.bus.subscribe(EventType.INVOICE_FINALIZED, log.on_finalized)
    legacy: list[str] = []
    with pytest.deprecated_call():
        w.engine.after_finalize.append(legacy.append)  # the deprecated hook still works

    cus = w.engine.create_customer(name="A", currency="USD")
    sub = w.engine.subscribe(cus.id, "basic")
    first = w.engine.invoices(cus.id)[0].id
    assert log.log == [("bus", first), ("relay", first)]
    w.clock.travel_to(datetime(2027, 4, 1, tzinfo=UTC))
    report = w.engine.advance()
    assert len(report.invoice_ids) == 3
    assert log.log[2:] == [("bus", i) for i in report.invoice_ids] + [
        ("relay", i) for i in report.invoice_ids
    ]
    assert legacy == [first, *report.invoice_ids]

    # Previews, the upcoming invoice and paid invoices dispatch nothing.
    before = list(log.log)
    w.engine.preview_change(sub.id, "pro")
    w.engine.preview_cancel(sub.id, prorate=True)
    w.engine.preview_subscribe(cus.id, "basic")
    assert w.engine.upcoming_invoice(sub.id) is not None
    w.engine.add_coupon(Coupon(id="FREE", percent_off="100", duration="forever"))
    w.engine.subscribe(cus.id, "basic", coupon="FREE")  # a zero total: paid at once
    assert w.engine.invoices(cus.id)[-1].status == InvoiceStatus.PAID
    assert [e for e in log.log[len(before) :] if e[0] == "bus"] == []
    assert legacy == [first, *report.invoice_ids]


def test_the_deprecated_hook_list_is_one_subscription() -> None:
    w = World(datetime(2027, 1, 1, tzinfo=UTC))
    with pytest.deprecated_call():
        hooks = w.engine.after_finalize
        assert w.engine.after_finalize is hooks
    assert len(w.engine.bus.handlers(EventType.INVOICE_FINALIZED)) == 1
    assert w.engine.bus.handlers(EventType.INVOICE_PAID) == ()
