"""A billing run rates a batch's metered renewals with one ``aggregate_many`` call, not one
aggregation per subscription, and bills exactly what rating them one at a time bills."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from subkit.adapters.storage.memory import InMemoryStore
from subkit.adapters.storage.memory_usage import MemoryUsage
from subkit.adapters.storage.sql import SqlStore
from subkit.adapters.storage.sql.usage import SqlUsage
from subkit.catalog.catalog import Catalog, Plan, Product
from subkit.catalog.metrics import BillableMetric
from subkit.catalog.pricing import FlatFee, PerUnit
from subkit.core.clock import TestClock
from subkit.invoice.invoice import LineKind
from subkit.ports import Store
from subkit.services import billing_run
from subkit.services.context import BillingConfig
from subkit.services.engine import BillingEngine

JAN = datetime(2027, 1, 1, tzinfo=UTC)
FEB = datetime(2027, 2, 1, tzinfo=UTC)
N = 6


def _engine(store: Store, batch_size: int = 1000) -> BillingEngine:
    engine = BillingEngine(store, TestClock(JAN), config=BillingConfig(batch_size=batch_size))
    engine.set_catalog(
        Catalog(
            products=(Product(id="app", name="App"),),
            plans=(
                Plan(id="base", product_id="app", name="Base", prices={"USD": FlatFee(flat_amount="10")}),
                Plan(
                    id="api",
                    product_id="app",
                    name="API",
                    metric="calls",
                    prices={"USD": PerUnit(unit_amount="0.01")},
                ),
                Plan(
                    id="cpu",
                    product_id="app",
                    name="CPU",
                    metric="peak",
                    prices={"USD": PerUnit(unit_amount="2")},
                ),
            ),
            metrics=(
                BillableMetric(code="calls", aggregation="sum", field="n", group_by="region"),
                BillableMetric(code="peak", aggregation="max", field="cpu"),
            ),
        )
    )
    cus = engine.create_customer(name="Ada", currency="USD", id="cus_1")
    for i in range(N):
        engine.subscribe(cus.id, items=[("base", 1), ("api", 0), ("cpu", 0)], at=JAN, id=f"sub_{i}")
        # sub_i: (i + 1) * 100 calls in the EU, 50 in the US; peaks of i + 1 and 1 CPU
        engine.record_usage(
            f"sub_{i}",
            "calls",
            (i + 1) * 100,
            at=datetime(2027, 1, 5, tzinfo=UTC),
            id=f"c{i}eu",
            properties={"region": "eu"},
        )
        engine.record_usage(
            f"sub_{i}",
            "calls",
            50,
            at=datetime(2027, 1, 6, tzinfo=UTC),
            id=f"c{i}us",
            properties={"region": "us"},
        )
        engine.record_usage(f"sub_{i}", "peak", i + 1, at=datetime(2027, 1, 7, tzinfo=UTC), id=f"p{i}a")
        engine.record_usage(f"sub_{i}", "peak", 1, at=datetime(2027, 1, 8, tzinfo=UTC), id=f"p{i}b")
        engine.record_usage(
            f"sub_{i}",
            "calls",
            999,
            at=FEB,
            id=f"c{i}feb",  # next period: not billed
            properties={"region": "eu"},
        )
    return engine


@contextmanager
def _spy(kind: type[Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    """Counts ``aggregate_many`` calls, and ``aggregate`` calls made outside of one."""
    calls = {"aggregate_many": 0, "aggregate": 0}
    inside = [0]
    many, one = kind.aggregate_many, kind.aggregate

    def aggregate_many(self: Any, queries: Any) -> Any:
        calls["aggregate_many"] += 1
        inside[0] += 1
        try:
            return many(self, queries)
        finally:
            inside[0] -= 1

    def aggregate(self: Any, query: Any) -> Any:
        if not inside[0]:
            calls["aggregate"] += 1
        return one(self, query)

    monkeypatch.setattr(kind, "aggregate_many", aggregate_many)
    monkeypatch.setattr(kind, "aggregate", aggregate)
    yield calls


def _usage_lines(engine: BillingEngine) -> dict[str, list[tuple[str, Decimal, int]]]:
    out = {}
    for i in range(N):
        inv = engine.invoices(subscription_id=f"sub_{i}")[-1]
        out[f"sub_{i}"] = [
            (ln.description, ln.quantity, ln.amount_minor) for ln in inv.lines if ln.kind == LineKind.USAGE
        ]
    return out


def _expected(i: int) -> list[tuple[Decimal, int]]:
    # calls: (i+1)*100 in the EU at 0.01 = (i+1)*100 cents; 50 in the US = 50 cents;
    # peak: max(i+1, 1) = i+1 CPU at 2.00 = (i+1)*200 cents. February's 999 calls are not billed.
    return sorted(
        [(Decimal((i + 1) * 100), (i + 1) * 100), (Decimal(50), 50), (Decimal(i + 1), (i + 1) * 200)]
    )


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_batch_is_rated_with_one_aggregate_many_call(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store: Store = InMemoryStore() if kind == "memory" else SqlStore(str(tmp_path / "p.sqlite"))
    engine = _engine(store)
    with _spy(MemoryUsage if kind == "memory" else SqlUsage, monkeypatch) as calls:
        report = engine.advance(FEB)
    assert report.invoices == N
    assert calls == {"aggregate_many": 1, "aggregate": 0}  # N subscriptions x 2 metered items, one call
    lines = _usage_lines(engine)
    for i in range(N):
        assert sorted((q, a) for _, q, a in lines[f"sub_{i}"]) == _expected(i)

    # the same book rated one subscription at a time (no prefetch) bills the same lines
    monkeypatch.setattr(billing_run, "prefetch_usage", lambda *a: None)
    alone = _engine(InMemoryStore() if kind == "memory" else SqlStore(str(tmp_path / "q.sqlite")))
    with _spy(MemoryUsage if kind == "memory" else SqlUsage, monkeypatch) as calls:
        alone.advance(FEB)
    assert calls == {"aggregate_many": 0, "aggregate": 2 * N}
    assert _usage_lines(alone) == lines


def test_batches_of_two_make_one_call_per_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = _engine(InMemoryStore(), batch_size=2)
    with _spy(MemoryUsage, monkeypatch) as calls:
        engine.advance(FEB)
    assert calls == {"aggregate_many": N // 2, "aggregate": 0}  # 6 subscriptions, batches of 2
