"""Payment attempts and refunds: subkit's durable records of money moving through a gateway.

A :class:`PaymentAttempt` records one charge (or one bank transfer reconciled). It is written
``started`` *before* the gateway is called, so a crash can never lead to a second charge: the
attempt is resumed with the same idempotency key (see :mod:`subkit.services.collection`). A
:class:`Refund` records money sent back, and the id of the credit note that documents it.

Example:
    >>> from datetime import datetime, UTC
    >>> a = PaymentAttempt(id="pa_in_1_1", customer_id="cus_1", invoice_id="in_1", attempt_no=1,
    ...                    idempotency_key="charge:in_1:1", amount_minor=1000, currency="USD",
    ...                    started_at=datetime(2027, 1, 1, tzinfo=UTC))
    >>> a.status.value, a.failed
    ('started', False)
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, Field

from subkit.core.model import CurrencyCode, Entity
from subkit.payment.methods import PaymentMethodType
from subkit.payment.results import DeclineCode

__all__ = ["AttemptReason", "AttemptStatus", "PaymentAttempt", "Refund", "RefundStatus"]


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
    credit note's id is chosen then; the note is issued next, by that id); ``succeeded`` with
    its credit note; ``failed`` if the gateway refused."""

    STARTED = "started"
    CREDITING = "crediting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Refund(Entity):
    """Money sent back through the gateway for a paid invoice, with its credit note.

    ``credit_note_id`` is set when the gateway accepts the refund, before the credit note is
    issued with that id: a resumed refund finds its note by id, never issues a second one.

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
