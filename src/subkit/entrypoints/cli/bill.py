"""``subkit bill``: bill everything due up to a date.

Example:
    >>> COMMANDS["bill"].summary
    'Bill everything due up to --until: renewals, trial ends, scheduled changes, resumes.'
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

from subkit.entrypoints.cli.command import Arg, Command, instant_arg
from subkit.entrypoints.cli.context import EXIT_FAILED, EXIT_OK, Context
from subkit.entrypoints.cli.invoices import invoice_record
from subkit.entrypoints.cli.output import JSON, day, print_json, print_list, wants_json
from subkit.entrypoints.text import money
from subkit.errors import ValidationError
from subkit.services.billing_preview import renewals_beyond_one
from subkit.services.engine import BillingEngine
from subkit.subscription.model import Subscription

__all__ = ["COMMANDS"]


def _bill(args: argparse.Namespace, ctx: Context) -> int:
    """Bill everything due up to --until: renewals, trial ends, scheduled changes, resumes.

    Each action happens at its own instant, so billing day by day or in one jump
    gives the same invoices, and running it twice bills nothing twice. The run is
    "as of" --until, even a date in the future. --dry-run prints the invoices the
    run would issue and writes nothing. A run that renews a subscription more than
    once (several periods at once: a late or far --until) asks for confirmation on a
    terminal, and needs --yes otherwise.
    """
    until: datetime = args.until
    engine = ctx.engine(until)
    if args.dry_run:
        return _dry_run(ctx, engine, until)
    if not args.yes:
        several = renewals_beyond_one(engine.store, until)
        if several and not _confirm(ctx, several, until):
            raise ValidationError(
                f"this run bills several periods for {len(several)} subscriptions (e.g. {several[0].id}); "
                "see them with --dry-run, confirm with --yes",
                field="until",
            )
    report = engine.advance(until)
    ctx.out(
        f"Billed up to {until.isoformat()}: {report.actions} actions, {report.invoices} invoices"
        + (f", {report.conflicts} conflicts retried" if report.conflicts else "")
    )
    if report.invoice_ids:
        numbers = [engine.get_invoice(i).number or i for i in (report.invoice_ids[0], report.invoice_ids[-1])]
        ctx.out(f"Invoices {numbers[0]} to {numbers[1]}" if report.invoices > 1 else f"Invoice {numbers[0]}")
    for sub_id, code, message in report.errors:
        ctx.err(f"subkit: error: [{code}] subscription {sub_id}: {message}")
    return EXIT_FAILED if report.errors else EXIT_OK


def _confirm(ctx: Context, several: list[Subscription], until: datetime) -> bool:
    """Ask on a terminal; anywhere else the answer is no (a script passes --yes)."""
    if not (sys.stdin.isatty() and ctx.stdout.isatty()):
        return False
    ctx.out(
        f"{len(several)} subscriptions renew more than once up to {until.isoformat()} (e.g. {several[0].id})."
    )
    return input("Bill all those periods now? [y/N] ").strip().lower() in ("y", "yes")


def _dry_run(ctx: Context, engine: BillingEngine, until: datetime) -> int:
    invoices = engine.preview_advance(until)
    records = [invoice_record(i) for i in invoices]
    if wants_json(ctx):
        print_json(ctx, records)
        return EXIT_OK
    rows = [
        (
            i.subscription_id or "-",
            i.customer_id,
            i.billing_reason.value,
            f"{day(i.period_start)} to {day(i.period_end)}" if i.period_start else "-",
            money(i.total_minor, i.currency),
        )
        for i in invoices
    ]
    ctx.out(f"Dry run up to {until.isoformat()}: nothing was written.")
    print_list(ctx, ("Subscription", "Customer", "Reason", "Period (UTC)", "Total"), rows, (4,), "invoices")
    return EXIT_OK


#: The command, for :data:`subkit.entrypoints.cli.COMMANDS`.
COMMANDS: dict[str, Command] = {
    "bill": Command(
        _bill,
        Arg(
            "--until",
            required=True,
            type=instant_arg,
            metavar="DATE",
            help="ISO date or datetime, e.g. 2026-03-01 or 2026-03-01T12:00+02:00; without a time zone it is "
            "read as UTC, and a date alone as UTC midnight",
        ),
        Arg("--dry-run", action="store_true", help="print the invoices the run would issue; write nothing"),
        Arg("--yes", action="store_true", help="bill several periods at once without asking"),
        JSON,
    ),
}
