import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from subkit.adapters.catalog_file import load_catalog, save_catalog
from subkit.catalog.catalog import BillingTiming, Catalog, Plan, PlanKind, Product
from subkit.catalog.pricing import FlatFee, Graduated, PerUnit, Tier
from subkit.core.periods import YEARLY
from subkit.errors import (
    CatalogError,
    FloatNotAllowedError,
    NotFoundError,
    PricingError,
    UnknownCurrencyError,
)

APP = Product(id="app", name="App")


def tiers() -> tuple[Tier, ...]:
    return (
        Tier(up_to=5, unit_amount="7.00"),
        Tier(up_to=10, unit_amount="6.50"),
        Tier(up_to=None, unit_amount="6.00"),
    )


def catalog() -> Catalog:
    return Catalog(
        currencies=("USD", "EUR", "JPY"),
        products=(APP,),
        plans=(
            Plan(
                id="basic",
                product_id="app",
                name="Basic",
                tier="Basic",
                trial_days=14,
                prices={
                    "USD": FlatFee(flat_amount="10"),
                    "EUR": FlatFee(flat_amount="9"),
                    "JPY": FlatFee(flat_amount="1500"),
                },
                entitlements={"seats": 3, "api_calls": 10_000},
            ),
            Plan(
                id="pro",
                product_id="app",
                name="Pro",
                tier="Pro",
                setup_fee={"USD": "49", "EUR": "45"},
                prices={
                    "USD": PerUnit(unit_amount="12"),
                    "EUR": PerUnit(unit_amount="11"),
                    "JPY": PerUnit(unit_amount="1800"),
                },
                entitlements={"seats": 10, "api_calls": 100_000, "sso": False},
            ),
            Plan(
                id="enterprise",
                product_id="app",
                name="Enterprise",
                tier="Enterprise",
                interval=YEARLY,
                prices={c: Graduated(tiers=tiers()) for c in ("USD", "EUR", "JPY")},
                entitlements={"seats": None, "sso": True},
            ),
            Plan(
                id="api",
                product_id="app",
                name="API calls",
                kind=PlanKind.ADDON,
                metric="api_calls",
                prices={c: PerUnit(unit_amount="0.0004") for c in ("USD", "EUR", "JPY")},
            ),
        ),
    )


def test_prices_per_currency_and_reference_tiers() -> None:
    cat = catalog()
    # Graduated 8 units: 5 x 7.00 + 3 x 6.50 = 35.00 + 19.50 = 54.50
    assert cat.plan("enterprise").price("USD").amount(Decimal(8)) == Decimal("54.50")
    assert cat.plan("pro").price("EUR").amount(Decimal(3)) == Decimal(33)
    assert cat.plan("basic").price("JPY").amount(Decimal(1)) == Decimal(1500)
    assert cat.plan("api").timing == BillingTiming.ARREARS
    assert cat.plan("pro").entitlements["seats"] == 10


def test_missing_price_for_a_currency_names_the_field() -> None:
    with pytest.raises(CatalogError) as e:
        Catalog(
            currencies=("USD", "GBP"),
            products=(APP,),
            plans=(Plan(id="p", product_id="app", name="P", prices={"USD": FlatFee(flat_amount="1")}),),
        )
    assert e.value.field == "plans.0.prices"
    assert "GBP" in str(e.value)
    plan = Plan(id="p", product_id="app", name="P", prices={"USD": FlatFee(flat_amount="1")})
    with pytest.raises(CatalogError, match="no price in CHF"):
        plan.price("CHF")


def test_invalid_definitions_raise_clear_errors() -> None:
    with pytest.raises(CatalogError, match="unknown product"):
        Catalog(
            products=(APP,),
            plans=(Plan(id="p", product_id="nope", name="P", prices={"USD": FlatFee(flat_amount=1)}),),
        )
    with pytest.raises(UnknownCurrencyError):
        Plan(id="p", product_id="app", name="P", prices={"ZZZ": FlatFee(flat_amount="1")})
    with pytest.raises(PricingError):
        Plan(id="p", product_id="app", name="P", prices={"USD": FlatFee(flat_amount="-1")})
    with pytest.raises(FloatNotAllowedError):
        Plan(id="p", product_id="app", name="P", prices={"USD": FlatFee(flat_amount=1.5)})
    with pytest.raises(PricingError) as e:
        Catalog.model_validate(
            {
                "products": [{"id": "app", "name": "App"}],
                "plans": [
                    {
                        "id": "p",
                        "product_id": "app",
                        "name": "P",
                        "prices": {
                            "USD": {
                                "model": "graduated",
                                "tiers": [
                                    {"up_to": "10", "unit_amount": "1"},
                                    {"up_to": "5", "unit_amount": "1"},
                                    {"up_to": None},
                                ],
                            }
                        },
                    }
                ],
            }
        )
    assert "tiers" in (e.value.field or "")
    with pytest.raises(CatalogError, match="setup fee"):
        Plan(
            id="p",
            product_id="app",
            name="P",
            setup_fee={"USD": "-5"},
            prices={"USD": FlatFee(flat_amount="1")},
        )
    with pytest.raises(CatalogError, match="defined twice"):
        Catalog(
            products=(APP,),
            plans=(
                Plan(id="p", product_id="app", name="P", prices={"USD": FlatFee(flat_amount=1)}),
                Plan(id="p", product_id="app", name="P", prices={"USD": FlatFee(flat_amount=1)}),
            ),
        )


def test_json_round_trip(tmp_path: Path) -> None:
    cat = catalog()
    path = tmp_path / "catalog.json"
    save_catalog(cat, path)
    text = path.read_text()
    assert '"0.0004"' in text  # exact decimal strings, never floats
    assert load_catalog(path) == cat
    data = json.loads(text)
    assert data["plans"][0]["prices"]["USD"]["flat_amount"] == "10"


def test_unreadable_or_invalid_json(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="cannot read"):
        load_catalog(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(CatalogError, match="not valid JSON"):
        load_catalog(bad)


def test_the_catalog_domain_touches_no_file() -> None:
    import inspect

    import subkit.catalog.catalog as domain

    source = inspect.getsource(domain)
    assert "read_text" not in source and "write_text" not in source and "open(" not in source


def test_plan_versions_apply_from_their_effective_date() -> None:
    v1 = Plan(id="pro", product_id="app", name="Pro", prices={"USD": FlatFee(flat_amount="20")})
    v2 = Plan(
        id="pro",
        product_id="app",
        name="Pro",
        version=2,
        effective_from=datetime(2027, 6, 1, tzinfo=UTC),
        prices={"USD": FlatFee(flat_amount="25")},
    )
    cat = Catalog(products=(APP,), plans=(v1,)).publish(v2)
    assert cat.plan("pro", at=datetime(2027, 5, 31, tzinfo=UTC)).version == 1
    assert cat.plan("pro", at=datetime(2027, 6, 1, tzinfo=UTC)).version == 2
    assert cat.plan("pro", 1).price("USD").amount(Decimal(1)) == Decimal(20)
    with pytest.raises(NotFoundError):
        cat.plan("pro", 3)
    with pytest.raises(NotFoundError):
        cat.plan("gold")


def test_equality_and_copies_ignore_the_lookup_cache() -> None:
    cat = catalog()
    assert cat.plan("pro").name == "Pro"  # builds the lookup
    assert cat == Catalog.from_json(cat.to_json())
    fewer = cat.model_copy(update={"plans": cat.plans[:1]})
    with pytest.raises(NotFoundError):
        fewer.plan("pro")  # a copy with other plans never reuses the original's lookup
