"""Every error subkit raises, in one tree.

Each error carries a stable ``code`` a host can switch on, and a message that
says what to fix. Where the meaning fits, an error also subclasses a built-in
(``ValueError``, ``LookupError``, ``TypeError``) so generic handlers keep working.

```
SubkitError (subkit_error)
├── ValidationError (invalid)                         ValueError
│   ├── FloatNotAllowedError (float_not_allowed)      TypeError
│   ├── CurrencyMismatchError (currency_mismatch)     TypeError
│   ├── UnknownCurrencyError (unknown_currency)
│   ├── NaiveDatetimeError (naive_datetime)
│   ├── InvalidPeriodError (invalid_period)
│   ├── CatalogError (invalid_catalog)
│   │   └── CatalogFileError (invalid_catalog_file)   a catalog file (the CLI)
│   ├── PricingError (invalid_pricing)
│   ├── CouponError (invalid_coupon)
│   ├── SensitiveDataError (sensitive_data)
│   └── UnknownMetricError (unknown_metric)          a usage event for no billable metric
├── NotFoundError (not_found)                         LookupError
│   └── ExchangeRateNotFoundError (exchange_rate_not_found)
├── StateError (invalid_state)
│   ├── IllegalTransitionError (illegal_transition)
│   ├── InvoiceImmutableError (invoice_immutable)
│   └── PeriodClosedError (period_closed)
├── ConflictError (conflict)
│   ├── ConcurrencyError (stale_version)
│   ├── DuplicateError (duplicate)
│   │   └── IdempotencyError (idempotency_key_reused)  same key, other parameters
│   └── UsageConflictError (usage_conflict)          a usage event id reused with other content
├── GatewayError (gateway_transport)
├── StoreUnavailableError (store_unavailable)       a database that cannot be opened
└── UnbalancedEntryError (journal_unbalanced)       a journal entry whose debits differ from its credits
tax (subkit.tax):
    ValidationError > TaxLocationError (tax_location)   where the customer is cannot be told
    ValidationError > TaxIdError (invalid_tax_id)        a tax id failing its format or checksum
    NotFoundError > TaxRateNotFoundError (tax_rate_not_found)
    SubkitError > OptionalDependencyError (missing_dependency)  ImportError: which extra to install
integrations (webhooks, the customer portal):
    SubkitError > WebhookSignatureError (webhook_signature)  ValueError: a webhook not signed as it claims
    WebhookSignatureError > WebhookTimestampError (webhook_timestamp)  signed outside the tolerance window
    StateError > QuoteExpiredError (quote_expired)   a previewed change no longer gives its amounts
```

Example:
    >>> from subkit.errors import SubkitError, PricingError
    >>> try:
    ...     raise PricingError("tiers overlap at 10", field="tiers")
    ... except SubkitError as e:
    ...     (e.code, e.field)
    ('invalid_pricing', 'tiers')
"""

from __future__ import annotations

__all__ = [
    "CatalogError",
    "CatalogFileError",
    "ConcurrencyError",
    "ConflictError",
    "CouponError",
    "CurrencyMismatchError",
    "DuplicateError",
    "ExchangeRateNotFoundError",
    "FloatNotAllowedError",
    "GatewayError",
    "IdempotencyError",
    "IllegalTransitionError",
    "InvalidPeriodError",
    "InvoiceImmutableError",
    "NaiveDatetimeError",
    "NotFoundError",
    "OptionalDependencyError",
    "PeriodClosedError",
    "PricingError",
    "QuoteExpiredError",
    "SensitiveDataError",
    "StateError",
    "StoreUnavailableError",
    "SubkitError",
    "TaxIdError",
    "TaxLocationError",
    "TaxRateNotFoundError",
    "UnbalancedEntryError",
    "UnknownCurrencyError",
    "UnknownMetricError",
    "UsageConflictError",
    "ValidationError",
    "WebhookSignatureError",
    "WebhookTimestampError",
]


class SubkitError(Exception):
    """Base of every subkit error; ``code`` is stable, ``field`` names the culprit if known.

    Example:
        >>> SubkitError("boom").code
        'subkit_error'
    """

    code = "subkit_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        if self.field:
            return f"[{self.code}] {self.field}: {self.message}"
        return f"[{self.code}] {self.message}"


class ValidationError(SubkitError, ValueError):
    """Input that can never be accepted as given; fix the input and call again."""

    code = "invalid"


class FloatNotAllowedError(ValidationError, TypeError):
    """A float reached a money or quantity API: pass ``Decimal``, ``int`` or ``str``."""

    code = "float_not_allowed"


class CurrencyMismatchError(ValidationError, TypeError):
    """Two amounts in different currencies were combined."""

    code = "currency_mismatch"


class UnknownCurrencyError(ValidationError):
    """A currency code that is not ISO 4217."""

    code = "unknown_currency"


class NaiveDatetimeError(ValidationError):
    """A datetime without a time zone; subkit only accepts aware datetimes."""

    code = "naive_datetime"


class InvalidPeriodError(ValidationError):
    """A period whose end is not after its start, or a bad interval."""

    code = "invalid_period"


class CatalogError(ValidationError):
    """An inconsistent catalog definition (missing price, unknown plan...)."""

    code = "invalid_catalog"


class PricingError(ValidationError):
    """An invalid pricing model (overlapping or gapped tiers, negative price...)."""

    code = "invalid_pricing"


