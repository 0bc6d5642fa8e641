"""The payment gateway contract: exact charges, idempotency keys as Stripe has them, capped refunds.

Example:
    >>> "test_a_reused_key_with_another_amount_is_refused" in dir(GatewayContract)
    True
"""

from __future__ import annotations

import uuid

import pytest

from subkit.errors import DuplicateError
from subkit.payment.results import PaymentStatus
from subkit.ports import PaymentGateway

__all__ = ["GatewayContract"]


class GatewayContract:
    """Behaviour every :class:`subkit.ports.PaymentGateway` must have.

    Provide a ``gateway`` fixture and a ``good_token`` fixture (a payment method token the
    gateway charges successfully: a test card in a real provider's test mode)::

        class TestMyGateway(GatewayContract):
            @pytest.fixture
            def gateway(self): return MyStripeGateway(api_key=TEST_KEY)

            @pytest.fixture
            def good_token(self): return "pm_card_visa"

    An idempotency key names one request: the same key with the same parameters replays
    the first result (nothing is charged twice); the same key with other parameters
    (amount, currency, token; a refund's payment or amount) is refused with
    :class:`~subkit.errors.DuplicateError`, as Stripe answers ``idempotency_error``.
    """

    @pytest.fixture
    def gateway(self) -> PaymentGateway:  # pragma: no cover - overridden
        raise NotImplementedError("provide a `gateway` fixture")

    @pytest.fixture
    def good_token(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError("provide a `good_token` fixture")

    def _key(self) -> str:
        return f"contract:{uuid.uuid4().hex}"

    def test_charge_succeeds_with_exact_amount(self, gateway: PaymentGateway, good_token: str) -> None:
        r = gateway.charge(1234, "USD", good_token, self._key(), {"invoice_id": "in_contract"})
        assert r.status == PaymentStatus.SUCCEEDED
        assert (r.amount_minor, r.currency) == (1234, "USD")
        assert r.payment_id

    def test_same_idempotency_key_returns_the_same_payment(
        self, gateway: PaymentGateway, good_token: str
    ) -> None:
        key = self._key()
        first = gateway.charge(500, "EUR", good_token, key, {})
        again = gateway.charge(500, "EUR", good_token, key, {})
        assert again.payment_id == first.payment_id and again.status == first.status
        assert again.amount_minor == first.amount_minor == 500

    def test_different_keys_are_different_payments(self, gateway: PaymentGateway, good_token: str) -> None:
        a = gateway.charge(700, "USD", good_token, self._key(), {})
        b = gateway.charge(700, "USD", good_token, self._key(), {})
        assert a.payment_id != b.payment_id

    def test_a_reused_key_with_another_amount_is_refused(
        self, gateway: PaymentGateway, good_token: str
    ) -> None:
        key = self._key()
        first = gateway.charge(500, "EUR", good_token, key, {})
        with pytest.raises(DuplicateError) as err:
            gateway.charge(600, "EUR", good_token, key, {})
        assert "idempotency" in str(err.value).lower()
        again = gateway.charge(500, "EUR", good_token, key, {})  # the original still replays
        assert again.payment_id == first.payment_id

    def test_a_reused_key_with_another_currency_is_refused(
        self, gateway: PaymentGateway, good_token: str
    ) -> None:
        key = self._key()
        gateway.charge(500, "EUR", good_token, key, {})
        with pytest.raises(DuplicateError):
            gateway.charge(500, "USD", good_token, key, {})

    def test_a_reused_key_with_another_token_is_refused(
        self, gateway: PaymentGateway, good_token: str
    ) -> None:
        key = self._key()
        gateway.charge(500, "EUR", good_token, key, {})
        with pytest.raises(DuplicateError):
            gateway.charge(500, "EUR", good_token + "_other", key, {})

    def test_retrieve_reports_the_payment(self, gateway: PaymentGateway, good_token: str) -> None:
        r = gateway.charge(900, "USD", good_token, self._key(), {})
        assert r.payment_id is not None
        got = gateway.retrieve(r.payment_id)
        assert (got.payment_id, got.status, got.amount_minor) == (r.payment_id, r.status, 900)

    def test_partial_then_full_refund_never_exceeds_the_charge(
        self, gateway: PaymentGateway, good_token: str
    ) -> None:
        r = gateway.charge(1000, "USD", good_token, self._key(), {})
        assert r.payment_id is not None
        key = self._key()
        part = gateway.refund(r.payment_id, 300, key)
        assert part.status == PaymentStatus.SUCCEEDED and part.amount_minor == 300
        assert (
            gateway.refund(r.payment_id, 300, key).payment_id == part.payment_id
        )  # replayed, not refunded twice
        rest = gateway.refund(r.payment_id, 700, self._key())
        assert rest.status == PaymentStatus.SUCCEEDED
        too_much = gateway.refund(r.payment_id, 1, self._key())
        assert too_much.status != PaymentStatus.SUCCEEDED

    def test_a_reused_refund_key_with_another_amount_is_refused(
        self, gateway: PaymentGateway, good_token: str
    ) -> None:
        r = gateway.charge(1000, "USD", good_token, self._key(), {})
        assert r.payment_id is not None
        key = self._key()
        gateway.refund(r.payment_id, 300, key)
        with pytest.raises(DuplicateError):
            gateway.refund(r.payment_id, 400, key)
