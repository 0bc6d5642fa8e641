"""One billing cycle over N subscriptions on SQL storage: SQLite file, PostgreSQL; 1 and 2 worker processes.

The subscriptions are those of :mod:`bench.bench_billing` (same specs, catalog, window
``T0 .. UNTIL``): 80 % monthly, each renewing once; 20 % annual, about 1 in 12 renewing.

Setup (not timed): ``bench_billing.setup_engine`` builds the book in an
``InMemoryStore``; its entities, claims, sequence and outbox are then bulk-loaded into
a fresh database for every measured run (a SQLite file in a temporary directory; a new
PostgreSQL schema, dropped afterwards). PostgreSQL runs only when
``SUBKIT_BENCH_POSTGRES_URL`` or ``SUBKIT_TEST_POSTGRES_URL`` is set, e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432/test``.

Timed (library): from the moment the worker processes (already started, store open) are
released until every one has returned from ``engine.advance(UNTIL)`` with
``SqlStore`` and the default batch size (one transaction per batch; on PostgreSQL
``FOR UPDATE SKIP LOCKED`` splits batches between workers, on SQLite workers take turns).

Timed (bare baseline): into a fresh copy of the same initial database, write exactly the
rows the one-worker library run wrote (the same JSON bodies): the invoices, the new
subscription versions, the claims, the outbox events and the final invoice number, in
one transaction per 1,000 invoices, with ``sqlite3`` ``executemany`` or psycopg ``COPY``
(inserts) and ``executemany`` (updates). So the ratio is the library's time over the
time the database needs just to store its output.

Both library runs are checked: every renewal invoice total equals the plain-Python
computation of ``bench_billing.baseline``, and the numbers are gap-free.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Any

from bench import Row
from bench.bench_billing import UNTIL, baseline, baseline_state, make_specs, setup_engine
from subkit.adapters.storage.memory import InMemoryStore
from subkit.adapters.storage.sql import SqlStore, make_engine
from subkit.core.clock import TestClock
from subkit.core.model import INDEX_FIELDS, Entity
from subkit.services.engine import BillingEngine

__all__ = ["MAX_SIZE", "run", "targets"]

#: Setup builds the book in memory (seconds per 100k) plus one bulk load per run.
MAX_SIZE = 200_000

WORKERS = (1, 2)
_CHUNK = 1000  # invoices per transaction in the bare baseline (the engine's default batch)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def _pg_url() -> str | None:
    return os.environ.get("SUBKIT_BENCH_POSTGRES_URL") or os.environ.get("SUBKIT_TEST_POSTGRES_URL")


# --------------------------------------------------------------------------- the initial state
@dataclass
class Dump:
    """The initial database: rows ready for bulk loading."""

    entities: list[tuple[Any, ...]]  # kind, id, version, body, customer_id, subscription_id, status, due_at
    claims: list[tuple[str, int]]
    sequences: list[tuple[str, int]]
    outbox: list[tuple[str, str]]  # id, body


def _index(value: object) -> object:
    if value is None:
        return None
    if isinstance(value, datetime):
        return (value - _EPOCH) // _US
    if isinstance(value, Enum):
        value = value.value
    return value if isinstance(value, str) else str(value)


def _entity_row(e: Entity) -> tuple[Any, ...]:
    idx = e.index_values()
    return (
        e.kind,
        e.id,
        e.version,
        e.model_dump_json(),
        *(_index(idx.get(f)) for f in INDEX_FIELDS),
    )


def dump(store: InMemoryStore) -> Dump:
    """Everything a set-up engine committed to its memory store, as SQL rows.

    From the reference store's snapshot (a benchmark shortcut: bulk-loading is much
    faster than replaying the set-up through ``SqlStore``).
    """
    snap = store.snapshot()
    now = time.time_ns() // 1000
    return Dump(
        entities=[_entity_row(e) for e in snap.entities],
        claims=[(k, now) for k in snap.claims],
        sequences=snap.sequences,
        outbox=[(ev.id, ev.model_dump_json()) for ev in snap.pending_events],
    )


# --------------------------------------------------------------------------- databases
class Backend:
    """A kind of database: fresh copies of the initial state, raw writes, reads."""

    name: str

    def fresh(self, d: Dump) -> str:  # returns a handle: a file path or a schema name
        raise NotImplementedError

    def drop(self, handle: str) -> None:
        raise NotImplementedError

    def store_args(self, handle: str) -> tuple[str, str | None]:
        raise NotImplementedError

    def fetch(self, handle: str, sql: str) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def bare_write(self, handle: str, w: Written) -> None:
        raise NotImplementedError


class SqliteBackend(Backend):
    name = "sqlite"

    def __init__(self, directory: Path) -> None:
        self.dir = directory

    def fresh(self, d: Dump) -> str:
        path = str(self.dir / f"b_{uuid.uuid4().hex[:8]}.sqlite")
        SqlStore(path).close()  # the schema, WAL
        with closing(sqlite3.connect(path, isolation_level=None)) as db:
            db.execute("BEGIN")
            db.executemany(
                "INSERT INTO subkit_entities (kind, id, version, body, customer_id, subscription_id, status,"
                " due_at, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(*row, n) for n, row in enumerate(d.entities, 1)],
            )
            db.executemany("INSERT INTO subkit_claims (key, claimed_at) VALUES (?, ?)", d.claims)
            db.executemany("INSERT INTO subkit_sequences (series, value) VALUES (?, ?)", d.sequences)
            db.executemany("INSERT INTO subkit_outbox (id, body, published) VALUES (?, ?, 0)", d.outbox)
            db.execute("COMMIT")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return path

    def drop(self, handle: str) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(handle + suffix).unlink(missing_ok=True)

    def store_args(self, handle: str) -> tuple[str, str | None]:
        return handle, None

    def fetch(self, handle: str, sql: str) -> list[tuple[Any, ...]]:
        with closing(sqlite3.connect(handle)) as db:
            return db.execute(sql).fetchall()

    def bare_write(self, handle: str, w: Written) -> None:
        with closing(sqlite3.connect(handle, isolation_level=None)) as db:
            db.execute("PRAGMA busy_timeout = 30000")
            for part in w.chunks():
                db.execute("BEGIN IMMEDIATE")
                db.executemany(
                    "INSERT INTO subkit_entities (kind, id, version, body, customer_id, subscription_id,"
                    " status, due_at, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?,"
                    " (SELECT coalesce(max(rowid), 0) + 1 FROM subkit_entities))",
                    part.invoices,
                )
                db.executemany(
                    "UPDATE subkit_entities SET version = ?, body = ?, customer_id = ?, subscription_id = ?,"
                    " status = ?, due_at = ? WHERE kind = ? AND id = ?",
                    part.updates,
                )
                db.executemany("INSERT INTO subkit_claims (key, claimed_at) VALUES (?, ?)", part.claims)
                db.executemany(
                    "INSERT INTO subkit_outbox (id, body, published) VALUES (?, ?, 0)", part.outbox
                )
                db.execute("UPDATE subkit_sequences SET value = ? WHERE series = ?", part.sequence)
                db.execute("COMMIT")


class PostgresBackend(Backend):
    name = "postgres"

    def __init__(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        self.url = url
        self.libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)

    @contextmanager
    def _connect(self, schema: str | None = None) -> Iterator[Any]:
        import psycopg

        options = f"-csearch_path={schema}" if schema else ""
        with psycopg.connect(self.libpq, options=options) as conn:
            yield conn

    def fresh(self, d: Dump) -> str:
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        with self._connect() as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        engine = make_engine(self.url, connect_args={"options": f"-csearch_path={schema}"})
        try:
            SqlStore(engine)  # the schema
        finally:
            engine.dispose()
        with self._connect(schema) as conn, conn.cursor() as cur:
            cols = "kind, id, version, body, customer_id, subscription_id, status, due_at"
            with cur.copy(f"COPY subkit_entities ({cols}) FROM STDIN") as cp:
                for row in d.entities:
                    cp.write_row(row)
            with cur.copy("COPY subkit_claims (key, claimed_at) FROM STDIN") as cp:
                for row in d.claims:
                    cp.write_row(row)
            cur.executemany("INSERT INTO subkit_sequences (series, value) VALUES (%s, %s)", d.sequences)
            with cur.copy("COPY subkit_outbox (id, body, published) FROM STDIN") as cp:
                for ev_id, body in d.outbox:
                    cp.write_row((ev_id, body, False))
        with self._connect(schema) as conn:
            conn.autocommit = True
            conn.execute("VACUUM ANALYZE")
        return schema

    def drop(self, handle: str) -> None:
        with self._connect() as conn:
            conn.execute(f'DROP SCHEMA "{handle}" CASCADE')

    def store_args(self, handle: str) -> tuple[str, str | None]:
        return self.url, handle

    def fetch(self, handle: str, sql: str) -> list[tuple[Any, ...]]:
        with self._connect(handle) as conn:
            return list(conn.execute(sql).fetchall())

    def bare_write(self, handle: str, w: Written) -> None:
        cols = "kind, id, version, body, customer_id, subscription_id, status, due_at"
        with self._connect(handle) as conn:
            for part in w.chunks():
                with conn.transaction(), conn.cursor() as cur:
                    with cur.copy(f"COPY subkit_entities ({cols}) FROM STDIN") as cp:
                        for row in part.invoices:
                            cp.write_row(row)
                    cur.executemany(
                        "UPDATE subkit_entities SET version = %s, body = %s, customer_id = %s,"
                        " subscription_id = %s, status = %s, due_at = %s WHERE kind = %s AND id = %s",
                        part.updates,
                    )
                    with cur.copy("COPY subkit_claims (key, claimed_at) FROM STDIN") as cp:
                        for row in part.claims:
                            cp.write_row(row)
                    with cur.copy("COPY subkit_outbox (id, body, published) FROM STDIN") as cp:
                        for ev_id, body in part.outbox:
                            cp.write_row((ev_id, body, False))
                    cur.execute("UPDATE subkit_sequences SET value = %s WHERE series = %s", part.sequence)


# --------------------------------------------------------------------------- what a run wrote
@dataclass
class Written:
    """The rows one library run wrote, for the bare baseline to write again."""

    invoices: list[tuple[Any, ...]]  # entity rows without seq
    updates: list[tuple[Any, ...]]  # version, body, customer_id, subscription_id, status, due_at, kind, id
    claims: list[tuple[str, int]]
    outbox: list[tuple[str, str]]
    sequence: tuple[int, str]

    def chunks(self) -> Iterator[Written]:
        n = max(len(self.invoices), 1)
        k = (n + _CHUNK - 1) // _CHUNK

        def part(rows: list[Any], i: int) -> list[Any]:
            size = (len(rows) + k - 1) // k
            return rows[i * size : (i + 1) * size]

        for i in range(k):
            yield Written(
                part(self.invoices, i),
                part(self.updates, i),
                part(self.claims, i),
                part(self.outbox, i),
                self.sequence,
            )


def written(backend: Backend, handle: str, d: Dump) -> Written:
    before_ids = {(r[0], r[1]): r[2] for r in d.entities}
    before_claims = {k for k, _ in d.claims}
    before_events = {i for i, _ in d.outbox}
    cols = "kind, id, version, body, customer_id, subscription_id, status, due_at"
    invoices, updates = [], []
    for row in backend.fetch(handle, f"SELECT {cols} FROM subkit_entities ORDER BY seq"):
        old = before_ids.get((row[0], row[1]))
        if old is None:
            invoices.append(tuple(row))
        elif old != row[2]:
            updates.append((row[2], row[3], row[4], row[5], row[6], row[7], row[0], row[1]))
    claims = [
        (k, t)
        for k, t in backend.fetch(handle, "SELECT key, claimed_at FROM subkit_claims")
        if k not in before_claims
    ]
    outbox = [
        (i, b)
        for i, b in backend.fetch(handle, "SELECT id, body FROM subkit_outbox ORDER BY seq")
        if i not in before_events
    ]
    value = backend.fetch(handle, "SELECT value FROM subkit_sequences WHERE series = 'INV'")[0][0]
    return Written(invoices, updates, claims, outbox, (int(value), "INV"))


# --------------------------------------------------------------------------- worker processes
def _worker(url: str, schema: str | None, until: datetime, go: Any, out: Any) -> None:
    """A worker process: open the store, say ready, wait, ``advance(until)``, report."""
    engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"}) if schema else None
    store = SqlStore(engine if engine is not None else url, create=False)
    try:
        billing = BillingEngine(store, TestClock(until))
        _ = billing.catalog  # warm up: the catalog is read, a connection is in the pool
        out.put(("ready", os.getpid()))
        go.wait()
        t0, c0 = time.perf_counter(), time.process_time()
        report = billing.advance(until)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        out.put(("done", report.invoices, report.conflicts, len(report.errors), seconds, cpu))
    except BaseException as exc:
        out.put(("failed", repr(exc)))
        raise
    finally:
        store.close()
        if engine is not None:
            engine.dispose()


def advance_in_processes(url: str, schema: str | None, workers: int) -> tuple[float, list[tuple[Any, ...]]]:
    """Wall time from release to the last worker's return, and each worker's report."""
    ctx = mp.get_context("spawn")
    go, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(url, schema, UNTIL, go, out)) for _ in range(workers)]
    for p in procs:
        p.start()
    try:
        for _ in procs:
            msg = out.get(timeout=300)
            if msg[0] != "ready":
                raise RuntimeError(f"a worker failed to start: {msg}")
        gc.collect()
        t0 = time.perf_counter()
        go.set()
        reports = [out.get(timeout=3600) for _ in procs]
        elapsed = time.perf_counter() - t0
    finally:
        for p in procs:
            p.join(timeout=60)
            if p.is_alive():
                p.kill()
                p.join()
        out.close()
    failed = [r for r in reports if r[0] != "done"]
    if failed:
        raise RuntimeError(f"a worker failed: {failed}")
    return elapsed, reports


def _check(backend: Backend, handle: str, expected: dict[str, int], initial_invoices: int) -> int:
    """Every renewal invoice's total equals the plain-Python one; numbers are gap-free."""
    import json

    rows = backend.fetch(handle, "SELECT body FROM subkit_entities WHERE kind = 'invoice'")
    bodies = [json.loads(b) for (b,) in rows]
    numbers = sorted(b["number"] for b in bodies)
    if numbers != [f"INV-{n:06d}" for n in range(1, len(bodies) + 1)]:
        raise RuntimeError(f"{backend.name}: invoice numbers are not gap-free 1..{len(bodies)}")
    renewals = {
        b["subscription_id"]: b["total_minor"] for b in bodies if b["billing_reason"] == "subscription_cycle"
    }
    renewals = {k: v for k, v in renewals.items() if k in expected}
    new = len(bodies) - initial_invoices
    if renewals != expected or new != len(expected):
        diff = [k for k in expected.keys() | renewals.keys() if renewals.get(k) != expected.get(k)]
        raise RuntimeError(
            f"{backend.name}: {new} new invoices, {len(diff)} differ from the baseline, e.g. {diff[:3]}"
        )
    return new


