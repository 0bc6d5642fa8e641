"""The demo's metered storage and prepaid credits: the usage-based part of the story.

From day 1, three founders also rent storage, billed by the GB-month in arrears (a weighted
sum of GB added and removed, per region: one line per region), sent in bulk every day with
one event of the day before sent again (counted once). Each gets prepaid credits (a
promotional grant that expires after two months, then a purchased one) that their invoices
use before asking for payment.

Example:
    >>> cat = with_storage(Catalog(currencies=("USD",)))
    >>> [m.code for m in cat.metrics], cat.plans[0].metric
    (['storage_gb'], 'storage_gb')
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta

from subkit.catalog.catalog import Catalog, Plan, Product
from subkit.catalog.metrics import BillableMetric
from subkit.catalog.pricing import PerUnit
from subkit.customer.customer import Customer
from subkit.errors import StateError, ValidationError
from subkit.services.engine import BillingEngine

__all__ = ["STORAGE", "StorageStory", "with_storage"]

STORAGE = BillableMetric(
    code="storage_gb", aggregation="weighted_sum", field="gb", unit="GB", group_by="region"
)
#: Price of one GB-month, and the credits each founder gets (promotional, purchased), per currency.
_PRICE = {"USD": "0.10", "EUR": "0.09", "GBP": "0.08", "JPY": "15"}
_CREDITS = {"USD": ("5", "20"), "EUR": ("5", "18"), "GBP": ("4", "16"), "JPY": ("700", "3000")}
_REGIONS = ("eu", "us")


def with_storage(catalog: Catalog) -> Catalog:
    """``catalog`` with the storage product, its weighted-sum metric and its plan (in every currency)."""
    currencies = catalog.currencies or ("USD",)
    plan = Plan(
        id="storage",
        product_id="storage",
        name="Storage",
        metric=STORAGE.code,
        prices={c: PerUnit(unit_amount=_PRICE.get(c, "0.10")) for c in currencies},
    )
    return catalog.model_copy(
        update={
            "products": (*catalog.products, Product(id="storage", name="Acme Storage")),
            "plans": (*catalog.plans, plan),
            "metrics": (*catalog.metrics, STORAGE),
        }
    )


class StorageStory:
    """Three founders' storage, day by day (:meth:`day`), and their prepaid credits."""

    def __init__(self, engine: BillingEngine, rng: random.Random, counts: Counter[str]) -> None:
        self.engine, self.rng, self.counts = engine, rng, counts
        self.subs: list[tuple[str, str]] = []  # (subscription id, customer id)
        self.levels: dict[tuple[str, str], int] = {}
        self.last: dict[str, Any] | None = None
        self.started = False

    def _start(self, at: datetime) -> None:
        with self.engine.store.begin() as uow:
            founders = sorted(uow.find(Customer), key=lambda c: c.id)[:3]
        for cus in founders:
            try:
                sub = self.engine.subscribe(cus.id, "storage", at=at)
            except (StateError, ValidationError):
                continue
            promo, bought = _CREDITS.get(cus.currency, ("5", "20"))
            self.engine.grant_credits(
                cus.id,
                promo,
                kind="promotional",
                expires_at=at + relativedelta(months=2),
                id=f"promo_{cus.id}",
            )
            self.engine.grant_credits(cus.id, bought, kind="purchased", priority=1, id=f"bought_{cus.id}")
            self.counts["wallet_grants"] += 2
            self.subs.append((sub.id, cus.id))

    def day(self, at: datetime) -> None:
        """The day ending at ``at``: storage changes of the founders, sent in one bulk call."""
        if not self.started:
            self.started = True
            self._start(at)
        events = []
        for sub_id, _ in self.subs:
            for region in _REGIONS:
                level = self.levels.get((sub_id, region), 0)
                change = self.rng.randint(-3, 6) if level else self.rng.randint(5, 40)
                change = max(change, -level)
                if not change:
                    continue
                self.levels[(sub_id, region)] = level + change
                events.append(
                    {
                        "id": f"gb_{sub_id}_{region}_{at.date().isoformat()}",
                        "subscription_id": sub_id,
                        "metric": STORAGE.code,
                        "timestamp": at - timedelta(hours=self.rng.randint(1, 23)),
                        "properties": {"gb": change, "region": region},
                    }
                )
        if self.last is not None:
            events.append(self.last)  # sent again by an at-least-once pipeline: counted once
        if not events:
            return
        try:
            result = self.engine.ingest_usage(events)
        except (StateError, ValidationError):
            self.counts["refused"] += 1
            return
        self.counts["storage_events"] += result.accepted
        self.counts["storage_duplicates"] += len(result.duplicates)
        self.last = events[0]
