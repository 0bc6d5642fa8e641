"""Pricing N quantities with graduated and volume tiers: subkit's models vs a bare loop.

Tiers (the reference tiers of docs/pricing.md, with a flat fee on the second tier):
units 1-5 at 7.00, 6-10 at 6.50 plus 5.00 flat, 11 and up at 6.00.
Quantities: N deterministic pseudo-random integers in [0, 200] as ``Decimal``.

subkit: ``Graduated(tiers).amount(q)`` / ``Volume(tiers).amount(q)`` for each quantity.
Baseline: the same arithmetic on a tuple of ``(up_to, unit, flat)`` Decimals in a plain
loop. Both lists are checked equal. Time should grow linearly with N (constant
items/s from 1k to 1M).
"""

from __future__ import annotations

import random
from decimal import Decimal

from bench import Row, timed
from subkit.catalog.pricing import Graduated, Tier, Volume

__all__ = ["MAX_SIZE", "run"]

MAX_SIZE = 2_000_000

_TIERS = (
    (Decimal(5), Decimal("7.00"), Decimal(0)),
    (Decimal(10), Decimal("6.50"), Decimal("5.00")),
    (None, Decimal("6.00"), Decimal(0)),
)
_MODEL_TIERS = tuple(Tier(up_to=u, unit_amount=p, flat_amount=f) for u, p, f in _TIERS)
GRADUATED = Graduated(tiers=_MODEL_TIERS)
VOLUME = Volume(tiers=_MODEL_TIERS)
_ZERO = Decimal(0)


def quantities(n: int, seed: int = 11) -> list[Decimal]:
    """``n`` quantities in [0, 200], deterministic."""
    rnd = random.Random(seed)
    return [Decimal(rnd.randint(0, 200)) for _ in range(n)]


def bare_graduated(qs: list[Decimal]) -> list[Decimal]:
    out = []
    for q in qs:
        total = _ZERO
        lower = _ZERO
        for up_to, unit, flat in _TIERS:
            if q <= lower:
                break
            top = q if up_to is None or q < up_to else up_to
            total += (top - lower) * unit + flat
            if up_to is None:
                break
            lower = up_to
        out.append(total)
    return out


def bare_volume(qs: list[Decimal]) -> list[Decimal]:
    out = []
    for q in qs:
        total = _ZERO
        if q > 0:
            for up_to, unit, flat in _TIERS:
                if up_to is None or q <= up_to:
                    total = q * unit + flat
                    break
        out.append(total)
    return out


def run(size: int) -> list[Row]:
    """Price ``size`` quantities with each model, subkit and baseline."""
    qs = quantities(size)
    rows = []
    for name, model, bare in (
        ("pricing.graduated", GRADUATED, bare_graduated),
        ("pricing.volume", VOLUME, bare_volume),
    ):
        amount = model.amount
        lib, lib_s = timed(lambda amount=amount: [amount(q) for q in qs])  # type: ignore[misc]
        base, base_s = timed(lambda bare=bare: bare(qs))  # type: ignore[misc]
        if lib != base:
            raise RuntimeError(f"{name}: subkit and the baseline disagree")
        rows.append(Row(name, size, size, lib_s, base_s))
    return rows
