"""The contract of an :class:`~subkit.ports.ExchangeRateProvider`, as pytest tests.

Subclass and give three fixtures: ``rates`` (the provider), ``published_day`` (a day it
has rates for USD and JPY) and ``closed_day`` (a later day with no publication, such as a
Saturday). Example::

    class TestMyRates(ExchangeRateProviderContract):
        @pytest.fixture
        def rates(self): return MyRates(...)
        @pytest.fixture
        def published_day(self): return date(2025, 5, 9)    # a Friday
        @pytest.fixture
        def closed_day(self): return date(2025, 5, 10)      # the Saturday after
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from subkit.core.money import CONTEXT
from subkit.errors import ExchangeRateNotFoundError
from subkit.fx.rates import ExchangeRate
from subkit.ports import ExchangeRateProvider

__all__ = ["ExchangeRateProviderContract"]

_CLOSE = Decimal("1e-30")


class ExchangeRateProviderContract:
    """Rates dated the day they were published, consistent both ways and through the euro."""

    @pytest.fixture
    def rates(self) -> ExchangeRateProvider:  # pragma: no cover - overridden
        raise NotImplementedError("provide a `rates` fixture returning the provider")

    @pytest.fixture
    def published_day(self) -> date:  # pragma: no cover - overridden
        raise NotImplementedError("provide a day the provider has USD and JPY rates for")

    @pytest.fixture
    def closed_day(self) -> date:  # pragma: no cover - overridden
        raise NotImplementedError("provide a later day with no publication (a weekend)")

    def test_a_rate_is_an_exchange_rate_of_the_day_asked(
        self, rates: ExchangeRateProvider, published_day: date
    ) -> None:
        r = rates.rate("EUR", "USD", published_day)
        assert isinstance(r, ExchangeRate) and isinstance(r.rate, Decimal)
        assert (r.base, r.quote, r.date) == ("EUR", "USD", published_day)
        assert r.rate > 0 and r.source

    def test_a_currency_against_itself_is_one(self, rates: ExchangeRateProvider, published_day: date) -> None:
        assert rates.rate("USD", "USD", published_day).rate == 1

    def test_both_ways_agree(self, rates: ExchangeRateProvider, published_day: date) -> None:
        there = rates.rate("USD", "JPY", published_day).rate
        back = rates.rate("JPY", "USD", published_day).rate
        assert abs(CONTEXT.multiply(there, back) - 1) < _CLOSE

    def test_a_cross_rate_goes_through_the_euro(
        self, rates: ExchangeRateProvider, published_day: date
    ) -> None:
        cross = rates.rate("USD", "JPY", published_day).rate
        usd, jpy = rates.rate("EUR", "USD", published_day).rate, rates.rate("EUR", "JPY", published_day).rate
        assert abs(CONTEXT.divide(CONTEXT.multiply(cross, usd), jpy) - 1) < _CLOSE

    def test_a_closed_day_takes_the_last_published_rate(
        self, rates: ExchangeRateProvider, published_day: date, closed_day: date
    ) -> None:
        closed = rates.rate("EUR", "USD", closed_day)
        assert published_day <= closed.date < closed_day
        assert closed.rate == rates.rate("EUR", "USD", closed.date).rate

    def test_an_unquoted_currency_is_not_found(
        self, rates: ExchangeRateProvider, published_day: date
    ) -> None:
        with pytest.raises(ExchangeRateNotFoundError):
            rates.rate("XTS", "EUR", published_day)  # ISO 4217's code reserved for testing
