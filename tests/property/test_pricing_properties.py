"""Property tests for subkit.catalog.pricing (hypothesis)."""

from __future__ import annotations

import decimal
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from subkit.catalog.pricing import Graduated, Package, Percentage, PerUnit, Tier, Volume

SETTINGS = settings(max_examples=200, deadline=None)

# Quantities 0..100000 with up to 3 decimals; prices 0..100 with up to 4 decimals.
quantities = st.integers(0, 10**8).map(lambda n: Decimal(n).scaleb(-3))
prices = st.integers(0, 10**6).map(lambda n: Decimal(n).scaleb(-4))
positive = st.integers(1, 10**6).map(lambda n: Decimal(n).scaleb(-2))


@contextmanager
def exact() -> Iterator[None]:
    """The reference math in these tests must itself be exact: trap any rounding."""
    with decimal.localcontext() as ctx:
        ctx.prec = 200
        ctx.traps[decimal.Inexact] = True
        yield


@st.composite
def tier_sets(draw: st.DrawFn) -> tuple[Tier, ...]:
    bounds = sorted(draw(st.sets(st.integers(1, 10**7), max_size=5)))
    ups: list[Decimal | None] = [Decimal(b).scaleb(-2) for b in bounds]
    ups.append(None)
    return tuple(Tier(up_to=u, unit_amount=draw(prices), flat_amount=draw(prices)) for u in ups)


def graduated_reference(tiers: tuple[Tier, ...], q: Decimal) -> Decimal:
    """Sum over tiers of (units of q inside the tier) * rate, plus the flat price of every tier q enters."""
    total = Decimal(0)
    lower = Decimal(0)
    with exact():
        for tier in tiers:
            upper = q if tier.up_to is None else tier.up_to
            in_tier = max(Decimal(0), min(q, upper) - lower)
            total += in_tier * tier.unit_amount
            if q > lower:
                total += tier.flat_amount
            lower = upper
    return total


@SETTINGS
@given(tier_sets(), quantities, quantities)
def test_graduated_is_monotone(tiers: tuple[Tier, ...], a: Decimal, b: Decimal) -> None:
    model = Graduated(tiers=tiers)
    low, high = min(a, b), max(a, b)
    assert model.amount(low) <= model.amount(high)


@SETTINGS
@given(tier_sets(), quantities)
def test_graduated_equals_sum_over_tiers(tiers: tuple[Tier, ...], q: Decimal) -> None:
    assert Graduated(tiers=tiers).amount(q) == graduated_reference(tiers, q)


@SETTINGS
@given(tier_sets())
def test_graduated_at_tier_edges(tiers: tuple[Tier, ...]) -> None:
    model = Graduated(tiers=tiers)
    for tier in tiers:
        if tier.up_to is not None:
            assert model.amount(tier.up_to) == graduated_reference(tiers, tier.up_to)


@SETTINGS
@given(prices, quantities)
def test_volume_single_tier_is_per_unit(price: Decimal, q: Decimal) -> None:
    volume = Volume(tiers=(Tier(up_to=None, unit_amount=price),))
    assert volume.amount(q) == PerUnit(unit_amount=price).amount(q)


@SETTINGS
@given(tier_sets(), quantities)
def test_volume_uses_one_tier_rate(tiers: tuple[Tier, ...], q: Decimal) -> None:
    result = Volume(tiers=tiers).amount(q)
    if q == 0:
        assert result == 0
    else:
        with exact():
            assert result in {q * t.unit_amount + t.flat_amount for t in tiers}


@SETTINGS
@given(positive, prices, quantities, quantities, st.sampled_from(["up", "down"]))
def test_package_is_whole_packages(
    size: Decimal, price: Decimal, free: Decimal, q: Decimal, rounding: str
) -> None:
    model = Package(package_size=size, package_amount=price, free_units=free, rounding=rounding)
    result = model.amount(q)
    billable = max(Decimal(0), q - free)
    with exact():
        if price == 0:
            assert result == 0
            return
        packages = result / price
        assert packages == packages.to_integral_value()  # a multiple of package_amount
        if rounding == "up":
            assert (packages - 1) * size < billable <= packages * size or (packages == 0 and billable == 0)
        else:
            assert packages * size <= billable < (packages + 1) * size


@SETTINGS
@given(
    st.integers(0, 10**5).map(lambda n: Decimal(n).scaleb(-3)),
    prices,
    prices,
    prices,
    st.lists(quantities, max_size=10),
)
def test_percentage_per_transaction_bounds(
    rate: Decimal, fee: Decimal, a: Decimal, b: Decimal, amounts: list[Decimal]
) -> None:
    low, high = min(a, b), max(a, b)
    model = Percentage(rate=rate, fixed_fee=fee, min_per_transaction=low, max_per_transaction=high)
    result = model.amount_for_transactions(amounts)
    n = len(amounts)
    with exact():
        assert n * low <= result <= n * high


@SETTINGS
@given(prices, prices, prices, quantities)
def test_period_bounds_hold(price: Decimal, a: Decimal, b: Decimal, q: Decimal) -> None:
    low, high = min(a, b), max(a, b)
    assert low <= PerUnit(unit_amount=price, minimum=low, maximum=high).amount(q) <= high
