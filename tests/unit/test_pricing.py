"""Unit tests for subkit.catalog.pricing: every figure below is computed by hand in its comment."""

from __future__ import annotations

import decimal
import json
from decimal import Decimal

import pytest

from subkit.catalog.pricing import (
    FlatFee,
    Graduated,
    Package,
    Percentage,
    PerUnit,
    PricingModel,
    Stairstep,
    Tier,
    Volume,
    parse_pricing,
    price_amount,
)
from subkit.errors import FloatNotAllowedError, PricingError, ValidationError

D = Decimal

# Reference tiers: units 1-5 at 7.00, 6-10 at 6.50, 11 and up at 6.00.
REF_TIERS = (
    Tier(up_to=5, unit_amount="7.00"),
    Tier(up_to=10, unit_amount="6.50"),
    Tier(up_to=None, unit_amount="6.00"),
)

# Tiers with a flat fee each: 1-5 at 7 + 10 flat, 6 and up at 6 + 20 flat.
FLAT_TIERS = (
    Tier(up_to=5, unit_amount=7, flat_amount=10),
    Tier(up_to=None, unit_amount=6, flat_amount=20),
)

# Stairstep: 1-10 users $100, 11-25 users $200, 26 and up $350.
STEPS = (
    Tier(up_to=10, flat_amount=100),
    Tier(up_to=25, flat_amount=200),
    Tier(up_to=None, flat_amount=350),
)


def one_of_each() -> list[PricingModel]:
    return [
        FlatFee(flat_amount="29.00"),
        PerUnit(unit_amount="0.0004", minimum="1.00"),
        Graduated(tiers=REF_TIERS, maximum="500"),
        Volume(tiers=FLAT_TIERS),
        Package(package_size=100, package_amount=5, rounding="down", free_units="12.5"),
        Stairstep(steps=STEPS),
        Percentage(rate="2.9", fixed_fee="0.30", min_per_transaction="0.50", max_per_transaction=5),
    ]


# --- flat fee and per unit -------------------------------------------------------------------


@pytest.mark.parametrize("q", [D(0), D(1), D("2.5"), D(1000)])
def test_flat_fee_ignores_quantity(q: Decimal) -> None:
    assert FlatFee(flat_amount="29.00").amount(q) == D("29.00")


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        (D(0), D(0)),  # 0 * 12.00
        (D(3), D("36.00")),  # 3 * 12.00
        (D("2.5"), D("30.00")),  # 2.5 * 12.00 (fractional quantities are fine)
    ],
)
def test_per_unit(q: Decimal, expected: Decimal) -> None:
    assert PerUnit(unit_amount="12.00").amount(q) == expected


def test_per_unit_keeps_sub_cent_precision_unrounded() -> None:
    # 1234 * 0.0004 = 0.4936: not rounded to 0.49 here, rounding happens at the invoice line.
    result = PerUnit(unit_amount="0.0004").amount(D(1234))
    assert result == D("0.4936")
    assert str(result) == "0.4936"


def test_amount_accepts_int_and_str_quantities() -> None:
    model = PerUnit(unit_amount="1.50")
    assert model.amount(4) == D("6.00")  # 4 * 1.50
    assert model.amount("4") == D("6.00")


# --- graduated -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        (D(0), D(0)),
        (D(1), D("7.00")),  # 1 * 7
        (D(5), D("35.00")),  # 5 * 7 (top edge of tier 1, inclusive)
        (D("5.5"), D("38.25")),  # 5 * 7 + 0.5 * 6.50 = 35 + 3.25
        (D(6), D("41.50")),  # 5 * 7 + 1 * 6.50
        (D(8), D("54.50")),  # 5 * 7 + 3 * 6.50 = 35 + 19.50
        (D(10), D("67.50")),  # 5 * 7 + 5 * 6.50 = 35 + 32.50
        (D(11), D("73.50")),  # 67.50 + 1 * 6.00
        (D(20), D("127.50")),  # 67.50 + 10 * 6.00
    ],
)
def test_graduated_reference(q: Decimal, expected: Decimal) -> None:
    assert Graduated(tiers=REF_TIERS).amount(q) == expected


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        (D(0), D(0)),  # no unit in any tier: no flat fee either
        (D("0.001"), D("10.007")),  # 0.001 * 7 + 10 (flat of tier 1 as soon as any unit is in it)
        (D(3), D(31)),  # 3 * 7 + 10
        (D(5), D(45)),  # 5 * 7 + 10
        (D(6), D(71)),  # 5 * 7 + 10 + 1 * 6 + 20
        (D(10), D(95)),  # 5 * 7 + 10 + 5 * 6 + 20
    ],
)
def test_graduated_flat_fee_per_tier(q: Decimal, expected: Decimal) -> None:
    assert Graduated(tiers=FLAT_TIERS).amount(q) == expected


