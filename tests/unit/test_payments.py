"""Unit tests for payments, the fake gateway and the dunning policy (figures computed by hand)."""

from __future__ import annotations

import traceback
from datetime import UTC, datetime, timedelta

import pytest

from subkit.errors import (
    DuplicateError,
    GatewayError,
    SensitiveDataError,
    ValidationError,
)
from subkit.payment.dunning import DunningPolicy, StepKind
from subkit.payment.methods import BankTransferDetails, CardDetails, PaymentMethod, PaymentMethodType
from subkit.payment.pci import luhn_valid, reject_card_data
from subkit.payment.results import DeclineCode, PaymentResult, PaymentStatus
from subkit.ports import PaymentGateway
from subkit.subscription.model import SubscriptionStatus
from subkit.testing.gateway import (
    FakeGateway,
    decline,
    fail_after_charge,
    pending,
    succeed,
    timeout,
)

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
VISA = "4242424242424242"  # Luhn: valid (Stripe's test Visa)


def card(**changes: object) -> dict[str, object]:
    return {
        "type": "card",
        "token": "tok_1",
        "brand": "visa",
        "last4": "4242",
        "exp_month": 12,
        "exp_year": 2030,
        **changes,
    }


# --------------------------------------------------------------------------- PCI
class TestLuhn:
    @pytest.mark.parametrize(
        "digits",
        ["4242424242424242", "4111111111111111", "378282246310005", "5555555555554444", "6011111111111117"],
    )
    def test_known_test_cards_pass(self, digits: str) -> None:
        assert luhn_valid(digits)

    @pytest.mark.parametrize("digits", ["4242424242424241", "1234567812345678", "", "42a2"])
    def test_others_fail(self, digits: str) -> None:
        # 1234567812345678: undoubled 8+6+4+2 twice = 40, doubled 7,5,3,1 -> 5,1,6,2 twice = 28;
        # 40 + 28 = 68 is not a multiple of 10
        assert not luhn_valid(digits)


class TestRejectCardData:
    @pytest.mark.parametrize(
        "value",
        [
            VISA,
            "4242 4242 4242 4242",
            "4242-4242-4242-4242",
            "4242  4242  4242  4242",
            "paid with card 4242 4242 4242 4242, thanks",
            "pm:" + VISA,
        ],
    )
    def test_pan_refused_and_masked(self, value: str) -> None:
        with pytest.raises(SensitiveDataError) as err:
            reject_card_data(value, "metadata.note")
        e = err.value
        assert e.code == "sensitive_data"
        assert e.field == "metadata.note"
        assert "************4242" in e.message  # 16 digits: 12 masked, last 4 shown
        assert VISA not in str(e) and "4242 4242" not in str(e) and "4242-4242" not in str(e)
        assert VISA not in "".join(traceback.format_exception(e))

    def test_amex_15_digits_masked_to_last_four(self) -> None:
        with pytest.raises(SensitiveDataError) as err:
            reject_card_data("3782 822463 10005", "ref")
        assert "***********0005" in err.value.message  # 15 digits: 11 masked

    def test_pan_as_int_refused(self) -> None:
        with pytest.raises(SensitiveDataError):
            reject_card_data(int(VISA), "amount")

    @pytest.mark.parametrize(
        "value",
        [
            "4242424242424241",  # fails Luhn
            "424242424242",  # 12 digits: too short for a PAN
            "42424242424242424242",  # 20 digits: too long
            "INV-000042",
            "2027-03-01",
            "DE89 3704 0044 0532 0130 00",  # an IBAN: one 20-digit run, not a card
            "tok_1NxYzAbCdEf",
            "",
        ],
    )
    def test_other_values_pass(self, value: str) -> None:
        reject_card_data(value, "note")

    @pytest.mark.parametrize(
        "name", ["cvv", "cvc", "CVV2", "card_cvc", "security_code", "cardVerificationValue"]
    )
    def test_cvv_fields_refused_whatever_the_value(self, name: str) -> None:
        with pytest.raises(SensitiveDataError) as err:
            reject_card_data("737", f"details.{name}")
        assert "737" not in str(err.value)
        assert err.value.field == f"details.{name}"

    def test_nested_metadata_names_the_path(self) -> None:
        with pytest.raises(SensitiveDataError) as err:
            reject_card_data({"crm": {"notes": ["ok", f"card {VISA}"]}}, "metadata")
        assert err.value.field == "metadata.crm.notes.1"

    def test_pan_in_a_key_refused(self) -> None:
        with pytest.raises(SensitiveDataError):
            reject_card_data({VISA: "x"}, "metadata")


