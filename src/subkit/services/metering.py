"""Metering: record usage events one at a time or in bulk; quarantine and replay the refused ones.

An event names a subscription (or a customer with one subscription billing that metric),
a metric of the catalog, an aware timestamp, string properties and the host's unique id.
Ids are a unique key of the store (``uow.usage``): an event sent twice is counted once, and
the answer says it was a duplicate; an id sent again with other content is
:class:`~subkit.errors.UsageConflictError`. Bulk ingestion takes any iterable of plain
mappings and commits it in chunks (``chunk_size`` events per unit of work, memory flat): an
error stops at the chunk it is in, after the chunks before it committed; sending the whole
batch again is safe (those come back as duplicates).

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.catalog.catalog import Catalog, Plan, Product
    >>> from subkit.catalog.pricing import PerUnit
    >>> from subkit.services.engine import BillingEngine
    >>> from subkit.testing import InMemoryStore, TestClock
    >>> engine = BillingEngine(InMemoryStore(), TestClock(datetime(2027, 1, 1, tzinfo=UTC)))
    >>> engine.set_catalog(Catalog(products=(Product(id="app", name="App"),), plans=(
    ...     Plan(id="api", product_id="app", name="API", metric="calls",
    ...          prices={"USD": PerUnit(unit_amount="0.01")}),)))
    >>> sub = engine.subscribe(engine.create_customer(name="Ada", currency="USD").id, "api")
    >>> metering = Metering(ServiceContext(engine.store, engine.clock))
    >>> metering.record(sub.id, "calls", 500, id="evt_1").duplicate
    False
    >>> metering.record(sub.id, "calls", 500, id="evt_1").duplicate   # the same event again: kept once
    True
    >>> metering.record(sub.id, "cals", 5, id="evt_2")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    subkit.errors.UnknownMetricError: [unknown_metric] metric: no billable metric or metered plan 'cals' ...
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from subkit.catalog.catalog import Catalog
from subkit.catalog.metrics import Aggregation, BillableMetric
from subkit.errors import NotFoundError, SubkitError, UnknownMetricError, ValidationError
from subkit.ports import UnitOfWork
from subkit.services.context import CatalogRecord, ServiceContext
from subkit.subscription.model import Subscription, SubscriptionStatus
from subkit.usage.bulk import Spec, encode
from subkit.usage.event import IngestResult, UsageEvent, UsageRow, micros, usage_row
from subkit.usage.quarantine import QUARANTINED, REPLAYED, QuarantinedUsage

__all__ = ["DEFAULT_CHUNK", "Metering"]

#: Events per unit of work in bulk ingestion.
DEFAULT_CHUNK = 50_000


class _Resolver:
    """What one chunk's events need, read once per chunk: metrics, subscriptions, customers' subscriptions."""

    __slots__ = ("by_customer", "catalog", "metrics", "specs", "subs", "targets", "thresholds", "uow")

    def __init__(self, uow: UnitOfWork, catalog: Catalog, chunk: Sequence[Mapping[str, Any]]) -> None:
        self.uow, self.catalog = uow, catalog
        self.metrics: dict[str, BillableMetric | None] = {}
        #: metric code -> how its events are encoded
        self.specs: dict[str, Spec] = {}
        #: subscription id -> (id, customer id, current period start in epoch microseconds)
        self.targets: dict[str, tuple[str, str, int]] = {}
        #: whether any plan has usage thresholds (then the subscriptions touched are checked)
        self.thresholds = any(p.usage_thresholds for p in catalog.plans)
        named = {e.get("subscription_id") for e in chunk}
        sub_ids = [s for s in named if s is not None]
        self.subs: dict[str, Subscription] = uow.get_many(Subscription, sub_ids) if sub_ids else {}
        for sub_id, sub in self.subs.items():
            self.targets[sub_id] = (sub.id, sub.customer_id, micros(sub.period_start))
        try:
            codes = {e.get("metric") for e in chunk}
        except TypeError:  # an unhashable code: its event is refused on its own
            codes = {c for e in chunk if type(c := e.get("metric")) is str}
        for code in codes:
            if type(code) is str and catalog.billable_metric(code) is not None:
                self.spec(code)
        cus_ids = (
            {e["customer_id"] for e in chunk if e.get("subscription_id") is None and e.get("customer_id")}
            if None in named
            else set()
        )
        self.by_customer: dict[str, list[Subscription]] = {}
        if cus_ids:
            for sub in uow.find(Subscription, customer_id=list(cus_ids)):
                self.by_customer.setdefault(sub.customer_id, []).append(sub)

    def metric(self, code: object) -> BillableMetric:
        if not isinstance(code, str):
            raise ValidationError("metric must be the metric's code (a str)", field="metric")
        if code not in self.metrics:
            self.metrics[code] = self.catalog.billable_metric(code)
        found = self.metrics[code]
        if found is None:
            raise UnknownMetricError(
                f"no billable metric or metered plan {code!r} in the catalog; check the code, "
                "or add the metric to the catalog",
                field="metric",
            )
        return found

    def spec(self, code: object) -> Spec:
        """How ``code``'s events are encoded (read once per chunk)."""
        spec = self.specs.get(code) if type(code) is str else None
        if spec is None:
            metric = self.metric(code)
            agg = metric.aggregation
            spec = self.specs[metric.code] = Spec(
                metric.code,
                None if agg == Aggregation.COUNT else metric.field,
                None if agg in (Aggregation.COUNT, Aggregation.UNIQUE_COUNT) else metric.field,
                agg == Aggregation.WEIGHTED_SUM,
            )
        return spec

    def subscription(self, event: Mapping[str, Any], metric: str) -> Subscription:
        sub_id = event.get("subscription_id")
        if sub_id is not None:
            sub = self.subs.get(sub_id)
            if sub is None:
                raise NotFoundError(f"no subscription with id {sub_id!r}", field="subscription_id")
            return sub
        cus_id = event.get("customer_id")
        if not cus_id:
            raise ValidationError(
                "a usage event names its subscription_id or customer_id", field="subscription_id"
            )
        plan = self.catalog.plan
        billing = [
            s
            for s in self.by_customer.get(cus_id, ())
            if s.status != SubscriptionStatus.CANCELED
            and any(plan(it.plan_id, it.plan_version).metric == metric for it in s.items)
        ]
        if not billing:
            raise NotFoundError(
                f"customer {cus_id!r} has no live subscription billing metric {metric!r}", field="customer_id"
            )
        if len(billing) > 1:
            raise ValidationError(
                f"customer {cus_id!r} has {len(billing)} subscriptions billing {metric!r}; "
                "name the subscription_id",
                field="customer_id",
            )
        return billing[0]


