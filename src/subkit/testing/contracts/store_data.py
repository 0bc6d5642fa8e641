"""Store contracts for data: reads and writes, ``find``, and values that round-trip (or are refused).

Example:
    >>> "test_find_refuses_attributes_that_are_not_indexed" in dir(StoreFindContract)
    True
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from subkit.core.events import Event, EventType
from subkit.customer.customer import Customer
from subkit.errors import DuplicateError, NaiveDatetimeError, NotFoundError, StateError, ValidationError
from subkit.ports import Store
from subkit.testing.contracts.base import T0, Probe, StoreFixture, bump

__all__ = ["StoreCrudContract", "StoreFindContract", "StoreRoundTripContract"]


class StoreCrudContract(StoreFixture):
    """``get``, ``get_many``, ``lock``, ``add``, ``update``, and the unit of work's ``with`` block."""

    def test_get_missing_raises_not_found(self, store: Store) -> None:
        with store.begin() as uow, pytest.raises(NotFoundError):
            uow.get(Probe, "nope")

    def test_lock_rereads_and_sees_own_writes(self, store: Store) -> None:
        with store.begin() as uow:
            uow.add(Probe(id="p1", note="v1"))
        with store.begin() as uow:
            got = uow.lock(Probe, "p1")
            assert got is not None and got.note == "v1"
            uow.update(bump(got, note="v2"))
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
        with pytest.raises(DuplicateError), store.begin() as uow:
            uow.add(Probe(id="p2"))
            uow.add(Probe(id="p2"))  # twice in one unit of work: at once

    def test_update_of_a_missing_entity_raises_not_found(self, store: Store) -> None:
        with pytest.raises(NotFoundError), store.begin() as uow:
            uow.update(Probe(id="ghost", version=2))

    def test_kinds_are_separate_namespaces(self, store: Store) -> None:
        with store.begin() as uow:
            uow.add(Probe(id="x"))
            uow.add(Customer(id="x", name="Ada", currency="EUR"))
        with store.begin() as uow:
            assert uow.get(Customer, "x").name == "Ada"
            assert uow.get(Probe, "x").status == "active"

    def test_reads_see_own_uncommitted_writes(self, store: Store) -> None:
        with store.begin() as uow:
            uow.add(Probe(id="p1", customer_id="a"))
            assert uow.get(Probe, "p1").customer_id == "a"
            assert [p.id for p in uow.find(Probe, customer_id="a")] == ["p1"]

    def test_explicit_rollback_keeps_nothing(self, store: Store) -> None:
        with store.begin() as uow:
            uow.add(Probe(id="p1"))
            uow.rollback()
        with store.begin() as uow, pytest.raises(NotFoundError):
            uow.get(Probe, "p1")

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

    def test_a_finished_unit_of_work_refuses_use(self, store: Store) -> None:
        uow = store.begin()
        with uow:
            uow.add(Probe(id="p1"))
        with pytest.raises(StateError):
            uow.get(Probe, "p1")


