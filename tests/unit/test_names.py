"""Issue 15, "One vocabulary": Stripe's names, the old ones kept as deprecated aliases for one release."""

from __future__ import annotations

import json
import sqlite3
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from subkit.adapters.catalog_file import load_catalog, save_catalog
from subkit.catalog.catalog import Catalog, Plan, Product
from subkit.catalog.pricing import FlatFee, Graduated, Package, PerUnit, Tier, parse_pricing
from subkit.errors import ValidationError
from subkit.services.engine import BillingEngine
from subkit.services.portal import CustomerPortal
from subkit.subscription.proration import ProrationBehavior
from subkit.testing import TestClock

from ..scenarios.conftest import World

ALWAYS = ProrationBehavior.ALWAYS_INVOICE


@pytest.fixture
def w() -> World:
    return World(datetime(2027, 1, 1, tzinfo=UTC))


def test_the_old_proration_keyword_still_works_and_warns_naming_the_new_one(w: World) -> None:
    cus = w.engine.create_customer(name="A", currency="USD")
    sub = w.engine.subscribe(cus.id, "basic")  # $10 for Jan 1 - Feb 1 (31 days)
    w.clock.travel_to(w.at(2027, 1, 16))
    with pytest.warns(DeprecationWarning, match=r"proration= is deprecated, use proration_behavior=") as rec:
        preview = w.engine.preview_change(sub.id, "pro", proration=ALWAYS)
    assert rec[0].filename == __file__  # the warning points at the caller's line
    # 16 of 31 days left: $10 * 16/31 = 5.16 credited, $20 * 16/31 = 10.32 charged, invoiced at once
    assert not preview.pending and [ln.amount_minor for ln in preview] == [-516, 1032]
    with pytest.warns(DeprecationWarning, match="proration_behavior="):
        w.engine.change_plan(sub.id, "pro", proration=ALWAYS)
    assert w.engine.invoices(subscription_id=sub.id)[-1].total_minor == 1032 - 516


def test_change_quantity_and_the_portal_accept_the_old_keyword_with_a_warning(w: World) -> None:
    cus = w.engine.create_customer(name="A", currency="USD")
    sub = w.engine.subscribe(cus.id, "seats", 10)  # 10 x $8 = $80 for January
    w.clock.travel_to(w.at(2027, 1, 16))
    with pytest.warns(DeprecationWarning, match="proration_behavior="):
        w.engine.change_quantity(sub.id, 5, proration=ALWAYS)
    # credit 80 * 16/31 = 41.29, charge 40 * 16/31 = 20.65, invoiced at once
    assert [ln.amount_minor for ln in w.engine.invoices(subscription_id=sub.id)[-1].lines] == [-4129, 2065]
    with pytest.warns(DeprecationWarning, match="proration_behavior="):
        portal = CustomerPortal(w.engine, cus.id, proration=ProrationBehavior.NONE)
    assert portal.proration_behavior == ProrationBehavior.NONE


def test_the_new_name_does_not_warn_and_both_names_at_once_are_refused(w: World) -> None:
    cus = w.engine.create_customer(name="A", currency="USD")
    sub = w.engine.subscribe(cus.id, "basic")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w.engine.preview_change(sub.id, "pro", proration_behavior=ALWAYS)
        assert CustomerPortal(w.engine, cus.id).proration_behavior == ALWAYS  # the default
    with pytest.raises(ValidationError, match="pass proration_behavior= only") as exc:
        w.engine.change_plan(sub.id, "pro", proration=ALWAYS, proration_behavior=ALWAYS)
    assert exc.value.field == "proration"
    assert w.engine.get_subscription(sub.id).items[0].plan_id == "basic"  # nothing written


# ----------------------------------------------------------------------------- pricing fields
# Stripe's Price: ``unit_amount`` per unit, a tier's ``flat_amount`` for the whole tier whatever its
# units (https://docs.stripe.com/api/prices/object). A flat fee is that same idea for the whole
# period, so it takes ``flat_amount`` too; a package's price is ``package_amount``.
OLD_AND_NEW = [
    ({"model": "flat", "price": "29.00"}, {"model": "flat", "flat_amount": "29.00"}),
    ({"model": "per_unit", "unit_price": "0.0004"}, {"model": "per_unit", "unit_amount": "0.0004"}),
    (
        {
            "model": "graduated",
            "tiers": [{"up_to": 5, "unit_price": "7", "flat_price": "10"}, {"up_to": None}],
        },
        {
            "model": "graduated",
            "tiers": [{"up_to": 5, "unit_amount": "7", "flat_amount": "10"}, {"up_to": None}],
        },
    ),
    (
        {"model": "volume", "tiers": [{"up_to": None, "unit_price": "6.50"}]},
        {"model": "volume", "tiers": [{"up_to": None, "unit_amount": "6.50"}]},
    ),
    (
        {
            "model": "stairstep",
            "steps": [{"up_to": 10, "flat_price": "100"}, {"up_to": None, "flat_price": 200}],
        },
        {
            "model": "stairstep",
            "steps": [{"up_to": 10, "flat_amount": "100"}, {"up_to": None, "flat_amount": 200}],
        },
    ),
    (
        {"model": "package", "package_size": 100, "package_price": "5"},
        {"model": "package", "package_size": 100, "package_amount": "5"},
    ),
]


