"""The operator commands: subscriptions, invoices void|pay|collect, credit notes, payments, usage (issue 15).

Each test builds a small book on a SQLite file with the library, then drives the CLI on it
and checks what the store holds afterwards, not only what was printed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from subkit.adapters.storage.sql import SqlStore
from subkit.catalog.catalog import Catalog, Plan, Product
from subkit.catalog.pricing import FlatFee, PerUnit
from subkit.core.clock import TestClock
from subkit.entrypoints.cli import EXIT_NOT_FOUND, EXIT_OK, EXIT_USAGE, main
from subkit.invoice.invoice import CreditNote, Invoice, InvoiceStatus
from subkit.services.collector import PaymentCollector
from subkit.services.engine import BillingEngine
from subkit.subscription.model import Subscription, SubscriptionStatus
from subkit.testing.gateway import FakeGateway

Capsys = pytest.CaptureFixture[str]
GATEWAY = "subkit.testing.gateway:FakeGateway"


@dataclass
class Book:
    db: Path
    start: datetime

    def run(self, capsys: Capsys, *argv: str) -> tuple[int, str, str]:
        code = main([*argv, "--db", str(self.db)])
        out, err = capsys.readouterr()
        return code, out, err

    def find(self, kind: type, **where: object) -> list:  # type: ignore[type-arg]
        with SqlStore(str(self.db)) as store, store.begin() as uow:
            return uow.find(kind, **where)


@pytest.fixture
def book(tmp_path: Path) -> Book:
    """Two customers (one in New York, paying by invoice), three subscriptions, one open invoice."""
    db = tmp_path / "ops.sqlite"
    start = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0)
    with SqlStore(str(db)) as store:
        engine = BillingEngine(store, TestClock(start), ids=_ids())
        engine.set_catalog(
            Catalog(
                products=(Product(id="app", name="App"),),
                plans=(
                    Plan(
                        id="basic", product_id="app", name="Basic", prices={"USD": FlatFee(flat_amount="10")}
                    ),
                    Plan(
                        id="seats", product_id="app", name="Seats", prices={"USD": PerUnit(unit_amount="8")}
                    ),
                    Plan(
                        id="calls",
                        product_id="app",
                        name="Calls",
                        metric="calls",
                        prices={"USD": PerUnit(unit_amount="0.01")},
                    ),
                ),
            )
        )
        engine.create_customer(
            id="cus_ny",
            name="Ada",
            currency="USD",
            timezone="America/New_York",
            collection_method="send_invoice",
        )
        engine.create_customer(id="cus_2", name="Bo", currency="USD", collection_method="send_invoice")
        engine.subscribe("cus_ny", "seats", 3, id="sub_seats")  # 3 x 8.00 = 24.00, open
        engine.subscribe("cus_ny", "calls", id="sub_calls")
        engine.subscribe("cus_2", "basic", id="sub_basic")
        engine.create_customer(id="cus_card", name="Cy", currency="USD")  # charged automatically
        card = {"type": "card", "token": "tok_cy", "brand": "visa", "last4": "4242", "exp_month": 12,
                "exp_year": 2040}  # fmt: skip
        PaymentCollector(engine, FakeGateway()).add_payment_method("cus_card", card, id="pm_cy")
        engine.subscribe("cus_card", "basic", id="sub_card")  # no collector attached: left open
    return Book(db, start)


def _ids():  # type: ignore[no-untyped-def]
    n = iter(range(1, 10_000))
    return lambda prefix: f"{prefix}_{next(n)}"


# --------------------------------------------------------------------------- subscriptions
def test_subscriptions_list_filters_and_prints_json(book: Book, capsys: Capsys) -> None:
    code, out, _ = book.run(capsys, "subscriptions", "list", "--customer", "cus_ny", "--json")
    assert code == EXIT_OK
    data = json.loads(out)
    assert [s["id"] for s in data] == ["sub_seats", "sub_calls"]
    assert data[0]["items"][0] == {
        "id": "sub_seats_si0",
        "plan_id": "seats",
        "plan_version": 1,
        "quantity": "3",
    }
    code, out, _ = book.run(capsys, "subscriptions", "list")
    assert code == EXIT_OK and out.splitlines()[-1] == "4 subscriptions"
    assert "Period (customer's dates)" in out.splitlines()[0]
    code, out, _ = book.run(capsys, "subscriptions", "list", "--status", "canceled")
    assert (code, out) == (EXIT_OK, "No subscriptions.\n")


def test_subscriptions_show_labels_dates_with_the_customer_zone_and_unknown_ids_exit_3(
    book: Book, capsys: Capsys
) -> None:
    code, out, _ = book.run(capsys, "subscriptions", "show", "sub_seats")
    assert code == EXIT_OK
    assert out.startswith("sub_seats of customer cus_ny: active\n")
    assert "(America/New_York)" in out and "seats v1 x 3" in out
    code, _, err = book.run(capsys, "subscriptions", "show", "nope")
    assert code == EXIT_NOT_FOUND and "see 'subkit subscriptions list'" in err


def test_subscriptions_cancel_at_period_end_then_now(book: Book, capsys: Capsys) -> None:
    code, out, _ = book.run(capsys, "subscriptions", "cancel", "sub_basic")
    assert code == EXIT_OK and "cancels at its period end" in out
    [sub] = book.find(Subscription, customer_id="cus_2")
    assert (sub.status, sub.cancel_at_period_end) == (SubscriptionStatus.ACTIVE, True)
    code, out, _ = book.run(capsys, "subscriptions", "cancel", "sub_basic", "--now", "--json")
    assert code == EXIT_OK and json.loads(out)["status"] == "canceled"


def test_subscriptions_change_dry_run_writes_nothing_then_the_change_is_made(
    book: Book, capsys: Capsys
) -> None:
    before = book.find(Invoice)
    change = ("subscriptions", "change", "sub_seats", "--quantity", "5", "--when", "now")
    code, out, _ = book.run(capsys, *change, "--dry-run")
    assert code == EXIT_OK and out.startswith("Would change sub_seats")
    assert book.find(Invoice) == before
    assert book.find(Subscription, customer_id="cus_ny")[0].items[0].quantity == 3
    code, out, _ = book.run(
        capsys, "subscriptions", "change", "sub_seats", "--quantity", "5", "--when", "now"
    )
    assert code == EXIT_OK and out.startswith("Changed sub_seats: seats v1 x 5")
    assert book.find(Subscription, customer_id="cus_ny")[0].items[0].quantity == 5
    code, _, err = book.run(capsys, "subscriptions", "change", "sub_seats")
    assert code == EXIT_USAGE and "give --plan and/or --quantity" in err


# --------------------------------------------------------------------------- invoices
def _open_invoice(book: Book, customer: str) -> Invoice:
    [inv] = [i for i in book.find(Invoice, customer_id=customer) if i.status == InvoiceStatus.OPEN]
    return inv


def test_invoices_pay_records_a_transfer_once_per_transfer_id(book: Book, capsys: Capsys) -> None:
    inv = _open_invoice(book, "cus_2")
    assert inv.total_minor == 1000
    for _ in range(2):
        code, out, _ = book.run(capsys, "invoices", "pay", inv.number or inv.id, "--amount", "4.00",
                                "--transfer-id", "stmt-1")  # fmt: skip
        assert code == EXIT_OK
    # 10.00 - 4.00 = 6.00 still due, the transfer was recorded once
    [after] = book.find(Invoice, customer_id="cus_2")
    assert (after.status, after.amount_remaining_minor) == (InvoiceStatus.OPEN, 600)
    code, out, _ = book.run(capsys, "invoices", "pay", inv.id, "--json")
    assert code == EXIT_OK and json.loads(out)["status"] == "paid"


def test_invoices_void_and_collect(book: Book, capsys: Capsys) -> None:
    inv = _open_invoice(book, "cus_2")
    code, out, _ = book.run(capsys, "invoices", "void", inv.id)
    assert code == EXIT_OK and out.endswith(": void, due $0.00\n")
    card = _open_invoice(book, "cus_card")
    code, _, err = book.run(capsys, "invoices", "collect", card.id)
    assert code == EXIT_USAGE and "--gateway MODULE:FACTORY" in err
    code, out, err = book.run(capsys, "invoices", "collect", card.id, "--gateway", GATEWAY)
    assert code == EXIT_OK and out.endswith(": succeeded: paid, due $0.00\n")
    # a customer paying by invoice is not charged
    seats = _open_invoice(book, "cus_ny")
    code, out, _ = book.run(capsys, "invoices", "collect", seats.id, "--gateway", GATEWAY)
    assert code == EXIT_OK and ": nothing to collect: open, due $24.00" in out


def test_invoices_list_json_and_customer_local_dates(book: Book, capsys: Capsys) -> None:
    code, out, _ = book.run(capsys, "invoices", "list", "--json")
    assert code == EXIT_OK
    data = json.loads(out)
    assert sorted(i["total_minor"] for i in data) == [1000, 1000, 2400]  # a metered plan bills in arrears
    code, out, _ = book.run(capsys, "invoices", "list")
    assert "Date (customer's)" in out.splitlines()[0]


# --------------------------------------------------------------------------- credit notes, payments, usage
def test_credit_notes_create_is_idempotent_by_id(book: Book, capsys: Capsys) -> None:
    inv = _open_invoice(book, "cus_ny")
    for _ in range(2):
        code, _, _ = book.run(capsys, "credit-notes", "create", inv.id, "--amount", "5.00", "--reason",
                              "outage", "--id", "cn_outage")  # fmt: skip
        assert code == EXIT_OK
    notes = book.find(CreditNote)
    assert [(n.id, n.amount_minor, n.reason) for n in notes] == [("cn_outage", 500, "outage")]


def test_payments_list_shows_attempts(book: Book, capsys: Capsys) -> None:
    card = _open_invoice(book, "cus_card")
    book.run(capsys, "invoices", "collect", card.id, "--gateway", GATEWAY)
    code, out, _ = book.run(capsys, "payments", "list", "--invoice", card.id, "--json")
    assert code == EXIT_OK
    [attempt] = json.loads(out)
    assert (attempt["invoice_id"], attempt["status"], attempt["amount_minor"]) == (card.id, "succeeded", 1000)
    code, out, _ = book.run(capsys, "payments", "list", "--customer", "cus_ny")
    assert (code, out) == (EXIT_OK, "No payments.\n")


def test_usage_record_counts_a_repeated_id_once_and_lists_it(book: Book, capsys: Capsys) -> None:
    for _ in range(2):
        code, out, _ = book.run(capsys, "usage", "record", "sub_calls", "calls", "1200", "--id", "evt_1")
        assert code == EXIT_OK
    with SqlStore(str(book.db)) as store, store.begin() as uow:
        stored = [(r.id, r.units) for r in uow.usage.events("sub_calls")]
    assert stored == [("evt_1", 1200)]
    code, out, _ = book.run(capsys, "usage", "list", "sub_calls", "--json")
    assert [(r["id"], r["metric"], r["quantity"]) for r in json.loads(out)] == [("evt_1", "calls", "1200")]


# --------------------------------------------------------------------------- bill
def test_bill_dry_run_prints_the_invoices_and_writes_nothing(book: Book, capsys: Capsys) -> None:
    until = (book.start + timedelta(days=70)).isoformat()
    before = book.find(Invoice)
    code, out, _ = book.run(capsys, "bill", "--until", until, "--dry-run", "--json")
    assert code == EXIT_OK
    planned = json.loads(out)
    # two monthly renewals in 70 days for each of basic (10.00), seats (3 x 8.00) and card (10.00);
    # the metered plan renews too, with no usage: 0.00 in arrears, and no invoice for nothing
    renewals = sorted((i["subscription_id"], i["total_minor"]) for i in planned)
    assert renewals == sorted([("sub_basic", 1000), ("sub_card", 1000), ("sub_seats", 2400)] * 2)
    assert book.find(Invoice) == before
    code, out, _ = book.run(capsys, "bill", "--until", until, "--dry-run")
    assert out.startswith("Dry run up to") and out.splitlines()[-1] == "6 invoices"


def test_bill_over_several_periods_needs_yes_off_a_terminal(book: Book, capsys: Capsys) -> None:
    until = (book.start + timedelta(days=70)).isoformat()
    before = book.find(Invoice)
    code, out, err = book.run(capsys, "bill", "--until", until)
    assert code == EXIT_USAGE and "bills several periods for 4 subscriptions" in err and "--yes" in err
    assert book.find(Invoice) == before
    code, out, _ = book.run(capsys, "bill", "--until", until, "--yes")
    assert code == EXIT_OK and ": 8 actions, 6 invoices" in out
    # one period ahead needs no confirmation
    code, out, _ = book.run(capsys, "bill", "--until", (book.start + timedelta(days=95)).isoformat())
    assert code == EXIT_OK
