"""``subkit customers list``, ``subkit customers find --email`` and ``subkit customers show``.

Example:
    >>> sorted(COMMANDS), GROUP
    (['customers find', 'customers list', 'customers show'], 'List, find and show customers')
"""

from __future__ import annotations

import argparse

from subkit.core.paging import Page
from subkit.customer.customer import Customer
from subkit.entrypoints.cli.command import Arg, Command
from subkit.entrypoints.cli.context import EXIT_OK, Context
from subkit.entrypoints.cli.output import JSON, PAGE, day, emit_page, print_table
from subkit.entrypoints.text import money
from subkit.errors import NotFoundError
from subkit.services.engine import BillingEngine
from subkit.subscription.model import LIVE, Subscription

__all__ = ["COMMANDS", "GROUP", "get_customer"]


def get_customer(engine: BillingEngine, customer_id: str) -> Customer:
    """The customer ``customer_id``; not found, a :class:`NotFoundError` that says where to look."""
    try:
        return engine.get_customer(customer_id)
    except NotFoundError:
        raise NotFoundError(
            f"no customer {customer_id!r} (see 'subkit customers list')", field="customer"
        ) from None


def _customers_list(args: argparse.Namespace, ctx: Context) -> int:
    """List customers, newest first (--limit, --after; --currency), with live subscriptions and balance."""
    engine = ctx.engine()
    page = engine.list_customers(currency=args.currency, limit=args.limit, after=args.after)
    _print_customers(ctx, engine, page)
    return EXIT_OK


def _customers_find(args: argparse.Namespace, ctx: Context) -> int:
    """Find the customers with an --email address (case-insensitive, the whole address), oldest first."""
    engine = ctx.engine()
    found = engine.customers_by_email(args.email)
    _print_customers(ctx, engine, Page(tuple(found), False, None))
    return EXIT_OK


def _print_customers(ctx: Context, engine: BillingEngine, page: Page[Customer]) -> None:
    with engine.store.begin() as uow:
        subs = uow.find(Subscription, customer_id=[c.id for c in page]) if page.items else []
    live: dict[str, int] = {}
    total: dict[str, int] = {}
    for s in subs:
        total[s.customer_id] = total.get(s.customer_id, 0) + 1
        if s.status in LIVE:
            live[s.customer_id] = live.get(s.customer_id, 0) + 1
    rows = [
        (
            c.id,
            c.name,
            c.country,
            c.currency,
            c.locale,
            c.timezone,
            f"{live.get(c.id, 0)}/{total.get(c.id, 0)}",
            money(c.credit_minor, c.currency),
        )
        for c in page
    ]
    records = [
        {
            "id": c.id,
            "name": c.name,
            "email": c.email,
            "external_id": c.external_id,
            "country": c.country,
            "currency": c.currency,
            "locale": c.locale,
            "timezone": c.timezone,
            "credit_minor": c.credit_minor,
            "created_at": c.created_at,
            "live_subscriptions": live.get(c.id, 0),
            "subscriptions": total.get(c.id, 0),
        }
        for c in page
    ]
    header = ("ID", "Name", "Country", "Currency", "Locale", "Time zone", "Live/all subs", "Balance")
    emit_page(ctx, header, rows, records, page, right=(6, 7), noun="customers")


def _customers_show(args: argparse.Namespace, ctx: Context) -> int:
    """Print one customer: details, subscriptions and invoices."""
    engine = ctx.engine()
    c = get_customer(engine, args.id)
    ctx.out(f"{c.name} ({c.id})")
    details = [
        ("Email", c.email),
        ("Country", c.country),
        ("Currency", c.currency),
        ("Locale", c.locale),
        ("Time zone", c.timezone),
        ("Credit balance", money(c.credit_minor, c.currency)),
        ("Collection", c.collection_method.value),
    ]
    for key, value in details:
        if value:
            ctx.out(f"  {key + ':':<16}{value}")
    with engine.store.begin() as uow:
        subs = uow.find(Subscription, customer_id=c.id)
    ctx.out("Subscriptions:" if subs else "Subscriptions: none")
    rows = [
        (
            f"  {s.id}",
            s.status.value + (" (cancels at period end)" if s.cancel_at_period_end else ""),
            ", ".join(f"{it.plan_id} v{it.plan_version} x {it.quantity.normalize():f}" for it in s.items),
            f"{day(s.period_start)} to {day(s.period_end)}",
            day(s.due_at) or "-",
        )
        for s in subs
    ]
    if rows:
        print_table(ctx, ("  ID", "Status", "Items", "Current period", "Next due"), rows)
    invoices = engine.invoices(c.id)
    billed = sum(i.total_minor for i in invoices if i.currency == c.currency)
    due = sum(i.amount_remaining_minor for i in invoices if i.currency == c.currency)
    ctx.out(
        f"Invoices: {len(invoices)}, total {money(billed, c.currency)}, due {money(due, c.currency)}"
        + (f" (see 'subkit invoices list --customer {c.id}')" if invoices else "")
    )
    return EXIT_OK


#: The group's help.
GROUP = "List, find and show customers"
#: The commands, for :data:`subkit.entrypoints.cli.COMMANDS`.
COMMANDS: dict[str, Command] = {
    "customers list": Command(
        _customers_list, Arg("--currency", metavar="CODE", help="only customers billed in CODE"), *PAGE, JSON
    ),
    "customers find": Command(
        _customers_find, Arg("--email", metavar="ADDRESS", required=True, help="the e-mail address"), JSON
    ),
    "customers show": Command(_customers_show, Arg("id", metavar="ID", help="customer id")),
}