class TestPaymentMethod:
    def test_pan_in_metadata_refused_with_path(self) -> None:
        with pytest.raises(SensitiveDataError) as err:
            PaymentMethod(
                id="pm_1",
                customer_id="cus_1",
                created_at=T0,
                details=card(),
                metadata={"note": "4111 1111 1111 1111"},
            )
        assert err.value.field == "metadata.note"
        assert "4111 1111" not in str(err.value)
        assert err.value.__context__ is None  # pydantic never saw the number

    def test_cvv_in_details_is_sensitive_not_just_an_extra_field(self) -> None:
        with pytest.raises(SensitiveDataError) as err:
            PaymentMethod(id="pm_1", customer_id="cus_1", created_at=T0, details=card(cvc="123"))
        assert err.value.field == "details.cvc"

    def test_pan_as_token_refused(self) -> None:
        with pytest.raises(SensitiveDataError):
            CardDetails(token=VISA, brand="visa", last4="4242", exp_month=1, exp_year=2030)

    def test_pan_refused_on_load_too(self) -> None:
        raw = {
            "id": "pm_1",
            "customer_id": "cus_1",
            "created_at": T0.isoformat(),
            "details": card(),
            "metadata": {"n": VISA},
        }
        with pytest.raises(SensitiveDataError):
            PaymentMethod.model_validate(raw)

    def test_card_expiry_is_start_of_next_month(self) -> None:
        dec = PaymentMethod(
            id="pm_1", customer_id="cus_1", created_at=T0, details=card(exp_month=12, exp_year=2027)
        )
        assert dec.expires_at == datetime(2028, 1, 1, tzinfo=UTC)
        assert dec.expiry == "2027-12"
        mar = PaymentMethod(
            id="pm_2", customer_id="cus_1", created_at=T0, details=card(exp_month=3, exp_year=2027)
        )
        assert mar.expires_at == datetime(2027, 4, 1, tzinfo=UTC)

    def test_wallet_carries_the_underlying_card(self) -> None:
        pm = PaymentMethod(
            id="pm_1",
            customer_id="cus_1",
            created_at=T0,
            details={
                "type": "google_pay",
                "token": "tok_g",
                "brand": "mastercard",
                "last4": "4444",
                "exp_month": 6,
                "exp_year": 2029,
            },
        )
        assert pm.type == PaymentMethodType.GOOGLE_PAY
        assert (pm.token, pm.expires_at) == ("tok_g", datetime(2029, 7, 1, tzinfo=UTC))

    @pytest.mark.parametrize(
        ("details", "kind"),
        [
            (
                {"type": "sepa_debit", "token": "tok_s", "mandate_reference": "M-1", "last4": "3000"},
                "sepa_debit",
            ),
            (
                {"type": "ach_debit", "token": "tok_a", "mandate_reference": "A-1", "last4": "6789"},
                "ach_debit",
            ),
        ],
    )
    def test_debits_have_mandates_and_no_expiry(self, details: dict[str, str], kind: str) -> None:
        pm = PaymentMethod(id="pm_1", customer_id="cus_1", created_at=T0, details=details)
        assert pm.type.value == kind and pm.chargeable and pm.expires_at is None

    def test_bank_transfer_is_not_chargeable(self) -> None:
        pm = PaymentMethod(
            id="pm_1", customer_id="cus_1", created_at=T0, details=BankTransferDetails(reference="R-1")
        )
        assert (pm.token, pm.chargeable) == (None, False)

    def test_bad_last4_and_month(self) -> None:
        with pytest.raises(ValidationError) as err:
            PaymentMethod(id="pm_1", customer_id="cus_1", created_at=T0, details=card(last4="42"))
        assert err.value.field == "details.card.last4"
        with pytest.raises(ValidationError):
            PaymentMethod(id="pm_1", customer_id="cus_1", created_at=T0, details=card(exp_month=13))

    def test_json_round_trip(self) -> None:
        pm = PaymentMethod(id="pm_1", customer_id="cus_1", created_at=T0, details=card(), metadata={"a": "b"})
        assert PaymentMethod.model_validate_json(pm.model_dump_json()) == pm


