"""Usage events at scale: bulk ingestion and rating of N events, next to a bare loop in the same run.

Events: N API-call events over 1,000 subscriptions (fewer when N is small), one metric
(``sum`` of ``quantity``), timestamps across January 2027 in arrival order (give or take a
minute, as a product emits them), 1 in 100 ids sent twice. They are generated in chunks of
50,000 (never a list of N: memory stays flat up to 10M), and generating them is not timed
(it is the host's work): each chunk is made, then handed over under the clock.

* ``usage.ingest.<store>``: ``engine.ingest_usage(chunk)`` (plain dicts, checked, deduplicated
  by the store's unique key; SQLite ``executemany``, PostgreSQL ``COPY``) into memory, a SQLite
  file and PostgreSQL (when ``SUBKIT_BENCH_POSTGRES_URL`` or ``SUBKIT_TEST_POSTGRES_URL`` is
  set). Baseline: plain Python reading the same chunks and summing the values into a dict per
  subscription, with a set of ids for dedup.
* ``usage.raw.<store>`` (up to ``RAW_MAX``): the database's ceiling, measured in the same run: the same rows,
  already encoded as tuples and deduplicated (not timed), written by the bare driver into a
  fresh table of the same schema (SQLite: ``executemany`` of a plain ``INSERT`` per chunk in
  one transaction; PostgreSQL: ``COPY`` straight into the table). No checks, no unique-key
  handling: what no library on that database can beat.
* ``usage.rate.<store>``: the rating of every subscription's January (``aggregate_many``:
  one ``GROUP BY`` per 500 subscriptions in SQL) as a billing run's batch does it. Baseline:
  the same bare loop over the values already in memory (tuples; generating them is not
  timed).

The notes give the CPU time of this process (on PostgreSQL the server's work is in another
process: the wall time is the one to read there) and the peak RSS after each row; ``held/size``
is the memory the run kept per event (flat for SQL stores: the events live in the database).
The SQL stores run first, then the memory store (up to ``MEMORY_MAX``: it holds every event),
then the bare loops (the baseline's set of N ids would otherwise be every row's peak).
Both sides are checked: the rated totals equal the baseline's. Nothing is asserted.
"""

from __future__ import annotations

import gc
import itertools
import os
import resource
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench import Row, timed
from subkit.adapters.storage.memory import InMemoryStore
from subkit.adapters.storage.sql import SqlStore, make_engine
from subkit.adapters.storage.sql.usage import COLUMNS
from subkit.catalog.catalog import Catalog, Plan, Product
from subkit.catalog.metrics import BillableMetric
from subkit.catalog.pricing import PerUnit
from subkit.core.clock import TestClock
from subkit.ports import Store
from subkit.services.engine import BillingEngine
from subkit.usage.aggregate import UsageQuery

__all__ = ["MAX_SIZE", "run"]

MAX_SIZE = 10_000_000
#: The memory store holds every event (about 0.5 kB each): it runs up to this size.
MEMORY_MAX = 1_000_000
#: The raw driver's ceiling is measured up to this size (it doubles a database's time).
RAW_MAX = 1_000_000
CHUNK = 50_000
T0 = datetime(2027, 1, 1, tzinfo=UTC)
FEB = datetime(2027, 2, 1, tzinfo=UTC)
_SPAN = int((FEB - T0).total_seconds())
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_T0_US = (T0 - _EPOCH) // timedelta(microseconds=1)


