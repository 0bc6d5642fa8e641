"""Customer self-service: what one signed-in customer may see and do, and nothing more.

The host authenticates (its login, its session) and builds a :class:`CustomerPortal` for the
customer it signed in; the portal authorizes. Every object is looked up through the customer:
another customer's subscription, invoice or payment method is reported exactly as one that
does not exist (``NotFoundError``, the same message), so the portal reveals nothing.

A plan or seat change is a **quote, then a confirmation**. :meth:`CustomerPortal.preview_change`
prices the change at an instant and returns a :class:`ChangeQuote` with the exact lines and
total; :meth:`CustomerPortal.apply` makes the change *at that same instant* (as Stripe's
``proration_date``), so the customer is charged what was shown, to the cent. A quote expires
after ``quote_ttl``, and is refused (``QuoteExpiredError``) when the subscription changed since,
or the amounts would differ: preview again.

Every change is made as ``Actor(kind="customer", id=...)`` (see :mod:`subkit.services.audit`),
with the cancellation reason as the audit trail's "why".

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.catalog.catalog import Catalog, Plan, Product
    >>> from subkit.catalog.pricing import FlatFee
    >>> from subkit.services.engine import BillingEngine
    >>> from subkit.testing import InMemoryStore, TestClock
    >>> clock = TestClock(datetime(2027, 4, 1, tzinfo=UTC))
    >>> engine = BillingEngine(InMemoryStore(), clock)
    >>> engine.set_catalog(Catalog(products=(Product(id="app", name="App"),), plans=(
    ...     Plan(id="basic", product_id="app", name="Basic", prices={"USD": FlatFee(flat_amount="10")}),
    ...     Plan(id="pro", product_id="app", name="Pro", prices={"USD": FlatFee(flat_amount="20")}))))
    >>> ada = engine.create_customer(name="Ada", currency="USD")
    >>> sub = engine.subscribe(ada.id, "basic")
    >>> _ = clock.travel_to(datetime(2027, 4, 16, tzinfo=UTC))     # 15 of April's 30 days left
    >>> portal = CustomerPortal(engine, ada.id)
    >>> quote = portal.preview_change(sub.id, "pro")
    >>> [line.amount_minor for line in quote.lines], quote.total_minor
    ([-500, 1000], 500)
    >>> portal.apply(quote).items[0].plan_id, portal.invoices()[-1].total_minor
    ('pro', 500)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from subkit.adapters.render.document import invoice_document
from subkit.adapters.render.html import render_html as html_page
from subkit.catalog.catalog import Plan, PlanKind
from subkit.core.audit import Actor
from subkit.core.deprecation import renamed_keyword
from subkit.core.periods import ensure_aware
from subkit.customer.customer import Customer, Seller
from subkit.errors import NotFoundError, QuoteExpiredError, StateError, ValidationError
from subkit.invoice.invoice import Invoice, InvoiceLine
from subkit.payment.methods import PaymentMethod
from subkit.services.audit import acting_as
from subkit.subscription.model import Subscription, SubscriptionStatus
from subkit.subscription.proration import ProrationBehavior

if TYPE_CHECKING:
    from subkit.services.collector import PaymentCollector
    from subkit.services.engine import BillingEngine

__all__ = ["ChangeQuote", "CustomerPortal", "InvoiceRenderer", "PdfRenderer", "render_html"]

#: ``render(invoice, customer, seller)`` -> an HTML document (e.g. ``subkit.adapters.render``'s).
InvoiceRenderer = Callable[[Invoice, Customer, Seller | None], str]
#: ``render(invoice, customer, seller)`` -> a PDF file's bytes.
PdfRenderer = Callable[[Invoice, Customer, Seller | None], bytes]


def render_html(invoice: Invoice, customer: Customer, seller: Seller | None) -> str:
    """The default :data:`InvoiceRenderer`: the library's one invoice layout (``subkit.adapters.render``).

    The same page as ``render_invoice(store, invoice_id, "html", seller=...)``: the customer's
    locale, the tax summary, the legal mentions; every text escaped.

    Example:
        >>> from datetime import datetime, UTC
        >>> from subkit.invoice.invoice import Invoice, InvoiceLine, LineKind, InvoiceStatus
        >>> at = datetime(2027, 1, 1, tzinfo=UTC)
        >>> inv = Invoice(id="in_1", customer_id="cus_1", currency="USD", number="INV-000001",
        ...               status=InvoiceStatus.OPEN, created_at=at, finalized_at=at,
        ...               lines=(InvoiceLine(description="Pro <monthly>", kind=LineKind.RECURRING,
        ...                                  amount_minor=2000),),
        ...               subtotal_minor=2000, total_minor=2000, amount_due_minor=2000)
        >>> page = render_html(inv, Customer(id="cus_1", name="Ada & Co", currency="USD"), None)
        >>> "Pro &lt;monthly&gt;" in page, "Ada &amp; Co" in page, "$20.00" in page
        (True, True, True)
    """
    return html_page(invoice_document(invoice, customer, seller))


@dataclass(frozen=True, slots=True)
class ChangeQuote:
    """A priced plan or seat change, to show before the customer confirms.

    ``lines`` are the invoice lines the change bills now (credits for unused time are
    negative), ``total_minor`` their total with discounts and tax; ``effective_at`` is when
    the change happens (``at`` for an upgrade, the period end for a scheduled downgrade, with
    nothing billed now). ``version`` is the subscription's version the quote was made on.

    Example:
        >>> from datetime import datetime, UTC
        >>> q = ChangeQuote("sub_1", "pro", None, datetime(2027, 1, 1, tzinfo=UTC), 3, (), 0, "USD",
        ...                 datetime(2027, 2, 1, tzinfo=UTC))
        >>> q.immediate
        False
    """

    subscription_id: str
    plan_id: str | None
    quantity: int | None
    at: datetime
    version: int
    lines: tuple[InvoiceLine, ...]
    total_minor: int
    currency: str
    effective_at: datetime

    @property
    def immediate(self) -> bool:
        """Whether the change happens at once (it bills ``lines`` now)."""
        return self.effective_at <= self.at


def _total(lines: tuple[InvoiceLine, ...]) -> int:
    return sum(line.amount_minor - line.discount_minor + line.tax_minor for line in lines)


class CustomerPortal:
    """Everything one customer may do to their own billing (see the module docstring).

    ``collector`` enables the payment-method pages; ``render_invoice`` renders the invoice
    download as HTML (default: :func:`render_html`, the library's layout) and ``render_pdf``
    as PDF (none by default: PDF needs the optional extra, so the host wires it, as
    ``examples/portal`` does);
    ``proration_behavior`` is how an immediate change is billed (default: invoiced at once;
    ``proration=`` is its deprecated alias).

    Example:
        >>> from datetime import datetime, UTC
        >>> from subkit.services.engine import BillingEngine
        >>> from subkit.testing import InMemoryStore, TestClock
        >>> engine = BillingEngine(InMemoryStore(), TestClock(datetime(2027, 1, 1, tzinfo=UTC)))
        >>> _ = engine.create_customer(name="Ada", currency="EUR", id="cus_ada")
        >>> CustomerPortal(engine, "cus_ada").subscription("sub_of_someone_else")
        Traceback (most recent call last):
        ...
        subkit.errors.NotFoundError: [not_found] subscription_id: no subscription 'sub_of_someone_else'
    """

    def __init__(
        self,
        engine: BillingEngine,
        customer_id: str,
        *,
        collector: PaymentCollector | None = None,
        render_invoice: InvoiceRenderer | None = None,
        render_pdf: PdfRenderer | None = None,
        proration_behavior: ProrationBehavior | None = None,
        quote_ttl: timedelta = timedelta(minutes=30),
        proration: ProrationBehavior | None = None,
    ) -> None:
        self.engine = engine
        self.collector = collector
        self.render_invoice = render_invoice or render_html
        self.render_pdf = render_pdf
        self.proration_behavior = (
            renamed_keyword("proration", proration, "proration_behavior", proration_behavior)
            or ProrationBehavior.ALWAYS_INVOICE
        )
        self.quote_ttl = quote_ttl
        try:
            self._customer = engine.get_customer(customer_id)
        except NotFoundError:
            raise NotFoundError(f"no customer {customer_id!r}", field="customer_id") from None
        self.customer_id = customer_id
        self.actor = Actor(kind="customer", id=customer_id)

    # ------------------------------------------------------------------ reading
    def customer(self) -> Customer:
        """The signed-in customer (as stored now)."""
        return self.engine.get_customer(self.customer_id)

    def plans(self) -> list[Plan]:
        """The catalog's current base plans priced in the customer's currency (what they may switch to).

        Metered plans and add-ons are not offered: they are added next to a plan, not switched to.
        """
        catalog = self.engine.catalog
        currency = self._customer.currency
        latest = {p.id: catalog.plan(p.id) for p in catalog.plans}
        return [
            p
            for p in latest.values()
            if currency in p.prices and p.metric is None and p.kind == PlanKind.PLAN
        ]

    def subscriptions(self) -> list[Subscription]:
        """The customer's subscriptions, oldest first."""
        with self.engine.store.begin() as uow:
            return uow.subscriptions.for_customer(self.customer_id)

    def subscription(self, subscription_id: str) -> Subscription:
        """One of the customer's subscriptions (``NotFoundError`` for any other id)."""
        try:
            sub = self.engine.get_subscription(subscription_id)
        except NotFoundError:
            sub = None
        if sub is None or sub.customer_id != self.customer_id:
            raise NotFoundError(f"no subscription {subscription_id!r}", field="subscription_id")
        return sub

    def invoices(self) -> list[Invoice]:
        """The customer's issued invoices (drafts are not shown), oldest first."""
        return [i for i in self.engine.invoices(self.customer_id) if i.number is not None]

    def invoice(self, invoice_id: str) -> Invoice:
        """One of the customer's issued invoices (``NotFoundError`` for any other id)."""
        try:
            inv = self.engine.get_invoice(invoice_id)
        except NotFoundError:
            inv = None
        if inv is None or inv.customer_id != self.customer_id or inv.number is None:
            raise NotFoundError(f"no invoice {invoice_id!r}", field="invoice_id")
        return inv

    def invoice_document(self, invoice_id: str) -> str:
        """The invoice to download, as HTML (``render_invoice``)."""
        inv = self.invoice(invoice_id)
        return self.render_invoice(inv, self.customer(), self.engine.config.seller)

    def invoice_pdf(self, invoice_id: str) -> bytes:
        """The invoice to download, as PDF (``render_pdf``; ``StateError`` when none was given)."""
        inv = self.invoice(invoice_id)
        if self.render_pdf is None:
            raise StateError("this portal renders no PDF: build it with render_pdf=...", field="render_pdf")
        return self.render_pdf(inv, self.customer(), self.engine.config.seller)

    # ------------------------------------------------------------------ changing plan or seats
    def preview_change(
        self, subscription_id: str, plan_id: str | None = None, *, quantity: int | None = None
    ) -> ChangeQuote:
        """Price moving to ``plan_id`` and/or ``quantity`` seats now; nothing is written."""
        sub = self.subscription(subscription_id)
        self._check_change(sub, plan_id, quantity)
        at = self.engine.clock.now()
        lines = tuple(
            self.engine.preview_change(
                sub.id,
                plan_id,
                quantity=quantity,
                when="auto",
                proration_behavior=self.proration_behavior,
                at=at,
            )
        )
        effective = at if lines else sub.period_end  # "auto" schedules a downgrade for the period end
        return ChangeQuote(
            sub.id, plan_id, quantity, at, sub.version, lines, _total(lines), sub.currency, effective
        )

    def apply(self, quote: ChangeQuote) -> Subscription:
        """Make the quoted change at the quote's instant, if it still gives the amounts shown."""
        return self.apply_change(
            quote.subscription_id,
            quote.plan_id,
            quantity=quote.quantity,
            quoted_at=quote.at,
            version=quote.version,
            expected_total_minor=quote.total_minor,
        )

    def apply_change(
        self,
        subscription_id: str,
        plan_id: str | None = None,
        *,
        quantity: int | None = None,
        quoted_at: datetime,
        version: int,
        expected_total_minor: int,
    ) -> Subscription:
        """:meth:`apply` from a quote's fields (what a web form sends back)."""
        sub = self.subscription(subscription_id)
        self._check_change(sub, plan_id, quantity)
        at = ensure_aware(quoted_at, "quoted_at")
        now = self.engine.clock.now()
        if not (now - self.quote_ttl <= at <= now):
            raise QuoteExpiredError(
                "this price quote has expired; preview the change again", field="quoted_at"
            )
        if sub.version != version:
            raise QuoteExpiredError(
                "the subscription changed since this quote; preview again", field="version"
            )
        lines = tuple(
            self.engine.preview_change(
                sub.id,
                plan_id,
                quantity=quantity,
                when="auto",
                proration_behavior=self.proration_behavior,
                at=at,
            )
        )
        if _total(lines) != expected_total_minor:
            raise QuoteExpiredError("the amounts changed since this quote; preview again", field="total")
        with acting_as(self.actor):
            return self.engine.change_plan(
                sub.id,
                plan_id,
                quantity=quantity,
                when="auto",
                proration_behavior=self.proration_behavior,
                at=at,
            )

    def _check_change(self, sub: Subscription, plan_id: str | None, quantity: int | None) -> None:
        if sub.status == SubscriptionStatus.CANCELED:
            raise StateError("this subscription has ended; it cannot be changed", field="subscription_id")
        if plan_id is None and quantity is None:
            raise ValidationError("choose a plan or a number of seats", field="plan_id")
        if plan_id is not None and plan_id not in {p.id for p in self.plans()}:
            raise NotFoundError(f"no plan {plan_id!r}", field="plan_id")
        if quantity is not None and (
            isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1
        ):
            raise ValidationError("seats are a whole number of at least 1", field="quantity")

    # ------------------------------------------------------------------ cancel and resume
    def cancel(self, subscription_id: str, *, reason: str = "") -> Subscription:
        """Cancel at the end of the paid period; ``reason`` goes to the audit trail (the "why")."""
        sub = self.subscription(subscription_id)
        with acting_as(self.actor, reason=reason):
            return self.engine.cancel(sub.id, at_period_end=True)

    def resume(self, subscription_id: str) -> Subscription:
        """Undo a cancellation at period end, or resume a paused subscription."""
        sub = self.subscription(subscription_id)
        with acting_as(self.actor):
            if sub.cancel_at_period_end:
                return self.engine.reactivate(sub.id)
            if sub.status == SubscriptionStatus.PAUSED:
                return self.engine.resume(sub.id)
        raise StateError("this subscription is neither canceling nor paused: nothing to resume")

    # ------------------------------------------------------------------ payment methods
    def _payments(self) -> PaymentCollector:
        if self.collector is None:
            raise StateError("this portal has no payment collector: build it with collector=...")
        return self.collector

    def payment_methods(self) -> list[PaymentMethod]:
        """The customer's saved payment methods (tokens and what is safe to show)."""
        return self._payments().payment_methods(self.customer_id)

    def add_payment_method(self, details: Mapping[str, object]) -> PaymentMethod:
        """Save a tokenized method (from the gateway's card form) as the new default."""
        with acting_as(self.actor):
            return self._payments().add_payment_method(self.customer_id, details, make_default=True)

    def set_default_payment_method(self, payment_method_id: str) -> Customer:
        """Make one of the customer's saved methods the default (open invoices are retried on it)."""
        if payment_method_id not in {pm.id for pm in self.payment_methods()}:
            raise NotFoundError(f"no payment method {payment_method_id!r}", field="payment_method_id")
        with acting_as(self.actor):
            self._payments().set_default_payment_method(self.customer_id, payment_method_id)
        return self.customer()
