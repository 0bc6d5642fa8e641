"""subkit benchmarks: each ``bench_*.py`` module exposes ``run(size) -> list[Row]``.

Run them all with ``python -m bench --sizes 1000,10000`` (see ``bench/README.md``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

__all__ = ["Row", "timed"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Row:
    """One measurement: ``items`` made by subkit in ``lib_seconds``, by plain Python in ``base_seconds``."""

    scenario: str
    size: int
    items: int
    lib_seconds: float
    base_seconds: float
    note: str = ""
    #: Memory the run left held (resident memory after it less before its set-up), if measured.
    held_bytes: int | None = None
    #: Peak resident memory of the process that ran it, if measured.
    peak_bytes: int | None = None
    #: CPU time of subkit's side, if measured (on a shared machine, steadier than wall time).
    lib_cpu_seconds: float | None = None

    @property
    def lib_rate(self) -> float:
        """subkit's throughput, items per second."""
        return self.items / self.lib_seconds if self.lib_seconds else float("inf")

    @property
    def base_rate(self) -> float:
        """The bare baseline's throughput, items per second."""
        return self.items / self.base_seconds if self.base_seconds else float("inf")

    @property
    def micros_per_item(self) -> float:
        """subkit's wall time per item, in microseconds."""
        return self.lib_seconds / self.items * 1e6 if self.items else float("inf")

    @property
    def ratio(self) -> float:
        """subkit's time over the baseline's (1.0 = as fast as plain Python; 5.0 = five times slower)."""
        return self.lib_seconds / self.base_seconds if self.base_seconds else float("inf")


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    """Call ``fn`` once; return its result and the wall time it took, in seconds."""
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0
