"""Usage events at scale: bulk ingestion and rating of N events, next to a bare loop in the same run.

Events: N API-call events over 1,000 subscriptions (fewer when N is small), one metric
(``sum`` of ``quantity``), timestamps across January 2027 in arrival order (give or take a
minute, as a product emits them), 1 in 100 ids sent twice.

* ``usage.ingest.<store>``: ``engine.ingest_usage(events)`` (plain dicts, checked, deduplicated
  by the store's unique key; SQLite ``executemany``, PostgreSQL ``COPY``) into memory, a SQLite
  file and PostgreSQL (when ``SUBKIT_BENCH_POSTGRES_URL`` or ``SUBKIT_TEST_POSTGRES_URL`` is
  set). Baseline: plain Python reading the same event stream and summing the values into a
  dict per subscription, with a set of ids for dedup.
* ``usage.store.<store>``: the store alone, ``uow.usage.ingest`` of the same events already
  encoded as rows (what the database costs, without the per-event checks of the service).
* ``usage.rate.<store>``: the rating of every subscription's January (one aggregation per
  subscription, ``GROUP BY`` in SQL) as a renewal does it. Baseline: the same bare loop over
  the values already in memory (tuples; generating them is not timed).

Both are checked: the rated totals equal the baseline's. ``held/size`` is the memory the run
kept per event (flat for SQL stores: the events live in the database). Nothing is asserted.
"""

from __future__ import annotations

import os
import random
import resource
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench import Row, timed
from subkit.adapters.storage.memory import InMemoryStore
from subkit.adapters.storage.sql import SqlStore, make_engine
from subkit.catalog.catalog import Catalog, Plan, Product
from subkit.catalog.metrics import BillableMetric
from subkit.catalog.pricing import PerUnit
from subkit.core.clock import TestClock
from subkit.ports import Store
from subkit.services.engine import BillingEngine
from subkit.usage.aggregate import UsageQuery
from subkit.usage.event import UsageRow, usage_row

__all__ = ["MAX_SIZE", "run"]

MAX_SIZE = 10_000_000
T0 = datetime(2027, 1, 1, tzinfo=UTC)
FEB = datetime(2027, 2, 1, tzinfo=UTC)
_SPAN = int((FEB - T0).total_seconds())


