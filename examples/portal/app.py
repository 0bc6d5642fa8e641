"""An example customer portal: server-rendered pages on subkit's ``CustomerPortal`` (Starlette + Jinja2).

The host owns login and sessions (here: a password table and a signed cookie); subkit's
``CustomerPortal`` decides what the signed-in customer may see and do. Run it with::

    PYTHONPATH=src python examples/portal/app.py      # then open http://127.0.0.1:8000

and sign in as ``ada@example.com`` / ``portal-demo``. The demo business runs on a test
clock set to 16 April 2027, so the upgrade from Basic ($10) to Pro ($20) is prorated over the
15 days left of April's 30: $5.00 credited, $10.00 charged, $5.00 due now.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from subkit.adapters.render import render
from subkit.adapters.render.document import invoice_document
from subkit.catalog.catalog import Catalog, Plan, Product
from subkit.catalog.pricing import FlatFee, PerUnit
from subkit.core.money import format_money, from_minor, money
from subkit.errors import NotFoundError, QuoteExpiredError, StateError, SubkitError, ValidationError
from subkit.services.audit import AuditedStore
from subkit.services.collector import PaymentCollector
from subkit.services.engine import BillingEngine
from subkit.services.portal import CustomerPortal
from subkit.testing import InMemoryStore, TestClock
from subkit.testing.gateway import FakeGateway

__all__ = ["create_app", "demo_app", "price_text"]

HERE = Path(__file__).resolve().parent
#: What the gateway's card form would hand back in production: a token and what is safe to show.
TEST_CARDS = {
    "mastercard": {
        "token": "tok_mastercard",
        "brand": "mastercard",
        "last4": "4444",
        "exp_month": 8,
        "exp_year": 2031,
    },
    "amex": {"token": "tok_amex", "brand": "amex", "last4": "0005", "exp_month": 3, "exp_year": 2029},
}
COOKIE = "portal_session"


def _sign(secret: bytes, text: str) -> str:
    return hmac.new(secret, text.encode(), hashlib.sha256).hexdigest()


def price_text(plan: Plan, currency: str) -> str:
    """``$10.00 / month`` or ``$8.00 per seat / month``."""
    model = plan.prices[currency]
    every = (
        f"{plan.interval.count} {plan.interval.unit.value}s"
        if plan.interval.count != 1
        else plan.interval.unit.value
    )
    if isinstance(model, FlatFee):
        return f"{format_money(money(model.flat_amount, currency))} / {every}"
    if isinstance(model, PerUnit):
        return f"{format_money(money(model.unit_amount, currency))} per seat / {every}"
    return f"see pricing / {every}"


def create_app(
    engine: BillingEngine,
    collector: PaymentCollector | None,
    users: dict[str, tuple[str, str]],
    *,
    secret: bytes,
) -> Starlette:
    """The portal app. ``users`` maps a login email to (password, customer id): the host's part."""
    templates = Jinja2Templates(directory=str(HERE / "templates"))

    templates.env.filters["money"] = lambda minor, currency: format_money(
        from_minor(int(minor), str(currency))
    )
    templates.env.filters["day"] = lambda d: d.strftime("%d %b %Y") if d else ""
    templates.env.filters["price"] = price_text
    templates.env.filters["per_seat"] = lambda plan, currency: isinstance(plan.prices[currency], PerUnit)

    def signed_in(request: Request) -> CustomerPortal | None:
        value = request.cookies.get(COOKIE, "")
        customer_id, _, mac = value.partition(".")
        if not customer_id or not hmac.compare_digest(mac, _sign(secret, customer_id)):
            return None
        return CustomerPortal(
            engine,
            customer_id,
            collector=collector,
            # HTML: the library's invoice layout by default (customer's locale, tax summary,
            # legal mentions); PDF needs the optional extra, so the host wires it
            render_pdf=lambda inv, cus, seller: render(invoice_document(inv, cus, seller), "pdf"),
        )

    def csrf(portal: CustomerPortal) -> str:
        return _sign(secret, "csrf:" + portal.customer_id)

    def page(
        request: Request, portal: CustomerPortal, name: str, status: int = 200, **context: Any
    ) -> Response:
        context.update(customer=portal.customer(), csrf=csrf(portal))
        return templates.TemplateResponse(request, name, context, status_code=status)

    async def checked_form(request: Request, portal: CustomerPortal) -> dict[str, str]:
        form = {k: str(v) for k, v in (await request.form()).items()}
        if not hmac.compare_digest(form.get("csrf", ""), csrf(portal)):
            raise ValidationError("the form is stale; reload the page", field="csrf")
        return form

    def login_redirect() -> Response:
        return RedirectResponse("/login", status_code=303)

    async def login(request: Request) -> Response:
        error = ""
        if request.method == "POST":
            form = await request.form()
            email, password = str(form.get("email", "")).strip().lower(), str(form.get("password", ""))
            known = users.get(email)
            if known is not None and hmac.compare_digest(known[0], password):
                response = RedirectResponse("/plan", status_code=303)
                response.set_cookie(
                    COOKIE, f"{known[1]}.{_sign(secret, known[1])}", httponly=True, samesite="lax"
                )
                return response
            error = "Unknown email or wrong password."
        return templates.TemplateResponse(
            request, "login.html", {"error": error}, status_code=401 if error else 200
        )

    async def logout(request: Request) -> Response:
        response = login_redirect()
        response.delete_cookie(COOKIE)
        return response

    async def plan(request: Request) -> Response:
        portal = signed_in(request)
        if portal is None:
            return login_redirect()
        catalog = engine.catalog
        subs = [
            (s, [catalog.plan(i.plan_id, i.plan_version) for i in s.items]) for s in portal.subscriptions()
        ]
        return page(
            request,
            portal,
            "plan.html",
            subscriptions=subs,
            plans=portal.plans(),
            message=request.query_params.get("message", ""),
        )

    async def preview(request: Request) -> Response:
        portal = signed_in(request)
        if portal is None:
            return login_redirect()
        q = request.query_params
        seats = int(q["seats"]) if q.get("seats", "").isdigit() else None
        plan_id = q.get("plan") or None
        try:
            quote = portal.preview_change(q.get("subscription", ""), plan_id, quantity=seats)
        except (ValidationError, StateError) as err:
            return RedirectResponse("/plan?" + urlencode({"message": err.message}), status_code=303)
        target = engine.catalog.plan(plan_id) if plan_id else None
        return page(request, portal, "preview.html", quote=quote, target=target)

    async def confirm(request: Request) -> Response:
        portal = signed_in(request)
        if portal is None:
            return login_redirect()
        form = await checked_form(request, portal)
        try:
            portal.apply_change(
                form["subscription"],
                form.get("plan") or None,
                quantity=int(form["seats"]) if form.get("seats") else None,
                quoted_at=datetime.fromisoformat(form["quoted_at"]),
                version=int(form["version"]),
                expected_total_minor=int(form["total"]),
            )
        except QuoteExpiredError as err:
            return RedirectResponse("/plan?" + urlencode({"message": err.message}), status_code=303)
        return RedirectResponse("/invoices?message=Your plan was changed.", status_code=303)

    async def cancel(request: Request) -> Response:
        portal = signed_in(request)
        if portal is None:
            return login_redirect()
        form = await checked_form(request, portal)
        portal.cancel(request.path_params["id"], reason=form.get("reason", "")[:500])
        return RedirectResponse("/plan?message=Your subscription will end at the end of the period.", 303)

    async def resume(request: Request) -> Response:
        portal = signed_in(request)
        if portal is None:
            return login_redirect()
        await checked_form(request, portal)
        portal.resume(request.path_params["id"])
        return RedirectResponse("/plan?message=Your subscription continues.", status_code=303)

    async def payment(request: Request) -> Response:
        portal = signed_in(request)
        if portal is None:
            return login_redirect()
        if request.method == "POST":
            form = await checked_form(request, portal)
            if form.get("make_default"):
                portal.set_default_payment_method(form["make_default"])
            else:  # in production the token comes from the gateway's card form, never a card number
                card = TEST_CARDS[form.get("test_card", "")]
                portal.add_payment_method({"type": "card", **card})
            return RedirectResponse("/payment?message=Your default payment method was updated.", 303)
        return page(
            request,
            portal,
            "payment.html",
            methods=portal.payment_methods(),
            cards=TEST_CARDS,
            message=request.query_params.get("message", ""),
        )

    async def invoices(request: Request) -> Response:
        portal = signed_in(request)
        if portal is None:
            return login_redirect()
        return page(
            request,
            portal,
            "invoices.html",
            invoices=list(reversed(portal.invoices())),
            message=request.query_params.get("message", ""),
        )

    async def invoice(request: Request) -> Response:
        portal = signed_in(request)
        if portal is None:
            return login_redirect()
        return HTMLResponse(portal.invoice_document(request.path_params["id"]))

    async def invoice_pdf(request: Request) -> Response:
        portal = signed_in(request)
        if portal is None:
            return login_redirect()
        pdf = portal.invoice_pdf(request.path_params["id"])
        name = portal.invoice(request.path_params["id"]).number
        headers = {"Content-Disposition": f'attachment; filename="{name}.pdf"'}
        return Response(pdf, media_type="application/pdf", headers=headers)

    async def home(request: Request) -> Response:
        return RedirectResponse("/plan", status_code=303)

    async def not_found(request: Request, exc: Exception) -> Response:
        return HTMLResponse("<h1>Not found</h1><p><a href='/plan'>Back to your plan</a></p>", status_code=404)

    async def bad_input(request: Request, exc: Exception) -> Response:
        message = exc.message if isinstance(exc, SubkitError) else "bad request"
        return HTMLResponse(f"<h1>Sorry</h1><p>{escape(message)}</p><p><a href='/plan'>Back</a></p>", 400)

    return Starlette(
        routes=[
            Route("/", home),
            Route("/login", login, methods=["GET", "POST"]),
            Route("/logout", logout, methods=["POST"]),
            Route("/plan", plan),
            Route("/plan/preview", preview),
            Route("/plan/confirm", confirm, methods=["POST"]),
            Route("/subscriptions/{id}/cancel", cancel, methods=["POST"]),
            Route("/subscriptions/{id}/resume", resume, methods=["POST"]),
            Route("/payment", payment, methods=["GET", "POST"]),
            Route("/invoices", invoices),
            Route("/invoices/{id}", invoice),
            Route("/invoices/{id}/pdf", invoice_pdf),
        ],
        exception_handlers={NotFoundError: not_found, ValidationError: bad_input, StateError: bad_input},
    )