def _subs(size: int) -> int:
    return max(1, min(1000, size // 100))


def _events(size: int) -> Iterator[dict[str, Any]]:
    """N events (1 in 100 a repeat of the one before), generated lazily: memory stays flat.

    Deterministic arithmetic instead of a random generator: making them is not what is measured,
    and at 10M it must stay cheap.
    """
    subs = _subs(size)
    prev: dict[str, Any] | None = None
    second = timedelta(seconds=1)
    for n in range(size):
        if prev is not None and n % 100 == 99:
            yield prev
            continue
        jitter = (n * 7919) % 120 - 60  # in arrival order, give or take a minute
        prev = {
            "id": f"evt_{n:09d}",
            "subscription_id": f"sub_{n % subs:05d}",
            "metric": "api_calls",
            "timestamp": T0 + second * max(0, min(_SPAN - 1, n * _SPAN // size + jitter)),
            "quantity": (n * 2654435761) % 999 + 1,
        }
        yield prev


def _chunks(size: int) -> Iterator[list[dict[str, Any]]]:
    it = _events(size)
    while chunk := list(itertools.islice(it, CHUNK)):
        yield chunk


def _clocked(size: int, work: Callable[[list[dict[str, Any]]], object]) -> tuple[float, float]:
    """Wall and CPU seconds ``work`` took over every chunk (making the chunks is not timed)."""
    wall = cpu = 0.0
    gc.collect()
    for chunk in _chunks(size):
        w0, c0 = time.perf_counter(), time.process_time()
        work(chunk)
        wall += time.perf_counter() - w0
        cpu += time.process_time() - c0
    return wall, cpu


def _baseline(size: int) -> tuple[dict[str, int], float]:
    totals: dict[str, int] = {}
    seen: set[str] = set()

    def loop(chunk: list[dict[str, Any]]) -> None:
        for e in chunk:
            if e["id"] in seen:
                continue
            seen.add(e["id"])
            totals[e["subscription_id"]] = totals.get(e["subscription_id"], 0) + e["quantity"]

    wall, _ = _clocked(size, loop)
    return totals, wall


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


def _mb(n: int) -> str:
    return f"{n / 2**20:,.0f} MB"


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


def _tuples(chunk: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The chunk as stored rows (plain tuples, repeats dropped): the raw writes' input."""
    seen: dict[str, tuple[Any, ...]] = {}
    for e in chunk:
        if e["id"] not in seen:
            d = e["timestamp"] - _EPOCH
            ts = (d.days * 86_400 + d.seconds) * 1_000_000 + d.microseconds
            seen[e["id"]] = (
                e["id"],
                e["subscription_id"],
                "cus",
                e["metric"],
                ts,
                e["quantity"],
                0,
                None,
                0,
                0,
            )
    return list(seen.values())


_INSERT = (
    f"INSERT INTO subkit_usage ({', '.join(COLUMNS)}, batch) VALUES ({', '.join('?' * len(COLUMNS))}, 0)"
)


def _raw_sqlite(path: str, size: int) -> tuple[float, float]:
    """The bare driver writing the rows into a fresh SQLite file of the same schema (and pragmas)."""
    SqlStore(path).close()  # the schema
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA cache_size = -65536")
    wall = cpu = 0.0
    try:
        for chunk in _chunks(size):
            rows = _tuples(chunk)
            w0, c0 = time.perf_counter(), time.process_time()
            con.execute("BEGIN IMMEDIATE")
            con.executemany(_INSERT, rows)
            con.execute("COMMIT")
            wall += time.perf_counter() - w0
            cpu += time.process_time() - c0
    finally:
        con.close()
    return wall, cpu


def _raw_postgres(engine: Any, size: int) -> tuple[float, float]:
    """The bare driver ``COPY``-ing the rows straight into a fresh table of the same schema."""
    SqlStore(engine)  # the schema
    wall = cpu = 0.0
    conn = engine.raw_connection()
    try:
        raw = conn.driver_connection
        for chunk in _chunks(size):
            rows = _tuples(chunk)
            w0, c0 = time.perf_counter(), time.process_time()
            with (
                raw.cursor() as cur,
                cur.copy(f"COPY subkit_usage ({', '.join(COLUMNS)}, batch) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row((*row, 0))
            raw.commit()
            wall += time.perf_counter() - w0
            cpu += time.process_time() - c0
    finally:
        conn.close()
    return wall, cpu


def _measure(name: str, store: Store, size: int, raw: Callable[[], tuple[float, float]] | None) -> list[Row]:
    """The store's rows; their baselines (0 here) and the ``{ok}`` of their notes are filled in by
    :func:`run` once the bare loop has run (after the stores: its set of N ids must not count in
    their peak RSS)."""
    engine = _engine(store, size)
    before = _rss()
    accepted = duplicates = 0

    def ingest(chunk: list[dict[str, Any]]) -> None:
        nonlocal accepted, duplicates
        result = engine.ingest_usage(chunk)
        accepted += result.accepted
        duplicates += len(result.duplicates)

    wall, cpu = _clocked(size, ingest)
    held = _rss() - before
    peak = _peak()
    totals, rate_s = timed(lambda: _rate(store, size))
    _TOTALS[name] = totals
    ok = "{ok}" if accepted == size - size // 100 else "MISMATCH"
    note = (
        f"{accepted} new, {duplicates} duplicates; totals {ok}; CPU {size / cpu:,.0f} events/s "
        f"({cpu / size * 1e6:.2f} us/event); peak RSS {_mb(peak)}"
    )
    rows = [Row(f"usage.ingest.{name}", size, size, wall, 0.0, note, held, peak, cpu)]
    _progress(rows[0])
    if raw is not None and size <= RAW_MAX:
        raw_wall, raw_cpu = raw()
        rows[0] = replace(
            rows[0],
            note=note + f"; {raw_wall / wall:.0%} of the raw ceiling (wall), {raw_cpu / cpu:.0%} (CPU)",
        )
        rows.append(
            Row(
                f"usage.raw.{name}",
                size,
                size,
                raw_wall,
                0.0,
                f"bare driver, rows encoded and deduplicated beforehand; CPU {size / raw_cpu:,.0f} events/s; "
                f"peak RSS {_mb(_peak())}",
                None,
                _peak(),
                raw_cpu,
            )
        )
        _progress(rows[-1])
    rows.append(Row(f"usage.rate.{name}", size, size, rate_s, 0.0, f"totals {ok}", None, _peak()))
    _progress(rows[-1])
    return rows


def _progress(row: Row) -> None:
    """Each row on stderr as soon as it is measured (a 10M run takes long)."""
    print(
        f"  measured: {row.scenario} size={row.size:,}: {row.lib_rate:,.0f} events/s wall; {row.note}",
        file=sys.stderr,
        flush=True,
    )


_TOTALS: dict[str, dict[str, int]] = {}


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


def run(size: int) -> list[Row]:
    """Ingest and rate ``size`` events on every store, next to the bare loop and the raw database.

    The SQL stores run first, then the memory store (it holds the events), then the bare loops
    (the ingestion baseline holds a set of N ids): each row's peak RSS is its own.
    """
    _TOTALS.clear()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        store = SqlStore(str(Path(tmp) / "usage.sqlite"))
        try:
            raw_path = str(Path(tmp) / "raw.sqlite")
            rows += _measure("sqlite", store, size, lambda: _raw_sqlite(raw_path, size))
        finally:
            store.close()
    url = os.environ.get("SUBKIT_BENCH_POSTGRES_URL") or os.environ.get("SUBKIT_TEST_POSTGRES_URL")
    if url:
        from sqlalchemy import create_engine, text

        schemas = [f"bench_{uuid.uuid4().hex[:12]}" for _ in range(2)]
        admin = create_engine(url)
        with admin.begin() as conn:
            for schema in schemas:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engines = [make_engine(url, connect_args={"options": f"-csearch_path={s}"}) for s in schemas]
        try:
            rows += _measure("postgres", SqlStore(engines[0]), size, lambda: _raw_postgres(engines[1], size))
        finally:
            for engine in engines:
                engine.dispose()
            with admin.begin() as conn:
                for schema in schemas:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    if size <= MEMORY_MAX:
        rows += _measure("memory", InMemoryStore(), size, None)
    expected, base_s = _baseline(size)
    rate_base = _bare_rate(size)
    out = []
    for row in rows:
        store_name = row.scenario.rsplit(".", 1)[1]
        ok = "ok" if _TOTALS[store_name] == expected else "MISMATCH"
        base = rate_base if row.scenario.startswith("usage.rate") else base_s
        out.append(replace(row, base_seconds=base, note=row.note.replace("{ok}", ok)))
    return out
