"""An opt-in freeze of the cyclic garbage collector's view of the heap, for one billing run.

CPython's cyclic collector walks every tracked container of the oldest generation on each
full collection, and a billing run makes many short-lived objects that trigger full
collections. What the process held before the run (a large in-memory book, caches, the
host's own objects) does not change during it, so walking it again and again is wasted
work that grows with the book. :func:`frozen_heap` moves everything tracked at its start
into the permanent generation (``gc.freeze()``) and back at its end (``gc.unfreeze()``):
both are constant-time list splices. Objects made inside the block are collected as
usual. Garbage that already existed when the block started waits until it ends.

Opt in where a run starts, e.g. around ``BillingEngine.advance``. Nested and concurrent
blocks share one freeze (the outermost ends it). A process that froze its heap itself
(``gc.freeze()`` before forking workers, say) is left alone: the block then does nothing.

Example:
    >>> import gc
    >>> with frozen_heap():
    ...     gc.get_freeze_count() > 0
    True
    >>> gc.get_freeze_count()
    0
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["frozen_heap"]

_lock = threading.Lock()
_depth = 0
_ours = False


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Keep what the process holds now out of the cyclic collector's work while the block runs."""
    global _depth, _ours
    with _lock:
        if _depth == 0:
            _ours = gc.get_freeze_count() == 0
            if _ours:
                gc.freeze()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _ours:
                gc.unfreeze()
                _ours = False
