"""Currency: exact conversion through the euro, and what locking rates adds to a billing run.

``fx.convert``: N amounts in USD cents converted to yen through the euro (EUR 1 = USD 1.0850
= JPY 163.73) with ``ExchangeRate.convert_minor``; baseline: ``cents x 163.73 / (1.0850 x 100)``
in one 50-digit ``Decimal`` expression, rounded half up (both lists are checked equal).

``fx.advance.same`` and ``fx.advance.locked``: the billing benchmark's book (USD
subscriptions) advanced over February with ``BillingConfig(reporting_currency=...)``: USD
(every invoice already in the reporting currency: the no-conversion path) and EUR (every
invoice locks a rate from a ``StaticRateProvider``). Baseline: the same book advanced with no
reporting currency, in the same process. The ratio is the cost of the feature (1.0x = none).
"""

from __future__ import annotations

import decimal
import random
from datetime import date
from decimal import Decimal

from bench import Row, timed
from bench.bench_billing import UNTIL, make_specs, setup_engine
from subkit.fx import StaticRateProvider
from subkit.services.engine import BillingConfig

__all__ = ["MAX_SIZE", "run"]

MAX_SIZE = 200_000

_RATES = StaticRateProvider({"USD": "1.0850", "JPY": "163.73"}, on=date(2027, 1, 1))
_CTX = decimal.Context(prec=50, rounding=decimal.ROUND_HALF_UP)


def _bare(cents: list[int]) -> list[int]:
    q, b, one = Decimal("163.73"), Decimal("108.50"), Decimal(1)
    return [int(_CTX.divide(_CTX.multiply(Decimal(c), q), b).quantize(one, context=_CTX)) for c in cents]


def _advance(size: int, config: BillingConfig | None) -> tuple[int, float]:
    engine = setup_engine(make_specs(size))
    if config is not None:
        engine.config = config
    report, seconds = timed(lambda: engine.advance(UNTIL))
    return report.invoices, seconds


def run(size: int) -> list[Row]:
    """Convert ``size`` amounts; advance ``size`` subscriptions with and without a reporting currency."""
    rnd = random.Random(5)
    cents = [rnd.randrange(-(10**9), 10**9) for _ in range(size)]
    rate = _RATES.rate("USD", "JPY", date(2027, 1, 4))
    convert = rate.convert_minor
    lib, lib_s = timed(lambda: [convert(c) for c in cents])
    base, base_s = timed(lambda: _bare(cents))
    if lib != base:
        raise RuntimeError("fx.convert: subkit and the exact baseline disagree")
    rows = [Row("fx.convert", size, size, lib_s, base_s)]
    configs: dict[str, BillingConfig | None] = {
        "plain": None,
        "fx.advance.same": BillingConfig(reporting_currency="USD", exchange_rates=_RATES),
        "fx.advance.locked": BillingConfig(reporting_currency="EUR", exchange_rates=_RATES),
    }
    best: dict[str, float] = {}
    counts: dict[str, int] = {}
    for _ in range(2):  # interleaved, best of two: the order of runs in a process weighs otherwise
        for name, cfg in configs.items():
            counts[name], seconds = _advance(size, cfg)
            best[name] = min(best.get(name, seconds), seconds)
    for name in ("fx.advance.same", "fx.advance.locked"):
        if counts[name] != counts["plain"]:
            raise RuntimeError(
                f"{name}: {counts[name]} invoices, {counts['plain']} without a reporting currency"
            )
        note = "baseline: no reporting currency (best of 2, interleaved)"
        rows.append(Row(name, size, counts[name], best[name], best["plain"], note=note))
    return rows
