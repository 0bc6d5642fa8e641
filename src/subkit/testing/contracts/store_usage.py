"""The usage capability of a store: ``uow.usage`` ingests in bulk, deduplicates by id, aggregates.

Every expected number is computed by hand in a comment next to it.

Example:
    >>> StoreUsageContract.__name__
    'StoreUsageContract'
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from subkit.catalog.metrics import BillableMetric
from subkit.errors import UsageConflictError
from subkit.ports import Store
from subkit.testing.contracts.base import StoreFixture
from subkit.usage.aggregate import UsageQuery
from subkit.usage.bulk import UsageBatch
from subkit.usage.event import UsageRow, micros, usage_row

__all__ = ["StoreUsageContract"]

JAN = datetime(2027, 1, 1, tzinfo=UTC)
FEB = datetime(2027, 2, 1, tzinfo=UTC)


def _ev(
    id: str,
    day: int,
    props: dict[str, object],
    *,
    metric: str = "m",
    field: str | None = "v",
    sub: str = "sub_1",
    hour: int = 0,
) -> UsageRow:
    at = JAN + timedelta(days=day - 1, hours=hour)
    return usage_row(id, sub, "cus_1", metric, at, props, value_field=field, recorded=micros(at))


def _q(metric: BillableMetric, start: datetime = JAN, end: datetime = FEB, sub: str = "sub_1") -> UsageQuery:
    return UsageQuery.of(sub, metric, start, end)


class StoreUsageContract(StoreFixture):
    """``uow.usage``: unique event ids, duplicates reported, conflicts refused, every aggregation."""

    def _ingest(self, store: Store, rows: list[UsageRow]) -> tuple[int, tuple[str, ...]]:
        with store.begin() as uow:
            result = uow.usage.ingest(rows)
        return result.accepted, result.duplicates

    def test_duplicates_counted_once_and_reported(self, store: Store) -> None:
        a, b = _ev("e1", 3, {"v": 5}), _ev("e2", 4, {"v": 7})
        assert self._ingest(store, [a, b]) == (2, ())
        assert self._ingest(store, [a, _ev("e3", 5, {"v": 1}), a]) == (1, ("e1", "e1"))
        with store.begin() as uow:
            assert uow.usage.aggregate(_q(BillableMetric(code="m", field="v"))) == {
                None: Decimal(13)
            }  # 5+7+1
            assert uow.usage.get("e1") == a
            assert uow.usage.get("nope") is None

    def test_same_id_other_content_refused_and_batch_dropped(self, store: Store) -> None:
        self._ingest(store, [_ev("e1", 3, {"v": 5})])
        with pytest.raises(UsageConflictError), store.begin() as uow:
            uow.usage.ingest([_ev("e9", 3, {"v": 1}), _ev("e1", 3, {"v": 6})])
        with pytest.raises(UsageConflictError), store.begin() as uow:
            uow.usage.ingest([_ev("e8", 3, {"v": 1}), _ev("e8", 3, {"v": 2})])  # within one batch
        with store.begin() as uow:
            assert uow.usage.get("e9") is None and uow.usage.get("e8") is None
            assert uow.usage.get("e1") == _ev("e1", 3, {"v": 5})

    def test_a_batch_of_columns_answers_as_its_rows(self, store: Store) -> None:
        # what bulk ingestion hands the store: the same events as columns (UsageBatch)
        a, b = _ev("e1", 3, {"v": 5}), _ev("e2", 4, {"v": 7})
        with store.begin() as uow:
            assert uow.usage.ingest(UsageBatch.of([a, b])) == (2, (), 0)
        with store.begin() as uow:  # e1 repeated in the batch and already stored: reported twice
            assert uow.usage.ingest(UsageBatch.of([a, _ev("e3", 5, {"v": 1}), a])) == (1, ("e1", "e1"), 0)
        with pytest.raises(UsageConflictError), store.begin() as uow:
            uow.usage.ingest(UsageBatch.of([_ev("e9", 3, {"v": 1}), _ev("e1", 3, {"v": 6})]))
        with pytest.raises(UsageConflictError), store.begin() as uow:
            uow.usage.ingest(UsageBatch.of([_ev("e8", 3, {"v": 1}), _ev("e8", 3, {"v": 2})]))
        with store.begin() as uow:
            assert uow.usage.get("e9") is None and uow.usage.get("e8") is None
            assert uow.usage.get("e1") == a
            # 5 + 7 + 1 (e1 counted once)
            assert uow.usage.aggregate(_q(BillableMetric(code="m", field="v"))) == {None: Decimal(13)}

    def test_conflict_caught_keeps_the_rest_of_the_unit_of_work(self, store: Store) -> None:
        self._ingest(store, [_ev("e1", 3, {"v": 5})])
        with store.begin() as uow:
            uow.usage.ingest([_ev("e2", 3, {"v": 2})])
            with pytest.raises(UsageConflictError):
                uow.usage.ingest([_ev("e3", 3, {"v": 3}), _ev("e1", 4, {"v": 5})])
        with store.begin() as uow:
            assert uow.usage.get("e2") is not None and uow.usage.get("e3") is None

    def test_rollback_keeps_nothing(self, store: Store) -> None:
        uow = store.begin()
        uow.usage.ingest([_ev("e1", 3, {"v": 5})])
        uow.rollback()
        with store.begin() as uow:
            assert uow.usage.get("e1") is None

    def test_count_sum_max_latest_unique_by_hand(self, store: Store) -> None:
        rows = [
            _ev("a", 2, {"v": "1.5", "user": "u1"}),
            _ev("b", 9, {"v": "10", "user": "u2"}),
            _ev("c", 20, {"v": "2.25", "user": "u1"}),
            _ev("d", 31, {"v": "4", "user": "u3"}, hour=23),  # Jan 31 23:00, still January
            _ev("e", 32, {"v": "100", "user": "u4"}),  # Feb 1: the next period
            _ev("x", 5, {"v": "50"}, sub="sub_2"),  # another subscription
        ]
        self._ingest(store, rows)
        with store.begin() as uow:
            agg = uow.usage.aggregate
            assert agg(_q(BillableMetric(code="m", aggregation="count"))) == {None: 4}
            assert agg(_q(BillableMetric(code="m", field="v"))) == {None: Decimal("17.75")}  # 1.5+10+2.25+4
            assert agg(_q(BillableMetric(code="m", aggregation="max", field="v"))) == {None: Decimal(10)}
            assert agg(_q(BillableMetric(code="m", aggregation="latest", field="v"))) == {None: Decimal(4)}
            uniq = BillableMetric(code="m", aggregation="unique_count", field="user")
            assert agg(_q(uniq)) == {None: 3}  # u1, u2, u3
            assert agg(_q(BillableMetric(code="m", field="v"), FEB, FEB + timedelta(days=28))) == {None: 100}
            assert agg(_q(BillableMetric(code="other", aggregation="count"))) == {}

    def test_aggregate_many_answers_as_aggregate(self, store: Store) -> None:
        self._ingest(
            store,
            [
                _ev("a", 2, {"v": 3, "region": "eu"}),
                _ev("b", 3, {"v": 4, "region": "us"}, sub="sub_2"),
                _ev("c", 4, {"v": 5, "region": "eu"}, sub="sub_2"),
            ],
        )
        metrics = [
            BillableMetric(code="m", field="v"),
            BillableMetric(code="m", aggregation="count", group_by="region"),
            BillableMetric(code="m", aggregation="max", field="v"),
        ]
        queries = [_q(m, sub=s) for m in metrics for s in ("sub_1", "sub_2", "sub_3")]
        with store.begin() as uow:
            many = uow.usage.aggregate_many(queries)
            assert many == [uow.usage.aggregate(q) for q in queries]
        # sum: 3 | 4 + 5 = 9 | none; count by region: eu 1 | us 1, eu 1 | none; max: 3 | 5 | none
        assert many == [{None: 3}, {None: 9}, {}, {"eu": 1}, {"us": 1, "eu": 1}, {}, {None: 3}, {None: 5}, {}]

    def test_events_listed_in_time_order(self, store: Store) -> None:
        rows = [
            _ev("b", 9, {"v": 1}),
            _ev("a", 2, {"v": 2}),
            _ev("c", 5, {"v": 3}, metric="n"),
            _ev("d", 1, {"v": 4}, sub="sub_2"),
        ]
        self._ingest(store, rows)
        with store.begin() as uow:
            assert [r.id for r in uow.usage.events("sub_1")] == ["a", "c", "b"]
            assert [r.id for r in uow.usage.events("sub_1", metric="m", limit=1)] == ["a"]
            assert uow.usage.events("sub_1", metric="m")[0] == rows[1]

    def test_negative_and_fractional_values_exact(self, store: Store) -> None:
        self._ingest(
            store, [_ev("a", 2, {"v": "-0.000000001"}), _ev("b", 3, {"v": "0.1"}), _ev("c", 4, {"v": "-1.2"})]
        )
        with store.begin() as uow:
            assert uow.usage.aggregate(_q(BillableMetric(code="m", field="v"))) == {
                None: Decimal("-1.100000001")
            }
            assert uow.usage.aggregate(_q(BillableMetric(code="m", aggregation="max", field="v"))) == {
                None: Decimal("0.1")
            }

    def test_filters_and_groups_by_hand(self, store: Store) -> None:
        self._ingest(
            store,
            [
                _ev("a", 2, {"v": 3, "region": "eu", "tier": "gold"}),
                _ev("b", 3, {"v": 4, "region": "us", "tier": "gold"}),
                _ev("c", 4, {"v": 5, "region": "eu", "tier": "free"}),
                _ev("d", 5, {"v": 6, "region": "ap"}),
                _ev("e", 6, {"v": 7}),
            ],
        )
        with store.begin() as uow:
            agg = uow.usage.aggregate
            eu = BillableMetric(code="m", field="v", filters={"region": ("eu",)})
            assert agg(_q(eu)) == {None: 8}  # 3 + 5
            by_region = BillableMetric(code="m", field="v", group_by="region")
            assert agg(_q(by_region)) == {"eu": 8, "us": 4, "ap": 6, None: 7}
            both = BillableMetric(
                code="m", field="v", filters={"region": ("eu", "us"), "tier": ("gold",)}, group_by="region"
            )
            assert agg(_q(both)) == {"eu": 3, "us": 4}
            latest = BillableMetric(code="m", aggregation="latest", field="v", group_by="region")
            assert agg(_q(latest)) == {"eu": 5, "us": 4, "ap": 6, None: 7}
            mx = BillableMetric(code="m", aggregation="max", field="v", group_by="tier")
            assert agg(_q(mx)) == {"gold": 4, "free": 5, None: 7}
            uniq = BillableMetric(code="m", aggregation="unique_count", field="tier", group_by="region")
            assert agg(_q(uniq)) == {"eu": 2, "us": 1, "ap": 0, None: 0}
            assert uow.usage.amounts(_q(by_region)) == {"eu": [3, 5], "us": [4], "ap": [6], None: [7]}

    def test_weighted_sum_with_carry_over_by_hand(self, store: Store) -> None:
        # December: +10 GB on Dec 1 (carried into January). January (31 days): +20 GB on Jan 16,
        # -15 GB on Jan 26. Level: 10 GB for 15 days, 30 GB for 10 days, 15 GB for 6 days.
        # (10*15 + 30*10 + 15*6) / 31 = 540 / 31 = 17.419354838709... GB-month
        dec = usage_row(
            "d", "sub_1", "cus_1", "gb", datetime(2026, 12, 1, tzinfo=UTC), {"v": 10}, value_field="v"
        )
        self._ingest(
            store, [dec, _ev("j1", 16, {"v": 20}, metric="gb"), _ev("j2", 26, {"v": -15}, metric="gb")]
        )
        ws = BillableMetric(code="gb", aggregation="weighted_sum", field="v", unit="GB")
        with store.begin() as uow:
            assert uow.usage.aggregate(_q(ws)) == {None: Decimal("17.419354839")}
            # February: the level (15 GB) carries over for the whole month: 15 GB-month
            assert uow.usage.aggregate(_q(ws, FEB, datetime(2027, 3, 1, tzinfo=UTC))) == {None: Decimal(15)}

    def test_late_span(self, store: Store) -> None:
        rows = [_ev("a", 2, {"v": 1}), _ev("b", 10, {"v": 1}), _ev("c", 20, {"v": 1})]
        rows = [
            r._replace(recorded=micros(FEB) + n, late=1) for n, r in enumerate(rows)
        ]  # arrived in February
        on_time = _ev("x", 3, {"v": 1})._replace(recorded=micros(FEB) + 5)  # not marked late: not counted
        self._ingest(store, [_ev("old", 1, {"v": 1}), on_time, *rows])
        with store.begin() as uow:
            assert uow.usage.late_span("sub_1", micros(FEB), micros(FEB)) == (rows[0].ts, rows[2].ts)
            assert uow.usage.late_span("sub_1", micros(FEB), micros(FEB) + 10) is None
            assert uow.usage.late_span("sub_2", micros(FEB), 0) is None

    def test_same_id_from_two_threads_counted_once(self, store: Store) -> None:
        row = _ev("e1", 3, {"v": 5})
        results: list[int] = []
        errors: list[BaseException] = []
        barrier = threading.Barrier(2)

        def work() -> None:
            try:
                barrier.wait()
                for _ in range(5):
                    try:
                        with store.begin() as uow:
                            results.append(uow.usage.ingest([row]).accepted)
                        return
                    except Exception as exc:
                        if "locked" not in str(exc) and "concurrent" not in str(exc):
                            raise
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        with store.begin() as uow:
            assert uow.usage.aggregate(_q(BillableMetric(code="m", field="v"))) == {None: 5}
        assert sorted(results) in ([0, 1], [1, 1])  # the memory store may learn of the race at commit
