"""Payment collection: charge open invoices, run dunning, reconcile transfers, refund.

:class:`PaymentCollector` sits beside the :class:`~subkit.services.engine.BillingEngine`. Attached,
it charges every invoice the engine finalizes for a ``charge_automatically`` customer
(``send_invoice`` customers pay by themselves); ``retry_due`` runs the dunning schedule of
:class:`~subkit.payment.dunning.DunningPolicy`; a new default payment method retries the open
invoices at once; ``pay_by_bank_transfer`` reconciles offline payments; ``refund`` goes
through the gateway and issues a credit note.

A thin facade: each method delegates to one small service, wired here. ``collection``
charges exactly once (pending debits, webhooks too); ``dunning_service`` applies the policy
after a failure; ``dunning_run`` is ``retry_due``; ``payment_methods``, ``transfers`` and
``refunds`` do what they say; ``payment_records`` holds what they share (all under
:mod:`subkit.services`). It reaches the engine only through its event bus
(``invoice.finalized``) and public calls: ``cancel``, ``issue_credit_note``, ``new_id``.

Example:
    >>> from datetime import datetime, timedelta, UTC
    >>> from subkit.services.engine import BillingEngine
    >>> from subkit.catalog.catalog import Catalog, Plan, Product
    >>> from subkit.catalog.pricing import FlatFee
    >>> from subkit.testing import InMemoryStore, TestClock
    >>> from subkit.testing.gateway import FakeGateway, decline
    >>> clock = TestClock(datetime(2027, 1, 1, tzinfo=UTC))
    >>> engine = BillingEngine(InMemoryStore(), clock)
    >>> engine.set_catalog(Catalog(products=(Product(id="app", name="App"),), plans=(
    ...     Plan(id="basic", product_id="app", name="Basic", prices={"USD": FlatFee(flat_amount="10")}),)))
    >>> gateway = FakeGateway()
    >>> collector = PaymentCollector(engine, gateway).attach()
    >>> cus = engine.create_customer(name="Ada", currency="USD")
    >>> pm = collector.add_payment_method(cus.id, {"type": "card", "token": "tok_ada", "brand": "visa",
    ...                                            "last4": "4242", "exp_month": 12, "exp_year": 2030})
    >>> gateway.script(decline("insufficient_funds"), token="tok_ada")
    >>> sub = engine.subscribe(cus.id, "basic")
    >>> engine.get_subscription(sub.id).status.value  # its first invoice is unpaid
    'incomplete'
    >>> _ = clock.advance(timedelta(days=1))
    >>> collector.retry_due().succeeded
    1
    >>> engine.get_subscription(sub.id).status.value, [c.status.value for c in gateway.charges]
    ('active', ['declined', 'succeeded'])
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Self

from subkit.core.events import Event, EventType
from subkit.core.inputs import check_id, check_metadata, check_optional_id, check_plain, check_text
from subkit.core.paging import Page
from subkit.core.periods import ensure_aware
from subkit.payment.attempts import PaymentAttempt, Refund
from subkit.payment.dunning import DunningPolicy
from subkit.payment.methods import PaymentMethod, PaymentMethodDetails
from subkit.payment.results import PaymentResult
from subkit.ports import Clock, PaymentGateway
from subkit.services.collection import Collection, CollectionReport
from subkit.services.dunning_run import DunningRun
from subkit.services.dunning_service import DunningService
from subkit.services.engine import BillingEngine
from subkit.services.payment_methods import PaymentMethods
from subkit.services.refunds import Refunds
from subkit.services.retry import RetryPolicy
from subkit.services.transfers import Transfers

__all__ = ["CollectionReport", "PaymentCollector"]


class PaymentCollector:
    """Collects invoice payments through a :class:`~subkit.ports.PaymentGateway`, with dunning.

    ``clock`` defaults to the engine's, ``policy`` to :class:`~subkit.payment.dunning.DunningPolicy()`.
    A gateway call that cannot reach the gateway is retried at once per ``retry``
    (:class:`~subkit.services.retry.RetryPolicy`: 3 tries, exponential backoff with full
    jitter, ``sleep`` to wait), then left for the next run with the same idempotency key.
    Every method taking ``at`` uses the clock when it is omitted. The attributes are read at
    construction (the services are wired then): build another collector to change them.

    Example:
        >>> from datetime import datetime, UTC
        >>> from subkit.services.engine import BillingEngine
        >>> from subkit.testing import InMemoryStore, TestClock
        >>> from subkit.testing.gateway import FakeGateway
        >>> engine = BillingEngine(InMemoryStore(), TestClock(datetime(2027, 1, 1, tzinfo=UTC)))
        >>> collector = PaymentCollector(engine, FakeGateway()).attach()
        >>> collector.policy.retry_days
        (1, 3, 5, 7)
    """

    def __init__(
        self,
        engine: BillingEngine,
        gateway: PaymentGateway,
        clock: Clock | None = None,
        policy: DunningPolicy | None = None,
        *,
        ids: Callable[[str], str] | None = None,
        batch_size: int = 100,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        self.engine = engine
        self.store = store = engine.store
        self.gateway = gateway
        self.clock = clock or engine.clock
        self.policy = policy or DunningPolicy()
        self.batch_size = batch_size
        ids = ids or engine.new_id  # the engine's ids by default (deterministic in tests)

        def cancel_now(subscription_id: str, at: datetime) -> object:
            return engine.cancel(subscription_id, at_period_end=False, at=at)

        self._dunning = DunningService(store, self.policy, cancel_now)
        self._collection = Collection(
            store, gateway, self._dunning, retry=retry or RetryPolicy(), sleep=sleep
        )
        self._run = DunningRun(store, self._collection, self._dunning, batch_size=batch_size)
        self._methods = PaymentMethods(store, ids=ids, retry_open=self._collection.retry_open)
        self._transfers = Transfers(store, ids=ids)
        self._refunds = Refunds(store, gateway, issue_credit_note=engine.issue_credit_note, ids=engine.new_id)

    def _now(self, at: datetime | None) -> datetime:
        return ensure_aware(at) if at is not None else self.clock.now()

    def attach(self) -> Self:
        """Charge every invoice the engine finalizes open (subscribes to its ``invoice.finalized``)."""
        self.engine.bus.subscribe(EventType.INVOICE_FINALIZED, self._on_invoice_finalized)
        return self

    def _on_invoice_finalized(self, event: Event) -> None:
        self._collection.on_invoice_finalized(event.subject_id, self.clock.now())

    # ------------------------------------------------------------------ charging and dunning
    def collect(
        self, invoice_id: str, *, at: datetime | None = None, report: CollectionReport | None = None
    ) -> PaymentAttempt | None:
        """Charge an open invoice now (resuming a ``started`` attempt first, with its key).

        Returns the attempt, or ``None`` when nothing was charged: the invoice is not open,
        the customer pays by ``send_invoice`` or bank transfer, or a debit is pending. Given
        a ``report``, the attempt, a resumption and a final action it led to are counted in it.
        """
        return self._collection.collect(check_id(invoice_id, "invoice_id"), self._now(at), report)

    def retry_due(self, until: datetime | None = None) -> CollectionReport:
        """Run every dunning step due by ``until`` (default: now): retries, resumptions, final actions.

        Also resumes refunds left ``started`` or without their credit note, charges open
        invoices never attempted (a crash between finalization and the payment hook), marks
        ``send_invoice`` subscriptions past their pay-by date ``past_due``, and expires
        subscriptions ``incomplete`` for longer than the policy allows. Each invoice is
        handled at most once per call.
        """
        now = self.clock.now()
        until = ensure_aware(until, "until") if until is not None else now
        report = self._run.run(until, now)
        self._run.sweep(until, now, report)
        self._refunds.resume(now)
        return report

    def sync_pending(self, *, at: datetime | None = None) -> list[PaymentAttempt]:
        """Ask the gateway about every pending payment; record the ones that settled."""
        return self._collection.sync_pending(self._now(at))

    def apply_gateway_update(
        self, result: PaymentResult, *, at: datetime | None = None
    ) -> PaymentAttempt | None:
        """Record a settled payment the gateway told you about (a webhook).

        Returns the attempt it settled, or ``None`` when no pending attempt has
        that ``payment_id``: unknown, or already recorded (webhooks are delivered at least once).
        """
        return self._collection.apply_gateway_update(result, self._now(at))

    # ------------------------------------------------------------------ payment methods
    def add_payment_method(
        self,
        customer_id: str,
        details: PaymentMethodDetails | Mapping[str, object],
        *,
        metadata: Mapping[str, str] | None = None,
        make_default: bool | None = None,
        id: str | None = None,
        at: datetime | None = None,
    ) -> PaymentMethod:
        """Save a tokenized payment method (raw card data is refused: ``SensitiveDataError``).

        It becomes the default when ``make_default`` is true, or when the customer has none
        yet; a new default retries the customer's open invoices at once.
        """
        check_id(customer_id, "customer_id")
        check_optional_id(id, "id")
        if isinstance(details, Mapping):
            check_plain(details, "details")
        if metadata is not None:
            check_metadata(metadata)
        return self._methods.add(
            customer_id, details, at=self._now(at), metadata=metadata, make_default=make_default, id=id
        )

    def payment_methods(self, customer_id: str) -> list[PaymentMethod]:
        """A customer's saved payment methods (removed ones left out), oldest first."""
        return self._methods.of_customer(check_id(customer_id, "customer_id"))

    def remove_payment_method(
        self, customer_id: str, payment_method_id: str, *, at: datetime | None = None
    ) -> PaymentMethod:
        """Remove a payment method: it is never charged again; as a default it is cleared.

        A subscription that used it falls back to the customer's default. Idempotent.
        """
        return self._methods.remove(customer_id, payment_method_id, at=self._now(at))

    def set_default_payment_method(
        self,
        customer_id: str,
        payment_method_id: str,
        *,
        subscription_id: str | None = None,
        at: datetime | None = None,
    ) -> list[PaymentAttempt]:
        """Make a payment method the customer's default (or one subscription's); retry open invoices.

        Every open invoice that would now be charged to this method is retried at once
        (recovery), except those with a debit pending. Returns those attempts.
        """
        check_id(customer_id, "customer_id")
        check_id(payment_method_id, "payment_method_id")
        check_optional_id(subscription_id, "subscription_id")
        return self._methods.set_default(
            customer_id, payment_method_id, at=self._now(at), subscription_id=subscription_id
        )

    def expiring_cards(self, before: datetime, *, at: datetime | None = None) -> list[PaymentMethod]:
        """Warn about cards (and wallets) that expire before the renewal they would pay.

        For each live subscription renewing by ``before``, if the payment method it would be
        charged to expires at or before that renewal, a ``payment_method.expiring`` event is
        published, once per method and renewal. Returns the methods warned about.
        """
        now = self._now(at)
        return self._methods.expiring_cards(ensure_aware(before, "before"), at=now)

    # ------------------------------------------------------------------ transfers and refunds
    def pay_by_bank_transfer(
        self,
        invoice_id: str | None = None,
        *,
        amount_minor: int,
        reference: str | None = None,
        currency: str | None = None,
        transfer_id: str | None = None,
        at: datetime | None = None,
    ) -> list[PaymentAttempt]:
        """Reconcile an offline transfer, found by invoice id or by ``reference``.

        ``reference`` is an invoice number, or the reference of a customer's bank transfer
        payment method (the money then pays that customer's open invoices, oldest first).
        Less than due leaves the invoice open; more goes to the customer's credit balance.
        A repeated ``transfer_id`` (the bank's id; a re-imported statement) is ignored; reused
        with another amount, invoice, reference or currency it is an ``IdempotencyError``.
        Returns one succeeded attempt per invoice paid (and one without invoice for credit).
        """
        check_optional_id(invoice_id, "invoice_id")
        if reference is not None:
            check_text(reference, "reference")
        return self._transfers.pay(
            invoice_id,
            amount_minor=amount_minor,
            reference=reference,
            currency=currency,
            transfer_id=transfer_id,
            at=self._now(at),
        )

    def list_payments(self, **filters: Any) -> Page[PaymentAttempt]:
        """Payment attempts, newest first: ``engine.list_payments`` (``customer_id``, ``status``...)."""
        return self.engine.list_payments(**filters)

    def refund(
        self,
        invoice_id: str,
        amount_minor: int | None = None,
        *,
        reason: str = "",
        at: datetime | None = None,
    ) -> Refund:
        """Refund a paid invoice through the gateway (all that was charged, or ``amount_minor``).

        A credit note (``refund=True``) records it on the invoice; its id is on the refund
        (``credit_note_id``). A refund left ``started`` by a transport fault is resumed first,
        with its key: calling again after a ``GatewayError`` never refunds twice.
        """
        return self._refunds.refund(invoice_id, amount_minor, reason=reason, at=self._now(at))
