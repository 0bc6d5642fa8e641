"""Webhooks: signatures (valid, tampered, re-serialized, expired, rotated), duplicates, and a delivery
relay that retries with backoff and never loses an event, even when a worker dies mid-delivery."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from subkit.adapters.storage.sql import SqlStore
from subkit.core.events import Event, EventType
from subkit.errors import ValidationError, WebhookSignatureError, WebhookTimestampError
from subkit.integration.signing import SIGNATURE_HEADER, WebhookReceiver, sign, verify
from subkit.ports import Store
from subkit.services.engine import BillingEngine
from subkit.services.outbox import relay
from subkit.services.webhooks import Backoff, Delivery, Endpoint, Webhooks, delivery_id
from subkit.testing import InMemoryStore, TestClock
from subkit.testing.webhooks import MockTransport, WebhookRequest

T0 = datetime(2027, 1, 1, tzinfo=UTC)  # 1798761600 s after the Unix epoch
BODY = b'{"id":"evt_0123456789abcdef01234567","type":"invoice.paid","data":{"amount":1000}}'


# ---------------------------------------------------------------------------------------- signing
def test_a_valid_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    header = sign(BODY, "whsec_test", at=T0)
    # Computed independently with the standard library: HMAC-SHA256("1798761600." + body).
    expected = hmac.new(b"whsec_test", b"1798761600." + BODY, hashlib.sha256).hexdigest()
    assert header == f"t=1798761600,v1={expected}"
    assert verify(BODY, header, "whsec_test", at=T0) == 1798761600


def test_a_tampered_body_fails() -> None:
    header = sign(BODY, "whsec_test", at=T0)
    tampered = BODY.replace(b"1000", b"9000")
    with pytest.raises(WebhookSignatureError) as err:
        verify(tampered, header, "whsec_test", at=T0)
    assert err.value.code == "webhook_signature"


def test_re_serialized_json_fails_even_though_it_means_the_same() -> None:
    header = sign(BODY, "whsec_test", at=T0)
    reserialized = json.dumps(json.loads(BODY)).encode()  # ", " and ": " separators
    assert json.loads(reserialized) == json.loads(BODY)
    with pytest.raises(WebhookSignatureError):
        verify(reserialized, header, "whsec_test", at=T0)
    with pytest.raises(ValidationError, match="raw request body"):
        verify(json.loads(BODY), header, "whsec_test", at=T0)  # type: ignore[arg-type]


def test_an_expired_timestamp_fails_and_the_window_is_300_seconds_both_ways() -> None:
    header = sign(BODY, "whsec_test", at=T0)
    assert verify(BODY, header, "whsec_test", at=T0 + timedelta(seconds=300)) == 1798761600
    assert verify(BODY, header, "whsec_test", at=T0 - timedelta(seconds=300)) == 1798761600
    with pytest.raises(WebhookTimestampError, match="301 s before now"):
        verify(BODY, header, "whsec_test", at=T0 + timedelta(seconds=301))
    with pytest.raises(WebhookTimestampError, match="in the future"):
        verify(BODY, header, "whsec_test", at=T0 - timedelta(seconds=301))
    assert verify(BODY, header, "whsec_test", at=T0 + timedelta(hours=1), tolerance=timedelta(hours=2))


def test_two_signatures_while_a_secret_rotates() -> None:
    header = sign(BODY, ["whsec_new", "whsec_old"], at=T0)
    assert header.count("v1=") == 2
    assert verify(BODY, header, "whsec_old", at=T0)  # a receiver not yet updated
    assert verify(BODY, header, "whsec_new", at=T0)  # one already updated
    assert verify(BODY, header, ["whsec_new", "whsec_old"], at=T0)
    with pytest.raises(WebhookSignatureError):
        verify(BODY, header, "whsec_other", at=T0)
    # after the rotation the sender signs with the new secret only: the old one no longer verifies
    with pytest.raises(WebhookSignatureError):
        verify(BODY, sign(BODY, "whsec_new", at=T0), "whsec_old", at=T0)


@pytest.mark.parametrize("header", ["", "v1=abc", "t=1798761600", "t=soon,v1=abc", "nonsense"])
def test_a_malformed_header_fails(header: str) -> None:
    with pytest.raises(WebhookSignatureError, match="needs t=<unix seconds>"):
        verify(BODY, header, "whsec_test", at=T0)


def test_a_duplicate_delivery_and_a_replay_are_recognized() -> None:
    receiver = WebhookReceiver("whsec_test")
    first = receiver.receive(BODY, sign(BODY, "whsec_test", at=T0), at=T0)
    retry = receiver.receive(
        BODY, sign(BODY, "whsec_test", at=T0 + timedelta(minutes=10)), at=T0 + timedelta(minutes=10)
    )
    assert (first.duplicate, retry.duplicate) == (False, True)
    captured = sign(BODY, "whsec_test", at=T0)
    with pytest.raises(WebhookTimestampError):  # the same request played again an hour later
        receiver.receive(BODY, captured, at=T0 + timedelta(hours=1))


# ---------------------------------------------------------------------------------------- delivery
class Crash(BaseException):
    """The process dies (not an ``Exception``: nothing in subkit may catch it)."""


def _setup(
    store: Store | None = None, handler: object = None, **kw: object
) -> tuple[Store, TestClock, Webhooks, MockTransport]:
    store = store if store is not None else InMemoryStore()
    clock = TestClock(T0)
    transport = MockTransport(handler or (lambda request: 200))  # type: ignore[arg-type]
    endpoint = Endpoint("crm", "https://crm.test/hooks", ("whsec_test",))
    return store, clock, Webhooks(store, clock, [endpoint], transport, **kw), transport  # type: ignore[arg-type]


def _event(n: int = 1, customer: str = "cus_1") -> Event:
    return Event.of(EventType.INVOICE_PAID, T0, f"in_{n}", customer_id=customer, amount=100 * n)


def _commit(store: Store, *events: Event) -> None:
    with store.begin() as uow:
        for e in events:
            uow.publish(e)


def test_delivered_requests_verify_at_the_receiver() -> None:
    store, clock, hooks, transport = _setup()
    _commit(store, _event(1), _event(2))
    assert hooks.run().delivered == 2
    receiver = WebhookReceiver("whsec_test")
    got = [receiver.receive(r.body, r.headers[SIGNATURE_HEADER], at=clock.now()) for r in transport.requests]
    assert [(g.event["subject_id"], g.event["data"]["amount"], g.duplicate) for g in got] == [
        ("in_1", 100, False),
        ("in_2", 200, False),
    ]
    assert transport.requests[0].headers["Subkit-Event-Type"] == "invoice.paid"
    assert store.pending_events() == []


def test_failures_retry_with_exponential_backoff_then_fail_and_can_be_redelivered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="subkit")
    store, clock, hooks, transport = _setup(
        handler=lambda request: 500, backoff=Backoff(first=timedelta(seconds=10), max_attempts=4)
    )
    _commit(store, _event())
    hooks.run()
    did = delivery_id("crm", _event().id)
    waits = []
    for _ in range(3):
        d = hooks.get(did)
        waits.append((d.due_at - clock.now()).total_seconds())  # type: ignore[operator]
        clock.travel_to(d.due_at)  # type: ignore[arg-type]
        assert hooks.deliver_due().sent == 1
    assert waits == [10, 20, 40]  # 10 s, then doubled each time
    d = hooks.get(did)
    assert (d.status, len(d.attempts), d.due_at) == ("failed", 4, None)
    assert [a.error for a in d.attempts] == ["HTTP 500"] * 4
    assert [r.levelname for r in caplog.records if r.name == "subkit.services.webhooks"] == [
        "WARNING"
    ] * 3 + ["ERROR"]
    assert "failed for good: HTTP 500" in caplog.records[-1].getMessage()
    clock.advance(timedelta(days=1))
    assert hooks.deliver_due().sent == 0  # a failed delivery is not retried by itself
    transport.handler = lambda request: 204
    hooks.redeliver(did)
    assert hooks.deliver_due().delivered == 1
    assert [a.status_code for a in hooks.get(did).attempts] == [500, 500, 500, 500, 204]


def test_a_transport_error_is_retried() -> None:
    def refuse(request: WebhookRequest) -> int:
        raise ConnectionRefusedError("connection refused")

    store, _clock, hooks, _transport = _setup(handler=refuse)
    _commit(store, _event())
    report = hooks.run()
    assert (report.sent, report.retrying) == (1, 1)
    d = hooks.get(delivery_id("crm", _event().id))
    assert d.attempts[0].status_code is None and "connection refused" in d.attempts[0].error


def test_a_crash_mid_delivery_redelivers_after_the_lease_and_the_receiver_sees_a_duplicate() -> None:
    receiver = WebhookReceiver("whsec_test")
    processed: list[str] = []
    crash_once = [True]

    def handler(request: WebhookRequest) -> int:
        got = receiver.receive(request.body, request.headers[SIGNATURE_HEADER], at=T0 + timedelta(minutes=5))
        if not got.duplicate:
            processed.append(got.event_id)
        if crash_once[0]:
            crash_once[0] = False
            raise Crash  # the receiver got it, but our process dies before recording the answer
        return 200

    store, clock, hooks, transport = _setup(handler=handler)
    _commit(store, _event())
    with pytest.raises(Crash):
        hooks.run()
    d = hooks.get(delivery_id("crm", _event().id))
    assert (d.status, d.attempts[-1].error) == ("pending", "in progress")
    assert hooks.deliver_due().sent == 0  # still leased to the dead worker
    clock.advance(Backoff().lease)
    assert hooks.deliver_due().delivered == 1
    d = hooks.get(d.id)
    assert d.status == "delivered"
    assert [a.error for a in d.attempts] == ["no answer recorded: the worker stopped mid-delivery", ""]
    assert len(transport.requests) == 2 and processed == [_event().id]  # sent twice, processed once


def test_a_relay_that_crashed_before_marking_creates_no_second_delivery() -> None:
    store, _clock, hooks, transport = _setup()
    _commit(store, _event(1))
    events = store.pending_events()
    hooks.publish(events)  # ... and the relay dies before mark_published
    relay(store, hooks)  # the next relay hands the same events again
    with store.begin() as uow:
        assert len(uow.find(Delivery, customer_id="cus_1")) == 1
    assert hooks.deliver_due().delivered == 1 and len(transport.requests) == 1


def test_endpoints_filter_types_and_an_unknown_endpoint_fails_cleanly() -> None:
    store, clock = InMemoryStore(), TestClock(T0)
    transport = MockTransport()
    only_paid = Endpoint("erp", "https://erp.test/in", ("s",), types=frozenset({EventType.INVOICE_PAID}))
    hooks = Webhooks(store, clock, [only_paid], transport)
    _commit(store, _event(1), Event.of(EventType.CUSTOMER_CREATED, T0, "cus_1", customer_id="cus_1"))
    assert hooks.run().delivered == 1
    _commit(store, _event(2))
    relay(store, hooks)
    gone = Webhooks(store, clock, [], transport)  # the endpoint was removed from the configuration
    report = gone.deliver_due()
    assert (report.sent, report.failed) == (1, 1)
    assert "not configured" in hooks.deliveries(status="failed")[0].attempts[0].error
    with pytest.raises(ValidationError):
        Endpoint("x", "ftp://x.test", ("s",))


def test_the_engine_publishes_through_webhooks_on_a_sql_store(tmp_path: Path) -> None:
    from subkit.catalog.catalog import Catalog, Plan, Product
    from subkit.catalog.pricing import FlatFee

    with SqlStore(str(tmp_path / "hooks.sqlite")) as store:
        _, clock, hooks, transport = _setup(store)
        engine = BillingEngine(store, clock, publisher=hooks)
        engine.set_catalog(
            Catalog(
                products=(Product(id="app", name="App"),),
                plans=(
                    Plan(
                        id="basic", product_id="app", name="Basic", prices={"USD": FlatFee(flat_amount="10")}
                    ),
                ),
            )
        )
        ada = engine.create_customer(name="Ada", currency="USD")
        engine.subscribe(ada.id, "basic")  # the engine relays to the publisher after this commit
        assert hooks.deliver_due().delivered == 3
        types = [json.loads(r.body)["type"] for r in transport.requests]
        assert types == [
            "customer.created",
            "invoice.finalized",
            "subscription.created",
        ]  # the outbox's order
        finalized = json.loads(transport.requests[1].body)
        assert finalized["data"] == {"number": "INV-000001", "total": 1000, "currency": "USD"}
        assert all(d.status == "delivered" for d in hooks.deliveries(customer_id=ada.id))