def test_graduated_single_unbounded_tier() -> None:
    # 7 * 2.25 + 1
    assert Graduated(tiers=(Tier(up_to=None, unit_amount="2.25", flat_amount=1),)).amount(7) == D("16.75")


def test_graduated_fractional_bounds() -> None:
    # tiers (0, 0.5] at 2, (0.5, 1.5] at 1, above at 0: q = 2 -> 0.5 * 2 + 1 * 1 + 0.5 * 0 = 2
    tiers = (Tier(up_to="0.5", unit_amount=2), Tier(up_to="1.5", unit_amount=1), Tier(up_to=None))
    assert Graduated(tiers=tiers).amount(2) == D(2)


# --- volume ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        (D(0), D(0)),  # no tier reached
        (D(1), D("7.00")),  # 1 * 7
        (D(5), D("35.00")),  # 5 * 7
        (D("5.5"), D("35.75")),  # 5.5 * 6.50 (5.5 lies in (5, 10])
        (D(6), D("39.00")),  # 6 * 6.50
        (D(8), D("52.00")),  # 8 * 6.50
        (D(10), D("65.00")),  # 10 * 6.50
        (D(11), D("66.00")),  # 11 * 6.00
        (D(20), D("120.00")),  # 20 * 6.00
    ],
)
def test_volume_reference(q: Decimal, expected: Decimal) -> None:
    assert Volume(tiers=REF_TIERS).amount(q) == expected


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        (D(0), D(0)),  # quantity 0 reaches no tier: not even the first tier's flat fee
        (D(3), D(31)),  # 3 * 7 + 10
        (D(5), D(45)),  # 5 * 7 + 10
        (D(6), D(56)),  # 6 * 6 + 20 (only the reached tier's flat fee)
    ],
)
def test_volume_flat_fee_of_reached_tier(q: Decimal, expected: Decimal) -> None:
    assert Volume(tiers=FLAT_TIERS).amount(q) == expected


# --- package ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "rounding", "expected"),
    [
        (D(0), "up", D(0)),  # 0 packages
        (D(1), "up", D(5)),  # 1 unit starts package 1
        (D(100), "up", D(5)),  # exactly 1 package
        (D(101), "up", D(10)),  # 1.01 -> 2 packages * 5
        (D(150), "up", D(10)),  # 1.5 -> 2 packages * 5 (Lago's example)
        (D(99), "down", D(0)),  # 0.99 -> 0 packages
        (D(150), "down", D(5)),  # 1.5 -> 1 package * 5
        (D(200), "down", D(10)),  # 2 packages * 5
    ],
)
def test_package_rounding(q: Decimal, rounding: str, expected: Decimal) -> None:
    model = parse_pricing(
        {"model": "package", "package_size": 100, "package_amount": 5, "rounding": rounding}
    )
    assert model.amount(q) == expected


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        (D(50), D(0)),  # all free
        (D(100), D(0)),  # exactly the free units
        (D(101), D(5)),  # 1 billable unit -> 1 package
        (D(201), D(10)),  # 101 billable -> 2 packages: Lago's "$0 + $5 + $5 = $10"
    ],
)
def test_package_free_units(q: Decimal, expected: Decimal) -> None:
    assert Package(package_size=100, package_amount=5, free_units=100).amount(q) == expected


def test_package_fractional_size() -> None:
    # 1.2 GB in 0.5 GB packages at 2: 1.2 / 0.5 = 2.4 -> up 3 * 2 = 6, down 2 * 2 = 4
    assert Package(package_size="0.5", package_amount=2).amount(D("1.2")) == D(6)
    assert Package(package_size="0.5", package_amount=2, rounding="down").amount(D("1.2")) == D(4)


def test_package_count_is_exact_for_non_terminating_ratios() -> None:
    # 1 / 3 never terminates in decimal; up -> 1 package, down -> 0 packages.
    assert Package(package_size=3, package_amount=7).amount(1) == D(7)
    assert Package(package_size=3, package_amount=7, rounding="down").amount(1) == D(0)


# --- stairstep -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        (D(0), D(0)),  # no step reached
        (D(1), D(100)),
        (D(10), D(100)),  # top edge of step 1, inclusive
        (D("10.5"), D(200)),
        (D(11), D(200)),
        (D(25), D(200)),
        (D(26), D(350)),
        (D(1000), D(350)),
    ],
)
def test_stairstep(q: Decimal, expected: Decimal) -> None:
    assert Stairstep(steps=STEPS).amount(q) == expected


