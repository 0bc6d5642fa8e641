"""Currency conversion with rates locked on the invoice.

:mod:`~subkit.fx.rates` holds the locked-rate value, cross rates through the euro and the
static provider; :mod:`~subkit.fx.reporting` values documents in the reporting currency at
their locked rate and computes realized FX gains and losses. Pure: no I/O, no clock.

Example:
    >>> from datetime import date
    >>> StaticRateProvider({"KWD": "0.3345"}).rate("EUR", "KWD", date(2027, 1, 4)).convert_minor(1000)
    3345
"""

from subkit.fx.rates import EUR, ExchangeRate, StaticRateProvider, convert_minor, cross_rate
from subkit.fx.reporting import fx_gain_loss, reporting_minor

__all__ = [
    "EUR",
    "ExchangeRate",
    "StaticRateProvider",
    "convert_minor",
    "cross_rate",
    "fx_gain_loss",
    "reporting_minor",
]