def demo_app() -> Starlette:
    """The demo business: Ada on Basic since 1 April 2027, the clock on 16 April."""
    clock = TestClock(datetime(2027, 4, 1, tzinfo=UTC))
    engine = BillingEngine(AuditedStore(InMemoryStore(), clock), clock)
    engine.set_catalog(
        Catalog(
            products=(Product(id="app", name="Notebook app"),),
            plans=(
                Plan(id="basic", product_id="app", name="Basic", prices={"USD": FlatFee(flat_amount="10")}),
                Plan(id="pro", product_id="app", name="Pro", prices={"USD": FlatFee(flat_amount="20")}),
                Plan(
                    id="team",
                    product_id="app",
                    name="Team (per seat)",
                    prices={"USD": PerUnit(unit_amount="8")},
                ),
            ),
        )
    )
    collector = PaymentCollector(engine, FakeGateway()).attach()
    ada = engine.create_customer(id="cus_ada", name="Ada Lovelace", email="ada@example.com", currency="USD")
    collector.add_payment_method(
        ada.id,
        {
            "type": "card",
            "token": "tok_visa",
            "brand": "visa",
            "last4": "4242",
            "exp_month": 12,
            "exp_year": 2030,
        },
    )
    engine.subscribe(ada.id, "basic", id="sub_ada")
    bo = engine.create_customer(id="cus_bo", name="Bo", email="bo@example.com", currency="USD")
    engine.subscribe(bo.id, "pro", id="sub_bo")  # another customer: Ada must never see it
    clock.travel_to(datetime(2027, 4, 16, tzinfo=UTC))
    users = {"ada@example.com": ("portal-demo", ada.id), "bo@example.com": ("portal-demo-bo", bo.id)}
    return create_app(engine, collector, users, secret=b"example-only-change-me")


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(demo_app(), host="127.0.0.1", port=8000)
