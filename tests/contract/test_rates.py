"""The exchange-rate contract on the static provider and on the ECB provider."""

from datetime import date

import pytest

from subkit.fx import StaticRateProvider
from subkit.testing.contracts import ExchangeRateProviderContract


class TestStaticRateProvider(ExchangeRateProviderContract):
    @pytest.fixture
    def rates(self) -> StaticRateProvider:
        return StaticRateProvider.history(
            {
                date(2027, 1, 8): {"USD": "1.0850", "JPY": "163.73"},
                date(2027, 1, 11): {"USD": "1.1", "JPY": "160"},
            }
        )

    @pytest.fixture
    def published_day(self) -> date:
        return date(2027, 1, 8)

    @pytest.fixture
    def closed_day(self) -> date:
        return date(2027, 1, 10)


@pytest.fixture(scope="module")
def ecb() -> object:
    pytest.importorskip("currency_converter", reason="the ECB provider needs the optional extra 'fx'")
    from subkit.adapters.ecb_rates import EcbRateProvider

    return EcbRateProvider()


class TestEcbRateProvider(ExchangeRateProviderContract):
    @pytest.fixture
    def rates(self, ecb: object) -> object:
        return ecb

    @pytest.fixture
    def published_day(self) -> date:
        return date(2025, 4, 17)  # Thursday before Good Friday

    @pytest.fixture
    def closed_day(self) -> date:
        return date(2025, 4, 21)  # Easter Monday
