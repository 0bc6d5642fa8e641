"""Payment methods, payment results and attempts, decline codes, refunds, and PCI guards.

subkit never sees card data: a payment method is a gateway **token** plus what is safe to
show (brand, last four digits, expiry, mandate reference). :func:`reject_card_data` refuses
anything that looks like a raw card number (PAN) or a CVV, in every string of payment
method input and metadata, and its error never echoes the number.

A :class:`PaymentResult` is what a :class:`~subkit.ports.PaymentGateway` answers; a
:class:`PaymentAttempt` is subkit's durable record of one charge (written as ``started``
*before* the gateway is called, so a crash can never lead to a second charge; see
:mod:`subkit.services.collector`). Declines are classified soft (worth retrying) or hard (the same
payment method will not succeed: wait for a new one) by :class:`DeclineCode`.

Example:
    >>> from datetime import datetime, UTC
    >>> pm = PaymentMethod(id="pm_1", customer_id="cus_1", created_at=datetime(2027, 1, 1, tzinfo=UTC),
    ...                    details=CardDetails(token="tok_visa", brand="visa", last4="4242",
    ...                                        exp_month=12, exp_year=2027))
    >>> pm.type.value, pm.token, pm.expires_at.date().isoformat()
    ('card', 'tok_visa', '2028-01-01')
    >>> DeclineCode.parse("insufficient_funds").hard, DeclineCode.parse("stolen_card").hard
    (False, True)
    >>> reject_card_data("4242 4242 4242 4242", "metadata.note")
    Traceback (most recent call last):
    ...
    subkit.errors.SensitiveDataError: [sensitive_data] metadata.note: looks like a raw card number \
(************4242); pass the gateway's token instead (subkit never stores card numbers)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AwareDatetime, Field, model_validator

from subkit.core.model import CurrencyCode, Entity, Model
from subkit.errors import SensitiveDataError

__all__ = [
    "AchDebitDetails",
    "AttemptReason",
    "AttemptStatus",
    "BankTransferDetails",
    "CardDetails",
    "DeclineCode",
    "PaymentAttempt",
    "PaymentMethod",
    "PaymentMethodDetails",
    "PaymentMethodType",
    "PaymentResult",
    "PaymentStatus",
    "Refund",
    "RefundStatus",
    "SepaDebitDetails",
    "WalletDetails",
    "luhn_valid",
    "reject_card_data",
]

# --------------------------------------------------------------------------- PCI guards
# A run of digits where single separators (up to two spaces/dashes) may sit between digits.
_DIGIT_RUN = re.compile(r"[0-9](?:[ -]{0,2}[0-9])*")
_CVV_NAMES = ("cvv", "cvc", "cvn", "securitycode", "cardverification")


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits passes the Luhn (mod 10) check used by card numbers.

    Example:
        >>> luhn_valid("4242424242424242"), luhn_valid("4242424242424241")
        (True, False)
    """
    if not digits.isdigit() or not digits.isascii():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _is_cvv_name(field: str) -> bool:
    last = field.rsplit(".", 1)[-1]
    norm = re.sub(r"[^a-z0-9]", "", last.lower())
    return any(name in norm for name in _CVV_NAMES)


def _check_text(text: str, field: str) -> None:
    for match in _DIGIT_RUN.finditer(text):
        digits = re.sub(r"[^0-9]", "", match.group())
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            masked = "*" * (len(digits) - 4) + digits[-4:]
            raise SensitiveDataError(
                f"looks like a raw card number ({masked}); pass the gateway's token instead "
                "(subkit never stores card numbers)",
                field=field,
            )


