"""Webhooks, the audit trail and GDPR erasure give the same results on every store."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from subkit.integration.signing import SIGNATURE_HEADER, WebhookReceiver
from subkit.ports import Store
from subkit.services.audit import AuditedStore, AuditTrail
from subkit.services.engine import BillingEngine
from subkit.services.portal import CustomerPortal
from subkit.services.privacy import Privacy
from subkit.services.webhooks import Backoff, Endpoint, Webhooks
from subkit.testing import TestClock
from subkit.testing.webhooks import MockTransport, WebhookRequest

from .conftest import catalog
from .test_engine_on_every_store import STORES, memory


def run_integrations(raw: Store) -> list[object]:
    clock = TestClock(datetime(2027, 3, 1, tzinfo=UTC))
    store = AuditedStore(raw, clock)
    receiver = WebhookReceiver("whsec_x")
    answers = iter([503])  # the first request fails once, then everything is accepted

    def crm(request: WebhookRequest) -> int:
        receiver.receive(request.body, request.headers[SIGNATURE_HEADER], at=clock.now())
        return next(answers, 200)

    transport = MockTransport(crm)
    hooks = Webhooks(
        store,
        clock,
        [Endpoint("crm", "https://crm.test/h", ("whsec_x",))],
        transport,
        backoff=Backoff(first=timedelta(seconds=10)),
    )
    engine = BillingEngine(store, clock, publisher=hooks)
    engine.set_catalog(catalog())
    with engine.acting_as("user:usr_1", reason="onboarding call"):
        engine.create_customer(id="cus_a", name="Ada Lovelace", email="ada@example.org", currency="USD")
        engine.subscribe("cus_a", "basic", id="sub_a")
    clock.travel_to(datetime(2027, 3, 16, tzinfo=UTC))
    portal = CustomerPortal(engine, "cus_a")
    portal.apply(portal.preview_change("sub_a", "la_basic"))
    portal.cancel("sub_a", reason="Ada Lovelace moves on")
    first = hooks.deliver_due()
    clock.advance(timedelta(seconds=10))
    second = hooks.deliver_due()
    engine.cancel("sub_a", at_period_end=False)
    privacy = Privacy(store, clock)
    erased = privacy.erase("cus_a")
    hooks.run()
    doc = privacy.export("cus_a")
    trail = AuditTrail(store)
    return [
        (first.sent, first.delivered, first.retrying, second.delivered),
        [json.loads(r.body)["type"] for r in transport.requests],
        [(e.action, e.actor.label, e.reason) for e in trail.for_customer("cus_a")],
        [e.action for e in trail.for_object("sub_a")],
        (erased.documents_kept, erased.retain_until),
        {k: len(v) for k, v in doc["documents"].items()},
        doc["customer"]["email"],
        [i.total_minor for i in engine.invoices("cus_a")],
    ]


@pytest.mark.parametrize("name", sorted(STORES))
def test_same_integrations_on_every_store(name: str, tmp_path: Path) -> None:
    expected = run_integrations(next(memory()))
    delivered, types, audit, *_ = expected
    assert delivered == (6, 5, 1, 1)  # one 503, retried 10 s later
    assert types[:6] == [
        "customer.created",  # answered 503, delivered again 10 s later (types[6])
        "invoice.finalized",
        "subscription.created",
        "invoice.finalized",
        "subscription.plan_changed",
        "subscription.cancel_scheduled",
    ]
    assert types[6] == "customer.created" and "customer.erased" in types[7:]
    # Mar 16 to Apr 1: 16 of March's 31 days; $31 - $10 = $21 x 16/31 = $10.84 (10.838...)
    assert expected[-1] == [1000, 1084]
    assert ("subscription.cancel_scheduled", "customer:cus_a", "[erased]") in audit
    gen = STORES[name](tmp_path)
    store = next(gen)
    try:
        assert run_integrations(store) == expected
    finally:
        next(gen, None)
