"""Customers: who pays, where, in which currency, language and time zone.

Example:
    >>> c = Customer(id="cus_1", name="Ada Ltd", currency="eur", country="FR",
    ...              locale="fr_FR", timezone="Europe/Paris", metadata={"crm_id": "A-17"})
    >>> c.currency, c.credit_minor
    ('EUR', 0)
"""

from __future__ import annotations

import functools
from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, Field, ValidationInfo, field_validator

from subkit.core.model import CurrencyCode, Entity, Model, is_stored
from subkit.core.periods import zone
from subkit.core.places import country_code, email_address
from subkit.errors import ValidationError

__all__ = ["Address", "CollectionMethod", "Customer", "Seller", "TaxExemption", "TaxId"]


class Address(Model):
    """A postal address (billing address of a customer).

    Example:
        >>> Address(line1="1 rue de Rivoli", city="Paris", postal_code="75001", country="FR").country
        'FR'
    """

    line1: str = ""
    line2: str = ""
    city: str = ""
    postal_code: str = ""
    region: str = ""
    country: str = ""

    @field_validator("country")
    @classmethod
    def _country(cls, v: str) -> str:
        return country_code(v, "address.country") if v else v


class TaxId(Model):
    """A tax registration number (``eu_vat``, ``gb_vat``, ``ca_gst_hst``, ``us_ein``...).

    Example:
        >>> TaxId(type="eu_vat", value="FR40303265045").type
        'eu_vat'
    """

    type: str
    value: str


class Seller(Model):
    """The business that issues the invoices: what the law requires on each (legal name, address,
    tax registration) and where its taxes start from (``country``, ISO 3166 alpha-2).

    Given to the engine as ``BillingConfig(seller=...)``; tax rules read ``country`` and
    ``tax_ids``, invoice rendering prints the rest.

    Example:
        >>> s = Seller(legal_name="Subkit Demo SAS", country="FR",
        ...            address=Address(line1="1 rue de Rivoli", city="Paris", postal_code="75001",
        ...                            country="FR"),
        ...            tax_ids=(TaxId(type="eu_vat", value="FR40303265045"),))
        >>> s.country, s.tax_ids[0].value
        ('FR', 'FR40303265045')
    """

    legal_name: str
    country: str
    address: Address | None = None
    tax_ids: tuple[TaxId, ...] = ()
    email: str = ""
    registration: str = ""
    """A company registration line printed on invoices (e.g. "RCS Paris 123 456 789")."""

    @field_validator("country")
    @classmethod
    def _country(cls, v: str) -> str:
        return country_code(v, "seller.country")

    @field_validator("email")
    @classmethod
    def _email(cls, v: str, info: ValidationInfo) -> str:
        return email_address(v, "seller.email") if v and not is_stored(info.context) else v


class TaxExemption(Model):
    """Why a customer pays no tax (a charity, a reseller, a public body) and the certificate proving it.

    Example:
        >>> TaxExemption(reason="resale", certificate_id="TX-RESALE-0042").certificate_id
        'TX-RESALE-0042'
    """

    reason: str = Field(min_length=1)
    certificate_id: str = ""


@functools.lru_cache(maxsize=1024)
def _known_locale(tag: str) -> bool:
    """Whether babel knows ``tag`` (parsed once per tag: every stored customer's read checks it)."""
    from babel import Locale, UnknownLocaleError

    try:
        Locale.parse(tag)
    except (UnknownLocaleError, ValueError, TypeError):
        return False
    return True


class CollectionMethod(StrEnum):
    """Charge the default payment method automatically, or send the invoice for manual payment.

    Example:
        >>> CollectionMethod("send_invoice").name
        'SEND_INVOICE'
    """

    CHARGE_AUTOMATICALLY = "charge_automatically"
    SEND_INVOICE = "send_invoice"


class Customer(Entity):
    """A paying customer. ``credit_minor`` is the prepaid/credit balance in minor units.

    Example:
        >>> Customer(id="cus_2", name="Bo", currency="USD", timezone="America/Los_Angeles").timezone
        'America/Los_Angeles'
    """

    kind: ClassVar[str] = "customer"
    name: str
    email: str = ""
    address: Address | None = None
    country: str = ""
    locale: str = "en_US"
    currency: CurrencyCode
    timezone: str = "UTC"
    tax_ids: tuple[TaxId, ...] = ()
    metadata: dict[str, str] = Field(default_factory=dict)
    credit_minor: int = Field(default=0, ge=0)
    collection_method: CollectionMethod = CollectionMethod.CHARGE_AUTOMATICALLY
    default_payment_method_id: str | None = None
    #: Set when the customer is exempt from tax: no tax is charged, the reason is on the invoice.
    tax_exemption: TaxExemption | None = None
    #: Evidence of location besides the billing address (ISO 3166 alpha-2; empty: not known).
    ip_country: str = ""
    card_country: str = ""
    #: The host's own id for this customer (Lago's ``external_customer_id``): unique in the store,
    #: case-insensitive, set once; ``engine.customer_by_external_id()`` finds it through an index.
    external_id: str | None = None
    #: When the customer was created (``engine.create_customer`` sets it; ``None`` on customers
    #: stored before subkit recorded it, which lists then sort as the oldest).
    created_at: AwareDatetime | None = None

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        zone(v)
        return v

    @field_validator("country")
    @classmethod
    def _country(cls, v: str) -> str:
        return country_code(v) if v else v

    @field_validator("email")
    @classmethod
    def _email(cls, v: str, info: ValidationInfo) -> str:
        # checked and normalized when it comes in; a stored row was (29 us a read otherwise)
        return email_address(v) if v and not is_stored(info.context) else v

    @field_validator("locale")
    @classmethod
    def _locale(cls, v: str) -> str:
        if not _known_locale(v):
            raise ValidationError(f"{v!r} is not a known locale (e.g. 'fr_FR')", field="locale")
        return v