class StoreFindContract(StoreFixture):
    """``find``: equality on indexed attributes only, in insertion order, own writes included."""

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

    def test_find_none_matches_entities_without_a_value(self, store: Store) -> None:
        with store.begin() as uow:
            uow.add(Probe(id="p1", customer_id=None))
            uow.add(Probe(id="p2", customer_id="a"))
        with store.begin() as uow:
            assert [p.id for p in uow.find(Probe, customer_id=None)] == ["p1"]

    def test_an_attribute_the_kind_lacks_is_none_on_all_its_entities(self, store: Store) -> None:
        with store.begin() as uow:
            uow.add(Customer(id="cus_1", name="Ada", currency="EUR"))  # customers have no subscription_id
        with store.begin() as uow:
            assert uow.find(Customer, subscription_id="sub_1") == []
            assert [c.id for c in uow.find(Customer, subscription_id=None)] == ["cus_1"]

    def test_find_follows_own_updates(self, store: Store) -> None:
        with store.begin() as uow:
            uow.add(Probe(id="p1", customer_id="a"))
            uow.add(Probe(id="p2", customer_id="a"))
        with store.begin() as uow:
            uow.update(bump(uow.get(Probe, "p1"), customer_id="b"))
            assert [p.id for p in uow.find(Probe, customer_id="a")] == ["p2"]
            assert [p.id for p in uow.find(Probe, customer_id="b")] == ["p1"]
        with store.begin() as uow:
            assert [p.id for p in uow.find(Probe, customer_id="b")] == ["p1"]

    def test_find_compares_times_as_instants(self, store: Store) -> None:
        from zoneinfo import ZoneInfo

        with store.begin() as uow:
            uow.add(Probe(id="p1", due_at=T0))
        with store.begin() as uow:
            assert [p.id for p in uow.find(Probe, due_at=T0.astimezone(ZoneInfo("Asia/Tokyo")))] == ["p1"]

    def test_find_refuses_attributes_that_are_not_indexed(self, store: Store) -> None:
        with store.begin() as uow:
            uow.add(Customer(id="cus_1", name="Ada", currency="EUR"))
        with store.begin() as uow:
            with pytest.raises(ValidationError, match="indexed") as err:
                uow.find(Customer, name="Ada")
            assert err.value.field == "name"
            for indexed in ("customer_id", "subscription_id", "status", "due_at"):
                assert indexed in err.value.message  # the error names what can be used
            with pytest.raises(ValidationError, match="indexed"):
                uow.find(Probe, note="x")

    def test_find_compares_due_at_with_aware_datetimes_only(self, store: Store) -> None:
        with store.begin() as uow:
            with pytest.raises(ValidationError, match="due_at"):
                uow.find(Probe, due_at=1_800_000_000)
            with pytest.raises(NaiveDatetimeError):
                uow.find(Probe, due_at=datetime(2027, 1, 1))


class StoreRoundTripContract(StoreFixture):
    """What is written reads back equal, exactly; what some store could not keep is refused by all."""

    def test_add_then_get_round_trips_every_field(self, store: Store) -> None:
        p = Probe(id="p1", customer_id="c1", due_at=T0, amount="12.3456789", note="héllo ✓ \x00 نص 😀")
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

    def test_customer_round_trip(self, store: Store) -> None:
        c = Customer(id="cus_1", name="Ada", currency="JPY", timezone="Asia/Tokyo", metadata={"crm": "7"})
        with store.begin() as uow:
            uow.add(c)
        with store.begin() as uow:
            assert uow.get(Customer, "cus_1") == c

    def test_text_that_cannot_be_stored_is_refused_and_nothing_is_kept(self, store: Store) -> None:
        bad_fields: list[dict[str, object]] = [
            {"name": "Ada\ud800"},  # a lone surrogate: not valid Unicode, JSON cannot carry it
            {"metadata": {"crm": "\udfff"}},
            {"metadata": {"\ud83d": "key"}},  # in a key (serializers replace it silently)
        ]
        for n, bad in enumerate(bad_fields):
            with pytest.raises(ValidationError), store.begin() as uow:  # at add, or at the latest at commit
                uow.add(Customer(id=f"cus_ok{n}", name="Ok", currency="EUR"))
                uow.add(Customer.model_validate({"id": f"cus_bad{n}", "currency": "EUR", "name": "B", **bad}))
            with store.begin() as uow:
                assert uow.get_many(Customer, [f"cus_ok{n}", f"cus_bad{n}"]) == {}, bad

    def test_an_update_that_cannot_be_stored_is_refused_and_nothing_is_kept(self, store: Store) -> None:
        with store.begin() as uow:
            uow.add(Customer(id="cus_1", name="Ada", currency="EUR"))
        with pytest.raises(ValidationError), store.begin() as uow:
            uow.add(Probe(id="p1"))
            uow.update(bump(uow.get(Customer, "cus_1"), name="Ada\ud800"))
        with store.begin() as uow:
            assert uow.get(Customer, "cus_1").name == "Ada"
            assert uow.get_many(Probe, ["p1"]) == {}

    def test_ids_and_indexed_text_must_be_storable_text(self, store: Store) -> None:
        bad = [
            Probe(id="p\x00"),
            Probe(id="p\ud800"),
            Probe(id="p1", customer_id="c\x00"),
            Probe(id="p2", status="\ud800"),
        ]
        for probe in bad:  # NUL: PostgreSQL text cannot hold it; a lone surrogate: no database can
            with pytest.raises(ValidationError), store.begin() as uow:
                uow.add(probe)
        with store.begin() as uow:
            assert uow.find(Probe) == []
