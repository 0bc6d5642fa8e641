"""``subkit bill``: bill everything due up to a date.

Example:
    >>> COMMANDS["bill"].summary
    'Bill everything due up to --until: renewals, trial ends, scheduled changes, resumes.'
"""

from __future__ import annotations

import argparse
from datetime import datetime

from subkit.entrypoints.cli.command import Arg, Command, instant_arg
from subkit.entrypoints.cli.context import EXIT_FAILED, EXIT_OK, Context

__all__ = ["COMMANDS"]


def _bill(args: argparse.Namespace, ctx: Context) -> int:
    """Bill everything due up to --until: renewals, trial ends, scheduled changes, resumes.

    Each action happens at its own instant, so billing day by day or in one jump
    gives the same invoices, and running it twice bills nothing twice. The run is
    "as of" --until, even a date in the future.
    """
    until: datetime = args.until
    engine = ctx.engine(until)
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
    ),
}
