"""The core values every domain builds on: money, periods, clocks, events and the model base.

Pure: no I/O. ``money`` (exact amounts in minor units, allocation, formatting), ``periods``
(half-open periods, billing cycles from an anchor), ``clock`` (``SystemClock``, ``TestClock``),
``events`` (domain events for the outbox) and ``model`` (the pydantic base of stored values).
"""

__all__: list[str] = []
