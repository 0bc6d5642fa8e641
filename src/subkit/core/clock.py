"""Clocks: where "now" comes from. Domain code never reads the wall clock itself.

Example:
    >>> from datetime import datetime, timedelta, UTC
    >>> clock = TestClock(datetime(2027, 1, 1, tzinfo=UTC))
    >>> clock.advance(timedelta(days=31)).date().isoformat()
    '2027-02-01'
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from subkit.core.periods import ensure_aware
from subkit.errors import InvalidPeriodError

__all__ = ["SystemClock", "TestClock"]


class SystemClock:
    """The real wall clock, in UTC.

    Example:
        >>> SystemClock().now().tzinfo is UTC
        True
    """

    def now(self) -> datetime:
        """Current instant, aware, UTC."""
        return datetime.now(UTC)  # wall clock ok: this is the clock


class TestClock:
    """A clock that only moves when told: time travel for tests and simulations.

    It never goes backwards (billing already done cannot be undone by rewinding).

    Example:
        >>> c = TestClock(datetime(2027, 3, 1, tzinfo=UTC))
        >>> c.travel_to(datetime(2027, 4, 1, tzinfo=UTC)).month
        4
    """

    __test__ = False  # not a pytest test class

    def __init__(self, start: datetime) -> None:
        self._now = ensure_aware(start, "start").astimezone(UTC)

    def now(self) -> datetime:
        """The clock's current instant."""
        return self._now

    def travel_to(self, at: datetime) -> datetime:
        """Jump forward to ``at``; going back raises ``InvalidPeriodError``."""
        at = ensure_aware(at).astimezone(UTC)
        if at < self._now:
            raise InvalidPeriodError(
                f"test clock cannot go back from {self._now.isoformat()} to {at.isoformat()}", field="at"
            )
        self._now = at
        return at

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by ``delta``."""
        return self.travel_to(self._now + delta)
