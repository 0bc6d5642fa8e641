"""Issue 10: ``subkit.money`` is the money module at the top level and still the constructor."""

from __future__ import annotations

import importlib
from decimal import Decimal

import subkit


def test_subkit_money_is_the_module_and_the_constructor() -> None:
    module = importlib.import_module("subkit.money")
    assert subkit.money is module  # no longer hidden by the function
    assert subkit.money("10.005", "EUR").amount == Decimal("10.01")  # ROUND_HALF_UP, as before
    from subkit import money
    from subkit.money import allocate, to_minor

    assert money("1", "JPY").amount == Decimal(1)
    assert to_minor(money("12.34", "USD")) == 1234
    assert [p.amount for p in allocate(money("0.05", "USD"), [30, 70])] == [Decimal("0.02"), Decimal("0.03")]
    assert "money" in subkit.__all__ and "IdempotencyError" in subkit.__all__
