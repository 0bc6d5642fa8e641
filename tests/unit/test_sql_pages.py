"""SqlStore pages beyond the contract: served by an index (SQLite's plan), and migration 5 on old rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, inspect, text

from subkit.adapters.storage.migrations import LATEST, migrate
from subkit.adapters.storage.sql import SqlStore, make_engine
from subkit.customer.customer import Customer
from subkit.invoice.invoice import Invoice
from subkit.payment.attempts import PaymentAttempt

T0 = datetime(2027, 1, 31, 12, 0, tzinfo=UTC)


def _page_plan(store: SqlStore, where: dict[str, object], after: str | None) -> str:
    """SQLite's plan of the query a page runs (captured with its parameters as sent)."""
    seen: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "ORDER BY" in statement:
            seen.append((statement, parameters))

    event.listen(store._engine, "before_cursor_execute", capture)
    try:
        with store.begin() as uow:
            uow.page(Invoice, where, after=after, limit=10)
    finally:
        event.remove(store._engine, "before_cursor_execute", capture)
    ((statement, parameters),) = seen
    with store._engine.connect() as conn:
        rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)  # type: ignore[arg-type]
        return " | ".join(str(r[-1]) for r in rows)


@pytest.fixture
def store(tmp_path: Path) -> SqlStore:
    s = SqlStore(tmp_path / "pages.sqlite")
    with s.begin() as uow:
        for n in range(300):
            uow.add(
                Invoice(
                    id=f"in_{n:03d}",
                    customer_id=f"cus_{n % 7}",
                    subscription_id=f"sub_{n % 11}",
                    currency="EUR",
                    created_at=T0 + timedelta(minutes=n),
                )
            )
    with s._engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    return s


@pytest.mark.parametrize(
    ("where", "index"),
    [
        ({}, "ix_subkit_entities_created"),
        ({"customer_id": "cus_3"}, "ix_subkit_entities_customer_page"),
        ({"subscription_id": "sub_3"}, "ix_subkit_entities_subscription_page"),
        ({"status": "draft", "created_gte": T0}, "ix_subkit_entities_status_page"),
    ],
)
def test_a_page_walks_an_index_without_sorting(store: SqlStore, where: dict[str, object], index: str) -> None:
    for after in (None, "in_150"):
        plan = _page_plan(store, where, after)
        assert f"USING INDEX {index}" in plan, plan
        assert "TEMP B-TREE" not in plan, plan  # the index gives the order: no sort
    store.close()


def test_migration_5_fills_created_currency_and_email_of_old_rows(tmp_path: Path) -> None:
    engine = make_engine(tmp_path / "old.sqlite")
    assert migrate(engine, target=4) == 4
    old = Customer(id="cus_1", name="Ada", currency="EUR", email="Ada@Example.com")
    attempt = PaymentAttempt(
        id="pa_1", customer_id="cus_1", attempt_no=1, idempotency_key="k", amount_minor=100, currency="EUR",
        started_at=T0,
    )  # fmt: skip
    inv = Invoice(id="in_1", customer_id="cus_1", currency="USD", created_at=T0 + timedelta(days=1))
    with engine.begin() as conn:  # rows as a v4 store wrote them (no created/currency/email_key)
        for n, ent in enumerate([old, attempt, inv], start=1):
            conn.execute(
                text(
                    "INSERT INTO subkit_entities (kind, id, version, body, customer_id, seq) "
                    "VALUES (:kind, :id, 1, :body, 'cus_1', :seq)"
                ),
                {"kind": ent.kind, "id": ent.id, "body": ent.model_dump_json(), "seq": n},
            )
    store = SqlStore(engine)  # upgrades to LATEST
    with engine.connect() as conn:
        rows = {
            r[0]: tuple(r[1:])
            for r in conn.execute(text("SELECT id, created, currency, email_key FROM subkit_entities"))
        }
        names = {ix["name"] for ix in inspect(conn).get_indexes("subkit_entities")}
    t0_us = int((T0 - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()) * 1_000_000
    assert rows == {
        "cus_1": (0, "EUR", "ada@example.com"),  # no created_at: 0; the whole address lower-cased
        "pa_1": (t0_us, "EUR", None),  # a payment attempt's start
        "in_1": (t0_us + 86_400_000_000, "USD", None),  # one day = 86,400 s later
    }
    assert {
        "ix_subkit_entities_created",
        "ix_subkit_entities_customer_page",
        "ix_subkit_entities_email",
    } <= names
    assert "ix_subkit_entities_customer" not in names  # replaced by the page index (same leading columns)
    with store.begin() as uow:
        assert [c.id for c in uow.customers.by_email("ADA@example.com")] == ["cus_1"]
        assert [i.id for i in uow.page(Invoice, {"currency": "USD"})] == ["in_1"]
    assert migrate(engine) == LATEST == 5
    store.close()
    engine.dispose()