# --- percentage ------------------------------------------------------------------------------


def test_percentage_rate_and_fixed_fee_per_transaction() -> None:
    model = Percentage(rate="2.9", fixed_fee="0.30")
    # 100.00 * 2.9% + 0.30 = 3.20; 10.00 * 2.9% + 0.30 = 0.59; total 3.79
    assert model.amount_for_transactions([D("100.00"), D("10.00")]) == D("3.79")


def test_percentage_clamps_each_transaction() -> None:
    model = Percentage(rate=1, min_per_transaction="0.50", max_per_transaction="2.00")
    # 10 * 1% = 0.10 -> min 0.50; 100 * 1% = 1.00; 1000 * 1% = 10.00 -> max 2.00; total 3.50
    assert model.amount_for_transactions([D(10), D(100), D(1000)]) == D("3.50")


def test_percentage_clamp_applies_after_fixed_fee() -> None:
    model = Percentage(rate=1, fixed_fee="0.25", min_per_transaction="0.50", max_per_transaction="3")
    # 10 * 1% + 0.25 = 0.35 -> 0.50; 30 * 1% + 0.25 = 0.55; 300 * 1% + 0.25 = 3.25 -> 3; total 4.05
    assert model.amount_for_transactions([D(10), D(30), D(300)]) == D("4.05")


def test_percentage_no_transactions() -> None:
    assert Percentage(rate="2.9", fixed_fee="0.30").amount_for_transactions([]) == D(0)


def test_percentage_amount_is_rate_only() -> None:
    model = Percentage(rate="2.9", fixed_fee="0.30", min_per_transaction=1)
    # amount() sees one aggregated total: 1000 * 2.9% = 29, no fixed fee, no per-transaction minimum
    assert model.amount(1000) == D(29)
    assert model.amount(10) == D("0.29")  # 10 * 2.9%, not raised to the per-transaction minimum 1


def test_percentage_period_minimum_on_transactions() -> None:
    # 100 * 1% = 1.00, raised to the period minimum 5
    assert Percentage(rate=1, minimum=5).amount_for_transactions([D(100)]) == D(5)


def test_percentage_refuses_bad_transactions() -> None:
    model = Percentage(rate=1)
    with pytest.raises(PricingError) as info:
        model.amount_for_transactions([D(-1)])
    assert info.value.field == "amounts"
    with pytest.raises(FloatNotAllowedError):
        model.amount_for_transactions([1.5])  # type: ignore[list-item]


@pytest.mark.parametrize("rate", ["0", "100", "0.001"])
def test_percentage_rate_bounds_accepted(rate: str) -> None:
    Percentage(rate=rate)


@pytest.mark.parametrize("rate", ["-1", "100.01"])
def test_percentage_rate_bounds_refused(rate: str) -> None:
    with pytest.raises(PricingError) as info:
        Percentage(rate=rate)
    assert info.value.field == "rate"


def test_percentage_min_above_max_refused() -> None:
    with pytest.raises(PricingError) as info:
        Percentage(rate=1, min_per_transaction=3, max_per_transaction=2)
    assert info.value.field == "min_per_transaction"


# --- period minimum / maximum ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        (D(0), D(10)),  # 0 -> minimum 10: a minimum commitment is charged even with no usage
        (D(3), D(10)),  # 3 * 2 = 6 -> 10
        (D(5), D(10)),  # 5 * 2 = 10
        (D(7), D(14)),  # 7 * 2 = 14, inside the bounds
        (D(25), D(50)),  # 25 * 2 = 50
        (D(30), D(50)),  # 30 * 2 = 60 -> maximum 50
    ],
)
def test_period_minimum_and_maximum(q: Decimal, expected: Decimal) -> None:
    assert PerUnit(unit_amount=2, minimum=10, maximum=50).amount(q) == expected


def test_period_bounds_on_every_model() -> None:
    assert FlatFee(flat_amount=30, maximum=20).amount(0) == D(20)
    assert Graduated(tiers=REF_TIERS, minimum=40).amount(5) == D(40)  # 35 -> 40
    assert Volume(tiers=REF_TIERS, maximum=60).amount(10) == D(60)  # 65 -> 60
    assert Package(package_size=10, package_amount=1, minimum=3).amount(0) == D(3)  # 0 -> 3
    assert Stairstep(steps=STEPS, minimum=50).amount(0) == D(50)  # 0 -> 50
    assert Percentage(rate=50, maximum=4).amount(10) == D(4)  # 5 -> 4


def test_minimum_equal_to_maximum_is_allowed() -> None:
    assert PerUnit(unit_amount=1, minimum=5, maximum=5).amount(100) == D(5)