def reject_card_data(value: object, field: str) -> None:
    """Raise ``SensitiveDataError`` if ``value`` holds a raw card number, or ``field`` is a CVV.

    A card number is a run of 13 to 19 digits (single spaces or dashes allowed between
    digits) that passes the Luhn check, anywhere in a string (or an int). A field named
    like a card security code (``cvv``, ``cvc``, ``card_cvc``, ``security_code``...) is
    refused whatever its value. Mappings and sequences are checked recursively, keys
    included. The error masks all but the last four digits and never shows a CVV.

    Detection is a safety net, not a data-loss-prevention system: a number glued to other
    digits by a single separator (``"12 4242424242424242"``) forms one longer run and is
    not flagged.

    Example:
        >>> reject_card_data("order 4111-1111-1111-1111", "note")
        Traceback (most recent call last):
        ...
        subkit.errors.SensitiveDataError: [sensitive_data] note: looks like a raw card number \
(************1111); pass the gateway's token instead (subkit never stores card numbers)
        >>> reject_card_data({"cvc": "123"}, "details")
        Traceback (most recent call last):
        ...
        subkit.errors.SensitiveDataError: [sensitive_data] details.cvc: card security codes (CVV/CVC) \
must never be sent to subkit
        >>> reject_card_data("INV-000042 paid 2027-01-31", "reference") is None
        True
    """
    if _is_cvv_name(field):
        raise SensitiveDataError("card security codes (CVV/CVC) must never be sent to subkit", field=field)
    if isinstance(value, str):
        _check_text(value, field)
    elif isinstance(value, int) and not isinstance(value, bool):
        _check_text(str(value), field)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            name = f"{field}.{key}"
            if isinstance(key, str):
                _check_text(key, name)
            reject_card_data(item, name)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            reject_card_data(item, f"{field}.{i}")


