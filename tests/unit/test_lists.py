"""Lists with filters and cursor paging, and customers by e-mail, through the engine and the CLI (issue 15).

The store side (every store answers alike) is ``StorePagesContract``; these tests drive the
public facade (``engine.list_*``, ``PaymentCollector.list_payments``) and the operator CLI.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import subkit
from subkit import BillingEngine, Page, PaymentCollector
from subkit.adapters.storage.memory import InMemoryStore
from subkit.adapters.storage.sql import SqlStore
from subkit.catalog.catalog import Catalog, Plan, Product
from subkit.catalog.pricing import FlatFee, PerUnit
from subkit.core.clock import TestClock
from subkit.entrypoints.cli import EXIT_NOT_FOUND, EXIT_OK, EXIT_USAGE, main
from subkit.errors import NaiveDatetimeError, NotFoundError, ValidationError
from subkit.testing.gateway import FakeGateway

Capsys = pytest.CaptureFixture[str]
T0 = datetime(2027, 3, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
CATALOG = Catalog(
    products=(Product(id="app", name="App"),),
    plans=(
        Plan(id="basic", product_id="app", name="Basic", prices={"USD": FlatFee(flat_amount="10")}),
        Plan(
            id="calls",
            product_id="app",
            name="Calls",
            metric="calls",
            prices={"USD": PerUnit(unit_amount="0.01")},
        ),
    ),
)


def _engine(store: object = None) -> tuple[BillingEngine, TestClock]:
    clock = TestClock(T0)
    engine = BillingEngine(store or InMemoryStore(), clock)  # type: ignore[arg-type]
    engine.set_catalog(CATALOG)
    return engine, clock


def _ids(page: Page[object]) -> list[str]:
    return [getattr(item, "id") for item in page]  # noqa: B009


def _customers(engine: BillingEngine, clock: TestClock, count: int) -> None:
    """cus_01 .. cus_NN, one an hour from T0 (cus_NN is the newest), every third sharing one e-mail."""
    for n in range(1, count + 1):
        email = "Shared@Example.com" if n % 3 == 0 else f"c{n}@example.com"
        engine.create_customer(id=f"cus_{n:02d}", name=f"C{n}", currency="USD", email=email)
        clock.advance(HOUR)


def test_page_is_public_with_an_example() -> None:
    assert "Page" in subkit.__all__ and subkit.Page is Page
    assert Page.__doc__ is not None and ">>>" in Page.__doc__


def test_25_customers_by_10_are_10_10_5_newest_first() -> None:
    engine, clock = _engine()
    _customers(engine, clock, 25)
    first = engine.list_customers()  # default limit: 10
    second = engine.list_customers(after=first.next_cursor)
    third = engine.list_customers(after=second.next_cursor)
    assert _ids(first) == [f"cus_{n:02d}" for n in range(25, 15, -1)]
    assert _ids(second) == [f"cus_{n:02d}" for n in range(15, 5, -1)]
    assert _ids(third) == [f"cus_{n:02d}" for n in range(5, 0, -1)]
    assert (first.has_more, second.has_more, third.has_more) == (True, True, False)
    assert (first.next_cursor, second.next_cursor, third.next_cursor) == ("cus_16", "cus_06", None)
    # created at T0 + (n - 1) hours: T0+10h <= created < T0+13h holds cus_11, cus_12, cus_13
    window = engine.list_customers(created_gte=T0 + 10 * HOUR, created_lt=T0 + 13 * HOUR)
    assert _ids(window) == ["cus_13", "cus_12", "cus_11"]


def test_customers_by_email_case_insensitive_several_oldest_first() -> None:
    engine, clock = _engine()
    _customers(engine, clock, 10)
    # every third shares it: cus_03, cus_06, cus_09, oldest first
    assert [c.id for c in engine.customers_by_email("shared@EXAMPLE.COM")] == ["cus_03", "cus_06", "cus_09"]
    assert [c.id for c in engine.customers_by_email("C4@example.com")] == ["cus_04"]
    assert engine.customers_by_email("nobody@example.com") == []
    with pytest.raises(ValidationError):
        engine.customers_by_email("France")


def test_subscriptions_invoices_payments_and_usage_lists() -> None:
    engine, clock = _engine()
    collector = PaymentCollector(engine, FakeGateway()).attach()
    engine.create_customer(id="cus_a", name="A", currency="USD")
    engine.create_customer(id="cus_b", name="B", currency="USD", collection_method="send_invoice")
    card = {
        "type": "card",
        "token": "tok_a",
        "brand": "visa",
        "last4": "4242",
        "exp_month": 1,
        "exp_year": 2040,
    }
    collector.add_payment_method("cus_a", card, id="pm_a")
    engine.subscribe("cus_a", "basic", id="sub_a1")
    clock.advance(HOUR)
    engine.subscribe("cus_b", "basic", id="sub_b1")
    clock.advance(HOUR)
    engine.subscribe("cus_a", "calls", id="sub_a2")
    for n in range(1, 13):
        engine.record_usage(
            "sub_a2", "calls", n, at=T0 + 2 * HOUR + n * timedelta(minutes=1), id=f"ev_{n:02d}"
        )
    engine.cancel("sub_b1", at_period_end=False)

    assert _ids(engine.list_subscriptions()) == ["sub_a2", "sub_b1", "sub_a1"]
    assert _ids(engine.list_subscriptions(customer_id="cus_a")) == ["sub_a2", "sub_a1"]
    assert _ids(engine.list_subscriptions(status="canceled")) == ["sub_b1"]
    # sub_a1 is charged at once (paid); sub_b1 is sent an invoice (open until canceled: still open)
    paid = engine.list_invoices(status="paid")
    assert [i.subscription_id for i in paid] == ["sub_a1"]
    assert [i.subscription_id for i in engine.list_invoices(customer_id="cus_b")] == ["sub_b1"]
    assert [i.subscription_id for i in engine.list_invoices(subscription_id="sub_a1")] == ["sub_a1"]
    payments = collector.list_payments(customer_id="cus_a")
    assert [(p.invoice_id, p.status.value, p.amount_minor) for p in payments] == [
        (paid.items[0].id, "succeeded", 1000)
    ]
    assert engine.list_payments(status="declined").items == ()

    usage = engine.list_usage("sub_a2", limit=5)
    assert _ids(usage) == ["ev_12", "ev_11", "ev_10", "ev_09", "ev_08"] and usage.next_cursor == "ev_08"
    rest = engine.list_usage("sub_a2", limit=10, after=usage.next_cursor)
    assert _ids(rest) == [f"ev_{n:02d}" for n in range(7, 0, -1)] and not rest.has_more
    # ev_n happens at T0 + 2h + n minutes: [T0+2h+3min, T0+2h+5min) holds ev_03, ev_04
    window = engine.list_usage("sub_a2", timestamp_gte=T0 + 2 * HOUR + 3 * timedelta(minutes=1),
                               timestamp_lt=T0 + 2 * HOUR + 5 * timedelta(minutes=1))  # fmt: skip
    assert [(u.id, u.quantity) for u in window] == [("ev_04", 4), ("ev_03", 3)]


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda e: e.list_invoices(limit=0), ValidationError),
        (lambda e: e.list_invoices(limit=101), ValidationError),
        (lambda e: e.list_invoices(status="unpaid-ish"), ValidationError),
        (lambda e: e.list_subscriptions(created_gte=datetime(2027, 1, 1)), NaiveDatetimeError),
        (lambda e: e.list_customers(after="cus_nobody"), NotFoundError),
        (lambda e: e.list_usage("sub_x", limit=0), ValidationError),
    ],
)
def test_bad_requests_are_refused(call, error) -> None:  # type: ignore[no-untyped-def]
    engine, _ = _engine()
    with pytest.raises(error):
        call(engine)


# --------------------------------------------------------------------------- the CLI
@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A SQLite book: 12 customers an hour apart (every third sharing an e-mail), each subscribed."""
    path = tmp_path / "lists.sqlite"
    with SqlStore(str(path)) as store:
        engine, clock = _engine(store)
        for n in range(1, 13):
            email = "Shared@Example.com" if n % 3 == 0 else f"c{n}@example.com"
            engine.create_customer(id=f"cus_{n:02d}", name=f"C{n}", currency="USD", email=email,
                                   collection_method="send_invoice")  # fmt: skip
            engine.subscribe(f"cus_{n:02d}", "basic", id=f"sub_{n:02d}")
            clock.advance(HOUR)
    return path


