"""``subkit credit-notes create``, ``subkit payments list|refund`` and ``subkit usage record|list``.

Example:
    >>> sorted(COMMANDS)
    ['credit-notes create', 'payments list', 'payments refund', 'usage list', 'usage record']
"""

from __future__ import annotations

import argparse
from typing import Any

from subkit.core.money import to_minor
from subkit.core.paging import Page
from subkit.entrypoints.cli.command import Arg, Command, instant_arg
from subkit.entrypoints.cli.context import EXIT_FAILED, EXIT_OK, Context
from subkit.entrypoints.cli.customers import get_customer
from subkit.entrypoints.cli.invoices import find_invoice
from subkit.entrypoints.cli.output import JSON, PAGE, emit_page, local_day, print_json, wants_json
from subkit.entrypoints.cli.subscriptions import get_subscription
from subkit.entrypoints.text import money
from subkit.payment.attempts import AttemptStatus, PaymentAttempt
from subkit.usage.event import UsageEvent

__all__ = ["COMMANDS", "GROUPS"]


# --------------------------------------------------------------------------- credit notes
def _credit_notes_create(args: argparse.Namespace, ctx: Context) -> int:
    """Credit a finalized invoice, fully or --amount of it, with a --reason.

    On an open invoice the credit reduces what is due; the rest goes to the customer's
    credit balance (or, with --refund, is marked to be refunded). --id makes the call
    safe to repeat: a credit note with that id is returned as it is.
    """
    engine = ctx.engine()
    inv = find_invoice(engine, args.invoice)
    note = engine.issue_credit_note(
        inv.id, args.amount, reason=args.reason or "", refund=args.refund, id=args.id
    )
    record = {
        "id": note.id,
        "number": note.number,
        "invoice_id": note.invoice_id,
        "customer_id": note.customer_id,
        "currency": note.currency,
        "amount_minor": note.amount_minor,
        "credit_minor": note.credit_minor,
        "refund_minor": note.refund_minor,
        "reason": note.reason,
        "created_at": note.created_at,
    }
    if wants_json(ctx):
        print_json(ctx, record)
    else:
        ctx.out(
            f"Credit note {note.number} ({note.id}) on {inv.number or inv.id}: "
            f"{money(note.amount_minor, note.currency)}" + (f", {note.reason}" if note.reason else "")
        )
    return EXIT_OK


# --------------------------------------------------------------------------- payments
def _attempt_record(a: PaymentAttempt) -> dict[str, Any]:
    return {
        "id": a.id,
        "invoice_id": a.invoice_id,
        "customer_id": a.customer_id,
        "status": a.status.value,
        "reason": a.reason.value,
        "attempt_no": a.attempt_no,
        "method_type": None if a.method_type is None else a.method_type.value,
        "amount_minor": a.amount_minor,
        "currency": a.currency,
        "started_at": a.started_at,
        "decline_code": None if a.decline_code is None else a.decline_code.value,
    }


def _payments_list(args: argparse.Namespace, ctx: Context) -> int:
    """List payment attempts, newest first (--limit, --after), all or one --customer's or --status.

    With --invoice: all of one invoice's attempts (id or number), newest first.
    """
    engine = ctx.engine()
    if args.customer:
        get_customer(engine, args.customer)
    if args.invoice:
        inv = find_invoice(engine, args.invoice)
        with engine.store.begin() as uow:
            found = [
                a for a in uow.find(PaymentAttempt, customer_id=inv.customer_id) if a.invoice_id == inv.id
            ]
        found.sort(key=lambda a: (a.started_at, a.id), reverse=True)
        attempts: Page[PaymentAttempt] = Page(tuple(found), False, None)
    else:
        attempts = engine.list_payments(
            customer_id=args.customer, status=args.status, limit=args.limit, after=args.after
        )
    zones = {c: engine.get_customer(c).timezone for c in sorted({a.customer_id for a in attempts})}
    rows = [
        (
            a.id,
            a.invoice_id or "-",
            a.customer_id,
            a.status.value,
            "-" if a.method_type is None else a.method_type.value,
            local_day(a.started_at, zones[a.customer_id]),
            money(a.amount_minor, a.currency),
        )
        for a in attempts
    ]
    header = ("ID", "Invoice", "Customer", "Status", "Method", "Date (customer's)", "Amount")
    records = [_attempt_record(a) for a in attempts]
    emit_page(ctx, header, rows, records, attempts, right=(6,), noun="payments")
    return EXIT_OK


