"""Metered usage: events recorded against a subscription item's metric, summed per period.

A usage record's ``id`` is the host's event id: recording the same event twice keeps
one (at-least-once delivery from the host is safe).

Example:
    >>> from datetime import datetime, UTC
    >>> r = UsageRecord(id="evt_1", subscription_id="sub_1", metric="api_calls", quantity=120,
    ...                 timestamp=datetime(2027, 1, 5, tzinfo=UTC))
    >>> sum_usage([r], "api_calls", datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC))
    Decimal('120')
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from pydantic import AwareDatetime

from subkit.core.model import Amount, Entity

__all__ = ["UsageRecord", "sum_usage"]


class UsageRecord(Entity):
    """One metered event: ``quantity`` of ``metric`` used at ``timestamp``."""

    kind: ClassVar[str] = "usage_record"
    subscription_id: str
    metric: str
    quantity: Amount
    timestamp: AwareDatetime


def sum_usage(records: Iterable[UsageRecord], metric: str, start: datetime, end: datetime) -> Decimal:
    """Total quantity of ``metric`` with ``start <= timestamp < end``."""
    return sum((r.quantity for r in records if r.metric == metric and start <= r.timestamp < end), Decimal(0))