def run(capsys: Capsys, db: Path, *argv: str) -> tuple[int, str, str]:
    code = main([*argv, "--db", str(db)])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_customers_list_pages_and_prints_the_cursor(db: Path, capsys: Capsys) -> None:
    code, out, _ = run(capsys, db, "customers", "list", "--limit", "5")
    lines = out.splitlines()
    assert code == EXIT_OK
    assert [ln.split()[0] for ln in lines[1:6]] == ["cus_12", "cus_11", "cus_10", "cus_09", "cus_08"]
    assert lines[-2:] == ["5 customers", "more: --after cus_08"]
    code, out, _ = run(capsys, db, "customers", "list", "--limit", "5", "--after", "cus_03")
    assert [ln.split()[0] for ln in out.splitlines()[1:-1]] == ["cus_02", "cus_01"]
    assert out.splitlines()[-1] == "2 customers"  # the last page: no cursor


def test_cli_json_stays_an_array_and_the_cursor_goes_to_stderr(db: Path, capsys: Capsys) -> None:
    code, out, err = run(capsys, db, "invoices", "list", "--limit", "3", "--json")
    data = json.loads(out)
    assert code == EXIT_OK and [i["customer_id"] for i in data] == ["cus_12", "cus_11", "cus_10"]
    assert err == f"more: --after {data[-1]['id']}\n"
    code, out, err = run(capsys, db, "subscriptions", "list", "--customer", "cus_04", "--json")
    assert [s["id"] for s in json.loads(out)] == ["sub_04"] and err == ""