def _payments_refund(args: argparse.Namespace, ctx: Context) -> int:
    """Refund a paid invoice through your gateway (--gateway MODULE:FACTORY): all of it, or --amount.

    Repeating the command after a failure resumes the refund in flight: never refunds twice.
    """
    collector = ctx.collector()
    inv = find_invoice(collector.engine, args.invoice)
    amount = None if args.amount is None else to_minor(args.amount, inv.currency)
    refund = collector.refund(inv.id, amount, reason=args.reason or "")
    if wants_json(ctx):
        print_json(
            ctx,
            {
                "id": refund.id,
                "invoice_id": refund.invoice_id,
                "status": refund.status.value,
                "amount_minor": refund.amount_minor,
                "currency": refund.currency,
                "credit_note_id": refund.credit_note_id,
            },
        )
    else:
        ctx.out(
            f"Refund {refund.id} of {money(refund.amount_minor, refund.currency)} on "
            f"{inv.number or inv.id}: {refund.status.value}"
        )
    return EXIT_OK if refund.status.value == "succeeded" else EXIT_FAILED


# --------------------------------------------------------------------------- usage
def _usage_record(args: argparse.Namespace, ctx: Context) -> int:
    """Record metered usage on a subscription (--id makes a retry count once)."""
    engine = ctx.engine()
    get_subscription(engine, args.subscription)
    rec = engine.record_usage(args.subscription, args.metric, args.quantity, at=args.at, id=args.id)
    if wants_json(ctx):
        print_json(ctx, _usage_record_json(rec))
    else:
        ctx.out(f"Recorded {rec.quantity:f} {rec.metric} on {rec.subscription_id} ({rec.id})")
    return EXIT_OK


def _usage_record_json(r: UsageEvent) -> dict[str, Any]:
    return {
        "id": r.id,
        "subscription_id": r.subscription_id,
        "metric": r.metric,
        "quantity": r.quantity,
        "timestamp": r.timestamp,
    }


def _usage_list(args: argparse.Namespace, ctx: Context) -> int:
    """List a subscription's recorded usage, newest first (--limit, --after; dates in its time zone)."""
    engine = ctx.engine()
    sub = get_subscription(engine, args.subscription)
    records = engine.list_usage(sub.id, metric=args.metric or None, limit=args.limit, after=args.after)
    rows = [(r.id, r.metric, f"{r.quantity:f}", local_day(r.timestamp, sub.timezone)) for r in records]
    header = ("ID", "Metric", "Quantity", f"Date ({sub.timezone})")
    data = [_usage_record_json(r) for r in records]
    emit_page(ctx, header, rows, data, records, right=(2,), noun="usage records")
    return EXIT_OK


#: Help of the groups.
GROUPS = {
    "credit-notes": "Credit invoices",
    "payments": "List payments and refund invoices",
    "usage": "Record and list metered usage",
}
_GATEWAY = Arg("--gateway", metavar="MODULE:FACTORY", help="your payment gateway (default: $SUBKIT_GATEWAY)")
#: The commands, for :data:`subkit.entrypoints.cli.COMMANDS`.
COMMANDS: dict[str, Command] = {
    "credit-notes create": Command(
        _credit_notes_create,
        Arg("invoice", metavar="INVOICE", help="invoice id or number"),
        Arg("--amount", metavar="AMOUNT", help="e.g. 10.00 (default: the whole invoice)"),
        Arg("--reason", metavar="TEXT", help="why (printed on the credit note)"),
        Arg("--refund", action="store_true", help="mark the credit for refund instead of the balance"),
        Arg("--id", metavar="ID", help="your id for it: repeating the command issues it once"),
        JSON,
    ),
    "payments list": Command(
        _payments_list,
        Arg("--customer", metavar="ID", help="only this customer's payments"),
        Arg("--invoice", metavar="ID", help="all of this invoice's payments (id or number)"),
        Arg("--status", choices=[s.value for s in AttemptStatus], help="only those in this status"),
        *PAGE,
        JSON,
    ),
    "payments refund": Command(
        _payments_refund,
        Arg("invoice", metavar="INVOICE", help="invoice id or number"),
        Arg("--amount", metavar="AMOUNT", help="e.g. 10.00 (default: all that was charged)"),
        Arg("--reason", metavar="TEXT", help="why"),
        _GATEWAY,
        JSON,
    ),
    "usage record": Command(
        _usage_record,
        Arg("subscription", metavar="SUBSCRIPTION", help="subscription id"),
        Arg("metric", metavar="METRIC", help="the plan's metric, e.g. api_calls"),
        Arg("quantity", metavar="QUANTITY", help="how much, e.g. 1200"),
        Arg("--at", type=instant_arg, metavar="DATE", help="when it happened (default: now)"),
        Arg("--id", metavar="ID", help="your event id: a repeated id is counted once"),
        JSON,
    ),
    "usage list": Command(
        _usage_list,
        Arg("subscription", metavar="SUBSCRIPTION", help="subscription id"),
        Arg("--metric", metavar="METRIC", help="only this metric"),
        *PAGE,
        JSON,
    ),
}
