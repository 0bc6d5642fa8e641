"""Quarantined usage: events refused (unknown metric or customer) kept for the host to inspect and replay.

Off by default: an event for a metric or subscription subkit does not know is refused with
an error. With ``BillingConfig(usage_quarantine=True)`` it is kept instead, as a
:class:`QuarantinedUsage` with the reason; once the catalog or the customer is fixed,
``engine.replay_quarantined_usage()`` ingests them again (ids stay unique: nothing doubles).

Example:
    >>> from datetime import datetime, UTC
    >>> q = QuarantinedUsage(id="evt_1", reason="unknown_metric", message="no metric 'cals'",
    ...                      subscription_id="sub_1", metric="cals",
    ...                      timestamp=datetime(2027, 1, 5, tzinfo=UTC), properties={"quantity": "3"})
    >>> q.status, q.kind
    ('quarantined', 'usage_quarantine')
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import AwareDatetime, Field

from subkit.core.model import Entity

__all__ = ["QUARANTINED", "REPLAYED", "QuarantinedUsage"]

QUARANTINED = "quarantined"
REPLAYED = "replayed"


class QuarantinedUsage(Entity):
    """A refused usage event (its id is the event's), with why (``reason``: the error code)."""

    kind: ClassVar[str] = "usage_quarantine"
    status: str = QUARANTINED
    reason: str
    message: str
    subscription_id: str | None = None
    customer_id: str | None = None
    metric: str
    timestamp: AwareDatetime
    properties: dict[str, str] = Field(default_factory=dict)
