"""Bank transfers: reconcile money a customer sent offline, by invoice id or by reference.

The reference a payer quotes is an invoice number, or the reference of the customer's bank
transfer payment method (then the money pays that customer's open invoices, oldest first).
Less than due leaves the invoice open; more goes to the customer's credit balance. A
repeated bank transfer id (a re-imported statement) is ignored. Each invoice paid gets one
succeeded :class:`~subkit.payment.attempts.PaymentAttempt` (reason ``bank_transfer``).

Both lookups by reference are served by the store's indexed repositories
(``uow.invoices.by_number``, ``uow.payment_methods.by_reference``): never a scan.

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.customer.customer import Customer
    >>> from subkit.payment.methods import PaymentMethod
    >>> from subkit.testing import InMemoryStore
    >>> store = InMemoryStore()
    >>> at = datetime(2027, 1, 1, tzinfo=UTC)
    >>> with store.begin() as uow:
    ...     uow.add(Customer(id="cus_1", name="Ada", currency="EUR"))
    ...     uow.add(PaymentMethod(id="pm_1", customer_id="cus_1", created_at=at,
    ...                           details={"type": "bank_transfer", "reference": "ACME-7781"}))
    >>> transfers = Transfers(store, ids=lambda prefix: f"{prefix}_1")
    >>> [a] = transfers.pay(amount_minor=500, reference="acme-7781", at=at)
    >>> a.credited_minor, a.invoice_id  # nothing was open: all of it is credit
    (500, None)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from subkit.core.events import Event, EventType
from subkit.core.inputs import check_id
from subkit.core.money import check_currency
from subkit.customer.customer import Customer
from subkit.errors import CurrencyMismatchError, NotFoundError, ValidationError
from subkit.invoice.invoice import Invoice, InvoiceStatus
from subkit.payment.attempts import AttemptReason, AttemptStatus, PaymentAttempt
from subkit.payment.methods import PaymentMethodType
from subkit.payment.pci import reject_card_data
from subkit.ports import Store, UnitOfWork
from subkit.services.idempotency import recalled, remember
from subkit.services.payment_records import apply_payment, credit_balance, invoice_attempts, retrying

__all__ = ["Transfers"]


class Transfers:
    """Reconciles offline bank transfers (see ``PaymentCollector.pay_by_bank_transfer``).

    Example:
        >>> from datetime import datetime, UTC
        >>> from subkit.testing import InMemoryStore
        >>> Transfers(InMemoryStore(), ids=str).pay(amount_minor=0, reference="INV-1",
        ...                                         at=datetime(2027, 1, 1, tzinfo=UTC))
        Traceback (most recent call last):
        ...
        subkit.errors.ValidationError: [invalid] amount_minor: amount_minor must be a positive int \
