"""Invoices, their lines, credit notes and pending invoice items.

Rules:

- Every amount is an ``int`` in the currency's minor units; a line is rounded once,
  when it is made (``amount_minor``), and totals are exact sums of lines:
  ``total = subtotal - discount + tax``.
- A customer credit balance pays a positive total first (``credit_applied_minor``); a
  negative total (a net credit) goes to the customer's balance and the invoice is paid.
- Draft invoices may change; once finalized (numbered from a gap-free sequence) an
  invoice is immutable: corrections are credit notes, or void.

Example:
    >>> from datetime import datetime, UTC
    >>> at = datetime(2027, 1, 1, tzinfo=UTC)
    >>> line = InvoiceLine.build("Pro", LineKind.RECURRING, quantity=1, unit_amount="20", currency="USD")
    >>> inv = Invoice.draft("in_1", "cus_1", "USD", [line], at=at)
    >>> inv.total_minor, inv.amount_due_minor
    (2000, 2000)
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, Field

from subkit.core.model import Amount, CurrencyCode, Entity, trusted_construct, trusted_copy
from subkit.core.money import CONTEXT, Money, Rounding, decimal_of, exact_to_minor, from_minor
from subkit.core.value import Value
from subkit.errors import InvoiceImmutableError, StateError, ValidationError

__all__ = [
    "BillingReason",
    "CreditNote",
    "Invoice",
    "InvoiceItem",
    "InvoiceLine",
    "InvoiceStatus",
    "LineKind",
]


class LineKind(StrEnum):
    """What a line charges for."""

    RECURRING = "recurring"
    USAGE = "usage"
    PRORATION = "proration"
    ONE_OFF = "one_off"
    SETUP_FEE = "setup_fee"


class InvoiceStatus(StrEnum):
    """Invoice lifecycle: draft -> open -> paid | void | uncollectible.

    Example:
        >>> InvoiceStatus.OPEN.value
        'open'
    """

    DRAFT = "draft"
    OPEN = "open"
    PAID = "paid"
    VOID = "void"
    UNCOLLECTIBLE = "uncollectible"


class BillingReason(StrEnum):
    """Why an invoice was made.

    Example:
        >>> BillingReason("subscription_cycle") is BillingReason.SUBSCRIPTION_CYCLE
        True
    """

    SUBSCRIPTION_CREATE = "subscription_create"
    SUBSCRIPTION_CYCLE = "subscription_cycle"
    SUBSCRIPTION_UPDATE = "subscription_update"
    SUBSCRIPTION_CANCEL = "subscription_cancel"
    MANUAL = "manual"
    SUBSCRIPTION_THRESHOLD = "subscription_threshold"  # an interim invoice: usage crossed a threshold


class InvoiceLine(Value):
    """One line: what, for which period, how many, at what unit price, for how much.

    ``amount_minor`` is rounded once from ``quantity * unit_amount`` (or from an exact
    prorated amount); ``discount_minor`` is the part of it discounted. A slotted value
    (:class:`~subkit.core.value.Value`): the keyword constructor validates, ``build`` rounds.

    Example:
        >>> InvoiceLine.build("Seats", LineKind.RECURRING, quantity=3, unit_amount="12.50",
        ...                   currency="EUR").amount_minor
        3750
    """

    __slots__ = ()
    description: str
    kind: LineKind
    plan_id: str | None = None
    item_id: str | None = None
    period_start: AwareDatetime | None = None
    period_end: AwareDatetime | None = None
    cycle: int | None = None
    quantity: Amount = Decimal(1)
    unit_amount: Amount = Decimal(0)
    amount_minor: int
    discount_minor: int = 0
    tax_minor: int = 0
    tax_rate: Amount | None = None
    tax_code: str | None = None

    @property
    def proration(self) -> bool:
        """Whether this line prorates part of a period."""
        return self.kind == LineKind.PRORATION

    @property
    def net_minor(self) -> int:
        """Amount after discount, before tax."""
        return self.amount_minor - self.discount_minor

    @classmethod
    def build(
        cls,
        description: str,
        kind: LineKind,
        *,
        currency: str,
        quantity: object = 1,
        unit_amount: object = 0,
        exact_amount: Decimal | None = None,
        plan_id: str | None = None,
        item_id: str | None = None,
        period_start: datetime | None = None,
        period_end: datetime | None = None,
        cycle: int | None = None,
        rounding: Rounding = Rounding.HALF_UP,
    ) -> InvoiceLine:
        """A line rounded once to ``currency``: from ``exact_amount`` if given, else quantity x unit."""
        q, u = decimal_of(quantity, "quantity"), decimal_of(unit_amount, "unit_amount")
        exact = exact_amount if exact_amount is not None else CONTEXT.multiply(q, u)
        return _new_line(
            (
                description,
                LineKind(kind),
                plan_id,
                item_id,
                period_start,
                period_end,
                cycle,
                q,
                u,
                exact_to_minor(exact, currency, rounding),
                0,
                0,
                None,
                None,
            )
        )

    def with_discount(self, discount_minor: int) -> InvoiceLine:
        """This line with ``discount_minor`` of it discounted.

        Example:
            >>> InvoiceLine.build("Pro", LineKind.RECURRING, unit_amount="20",
            ...                   currency="USD").with_discount(400).net_minor
            1600
        """
        return _new_line((*self[:10], discount_minor, *self[11:]))


_new_line: Callable[[tuple[object, ...]], InvoiceLine] = functools.partial(tuple.__new__, InvoiceLine)


class Invoice(Entity):
    """A bill to a customer. Totals are derived from lines when the invoice is built.

    ``due_at`` is when the store should next look at it (a scheduled payment retry);
    ``payment_due_at`` is the date the customer must pay by.

    Currency: when the invoice's currency differs from the reporting currency, finalization
    locks ``fx_rate`` (units of ``reporting_currency`` per one unit of ``currency``, at full
    precision), with the rate's ``fx_rate_date`` and ``fx_rate_source``; an amount in the
    reporting currency is ``minor x fx_rate``, rounded once to the reporting currency's units.
    Tax: ``line.tax_minor`` / ``tax_rate`` / ``tax_code`` per line; the invoice carries both
    parties' tax ids and the legal mentions (``tax_notes``, e.g. reverse charge).

    Example:
        >>> from datetime import datetime, UTC
        >>> at = datetime(2027, 1, 1, tzinfo=UTC)
        >>> lines = [InvoiceLine.build("Credit", LineKind.PRORATION, exact_amount=Decimal("-5"),
        ...                            currency="USD"),
        ...          InvoiceLine.build("Charge", LineKind.PRORATION, exact_amount=Decimal("10"),
        ...                            currency="USD")]
        >>> Invoice.draft("in_2", "cus_1", "USD", lines, at=at).total
        Money('5.00', 'USD')
    """

    kind: ClassVar[str] = "invoice"
    customer_id: str
    subscription_id: str | None = None
    currency: CurrencyCode
    status: InvoiceStatus = InvoiceStatus.DRAFT
    number: str | None = None
    billing_reason: BillingReason = BillingReason.MANUAL
    lines: tuple[InvoiceLine, ...] = ()
    subtotal_minor: int = 0
    discount_minor: int = 0
    tax_minor: int = 0
    total_minor: int = 0
    credit_applied_minor: int = 0
    amount_due_minor: int = 0
    amount_paid_minor: int = 0
    amount_credited_minor: int = 0
    created_at: AwareDatetime
    finalized_at: AwareDatetime | None = None
    paid_at: AwareDatetime | None = None
    voided_at: AwareDatetime | None = None
    period_start: AwareDatetime | None = None
    period_end: AwareDatetime | None = None
    payment_due_at: AwareDatetime | None = None
    due_at: AwareDatetime | None = None
    fx_rate: Amount | None = None
    fx_rate_date: date | None = None
    fx_rate_source: str | None = None
    reporting_currency: CurrencyCode | None = None
    seller_tax_id: str | None = None
    customer_tax_id: str | None = None
    tax_notes: tuple[str, ...] = ()
    locale: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    #: Prepaid credits (a wallet, subkit.usage.wallet) used to pay it before any payment; in amount_due.
    prepaid_applied_minor: int = 0

    @classmethod
    def draft(
        cls,
        id: str,
        customer_id: str,
        currency: str,
        lines: Sequence[InvoiceLine],
        *,
        at: datetime,
        subscription_id: str | None = None,
        reason: BillingReason = BillingReason.MANUAL,
        period_start: datetime | None = None,
        period_end: datetime | None = None,
        credit_available_minor: int = 0,
        locale: str | None = None,
        prepaid_available_minor: int = 0,
    ) -> Invoice:
        """A draft invoice whose totals are computed from ``lines``; credit balance applied."""
        subtotal = discount = tax = 0
        for ln in lines:
            subtotal += ln.amount_minor
            discount += ln.discount_minor
            tax += ln.tax_minor
        total = subtotal - discount + tax
        credit = min(credit_available_minor, total) if total > 0 else 0
        prepaid = min(prepaid_available_minor, total - credit) if total > credit else 0
        return trusted_construct(
            cls,
            {
                "id": id,
                "version": 1,
                "customer_id": customer_id,
                "subscription_id": subscription_id,
                "currency": currency,
                "status": InvoiceStatus.DRAFT,
                "number": None,
                "billing_reason": reason,
                "lines": tuple(lines),
                "subtotal_minor": subtotal,
                "discount_minor": discount,
                "tax_minor": tax,
                "total_minor": total,
                "credit_applied_minor": credit,
                "amount_due_minor": max(total - credit - prepaid, 0),
                "amount_paid_minor": 0,
                "amount_credited_minor": 0,
                "created_at": at,
                "finalized_at": None,
                "paid_at": None,
                "voided_at": None,
                "period_start": period_start,
                "period_end": period_end,
                "payment_due_at": None,
                "due_at": None,
                "fx_rate": None,
                "fx_rate_date": None,
                "fx_rate_source": None,
                "reporting_currency": None,
                "seller_tax_id": None,
                "customer_tax_id": None,
                "tax_notes": (),
                "locale": locale,
                "metadata": {},
                "prepaid_applied_minor": prepaid,
            },
        )

    # -- derived money views -----------------------------------------------------------
    @property
    def total(self) -> Money:
        """Total as ``Money``."""
        return from_minor(self.total_minor, self.currency)

    @property
    def amount_due(self) -> Money:
        """What is left to pay, as ``Money``."""
        return from_minor(self.amount_remaining_minor, self.currency)

    @property
    def amount_remaining_minor(self) -> int:
        """Amount due minus payments and credit notes applied while open."""
        return max(self.amount_due_minor - self.amount_paid_minor, 0)

    # -- transitions ---------------------------------------------------------------------
    def finalize(self, number: str, at: datetime) -> Invoice:
        """Number and freeze a stored draft (the next version); nothing to pay means paid at once."""
        return self._finalized(number, at, self.version + 1)

    def issue(self, number: str, at: datetime) -> Invoice:
        """Number and freeze a draft that was never stored: version 1, ready for ``uow.add``.

        Example:
            >>> from datetime import datetime, UTC
            >>> at = datetime(2027, 1, 1, tzinfo=UTC)
            >>> line = InvoiceLine.build("Pro", LineKind.RECURRING, unit_amount="20", currency="USD")
            >>> inv = Invoice.draft("in_1", "cus_1", "USD", [line], at=at).issue("INV-000001", at)
            >>> inv.version, inv.number, inv.status.value
            (1, 'INV-000001', 'open')
        """
        return self._finalized(number, at, 1)

    def _finalized(self, number: str, at: datetime, version: int) -> Invoice:
        if self.status != InvoiceStatus.DRAFT:
            raise InvoiceImmutableError(f"invoice {self.id} is {self.status.value}, not a draft")
        settled = self.amount_due_minor == 0
        return trusted_copy(
            self,
            {
                "version": version,
                "number": number,
                "finalized_at": at,
                "status": InvoiceStatus.PAID if settled else InvoiceStatus.OPEN,
                "paid_at": at if settled else None,
            },
        )

    def record_payment(self, amount_minor: int, at: datetime) -> Invoice:
        """Apply a payment; the invoice is paid when nothing remains."""
        if self.status != InvoiceStatus.OPEN:
            raise StateError(f"invoice {self.id} is {self.status.value}; only open invoices take payments")
        if amount_minor <= 0:
            raise ValidationError("a payment must be positive", field="amount")
        paid = self.amount_paid_minor + amount_minor
        done = paid >= self.amount_due_minor
        return self.bumped(
            amount_paid_minor=paid,
            status=InvoiceStatus.PAID if done else InvoiceStatus.OPEN,
            paid_at=at if done else None,
            due_at=None if done else self.due_at,
        )

    def void(self, at: datetime) -> Invoice:
        """Void an open invoice nobody paid (paid ones are corrected by credit notes)."""
        if self.status not in (InvoiceStatus.OPEN, InvoiceStatus.DRAFT) or self.amount_paid_minor:
            raise StateError(
                f"invoice {self.id} is {self.status.value} with {self.amount_paid_minor} paid; "
                "only unpaid open invoices can be voided (issue a credit note instead)"
            )
        return self.bumped(status=InvoiceStatus.VOID, voided_at=at, due_at=None)

    def mark_uncollectible(self) -> Invoice:
        """Give up collecting an open invoice (it stays open to a later payment in Stripe; here final)."""
        if self.status != InvoiceStatus.OPEN:
            raise StateError(
                f"invoice {self.id} is {self.status.value}; only open invoices can be written off"
            )
        return self.bumped(status=InvoiceStatus.UNCOLLECTIBLE, due_at=None)

    @property
    def creditable_minor(self) -> int:
        """How much credit notes may still credit: the total less earlier credit notes."""
        return max(self.total_minor - self.amount_credited_minor, 0)


class CreditNote(Entity):
    """A correction of a finalized invoice, never more than what is left to credit.

    ``credit_minor`` goes to the customer's credit balance, ``refund_minor`` back to
    the payment method, ``outstanding_minor`` reduces what is still due on the invoice.

    Example:
        >>> from datetime import datetime, UTC
        >>> note = CreditNote(id="cn_1", invoice_id="in_1", customer_id="cus_1", currency="EUR",
        ...                   amount_minor=500, credit_minor=500, created_at=datetime(2027, 1, 1, tzinfo=UTC))
        >>> note.amount_minor
        500
    """

    kind: ClassVar[str] = "credit_note"
    invoice_id: str
    customer_id: str
    currency: CurrencyCode
    number: str | None = None
    amount_minor: int = Field(gt=0)
    outstanding_minor: int = 0
    credit_minor: int = 0
    refund_minor: int = 0
    reason: str = ""
    created_at: AwareDatetime
    #: The tax inside ``amount_minor``, reversed at the invoice's locked rates (see subkit.tax.credit).
    tax_minor: int = 0


class InvoiceItem(Entity):
    """A line waiting for the next invoice of a subscription or customer (status ``pending``).

    Example:
        >>> from datetime import datetime, UTC
        >>> line = InvoiceLine.build("Setup", LineKind.ONE_OFF, unit_amount="50", currency="USD")
        >>> InvoiceItem(id="ii_1", customer_id="cus_1", currency="USD", line=line,
        ...             created_at=datetime(2027, 1, 1, tzinfo=UTC)).status
        'pending'
    """

    kind: ClassVar[str] = "invoice_item"
    customer_id: str
    subscription_id: str | None = None
    currency: CurrencyCode
    line: InvoiceLine
    status: str = "pending"
    invoice_id: str | None = None
    created_at: AwareDatetime
