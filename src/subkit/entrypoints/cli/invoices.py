"""``subkit invoices list|show|void|pay|collect``.

Example:
    >>> sorted(COMMANDS)
    ['invoices collect', 'invoices list', 'invoices pay', 'invoices show', 'invoices void']
    >>> GROUP
    'List, show, void, pay and collect invoices'
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from subkit.adapters.render import FORMATS, render_invoice
from subkit.core.money import to_minor
from subkit.customer.customer import Customer
from subkit.entrypoints.cli.command import Arg, Command
from subkit.entrypoints.cli.context import EXIT_FAILED, EXIT_OK, Context
from subkit.entrypoints.cli.customers import get_customer
from subkit.entrypoints.cli.output import JSON, PAGE, emit_page, local_day, print_json, wants_json
from subkit.entrypoints.text import format_invoice, money
from subkit.errors import NotFoundError, ValidationError
from subkit.invoice.invoice import CreditNote, Invoice, InvoiceStatus
from subkit.services.engine import BillingEngine

__all__ = ["COMMANDS", "GROUP", "due_minor", "find_invoice", "invoice_record"]


def find_invoice(engine: BillingEngine, id_or_number: str) -> Invoice:
    """An invoice by id or by number (``INV-000042``, any case); not found, an error saying where to look."""
    try:
        return engine.get_invoice(id_or_number)
    except NotFoundError:
        with engine.store.begin() as uow:
            found = uow.invoices.by_number(id_or_number)
        if found is None:
            raise NotFoundError(
                f"no invoice with id or number {id_or_number!r} (see 'subkit invoices list')", field="id"
            ) from None
        return found


def due_minor(i: Invoice) -> int:
    """What the customer still owes on ``i``: nothing unless it is open (a void invoice is owed nothing)."""
    return i.amount_remaining_minor if i.status == InvoiceStatus.OPEN else 0


def invoice_record(i: Invoice) -> dict[str, Any]:
    """What ``--json`` prints for an invoice (amounts in minor units, with the currency)."""
    return {
        "id": i.id,
        "number": i.number,
        "customer_id": i.customer_id,
        "subscription_id": i.subscription_id,
        "status": i.status.value,
        "billing_reason": i.billing_reason.value,
        "currency": i.currency,
        "subtotal_minor": i.subtotal_minor,
        "discount_minor": i.discount_minor,
        "tax_minor": i.tax_minor,
        "total_minor": i.total_minor,
        "amount_due_minor": due_minor(i),
        "created_at": i.created_at,
        "finalized_at": i.finalized_at,
        "paid_at": i.paid_at,
        "voided_at": i.voided_at,
        "period_start": i.period_start,
        "period_end": i.period_end,
        "lines": [
            {
                "description": ln.description,
                "kind": ln.kind.value,
                "quantity": ln.quantity,
                "amount_minor": ln.amount_minor,
                "discount_minor": ln.discount_minor,
                "tax_minor": ln.tax_minor,
                "period_start": ln.period_start,
                "period_end": ln.period_end,
            }
            for ln in i.lines
        ],
    }


def _invoices_list(args: argparse.Namespace, ctx: Context) -> int:
    """List invoices, newest first (--limit, --after), all or one --customer's, --subscription's, --status."""
    engine = ctx.engine()
    if args.customer:
        get_customer(engine, args.customer)
    invoices = engine.list_invoices(
        customer_id=args.customer,
        subscription_id=args.subscription,
        status=args.status,
        limit=args.limit,
        after=args.after,
    )
    with engine.store.begin() as uow:
        zones = {
            c.id: c.timezone
            for c in uow.get_many(Customer, sorted({i.customer_id for i in invoices})).values()
        }
    rows = [
        (
            i.number or "(draft)",
            i.id,
            i.customer_id,
            i.status.value,
            local_day(i.finalized_at or i.created_at, zones.get(i.customer_id, "UTC")),
            i.billing_reason.value,
            money(i.total_minor, i.currency),
            money(due_minor(i), i.currency),
        )
        for i in invoices
    ]
    header = ("Number", "ID", "Customer", "Status", "Date (customer's)", "Reason", "Total", "Due")
    emit_page(
        ctx, header, rows, [invoice_record(i) for i in invoices], invoices, right=(6, 7), noun="invoices"
    )
    return EXIT_OK


def _invoices_show(args: argparse.Namespace, ctx: Context) -> int:
    """Print one invoice in full (by id or number), in its customer's locale, with its credit notes.

    With ``--format text|html|pdf`` the invoice as its customer reads it instead
    (:mod:`subkit.adapters.render`); ``--out FILE`` writes it to a file (required for PDF).
    """
    engine = ctx.engine()
    invoice = find_invoice(engine, args.id)
    if args.format is not None:
        return _render(args, ctx, engine, invoice.id)
    notes: list[CreditNote] = engine.credit_notes(invoice.id)
    if wants_json(ctx):
        record = invoice_record(invoice)
        record["credit_notes"] = [
            {
                "id": n.id,
                "number": n.number,
                "amount_minor": n.amount_minor,
                "reason": n.reason,
                "created_at": n.created_at,
            }
            for n in notes
        ]
        print_json(ctx, record)
        return EXIT_OK
    customer = engine.get_customer(invoice.customer_id)
    ctx.out(format_invoice(invoice, customer))
    for note in notes:
        ctx.out(
            f"Credit note {note.number} ({note.id}) on {local_day(note.created_at, customer.timezone)}: "
            f"{money(note.amount_minor, note.currency)}" + (f", {note.reason}" if note.reason else "")
        )
    return EXIT_OK


def _invoices_void(args: argparse.Namespace, ctx: Context) -> int:
    """Void an open, unpaid invoice (the credit balance it used is given back)."""
    engine = ctx.engine()
    inv = engine.void_invoice(find_invoice(engine, args.id).id)
    _done(ctx, inv, f"Voided {inv.number or inv.id}")
    return EXIT_OK


def _invoices_pay(args: argparse.Namespace, ctx: Context) -> int:
    """Record a payment received outside the gateway (a bank transfer) on an open invoice.

    --amount defaults to what is still due; --transfer-id makes the call safe to repeat
    (the same transfer is recorded once).
    """
    collector = ctx.collector_offline()
    inv = find_invoice(collector.engine, args.id)
    amount = inv.amount_remaining_minor if args.amount is None else to_minor(args.amount, inv.currency)
    collector.pay_by_bank_transfer(inv.id, amount_minor=amount, transfer_id=args.transfer_id)
    inv = collector.engine.get_invoice(inv.id)
    _done(ctx, inv, f"Recorded {money(amount, inv.currency)} on {inv.number or inv.id}")
    return EXIT_OK


def _invoices_collect(args: argparse.Namespace, ctx: Context) -> int:
    """Charge an open invoice now through your gateway (--gateway MODULE:FACTORY).

    Exit status 1 when the charge is declined or fails (the dunning schedule continues).
    """
    collector = ctx.collector()
    inv = find_invoice(collector.engine, args.id)
    attempt = collector.collect(inv.id)
    inv = collector.engine.get_invoice(inv.id)
    outcome = "nothing to collect" if attempt is None else attempt.status.value
    _done(ctx, inv, f"{inv.number or inv.id}: {outcome}")
    return EXIT_FAILED if attempt is not None and attempt.failed else EXIT_OK


def _done(ctx: Context, inv: Invoice, message: str) -> None:
    if wants_json(ctx):
        print_json(ctx, invoice_record(inv))
    else:
        ctx.out(f"{message}: {inv.status.value}, due {money(due_minor(inv), inv.currency)}")


def _render(args: argparse.Namespace, ctx: Context, engine: BillingEngine, invoice_id: str) -> int:
    """The invoice rendered for its customer, printed or written to ``--out``."""
    doc = render_invoice(engine.store, invoice_id, args.format, seller=engine.config.seller)
    if args.out is None:
        if isinstance(doc, bytes):
            raise ValidationError("a PDF goes to a file: add --out FILE", field="out")
        ctx.out(doc)
        return EXIT_OK
    try:
        Path(args.out).write_bytes(doc if isinstance(doc, bytes) else doc.encode("utf-8"))
    except OSError as e:
        raise ValidationError(f"cannot write {args.out}: {e.strerror}", field="out") from None
    ctx.out(f"wrote {args.out}")
    return EXIT_OK


#: The group's help.
GROUP = "List, show, void, pay and collect invoices"
_ID = Arg("id", metavar="ID", help="invoice id or number (INV-000001)")
_GATEWAY = Arg("--gateway", metavar="MODULE:FACTORY", help="your payment gateway (default: $SUBKIT_GATEWAY)")
#: The commands, for :data:`subkit.entrypoints.cli.COMMANDS`.
COMMANDS: dict[str, Command] = {
    "invoices list": Command(
        _invoices_list,
        Arg("--customer", metavar="ID", help="only this customer's invoices"),
        Arg("--subscription", metavar="ID", help="only this subscription's invoices"),
        Arg("--status", choices=[s.value for s in InvoiceStatus], help="only those in this status"),
        *PAGE,
        JSON,
    ),
    "invoices show": Command(
        _invoices_show,
        _ID,
        Arg("--format", choices=FORMATS, help="the invoice as its customer reads it: text, html or pdf"),
        Arg("--out", metavar="FILE", help="write the rendered invoice to FILE (required for pdf)"),
        JSON,
    ),
    "invoices void": Command(_invoices_void, _ID, JSON),
    "invoices pay": Command(
        _invoices_pay,
        _ID,
        Arg("--amount", metavar="AMOUNT", help="amount received, e.g. 49.00 (default: what is due)"),
        Arg("--transfer-id", metavar="ID", help="the bank's id of the transfer (recorded once)"),
        JSON,
    ),
    "invoices collect": Command(_invoices_collect, _ID, _GATEWAY, JSON),
}