(minor units)
    """

    def __init__(self, store: Store, *, ids: Callable[[str], str]) -> None:
        self.store = store
        self._ids = ids

    def pay(
        self,
        invoice_id: str | None = None,
        *,
        amount_minor: int,
        at: datetime,
        reference: str | None = None,
        currency: str | None = None,
        transfer_id: str | None = None,
    ) -> list[PaymentAttempt]:
        """Apply a transfer; one succeeded attempt per invoice paid (one without invoice for credit)."""
        if type(amount_minor) is not int or amount_minor <= 0:
            raise ValidationError("amount_minor must be a positive int (minor units)", field="amount_minor")
        if invoice_id is None and reference is None:
            raise ValidationError("give the invoice_id or the transfer's reference", field="reference")
        if reference is not None:
            reject_card_data(reference, "reference")
        if transfer_id is not None:
            check_id(transfer_id, "transfer_id")
        now = at

        def write() -> list[PaymentAttempt]:
            with self.store.begin() as uow:
                if transfer_id is not None:
                    key = f"transfer:{transfer_id}"
                    params = (invoice_id, amount_minor, reference, currency)
                    if uow.claimed(key):
                        # the same statement line again is ignored; the same id with another
                        # amount (or target) is an error, not a silent no-op
                        recalled(uow, "transfer", transfer_id, params)
                        return []
                    uow.claim(key)
                    remember(uow, "transfer", transfer_id, params, ())
                customer, invoices, one = self._target(uow, invoice_id, reference)
                if one:  # a named invoice: the transfer is in its currency
                    cur = check_currency(currency) if currency else invoices[0].currency
                    if invoices[0].currency != cur:
                        raise CurrencyMismatchError(
                            f"a {cur} transfer cannot pay a {invoices[0].currency} invoice", field="currency"
                        )
                else:
                    cur = check_currency(currency) if currency else customer.currency
                    invoices = [i for i in invoices if i.currency == cur]
                paid: list[tuple[str | None, int, int]] = []  # (invoice id, attempt no, applied)
                left = amount_minor
                for inv in invoices:
                    if left == 0:
                        break
                    if inv.status != InvoiceStatus.OPEN or inv.amount_remaining_minor == 0:
                        continue
                    n = len(invoice_attempts(uow, inv)) + 1
                    inv, applied = apply_payment(uow, inv, left, now)
                    left -= applied
                    paid.append((inv.id, n, applied))
                if left:
                    if cur != customer.currency:
                        raise CurrencyMismatchError(
                            f"{left} {cur} left over cannot go to a {customer.currency} balance",
                            field="currency",
                        )
                    credit_balance(uow, customer.id, left, now, reference=reference or "")
                if not paid:
                    paid.append((None, 1, 0))
                last = len(paid) - 1
                return [
                    self._attempt(
                        uow, customer, inv_id, n, applied, cur, reference, now, left if i == last else 0
                    )
                    for i, (inv_id, n, applied) in enumerate(paid)
                ]

        return retrying(write)

    @staticmethod
    def _target(
        uow: UnitOfWork, invoice_id: str | None, reference: str | None
    ) -> tuple[Customer, list[Invoice], bool]:
        """The customer and the invoices a transfer pays; True when it names one invoice."""
        if invoice_id is not None:
            inv = uow.get(Invoice, invoice_id)
            return uow.get(Customer, inv.customer_id), [inv], True
        ref = reference or ""
        if (named := uow.invoices.by_number(ref)) is not None:
            return uow.get(Customer, named.customer_id), [named], True
        if (pm := uow.payment_methods.by_reference(ref)) is not None:
            customer = uow.get(Customer, pm.customer_id)
            invoices = sorted(
                uow.find(Invoice, customer_id=customer.id, status=InvoiceStatus.OPEN),
                key=lambda i: (i.created_at, i.number or ""),
            )
            return customer, invoices, False
        raise NotFoundError(f"no invoice or bank transfer reference {reference!r}", field="reference")

    def _attempt(
        self,
        uow: UnitOfWork,
        customer: Customer,
        invoice_id: str | None,
        n: int,
        applied: int,
        currency: str,
        reference: str | None,
        at: datetime,
        credited: int = 0,
    ) -> PaymentAttempt:
        attempt_id = f"pa_{invoice_id}_{n}" if invoice_id else self._ids("pa")
        key = f"transfer:{invoice_id}:{n}" if invoice_id else f"transfer:{attempt_id}"
        uow.claim(key)
        attempt = PaymentAttempt(
            id=attempt_id,
            customer_id=customer.id,
            invoice_id=invoice_id,
            status=AttemptStatus.SUCCEEDED,
            reason=AttemptReason.BANK_TRANSFER,
            attempt_no=n,
            idempotency_key=key,
            method_type=PaymentMethodType.BANK_TRANSFER,
            amount_minor=applied + credited,
            currency=currency,
            started_at=at,
            completed_at=at,
            applied_minor=applied,
            credited_minor=credited,
            reference=reference,
        )
        uow.add(attempt)
        uow.publish(
            Event.of(
                EventType.PAYMENT_SUCCEEDED,
                at,
                attempt.id,
                customer_id=customer.id,
                invoice_id=invoice_id,
                amount=attempt.amount_minor,
                method=PaymentMethodType.BANK_TRANSFER.value,
                reference=reference,
            )
        )
        return attempt
