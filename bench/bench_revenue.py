"""Recognition schedules for N invoice lines and a 24-month revenue waterfall, vs a bare loop.

Lines (deterministic): 80% monthly service periods starting on a random day (most span two
calendar months), 15% annual (13 months), 5% one-off fees (point in time); booked on their
start date, spread over 24 months from January 2027; prices up to $500.00.

subkit: :func:`subkit.revenue.obligations.month_rows` per line (ratable by day, rounded
per month by largest remainder, catch-up folded), then
:func:`subkit.revenue.reports.waterfall_of_rows` over every row for the 24 months.
Baseline: the same figures with a bare loop on date ordinals (in the books' time zone, as
any correct implementation must) and integer largest remainder, written inline. Both
waterfalls (and the sum of every row) are checked equal. Time should grow linearly with N
(constant lines/s from 10k to 1M). Times are CPU seconds of this process (the machine may be
shared); sizes up to 200k take the best of three runs of each.
"""

from __future__ import annotations

import gc
import random
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

from bench import Row
from subkit.revenue.obligations import Obligation, month_rows
from subkit.revenue.reports import waterfall_of_rows
from subkit.revenue.schedule import Method, RecognitionPolicy, month_index

__all__ = ["MAX_SIZE", "run"]

T = TypeVar("T")

MAX_SIZE = 2_000_000
FIRST = month_index(date(2027, 1, 1))
LAST = FIRST + 23
POLICY = RecognitionPolicy()


def cpu_timed(fn: Callable[[], T]) -> tuple[T, float]:
    """Call ``fn`` once; its result and the CPU time this process spent in it (other load on a
    shared machine does not count, unlike wall time)."""
    t0 = time.process_time()
    out = fn()
    return out, time.process_time() - t0


def lines(n: int, seed: int = 7) -> list[tuple[Obligation, date]]:
    """``n`` obligations with their booking dates, deterministic."""
    rnd = random.Random(seed)
    t0 = datetime(2027, 1, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        start = t0 + timedelta(days=rnd.randrange(720))
        r = rnd.random()
        if r < 0.80:
            end, method = start + timedelta(days=rnd.choice((28, 30, 31))), Method.RATABLE
        elif r < 0.95:
            end, method = start + timedelta(days=365), Method.RATABLE
        else:
            end, method = start, Method.POINT_IN_TIME
        ob = Obligation(f"in_{i}:0", f"in_{i}", f"cus_{i % 997}", "app", "USD", method,
                        start, end, rnd.randint(100, 50000))  # fmt: skip
        out.append((ob, start.date()))
    return out


def with_subkit(work: list[tuple[Obligation, date]]) -> tuple[object, int]:
    billed: list[tuple[int, int]] = []
    total = 0

    def facts() -> Iterator[tuple[int, int, int]]:  # streamed: no list of every row is kept
        nonlocal total
        for ob, booked in work:
            bm = month_index(booked)
            billed.append((bm, ob.price_minor))
            for m, amount in month_rows(ob, bm, POLICY):
                total += amount
                yield bm, m, amount

    w = waterfall_of_rows(facts(), billed, FIRST, LAST, "USD")
    return w, total


def bare(work: list[tuple[Obligation, date]]) -> tuple[object, int]:
    firsts: dict[int, int] = {}

    def first_day(m: int) -> int:
        d = firsts.get(m)
        if d is None:
            d = firsts[m] = date(m // 12, m % 12 + 1, 1).toordinal()
        return d

    tz = POLICY.tz
    width = LAST - FIRST + 1
    cells: dict[int, list[int]] = {}
    billed: dict[int, int] = {}
    total = 0
    for ob, booked in work:
        bm = booked.year * 12 + booked.month - 1
        billed[bm] = billed.get(bm, 0) + ob.price_minor
        price = ob.price_minor
        if ob.method is Method.POINT_IN_TIME:
            rows = [(bm, price)]
        else:
            d0 = ob.start.astimezone(tz).date()  # type: ignore[union-attr]
            s = d0.toordinal()
            e = ob.end.astimezone(tz).date().toordinal()  # type: ignore[union-attr]
            m = d0.year * 12 + d0.month - 1
            months, weights, cur = [], [], s
            while cur < e:
                nxt = first_day(m + 1)
                weights.append((nxt if nxt < e else e) - cur)
                months.append(m)
                cur, m = nxt, m + 1
            wsum = sum(weights)
            parts = [price * w // wsum for w in weights]
            left = price - sum(parts)
            if left:
                order = sorted(range(len(weights)), key=lambda i: (-(price * weights[i] % wsum), i))
                for i in order[:left]:
                    parts[i] += 1
            early, rows = 0, []
            for mm, a in zip(months, parts, strict=True):
                if mm < bm:
                    early += a
                else:
                    rows.append((mm, a + early))
                    early = 0
        for mm, a in rows:
            total += a
            if FIRST <= mm <= LAST:
                line = cells.get(bm)
                if line is None:
                    line = cells[bm] = [0] * width
                line[mm - FIRST] += a
    keys = sorted(set(cells) | {b for b in billed if b >= FIRST})
    out = {b: (billed.get(b, 0), tuple(cells.get(b, [0] * width))) for b in keys}
    return out, total


def run(size: int) -> list[Row]:
    """Schedule ``size`` lines and build the 24-month waterfall, subkit and baseline."""
    work = lines(size)
    lib_s = base_s = float("inf")
    for _ in range(3 if size <= 200_000 else 1):  # best of 3 where it is cheap: the machine is shared
        gc.collect()
        (lib_w, lib_total), t = cpu_timed(lambda: with_subkit(work))
        lib_s = min(lib_s, t)
        gc.collect()
        (base_w, base_total), t = cpu_timed(lambda: bare(work))
        base_s = min(base_s, t)
    assert isinstance(base_w, dict)
    rows = lib_w.rows  # type: ignore[attr-defined]
    same = lib_total == base_total and {month_index(k): v for k, v in rows.items()} == base_w
    if not same:
        raise RuntimeError("revenue: subkit and the baseline disagree")
    note = f"sum of schedules {lib_total:,} = sum of line prices; waterfalls equal; CPU seconds"
    return [Row("revenue.schedules+waterfall", size, size, lib_s, base_s, note)]
