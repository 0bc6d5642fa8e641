"""Fakes and contract suites for host applications' tests (as httpx ships MockTransport).

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.testing import TestClock, InMemoryStore
    >>> TestClock(datetime(2027, 1, 1, tzinfo=UTC)).now().year
    2027
"""

from subkit.adapters.storage.memory import InMemoryStore
from subkit.core.clock import TestClock
from subkit.testing.publisher import CollectingPublisher

__all__ = ["CollectingPublisher", "InMemoryStore", "TestClock"]