# --------------------------------------------------------------------------- declines
SOFT = [
    "insufficient_funds",
    "issuer_unavailable",
    "processing_error",
    "try_again_later",
    "do_not_honor",
    "generic_decline",
    "call_issuer",
    "card_velocity_exceeded",
]
HARD = [
    "stolen_card",
    "lost_card",
    "pickup_card",
    "fraudulent",
    "account_closed",
    "invalid_account",
    "expired_card",
    "incorrect_number",
    "revocation_of_authorization",
    "authentication_required",
]


class TestDeclines:
    @pytest.mark.parametrize("code", SOFT)
    def test_soft(self, code: str) -> None:
        assert not DeclineCode(code).hard

    @pytest.mark.parametrize("code", HARD)
    def test_hard(self, code: str) -> None:
        assert DeclineCode(code).hard

    @pytest.mark.parametrize(
        ("raw", "ours"),
        [
            ("card_expired", "expired_card"),
            ("INSUFFICIENT_FUNDS", "insufficient_funds"),
            ("R01", "insufficient_funds"),  # NACHA: insufficient funds
            ("r02", "account_closed"),  # NACHA: account closed
            ("AM04", "insufficient_funds"),  # SEPA: insufficient funds
            ("MD01", "debit_not_authorized"),  # SEPA: no mandate
            ("something_new", "generic_decline"),
            (None, "generic_decline"),
        ],
    )
    def test_parse(self, raw: str | None, ours: str) -> None:
        assert DeclineCode.parse(raw).value == ours

    def test_result_classification(self) -> None:
        hard = PaymentResult(status="declined", amount_minor=100, currency="USD", decline_code="lost_card")
        soft = PaymentResult(
            status="failed", amount_minor=100, currency="USD", decline_code="processing_error"
        )
        ok = PaymentResult(status="succeeded", amount_minor=100, currency="USD")
        assert (hard.failed, hard.hard) == (True, True)
        assert (soft.failed, soft.hard) == (True, False)
        assert (ok.failed, ok.hard) == (False, False)

    def test_result_refuses_float_amounts(self) -> None:
        with pytest.raises(ValidationError):
            PaymentResult(status="succeeded", amount_minor=10.0, currency="USD")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- fake gateway