def test_cli_filters_and_exit_codes(db: Path, capsys: Capsys) -> None:
    code, out, _ = run(capsys, db, "invoices", "list", "--status", "open", "--limit", "100")
    assert code == EXIT_OK and out.splitlines()[-1] == "12 invoices"
    code, out, _ = run(capsys, db, "invoices", "list", "--status", "paid")
    assert (code, out) == (EXIT_OK, "No invoices.\n")
    code, out, _ = run(capsys, db, "subscriptions", "list", "--status", "active", "--limit", "2")
    assert out.splitlines()[-1] == "more: --after sub_11"
    for limit in ("0", "101"):
        code, out, err = run(capsys, db, "customers", "list", "--limit", limit)
        assert (code, out) == (EXIT_USAGE, "") and "limit" in err
    code, out, err = run(capsys, db, "invoices", "list", "--after", "in_nobody")
    assert (code, out) == (EXIT_NOT_FOUND, "") and "in_nobody" in err
    code, out, err = run(capsys, db, "payments", "list", "--status", "succeeded")
    assert (code, out) == (EXIT_OK, "No payments.\n")


def test_cli_customers_find_by_email(db: Path, capsys: Capsys) -> None:
    code, out, _ = run(capsys, db, "customers", "find", "--email", "SHARED@example.com")
    assert code == EXIT_OK
    # cus_03, cus_06, cus_09, cus_12 share it, oldest first
    assert [ln.split()[0] for ln in out.splitlines()[1:-1]] == ["cus_03", "cus_06", "cus_09", "cus_12"]
    code, out, _ = run(capsys, db, "customers", "find", "--email", "c4@EXAMPLE.com", "--json")
    assert [(c["id"], c["email"]) for c in json.loads(out)] == [("cus_04", "c4@example.com")]
    assert run(capsys, db, "customers", "find", "--email", "nobody@example.com")[:2] == (
        EXIT_OK,
        "No customers.\n",
    )
    code, out, err = run(capsys, db, "customers", "find", "--email", "not-an-address")
    assert (code, out) == (EXIT_USAGE, "") and "e-mail" in err
