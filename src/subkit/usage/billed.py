"""What a period's usage was billed at: the record late events are measured against.

At each renewal the metering of the closing period is written down per item and group
(quantity and exact charge). When late events arrive for a period already invoiced, the
next renewal measures that period again and bills only the difference, as a labelled
adjustment line on the next invoice: a closed period is never billed twice.

Example:
    >>> from datetime import datetime, UTC
    >>> from decimal import Decimal
    >>> b = UsageBilled(id="ub_sub_1_1", subscription_id="sub_1", start=datetime(2027, 1, 1, tzinfo=UTC),
    ...                 end=datetime(2027, 2, 1, tzinfo=UTC), checked=0,
    ...                 lines=(("it_1", None, Decimal(4000), Decimal("8.00")),))
    >>> b.billed()[("it_1", None)]
    (Decimal('4000'), Decimal('8.00'))
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import AwareDatetime

from subkit.core.model import Amount, Entity

__all__ = ["UsageBilled", "UsageClose"]


class UsageBilled(Entity):
    """A subscription's usage billed for ``[start, end)``: (item id, group, quantity, exact charge) lines.

    ``checked`` (UTC epoch microseconds): late events recorded since then were not yet measured.
    """

    kind: ClassVar[str] = "usage_billed"
    subscription_id: str
    start: AwareDatetime
    end: AwareDatetime
    checked: int
    lines: tuple[tuple[str, str | None, Amount, Amount], ...] = ()

    def billed(self) -> dict[tuple[str, str | None], tuple[Amount, Amount]]:
        """(item id, group) -> (quantity, exact charge) billed so far."""
        return {(item, group): (q, amount) for item, group, q, amount in self.lines}


class UsageClose(Entity):
    """A closed period whose usage is billed after a grace period (``due_at``), not at the renewal.

    Example:
        >>> from datetime import datetime, UTC
        >>> c = UsageClose(id="uc_1", subscription_id="sub_1", start=datetime(2027, 1, 1, tzinfo=UTC),
        ...                end=datetime(2027, 2, 1, tzinfo=UTC), due_at=datetime(2027, 2, 4, tzinfo=UTC))
        >>> c.status
        'open'
    """

    kind: ClassVar[str] = "usage_close"
    subscription_id: str
    start: AwareDatetime
    end: AwareDatetime
    status: str = "open"
    due_at: AwareDatetime | None = None
