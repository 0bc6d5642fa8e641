"""``run_demo``: set the business up on a new SQLite file, simulate it day by day, summarize.

The store is the SQL store on a fresh file; the clock a :class:`~subkit.core.clock.TestClock`
that the :class:`~subkit.entrypoints.demo.simulation.Simulation` moves from task to task.
"""

from __future__ import annotations

import itertools
import os
import random
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta

from subkit.core.clock import TestClock
from subkit.customer.customer import Customer
from subkit.entrypoints.demo.business import DEFAULT_START, demo_catalog, demo_coupons
from subkit.entrypoints.demo.currency import currency_config
from subkit.entrypoints.demo.integrations import integration_step
from subkit.entrypoints.demo.metered import StorageStory
from subkit.entrypoints.demo.payments import card_payments
from subkit.entrypoints.demo.report import summarize
from subkit.entrypoints.demo.simulation import Simulation
from subkit.entrypoints.demo.summary import DemoSummary
from subkit.entrypoints.demo.tax import DEMO_SELLER, demo_tax
from subkit.errors import StateError, ValidationError
from subkit.ports import Store
from subkit.services.engine import BillingConfig, BillingEngine
from subkit.subscription.proration import Granularity

__all__ = ["Progress", "run_demo"]

#: ``progress(days_done, days_total)``, called once per simulated day.
Progress = Callable[[int, int], None]


def run_demo(
    db_path: str | os.PathLike[str],
    *,
    customers: int = 300,
    months: int = 12,
    seed: int = 42,
    start: datetime = DEFAULT_START,
    progress: Progress | None = None,
) -> DemoSummary:
    """Simulate ``months`` of a SaaS with ``customers`` sign-ups into a new SQLite file at ``db_path``.

    ``progress(days_done, days_total)`` is called once per simulated day. The store
    must be empty (a new file): the demo refuses to write into existing data.
    Needs SQLAlchemy (``pip install 'subkit[sql]'``) for the SQLite store.

    Example:
        >>> import pathlib, tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     s = run_demo(pathlib.Path(tmp) / "d.sqlite", customers=4, months=1, seed=3)
        >>> s.customers, s.days
        (4, 31)
    """
    if customers < 0 or months < 1:
        raise ValidationError("customers must be >= 0 and months >= 1", field="customers")
    if start.tzinfo is None:
        raise ValidationError("start must be timezone-aware", field="start")
    end = start + relativedelta(months=months)
    days = (end - start).days
    store, close = _open_demo_store(os.fspath(db_path))
    try:
        with store.begin() as uow:
            if uow.find(Customer):
                raise StateError(f"{os.fspath(db_path)} already holds subkit data; give the demo a new file")
        counter = itertools.count(1)

        def ids(prefix: str) -> str:
            return f"{prefix}_{next(counter):06d}"

        clock = TestClock(start)
        config = BillingConfig(
            granularity=Granularity.DAY, seller=DEMO_SELLER, tax=demo_tax(), wallets=True, **currency_config()
        )
        engine = BillingEngine(store, clock, config=config, ids=ids)
        rng = random.Random(seed)
        engine.set_catalog(demo_catalog())
        coupons, codes = demo_coupons(start, end)
        for c in coupons:
            engine.add_coupon(c)
        for code in codes:
            engine.add_promotion_code(code)
        payments = card_payments(engine, rng, ids)
        sim = Simulation(engine, clock, rng, start, end, payments)
        founders = customers // 5
        for n in range(customers):
            day = 0 if n < founders else rng.randrange(days)
            sim.schedule(start + timedelta(days=day, seconds=rng.randrange(86_400)), "signup")
        if days >= 60:
            sim.schedule(start + timedelta(days=days // 2), "price_increase")
        for month in range(months):
            sim.schedule(start + relativedelta(months=month, days=14, hours=rng.randrange(24)), "outage")
        storage = StorageStory(engine, random.Random(seed + 1), sim.counts)  # [usage]
        for day in range(1, days + 1):
            sim.run_until(start + timedelta(days=day))
            storage.day(start + timedelta(days=day))
            if progress is not None:
                progress(day, days)
        summary = summarize(engine, sim, seed=seed, months=months, days=days, payments=payments)
        return replace(summary, integrations=integration_step(store, clock))
    finally:
        close()


def _open_demo_store(db: str) -> tuple[Store, Callable[[], None]]:
    """The demo's SQL store. A SQLite file skips the fsync of each commit (``synchronous=NORMAL``,
    safe with WAL: a crash loses only the last commits, never consistency), which makes
    the demo's ~20,000 small transactions several times faster on a busy disk."""
    from sqlalchemy import event

    from subkit.adapters.storage.sql import SqlStore, make_engine

    engine = make_engine(db)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _fast(dbapi_conn: Any, record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA synchronous = NORMAL")
            cur.close()

    try:
        store = SqlStore(engine)
    except BaseException:
        engine.dispose()
        raise

    def close() -> None:
        store.close()
        engine.dispose()

    return store, close
