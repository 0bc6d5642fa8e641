"""``subkit subscriptions list|show|cancel|change``.

Example:
    >>> sorted(COMMANDS)
    ['subscriptions cancel', 'subscriptions change', 'subscriptions list', 'subscriptions show']
    >>> GROUP
    'List, show, cancel and change subscriptions'
"""

from __future__ import annotations

import argparse
from typing import Any

from subkit.entrypoints.cli.command import Arg, Command
from subkit.entrypoints.cli.context import EXIT_OK, Context
from subkit.entrypoints.cli.customers import get_customer
from subkit.entrypoints.cli.output import (
    JSON,
    PAGE,
    emit_page,
    local_day,
    print_json,
    print_table,
    wants_json,
)
from subkit.entrypoints.text import money
from subkit.errors import NotFoundError, ValidationError
from subkit.services.engine import BillingEngine
from subkit.subscription.model import Subscription, SubscriptionStatus

__all__ = ["COMMANDS", "GROUP", "get_subscription", "subscription_record"]


def get_subscription(engine: BillingEngine, subscription_id: str) -> Subscription:
    """The subscription ``subscription_id``; not found, an error that says where to look."""
    try:
        return engine.get_subscription(subscription_id)
    except NotFoundError:
        raise NotFoundError(
            f"no subscription {subscription_id!r} (see 'subkit subscriptions list')", field="subscription"
        ) from None


def subscription_record(s: Subscription) -> dict[str, Any]:
    """What ``--json`` prints for a subscription."""
    return {
        "id": s.id,
        "customer_id": s.customer_id,
        "status": s.status.value,
        "currency": s.currency,
        "timezone": s.timezone,
        "items": [
            {"id": it.id, "plan_id": it.plan_id, "plan_version": it.plan_version, "quantity": it.quantity}
            for it in s.items
        ],
        "period_start": s.period_start,
        "period_end": s.period_end,
        "cancel_at_period_end": s.cancel_at_period_end,
        "canceled_at": s.canceled_at,
        "next_due": s.due_at,
        "scheduled_changes": [
            {
                "at": c.at,
                "action": c.action.value,
                "item_id": c.item_id,
                "plan_id": c.plan_id,
                "quantity": c.quantity,
            }
            for c in s.schedule
        ],
    }


def _items(s: Subscription) -> str:
    return ", ".join(f"{it.plan_id} v{it.plan_version} x {it.quantity.normalize():f}" for it in s.items)


def _status(s: Subscription) -> str:
    return s.status.value + (" (cancels at period end)" if s.cancel_at_period_end else "")


def _subscriptions_list(args: argparse.Namespace, ctx: Context) -> int:
    """List subscriptions, newest first (--limit, --after), all or one --customer's or one --status.

    Dates are the customer's local dates (the subscription's time zone).
    """
    engine = ctx.engine()
    if args.customer:
        get_customer(engine, args.customer)
    subs = engine.list_subscriptions(
        customer_id=args.customer, status=args.status, limit=args.limit, after=args.after
    )
    rows = [
        (
            s.id,
            s.customer_id,
            _status(s),
            _items(s),
            f"{local_day(s.period_start, s.timezone)} to {local_day(s.period_end, s.timezone)}",
            local_day(s.due_at, s.timezone) or "-",
        )
        for s in subs
    ]
    header = ("ID", "Customer", "Status", "Items", "Period (customer's dates)", "Next due")
    emit_page(ctx, header, rows, [subscription_record(s) for s in subs], subs, noun="subscriptions")
    return EXIT_OK


def _subscriptions_show(args: argparse.Namespace, ctx: Context) -> int:
    """Print one subscription: status, items, period, scheduled changes, invoices."""
    engine = ctx.engine()
    s = get_subscription(engine, args.id)
    if wants_json(ctx):
        print_json(ctx, subscription_record(s))
        return EXIT_OK
    tz = s.timezone
    ctx.out(f"{s.id} of customer {s.customer_id}: {_status(s)}")
    details = [
        ("Items", _items(s)),
        ("Current period", f"{local_day(s.period_start, tz)} to {local_day(s.period_end, tz)} ({tz})"),
        ("Next due", f"{local_day(s.due_at, tz)} ({tz})" if s.due_at else "-"),
        ("Currency", s.currency),
    ]
    for key, value in details:
        ctx.out(f"  {key + ':':<16}{value}")
    if s.schedule:
        ctx.out("Scheduled:")
        rows = [
            (
                f"  {local_day(c.at, tz)}",
                c.action.value,
                c.plan_id or "-",
                "-" if c.quantity is None else f"{c.quantity:f}",
            )
            for c in s.schedule
        ]
        print_table(ctx, (f"  Date ({tz})", "Action", "Plan", "Quantity"), rows)
    invoices = engine.invoices(subscription_id=s.id)
    ctx.out(f"Invoices: {len(invoices)}")
    rows = [
        (f"  {i.number or '(draft)'}", i.status.value, local_day(i.finalized_at or i.created_at, tz),
         money(i.total_minor, i.currency))
        for i in invoices
    ]  # fmt: skip
    if rows:
        print_table(ctx, ("  Number", "Status", f"Date ({tz})", "Total"), rows, right=(3,))
    return EXIT_OK


