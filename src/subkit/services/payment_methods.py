"""Payment methods: save gateway tokens, choose the default, warn before cards expire.

Raw card data never gets in (the PCI guard, :func:`subkit.payment.pci.reject_card_data`).
A new default (the customer's, or one subscription's) retries at once every open invoice
that now goes to it, through the ``retry_open`` callable it is given (collection's).

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.customer.customer import Customer
    >>> from subkit.testing import InMemoryStore
    >>> store = InMemoryStore()
    >>> with store.begin() as uow:
    ...     uow.add(Customer(id="cus_1", name="Ada", currency="USD"))
    >>> methods = PaymentMethods(store, ids=lambda prefix: f"{prefix}_1", retry_open=lambda *args: [])
    >>> pm = methods.add("cus_1", {"type": "sepa_debit", "token": "pm_s", "mandate_reference": "M-1"},
    ...                  at=datetime(2027, 1, 1, tzinfo=UTC))
    >>> [m.id for m in methods.of_customer("cus_1")]
    ['pm_1']
    >>> with store.begin() as uow:  # the first method becomes the default
    ...     uow.get(Customer, "cus_1").default_payment_method_id
    'pm_1'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from subkit.core.events import Event, EventType
from subkit.core.inputs import check_id
from subkit.customer.customer import CollectionMethod, Customer
from subkit.errors import NotFoundError, ValidationError
from subkit.payment.attempts import PaymentAttempt
from subkit.payment.methods import PaymentMethod, PaymentMethodDetails
from subkit.payment.pci import reject_card_data
from subkit.ports import Store
from subkit.services.payment_records import retrying
from subkit.subscription.model import Subscription, SubscriptionStatus

__all__ = ["PaymentMethods"]

#: ``retry_open(customer_id, payment_method_id, at)``: charge what now goes to that method.
RetryOpen = Callable[[str, str, datetime], list[PaymentAttempt]]


class PaymentMethods:
    """A customer's saved payment methods (see ``PaymentCollector.add_payment_method``).

    Example:
        >>> from subkit.testing import InMemoryStore
        >>> PaymentMethods(InMemoryStore(), ids=str, retry_open=lambda *a: []).of_customer("cus_x")
        []
    """

    def __init__(self, store: Store, *, ids: Callable[[str], str], retry_open: RetryOpen) -> None:
        self.store = store
        self._ids = ids
        self._retry_open = retry_open

    def add(
        self,
        customer_id: str,
        details: PaymentMethodDetails | Mapping[str, object],
        *,
        at: datetime,
        metadata: Mapping[str, str] | None = None,
        make_default: bool | None = None,
        id: str | None = None,
    ) -> PaymentMethod:
        """Save a tokenized payment method; the default if ``make_default``, or if it is the first."""
        if isinstance(details, Mapping):
            reject_card_data(details, "details")
        reject_card_data(dict(metadata or {}), "metadata")
        pm = PaymentMethod(
            id=id or self._ids("pm"),
            customer_id=customer_id,
            details=details,
            created_at=at,
            metadata=dict(metadata or {}),
        )
        with self.store.begin() as uow:
            customer = uow.get(Customer, customer_id)
            uow.add(pm)
        if make_default or (make_default is None and customer.default_payment_method_id is None):
            self.set_default(customer_id, pm.id, at=at)
        return pm

    def of_customer(self, customer_id: str) -> list[PaymentMethod]:
        """A customer's saved payment methods (removed ones left out), oldest first."""
        with self.store.begin() as uow:
            return [pm for pm in uow.find(PaymentMethod, customer_id=customer_id) if pm.detached_at is None]

    def remove(self, customer_id: str, payment_method_id: str, *, at: datetime) -> PaymentMethod:
        """Remove (detach) a payment method: never charged again; a default or subscription
        method it was is cleared (the subscription falls back to the customer's default).

        Removing it again returns it unchanged. The token stays at the gateway: detach it
        there too if the gateway keeps customers' methods.
        """
        check_id(customer_id, "customer_id")
        check_id(payment_method_id, "payment_method_id")

        def write() -> PaymentMethod:
            with self.store.begin() as uow:
                pm = uow.get(PaymentMethod, payment_method_id)
                if pm.customer_id != customer_id:
                    raise ValidationError(
                        f"payment method {pm.id} belongs to another customer", field="payment_method_id"
                    )
                if pm.detached_at is not None:
                    return pm
                removed = pm.bumped(detached_at=at)
                uow.update(removed)
                customer = uow.get(Customer, customer_id)
                default_cleared = customer.default_payment_method_id == pm.id
                if default_cleared:
                    uow.update(customer.bumped(default_payment_method_id=None))
                subs = [
                    s for s in uow.find(Subscription, customer_id=customer_id) if s.payment_method_id == pm.id
                ]
                for sub in subs:
                    uow.update(sub.bumped(payment_method_id=None))
                uow.publish(
                    Event.of(
                        EventType.PAYMENT_METHOD_DETACHED,
                        at,
                        pm.id,
                        customer_id=customer_id,
                        default_cleared=default_cleared,
                        subscriptions=",".join(s.id for s in subs),
                    )
                )
                return removed

        return retrying(write)

    def set_default(
        self,
        customer_id: str,
        payment_method_id: str,
        *,
        at: datetime,
        subscription_id: str | None = None,
    ) -> list[PaymentAttempt]:
        """Make a payment method the customer's default (or one subscription's); retry open invoices."""

        def write() -> None:
            with self.store.begin() as uow:
                customer = uow.get(Customer, customer_id)
                pm = uow.get(PaymentMethod, payment_method_id)
                if pm.customer_id != customer_id:
                    raise ValidationError(
                        f"payment method {pm.id} belongs to another customer", field="payment_method_id"
                    )
                if pm.detached_at is not None:
                    raise ValidationError(f"payment method {pm.id} was removed", field="payment_method_id")
                if subscription_id is not None:
                    sub = uow.get(Subscription, subscription_id)
                    if sub.customer_id != customer_id:
                        raise ValidationError(
                            f"subscription {sub.id} belongs to another customer", field="subscription_id"
                        )
                    uow.update(sub.bumped(payment_method_id=pm.id))
                else:
                    uow.update(customer.bumped(default_payment_method_id=pm.id))
                uow.publish(
                    Event.of(
                        EventType.CUSTOMER_UPDATED,
                        at,
                        customer_id,
                        customer_id=customer_id,
                        fields="payment_method_id" if subscription_id else "default_payment_method_id",
                        payment_method_id=pm.id,
                        subscription_id=subscription_id,
                    )
                )

        retrying(write)
        return self._retry_open(customer_id, payment_method_id, at)

    def expiring_cards(self, before: datetime, *, at: datetime) -> list[PaymentMethod]:
        """Publish ``payment_method.expiring`` for cards that expire before the renewal they would pay.

        Once per method and renewal; returns the methods warned about.
        """
        warned: list[PaymentMethod] = []
        with self.store.begin() as uow:
            live = (SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE)
            subs = [s for status in live for s in uow.find(Subscription, status=status)]
            for sub in subs:
                renewal = sub.period_end
                if renewal > before or sub.cancel_at_period_end:
                    continue
                customer = uow.get(Customer, sub.customer_id)
                if customer.collection_method == CollectionMethod.SEND_INVOICE:
                    continue
                pm_id = sub.payment_method_id or customer.default_payment_method_id
                if pm_id is None:
                    continue
                try:
                    pm = uow.get(PaymentMethod, pm_id)
                except NotFoundError:
                    continue
                expires = pm.expires_at
                if expires is None or expires > renewal or pm.detached_at is not None:
                    continue
                key = f"expiring:{pm.id}:{renewal.isoformat()}"
                if uow.claimed(key):
                    continue
                uow.claim(key)
                uow.publish(
                    Event.of(
                        EventType.PAYMENT_METHOD_EXPIRING,
                        at,
                        pm.id,
                        customer_id=customer.id,
                        subscription_id=sub.id,
                        expires=pm.expiry,
                        renews_at=renewal.isoformat(),
                    )
                )
                warned.append(pm)
        return warned