def _row(res: _Resolver, event: Mapping[str, Any], recorded: int) -> UsageRow:
    code, merge, value_field, signed = res.spec(event.get("metric"))
    sub_id = event.get("subscription_id")
    target = res.targets.get(sub_id) if sub_id is not None else None
    if target is None:
        sub = res.subscription(event, code)
        target = (sub.id, sub.customer_id, micros(sub.period_start))
        if sub_id is not None:
            res.targets[sub_id] = target
    props: Mapping[str, object] | None = event.get("properties")
    quantity = event.get("quantity")
    if quantity is not None and merge is not None:
        props = {**props, merge: quantity} if props else {merge: quantity}
    row = usage_row(
        event.get("id"),  # type: ignore[arg-type]  # checked there
        target[0],
        target[1],
        code,
        event.get("timestamp"),  # type: ignore[arg-type]  # checked there
        props,
        value_field=value_field,
        recorded=recorded,
    )
    if row.ts < target[2]:
        row = row._replace(late=1)  # its period already closed: the next renewal adjusts for it
    if (row.units < 0 or row.nanos < 0) and not signed:
        raise ValidationError(
            "usage quantity must not be negative (only a weighted sum's level changes may be)",
            field=f"properties.{value_field}",
        )
    return row


def _quarantined(event: Mapping[str, Any], err: SubkitError) -> QuarantinedUsage:
    props = {str(k): str(v) for k, v in (event.get("properties") or {}).items()}
    if event.get("quantity") is not None:
        props.setdefault("quantity", str(event["quantity"]))
    return QuarantinedUsage(
        id=str(event.get("id")),
        reason=err.code,
        message=err.message,
        subscription_id=event.get("subscription_id"),
        customer_id=event.get("customer_id"),
        metric=str(event.get("metric")),
        timestamp=event.get("timestamp"),
        properties=props,
    )