@pytest.mark.parametrize(("old", "new"), OLD_AND_NEW)
def test_stored_pricing_with_the_old_keys_loads_equal_to_the_new_without_a_warning(
    old: dict[str, object], new: dict[str, object]
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = parse_pricing(old)
        assert loaded == parse_pricing(new)
        assert type(loaded).model_validate_json(json.dumps(old)) == loaded
    dumped = json.loads(loaded.model_dump_json())
    assert not {"price", "unit_price", "flat_price", "package_price"} & (dumped.keys() | _tier_keys(dumped))


def _tier_keys(dumped: dict[str, Any]) -> set[str]:
    return {k for t in [*dumped.get("tiers", []), *dumped.get("steps", [])] for k in t}


def test_old_pricing_keywords_warn_and_build_the_same_model() -> None:
    cases: list[tuple[Callable[[], object], object, str]] = [
        (lambda: FlatFee(price="29.00"), FlatFee(flat_amount="29.00"), "price= .* flat_amount="),
        (lambda: PerUnit(unit_price=8), PerUnit(unit_amount=8), "unit_price= .* unit_amount="),
        (
            lambda: Tier(up_to=None, flat_price=1),
            Tier(up_to=None, flat_amount=1),
            "flat_price= .* flat_amount=",
        ),
        (
            lambda: Package(package_size=100, package_price=5),
            Package(package_size=100, package_amount=5),
            "package_",
        ),
    ]
    for build, expected, message in cases:
        with pytest.warns(DeprecationWarning, match=message) as rec:
            assert build() == expected
        assert rec[0].filename == __file__
    # 5 x 7 + 10 (first tier's flat) + 3 x 6 = 63, Stripe's graduated arithmetic
    with pytest.warns(DeprecationWarning, match="unit_price="):
        g = Graduated(tiers=(Tier(up_to=5, unit_price=7, flat_amount=10), Tier(up_to=None, unit_amount=6)))
    assert g.amount(8) == Decimal(63)


def test_new_pricing_keywords_do_not_warn_and_both_names_are_refused() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert FlatFee(flat_amount="29.00").amount(3) == Decimal("29.00")
        assert PerUnit(unit_amount="0.0004").amount(2500) == Decimal("1.0000")
    with pytest.raises(ValidationError) as exc:
        parse_pricing({"model": "flat", "price": "1", "flat_amount": "2"})
    assert exc.value.field == "price"
    with pytest.raises(ValidationError, match="give flat_amount only"):
        FlatFee(price="1", flat_amount="2")


def test_a_catalog_stored_with_the_old_keys_in_a_sql_store_loads_unchanged(tmp_path: Path) -> None:
    from subkit.adapters.storage.sql import SqlStore

    plan = Plan(id="seats", product_id="app", name="Seats", prices={"USD": PerUnit(unit_amount="8")})
    catalog = Catalog(products=(Product(id="app", name="App"),), plans=(plan,))
    store = SqlStore(tmp_path / "books.sqlite")
    BillingEngine(store, TestClock(datetime(2027, 1, 1, tzinfo=UTC))).set_catalog(catalog)
    store.close()
    with sqlite3.connect(tmp_path / "books.sqlite") as db:  # as a release before the rename wrote it
        db.execute("UPDATE subkit_entities SET body = replace(body, '\"unit_amount\"', '\"unit_price\"')")
        (body,) = db.execute("SELECT body FROM subkit_entities WHERE body LIKE '%unit_price%'").fetchone()
    assert '"unit_price":"8"' in body.replace(" ", "")
    store = SqlStore(tmp_path / "books.sqlite")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert BillingEngine(store, TestClock(datetime(2027, 1, 1, tzinfo=UTC))).catalog == catalog
    store.close()


def test_a_catalog_file_with_the_old_keys_loads_and_is_saved_with_the_new(tmp_path: Path) -> None:
    path = tmp_path / "catalog.json"
    old = {
        "products": [{"id": "app", "name": "App"}],
        "plans": [
            {
                "id": "basic",
                "product_id": "app",
                "name": "Basic",
                "prices": {"USD": {"model": "flat", "price": "10"}},
            }
        ],
    }
    path.write_text(json.dumps(old))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cat = load_catalog(path)
    assert cat.plan("basic").price("USD") == FlatFee(flat_amount="10")
    save_catalog(cat, path)
    assert json.loads(path.read_text())["plans"][0]["prices"]["USD"]["flat_amount"] == "10"
