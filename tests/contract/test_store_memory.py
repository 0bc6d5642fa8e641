"""The store contract on the in-memory store.

Every capability runs, with no known gap: memory and SQL stores answer alike.
"""

import pytest

from subkit.adapters.storage.memory import InMemoryStore
from subkit.testing.contracts import StoreContract


class TestInMemoryStore(StoreContract):
    @pytest.fixture
    def store(self) -> InMemoryStore:
        return InMemoryStore()
