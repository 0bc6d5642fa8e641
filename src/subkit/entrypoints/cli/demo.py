"""``subkit demo``: run the simulated year (:mod:`subkit.entrypoints.demo`) and print its summary.

The simulation lives in :mod:`subkit.entrypoints.demo`; this module is the command
around it: choosing the database file, the progress bar on a terminal, the closing hints.

Example:
    >>> import io
    >>> bar = ProgressBar(io.StringIO(), enabled=True, width=10)
    >>> bar(3, 10); bar.stream.getvalue()
    '\\r[###.......] 3/10 days'
"""

from __future__ import annotations

import argparse
import shlex
import time
from pathlib import Path
from typing import TextIO

from subkit.entrypoints.cli.command import Arg, Command, count_arg, int_arg, positive_int
from subkit.entrypoints.cli.context import DEMO_DB, EXIT_OK, Context, StoreUnavailableError
from subkit.errors import ValidationError

__all__ = ["COMMANDS", "ProgressBar"]


class ProgressBar:
    """A one-line progress bar on a TTY's stderr; silent when disabled.

    Called as ``bar(done, total)``; redraws only when the bar grows.
    """

    def __init__(self, stream: TextIO, enabled: bool, label: str = "days", width: int = 30) -> None:
        self.stream, self.enabled, self.label, self.width = stream, enabled, label, width
        self.shown = -1

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        filled = self.width * done // total
        if filled == self.shown and done != total:
            return
        self.shown = filled
        bar = "#" * filled + "." * (self.width - filled)
        self.stream.write(f"\r[{bar}] {done}/{total} {self.label}")
        self.stream.flush()

    def close(self) -> None:
        """End the bar's line (if it was drawn)."""
        if self.enabled and self.shown >= 0:
            self.stream.write("\n")
            self.stream.flush()


def _demo(args: argparse.Namespace, ctx: Context) -> int:
    """Simulate a year of a small SaaS into a new SQLite file, then print what happened.

    Customers in eight countries (USD, EUR, GBP, JPY) sign up over the months and
    go through trials, coupons, upgrades, seat changes, metered usage, pauses and
    cancellations; the engine bills them day by day on a test clock. The same
    --seed gives the same summary. Without --db the demo writes subkit-demo.sqlite
    in the current directory, replacing the previous demo; an explicit --db must
    be a new file. Explore the result with the other commands and --db.
    """
    from subkit.entrypoints.demo import run_demo

    if args.db is None:
        args.db = DEMO_DB
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(DEMO_DB + suffix).unlink(missing_ok=True)
    elif "://" not in args.db and Path(args.db).exists() and Path(args.db).stat().st_size > 0:
        raise ValidationError(
            f"{args.db} already exists; the demo writes a new database (choose another --db or delete it)",
            field="db",
        )
    shown = args.db if "://" in args.db else str(Path(args.db).resolve())
    ctx.out(f"Database: {shown}")
    ctx.stdout.flush()
    bar = ProgressBar(ctx.stderr, enabled=not args.no_progress and ctx.stderr.isatty())
    began = time.perf_counter()
    try:
        summary = run_demo(
            args.db, customers=args.customers, months=args.months, seed=args.seed, progress=bar
        )
    except ImportError as e:
        raise StoreUnavailableError(f"the demo's SQLite store needs SQLAlchemy: {e}", field="db") from None
    finally:
        bar.close()
    if bar.enabled:
        ctx.err(f"Simulated {summary.days} days in {time.perf_counter() - began:.1f} s")
    ctx.out(summary.render().rstrip("\n"))
    db = shlex.quote(args.db)
    ctx.out()
    ctx.out("Explore it:")
    ctx.out(f"  subkit customers list --db {db}")
    ctx.out(f"  subkit invoices show INV-000001 --db {db}")
    ctx.out(f"  subkit bill --until {summary.end.date().isoformat()} --db {db}")
    return EXIT_OK


#: The command, for :data:`subkit.entrypoints.cli.COMMANDS`.
COMMANDS: dict[str, Command] = {
    "demo": Command(
        _demo,
        Arg("--customers", type=count_arg, default=300, metavar="N", help="sign-ups (default: %(default)s)"),
        Arg(
            "--months",
            type=positive_int,
            default=12,
            metavar="N",
            help="months to simulate (default: %(default)s)",
        ),
        Arg("--seed", type=int_arg, default=42, metavar="N", help="random seed (default: %(default)s)"),
        Arg(
            "--no-progress",
            action="store_true",
            help="no progress bar (it is off anyway when stderr is not a TTY)",
        ),
        db=None,
    ),
}
