"""The core values every domain builds on: money, periods, clocks, events and the model base.

Pure: no I/O. ``money`` (exact amounts in minor units, allocation, formatting), ``periods``
(half-open periods, billing cycles from an anchor), ``clock`` (``SystemClock``, ``TestClock``),
``events`` (domain events for the outbox), ``model`` (the pydantic base of stored values, and
the one place that builds them without validation), ``value`` (slotted values for what the
billing loop makes in bulk) and ``heap`` (an opt-in freeze of the garbage collector per run).
"""

__all__: list[str] = []