def _subs(size: int) -> int:
    return max(1, min(1000, size // 100))


def _events(size: int) -> Iterator[dict[str, Any]]:
    """N events (1 in 100 a repeat of the one before), generated lazily: memory stays flat."""
    rnd = random.Random(7)
    subs = _subs(size)
    prev: dict[str, Any] | None = None
    for n in range(size):
        if prev is not None and n % 100 == 99:
            yield prev
            continue
        prev = {
            "id": f"evt_{n:09d}",
            "subscription_id": f"sub_{n % subs:05d}",
            "metric": "api_calls",
            # in arrival order, as a product emits them, give or take a minute
            "timestamp": T0
            + timedelta(seconds=max(0, min(_SPAN - 1, n * _SPAN // size + rnd.randrange(-60, 60)))),
            "quantity": rnd.randrange(1, 1000),
        }
        yield prev


def _baseline(size: int) -> dict[str, int]:
    totals: dict[str, int] = {}
    seen: set[str] = set()
    for e in _events(size):
        if e["id"] in seen:
            continue
        seen.add(e["id"])
        totals[e["subscription_id"]] = totals.get(e["subscription_id"], 0) + e["quantity"]
    return totals


def _engine(store: Store, size: int) -> BillingEngine:
    engine = BillingEngine(store, TestClock(T0))
    engine.set_catalog(
        Catalog(
            products=(Product(id="app", name="App"),),
            plans=(
                Plan(
                    id="api",
                    product_id="app",
                    name="API",
                    metric="api_calls",
                    prices={"USD": PerUnit(unit_amount="0.001")},
                ),
            ),
        )
    )
    cus = engine.create_customer(name="Bench", currency="USD")
    for n in range(_subs(size)):
        engine.subscribe(cus.id, "api", at=T0, id=f"sub_{n:05d}")
    return engine


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _rate(store: Store, size: int) -> dict[str, int]:
    """Every subscription's January, as a billing run's batch would ask it (``aggregate_many``)."""
    metric = BillableMetric(code="api_calls")
    subs = [f"sub_{n:05d}" for n in range(_subs(size))]
    out = {}
    with store.begin() as uow:
        answers = uow.usage.aggregate_many([UsageQuery.of(sub, metric, T0, FEB) for sub in subs])
    for sub, got in zip(subs, answers, strict=True):
        total = int(got.get(None, Decimal(0)))
        if total:
            out[sub] = total
    return out


def _rows(size: int, prefix: str) -> Iterator[list[UsageRow]]:
    """The events as stored rows (ids prefixed: new to the store), in chunks of 50,000."""
    chunk: list[UsageRow] = []
    for e in _events(size):
        chunk.append(
            usage_row(
                prefix + e["id"],
                e["subscription_id"],
                "cus",
                "api_calls",
                e["timestamp"],
                {"quantity": e["quantity"]},
                value_field="quantity",
            )
        )
        if len(chunk) == 50_000:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _store_ingest(store: Store, size: int) -> float:
    """Seconds the store alone takes to ingest the events as rows (encoding them is not timed)."""
    spent = 0.0
    for chunk in _rows(size, "s"):

        def write(rows: list[UsageRow] = chunk) -> None:
            with store.begin() as uow:
                uow.usage.ingest(rows)

        spent += timed(write)[1]
    return spent


def _bare_rate(size: int) -> float:
    """Seconds the bare loop takes on values already in memory (dedup by id, sum per subscription).

    The rating baseline: rating reads stored events, so generating them is not part of it.
    At most 1M values are held (about 100 MB); above, the time is scaled from 1M.
    """
    n = min(size, 1_000_000)
    values = [(e["id"], e["subscription_id"], e["quantity"]) for e in _events(n)]

    def loop() -> dict[str, int]:
        totals: dict[str, int] = {}
        seen: set[str] = set()
        for id, sub, qty in values:
            if id in seen:
                continue
            seen.add(id)
            totals[sub] = totals.get(sub, 0) + qty
        return totals

    return timed(loop)[1] * size / n


def _measure(
    name: str, store: Store, size: int, base_seconds: float, rate_base: float, expected: dict[str, int]
) -> list[Row]:
    engine = _engine(store, size)
    before = _rss()
    result, ingest_s = timed(lambda: engine.ingest_usage(_events(size)))
    held = _rss() - before
    totals, rate_s = timed(lambda: _rate(store, size))
    ok = "ok" if totals == expected and result.accepted == size - size // 100 else "MISMATCH"
    note = f"{result.accepted} new, {len(result.duplicates)} duplicates; totals {ok}"
    rows = [Row(f"usage.ingest.{name}", size, size, ingest_s, base_seconds, note, held, _peak())]
    if name != "memory":
        rows.append(
            Row(
                f"usage.store.{name}",
                size,
                size,
                _store_ingest(store, size),
                base_seconds,
                "rows already encoded",
                None,
                _peak(),
            )
        )
    rows.append(Row(f"usage.rate.{name}", size, size, rate_s, rate_base, f"totals {ok}", None, _peak()))
    return rows


def run(size: int) -> list[Row]:
    """Ingest and rate ``size`` events on every store, next to the bare loop."""
    expected, base_s = timed(lambda: _baseline(size))
    rate_base = _bare_rate(size)
    rows = []
    if size <= 1_000_000:  # the memory store holds every event as a tuple: ~0.5 kB each
        rows += _measure("memory", InMemoryStore(), size, base_s, rate_base, expected)
    with tempfile.TemporaryDirectory() as tmp:
        store = SqlStore(str(Path(tmp) / "usage.sqlite"))
        try:
            rows += _measure("sqlite", store, size, base_s, rate_base, expected)
        finally:
            store.close()
    url = os.environ.get("SUBKIT_BENCH_POSTGRES_URL") or os.environ.get("SUBKIT_TEST_POSTGRES_URL")
    if url:
        from sqlalchemy import create_engine, text

        schema = f"bench_{uuid.uuid4().hex[:12]}"
        admin = create_engine(url)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
        try:
            rows += _measure("postgres", SqlStore(engine), size, base_s, rate_base, expected)
        finally:
            engine.dispose()
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    return rows
