"""Integrations: signing webhooks, delivering them from the outbox, and the audit trail's cost.

* ``webhooks.sign_verify``: sign and verify N webhook bodies (the envelopes of N events)
  with :mod:`subkit.integration.signing`; baseline: ``hmac.new`` + ``compare_digest`` on
  the same bytes, no header parsing.
* ``webhooks.deliver``: N committed outbox events relayed to :class:`Webhooks` (one delivery
  document each, in the in-memory store) and delivered through a transport that answers 200:
  envelope, signature, lease and record per event. Baseline: the bare work of a webhook, the
  JSON body and its HMAC per event, with nothing stored.
* ``audit.advance``: renew N monthly subscriptions with ``advance()`` on an
  :class:`AuditedStore`; baseline: the same run on the bare store. The ratio is the price of
  recording who/what/when/why for every event (items: invoices).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from datetime import UTC, datetime

from bench import Row, timed
from subkit.catalog.catalog import Catalog, Plan, Product
from subkit.catalog.pricing import FlatFee
from subkit.core.events import Event, EventType
from subkit.integration.catalog import envelope_json
from subkit.integration.signing import sign, verify
from subkit.ports import Store
from subkit.services.audit import AuditedStore, AuditTrail
from subkit.services.engine import BillingEngine
from subkit.services.webhooks import Endpoint, Webhooks
from subkit.testing import InMemoryStore, TestClock
from subkit.testing.webhooks import MockTransport

__all__ = ["MAX_SIZE", "run"]

MAX_SIZE = 200_000
T0 = datetime(2027, 1, 1, tzinfo=UTC)
SECRET = "whsec_bench"


def _events(n: int) -> list[Event]:
    return [
        Event.of(
            EventType.INVOICE_FINALIZED,
            T0,
            f"in_{i}",
            customer_id=f"cus_{i}",
            number=f"INV-{i:06d}",
            total=1000 + i,
            currency="USD",
        )
        for i in range(n)
    ]


def _bare_body(e: Event) -> bytes:
    doc = {
        "id": e.id,
        "type": e.type.value,
        "schema_version": 1,
        "occurred_at": e.occurred_at.isoformat(),
        "subject_id": e.subject_id,
        "customer_id": e.customer_id,
        "data": e.data,
    }
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


def _sign_verify(size: int) -> Row:
    bodies = [envelope_json(e) for e in _events(size)]
    key = SECRET.encode()

    def lib() -> int:
        return sum(1 for b in bodies if verify(b, sign(b, SECRET, at=T0), SECRET, at=T0))

    def bare() -> int:
        ok = 0
        for b in bodies:
            mac = hmac.new(key, b"1798761600." + b, hashlib.sha256).hexdigest()
            ok += hmac.compare_digest(mac, hmac.new(key, b"1798761600." + b, hashlib.sha256).hexdigest())
        return ok

    got, lib_s = timed(lib)
    want, base_s = timed(bare)
    if got != want != size:
        raise RuntimeError("webhooks.sign_verify: not every signature verified")
    return Row("webhooks.sign_verify", size, size, lib_s, base_s)


def _deliver(size: int) -> Row:
    events = _events(size)
    store, clock = InMemoryStore(), TestClock(T0)
    with store.begin() as uow:
        for e in events:
            uow.publish(e)
    transport = MockTransport(lambda request: 200)
    hooks = Webhooks(store, clock, [Endpoint("crm", "https://crm.test/h", (SECRET,))], transport)

    def lib() -> int:
        delivered = 0
        while True:
            report = hooks.run(limit=500)
            delivered += report.delivered
            if not report.sent:
                return delivered

    key = SECRET.encode()

    def bare() -> int:
        return sum(
            1 for e in events if hmac.new(key, b"1798761600." + _bare_body(e), hashlib.sha256).digest()
        )

    got, lib_s = timed(lib)
    want, base_s = timed(bare)
    if got != want or len(transport.requests) != size:
        raise RuntimeError(f"webhooks.deliver: {got} delivered of {size}")
    return Row("webhooks.deliver", size, size, lib_s, base_s, note="items: deliveries (store + transport)")


def _book(store: Store, clock: TestClock, size: int) -> BillingEngine:
    counter = itertools.count()
    engine = BillingEngine(store, clock, ids=lambda p: f"{p}_{next(counter)}")
    engine.set_catalog(
        Catalog(
            products=(Product(id="app", name="App"),),
            plans=(
                Plan(id="basic", product_id="app", name="Basic", prices={"USD": FlatFee(flat_amount="10")}),
            ),
        )
    )
    for i in range(size):
        engine.create_customer(name=f"C{i}", currency="USD", id=f"cus_{i}")
        engine.subscribe(f"cus_{i}", "basic", id=f"sub_{i}")
    clock.travel_to(datetime(2027, 2, 1, tzinfo=UTC))
    return engine


def _audit(size: int) -> Row:
    bare_clock = TestClock(T0)
    bare = _book(InMemoryStore(), bare_clock, size)
    base_report, base_s = timed(bare.advance)
    clock = TestClock(T0)
    audited_store = AuditedStore(InMemoryStore(), clock)
    audited = _book(audited_store, clock, size)
    report, lib_s = timed(audited.advance)
    if report.invoices != base_report.invoices != size:
        raise RuntimeError("audit.advance: the runs disagree")
    if len(AuditTrail(audited_store).for_object("sub_0")) != 2:  # created, renewed
        raise RuntimeError("audit.advance: the renewal was not audited")
    return Row("audit.advance", size, report.invoices, lib_s, base_s, note="baseline: the same run, no audit")


def run(size: int) -> list[Row]:
    """Sign/verify, deliver and audit at ``size``."""
    return [_sign_verify(size), _deliver(size), _audit(min(size, 50_000))]
