"""The cyclic garbage collector around billing work: paused per batch, or a frozen heap per run.

:func:`paused_collector` (what a billing run does around each batch by default,
``BillingConfig.pause_gc``) switches the cyclic collector off while one batch runs and back on
when it ends. A batch's values hold no reference cycles, so reference counting frees them as
before; the collector, which only finds cycles, has nothing to find in them, yet with the
collector on, the many short-lived objects of a batch trigger collections whose full passes
walk whatever the process holds (the book, the host's objects): a cost per invoice that grows
with the book. Paused, the cost per invoice no longer depends on what else the process holds.
A cycle made meanwhile (by the host's other threads, say) waits for the first collection after
the batch, a fraction of a second later. A host that switched the collector off itself is left
alone, and nested or concurrent batches share one pause (the last to end switches it back on).

:func:`frozen_heap`, an opt-in freeze of the cyclic garbage collector's view of the heap, for one billing run:

CPython's cyclic collector walks every tracked container of the oldest generation on each
full collection, and a billing run makes many short-lived objects that trigger full
collections. What the process held before the run (a large in-memory book, caches, the
host's own objects) does not change during it, so walking it again and again is wasted
work that grows with the book. :func:`frozen_heap` moves everything tracked at its start
into the permanent generation (``gc.freeze()``) and back at its end (``gc.unfreeze()``):
both are constant-time list splices. Objects made inside the block are collected as
usual, and full collections (which now walk only what the run made) are considered ten
times less often: a run's objects are freed by reference counting, the collector is only
needed for cycles, which wait a little longer. Garbage that already existed when the
block started waits until it ends. Both settings are restored when it ends.

Opt in where a run starts, e.g. around ``BillingEngine.advance``. Nested and concurrent
blocks share one freeze (the outermost ends it). A process that froze its heap itself
(``gc.freeze()`` before forking workers, say) is left alone: the block then does nothing.

Example:
    >>> import gc
    >>> before = gc.get_threshold()
    >>> with frozen_heap():
    ...     gc.get_freeze_count() > 0, gc.get_threshold()[2] == before[2] * 10
    (True, True)
    >>> gc.get_freeze_count(), gc.get_threshold() == before
    (0, True)
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["FULL_COLLECTION_SPACING", "frozen_heap", "paused_collector"]

_lock = threading.Lock()
_depth = 0
_ours = False
_thresholds: tuple[int, int, int] = (700, 10, 10)
_paused = 0
_paused_by_us = False
#: How much less often full collections are considered inside the block.
FULL_COLLECTION_SPACING = 10


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Keep what the process holds now out of the cyclic collector's work while the block runs."""
    global _depth, _ours, _thresholds
    with _lock:
        if _depth == 0:
            _ours = gc.get_freeze_count() == 0
            if _ours:
                gc.freeze()
                _thresholds = gc.get_threshold()
                t0, t1, t2 = _thresholds
                gc.set_threshold(t0, t1, t2 * FULL_COLLECTION_SPACING)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _ours:
                gc.set_threshold(*_thresholds)
                gc.unfreeze()
                _ours = False


@contextmanager
def paused_collector() -> Iterator[None]:
    """Switch the cyclic garbage collector off while the block runs (reference counting goes on).

    Example:
        >>> import gc
        >>> with paused_collector():
        ...     gc.isenabled()
        False
        >>> gc.isenabled()
        True
    """
    global _paused, _paused_by_us
    with _lock:
        if _paused == 0:
            _paused_by_us = gc.isenabled()
            if _paused_by_us:
                gc.disable()
        _paused += 1
    try:
        yield
    finally:
        with _lock:
            _paused -= 1
            if _paused == 0 and _paused_by_us:
                gc.enable()
                _paused_by_us = False