# --------------------------------------------------------------------------- the benchmark
def run(size: int) -> list[Row]:
    """One billing cycle over ``size`` subscriptions per SQL backend (1 and 2 workers), and bare writes."""
    specs = make_specs(size)
    mem = setup_engine(specs)
    assert isinstance(mem.store, InMemoryStore)
    d = dump(mem.store)
    initial_invoices = sum(1 for r in d.entities if r[0] == "invoice")
    # What the cycle must produce: bench_billing's plain-Python renewals (cycle 0 was invoiced at set-up).
    expected = {str(t[0]): int(str(t[6])) for t in baseline(baseline_state(specs), UNTIL)}
    del mem
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="subkit-bench-sql-") as tmp:
        backends: list[Backend] = [SqliteBackend(Path(tmp))]
        pg = _pg_url()
        if pg:
            backends.append(PostgresBackend(pg))
        for be in backends:
            lib: dict[int, tuple[float, int, str, float]] = {}
            w: Written | None = None
            for n in WORKERS:
                handle = be.fresh(d)
                try:
                    url, schema = be.store_args(handle)
                    seconds, reports = advance_in_processes(url, schema, n)
                    made = _check(be, handle, expected, initial_invoices)
                    if n == 1:
                        w = written(be, handle, d)
                finally:
                    be.drop(handle)
                shares = "/".join(f"{r[1]:,}" for r in reports)
                conflicts = sum(r[2] for r in reports)
                cpus = [float(r[5]) for r in reports]
                note = (
                    f"invoices per worker {shares}, {conflicts} conflicts; worker CPU "
                    f"{'/'.join(f'{c:.1f}' for c in cpus)} s ({made / sum(cpus):,.0f} invoices per CPU-s)"
                )
                lib[n] = (seconds, made, note, sum(cpus))
            assert w is not None
            handle = be.fresh(d)
            try:
                gc.collect()
                t0 = time.perf_counter()
                be.bare_write(handle, w)
                base_s = time.perf_counter() - t0
            finally:
                be.drop(handle)
            for n in WORKERS:
                seconds, made, note, cpu = lib[n]
                note += (
                    f"; baseline writes {len(w.invoices):,} invoices, {len(w.updates):,} subscription "
                    f"updates, {len(w.claims):,} claims, {len(w.outbox):,} events"
                )
                rows.append(
                    Row(
                        f"sql.advance {be.name} {n} worker{'s' if n > 1 else ''}",
                        size,
                        made,
                        seconds,
                        base_s,
                        note,
                        lib_cpu_seconds=cpu,
                    )
                )
    return rows


