"""``subkit invoices list`` and ``subkit invoices show``.

Example:
    >>> sorted(COMMANDS), GROUP
    (['invoices list', 'invoices show'], 'List and show invoices')
"""

from __future__ import annotations

import argparse
from pathlib import Path

from subkit.adapters.render import FORMATS, render_invoice
from subkit.entrypoints.cli.command import Arg, Command
from subkit.entrypoints.cli.context import EXIT_OK, Context
from subkit.entrypoints.cli.customers import get_customer
from subkit.entrypoints.cli.output import day, print_list
from subkit.entrypoints.text import format_invoice, money
from subkit.errors import NotFoundError, ValidationError
from subkit.invoice.invoice import CreditNote
from subkit.services.engine import BillingEngine

__all__ = ["COMMANDS", "GROUP"]


def _invoices_list(args: argparse.Namespace, ctx: Context) -> int:
    """List invoices, oldest first (all, or one --customer's)."""
    engine = ctx.engine()
    if args.customer:
        get_customer(engine, args.customer)
    rows = [
        (
            i.number or "(draft)",
            i.id,
            i.customer_id,
            i.status.value,
            day(i.finalized_at or i.created_at),
            i.billing_reason.value,
            money(i.total_minor, i.currency),
            money(i.amount_remaining_minor, i.currency),
        )
        for i in engine.invoices(args.customer)
    ]
    header = ("Number", "ID", "Customer", "Status", "Date", "Reason", "Total", "Due")
    print_list(ctx, header, rows, right=(6, 7), noun="invoices")
    return EXIT_OK


def _invoices_show(args: argparse.Namespace, ctx: Context) -> int:
    """Print one invoice in full (by id or number), in its customer's locale, with its credit notes.

    With ``--format text|html|pdf`` the invoice as its customer reads it instead
    (:mod:`subkit.adapters.render`); ``--out FILE`` writes it to a file (required for PDF).
    """
    engine = ctx.engine()
    try:
        invoice = engine.get_invoice(args.id)
    except NotFoundError:
        with engine.store.begin() as uow:
            found = uow.invoices.by_number(args.id)
        if found is None:
            raise NotFoundError(
                f"no invoice with id or number {args.id!r} (see 'subkit invoices list')", field="id"
            ) from None
        invoice = found
    if args.format is not None:
        return _render(args, ctx, engine, invoice.id)
    ctx.out(format_invoice(invoice, engine.get_customer(invoice.customer_id)))
    notes: list[CreditNote] = engine.credit_notes(invoice.id)
    for note in notes:
        ctx.out(
            f"Credit note {note.number} ({note.id}) on {day(note.created_at)}: "
            f"{money(note.amount_minor, note.currency)}" + (f", {note.reason}" if note.reason else "")
        )
    return EXIT_OK


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
GROUP = "List and show invoices"
#: The commands, for :data:`subkit.entrypoints.cli.COMMANDS`.
COMMANDS: dict[str, Command] = {
    "invoices list": Command(
        _invoices_list, Arg("--customer", metavar="ID", help="only this customer's invoices")
    ),
    "invoices show": Command(
        _invoices_show,
        Arg("id", metavar="ID", help="invoice id or number (INV-000001)"),
        Arg("--format", choices=FORMATS, help="the invoice as its customer reads it: text, html or pdf"),
        Arg("--out", metavar="FILE", help="write the rendered invoice to FILE (required for pdf)"),
    ),
}
