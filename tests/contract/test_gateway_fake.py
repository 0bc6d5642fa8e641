import pytest

from subkit.testing.contracts import GatewayContract
from subkit.testing.gateway import FakeGateway


class TestFakeGateway(GatewayContract):
    @pytest.fixture
    def gateway(self) -> FakeGateway:
        return FakeGateway()

    @pytest.fixture
    def good_token(self) -> str:
        return "tok_visa"