#: Issue 9's targets on SQL storage.
TARGET_SQLITE_RATE = 6_000  # invoices per second at 100k subscriptions, one worker
TARGET_PG_SCALE = 1.8  # two PostgreSQL workers at least this many times faster than one
#: The time over the bare writes may grow this much from the smallest to the largest size run
#: (an O(N^2) step, such as a scan per batch, would grow it about as much as the size).
TARGET_GROWTH = 1.5


def targets(rows: list[Row]) -> list[str]:
    """Which of issue 9's SQL targets ``rows`` met, one line each."""

    def verdict(ok: bool | None) -> str:
        return "not measured" if ok is None else "MET" if ok else "NOT MET"

    out = []
    lite = {r.size: r for r in rows if r.scenario == "sql.advance sqlite 1 worker"}
    r = lite.get(100_000)
    shown = "" if r is None else f": {r.lib_rate:,.0f} invoices/s"
    if r is not None and r.lib_cpu_seconds:
        shown += f" ({r.items / r.lib_cpu_seconds:,.0f} per CPU-second of the worker)"
    out.append(
        f"[{verdict(None if r is None else r.lib_rate >= TARGET_SQLITE_RATE)}] SQLite @ 100,000: "
        f">= {TARGET_SQLITE_RATE:,} invoices/s{shown}"
    )
    if len(lite) >= 2:
        # Judged on the ratio to the bare writes of the same rows, measured in the same run: the
        # database's own cost per row grows with its size (and the machine's load moves both).
        small, large = min(lite), max(lite)
        growth = lite[large].micros_per_item / lite[small].micros_per_item
        ratio_growth = lite[large].ratio / lite[small].ratio
        out.append(
            f"[{verdict(ratio_growth <= TARGET_GROWTH)}] SQLite: no O(N^2) step (time over the bare writes "
            f"{lite[small].ratio:.1f}x at {small:,}, {lite[large].ratio:.1f}x at {large:,}: "
            f"x{ratio_growth:.2f}, at most x{TARGET_GROWTH}; time per invoice "
            f"{lite[small].micros_per_item:.0f} -> {lite[large].micros_per_item:.0f} us, x{growth:.2f})"
        )
    one = {r.size: r for r in rows if r.scenario == "sql.advance postgres 1 worker"}
    two = {r.size: r for r in rows if r.scenario == "sql.advance postgres 2 workers"}
    for size in sorted(one.keys() & two.keys()):
        speedup = one[size].lib_seconds / two[size].lib_seconds
        cpu = ""
        c1, c2 = one[size].lib_cpu_seconds, two[size].lib_cpu_seconds
        if c1 and c2:  # the workers' own CPU (the server's is not counted): how evenly the work split
            cpu = f"; worker CPU {c1:.1f} s alone, {c2:.1f} s for the two"
        out.append(
            f"[{verdict(speedup >= TARGET_PG_SCALE)}] PostgreSQL @ {size:,}: 2 workers >= "
            f"{TARGET_PG_SCALE}x one worker (x{speedup:.2f}{cpu}; wall time: noisy when shared, repeat)"
        )
    if not one:
        out.append("[not measured] PostgreSQL: 2 workers >= 1.8x one (set SUBKIT_BENCH_POSTGRES_URL)")
    return out