class TestFakeGateway:
    def test_is_a_payment_gateway(self) -> None:
        gw: PaymentGateway = FakeGateway()
        assert gw.charge(100, "USD", "tok", "k", {}).status == PaymentStatus.SUCCEEDED

    def test_same_key_same_result_one_charge(self) -> None:
        gw = FakeGateway()
        gw.script(decline("insufficient_funds"), succeed())
        first = gw.charge(4900, "USD", "tok", "charge:in_1:1", {})
        again = gw.charge(4900, "USD", "tok", "charge:in_1:1", {})
        assert first == again and first.status == PaymentStatus.DECLINED
        assert len(gw.charges) == 1
        assert gw.charge(4900, "USD", "tok", "charge:in_1:2", {}).status == PaymentStatus.SUCCEEDED
        assert [c.status for c in gw.charges] == [PaymentStatus.DECLINED, PaymentStatus.SUCCEEDED]

    def test_same_key_other_parameters_refused(self) -> None:
        gw = FakeGateway()
        gw.charge(4900, "USD", "tok", "k", {})
        with pytest.raises(DuplicateError):
            gw.charge(5000, "USD", "tok", "k", {})

    def test_timeout_charges_nothing_and_retry_charges_once(self) -> None:
        gw = FakeGateway()
        gw.script(timeout())
        with pytest.raises(GatewayError):
            gw.charge(4900, "USD", "tok", "k", {})
        assert gw.charges == []
        assert gw.charge(4900, "USD", "tok", "k", {}).status == PaymentStatus.SUCCEEDED
        assert len(gw.charges) == 1

    def test_failure_after_charge_then_retry_returns_the_original(self) -> None:
        gw = FakeGateway()
        gw.script(fail_after_charge())
        with pytest.raises(GatewayError):
            gw.charge(4900, "USD", "tok", "k", {})
        assert len(gw.charges) == 1  # the money moved
        again = gw.charge(4900, "USD", "tok", "k", {})
        assert again.payment_id == gw.charges[0].payment_id
        assert len(gw.charges) == 1 and gw.requests == ["k", "k"]
        assert gw.captured_minor == 4900

    def test_scripts_per_token_before_global(self) -> None:
        gw = FakeGateway()
        gw.script(decline("do_not_honor"))
        gw.script(decline("stolen_card"), token="tok_b")
        assert gw.charge(100, "USD", "tok_b", "1", {}).decline_code == DeclineCode.STOLEN_CARD
        assert gw.charge(100, "USD", "tok_b", "2", {}).decline_code == DeclineCode.DO_NOT_HONOR
        assert gw.charge(100, "USD", "tok_b", "3", {}).status == PaymentStatus.SUCCEEDED

    def test_pending_then_settle(self) -> None:
        gw = FakeGateway()
        gw.script(pending(), pending())
        a = gw.charge(100, "USD", "tok", "a", {})
        b = gw.charge(100, "USD", "tok", "b", {})
        assert a.status == PaymentStatus.PENDING
        assert gw.settle(a.payment_id or "").status == PaymentStatus.SUCCEEDED
        returned = gw.settle(b.payment_id or "", succeeded=False, decline_code="R01")
        assert (returned.status, returned.decline_code) == (
            PaymentStatus.FAILED,
            DeclineCode.INSUFFICIENT_FUNDS,
        )
        assert gw.retrieve(a.payment_id or "").status == PaymentStatus.SUCCEEDED
        # Stripe semantics: a replayed key answers the original response
        assert gw.charge(100, "USD", "tok", "a", {}).status == PaymentStatus.PENDING
        with pytest.raises(ValidationError):
            gw.settle(a.payment_id or "")

    def test_refunds_are_idempotent_and_bounded(self) -> None:
        gw = FakeGateway()
        pid = gw.charge(4900, "USD", "tok", "c", {}).payment_id or ""
        r1 = gw.refund(pid, 1500, "r1")
        assert gw.refund(pid, 1500, "r1") == r1
        assert len(gw.refunds) == 1 and gw.captured_minor == 3400  # 4900 - 1500
        too_much = gw.refund(pid, 3401, "r2")  # 3400 left
        assert too_much.status == PaymentStatus.FAILED
        assert gw.refund(pid, 3400, "r3").status == PaymentStatus.SUCCEEDED
        assert gw.captured_minor == 0

    @pytest.mark.parametrize("amount", [0, -5, 10.5, True])
    def test_bad_amounts(self, amount: object) -> None:
        with pytest.raises(ValidationError):
            FakeGateway().charge(amount, "USD", "tok", "k", {})  # type: ignore[arg-type]


