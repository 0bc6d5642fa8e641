"""What every store contract mixin shares: the ``store`` fixture, a probe entity, small helpers.

Example:
    >>> p = Probe(id="p1", note="v1")
    >>> bump(p, note="v2").version
    2
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import ClassVar, TypeVar

import pytest

from subkit.core.model import Amount, Entity
from subkit.ports import Store

__all__ = ["T0", "Probe", "StoreFixture", "bump"]

#: The instant the contracts use.
T0 = datetime(2027, 1, 31, 12, 0, tzinfo=UTC)

E = TypeVar("E", bound=Entity)


class Probe(Entity):
    """A small entity with every indexed attribute, used by the store contract."""

    kind: ClassVar[str] = "contract_probe"
    customer_id: str | None = None
    subscription_id: str | None = None
    status: str = "active"
    due_at: datetime | None = None
    amount: Amount = Decimal(0)
    note: str = ""


def bump(entity: E, **changes: object) -> E:
    """A copy of ``entity`` with ``changes`` and the next version (what ``update`` expects)."""
    return entity.model_copy(update={**changes, "version": entity.version + 1})


class StoreFixture:
    """The fixture every store mixin uses: override ``store`` to return a fresh, empty store.

    Example::

        class TestMyStore(StoreContract):
            @pytest.fixture
            def store(self):
                return MyStore(...)
    """

    @pytest.fixture
    def store(self) -> Store:  # pragma: no cover - overridden
        raise NotImplementedError("provide a `store` fixture returning a fresh, empty store")
