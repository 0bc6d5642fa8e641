"""GDPR: export everything subkit holds about a customer, erase it, purge it after retention.

:meth:`Privacy.export` answers an access request (GDPR art. 15, portability art. 20) with one
JSON document: the customer and every stored document that names it (subscriptions,
invoices, credit notes, pending items, payment methods and attempts, usage, audit entries,
webhook deliveries...), found through the stores' ``customer_id`` index.

:meth:`Privacy.erase` answers an erasure request (art. 17) in one unit of work: the customer's
name, email, address, tax ids and personal metadata are replaced by a pseudonym; the personal
metadata keys of its subscriptions and payment methods go; the free-text reasons of its audit
entries become ``[erased]``; a ``customer.erased`` event tells the other systems to erase too.
Finalized invoices and credit notes stay intact (art. 17(3)(b): a legal obligation to keep
them), and the identity they were issued to is kept in an
:class:`~subkit.customer.privacy.Erasure` record until the retention period after the last of
them ends; :meth:`Privacy.purge_due` then removes it and the personal fields of those
documents. Events, webhook bodies and the audit trail carry ids and amounts, never personal
data (the event catalog's schemas refuse other fields), so nothing personal is left there.

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.services.engine import BillingEngine
    >>> from subkit.testing import InMemoryStore, TestClock
    >>> clock = TestClock(datetime(2027, 1, 1, tzinfo=UTC))
    >>> engine = BillingEngine(InMemoryStore(), clock)
    >>> ada = engine.create_customer(name="Ada", email="ada@example.com", currency="EUR", id="cus_ada")
    >>> privacy = Privacy(engine.store, clock)
    >>> privacy.export("cus_ada")["customer"]["email"]
    'ada@example.com'
    >>> privacy.erase("cus_ada").documents_kept, engine.get_customer("cus_ada").email
    (0, '')
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from subkit.core.audit import AuditEntry
from subkit.core.events import Event, EventType
from subkit.core.model import Entity
from subkit.customer.customer import Customer
from subkit.customer.privacy import Erasure, identity_of, pseudonymized, retention_end
from subkit.errors import StateError, ValidationError
from subkit.invoice.invoice import CreditNote, Invoice, InvoiceItem
from subkit.payment.attempts import PaymentAttempt
from subkit.payment.methods import PaymentMethod
from subkit.ports import Clock, Store, UnitOfWork
from subkit.services.audit import redact_reasons
from subkit.services.webhooks import Delivery
from subkit.subscription.model import Subscription, SubscriptionStatus
from subkit.usage.event import UsageEvent

__all__ = ["ErasureReport", "Privacy", "PrivacyPolicy"]

#: Kinds exported even when nothing has imported them yet (others register by being imported).
_KNOWN: tuple[type[Entity], ...] = (
    Subscription,
    Invoice,
    InvoiceItem,
    CreditNote,
    PaymentMethod,
    PaymentAttempt,
    AuditEntry,
    Delivery,
    Erasure,
)
_LIVE = {SubscriptionStatus.CANCELED}


#: Usage events exported per subscription (an export is everything: no page limit in practice).
_ALL_USAGE = 10**9


@dataclass(frozen=True, slots=True)
class PrivacyPolicy:
    """How long finalized documents keep their customer's identity, and which metadata is personal.

    Example:
        >>> PrivacyPolicy(personal_metadata=frozenset({"phone"})).retention_years
        10
    """

    retention_years: int = 10
    personal_metadata: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not isinstance(self.retention_years, int) or self.retention_years < 0:
            raise ValidationError("retention_years is a whole number of years >= 0", field="retention_years")


@dataclass(frozen=True, slots=True)
class ErasureReport:
    """What an erasure did.

    Example:
        >>> ErasureReport("cus_1", documents_kept=2, retain_until=None, already=False).documents_kept
        2
    """

    customer_id: str
    documents_kept: int
    retain_until: datetime | None
    already: bool


def _kinds() -> list[type[Entity]]:
    """Every stored kind with a ``customer_id``: subkit's, and any other imported entity class."""
    found: dict[str, type[Entity]] = {k.kind: k for k in _KNOWN}
    todo = list(Entity.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.kind and "customer_id" in cls.model_fields and cls.kind not in found:
            found[cls.kind] = cls
    return sorted(found.values(), key=lambda k: k.kind)


class Privacy:
    """Export, erase and purge a customer's personal data (see the module docstring).

    Example:
        >>> from datetime import datetime, UTC
        >>> from subkit.testing import InMemoryStore, TestClock
        >>> Privacy(InMemoryStore(), TestClock(datetime(2027, 1, 1, tzinfo=UTC))).purge_due()
        []
    """

    def __init__(self, store: Store, clock: Clock, policy: PrivacyPolicy | None = None) -> None:
        self.store = store
        self.clock = clock
        self.policy = policy or PrivacyPolicy()

    # ------------------------------------------------------------------ access (art. 15, 20)
    def export(self, customer_id: str) -> dict[str, Any]:
        """Everything stored about the customer, as one JSON-ready document (``NotFoundError`` if none)."""
        with self.store.begin() as uow:
            customer = uow.get(Customer, customer_id)
            documents: dict[str, list[dict[str, Any]]] = {}
            for kind in _kinds():
                found = uow.find(kind, customer_id=customer_id)
                if found:
                    documents[kind.kind] = [e.model_dump(mode="json") for e in found]
            subscriptions = [s["id"] for s in documents.get(Subscription.kind, [])]
            usage = [
                UsageEvent.of(row, False)
                for sub_id in subscriptions
                for row in uow.usage.events(sub_id, limit=_ALL_USAGE)
            ]
            if usage:
                documents["usage_event"] = [
                    {
                        "id": u.id,
                        "subscription_id": u.subscription_id,
                        "metric": u.metric,
                        "timestamp": u.timestamp.isoformat(),
                        "quantity": str(u.quantity),
                        "properties": dict(u.properties),
                    }
                    for u in usage
                ]
        return {
            "format": "subkit.customer_export",
            "version": 1,
            "exported_at": self.clock.now().isoformat(),
            "customer": customer.model_dump(mode="json"),
            "documents": documents,
        }

    def export_json(self, customer_id: str) -> str:
        """:meth:`export` as JSON text (UTF-8, indented: a person may read it)."""
        return json.dumps(self.export(customer_id), indent=2, ensure_ascii=False)

    # ------------------------------------------------------------------ erasure (art. 17)
    def erase(self, customer_id: str, *, at: datetime | None = None) -> ErasureReport:
        """Pseudonymize the customer's personal data; keep finalized documents for the retention period.

        Refused (``StateError``) while a subscription is not canceled: cancel it first.
        Erasing again changes nothing.
        """
        now = at or self.clock.now()
        with self.store.begin() as uow:
            customer = uow.get(Customer, customer_id)
            record_id = f"erasure_{customer_id}"
            done = uow.get_many(Erasure, [record_id]).get(record_id)
            if done is not None:
                return ErasureReport(customer_id, len(done.documents), done.retain_until, already=True)
            live = [s.id for s in uow.subscriptions.for_customer(customer_id) if s.status not in _LIVE]
            if live:
                raise StateError(
                    f"customer {customer_id!r} still has live subscriptions ({', '.join(live)}); "
                    "cancel them before erasing the customer",
                    field="customer_id",
                )
            invoices = [i for i in uow.invoices.for_customer(customer_id) if i.finalized_at is not None]
            notes = uow.credit_notes.for_customer(customer_id)
            issued = [i.finalized_at for i in invoices if i.finalized_at] + [n.created_at for n in notes]
            until = retention_end(issued, years=self.policy.retention_years)
            documents = tuple(i.id for i in invoices) + tuple(n.id for n in notes)
            uow.add(
                Erasure(
                    id=record_id,
                    customer_id=customer_id,
                    erased_at=now,
                    retain_until=until,
                    due_at=until,
                    identity=identity_of(customer) if documents else None,
                    documents=documents,
                )
            )
            personal = self.policy.personal_metadata
            uow.update(pseudonymized(customer, personal_metadata=personal))
            self._strip_metadata(uow, customer_id, personal)
            redact_reasons(uow, customer_id)
            uow.publish(Event.of(EventType.CUSTOMER_ERASED, now, customer_id, customer_id=customer_id))
        return ErasureReport(customer_id, len(documents), until, already=False)

    def _strip_metadata(self, uow: UnitOfWork, customer_id: str, personal: Collection[str]) -> None:
        if not personal:
            return
        owned: list[Subscription | PaymentMethod] = [
            *uow.subscriptions.for_customer(customer_id),
            *uow.payment_methods.for_customer(customer_id),
        ]
        for entity in owned:
            if personal & entity.metadata.keys():
                kept = {k: v for k, v in entity.metadata.items() if k not in personal}
                uow.update(entity.bumped(metadata=kept))

    # ------------------------------------------------------------------ after the retention period
    def purge_due(self, *, at: datetime | None = None, limit: int = 100) -> list[str]:
        """Purge the erasures whose retention period has ended; the customers purged.

        The identity kept for the invoices goes, and so do the personal fields of those
        documents (the customer's tax id and the personal metadata of invoices, the free-text
        reason of credit notes). Amounts stay: without a person, they are no longer personal.
        """
        now = at or self.clock.now()
        purged = []
        with self.store.begin() as uow:
            for record in uow.due(Erasure, now, limit):
                personal = self.policy.personal_metadata
                for inv in uow.get_many(Invoice, list(record.documents)).values():
                    meta = {k: v for k, v in inv.metadata.items() if k not in personal}
                    if inv.customer_tax_id is not None or meta != inv.metadata:
                        uow.update(inv.bumped(customer_tax_id=None, metadata=meta))
                for note in uow.get_many(CreditNote, list(record.documents)).values():
                    if note.reason:
                        uow.update(note.bumped(reason=""))
                uow.update(record.bumped(identity=None, due_at=None, purged_at=now))
                purged.append(record.customer_id)
        return purged
