"""The event publisher contract on ``subkit.testing.CollectingPublisher``."""

import pytest

from subkit.testing import CollectingPublisher
from subkit.testing.contracts import EventPublisherContract


class TestCollectingPublisher(EventPublisherContract):
    @pytest.fixture
    def publisher(self) -> CollectingPublisher:
        return CollectingPublisher()
