"""Invoicing: write an operation's outcome, build, number and issue invoices, and correct them.

An invoice is built as a draft from an outcome's lines plus the pending invoice items it pulls
in, takes the customer's credit balance, and is issued (numbered from the gap-free series,
finalized, stored, announced) in the same unit of work. Issuing an invoice left open records
its ``invoice.finalized`` event on the :class:`~subkit.services.context.Work`, for the bus
after commit. Corrections are voids and credit notes (see :mod:`subkit.services.credit_notes`).

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.services.customers import Customers
    >>> from subkit.testing import InMemoryStore, TestClock
    >>> clock = TestClock(datetime(2027, 1, 1, tzinfo=UTC))
    >>> ctx = ServiceContext(InMemoryStore(), clock, ids=lambda prefix: prefix + "_1")
    >>> cus = Customers(ctx).create(name="Ada", currency="USD")
    >>> invoicing = Invoicing(ctx)
    >>> invoicing.add_item(cus.id, "Setup", "25").line.amount_minor
    2500
    >>> inv = invoicing.invoice_now(cus.id)
    >>> inv.number, inv.status.value, inv.total_minor
    ('INV-000001', 'open', 2500)
    >>> invoicing.void(inv.id).status.value
    'void'
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from subkit.core.events import Event, EventType
from subkit.core.inputs import check_id, check_optional_id, check_quantity, check_text
from subkit.core.model import trusted_copy
from subkit.core.money import check_amount, decimal_of, minor_to_decimal
from subkit.customer.customer import Customer
from subkit.invoice.invoice import (
    BillingReason,
    Invoice,
    InvoiceItem,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
)
from subkit.ports import UnitOfWork
from subkit.services.context import ServiceContext, Work
from subkit.services.customers import change_balance
from subkit.services.fx_locking import lock_rate
from subkit.services.idempotency import recalled, remember
from subkit.services.taxes import tax_lines
from subkit.services.wallets import consume_credits, restore_credits
from subkit.subscription.model import Outcome, Subscription

__all__ = ["Invoicing"]


class Invoicing:
    """Writes outcomes, issues invoices, one-off items, manual invoices, voids and write-offs.

    Example:
        >>> from datetime import datetime, UTC
        >>> from subkit.testing import InMemoryStore, TestClock
        >>> clock = TestClock(datetime(2027, 1, 1, tzinfo=UTC))
        >>> invoicing = Invoicing(ServiceContext(InMemoryStore(), clock))
        >>> invoicing.invoices()
        []
    """

    __slots__ = ("ctx",)

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    # ------------------------------------------------------------------ writing outcomes
    def apply(self, work: Work, out: Outcome, customer: Customer, *, new: bool = False) -> Invoice | None:
        """Write an outcome: claims, pending items, the invoice, the subscription, events."""
        uow = work.uow
        sub = out.subscription
        for key in out.claims:
            uow.claim(key)
        at = out.events[0].occurred_at if out.events else self.ctx.clock.now()
        batch = work.pending
        for line in out.pending_lines:
            item = InvoiceItem.fast(
                id=self.ctx.ids("ii"),
                version=1,
                customer_id=customer.id,
                subscription_id=sub.id,
                currency=sub.currency,
                line=line,
                status="pending",
                invoice_id=None,
                created_at=at,
            )
            uow.add(item)
            if batch is not None:  # keep the batch's prefetch complete
                batch.setdefault(sub.id, []).append(item)
        invoice = None
        if out.reason is not None and out.invoice_lines:
            invoice = self.invoice(work, customer, list(out.invoice_lines), at, sub, out.reason, out.period)
        if new:
            uow.add(sub)
        else:
            uow.update(sub)
        publish = work.publish
        for ev in out.events:
            publish(ev)
        return invoice

    def invoice(
        self,
        work: Work,
        customer: Customer,
        lines: list[InvoiceLine],
        at: datetime,
        sub: Subscription | None,
        reason: BillingReason,
        period: tuple[datetime, datetime] | None,
    ) -> Invoice:
        """Build an invoice, pulling in pending items and applying the balance, and issue it.

        In a billing run's batch the draft is queued on ``work`` and issued just before commit.
        """
        uow = work.uow
        currency = sub.currency if sub is not None else customer.currency
        if sub is not None:
            if work.pending is not None:
                pending = work.pending.pop(sub.id, [])
            else:
                pending = uow.find(InvoiceItem, status="pending", subscription_id=sub.id)
        else:
            pending = [
                i
                for i in uow.find(InvoiceItem, status="pending", customer_id=customer.id)
                if i.subscription_id is None
            ]
        inv_id = self.ctx.ids("in")
        for item in pending:
            if item.currency == currency:
                lines.append(item.line)
                uow.update(item.bumped(status="invoiced", invoice_id=inv_id))
        taxed: dict[str, Any] | None = None
        seller = self.ctx.config.seller
        if seller is not None:  # the one place lines are taxed; no seller, no tax, no cost
            lines, taxed = tax_lines(self.ctx.config.tax, seller, customer, currency, lines, at)
        total = sum(ln.amount_minor - ln.discount_minor + ln.tax_minor for ln in lines)
        if currency == customer.currency and (total < 0 or (total > 0 and customer.credit_minor > 0)):
            # The balance will change: re-read the customer under a row lock, so a balance
            # another worker changed since the batch was read is used, not overwritten.
            customer = uow.lock(Customer, customer.id) or customer
        credit = customer.credit_minor if currency == customer.currency else 0
        prepaid = 0
        if self.ctx.config.wallets and total > credit:  # [usage] prepaid credits (services.wallets)
            prepaid = consume_credits(work.uow, customer.id, currency, total - max(credit, 0), at, inv_id)
        inv = Invoice.draft(
            inv_id,
            customer.id,
            currency,
            lines,
            at=at,
            subscription_id=sub.id if sub else None,
            reason=reason,
            period_start=period[0] if period else None,
            period_end=period[1] if period else None,
            credit_available_minor=credit,
            locale=customer.locale,
            prepaid_available_minor=prepaid,
        )
        if taxed is not None:
            inv = trusted_copy(inv, taxed)
        delta = -inv.credit_applied_minor + (-inv.total_minor if inv.total_minor < 0 else 0)
        if delta:
            change_balance(work, customer, delta, at, invoice_id=inv.id)
        if work.queue is not None:
            work.queue.append((inv, at))  # numbered and stored just before the batch commits
            return inv
        return self.issue(uow, inv, at, work.finalized)

    def issue(self, uow: UnitOfWork, draft: Invoice, at: datetime, finalized: list[Event]) -> Invoice:
        """Number, finalize and store a draft, and publish that it was issued.

        The ``invoice.finalized`` event of an invoice left open is also appended to
        ``finalized`` (for the bus, after commit). Taking a number locks the series until
        commit, so a billing run issues a batch's invoices together just before its commit:
        concurrent workers then wait for each other only that long.
        """
        config = self.ctx.config
        if config.reporting_currency is not None and draft.currency != config.reporting_currency:
            draft = lock_rate(draft, config, at)  # before the number: a missing rate takes none
        number = f"{config.invoice_prefix}-{uow.next_number(config.invoice_prefix):06d}"
        inv = draft.issue(number, at)
        uow.add(inv)
        event = Event.of(
            EventType.INVOICE_FINALIZED,
            at,
            inv.id,
            customer_id=inv.customer_id,
            number=number,
            total=inv.total_minor,
            currency=inv.currency,
        )
        uow.publish(event)
        if inv.status == InvoiceStatus.OPEN:
            finalized.append(event)
        elif inv.status == InvoiceStatus.PAID:
            uow.publish(Event.of(EventType.INVOICE_PAID, at, inv.id, customer_id=inv.customer_id, amount=0))
        return inv

    # ------------------------------------------------------------------ one-off charges
    def add_item(
        self,
        customer_id: str,
        description: str,
        amount: object,
        *,
        subscription_id: str | None = None,
        quantity: object = 1,
        at: datetime | None = None,
        idempotency_key: str | None = None,
    ) -> InvoiceItem:
        """A one-off charge (or credit, if negative) for the customer's next invoice.

        With ``idempotency_key``, a retry with the same parameters returns the item the first
        call created; the same key with other parameters is an ``IdempotencyError``.
        """
        now = self.ctx.now(at)
        check_id(customer_id, "customer_id")
        check_text(description, "description")
        subscription_id = check_optional_id(subscription_id, "subscription_id")
        amount = check_amount(decimal_of(amount))
        quantity = check_quantity(quantity)
        params = (customer_id, description, str(amount), subscription_id, str(quantity))
        with self.ctx.store.begin() as uow:
            if idempotency_key is not None:
                done = recalled(uow, "invoice_item", idempotency_key, params)
                if done is not None:
                    return uow.get(InvoiceItem, done[0])
            customer = uow.get(Customer, customer_id)
            currency = customer.currency
            if subscription_id is not None:
                currency = uow.get(Subscription, subscription_id).currency
            line = InvoiceLine.build(
                description,
                LineKind.ONE_OFF,
                currency=currency,
                quantity=quantity,
                unit_amount=amount,
                rounding=self.ctx.config.rounding,
            )
            check_amount(minor_to_decimal(line.amount_minor, currency), "amount")
            item = InvoiceItem(
                id=self.ctx.ids("ii"),
                customer_id=customer_id,
                subscription_id=subscription_id,
                currency=currency,
                line=line,
                created_at=now,
            )
            uow.add(item)
            if idempotency_key is not None:
                remember(uow, "invoice_item", idempotency_key, params, [item.id])
        return item

    def invoice_now(
        self, customer_id: str, *, at: datetime | None = None, idempotency_key: str | None = None
    ) -> Invoice | None:
        """Invoice a customer's pending items that belong to no subscription.

        With ``idempotency_key``, a retry returns what the first call returned (the invoice,
        or ``None``) instead of invoicing items added since; the key is bound to the customer.
        """
        now = self.ctx.now(at)
        check_id(customer_id, "customer_id")
        params = (customer_id,)
        with self.ctx.store.begin() as uow:
            if idempotency_key is not None:
                done = recalled(uow, "invoice_now", idempotency_key, params)
                if done is not None:
                    return uow.get(Invoice, done[0]) if done else None
            customer = uow.get(Customer, customer_id)
            if not [
                i
                for i in uow.find(InvoiceItem, status="pending", customer_id=customer_id)
                if i.subscription_id is None
            ]:
                if idempotency_key is not None:
                    remember(uow, "invoice_now", idempotency_key, params, ())
                return None
            work = Work(uow)
            inv = self.invoice(work, customer, [], now, None, BillingReason.MANUAL, None)
            if idempotency_key is not None:
                remember(uow, "invoice_now", idempotency_key, params, [inv.id])
        if self.ctx.committed(work) and inv is not None:
            with self.ctx.store.begin() as uow:
                return uow.get(Invoice, inv.id)
        return inv

    # ------------------------------------------------------------------ corrections
    def void(self, invoice_id: str, *, at: datetime | None = None) -> Invoice:
        """Void an unpaid open invoice (the credit balance it used is given back)."""
        now = self.ctx.now(at)
        check_id(invoice_id, "invoice_id")
        with self.ctx.store.begin() as uow:
            inv = uow.get(Invoice, invoice_id)
            new = inv.void(now)
            uow.update(new)
            if inv.prepaid_applied_minor:  # [usage] give the wallet back what the invoice used
                restore_credits(uow, inv, now)
            if inv.credit_applied_minor:
                cus = uow.get(Customer, inv.customer_id)
                change_balance(uow, cus, inv.credit_applied_minor, now, invoice_id=inv.id)
            uow.publish(Event.of(EventType.INVOICE_VOIDED, now, inv.id, customer_id=inv.customer_id))
        return new

    def mark_uncollectible(self, invoice_id: str, *, at: datetime | None = None) -> Invoice:
        """Write off an open invoice."""
        now = self.ctx.now(at)
        check_id(invoice_id, "invoice_id")
        with self.ctx.store.begin() as uow:
            new = uow.get(Invoice, invoice_id).mark_uncollectible()
            uow.update(new)
            uow.publish(
                Event.of(EventType.INVOICE_UNCOLLECTIBLE, now, invoice_id, customer_id=new.customer_id)
            )
        return new

    # ------------------------------------------------------------------ reading
    def get(self, invoice_id: str) -> Invoice:
        """An invoice by id."""
        check_id(invoice_id, "invoice_id")
        with self.ctx.store.begin() as uow:
            return uow.get(Invoice, invoice_id)

    def invoices(
        self, customer_id: str | None = None, *, subscription_id: str | None = None
    ) -> list[Invoice]:
        """Invoices of a customer or subscription (all when neither), oldest first."""
        where: dict[str, object] = {}
        check_optional_id(customer_id, "customer_id")
        check_optional_id(subscription_id, "subscription_id")
        if customer_id:
            where["customer_id"] = customer_id
        if subscription_id:
            where["subscription_id"] = subscription_id
        with self.ctx.store.begin() as uow:
            found = uow.find(Invoice, **where)
        return sorted(found, key=lambda i: (i.created_at, i.number or ""))