@pytest.mark.parametrize("cls_data", [m.model_dump() for m in one_of_each()])
def test_minimum_above_maximum_refused(cls_data: dict[str, object]) -> None:
    with pytest.raises(PricingError) as info:
        parse_pricing({**cls_data, "minimum": "10", "maximum": "9.99"})
    assert info.value.field == "minimum"
    assert info.value.code == "invalid_pricing"


def test_minimum_above_maximum_refused_by_constructor() -> None:
    with pytest.raises(PricingError) as info:
        FlatFee(flat_amount=1, minimum=10, maximum=1)
    assert info.value.field == "minimum"


# --- tier validation -------------------------------------------------------------------------


def _tiers_error(tiers: tuple[Tier, ...]) -> PricingError:
    with pytest.raises(PricingError) as info:
        Graduated(tiers=tiers)
    assert info.value.field == "tiers"
    return info.value


def test_tiers_required() -> None:
    assert "at least one tier" in _tiers_error(()).message


def test_tiers_overlap_equal_bounds() -> None:
    err = _tiers_error((Tier(up_to=5), Tier(up_to=5), Tier(up_to=None)))
    assert "overlap" in err.message


def test_tiers_overlap_decreasing_bounds() -> None:
    err = _tiers_error((Tier(up_to=10), Tier(up_to=5), Tier(up_to=None)))
    assert "overlap" in err.message


def test_tiers_gap_above_top() -> None:
    err = _tiers_error((Tier(up_to=5), Tier(up_to=10)))
    assert "gapped tiers" in err.message


def test_tiers_unbounded_only_last() -> None:
    err = _tiers_error((Tier(up_to=None), Tier(up_to=10)))
    assert "only the last tier" in err.message


def test_tier_validation_shared_by_volume_and_stairstep() -> None:
    with pytest.raises(PricingError) as info:
        Volume(tiers=(Tier(up_to=5), Tier(up_to=4), Tier(up_to=None)))
    assert info.value.field == "tiers"
    with pytest.raises(PricingError) as info:
        Stairstep(steps=(Tier(up_to=5, flat_amount=1),))
    assert info.value.field == "steps"
    assert "gapped tiers" in info.value.message


def test_stairstep_refuses_unit_price() -> None:
    with pytest.raises(PricingError) as info:
        Stairstep(steps=(Tier(up_to=None, unit_amount=1, flat_amount=1),))
    assert info.value.field == "steps"


@pytest.mark.parametrize("field", ["unit_amount", "flat_amount"])
def test_tier_negative_price(field: str) -> None:
    with pytest.raises(PricingError) as info:
        Tier(up_to=None, **{field: "-0.01"})
    assert info.value.field == field


def test_tier_negative_price_inside_model_names_tiers() -> None:
    data = {"model": "graduated", "tiers": [{"up_to": 5, "unit_amount": "-1"}, {"up_to": None}]}
    with pytest.raises(PricingError) as info:
        parse_pricing(data)
    assert info.value.field is not None
    assert info.value.field.startswith("tiers")


@pytest.mark.parametrize("up_to", [0, "-5"])
def test_tier_bound_must_be_positive(up_to: object) -> None:
    with pytest.raises(PricingError) as info:
        Tier(up_to=up_to)
    assert info.value.field == "up_to"


# --- other validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"model": "flat", "flat_amount": "-1"}, "flat_amount"),
        ({"model": "per_unit", "unit_amount": "-0.0001"}, "unit_amount"),
        ({"model": "package", "package_size": 0, "package_amount": 1}, "package_size"),
        ({"model": "package", "package_size": 10, "package_amount": -1}, "package_amount"),
        ({"model": "package", "package_size": 10, "package_amount": 1, "free_units": -1}, "free_units"),
        ({"model": "package", "package_size": 10, "package_amount": 1, "rounding": "nearest"}, "rounding"),
        ({"model": "percentage", "rate": 1, "fixed_fee": "-0.30"}, "fixed_fee"),
        ({"model": "flat", "flat_amount": 1, "minimum": -1}, "minimum"),
        ({"model": "flat", "flat_amount": 1, "surprise": 1}, "surprise"),
    ],
)
def test_invalid_fields(data: dict[str, object], field: str) -> None:
    with pytest.raises(PricingError) as info:
        parse_pricing(data)
    assert info.value.field == field


@pytest.mark.parametrize(
    "data",
    [
        {"model": "flat", "flat_amount": 9.99},
        {"model": "per_unit", "unit_amount": 0.1},
        {"model": "graduated", "tiers": [{"up_to": None, "unit_amount": 1.5}]},
    ],
)
def test_float_prices_refused(data: dict[str, object]) -> None:
    with pytest.raises(FloatNotAllowedError):
        parse_pricing(data)