class Metering:
    """Records metered usage (one event, or any number in bulk).

    Example:
        >>> from datetime import datetime, UTC
        >>> from subkit.testing import InMemoryStore, TestClock
        >>> metering = Metering(ServiceContext(InMemoryStore(), TestClock(datetime(2027, 1, 1, tzinfo=UTC))))
        >>> metering.ingest([])
        IngestResult(accepted=0, duplicates=(), quarantined=0)
    """

    __slots__ = ("ctx", "on_usage")

    def __init__(self, ctx: ServiceContext, on_usage: Callable[[list[str]], object] | None = None) -> None:
        self.ctx = ctx
        #: Called after a commit with the subscriptions whose plans have usage thresholds
        #: (the engine checks them: progressive billing).
        self.on_usage = on_usage

    def record(
        self,
        subscription_id: str,
        metric: str,
        quantity: object = None,
        *,
        at: datetime | None = None,
        id: str | None = None,
        properties: Mapping[str, object] | None = None,
    ) -> UsageEvent:
        """Record one event; a repeated ``id`` with the same content is a duplicate (counted once).

        Without ``at`` the event is timed now; a retry of the same ``id`` (timed later) with
        the same metric, subscription and properties is then the same event.
        """
        event = {
            "id": id or self.ctx.ids("use"),
            "subscription_id": subscription_id,
            "metric": metric,
            "timestamp": self.ctx.now(at),
            "properties": properties,
            "quantity": quantity,
        }
        with self.ctx.store.begin() as uow:
            res = self._resolver(uow, [event])
            try:
                row = _row(res, event, micros(self.ctx.now()))
            except (UnknownMetricError, NotFoundError) as err:
                if not self.ctx.config.usage_quarantine:
                    raise
                q = _quarantined(event, err)
                self._quarantine(uow, [q])
                return UsageEvent(
                    q.id, subscription_id, metric, q.timestamp, Decimal(0), q.properties, False, True
                )
            if at is None and id is not None:
                # The time is subkit's (no ``at``): a retry of the same id gets a later one. It is
                # the same event if all the host sent is the same.
                held = uow.usage.get(row.id)
                if held is not None and held._replace(ts=row.ts).same_event(row):
                    return UsageEvent.of(held, True)
            result = uow.usage.ingest([row])
            stored = uow.usage.get(row.id) if result.duplicates else row
        if res.thresholds and result.accepted and self.on_usage is not None:
            self.on_usage([row.subscription_id])
        return UsageEvent.of(stored or row, bool(result.duplicates))

    def _resolver(self, uow: UnitOfWork, chunk: Sequence[Mapping[str, Any]]) -> _Resolver:
        return _Resolver(uow, uow.get(CatalogRecord, "catalog").catalog, chunk)

    def _quarantine(self, uow: UnitOfWork, found: list[QuarantinedUsage]) -> None:
        held = uow.get_many(QuarantinedUsage, [q.id for q in found])
        for q in found:
            if q.id not in held:
                uow.add(q)
                held[q.id] = q

    def ingest(self, events: Iterable[Mapping[str, Any]], *, chunk_size: int = DEFAULT_CHUNK) -> IngestResult:
        """Ingest plain events in bulk (mappings: ``id``, ``subscription_id`` or ``customer_id``,
        ``metric``, ``timestamp``, ``properties``, optional ``quantity``)."""
        if chunk_size < 1:
            raise ValidationError("chunk_size must be at least 1", field="chunk_size")
        quarantine = self.ctx.config.usage_quarantine
        accepted, duplicates, held = 0, list[str](), 0
        recorded = micros(self.ctx.now())
        for chunk in _chunks(events, chunk_size):
            with self.ctx.store.begin() as uow:
                res = self._resolver(uow, chunk)
                bad: list[QuarantinedUsage] = []

                def slow(n: int, event: Mapping[str, Any]) -> UsageRow | None:
                    try:
                        return _row(res, event, recorded)  # noqa: B023  # called within this iteration
                    except (UnknownMetricError, NotFoundError) as err:
                        if not quarantine:
                            err.message = f"event {event.get('id')!r}: {err.message}"
                            raise
                        bad.append(_quarantined(event, err))  # noqa: B023
                        return None
                    except SubkitError as err:
                        err.message = f"event {n} of the chunk ({event.get('id')!r}): {err.message}"
                        raise

                rows = encode(chunk, res.specs, res.targets, recorded, slow)
                result = uow.usage.ingest(rows)
                if bad:
                    self._quarantine(uow, bad)
            if res.thresholds and result.accepted and self.on_usage is not None:
                self.on_usage(list(dict.fromkeys(rows.columns[1])))  # the subscription ids
            accepted += result.accepted
            duplicates.extend(result.duplicates)
            held += len(bad)
        return IngestResult(accepted, tuple(duplicates), held)

    def events(
        self, subscription_id: str, *, metric: str | None = None, limit: int = 1000
    ) -> list[UsageEvent]:
        """A subscription's recorded events (of ``metric``), oldest first, at most ``limit``."""
        with self.ctx.store.begin() as uow:
            uow.get(Subscription, subscription_id)
            return [
                UsageEvent.of(r, False) for r in uow.usage.events(subscription_id, metric=metric, limit=limit)
            ]

    def quarantined(self) -> list[QuarantinedUsage]:
        """The events held in quarantine (not yet replayed), oldest first."""
        with self.ctx.store.begin() as uow:
            return uow.find(QuarantinedUsage, status=QUARANTINED)

    def replay_quarantined(self) -> IngestResult:
        """Ingest the quarantined events again; those that now pass leave the quarantine."""
        held = self.quarantined()
        if not held:
            return IngestResult(0, ())
        events = [
            {
                "id": q.id,
                "subscription_id": q.subscription_id,
                "customer_id": q.customer_id,
                "metric": q.metric,
                "timestamp": q.timestamp,
                "properties": q.properties,
            }
            for q in held
        ]
        accepted, duplicates, still = 0, list[str](), 0
        recorded = micros(self.ctx.now())
        with self.ctx.store.begin() as uow:
            res = self._resolver(uow, events)
            rows, done = [], []
            for q, event in zip(held, events, strict=True):
                try:
                    rows.append(_row(res, event, recorded))
                    done.append(q)
                except (UnknownMetricError, NotFoundError):
                    still += 1
            result = uow.usage.ingest(rows)
            for q in done:
                uow.update(q.model_copy(update={"status": REPLAYED, "version": q.version + 1}))
            accepted, duplicates = result.accepted, list(result.duplicates)
        return IngestResult(accepted, tuple(duplicates), still)


def _chunks(events: Iterable[Mapping[str, Any]], size: int) -> Iterator[list[Mapping[str, Any]]]:
    it = iter(events)
    while chunk := list(itertools.islice(it, size)):
        yield chunk
