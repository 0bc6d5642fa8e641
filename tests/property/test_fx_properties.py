"""Conversion through the euro equals exact rational arithmetic rounded once (half up)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

from hypothesis import example, given, settings
from hypothesis import strategies as st

from subkit.core.money import minor_units
from subkit.fx import StaticRateProvider, fx_gain_loss

CODES = ["EUR", "USD", "JPY", "KWD", "GBP", "IQD", "CHF"]
# ECB-like quotes: up to 6 significant digits, 4 to 5 decimals
RATE = st.integers(min_value=1, max_value=9_999_999).map(lambda n: Decimal(n).scaleb(-4))


def _half_up(x: Fraction) -> int:
    """Round half away from zero, exactly."""
    n = abs(x)
    q, r = divmod(n.numerator, n.denominator)
    if 2 * r >= n.denominator:
        q += 1
    return q if x >= 0 else -q


@settings(max_examples=400)
@given(
    minor=st.integers(min_value=-(10**12), max_value=10**12),
    base=st.sampled_from(CODES),
    quote=st.sampled_from(CODES),
    per_eur=st.fixed_dictionaries({c: RATE for c in CODES if c != "EUR"}),
)
# 54.25 USD x 163.73 / 1.0850 = 8 186.5 JPY exactly: a half, though the cross rate does not terminate
@example(
    minor=5425,
    base="USD",
    quote="JPY",
    per_eur={c: Decimal("1.0850") if c == "USD" else Decimal("163.73") for c in CODES if c != "EUR"},
)
def test_triangulated_conversion_is_exact_then_rounded_once(
    minor: int, base: str, quote: str, per_eur: dict[str, Decimal]
) -> None:
    rate = StaticRateProvider(per_eur).rate(base, quote, date(2027, 1, 4))
    table = {**per_eur, "EUR": Decimal(1)}
    # minor / 10^db x (q / b) x 10^dq, in exact rationals
    exact = (
        Fraction(minor, 10 ** minor_units(base))
        * Fraction(table[quote])
        / Fraction(table[base])
        * 10 ** minor_units(quote)
    )
    assert rate.convert_minor(minor) == _half_up(exact)
    assert rate.convert_minor(-minor) == -rate.convert_minor(minor)


@settings(max_examples=200)
@given(
    minor=st.integers(min_value=-(10**10), max_value=10**10),
    booked=RATE,
    settled=RATE,
)
def test_a_gain_and_the_reverse_loss_cancel(minor: int, booked: Decimal, settled: Decimal) -> None:
    gain = fx_gain_loss(minor, "USD", "EUR", booked_rate=booked, settled_rate=settled)
    assert gain == -fx_gain_loss(minor, "USD", "EUR", booked_rate=settled, settled_rate=booked)
    assert (gain > 0) <= ((settled > booked) == (minor > 0))  # a gain needs the rate to move our way