class _Guarded(Model):
    """A model whose raw input is scanned by :func:`reject_card_data` before validation.

    The scan runs before pydantic sees the data, so a refused value never reaches a
    pydantic error (which would carry the input); the validator covers ``model_validate``.
    """

    def __init__(self, **data: Any) -> None:
        for key, item in data.items():
            reject_card_data(item, key)
        super().__init__(**data)

    @model_validator(mode="before")
    @classmethod
    def _no_card_data(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            for key, item in data.items():
                reject_card_data(item, str(key))
        return data


# --------------------------------------------------------------------------- payment methods
class PaymentMethodType(StrEnum):
    """The kinds of payment methods subkit knows."""

    CARD = "card"
    SEPA_DEBIT = "sepa_debit"
    ACH_DEBIT = "ach_debit"
    BANK_TRANSFER = "bank_transfer"
    APPLE_PAY = "apple_pay"
    GOOGLE_PAY = "google_pay"


_LAST4 = r"^[0-9]{4}$"


class CardDetails(_Guarded):
    """A card saved at the gateway: its token and what is safe to show.

    Example:
        >>> CardDetails(token="pm_123", brand="visa", last4="4242", exp_month=2, exp_year=2029).last4
        '4242'
    """

    type: Literal["card"] = "card"
    token: str = Field(min_length=1)
    brand: str
    last4: str = Field(pattern=_LAST4)
    exp_month: int = Field(ge=1, le=12)
    exp_year: int = Field(ge=2000, le=2200)


class WalletDetails(_Guarded):
    """Apple Pay or Google Pay: a wallet token over a card (brand, last four, expiry).

    Example:
        >>> WalletDetails(type="apple_pay", token="pm_ap", brand="mastercard", last4="4444",
        ...               exp_month=1, exp_year=2030).type
        'apple_pay'
    """

    type: Literal["apple_pay", "google_pay"]
    token: str = Field(min_length=1)
    brand: str
    last4: str = Field(pattern=_LAST4)
    exp_month: int = Field(ge=1, le=12)
    exp_year: int = Field(ge=2000, le=2200)


class SepaDebitDetails(_Guarded):
    """A SEPA Direct Debit mandate: the gateway token, mandate reference, last four of the IBAN.

    Example:
        >>> SepaDebitDetails(token="pm_sepa", mandate_reference="MANDATE-7", last4="3000").type
        'sepa_debit'
    """

    type: Literal["sepa_debit"] = "sepa_debit"
    token: str = Field(min_length=1)
    mandate_reference: str = Field(min_length=1)
    last4: str = Field(default="", pattern=r"^([0-9A-Za-z]{4})?$")
    bank_name: str = ""


class AchDebitDetails(_Guarded):
    """A US ACH debit authorization: gateway token, mandate reference, last four of the account.

    Example:
        >>> AchDebitDetails(token="pm_ach", mandate_reference="ACH-1", last4="6789").account_type
        'checking'
    """

    type: Literal["ach_debit"] = "ach_debit"
    token: str = Field(min_length=1)
    mandate_reference: str = Field(min_length=1)
    last4: str = Field(default="", pattern=r"^([0-9]{4})?$")
    bank_name: str = ""
    account_type: Literal["checking", "savings"] = "checking"


class BankTransferDetails(_Guarded):
    """Offline bank transfer: nothing to charge; ``reference`` is what payers quote, to reconcile.

    Example:
        >>> BankTransferDetails(reference="ACME-7781").reference
        'ACME-7781'
    """

    type: Literal["bank_transfer"] = "bank_transfer"
    reference: str = Field(min_length=1)


#: One of the payment method detail models, chosen by its ``type``.
PaymentMethodDetails = Annotated[
    CardDetails | WalletDetails | SepaDebitDetails | AchDebitDetails | BankTransferDetails,
    Field(discriminator="type"),
]


class PaymentMethod(Entity):
    """A customer's saved way to pay. Holds a gateway token, never card data.

    Example:
        >>> from datetime import datetime, UTC
        >>> pm = PaymentMethod(id="pm_2", customer_id="cus_1", created_at=datetime(2027, 1, 1, tzinfo=UTC),
        ...                    details={"type": "sepa_debit", "token": "pm_s", "mandate_reference": "M-1"})
        >>> pm.type.value, pm.chargeable, pm.expires_at is None
        ('sepa_debit', True, True)
    """

    kind: ClassVar[str] = "payment_method"
    customer_id: str
    details: PaymentMethodDetails
    created_at: AwareDatetime
    metadata: dict[str, str] = Field(default_factory=dict)

    def __init__(self, **data: Any) -> None:
        for key in ("metadata", "details"):
            if isinstance(data.get(key), Mapping):
                reject_card_data(data[key], key)
        super().__init__(**data)

    @model_validator(mode="before")
    @classmethod
    def _no_card_data(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            for key in ("metadata", "details"):
                item = data.get(key)
                if isinstance(item, Mapping):
                    reject_card_data(item, key)
        return data

    @property
    def type(self) -> PaymentMethodType:
        """The kind of payment method."""
        return PaymentMethodType(self.details.type)

    @property
    def token(self) -> str | None:
        """The gateway token to charge, or ``None`` for a bank transfer (paid offline)."""
        return None if isinstance(self.details, BankTransferDetails) else self.details.token

    @property
    def chargeable(self) -> bool:
        """Whether subkit can charge it through the gateway (everything but bank transfers)."""
        return self.token is not None

    @property
    def expiry(self) -> str | None:
        """``"YYYY-MM"``, the last month the card works; ``None`` for methods that do not expire."""
        d = self.details
        if not isinstance(d, (CardDetails, WalletDetails)):
            return None
        return f"{d.exp_year:04d}-{d.exp_month:02d}"

    @property
    def expires_at(self) -> datetime | None:
        """First instant (UTC) the card no longer works: the start of the month after expiry.

        A card is valid through the last day of its expiry month; issuers differ on time
        zones, so subkit uses UTC. ``None`` for methods that do not expire.
        """
        d = self.details
        if not isinstance(d, (CardDetails, WalletDetails)):
            return None
        year, month = (d.exp_year + 1, 1) if d.exp_month == 12 else (d.exp_year, d.exp_month + 1)
        return datetime(year, month, 1, tzinfo=UTC)


# --------------------------------------------------------------------------- results and declines
class PaymentStatus(StrEnum):
    """What a gateway says about a charge or refund.

    ``declined``: the issuer or bank refused (see :class:`DeclineCode`); ``failed``: it did
    not go through for another reason, or a pending debit was returned; ``pending``: the
    outcome comes later (bank debits), see ``PaymentCollector.sync_pending``.
    """

    SUCCEEDED = "succeeded"
    PENDING = "pending"
    DECLINED = "declined"
    FAILED = "failed"


_HARD = frozenset(
    {
        "stolen_card",
        "lost_card",
        "pickup_card",
        "fraudulent",
        "account_closed",
        "invalid_account",
        "no_account",
        "expired_card",
        "incorrect_number",
        "card_not_supported",
        "currency_not_supported",
        "restricted_card",
        "security_violation",
        "transaction_not_allowed",
        "revocation_of_authorization",
        "debit_not_authorized",
        "authentication_required",
    }
)

# Aliases and bank return codes (NACHA ACH returns, SEPA reason codes) mapped to ours.
_ALIASES = {
    "card_expired": "expired_card",
    "invalid_number": "incorrect_number",
    "card_declined": "generic_decline",
    "R01": "insufficient_funds",
    "R02": "account_closed",
    "R03": "no_account",
    "R04": "invalid_account",
    "R07": "revocation_of_authorization",
    "R10": "debit_not_authorized",
    "AM04": "insufficient_funds",
    "AC04": "account_closed",
    "MD01": "debit_not_authorized",
}


class DeclineCode(StrEnum):
    """Why a payment was refused, classified soft (``hard`` is False: retry later) or hard.

    Hard declines are not retried on the same payment method: a new one (which the
    customer adds, or a card updater provides) is retried at once. ``expired_card`` is
    hard: the same card will keep failing. ``authentication_required`` is hard for
    automatic retries: only the customer, on session, can pass 3-D Secure.

    Example:
        >>> [c.value for c in (DeclineCode.DO_NOT_HONOR, DeclineCode.EXPIRED_CARD) if c.hard]
        ['expired_card']
    """

    # soft
    INSUFFICIENT_FUNDS = "insufficient_funds"
    ISSUER_UNAVAILABLE = "issuer_unavailable"
    PROCESSING_ERROR = "processing_error"
    TRY_AGAIN_LATER = "try_again_later"
    DO_NOT_HONOR = "do_not_honor"
    GENERIC_DECLINE = "generic_decline"
    CALL_ISSUER = "call_issuer"
    CARD_VELOCITY_EXCEEDED = "card_velocity_exceeded"
    WITHDRAWAL_COUNT_LIMIT_EXCEEDED = "withdrawal_count_limit_exceeded"
    REENTER_TRANSACTION = "reenter_transaction"
    # hard
    STOLEN_CARD = "stolen_card"
    LOST_CARD = "lost_card"
    PICKUP_CARD = "pickup_card"
    FRAUDULENT = "fraudulent"
    ACCOUNT_CLOSED = "account_closed"
    INVALID_ACCOUNT = "invalid_account"
    NO_ACCOUNT = "no_account"
    EXPIRED_CARD = "expired_card"
    INCORRECT_NUMBER = "incorrect_number"
    CARD_NOT_SUPPORTED = "card_not_supported"
    CURRENCY_NOT_SUPPORTED = "currency_not_supported"
    RESTRICTED_CARD = "restricted_card"
    SECURITY_VIOLATION = "security_violation"
    TRANSACTION_NOT_ALLOWED = "transaction_not_allowed"
    REVOCATION_OF_AUTHORIZATION = "revocation_of_authorization"
    DEBIT_NOT_AUTHORIZED = "debit_not_authorized"
    AUTHENTICATION_REQUIRED = "authentication_required"

    @property
    def hard(self) -> bool:
        """Whether retrying the same payment method is pointless."""
        return self.value in _HARD

    @classmethod
    def parse(cls, code: str | None) -> DeclineCode:
        """Our code for a gateway's: known names, aliases, ACH/SEPA return codes; else generic (soft).

        Example:
            >>> DeclineCode.parse("R02"), DeclineCode.parse("card_expired"), DeclineCode.parse("weird")
            (<DeclineCode.ACCOUNT_CLOSED: 'account_closed'>, <DeclineCode.EXPIRED_CARD: 'expired_card'>, \
<DeclineCode.GENERIC_DECLINE: 'generic_decline'>)
        """
        if not code:
            return cls.GENERIC_DECLINE
        raw = code.strip()
        name = _ALIASES.get(raw.upper(), _ALIASES.get(raw.lower(), raw.lower()))
        try:
            return cls(name)
        except ValueError:
            return cls.GENERIC_DECLINE


class PaymentResult(Model):
    """A gateway's answer to a charge or refund (amounts in minor units).

    Example:
        >>> r = PaymentResult(status="declined", payment_id="py_1", amount_minor=1000, currency="USD",
        ...                   decline_code="insufficient_funds")
        >>> r.failed, r.hard
        (True, False)
    """

    status: PaymentStatus
    payment_id: str | None = None
    amount_minor: int = Field(ge=0, strict=True)
    currency: CurrencyCode
    decline_code: DeclineCode | None = None
    message: str = ""

    @property
    def failed(self) -> bool:
        """Declined or failed (a final "no")."""
        return self.status in (PaymentStatus.DECLINED, PaymentStatus.FAILED)

    @property
    def hard(self) -> bool:
        """A failure the same payment method will not recover from."""
        return self.failed and self.decline_code is not None and self.decline_code.hard


# --------------------------------------------------------------------------- attempts and refunds
class AttemptStatus(StrEnum):
    """Where a payment attempt is: ``started`` is written before the gateway is called."""

    STARTED = "started"
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    FAILED = "failed"


class AttemptReason(StrEnum):
    """Why an attempt was made."""

    INITIAL = "initial"
    RETRY = "retry"
    PAYMENT_METHOD_UPDATED = "payment_method_updated"
    MANUAL = "manual"
    BANK_TRANSFER = "bank_transfer"


class PaymentAttempt(Entity):
    """One attempt to collect money for an invoice, and its outcome.

    ``idempotency_key`` is unique per attempt (``charge:{invoice_id}:{attempt_no}``) and is
    what the gateway sees: resuming a ``started`` attempt reuses it, so the gateway returns
    the original result instead of charging again.

    Example:
        >>> from datetime import datetime, UTC
        >>> a = PaymentAttempt(id="pa_in_1_1", customer_id="cus_1", invoice_id="in_1", attempt_no=1,
        ...                    idempotency_key="charge:in_1:1", amount_minor=1000, currency="USD",
        ...                    started_at=datetime(2027, 1, 1, tzinfo=UTC))
        >>> a.status.value, a.refundable_minor
        ('started', 0)
    """

    kind: ClassVar[str] = "payment_attempt"
    customer_id: str
    invoice_id: str | None = None
    status: AttemptStatus = AttemptStatus.STARTED
    reason: AttemptReason = AttemptReason.INITIAL
    attempt_no: int = Field(ge=1)
    idempotency_key: str
    payment_method_id: str | None = None
    method_type: PaymentMethodType | None = None
    amount_minor: int = Field(ge=0, strict=True)
    currency: CurrencyCode
    gateway_payment_id: str | None = None
    decline_code: DeclineCode | None = None
    message: str = ""
    started_at: AwareDatetime
    completed_at: AwareDatetime | None = None
    applied_minor: int = 0
    credited_minor: int = 0
    refunded_minor: int = 0
    reference: str | None = None

    @property
    def hard(self) -> bool:
        """A hard decline (the same payment method will not succeed)."""
        return self.decline_code is not None and self.decline_code.hard

    @property
    def failed(self) -> bool:
        """Declined or failed."""
        return self.status in (AttemptStatus.DECLINED, AttemptStatus.FAILED)

    @property
    def refundable_minor(self) -> int:
        """What can still be refunded through the gateway."""
        if self.status != AttemptStatus.SUCCEEDED or self.gateway_payment_id is None:
            return 0
        return self.amount_minor - self.refunded_minor


class RefundStatus(StrEnum):
    """``started`` before the gateway call; ``crediting`` once the gateway accepted it (the
    credit note is next); ``succeeded`` with its credit note; ``failed`` if the gateway refused."""

    STARTED = "started"
    CREDITING = "crediting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Refund(Entity):
    """Money sent back through the gateway for a paid invoice, with its credit note.

    Example:
        >>> from datetime import datetime, UTC
        >>> Refund(id="re_in_1_1", customer_id="cus_1", invoice_id="in_1", attempt_id="pa_in_1_1",
        ...        gateway_payment_id="py_1", idempotency_key="refund:in_1:1", amount_minor=500,
        ...        currency="USD", created_at=datetime(2027, 1, 1, tzinfo=UTC)).status.value
        'started'
    """

    kind: ClassVar[str] = "refund"
    customer_id: str
    invoice_id: str
    attempt_id: str
    gateway_payment_id: str
    status: RefundStatus = RefundStatus.STARTED
    idempotency_key: str
    amount_minor: int = Field(gt=0, strict=True)
    currency: CurrencyCode
    gateway_refund_id: str | None = None
    credit_note_id: str | None = None
    reason: str = ""
    message: str = ""
    created_at: AwareDatetime
    completed_at: AwareDatetime | None = None