def _subscriptions_cancel(args: argparse.Namespace, ctx: Context) -> int:
    """Cancel a subscription at its period end, or --now (with --prorate: credit the unused time)."""
    engine = ctx.engine()
    get_subscription(engine, args.id)
    s = engine.cancel(args.id, at_period_end=not args.now, prorate=args.prorate)
    if wants_json(ctx):
        print_json(ctx, subscription_record(s))
    elif args.now:
        ctx.out(f"Canceled {s.id} now ({s.status.value})")
    else:
        ctx.out(f"{s.id} cancels at its period end, {local_day(s.period_end, s.timezone)} ({s.timezone})")
    return EXIT_OK


def _subscriptions_change(args: argparse.Namespace, ctx: Context) -> int:
    """Change a subscription's plan and/or quantity: --when now (prorated), period_end, or auto.

    auto: an upgrade now, a downgrade at the period end. Prints the lines invoiced now
    (prorations wait for the next invoice unless the plan invoices them at once);
    --dry-run prints the lines the change would produce and writes nothing.
    """
    engine = ctx.engine()
    get_subscription(engine, args.id)
    if args.plan is None and args.quantity is None:
        raise ValidationError("give --plan and/or --quantity", field="plan")
    if args.dry_run:
        lines = list(engine.preview_change(args.id, args.plan, quantity=args.quantity, when=args.when))
        s = engine.get_subscription(args.id)
    else:
        before = {i.id for i in engine.invoices(subscription_id=args.id)}
        s = engine.change_plan(args.id, args.plan, quantity=args.quantity, when=args.when)
        lines = [ln for i in engine.invoices(subscription_id=args.id) if i.id not in before for ln in i.lines]
    if wants_json(ctx):
        print_json(
            ctx,
            {
                "subscription": subscription_record(s),
                "dry_run": args.dry_run,
                "lines": [
                    {"description": ln.description, "kind": ln.kind.value, "amount_minor": ln.amount_minor,
                     "currency": s.currency}
                    for ln in lines
                ],
            },
        )  # fmt: skip
        return EXIT_OK
    verb = "Would change" if args.dry_run else "Changed"
    ctx.out(
        f"{verb} {s.id}: {_items(s)}" + (f", {len(s.schedule)} change(s) scheduled" if s.schedule else "")
    )
    for ln in lines:
        ctx.out(f"  {ln.description}: {money(ln.amount_minor, s.currency)}")
    return EXIT_OK


#: The group's help.
GROUP = "List, show, cancel and change subscriptions"
_ID = Arg("id", metavar="ID", help="subscription id")
#: The commands, for :data:`subkit.entrypoints.cli.COMMANDS`.
COMMANDS: dict[str, Command] = {
    "subscriptions list": Command(
        _subscriptions_list,
        Arg("--customer", metavar="ID", help="only this customer's subscriptions"),
        Arg("--status", choices=[s.value for s in SubscriptionStatus], help="only those in this status"),
        *PAGE,
        JSON,
    ),
    "subscriptions show": Command(_subscriptions_show, _ID, JSON),
    "subscriptions cancel": Command(
        _subscriptions_cancel,
        _ID,
        Arg("--now", action="store_true", help="end it now instead of at the period end"),
        Arg("--prorate", action="store_true", help="with --now: credit the unused time"),
        JSON,
    ),
    "subscriptions change": Command(
        _subscriptions_change,
        _ID,
        Arg("--plan", metavar="PLAN", help="the new plan id"),
        Arg("--quantity", metavar="N", help="the new quantity (seats)"),
        Arg("--when", choices=["auto", "now", "period_end"], default="auto", help="default: %(default)s"),
        Arg("--dry-run", action="store_true", help="print what would be invoiced; write nothing"),
        JSON,
    ),
}
