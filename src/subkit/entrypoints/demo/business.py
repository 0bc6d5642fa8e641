"""The simulated business: what it sells, its coupons, and where its customers come from.

Example:
    >>> import random
    >>> market, name = pick_company(random.Random(1))
    >>> market.country in {m.country for m in MARKETS}, name.endswith(market.suffixes)
    (True, True)
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from subkit.catalog.catalog import Catalog, Plan, PlanKind, Product
from subkit.catalog.pricing import FlatFee, Graduated, Package, PerUnit, Tier
from subkit.entrypoints.demo.metered import with_storage
from subkit.invoice.discounts import Coupon, PromotionCode

__all__ = [
    "CURRENCIES",
    "DEFAULT_START",
    "MARKETS",
    "ONBOARDING_FEE",
    "Market",
    "demo_catalog",
    "demo_coupons",
    "pick_company",
    "price_increase",
]

#: Where the simulated year starts by default.
DEFAULT_START = datetime(2026, 1, 1, tzinfo=UTC)
#: The currencies the demo sells in, in display order.
CURRENCIES = ("USD", "EUR", "GBP", "JPY")


def demo_catalog() -> Catalog:
    """The demo's catalog: three tiers, a metered add-on, storage by the GB-month, four currencies.

    Example:
        >>> cat = demo_catalog()
        >>> [p.id for p in cat.plans]
        ['basic', 'pro', 'enterprise', 'api_calls', 'storage']
        >>> cat.plan("enterprise").price("USD").amount(12)  # 200 + 10 x 40 + 2 x 32
        Decimal('664')
    """

    def graduated(flat: str, first: str, second: str, rest: str) -> Graduated:
        return Graduated(
            tiers=(
                Tier(up_to=10, unit_amount=first, flat_amount=flat),
                Tier(up_to=50, unit_amount=second),
                Tier(up_to=None, unit_amount=rest),
            )
        )

    def calls(price: str) -> Package:
        return Package(package_size=10_000, package_amount=price, free_units=10_000)

    return with_storage(  # [usage] the storage plan and its metric (demo.metered)
        Catalog(
            currencies=CURRENCIES,
            products=(
                Product(id="app", name="Acme Cloud", description="The app"),
                Product(id="api", name="Acme API", description="Programmatic access"),
            ),
            plans=(
                Plan(
                    id="basic",
                    product_id="app",
                    name="Basic",
                    tier="Basic",
                    prices={
                        "USD": FlatFee(flat_amount="19"),
                        "EUR": FlatFee(flat_amount="18"),
                        "GBP": FlatFee(flat_amount="15"),
                        "JPY": FlatFee(flat_amount="2800"),
                    },
                    entitlements={"seats": 1, "sso": False},
                ),
                Plan(
                    id="pro",
                    product_id="app",
                    name="Pro",
                    tier="Pro",
                    prices={
                        "USD": PerUnit(unit_amount="12"),
                        "EUR": PerUnit(unit_amount="11"),
                        "GBP": PerUnit(unit_amount="9.50"),
                        "JPY": PerUnit(unit_amount="1800"),
                    },
                    entitlements={"seats": None, "sso": False},
                ),
                Plan(
                    id="enterprise",
                    product_id="app",
                    name="Enterprise",
                    tier="Enterprise",
                    setup_fee={
                        "USD": Decimal(500),
                        "EUR": Decimal(450),
                        "GBP": Decimal(400),
                        "JPY": Decimal(75000),
                    },
                    prices={
                        "USD": graduated("200", "40", "32", "25"),
                        "EUR": graduated("190", "37", "30", "23"),
                        "GBP": graduated("160", "32", "26", "20"),
                        "JPY": graduated("30000", "6000", "4800", "3700"),
                    },
                    entitlements={"seats": None, "sso": True},
                ),
                Plan(
                    id="api_calls",
                    product_id="api",
                    name="API calls",
                    kind=PlanKind.ADDON,
                    metric="api_calls",
                    prices={"USD": calls("5"), "EUR": calls("4.50"), "GBP": calls("4"), "JPY": calls("750")},
                ),
            ),
        )
    )


def price_increase(catalog: Catalog, at: datetime) -> Catalog:
    """Basic v2, about 10% dearer, for subscriptions started from ``at``.

    Example:
        >>> later = price_increase(demo_catalog(), DEFAULT_START.replace(month=7))
        >>> later.plan("basic").version, later.plan("basic").price("USD").amount(1)
        (2, Decimal('21'))
    """
    old = catalog.plan("basic")
    prices = {
        "USD": FlatFee(flat_amount="21"),
        "EUR": FlatFee(flat_amount="20"),
        "GBP": FlatFee(flat_amount="17"),
        "JPY": FlatFee(flat_amount="3100"),
    }
    new = old.model_copy(update={"version": old.version + 1, "effective_from": at, "prices": prices})
    return catalog.publish(Plan.model_validate(new.model_dump()))


def demo_coupons(start: datetime, end: datetime) -> tuple[list[Coupon], list[PromotionCode]]:
    """The coupons the business offers, and promotion code WELCOME10 (expires 3/4 into the run).

    Example:
        >>> coupons, codes = demo_coupons(DEFAULT_START, DEFAULT_START.replace(year=2027))
        >>> [c.id for c in coupons], codes[0].expires_at.date().isoformat()
        (['LAUNCH20', 'QUARTER15', 'NONPROFIT30', 'WELCOME', 'STAY50'], '2026-10-01')
    """
    promo_until = start + (end - start) * 3 // 4
    coupons = [
        Coupon(id="LAUNCH20", name="Launch: 20% off the first month", percent_off="20", duration="once"),
        Coupon(
            id="QUARTER15",
            name="15% off for 3 months",
            percent_off="15",
            duration="repeating",
            duration_cycles=3,
        ),
        Coupon(id="NONPROFIT30", name="Non-profit: 30% off forever", percent_off="30", duration="forever"),
        Coupon(
            id="WELCOME",
            name="Welcome credit",
            amount_off={"USD": "10", "EUR": "9", "GBP": "8", "JPY": "1200"},
            duration="once",
        ),
        Coupon(id="STAY50", name="Please stay: 50% off next month", percent_off="50", duration="once"),
    ]
    codes = [PromotionCode(id="WELCOME10", coupon_id="WELCOME", expires_at=promo_until)]
    return coupons, codes


@dataclass(frozen=True, slots=True)
class Market:
    """Where customers come from: country, currency, locale, time zone, company suffixes, share."""

    country: str
    currency: str
    locale: str
    timezone: str
    city: str
    suffixes: tuple[str, ...]
    weight: int


#: The markets, with their share (``weight``) of sign-ups.
MARKETS = (
    Market("US", "USD", "en_US", "America/New_York", "New York", ("Inc.", "LLC"), 22),
    Market("US", "USD", "en_US", "America/Los_Angeles", "San Francisco", ("Inc.", "Labs"), 12),
    Market("GB", "GBP", "en_GB", "Europe/London", "London", ("Ltd",), 15),
    Market("DE", "EUR", "de_DE", "Europe/Berlin", "Berlin", ("GmbH", "AG"), 14),
    Market("FR", "EUR", "fr_FR", "Europe/Paris", "Paris", ("SAS", "SARL"), 10),
    Market("ES", "EUR", "es_ES", "Europe/Madrid", "Madrid", ("S.L.",), 6),
    Market("NL", "EUR", "nl_NL", "Europe/Amsterdam", "Amsterdam", ("B.V.",), 5),
    Market("IE", "EUR", "en_IE", "Europe/Dublin", "Dublin", ("Ltd",), 4),
    Market("JP", "JPY", "ja_JP", "Asia/Tokyo", "Tokyo", ("K.K.",), 12),
    Market("CA", "USD", "en_CA", "America/Toronto", "Toronto", ("Inc.", "Ltd."), 5),
)
_FIRST = (
    "Blue", "Bright", "Cedar", "Copper", "Delta", "Fable", "Granite", "Harbor", "Iris", "Juniper",
    "Kite", "Lumen", "Maple", "Nimbus", "Orbit", "Pine", "Quartz", "River", "Summit", "Tidal",
)  # fmt: skip
_SECOND = (
    "Analytics", "Bakery", "Studio", "Robotics", "Logistics", "Health", "Media", "Foods",
    "Systems", "Design", "Ventures", "Works", "Energy", "Travel", "Learning", "Security",
)  # fmt: skip
#: The one-off onboarding workshop's price per currency.
ONBOARDING_FEE = {"USD": "300", "EUR": "280", "GBP": "240", "JPY": "45000"}


def _weighted(rng: random.Random, markets: Sequence[Market]) -> Market:
    roll = rng.randrange(sum(m.weight for m in markets))
    for m in markets:
        if roll < m.weight:
            return m
        roll -= m.weight
    raise AssertionError("unreachable")  # pragma: no cover


def pick_company(rng: random.Random) -> tuple[Market, str]:
    """A new customer: its market (by weight) and a made-up company name (``Cedar Studio GmbH``)."""
    market = _weighted(rng, MARKETS)
    return market, f"{rng.choice(_FIRST)} {rng.choice(_SECOND)} {rng.choice(market.suffixes)}"
