"""MRR movements for every month of 24, for N subscriptions: subkit's analytics vs DuckDB, same run.

The book (not timed): N subscriptions of 0.8 N customers (one in four customers holds two), 24
months from 2025-01-01 UTC. A subscription starts before the window (its MRR opens month 1) or
in one of the months, then may upgrade, downgrade, churn and come back (a reactivation) on
random days, 2 to 4 points per subscription on average. Amounts are minor units of the reporting
currency, as :class:`subkit.analytics.MrrPoint` values for subkit and as four columns for DuckDB.

subkit: ``MrrBook(points, "USD")`` then ``monthly_movements(book, 25 month bounds)``: opening,
new, expansion, contraction, churn, reactivation, closing and the five customer counts of each
month. Baseline: the same figures computed by DuckDB from the columns in one SQL statement (the
customer's MRR per instant by window sums, the last value per month, a lag to the month before),
the vectorized way. Every figure of every month is checked equal before a row is printed.
Time should grow linearly with N (constant items/s from 10k to 1M). A second row runs subkit
inside ``core.heap.frozen_heap`` (``BillingConfig(freeze_heap=True)`` does the same for the
analytics service): the cyclic GC then stops re-walking the points the book was given.
"""

from __future__ import annotations

import gc
import random
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta

from bench import Row, timed
from subkit.analytics import MrrBook, MrrPoint, monthly_movements
from subkit.analytics.mrr import month_starts
from subkit.core.heap import frozen_heap

__all__ = ["MAX_SIZE", "book", "duckdb_movements", "run", "subkit_movements"]

MAX_SIZE = 2_000_000
MONTHS = 24
START = datetime(2025, 1, 1, tzinfo=UTC)
BOUNDS = month_starts(START, MONTHS)
_PRICES = (1000, 2900, 4900, 9900, 19900)
#: Shared instants (every 6 hours over the window and the month before), as a store shares them.
_HOURS = [START - timedelta(days=31) + timedelta(hours=6 * i) for i in range((MONTHS * 31 + 31) * 4)]
_LAST = BOUNDS[-1]


