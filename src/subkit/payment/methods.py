"""Payment methods: a customer's saved ways to pay, as gateway tokens (never card data).

Each kind has its details model (:class:`CardDetails`, :class:`WalletDetails`,
:class:`SepaDebitDetails`, :class:`AchDebitDetails`, :class:`BankTransferDetails`), chosen
by its ``type`` in :data:`PaymentMethodDetails`; every string in them passes the PCI guard
(:func:`subkit.payment.pci.reject_card_data`).

Example:
    >>> from datetime import datetime, UTC
    >>> pm = PaymentMethod(id="pm_1", customer_id="cus_1", created_at=datetime(2027, 1, 1, tzinfo=UTC),
    ...                    details=CardDetails(token="tok_visa", brand="visa", last4="4242",
    ...                                        exp_month=12, exp_year=2027))
    >>> pm.type.value, pm.token, pm.expires_at.date().isoformat()
    ('card', 'tok_visa', '2028-01-01')
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AwareDatetime, Field, model_validator

from subkit.core.model import Entity
from subkit.payment.pci import GuardedModel, reject_card_data

__all__ = [
    "AchDebitDetails",
    "BankTransferDetails",
    "CardDetails",
    "PaymentMethod",
    "PaymentMethodDetails",
    "PaymentMethodType",
    "SepaDebitDetails",
    "WalletDetails",
]


class PaymentMethodType(StrEnum):
    """The kinds of payment methods subkit knows."""

    CARD = "card"
    SEPA_DEBIT = "sepa_debit"
    ACH_DEBIT = "ach_debit"
    BANK_TRANSFER = "bank_transfer"
    APPLE_PAY = "apple_pay"
    GOOGLE_PAY = "google_pay"


_LAST4 = r"^[0-9]{4}$"


class CardDetails(GuardedModel):
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


class WalletDetails(GuardedModel):
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


class SepaDebitDetails(GuardedModel):
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


class AchDebitDetails(GuardedModel):
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


class BankTransferDetails(GuardedModel):
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
    #: When the customer removed it (it is then never charged, listed or made a default again).
    detached_at: AwareDatetime | None = None

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
