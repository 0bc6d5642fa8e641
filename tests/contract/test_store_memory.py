import pytest

from subkit.adapters.storage.memory import InMemoryStore
from subkit.testing.contracts import StoreContract


class TestInMemoryStore(StoreContract):
    @pytest.fixture
    def store(self) -> InMemoryStore:
        return InMemoryStore()
