"""A customer is found by the host's own id (Lago's external_customer_id), unique and indexed (issue 15)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from subkit import BillingEngine, InMemoryStore, TestClock
from subkit.errors import DuplicateError, NotFoundError, ValidationError
from subkit.ports import Store


@pytest.fixture(params=["memory", "sqlite"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BillingEngine]:
    store: Store
    if request.param == "memory":
        store = InMemoryStore()
    else:
        from subkit.adapters.storage.sql import SqlStore

        store = SqlStore(str(tmp_path / "ext.sqlite"))
    yield BillingEngine(store, TestClock(datetime(2027, 1, 1, tzinfo=UTC)))
    close = getattr(store, "close", None)
    if close is not None:
        close()


def test_found_by_external_id_ignoring_case_and_spaces(engine: BillingEngine) -> None:
    ada = engine.create_customer(name="Ada", currency="EUR", external_id="CRM-0042")
    engine.create_customer(name="Bo", currency="EUR", external_id="CRM-0043")
    assert engine.customer_by_external_id("CRM-0042").id == ada.id
    assert engine.customer_by_external_id(" crm-0042 ").id == ada.id
    with pytest.raises(NotFoundError, match="no customer with external_id 'CRM-9'"):
        engine.customer_by_external_id("CRM-9")


def test_an_external_id_belongs_to_one_customer_and_is_set_once(engine: BillingEngine) -> None:
    ada = engine.create_customer(name="Ada", currency="EUR", external_id="crm-1")
    with pytest.raises(DuplicateError, match="external_id 'CRM-1' exists"):
        engine.create_customer(name="Eve", currency="EUR", external_id="CRM-1")
    bo = engine.create_customer(name="Bo", currency="EUR")
    with pytest.raises(DuplicateError):
        engine.update_customer(bo.id, external_id="Crm-1")
    assert engine.get_customer(bo.id).external_id is None  # nothing written
    engine.update_customer(bo.id, external_id="crm-2")  # set once, later
    assert engine.customer_by_external_id("CRM-2").id == bo.id
    with pytest.raises(ValidationError, match="it is set once"):
        engine.update_customer(ada.id, external_id="crm-3")