# --------------------------------------------------------------------------- dunning policy
D = timedelta(days=1)


class TestDunningPolicy:
    def test_schedule_from_the_first_failure(self) -> None:
        policy = DunningPolicy()
        assert policy.retry_times(T0) == [T0 + 1 * D, T0 + 3 * D, T0 + 5 * D, T0 + 7 * D]
        step = policy.next_step(first_failure_at=T0, last_attempt_at=T0, blocked=False, at=T0)
        assert (step.kind, step.at, step.retry) == (StepKind.WAIT, T0 + D, 1)
        step = policy.next_step(first_failure_at=T0, last_attempt_at=T0, blocked=False, at=T0 + D)
        assert (step.kind, step.retry) == (StepKind.RETRY, 1)
        step = policy.next_step(first_failure_at=T0, last_attempt_at=T0 + D, blocked=False, at=T0 + D)
        assert (step.kind, step.at, step.retry) == (StepKind.WAIT, T0 + 3 * D, 2)

    def test_missed_retries_collapse(self) -> None:
        # worker down from day 0 to day 6: one retry at day 6, then the day-7 one
        policy = DunningPolicy()
        step = policy.next_step(first_failure_at=T0, last_attempt_at=T0, blocked=False, at=T0 + 6 * D)
        assert (step.kind, step.retry) == (StepKind.RETRY, 1)
        step = policy.next_step(first_failure_at=T0, last_attempt_at=T0 + 6 * D, blocked=False, at=T0 + 6 * D)
        assert (step.kind, step.at, step.retry) == (StepKind.WAIT, T0 + 7 * D, 4)

    def test_final_after_the_last_retry(self) -> None:
        step = DunningPolicy().next_step(
            first_failure_at=T0, last_attempt_at=T0 + 7 * D, blocked=False, at=T0 + 7 * D
        )
        assert step.kind == StepKind.FINAL

    def test_blocked_waits_for_the_end_of_the_schedule(self) -> None:
        policy = DunningPolicy()
        step = policy.next_step(first_failure_at=T0, last_attempt_at=T0, blocked=True, at=T0 + 2 * D)
        assert (step.kind, step.at) == (StepKind.WAIT, T0 + 7 * D)
        assert policy.next_step(
            first_failure_at=T0, last_attempt_at=T0, blocked=True, at=T0 + 7 * D
        ).kind == (StepKind.FINAL)
        at_once = DunningPolicy(hard_decline_final_at_once=True)
        assert (
            at_once.next_step(first_failure_at=T0, last_attempt_at=T0, blocked=True, at=T0).kind
            == StepKind.FINAL
        )

    def test_no_retries_means_final_at_once(self) -> None:
        assert (
            DunningPolicy(retry_days=())
            .next_step(first_failure_at=T0, last_attempt_at=T0, blocked=False, at=T0)
            .kind
            == StepKind.FINAL
        )

    @pytest.mark.parametrize("days", [(3, 1), (0, 2), (1, 1)])
    def test_bad_schedule(self, days: tuple[int, ...]) -> None:
        with pytest.raises(ValidationError):
            DunningPolicy(retry_days=days)

    def test_naive_times_refused(self) -> None:
        with pytest.raises(ValidationError):
            DunningPolicy().retry_times(datetime(2027, 3, 1))

    def test_access(self) -> None:
        keep, cut = DunningPolicy(), DunningPolicy(service_during_dunning=False)
        assert keep.grants_access(SubscriptionStatus.PAST_DUE) and not cut.grants_access(
            SubscriptionStatus.PAST_DUE
        )
        for policy in (keep, cut):
            assert policy.grants_access(SubscriptionStatus.ACTIVE)
            assert not policy.grants_access(SubscriptionStatus.UNPAID)
            assert not policy.grants_access(SubscriptionStatus.CANCELED)