class CouponError(ValidationError):
    """A coupon that cannot be applied (expired, exhausted, not for this plan...)."""

    code = "invalid_coupon"


class SensitiveDataError(ValidationError):
    """Raw card data (PAN, CVV) was given where only a token is allowed (PCI)."""

    code = "sensitive_data"


class NotFoundError(SubkitError, LookupError):
    """An id that names nothing in the store."""

    code = "not_found"


class StateError(SubkitError):
    """The operation does not fit the current state of the object."""

    code = "invalid_state"


class IllegalTransitionError(StateError):
    """A lifecycle operation not allowed from the current status."""

    code = "illegal_transition"


class InvoiceImmutableError(StateError):
    """A finalized invoice was edited; issue a credit note instead."""

    code = "invoice_immutable"


class ConflictError(SubkitError):
    """The write collides with another write."""

    code = "conflict"


class ConcurrencyError(ConflictError):
    """Optimistic concurrency: the aggregate changed since it was read. Reload and retry."""

    code = "stale_version"


class DuplicateError(ConflictError):
    """A unique key (invoice number, idempotency key, charged period) already exists."""

    code = "duplicate"


class GatewayError(SubkitError):
    """A transport fault talking to the payment gateway; retry with the same idempotency key."""

    code = "gateway_transport"


class StoreUnavailableError(SubkitError):
    """The database cannot be reached or opened (exit status 5).

    Example:
        >>> StoreUnavailableError("no database at x.sqlite").code
        'store_unavailable'
    """

    code = "store_unavailable"


class CatalogFileError(CatalogError):
    """A catalog file that cannot be read or is invalid (exit status 4).

    Example:
        >>> CatalogFileError("not valid JSON", field="catalog.json").code
        'invalid_catalog_file'
    """

    code = "invalid_catalog_file"


class UnknownMetricError(ValidationError):
    """A usage event names a metric no billable metric or plan of the catalog defines (a typo?).

    Example:
        >>> UnknownMetricError("no metric 'cals'", field="metric").code
        'unknown_metric'
    """

    code = "unknown_metric"


class UsageConflictError(ConflictError):
    """A usage event id already recorded with other content (the same id must mean the same event).

    Example:
        >>> isinstance(UsageConflictError("evt_1 differs"), ConflictError)
        True
    """

    code = "usage_conflict"


class TaxRateNotFoundError(NotFoundError):
    """The tax table has no rate for a jurisdiction on the tax point's date.

    Example:
        >>> TaxRateNotFoundError("no rate for FI before 2021-01-01").code
        'tax_rate_not_found'
    """

    code = "tax_rate_not_found"


class TaxLocationError(ValidationError):
    """Where the customer is (and so which tax applies) cannot be told: set the billing country.

    Example:
        >>> TaxLocationError("customer cus_1 has no billing country", field="country").code
        'tax_location'
    """

    code = "tax_location"


class TaxIdError(ValidationError):
    """A tax id that fails its format or checksum (or an unknown tax id type).

    Example:
        >>> TaxIdError("DE123 is not a valid eu_vat id", field="tax_ids").code
        'invalid_tax_id'
    """

    code = "invalid_tax_id"


class OptionalDependencyError(SubkitError, ImportError):
    """A feature needs an optional extra that is not installed; the message says what to install.

    Example:
        >>> OptionalDependencyError("pip install 'subkit[tax]'").code
        'missing_dependency'
    """

    code = "missing_dependency"


class ExchangeRateNotFoundError(NotFoundError):
    """No exchange rate for a currency on a day (not quoted, or before/after the history held).

    Example:
        >>> ExchangeRateNotFoundError("no ECB rate for XAF", field="currency").code
        'exchange_rate_not_found'
    """

    code = "exchange_rate_not_found"


class UnbalancedEntryError(SubkitError):
    """A journal entry whose debits do not equal its credits (a bug, never a business outcome).

    Example:
        >>> UnbalancedEntryError("debits 100 != credits 90").code
        'journal_unbalanced'
    """

    code = "journal_unbalanced"


class PeriodClosedError(StateError):
    """A revenue period is already closed (a closed period is never rewritten).

    Example:
        >>> PeriodClosedError("2027-01 is closed", field="through").code
        'period_closed'
    """

    code = "period_closed"


class WebhookSignatureError(SubkitError, ValueError):
    """A webhook whose signature header is missing, malformed or matches none of the secrets.

    Answer the request with 400 and do not process it: the body may have been forged or
    changed (re-serializing the JSON before verifying changes it too; verify the raw bytes).
    """

    code = "webhook_signature"


class WebhookTimestampError(WebhookSignatureError):
    """A correctly signed webhook whose timestamp is outside the tolerance window (a replay)."""

    code = "webhook_timestamp"


class QuoteExpiredError(StateError):
    """A previewed change (a portal quote) no longer gives the amounts shown: preview again."""

    code = "quote_expired"


class IdempotencyError(DuplicateError):
    """An idempotency key reused with other parameters (Stripe's rule: an error, not a replay).

    A retry must send the same parameters with the same key; a new operation needs a new key.

    Example:
        >>> IdempotencyError("key 'k1' was used with other parameters", field="idempotency_key").code
        'idempotency_key_reused'
    """

    code = "idempotency_key_reused"
