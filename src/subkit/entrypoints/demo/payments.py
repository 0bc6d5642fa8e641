"""Card payments in the demo: the only place it touches payment collection (optional).

:func:`card_payments` attaches a :class:`~subkit.services.collector.PaymentCollector`
on a ``FakeGateway`` that declines a few cards; without the payments capability it
returns ``None`` and the demo bills without collecting.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from subkit.core.events import EventType
from subkit.customer.customer import Customer
from subkit.invoice.invoice import Invoice, InvoiceStatus
from subkit.services.engine import BillingEngine

__all__ = ["Payments", "card_payments"]


@dataclass(frozen=True, slots=True)
class Payments:
    """Hooks into payment collection (built by :func:`card_payments` when payments are installed)."""

    #: Give a new customer a card (or an invoice to pay by transfer); returns what the card will do.
    onboard: Callable[[Customer], str]
    #: The customer replaces a declined card (its open invoices are retried at once).
    new_card: Callable[[str], None]
    #: Settle a customer's open invoices by bank transfer; returns how many.
    transfer: Callable[[str], int]
    #: Refund part of a paid invoice through the gateway; ``False`` if it was not charged by card.
    refund: Callable[[Invoice, int], bool]
    #: Run the dunning schedule (retries, final actions) due now.
    collect: Callable[[], None]
    #: Counts for the summary.
    report: Callable[[], tuple[tuple[str, int], ...]]


def card_payments(engine: BillingEngine, rng: random.Random, ids: Callable[[str], str]) -> Payments | None:
    """Card payments through a ``FakeGateway``, with a few declines, when payments exist.

    The only place the demo touches payments: ``None`` (bill without collecting) when
    the payments capability is not installed.
    """
    try:
        from subkit.customer.customer import CollectionMethod
        from subkit.payment.results import PaymentStatus
        from subkit.services.collector import PaymentCollector
        from subkit.testing.gateway import FakeGateway, decline
    except ImportError:
        return None

    gateway = FakeGateway()
    collector = PaymentCollector(engine, gateway, ids=ids).attach()
    cards: Counter[str] = Counter()
    counts: Counter[str] = Counter()

    def card(customer_id: str) -> dict[str, object]:
        cards[customer_id] += 1
        token = f"tok_{customer_id}_{cards[customer_id]}"
        return {
            "type": "card",
            "token": token,
            "brand": rng.choice(("visa", "mastercard", "amex")),
            "last4": f"{rng.randrange(10_000):04d}",
            "exp_month": rng.randint(1, 12),
            "exp_year": rng.randint(2028, 2031),
        }

    def onboard(customer: Customer) -> str:
        roll = rng.randrange(100)
        if roll < 5:  # pays its invoices by bank transfer
            engine.update_customer(customer.id, collection_method=CollectionMethod.SEND_INVOICE)
            return "transfer"
        details = card(customer.id)
        token = str(details["token"])
        collector.add_payment_method(customer.id, details)
        if roll < 13:  # not enough funds today: the retry a day later succeeds
            gateway.script(decline("insufficient_funds"), token=token)
            return "soft"
        if roll < 16:  # a card reported stolen: no retry until the customer gives another card
            gateway.script(decline("stolen_card"), token=token)
            return "hard"
        if roll < 17:  # never pays: dunning runs out and cancels the subscription
            gateway.script(*(decline("insufficient_funds") for _ in range(8)), token=token)
            return "lost"
        return "ok"

    def new_card(customer_id: str) -> None:
        collector.add_payment_method(customer_id, card(customer_id), make_default=True)
        counts["new_cards"] += 1

    def transfer(customer_id: str) -> int:
        paid = 0
        for inv in engine.invoices(customer_id):
            if inv.status == InvoiceStatus.OPEN and inv.amount_remaining_minor > 0:
                collector.pay_by_bank_transfer(inv.id, amount_minor=inv.amount_remaining_minor)
                paid += 1
        counts["transfers"] += paid
        return paid

    def refund(invoice: Invoice, amount_minor: int) -> bool:
        charged = any(c.metadata.get("invoice_id") == invoice.id for c in gateway.succeeded_charges)
        if not charged:
            return False
        collector.refund(invoice.id, amount_minor, reason="Service credit, refunded to the card")
        counts["refunds"] += 1
        return True

    def collect() -> None:
        collector.retry_due()

    def report() -> tuple[tuple[str, int], ...]:
        status = Counter(c.status for c in gateway.charges)
        # Final actions are read from the outbox: the demo has no publisher, so it holds every event.
        finals = sum(
            1
            for e in engine.store.pending_events(10**9)
            if e.type == EventType.DUNNING_STEP and e.data.get("action") == "final_action"
        )
        return (
            ("card charges", len(gateway.charges)),
            ("succeeded", status[PaymentStatus.SUCCEEDED]),
            ("declined", status[PaymentStatus.DECLINED] + status[PaymentStatus.FAILED]),
            ("cards replaced after a decline", counts["new_cards"]),
            ("dunning final actions", finals),
            ("bank transfers", counts["transfers"]),
            ("refunds", counts["refunds"]),
        )

    return Payments(onboard, new_card, transfer, refund, collect, report)