def book(n: int, seed: int = 13) -> tuple[list[MrrPoint], dict[str, list[int]]]:
    """``n`` subscriptions' points, and the same points as columns (sub, customer, epoch, mrr)."""
    rnd = random.Random(seed)
    customers = max(1, n * 4 // 5)
    points: list[MrrPoint] = []
    cols: dict[str, list[int]] = {"sub": [], "customer": [], "ts": [], "mrr": []}
    slots = len(_HOURS)
    epoch = [int(h.timestamp()) for h in _HOURS]
    new = MrrPoint.trusted
    for s in range(n):
        c = s if s < customers else rnd.randrange(customers)
        sub, cus = f"sub_{s}", f"cus_{c}"
        # before the window (a third), else some time in it
        i = rnd.randrange(0, 124) if rnd.random() < 0.33 else rnd.randrange(124, slots - 4)
        price = rnd.choice(_PRICES)
        value = price
        steps = [(i, value)]
        while True:
            i += rnd.randrange(60, 1400)
            if i >= slots:
                break
            r = rnd.random()
            if r < 0.35:  # upgrade
                value = value * 2 if value else price
            elif r < 0.55:  # downgrade
                value = value // 2 if value > 1000 else value
            elif r < 0.85:  # churn
                value = 0
            else:  # come back, or a quantity change
                value = price if value == 0 else value + 500
            if value != steps[-1][1]:
                steps.append((i, value))
        for i, v in steps:
            points.append(new(sub, cus, _HOURS[i], v))
            cols["sub"].append(s)
            cols["customer"].append(c)
            cols["ts"].append(epoch[i])
            cols["mrr"].append(v)
    return points, cols


Figures = list[tuple[int, ...]]


def subkit_movements(points: list[MrrPoint]) -> Figures:
    """Per month: opening, new, expansion, contraction, churn, reactivation, closing, 5 counts, logos."""
    periods = monthly_movements(MrrBook(points, "USD"), BOUNDS)
    return [
        (m.opening, m.new, m.expansion, m.contraction, m.churn, m.reactivation, m.closing,
         *m.counts.values(), m.opening_customers)
        for m in periods
    ]  # fmt: skip


_SQL = """
WITH deltas AS (   -- each subscription's change, then summed per customer and instant
    SELECT customer, ts, mrr - coalesce(lag(mrr) OVER (PARTITION BY sub ORDER BY ts), 0) AS d
    FROM points
), per_instant AS (
    SELECT customer, ts, sum(d) AS d FROM deltas GROUP BY customer, ts
), totals AS (
    SELECT customer, ts, sum(d) OVER (PARTITION BY customer ORDER BY ts) AS total FROM per_instant
), indexed AS (    -- k: the period holding `ts` (0 = before the window), K + 1 = after it
    SELECT t.customer, t.ts, t.total, (SELECT count(*) FROM bounds b WHERE b.t <= t.ts) AS k FROM totals t
), first_paid AS (
    SELECT customer, min(k) AS fk FROM indexed WHERE total > 0 GROUP BY customer
), last_per_period AS (
    SELECT customer, k, arg_max(total, ts) AS v FROM indexed WHERE k <= $months GROUP BY customer, k
), moves AS (
    SELECT l.customer, l.k, l.v, coalesce(lag(l.v) OVER (PARTITION BY l.customer ORDER BY l.k), 0) AS prev,
           f.fk
    FROM last_per_period l LEFT JOIN first_paid f USING (customer)
), kinds AS (
    SELECT k, v - prev AS delta,
        CASE WHEN prev = 0 AND v > 0 AND fk = k THEN 'new'
             WHEN prev = 0 AND v > 0 THEN 'reactivation'
             WHEN prev > 0 AND v = 0 THEN 'churn'
             WHEN v > prev THEN 'expansion'
             ELSE 'contraction' END AS kind
    FROM moves WHERE k >= 1 AND v <> prev
)
SELECT
    (SELECT coalesce(sum(v), 0) FROM last_per_period WHERE k = 0 AND v > 0) AS opening,
    (SELECT count(*) FROM last_per_period WHERE k = 0 AND v > 0) AS logos,
    k, kind, sum(delta) AS amount, count(*) AS n
FROM kinds GROUP BY k, kind ORDER BY k, kind
"""


def duckdb_movements(cols: dict[str, list[int]]) -> Figures:
    """The same figures, vectorized in DuckDB from the columns."""
    import duckdb
    import numpy as np
    import pandas as pd

    con = duckdb.connect()
    try:
        con.execute("SET threads TO 1")  # one core, as subkit
        con.register("points", pd.DataFrame({k: np.asarray(v, dtype=np.int64) for k, v in cols.items()}))
        con.register(
            "bounds", pd.DataFrame({"t": np.asarray([int(b.timestamp()) for b in BOUNDS], dtype=np.int64)})
        )
        rows = con.execute(_SQL.replace("$months", str(MONTHS))).fetchall()
    finally:
        con.close()
    order = ("new", "expansion", "contraction", "churn", "reactivation")
    amounts = [dict.fromkeys(order, 0) for _ in range(MONTHS)]
    counts = [dict.fromkeys(order, 0) for _ in range(MONTHS)]
    opening = logos = 0
    for op, lg, k, kind, amount, n in rows:
        opening, logos = int(op), int(lg)
        amounts[k - 1][kind] = int(amount)
        counts[k - 1][kind] = int(n)
    if not rows:
        return []
    out: Figures = []
    for k in range(MONTHS):
        a, c = amounts[k], counts[k]
        closing = opening + sum(a.values())
        out.append((opening, *(a[x] for x in order), closing, *(c[x] for x in order), logos))
        opening = closing
        logos += c["new"] + c["reactivation"] - c["churn"]
    return out


def run(size: int) -> list[Row]:
    import duckdb  # noqa: F401 - imported before the clock starts, as subkit's modules are
    import pandas  # noqa: F401

    points, cols = book(size)
    gc.collect()
    theirs, base_s = timed(lambda: duckdb_movements(cols))
    rows = []
    for scenario, frozen in (("analytics.movements", False), ("analytics.movements.frozen", True)):
        gc.collect()
        with frozen_heap() if frozen else nullcontext():
            ours, lib_s = timed(lambda: subkit_movements(points))
        if ours != theirs:
            bad = next(k for k, (a, b) in enumerate(zip(ours, theirs, strict=True)) if a != b)
            raise AssertionError(f"month {bad + 1}: subkit {ours[bad]} != DuckDB {theirs[bad]}")
        note = (
            f"{len(points):,} MRR points, {MONTHS} months; subkit and DuckDB agreed on every figure "
            f"(closing MRR {ours[-1][6]:,}, {sum(sum(r[7:12]) for r in ours):,} customer movements)"
            + ("; the book's points frozen out of the GC's walks (core.heap.frozen_heap)" if frozen else "")
        )
        rows.append(Row(scenario, size, size, lib_s, base_s, note=note))
    return rows
