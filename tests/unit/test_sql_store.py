"""SqlStore beyond the contract: host transactions, migrations, exact round trips, locking.

Every test runs on a fresh SQLite file; the ``backend`` ones also run on PostgreSQL
when ``SUBKIT_TEST_POSTGRES_URL`` is set (each in its own schema).
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, create_engine, inspect, text

from subkit.adapters.storage.migrations import LATEST, migrate, schema_version
from subkit.adapters.storage.sql import SqlStore, make_engine
from subkit.core.events import Event, EventType
from subkit.customer.customer import Customer
from subkit.errors import DuplicateError, NaiveDatetimeError, NotFoundError, StateError, ValidationError
from subkit.invoice.invoice import CreditNote
from subkit.testing.contracts import Probe, bump
from subkit.testing.contracts.store_repositories import invoice, payment_method

POSTGRES_URL = os.environ.get("SUBKIT_TEST_POSTGRES_URL")
T0 = datetime(2027, 1, 31, 12, 0, tzinfo=UTC)

EngineFactory = Callable[[], Engine]


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EngineFactory]:
    """A factory of engines on one fresh, empty database; every engine is disposed after the test."""
    engines: list[Engine] = []
    admin: Engine | None = None
    schema = f"t_{uuid.uuid4().hex}"
    if request.param == "sqlite":
        path = tmp_path / "books.sqlite"

        def factory() -> Engine:
            engines.append(make_engine(path))
            return engines[-1]
    else:
        if not POSTGRES_URL:
            pytest.skip("set SUBKIT_TEST_POSTGRES_URL to run the PostgreSQL tests")
        url = POSTGRES_URL
        admin = create_engine(url)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))

        def factory() -> Engine:
            engines.append(make_engine(url, connect_args={"options": f"-csearch_path={schema}"}))
            return engines[-1]

    try:
        yield factory
    finally:
        for engine in engines:
            engine.dispose()
        if admin is not None:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


HOST_TABLE = "CREATE TABLE host_orders (id TEXT PRIMARY KEY)"


def _host_rows(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT id FROM host_orders")).scalars())


def _customer_exists(engine: Engine, id: str) -> bool:
    store = SqlStore(engine, create=False)
    with store.begin() as uow:
        try:
            uow.get(Customer, id)
        except NotFoundError:
            return False
        return True


# -- joining the host's transaction -------------------------------------------------------
def test_host_rollback_undoes_subkit_writes_and_its_own(backend: EngineFactory) -> None:
    engine = backend()
    with engine.begin() as conn:
        conn.execute(text(HOST_TABLE))
    SqlStore(engine)  # schema in place before the host transaction
    with engine.connect() as conn, conn.begin() as host_tx:
        conn.execute(text("INSERT INTO host_orders (id) VALUES ('o1')"))
        store = SqlStore.from_connection(conn)
        with store.begin() as uow:
            uow.add(Customer(id="cus_1", name="Ada", currency="EUR"))
            uow.publish(Event.of(EventType.CUSTOMER_CREATED, T0, "cus_1"))
        host_tx.rollback()
    assert _host_rows(engine) == []
    assert not _customer_exists(engine, "cus_1")
    assert list(SqlStore(engine).pending_events()) == []


def test_host_commit_keeps_both(backend: EngineFactory) -> None:
    engine = backend()
    with engine.begin() as conn:
        conn.execute(text(HOST_TABLE))
    with engine.connect() as conn, conn.begin():
        conn.execute(text("INSERT INTO host_orders (id) VALUES ('o1')"))
        store = SqlStore.from_connection(conn)  # creates the schema inside the host's transaction
        with store.begin() as uow:
            uow.add(Customer(id="cus_1", name="Ada", currency="EUR"))
        with store.begin() as uow:  # a second unit of work sees the first one's writes
            assert uow.get(Customer, "cus_1").name == "Ada"
    assert _host_rows(engine) == ["o1"]
    assert _customer_exists(engine, "cus_1")


def test_failed_unit_of_work_rolls_back_only_its_savepoint(backend: EngineFactory) -> None:
    engine = backend()
    SqlStore(engine)
    with engine.begin() as conn:
        conn.execute(text(HOST_TABLE))
    with engine.connect() as conn, conn.begin():
        conn.execute(text("INSERT INTO host_orders (id) VALUES ('o1')"))
        store = SqlStore.from_connection(conn)
        with pytest.raises(RuntimeError), store.begin() as uow:
            uow.add(Customer(id="cus_1", name="Ada", currency="EUR"))
            raise RuntimeError("payment declined")
        with store.begin() as uow:
            uow.add(Customer(id="cus_2", name="Bo", currency="EUR"))
    assert _host_rows(engine) == ["o1"]
    assert not _customer_exists(engine, "cus_1")
    assert _customer_exists(engine, "cus_2")


# -- migrations -----------------------------------------------------------------------------
def test_upgrade_from_v1_keeps_data(backend: EngineFactory) -> None:
    engine = backend()
    assert migrate(engine, target=1) == 1
    with pytest.raises(StateError, match="version 1"):
        SqlStore(engine, create=False)
    customer = Customer(id="cus_1", name="Ada", currency="EUR")
    event = Event.of(EventType.CUSTOMER_CREATED, T0, "cus_1")
    with engine.begin() as conn:  # v1 data, written the way a v1 store wrote it
        conn.execute(
            text(
                "INSERT INTO subkit_entities (kind, id, version, body, seq) "
                "VALUES ('customer', 'cus_1', 1, :body, 1)"
                if engine.dialect.name == "sqlite"  # PostgreSQL fills seq itself
                else "INSERT INTO subkit_entities (kind, id, version, body) "
                "VALUES ('customer', 'cus_1', 1, :body)"
            ),
            {"body": customer.model_dump_json()},
        )
        conn.execute(
            text("INSERT INTO subkit_outbox (id, body, published) VALUES (:id, :body, false)"),
            {"id": event.id, "body": event.model_dump_json()},
        )
        conn.execute(text("INSERT INTO subkit_sequences (series, value) VALUES ('INV', 41)"))
    with engine.connect() as conn:
        indexes = {ix["name"] for ix in inspect(conn).get_indexes("subkit_outbox")}
    assert "ix_subkit_outbox_pending" not in indexes

    store = SqlStore(engine)  # create=True upgrades

    with engine.connect() as conn:
        assert schema_version(conn) == LATEST == 5
        indexes = {ix["name"] for ix in inspect(conn).get_indexes("subkit_outbox")}
    assert "ix_subkit_outbox_pending" in indexes
    with store.begin() as uow:
        assert uow.get(Customer, "cus_1") == customer
        assert uow.next_number("INV") == 42
        uow.add(Customer(id="cus_2", name="Bo", currency="EUR"))
    with store.begin() as uow:
        assert [c.id for c in uow.find(Customer)] == ["cus_1", "cus_2"]
    assert list(store.pending_events()) == [event]
    assert migrate(engine) == LATEST  # idempotent


def test_upgrade_from_v2_fills_the_lookup_keys(backend: EngineFactory) -> None:
    engine = backend()
    assert migrate(engine, target=2) == 2
    inv = invoice("in_1", number=" INV-000041")
    draft = invoice("in_2")
    bank = payment_method("pm_1", reference="ACME-7781")
    card = payment_method("pm_2")
    note = CreditNote(
        id="cn_1", invoice_id="in_1", customer_id="cus_1", currency="EUR", number="CN-000001",
        amount_minor=100, created_at=T0,
    )  # fmt: skip
    sqlite = engine.dialect.name == "sqlite"
    with engine.begin() as conn:  # v2 data, written the way a v2 store wrote it (no lookup_key column)
        for n, ent in enumerate([inv, draft, bank, card, note], start=1):
            conn.execute(
                text(
                    "INSERT INTO subkit_entities (kind, id, version, body, customer_id, status, seq) "
                    "VALUES (:kind, :id, 1, :body, 'cus_1', :status, :seq)"
                    if sqlite  # PostgreSQL fills seq itself
                    else "INSERT INTO subkit_entities (kind, id, version, body, customer_id, status) "
                    "VALUES (:kind, :id, 1, :body, 'cus_1', :status)"
                ),
                {
                    "kind": ent.kind,
                    "id": ent.id,
                    "body": ent.model_dump_json(),
                    "status": getattr(ent, "status", None),
                    "seq": n,
                },
            )
    with engine.connect() as conn:
        assert "lookup_key" not in {c["name"] for c in inspect(conn).get_columns("subkit_entities")}

    store = SqlStore(engine)  # create=True upgrades

    with engine.connect() as conn:
        assert schema_version(conn) == LATEST == 5
        assert "ix_subkit_entities_lookup" in {
            ix["name"] for ix in inspect(conn).get_indexes("subkit_entities")
        }
        keys = {r[0]: r[1] for r in conn.execute(text("SELECT id, lookup_key FROM subkit_entities"))}
    assert keys == {
        "in_1": "inv-000041",
        "in_2": None,
        "pm_1": "acme-7781",
        "pm_2": None,
        "cn_1": "cn-000001",
    }
    with store.begin() as uow:
        assert uow.invoices.by_number("inv-000041") == inv
        assert uow.payment_methods.by_reference("acme-7781") == bank
        assert uow.credit_notes.by_number("CN-000001") == note
        uow.invoices.add(invoice("in_3", number="INV-000042"))
    with store.begin() as uow:
        assert [i.id for i in uow.invoices.for_customer("cus_1")] == ["in_1", "in_2", "in_3"]
    assert migrate(engine) == LATEST  # idempotent


def test_sqlite_numbers_rows_from_the_last_rowid(tmp_path: Path) -> None:
    """Insertion order comes from max(rowid) (one b-tree descent), never a scan of the table."""
    with SqlStore(tmp_path / "b.sqlite") as store:
        for batch in range(3):
            with store.begin() as uow:
                for i in range(3):
                    uow.add(Probe(id=f"p{batch}{2 - i}"))
        assert store.engine is not None
        with store.engine.connect() as conn:
            rows = conn.execute(text("SELECT rowid, seq, id FROM subkit_entities ORDER BY seq")).all()
            plan = " ".join(
                str(r[-1])
                for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN SELECT max(rowid) FROM subkit_entities")
            )
        assert [r.id for r in rows] == ["p02", "p01", "p00", "p12", "p11", "p10", "p22", "p21", "p20"]
        assert all(r.rowid == r.seq for r in rows)
        assert "SCAN" not in plan
        with store.begin() as uow:
            assert [p.id for p in uow.find(Probe)] == [r.id for r in rows]


def test_an_update_rewrites_only_the_index_columns_that_changed(backend: EngineFactory) -> None:
    store = SqlStore(backend())
    with store.begin() as uow:
        uow.add(Probe(id="p1", customer_id="a", status="open", due_at=T0))
        uow.add(Probe(id="p2", customer_id="a", status="open", due_at=T0))
    with store.begin() as uow:
        p1, p2 = uow.get(Probe, "p1"), uow.get(Probe, "p2")
        uow.update(bump(p1, due_at=T0 + timedelta(days=30)))  # the renewal case: due_at only
        uow.update(bump(p2, status="paid", due_at=None))
        uow.update(bump(bump(p2, status="paid", due_at=None), customer_id="b"))  # twice in one unit of work
    with store.begin() as uow:
        assert [p.id for p in uow.find(Probe, customer_id="a")] == ["p1"]
        assert [p.id for p in uow.find(Probe, customer_id="b", status="paid", due_at=None)] == ["p2"]
        assert [p.id for p in uow.due(Probe, T0 + timedelta(days=30), 10)] == ["p1"]
        assert uow.get(Probe, "p2").version == 3


def test_concurrent_first_opens_create_the_schema_once(backend: EngineFactory) -> None:
    engines = [backend() for _ in range(4)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(engines), timeout=10)

    def open_store(engine: Engine) -> None:
        try:
            barrier.wait()
            SqlStore(engine)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_store, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with engines[0].connect() as conn:
        assert schema_version(conn) == LATEST
        assert conn.execute(text("SELECT count(*) FROM subkit_schema")).scalar() == 1


def test_newer_schema_is_refused(backend: EngineFactory) -> None:
    engine = backend()
    migrate(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE subkit_schema SET version = 99"))
    with pytest.raises(StateError, match="newer"):
        SqlStore(engine)


def test_create_false_needs_a_schema(backend: EngineFactory) -> None:
    with pytest.raises(StateError, match="version 0"):
        SqlStore(backend(), create=False)


def test_bad_migration_target() -> None:
    engine = make_engine("sqlite://")
    try:
        with pytest.raises(ValidationError):
            migrate(engine, target=LATEST + 1)
    finally:
        engine.dispose()


# -- exact money and time ---------------------------------------------------------------------
def test_money_and_time_round_trip_exactly(backend: EngineFactory) -> None:
    store = SqlStore(backend())
    amounts = ["0.1", "12345678901234567890.123456789", "-0.000001", "1E+3", "100.00"]
    times = [
        datetime(2027, 3, 14, 3, 30, 0, 123456, tzinfo=timezone(timedelta(hours=-7))),
        datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),  # before the epoch
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=timezone(timedelta(hours=5, minutes=45))),
        datetime(2027, 1, 31, 12, tzinfo=ZoneInfo("Europe/Paris")),
    ]
    probes = [
        Probe(id=f"p{i}", amount=a, due_at=t) for i, (a, t) in enumerate(zip(amounts, times, strict=True))
    ]
    with store.begin() as uow:
        for p in probes:
            uow.add(p)
    with store.begin() as uow:
        for p in probes:
            got = uow.get(Probe, p.id)
            assert got == p
            assert str(got.amount) == str(p.amount)  # same digits, same exponent
            assert isinstance(got.amount, Decimal)
            assert got.due_at == p.due_at and got.due_at is not None and got.due_at.utcoffset() is not None
        # index columns compare instants: an equal instant in another zone finds the row
        same_instant = times[0].astimezone(UTC)
        assert [p.id for p in uow.find(Probe, due_at=same_instant)] == ["p0"]
        assert [p.id for p in uow.due(Probe, datetime(2000, 1, 1, tzinfo=UTC), 10)] == ["p1"]
        assert [p.id for p in uow.due(Probe, times[2], 10)] == ["p1", "p3", "p4", "p0", "p2"]


def test_naive_datetimes_are_refused(tmp_path: Path) -> None:
    with SqlStore(tmp_path / "b.sqlite") as store, store.begin() as uow:
        with pytest.raises(NaiveDatetimeError):
            uow.due(Probe, datetime(2027, 1, 1), 10)
        with pytest.raises(NaiveDatetimeError):
            uow.find(Probe, due_at=datetime(2027, 1, 1))


def test_find_refuses_unindexed_fields(tmp_path: Path) -> None:
    with SqlStore(tmp_path / "b.sqlite") as store, store.begin() as uow:
        with pytest.raises(ValidationError, match="indexed"):
            uow.find(Probe, note="x")
        with pytest.raises(ValidationError, match="due_at"):
            uow.find(Probe, due_at=1_800_000_000)
        assert uow.find(Probe, customer_id=None) == []


def test_unit_of_work_is_single_use(tmp_path: Path) -> None:
    with SqlStore(tmp_path / "b.sqlite") as store:
        uow = store.begin()
        with uow:
            uow.add(Probe(id="p1"))
        with pytest.raises(StateError):
            uow.get(Probe, "p1")


# -- opening a store -------------------------------------------------------------------------
def test_sqlite_pragmas_default_and_full(tmp_path: Path) -> None:
    # PRAGMA synchronous reads back 0 OFF, 1 NORMAL, 2 FULL; temp_store 2 is MEMORY.
    engine = make_engine(tmp_path / "a.sqlite")
    try:
        with engine.connect() as conn:
            pragma = conn.exec_driver_sql
            assert pragma("PRAGMA synchronous").scalar() == 1
            assert pragma("PRAGMA temp_store").scalar() == 2
            assert pragma("PRAGMA cache_size").scalar() == -65536
            assert pragma("PRAGMA mmap_size").scalar() == 256 * 2**20
    finally:
        engine.dispose()
    engine = make_engine(tmp_path / "b.sqlite", sqlite_synchronous="full")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2
    finally:
        engine.dispose()
    with pytest.raises(ValidationError) as exc:
        make_engine(tmp_path / "c.sqlite", sqlite_synchronous="sometimes")
    assert exc.value.field == "sqlite_synchronous"


def test_sqlite_path_shorthand(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with SqlStore("books.sqlite") as store:  # relative path, no URL scheme
        with store.begin() as uow:
            uow.add(Customer(id="cus_1", name="Ada", currency="EUR"))
        assert store.engine is not None
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
    assert (tmp_path / "books.sqlite").exists()
    with SqlStore(tmp_path / "books.sqlite") as store, store.begin() as uow:  # a Path works too
        assert uow.get(Customer, "cus_1").name == "Ada"
    with SqlStore(f"sqlite:///{tmp_path / 'books.sqlite'}") as store, store.begin() as uow:  # and a URL
        assert uow.get(Customer, "cus_1").name == "Ada"


def test_host_transactions_choose_their_sqlite_begin(tmp_path: Path) -> None:
    engine = make_engine(tmp_path / "b.sqlite")
    try:
        with engine.connect().execution_options(subkit_sqlite_begin="IMMEDIATE") as conn, conn.begin():
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        with (
            pytest.raises(ValidationError, match="subkit_sqlite_begin"),
            engine.connect().execution_options(subkit_sqlite_begin="NOW; DROP TABLE t") as conn,
            conn.begin(),
        ):
            pass  # pragma: no cover
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 0
    finally:
        engine.dispose()


def test_store_on_a_host_engine_leaves_it_open(tmp_path: Path) -> None:
    engine = make_engine(tmp_path / "b.sqlite")
    try:
        SqlStore(engine).close()  # not ours to dispose
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT 1").scalar() == 1
    finally:
        engine.dispose()


# -- concurrency -------------------------------------------------------------------------------
def _in_threads(n: int, work: Callable[[int], Any]) -> list[BaseException]:
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            work(i)
        except BaseException as exc:  # pragma: no cover - reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_numbers_are_gap_free_under_concurrency(backend: EngineFactory) -> None:
    store = SqlStore(backend())
    got: list[int] = []
    lock = threading.Lock()

    def work(i: int) -> None:
        for j in range(10):
            try:
                with store.begin() as uow:
                    n = uow.next_number("INV")
                    if j == 5:  # a rolled-back number is given back, not lost
                        raise RuntimeError
            except RuntimeError:
                continue
            with lock:
                got.append(n)

    assert _in_threads(4, work) == []
    assert sorted(got) == list(range(1, 37))


def test_concurrent_claims_have_one_winner(backend: EngineFactory) -> None:
    store = SqlStore(backend())
    outcomes: list[str] = []
    barrier = threading.Barrier(4, timeout=10)

    def work(i: int) -> None:
        barrier.wait()
        try:
            with store.begin() as uow:
                uow.claim("charge:sub_1:2027-01")
            outcomes.append("won")
        except DuplicateError:
            outcomes.append("duplicate")

    assert _in_threads(4, work) == []
    assert sorted(outcomes) == ["duplicate", "duplicate", "duplicate", "won"]


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)  # SQLite workers take turns instead
def test_postgres_due_skips_rows_locked_by_another_worker(backend: EngineFactory) -> None:
    engine = backend()
    assert engine.dialect.name == "postgresql"
    store = SqlStore(engine)
    with store.begin() as uow:
        for i in range(5):
            uow.add(Probe(id=f"p{i}", due_at=T0 + timedelta(minutes=i)))
    with store.begin() as first, store.begin() as second:  # two connections, both open
        a = [p.id for p in first.due(Probe, T0 + timedelta(hours=1), 2)]
        b = [p.id for p in second.due(Probe, T0 + timedelta(hours=1), 10)]
    assert a == ["p0", "p1"]
    assert b == ["p2", "p3", "p4"]


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_postgres_lock_skips_a_row_another_worker_holds(backend: EngineFactory) -> None:
    store = SqlStore(backend())
    with store.begin() as uow:
        uow.add(Probe(id="p1", note="v1"))
    with store.begin() as first, store.begin() as second:  # two connections, both open
        held = first.lock(Probe, "p1")
        assert held is not None and held.note == "v1"
        assert second.lock(Probe, "p1", skip_locked=True) is None  # held by `first`: skipped
        first.update(held.bumped(note="v2"))
    with store.begin() as uow:
        assert uow.lock(Probe, "p1", skip_locked=True) is not None  # released at commit
        assert uow.get(Probe, "p1").note == "v2"


def test_sqlite_due_makes_workers_take_turns(tmp_path: Path) -> None:
    with SqlStore(tmp_path / "b.sqlite") as store:
        with store.begin() as uow:
            for i in range(4):
                uow.add(Probe(id=f"p{i}", due_at=T0))
        taken: list[str] = []

        def work(i: int) -> None:
            with store.begin() as uow:
                for p in uow.due(Probe, T0, 2):
                    uow.update(p.bumped(due_at=None))
                    taken.append(p.id)

        assert _in_threads(2, work) == []
        assert sorted(taken) == ["p0", "p1", "p2", "p3"]


def test_writes_sent_before_numbering_stay_one_unit_of_work(backend: EngineFactory) -> None:
    """PostgreSQL sends buffered writes before the series lock; the unit of work stays all or nothing."""
    store = SqlStore(backend())
    with store.begin() as uow:
        uow.add(Probe(id="p0"))
    with store.begin() as uow:
        p1 = Probe(id="p1", customer_id="a")
        uow.add(p1)
        uow.update(bump(uow.get(Probe, "p0"), note="before"))
        uow.claim("k1")
        uow.publish(Event.of(EventType.INVOICE_PAID, T0, "e1"))
        assert uow.next_number("INV") == 1  # PostgreSQL: the writes above are sent here
        uow.update(bump(p1, customer_id="b"))  # after the send: an update of the sent row
        uow.update(bump(uow.get(Probe, "p0"), note="after"))
        uow.claim("k2")
        uow.publish(Event.of(EventType.INVOICE_PAID, T0, "e2"))
        assert uow.lock(Probe, "p1") == bump(p1, customer_id="b")
        assert [p.id for p in uow.find(Probe, customer_id="b")] == ["p1"]
        assert uow.claimed("k1") and uow.next_number("INV") == 2
    with store.begin() as uow:
        assert (uow.get(Probe, "p1").customer_id, uow.get(Probe, "p1").version) == ("b", 2)
        assert (uow.get(Probe, "p0").note, uow.get(Probe, "p0").version) == ("after", 3)
        assert uow.claimed("k1") and uow.claimed("k2") and uow.next_number("INV") == 3
    assert [e.subject_id for e in store.pending_events()] == ["e1", "e2"]

    with pytest.raises(RuntimeError), store.begin() as uow:
        uow.add(Probe(id="p9"))
        uow.claim("k9")
        uow.next_number("INV")
        raise RuntimeError("after the send")
    with store.begin() as uow:
        assert uow.get_many(Probe, ["p9"]) == {} and not uow.claimed("k9")
        assert uow.next_number("INV") == 4  # 3 was taken (and committed) above; 4 was given back

    with pytest.raises(DuplicateError), store.begin() as uow:  # a taken key: at the send or at commit
        uow.add(Probe(id="p8"))
        uow.claim("k1")
        uow.next_number("INV")
    with store.begin() as uow:
        assert uow.get_many(Probe, ["p8"]) == {} and uow.next_number("INV") == 5


# -- the flush's update rows ------------------------------------------------------------------
def test_update_row_writes_only_the_changed_index_columns() -> None:
    from subkit.adapters.storage.sql.statements import update_row

    at = datetime(2027, 1, 31, tzinfo=UTC)
    stored = Probe(id="p1", customer_id="cus_1", status="active", due_at=at)
    # Only due_at moves: one column, in UTC epoch microseconds. 2027-02-28 00:00 UTC is
    # 20,877 days after 1970-01-01 (57 years: 14 leap days; 57 * 365 + 14 = 20,819 days to
    # 2027-01-01, + 31 + 27 = 20,877), * 86,400 s = 1,803,772,800 s.
    changed, row = update_row(bump(stored, due_at=datetime(2027, 2, 28, tzinfo=UTC)), stored)
    assert changed == ("due_at",)
    assert row[0] == 2 and row[2:] == (1_803_772_800_000_000, "contract_probe", "p1", 1)
    # The same instant in another zone is the same column value: nothing to rewrite.
    paris = bump(stored, due_at=datetime(2027, 1, 31, 1, tzinfo=timezone(timedelta(hours=1))))
    assert update_row(paris, stored)[0] == ()
    # A status and a new customer: both written, in column order; None clears a column.
    changed, row = update_row(bump(stored, status="canceled", customer_id=None), stored)
    assert changed == ("customer_id", "status") and row[2:4] == (None, "canceled")
    # A changed indexed string is checked like an added one.
    with pytest.raises(ValidationError):
        update_row(bump(stored, customer_id="cus\x00"), stored)