def test_float_price_refused_by_constructor() -> None:
    with pytest.raises(FloatNotAllowedError) as info:
        FlatFee(flat_amount=9.99)
    assert info.value.field == "flat_amount"


@pytest.mark.parametrize("model", one_of_each())
def test_float_quantity_refused(model: PricingModel) -> None:
    with pytest.raises(FloatNotAllowedError) as info:
        model.amount(1.5)  # type: ignore[arg-type]
    assert info.value.field == "quantity"
    with pytest.raises(FloatNotAllowedError):
        price_amount(model, 1.5)


@pytest.mark.parametrize("model", one_of_each())
def test_negative_quantity_refused(model: PricingModel) -> None:
    with pytest.raises(PricingError) as info:
        model.amount(D("-0.001"))
    assert info.value.field == "quantity"


@pytest.mark.parametrize("quantity", ["NaN", D("Infinity"), "ten", None, True])
def test_non_numeric_quantity_refused(quantity: object) -> None:
    with pytest.raises(ValidationError):
        price_amount(FlatFee(flat_amount=1), quantity)


@pytest.mark.parametrize("data", [{"model": "tiered_magic", "price": 1}, {"price": 1}])
def test_unknown_or_missing_model_refused(data: dict[str, object]) -> None:
    with pytest.raises(PricingError) as info:
        parse_pricing(data)
    assert info.value.field == "model"


def test_parse_pricing_refuses_non_mapping() -> None:
    with pytest.raises(PricingError):
        parse_pricing("flat")


def test_pricing_errors_are_value_errors() -> None:
    with pytest.raises(ValueError):
        parse_pricing({"model": "flat", "flat_amount": "-1"})


def test_discriminator_cannot_lie() -> None:
    with pytest.raises(PricingError) as info:
        FlatFee(flat_amount=1, model="per_unit")
    assert info.value.field == "model"


# --- serialization ---------------------------------------------------------------------------


@pytest.mark.parametrize("model", one_of_each())
def test_json_round_trip(model: PricingModel) -> None:
    data = json.loads(model.model_dump_json())
    assert parse_pricing(data) == model
    assert type(parse_pricing(data)) is type(model)


def test_json_holds_no_floats() -> None:
    data = json.loads(PerUnit(unit_amount="0.0004", minimum="1.10").model_dump_json())
    assert data == {"model": "per_unit", "unit_amount": "0.0004", "minimum": "1.10", "maximum": None}


def test_parse_pricing_returns_the_right_model() -> None:
    model = parse_pricing({"model": "volume", "tiers": [{"up_to": "5", "unit_amount": "7"}, {"up_to": None}]})
    assert isinstance(model, Volume)
    assert model.tiers[0].up_to == D(5)


def test_price_amount_dispatches() -> None:
    assert price_amount(Graduated(tiers=REF_TIERS), "8") == D("54.50")  # 5 * 7 + 3 * 6.50
    assert price_amount(Volume(tiers=REF_TIERS), 8) == D("52.00")  # 8 * 6.50


# --- decimal context isolation ---------------------------------------------------------------


def test_ambient_decimal_context_does_not_change_results() -> None:
    with decimal.localcontext() as ctx:
        ctx.prec = 3
        ctx.rounding = decimal.ROUND_DOWN
        ctx.traps[decimal.Inexact] = True
        ctx.traps[decimal.Rounded] = True
        # 123456789 * 0.0004 = 49382.7156 (9 significant digits, more than prec 3)
        assert PerUnit(unit_amount="0.0004").amount(D(123456789)) == D("49382.7156")
        # 5 * 7 + 5 * 6.50 + 999991 * 6.00 = 67.50 + 5999946 = 6000013.50
        assert Graduated(tiers=REF_TIERS).amount(D(1000001)) == D("6000013.50")
        assert Volume(tiers=REF_TIERS).amount(D(8)) == D("52.00")  # 8 * 6.50
        # 123457 / 100 = 1234.57 -> 1235 packages * 1.25 = 1543.75
        assert Package(package_size=100, package_amount="1.25").amount(D(123457)) == D("1543.75")
        # 123456.78 * 2.9% + 0.30 = 3580.24662 + 0.30 = 3580.54662
        model = Percentage(rate="2.9", fixed_fee="0.30")
        assert model.amount_for_transactions([D("123456.78")]) == D("3580.54662")
        assert Stairstep(steps=STEPS, minimum="123.456").amount(0) == D("123.456")
