"""Contract test suites: run them against your own adapter to prove it fits a port.

Subclass the suite in your tests and provide a ``store`` fixture that returns a fresh,
empty store (needs pytest)::

    import pytest
    from subkit.testing.contracts import StoreContract

    class TestMyStore(StoreContract):
        @pytest.fixture
        def store(self):
            return MyStore(...)

:class:`GatewayContract` does the same for a payment gateway adapter. An adapter is
done when the whole suite passes on it.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import ClassVar

import pytest

from subkit.core.events import Event, EventType
from subkit.core.model import Amount, Entity
from subkit.customer.customer import Customer
from subkit.errors import ConcurrencyError, DuplicateError, NotFoundError
from subkit.payment.results import PaymentStatus
from subkit.ports import PaymentGateway, Store

__all__ = ["GatewayContract", "Probe", "StoreContract"]

T0 = datetime(2027, 1, 31, 12, 0, tzinfo=UTC)


class Probe(Entity):
    """A small entity with every indexed attribute, used by the store contract."""

    kind: ClassVar[str] = "contract_probe"
    customer_id: str | None = None
    subscription_id: str | None = None
    status: str = "active"
    due_at: datetime | None = None
    amount: Amount = Decimal(0)
    note: str = ""


class StoreContract:
    """Behaviour every :class:`subkit.ports.Store` must have."""

    @pytest.fixture
    def store(self) -> Store:  # pragma: no cover - overridden
        raise NotImplementedError("provide a `store` fixture returning a fresh, empty store")

    # -- basic reads and writes ---------------------------------------------------
    def test_add_then_get_round_trips_every_field(self, store: Store) -> None:
        p = Probe(id="p1", customer_id="c1", due_at=T0, amount="12.3456789", note="héllo ✓")
        with store.begin() as uow:
            uow.add(p)
        with store.begin() as uow:
            got = uow.get(Probe, "p1")
        assert got == p
        assert str(got.amount) == "12.3456789"
        assert got.due_at == T0 and got.due_at is not None and got.due_at.utcoffset() == timedelta(0)

    def test_aware_non_utc_times_compare_equal_after_round_trip(self, store: Store) -> None:
        from zoneinfo import ZoneInfo

        at = datetime(2027, 3, 14, 3, 30, tzinfo=ZoneInfo("America/Los_Angeles"))
        with store.begin() as uow:
            uow.add(Probe(id="p1", due_at=at))
        with store.begin() as uow:
            assert uow.get(Probe, "p1").due_at == at

    def test_get_missing_raises_not_found(self, store: Store) -> None:
        with store.begin() as uow, pytest.raises(NotFoundError):
            uow.get(Probe, "nope")

    def test_lock_rereads_and_sees_own_writes(self, store: Store) -> None:
        with store.begin() as uow:
            uow.add(Probe(id="p1", note="v1"))
        with store.begin() as uow:
            got = uow.lock(Probe, "p1")
            assert got is not None and got.note == "v1"
            uow.update(got.bumped(note="v2"))
            again = uow.lock(Probe, "p1", skip_locked=True)
            assert again is not None and again.note == "v2"  # its own buffered write
            assert uow.lock(Probe, "missing") is None
        with store.begin() as uow:
            assert uow.get(Probe, "p1").version == 2

    def test_get_many_returns_those_that_exist(self, store: Store) -> None:
        with store.begin() as uow:
            for i in range(3):
                uow.add(Probe(id=f"p{i}", note=str(i)))
        with store.begin() as uow:
            uow.add(Probe(id="new", note="own write"))
            got = uow.get_many(Probe, ["p2", "missing", "p0", "new", "p2"])
            assert {k: v.note for k, v in got.items()} == {"p2": "2", "p0": "0", "new": "own write"}
            assert uow.get_many(Probe, []) == {}

    def test_add_existing_id_raises_duplicate(self, store: Store) -> None:
        with store.begin() as uow:
            uow.add(Probe(id="p1"))
        with pytest.raises(DuplicateError), store.begin() as uow:
            uow.add(Probe(id="p1"))

    def test_kinds_are_separate_namespaces(self, store: Store) -> None:
        with store.begin() as uow:
            uow.add(Probe(id="x"))
            uow.add(Customer(id="x", name="Ada", currency="EUR"))
        with store.begin() as uow:
            assert uow.get(Customer, "x").name == "Ada"
            assert uow.get(Probe, "x").status == "active"

    def test_find_filters_on_indexed_fields_in_insertion_order(self, store: Store) -> None:
        with store.begin() as uow:
            for i, (cus, status) in enumerate([("a", "open"), ("b", "open"), ("a", "paid"), ("a", "open")]):
                uow.add(Probe(id=f"p{9 - i}", customer_id=cus, status=status))
        with store.begin() as uow:
            assert [p.id for p in uow.find(Probe, customer_id="a", status="open")] == ["p9", "p6"]
            assert [p.id for p in uow.find(Probe)] == ["p9", "p8", "p7", "p6"]
            assert uow.find(Probe, subscription_id="none") == []

    def test_find_with_a_list_means_one_of(self, store: Store) -> None:
        with store.begin() as uow:
            for i, cus in enumerate(["a", "b", "c", "a"]):
                uow.add(Probe(id=f"p{i}", customer_id=cus, status="open" if i < 3 else "paid"))
        with store.begin() as uow:
            uow.add(Probe(id="own", customer_id="c", status="open"))
            got = uow.find(Probe, customer_id=["a", "c"], status="open")
            assert [p.id for p in got] == ["p0", "p2", "own"]
            assert uow.find(Probe, customer_id=[]) == []

    def test_reads_see_own_uncommitted_writes(self, store: Store) -> None:
        with store.begin() as uow:
            uow.add(Probe(id="p1", customer_id="a"))
            assert uow.get(Probe, "p1").customer_id == "a"
            assert [p.id for p in uow.find(Probe, customer_id="a")] == ["p1"]

    # -- atomicity ------------------------------------------------------------------
    def test_exception_rolls_back_everything(self, store: Store) -> None:
        with pytest.raises(RuntimeError), store.begin() as uow:
            uow.add(Probe(id="p1"))
            uow.claim("k1")
            uow.next_number("INV")
            uow.publish(Event.of(EventType.INVOICE_PAID, T0, "p1"))
            raise RuntimeError("crash halfway")
        with store.begin() as uow:
            with pytest.raises(NotFoundError):
                uow.get(Probe, "p1")
            assert not uow.claimed("k1")
            assert uow.next_number("INV") == 1
        assert list(store.pending_events()) == []

    # -- optimistic concurrency -----------------------------------------------------
    def test_update_needs_next_version(self, store: Store) -> None:
        p = Probe(id="p1")
        with store.begin() as uow:
            uow.add(p)
        with store.begin() as uow:
            uow.update(p.bumped(note="v2"))
        with store.begin() as uow:
            assert uow.get(Probe, "p1").version == 2
        with pytest.raises(ConcurrencyError), store.begin() as uow:
            uow.update(p.bumped(note="stale"))  # built from version 1, store is at 2
        with store.begin() as uow:
            assert uow.get(Probe, "p1").note == "v2"

    def test_two_updates_in_one_unit_of_work(self, store: Store) -> None:
        p = Probe(id="p1")
        with store.begin() as uow:
            uow.add(p)
        with store.begin() as uow:
            p2 = p.bumped(note="a")
            uow.update(p2)
            uow.update(p2.bumped(note="b"))
        with store.begin() as uow:
            got = uow.get(Probe, "p1")
        assert (got.version, got.note) == (3, "b")

    def test_concurrent_writers_one_wins(self, store: Store) -> None:
        p = Probe(id="p1")
        with store.begin() as uow:
            uow.add(p)
        results: list[str] = []
        barrier = threading.Barrier(2, timeout=10)

        def writer(note: str) -> None:
            try:
                with store.begin() as uow:
                    cur = uow.get(Probe, "p1")
                    barrier.wait()
                    uow.update(cur.bumped(note=note))
                results.append("ok")
            except (ConcurrencyError, DuplicateError):
                results.append("conflict")
            except threading.BrokenBarrierError:  # a store that serializes writers blocks here
                results.append("serialized")

        threads = [threading.Thread(target=writer, args=(n,)) for n in ("x", "y")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results.count("ok") >= 1
        with store.begin() as uow:
            got = uow.get(Probe, "p1")
        assert got.version == 1 + results.count("ok")

    # -- unique keys and sequences ---------------------------------------------------
    def test_claim_is_unique_across_units_of_work(self, store: Store) -> None:
        with store.begin() as uow:
            uow.claim("charge:sub_1:item_1:2027-01-31")
            with pytest.raises(DuplicateError):
                uow.claim("charge:sub_1:item_1:2027-01-31")
        # A key taken by an earlier unit of work fails this one: at the claim or at commit.
        with pytest.raises(DuplicateError), store.begin() as uow:
            assert uow.claimed("charge:sub_1:item_1:2027-01-31")
            uow.add(Probe(id="written-with-the-duplicate"))
            uow.claim("charge:sub_1:item_1:2027-01-31")
        with store.begin() as uow, pytest.raises(NotFoundError):
            uow.get(Probe, "written-with-the-duplicate")  # nothing of that unit of work was kept

    def test_sequences_are_gap_free_per_series(self, store: Store) -> None:
        with store.begin() as uow:
            assert [uow.next_number("INV"), uow.next_number("INV"), uow.next_number("CN")] == [1, 2, 1]
        with pytest.raises(RuntimeError), store.begin() as uow:
            uow.next_number("INV")
            raise RuntimeError
        with store.begin() as uow:
            assert uow.next_number("INV") == 3

    # -- due work ---------------------------------------------------------------------
    def test_due_returns_earliest_first_up_to_limit(self, store: Store) -> None:
        with store.begin() as uow:
            uow.add(Probe(id="late", due_at=T0 + timedelta(days=3)))
            uow.add(Probe(id="b", due_at=T0))
            uow.add(Probe(id="a", due_at=T0))
            uow.add(Probe(id="never", due_at=None))
            uow.add(Probe(id="early", due_at=T0 - timedelta(seconds=1)))
        with store.begin() as uow:
            assert [p.id for p in uow.due(Probe, T0, 10)] == ["early", "a", "b"]
            assert [p.id for p in uow.due(Probe, T0, 2)] == ["early", "a"]
            assert len(uow.due(Probe, T0 + timedelta(days=3), 10)) == 4

    # -- outbox -------------------------------------------------------------------------
    def test_outbox_publishes_committed_events_once_marked(self, store: Store) -> None:
        e1 = Event.of(EventType.INVOICE_FINALIZED, T0, "in_1", customer_id="c", total=100)
        e2 = Event.of(EventType.INVOICE_PAID, T0, "in_1")
        with store.begin() as uow:
            uow.publish(e1)
            uow.publish(e2)
            uow.publish(e1)  # the same event twice is stored once
        assert [e.id for e in store.pending_events()] == [e1.id, e2.id]
        assert store.pending_events()[0] == e1
        store.mark_published([e1.id])
        assert [e.id for e in store.pending_events()] == [e2.id]

    def test_customer_round_trip(self, store: Store) -> None:
        c = Customer(id="cus_1", name="Ada", currency="JPY", timezone="Asia/Tokyo", metadata={"crm": "7"})
        with store.begin() as uow:
            uow.add(c)
        with store.begin() as uow:
            assert uow.get(Customer, "cus_1") == c


class GatewayContract:
    """Behaviour every :class:`subkit.ports.PaymentGateway` must have.

    Provide a ``gateway`` fixture and a ``good_token`` fixture (a payment method token the
    gateway charges successfully: a test card in a real provider's test mode)::

        class TestMyGateway(GatewayContract):
            @pytest.fixture
            def gateway(self): return MyStripeGateway(api_key=TEST_KEY)

            @pytest.fixture
            def good_token(self): return "pm_card_visa"
    """

    @pytest.fixture
    def gateway(self) -> PaymentGateway:  # pragma: no cover - overridden
        raise NotImplementedError("provide a `gateway` fixture")

    @pytest.fixture
    def good_token(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError("provide a `good_token` fixture")

    def _key(self) -> str:
        return f"contract:{uuid.uuid4().hex}"

    def test_charge_succeeds_with_exact_amount(self, gateway: PaymentGateway, good_token: str) -> None:
        r = gateway.charge(1234, "USD", good_token, self._key(), {"invoice_id": "in_contract"})
        assert r.status == PaymentStatus.SUCCEEDED
        assert (r.amount_minor, r.currency) == (1234, "USD")
        assert r.payment_id

    def test_same_idempotency_key_returns_the_same_payment(
        self, gateway: PaymentGateway, good_token: str
    ) -> None:
        key = self._key()
        first = gateway.charge(500, "EUR", good_token, key, {})
        again = gateway.charge(500, "EUR", good_token, key, {})
        assert again.payment_id == first.payment_id and again.status == first.status

    def test_different_keys_are_different_payments(self, gateway: PaymentGateway, good_token: str) -> None:
        a = gateway.charge(700, "USD", good_token, self._key(), {})
        b = gateway.charge(700, "USD", good_token, self._key(), {})
        assert a.payment_id != b.payment_id

    def test_retrieve_reports_the_payment(self, gateway: PaymentGateway, good_token: str) -> None:
        r = gateway.charge(900, "USD", good_token, self._key(), {})
        assert r.payment_id is not None
        got = gateway.retrieve(r.payment_id)
        assert (got.payment_id, got.status, got.amount_minor) == (r.payment_id, r.status, 900)

    def test_partial_then_full_refund_never_exceeds_the_charge(
        self, gateway: PaymentGateway, good_token: str
    ) -> None:
        r = gateway.charge(1000, "USD", good_token, self._key(), {})
        assert r.payment_id is not None
        key = self._key()
        part = gateway.refund(r.payment_id, 300, key)
        assert part.status == PaymentStatus.SUCCEEDED and part.amount_minor == 300
        assert (
            gateway.refund(r.payment_id, 300, key).payment_id == part.payment_id
        )  # replayed, not refunded twice
        rest = gateway.refund(r.payment_id, 700, self._key())
        assert rest.status == PaymentStatus.SUCCEEDED
        too_much = gateway.refund(r.payment_id, 1, self._key())
        assert too_much.status != PaymentStatus.SUCCEEDED
