"""Payment results: what a gateway answers, and why a payment was declined.

A :class:`PaymentResult` is what a :class:`~subkit.ports.PaymentGateway` answers to a charge
or a refund. A decline is an answer, not an error. :class:`DeclineCode` classifies declines
soft (worth retrying) or hard (the same payment method will not succeed: wait for a new one),
and maps gateways' aliases and bank return codes (ACH, SEPA) to subkit's codes.

Example:
    >>> DeclineCode.parse("insufficient_funds").hard, DeclineCode.parse("stolen_card").hard
    (False, True)
    >>> PaymentResult(status="succeeded", payment_id="py_1", amount_minor=1000, currency="USD").failed
    False
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from subkit.core.model import CurrencyCode, Model

__all__ = ["DeclineCode", "PaymentResult", "PaymentStatus"]


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
