"""Prepaid credits: grant them, read the balance and the ledger; invoices consume them before payment.

Turned on with ``BillingConfig(wallets=True)`` (off, invoicing reads nothing more). An
invoice then takes, after the customer's credit balance, what the customer's wallet in its
currency holds (:mod:`subkit.usage.wallet`: priority, then soonest expiry), and asks payment
only for the rest; voiding it gives the credits back to the grants they came from. Every
movement is a :class:`~subkit.usage.wallet.WalletEntry`.

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.services.context import BillingConfig
    >>> from subkit.services.engine import BillingEngine
    >>> from subkit.testing import InMemoryStore, TestClock
    >>> engine = BillingEngine(InMemoryStore(), TestClock(datetime(2027, 1, 1, tzinfo=UTC)),
    ...                        config=BillingConfig(wallets=True))
    >>> cus = engine.create_customer(name="Ada", currency="USD")
    >>> wallets = Wallets(engine._ctx)
    >>> wallets.grant(cus.id, "50.00", kind="purchased", id="g1").available(datetime(2027, 1, 2, tzinfo=UTC))
    5000
"""

from __future__ import annotations

from datetime import datetime

from subkit.core.money import decimal_of, to_minor
from subkit.customer.customer import Customer
from subkit.errors import NotFoundError, StateError, ValidationError
from subkit.invoice.invoice import Invoice
from subkit.ports import UnitOfWork
from subkit.services.context import ServiceContext
from subkit.usage.wallet import CreditGrant, CreditKind, Wallet, WalletEntry, wallet_id

__all__ = ["Wallets", "consume_credits", "restore_credits"]


def consume_credits(
    uow: UnitOfWork, customer_id: str, currency: str, amount_minor: int, at: datetime, invoice_id: str
) -> int:
    """Consume up to ``amount_minor`` of the customer's wallet for ``invoice_id``; returns what it gave."""
    found = uow.get_many(Wallet, [wallet_id(customer_id, currency)])
    wallet = found.get(wallet_id(customer_id, currency))
    if wallet is None:
        return 0
    new, entries = wallet.consume(amount_minor, at, invoice_id=invoice_id)
    if new is wallet:
        return 0
    uow.update(new)
    for e in entries:
        uow.add(e)
    return -sum(e.amount_minor for e in entries if e.type == "consume")


def restore_credits(uow: UnitOfWork, invoice: Invoice, at: datetime) -> None:
    """Give back to the wallet what ``invoice`` consumed (it was voided)."""
    wallet = uow.get(Wallet, wallet_id(invoice.customer_id, invoice.currency))
    used = [e for e in uow.find(WalletEntry, customer_id=invoice.customer_id) if e.invoice_id == invoice.id]
    new, entries = wallet.restore(used, at, invoice_id=invoice.id)
    if entries:
        uow.update(new)
        for e in entries:
            uow.add(e)


class Wallets:
    """Grant prepaid credits and read a customer's wallet and its ledger.

    Example:
        >>> from datetime import datetime, UTC
        >>> from subkit.testing import InMemoryStore, TestClock
        >>> ctx = ServiceContext(InMemoryStore(), TestClock(datetime(2027, 1, 1, tzinfo=UTC)))
        >>> Wallets(ctx).ledger("cus_1")
        []
    """

    __slots__ = ("ctx",)

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def grant(
        self,
        customer_id: str,
        amount: object,
        *,
        currency: str | None = None,
        kind: str = "granted",
        priority: int = 0,
        expires_at: datetime | None = None,
        id: str | None = None,
        at: datetime | None = None,
    ) -> Wallet:
        """Add credits to the customer's wallet (opened on first use); ``id`` makes it idempotent."""
        if not self.ctx.config.wallets:
            raise StateError("wallets are off; open the engine with BillingConfig(wallets=True)")
        now = self.ctx.now(at)
        with self.ctx.store.begin() as uow:
            customer = uow.get(Customer, customer_id)
            cur = currency or customer.currency
            minor = to_minor(decimal_of(amount, "amount"), cur)
            if minor <= 0:
                raise ValidationError("a grant must be a positive amount", field="amount")
            if expires_at is not None and self.ctx.now(expires_at) <= now:
                raise ValidationError("expires_at must be after the grant", field="expires_at")
            wid = wallet_id(customer_id, cur)
            wallet = uow.get_many(Wallet, [wid]).get(wid)
            grant_id = id or self.ctx.ids("cg")
            if wallet is not None and any(g.id == grant_id for g in wallet.grants):
                return wallet  # the same grant again: idempotent
            grant = CreditGrant(
                id=grant_id,
                kind=CreditKind(kind),
                amount_minor=minor,
                remaining_minor=minor,
                priority=priority,
                granted_at=now,
                expires_at=self.ctx.now(expires_at) if expires_at is not None else None,
            )
            base = wallet or Wallet.open(customer_id, cur)
            new, entries = base.grant(grant, now)
            if wallet is None:
                uow.add(new.model_copy(update={"version": 1}))
            else:
                uow.update(new)
            for e in entries:
                uow.add(e)
        return new if wallet is not None else new.model_copy(update={"version": 1})

    def wallet(self, customer_id: str, currency: str | None = None) -> Wallet:
        """The customer's wallet (in the customer's currency by default), or ``NotFoundError``."""
        with self.ctx.store.begin() as uow:
            cur = currency or uow.get(Customer, customer_id).currency
            try:
                return uow.get(Wallet, wallet_id(customer_id, cur))
            except NotFoundError:
                raise NotFoundError(
                    f"customer {customer_id!r} has no wallet in {cur}", field="currency"
                ) from None

    def ledger(self, customer_id: str) -> list[WalletEntry]:
        """Every movement of the customer's wallets, oldest first."""
        with self.ctx.store.begin() as uow:
            return uow.find(WalletEntry, customer_id=customer_id)
