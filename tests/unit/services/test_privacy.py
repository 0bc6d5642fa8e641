"""GDPR: one export document, erasure by pseudonymization with invoices kept for the retention
period and purged after it, and nothing personal in events, webhook bodies, the audit trail or logs."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from subkit.catalog.catalog import Catalog, Plan, Product
from subkit.catalog.pricing import FlatFee
from subkit.customer.customer import Address, TaxId
from subkit.customer.privacy import Erasure
from subkit.errors import StateError
from subkit.invoice.invoice import Invoice
from subkit.services.audit import AuditedStore, AuditTrail
from subkit.services.collector import PaymentCollector
from subkit.services.engine import BillingEngine
from subkit.services.privacy import Privacy, PrivacyPolicy
from subkit.services.webhooks import Endpoint, Webhooks
from subkit.testing import InMemoryStore, TestClock
from subkit.testing.gateway import FakeGateway
from subkit.testing.webhooks import MockTransport

PERSONAL = [
    "Ada Lovelace",
    "ada.lovelace@example.org",
    "12 St James",
    "SW1Y 4LE",
    "GB123456789",
    "+44 20 7946 0000",
]


def _leaks(text: str) -> list[str]:
    return [p for p in PERSONAL if p.lower() in text.lower()]


class Book:
    def __init__(self) -> None:
        self.clock = TestClock(datetime(2027, 1, 10, tzinfo=UTC))
        self.store = AuditedStore(InMemoryStore(), self.clock)
        self.transport = MockTransport()
        self.hooks = Webhooks(
            self.store, self.clock, [Endpoint("crm", "https://crm.test/h", ("whsec_1",))], self.transport
        )
        self.engine = BillingEngine(self.store, self.clock, publisher=self.hooks)
        self.engine.set_catalog(
            Catalog(
                products=(Product(id="app", name="App"),),
                plans=(
                    Plan(id="pro", product_id="app", name="Pro", prices={"GBP": FlatFee(flat_amount="30")}),
                ),
            )
        )
        self.collector = PaymentCollector(self.engine, FakeGateway()).attach()
        self.privacy = Privacy(
            self.store, self.clock, PrivacyPolicy(retention_years=6, personal_metadata=frozenset({"phone"}))
        )

    def story(self) -> None:
        e, at = self.engine, self.clock
        with e.acting_as("user:usr_support_1", reason="Ada Lovelace phoned: +44 20 7946 0000"):
            e.create_customer(
                id="cus_ada",
                name="Ada Lovelace",
                email="ada.lovelace@example.org",
                currency="GBP",
                country="GB",
                address=Address(
                    line1="12 St James's Square", city="London", postal_code="SW1Y 4LE", country="GB"
                ),
                tax_ids=(TaxId(type="gb_vat", value="GB123456789"),),
                metadata={"phone": "+44 20 7946 0000", "crm_id": "A-17"},
            )
            self.collector.add_payment_method(
                "cus_ada",
                {
                    "type": "card",
                    "token": "tok_visa",
                    "brand": "visa",
                    "last4": "4242",
                    "exp_month": 12,
                    "exp_year": 2030,
                },
                metadata={"phone": "+44 20 7946 0000"},
            )
            e.subscribe(
                "cus_ada", "pro", id="sub_ada", metadata={"phone": "+44 20 7946 0000", "seat": "main"}
            )
        for month in (2, 3):
            at.travel_to(datetime(2027, month, 10, tzinfo=UTC))
            e.advance()
        first = e.invoices("cus_ada")[0]
        e.issue_credit_note(first.id, "5.00", reason="Ada Lovelace: outage on 2027-01-20")
        self.hooks.run()


def _all_events_and_bodies(book: Book) -> str:
    bodies = [r.body.decode() for r in book.transport.requests]
    events = [json.dumps(e.model_dump(mode="json")) for e in book.store.pending_events(10_000)]
    return "\n".join(bodies + events)


def test_nothing_personal_in_events_webhooks_audit_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    book = Book()
    book.story()
    assert len(book.transport.requests) >= 10
    assert _leaks(_all_events_and_bodies(book)) == []
    entries = AuditTrail(book.store).for_customer("cus_ada")
    assert len(entries) >= 10
    # what/when/who carry no personal data; "why" is the host's free text (erasure redacts it)
    assert _leaks(json.dumps([e.model_dump(mode="json", exclude={"reason"}) for e in entries])) == []
    assert _leaks("\n".join(r.getMessage() for r in caplog.records)) == []


def test_export_is_one_json_document_with_everything() -> None:
    book = Book()
    book.story()
    doc = json.loads(book.privacy.export_json("cus_ada"))
    assert (
        doc["format"] == "subkit.customer_export" and doc["customer"]["email"] == "ada.lovelace@example.org"
    )
    kinds = {k: len(v) for k, v in doc["documents"].items()}
    assert kinds["subscription"] == 1 and kinds["payment_method"] == 1 and kinds["credit_note"] == 1
    assert kinds["invoice"] == 3  # Jan 10, Feb 10, Mar 10
    assert kinds["payment_attempt"] == 3 and kinds["audit_entry"] >= 10 and kinds["webhook_delivery"] >= 10
    assert kinds["webhook_delivery"] == len(book.transport.requests)


def _invoices(book: Book) -> dict[str, Invoice]:
    with book.store.begin() as uow:
        return {i.id: i for i in uow.invoices.for_customer("cus_ada")}


def test_erasure_pseudonymizes_keeps_invoices_for_retention_then_purges() -> None:
    book = Book()
    book.story()
    with pytest.raises(StateError, match=r"cancel them before erasing"):
        book.privacy.erase("cus_ada")
    book.engine.cancel("sub_ada", at_period_end=False)
    before = _invoices(book)
    book.clock.travel_to(datetime(2027, 3, 20, tzinfo=UTC))
    with book.engine.acting_as("user:usr_dpo", reason="GDPR request #77"):
        report = book.privacy.erase("cus_ada")
    # the last document is the March 10 invoice: kept 6 years, to 2033-03-10
    assert (report.documents_kept, report.retain_until) == (4, datetime(2033, 3, 10, tzinfo=UTC))
    assert _invoices(book) == before  # finalized invoices untouched
    customer = book.engine.get_customer("cus_ada")
    assert (customer.email, customer.address, customer.tax_ids) == ("", None, ())
    assert customer.name.startswith("erased-") and customer.metadata == {"crm_id": "A-17"}
    assert book.engine.get_subscription("sub_ada").metadata == {"seat": "main"}

    book.hooks.run()
    assert json.loads(book.transport.requests[-1].body)["type"] == "customer.erased"
    doc = book.privacy.export("cus_ada")
    held = doc["documents"]["erasure"][0]["identity"]
    assert held["name"] == "Ada Lovelace" and held["address"]["postal_code"] == "SW1Y 4LE"
    doc["documents"]["erasure"][0]["identity"] = None
    kept = [doc["documents"].pop("invoice"), doc["documents"].pop("credit_note")]
    assert kept[1][0]["reason"] == "Ada Lovelace: outage on 2027-01-20"  # a legal document, kept as issued
    assert _leaks(json.dumps(doc)) == []  # nothing else: customer, audit reasons, metadata, events
    assert _leaks(_all_events_and_bodies(book)) == []
    assert book.privacy.erase("cus_ada").already

    assert book.privacy.purge_due(at=datetime(2033, 3, 9, tzinfo=UTC)) == []
    assert book.privacy.purge_due(at=datetime(2033, 3, 10, tzinfo=UTC)) == ["cus_ada"]
    after = _invoices(book)
    assert [i.total_minor for i in after.values()] == [i.total_minor for i in before.values()]
    assert all(i.customer_tax_id is None for i in after.values())
    assert _leaks(book.privacy.export_json("cus_ada")) == []
    with book.store.begin() as uow:
        record = uow.get(Erasure, "erasure_cus_ada")
    assert (record.identity, record.purged_at) == (None, datetime(2033, 3, 10, tzinfo=UTC))
    assert book.privacy.purge_due(at=datetime(2040, 1, 1, tzinfo=UTC)) == []


def test_a_customer_without_invoices_keeps_nothing() -> None:
    book = Book()
    book.engine.create_customer(id="cus_bo", name="Bo", email="bo@example.org", currency="GBP")
    report = book.privacy.erase("cus_bo")
    assert (report.documents_kept, report.retain_until) == (0, None)
    doc: dict[str, Any] = book.privacy.export("cus_bo")
    assert doc["documents"]["erasure"][0]["identity"] is None
    assert "bo@example.org" not in json.dumps(doc)


def test_export_includes_the_customers_usage_events() -> None:
    clock = TestClock(datetime(2027, 1, 10, tzinfo=UTC))
    store = InMemoryStore()
    engine = BillingEngine(store, clock)
    calls = Plan(
        id="calls", product_id="app", name="Calls", metric="calls", prices={"GBP": FlatFee(flat_amount="0")}
    )
    engine.set_catalog(Catalog(products=(Product(id="app", name="App"),), plans=(calls,)))
    engine.create_customer(id="cus_bo", name="Bo", currency="GBP", country="GB")
    engine.subscribe("cus_bo", "calls", id="sub_bo")
    engine.record_usage("sub_bo", "calls", "7", id="evt_1", at=datetime(2027, 1, 11, tzinfo=UTC))
    doc = Privacy(store, clock).export("cus_bo")
    assert doc["documents"]["usage_event"] == [
        {
            "id": "evt_1",
            "subscription_id": "sub_bo",
            "metric": "calls",
            "timestamp": "2027-01-11T00:00:00+00:00",
            "quantity": "7",
            "properties": {},
        }
    ]
