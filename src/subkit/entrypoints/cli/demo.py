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
import shutil
import sys
import time
from pathlib import Path
from typing import TextIO

from subkit.entrypoints.cli.command import Arg, Command, count_arg, int_arg, positive_int
from subkit.entrypoints.cli.context import DEMO_DB, EXIT_OK, Context, StoreUnavailableError
from subkit.errors import ValidationError

__all__ = ["COMMANDS", "ProgressBar", "invocation"]


class ProgressBar:
    """A one-line progress bar on a TTY's stderr; silent when disabled.

    Called as ``bar(done, total)``; redraws only when the bar grows. Off a terminal
    (``tty=False``: a log file, CI) it prints a plain line at each tenth instead.

    Example:
        >>> import io
        >>> log = ProgressBar(io.StringIO(), enabled=True, tty=False)
        >>> for day in range(1, 21):
        ...     log(day, 20)
        >>> log.stream.getvalue().splitlines()[:2], len(log.stream.getvalue().splitlines())
        (['demo: 1/20 days', 'demo: 2/20 days'], 11)
    """

    def __init__(
        self, stream: TextIO, enabled: bool, label: str = "days", width: int = 30, *, tty: bool = True
    ) -> None:
        self.stream, self.enabled, self.label, self.width, self.tty = stream, enabled, label, width, tty
        self.shown = -1

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        if not self.tty:
            tenth = 10 * done // total
            if tenth > self.shown:
                self.shown = tenth
                self.stream.write(f"demo: {done}/{total} {self.label}\n")
                self.stream.flush()
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
        if self.enabled and self.tty and self.shown >= 0:
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
    bar = ProgressBar(ctx.stderr, enabled=not args.no_progress, tty=ctx.stderr.isatty())
    began = time.perf_counter()
    try:
        summary = run_demo(
            args.db, customers=args.customers, months=args.months, seed=args.seed, progress=bar
        )
    except ImportError as e:
        raise StoreUnavailableError(
            f"the demo's SQLite store needs SQLAlchemy: pip install 'subkit[sql]' ({e})", field="db"
        ) from None
    finally:
        bar.close()
    if bar.enabled and bar.tty:
        ctx.err(f"Simulated {summary.days} days in {time.perf_counter() - began:.1f} s")
    ctx.out(summary.render().rstrip("\n"))
    db = shlex.quote(args.db)
    me = invocation()
    ctx.out()
    ctx.out("Explore it:")
    ctx.out(f"  {me} customers list --db {db}")
    ctx.out(f"  {me} subscriptions list --status past_due --db {db}")
    ctx.out(f"  {me} invoices show INV-000001 --db {db}")
    ctx.out(f"  {me} bill --until {summary.end.date().isoformat()} --dry-run --db {db}")
    return EXIT_OK


def invocation(argv0: str | None = None, on_path: str | None = None) -> str:
    """How to run subkit again as it was run now, pasteable: ``subkit`` when that is what the
    shell finds, else the script's path, else ``python -m subkit`` with this interpreter.

    Example:
        >>> invocation("/opt/venv/bin/subkit", on_path="/opt/venv/bin/subkit")
        'subkit'
        >>> invocation("/opt/venv/bin/subkit", on_path=None)
        '/opt/venv/bin/subkit'
        >>> invocation("/src/subkit/__main__.py", on_path=None).endswith(" -m subkit")
        True
    """
    argv0 = sys.argv[0] if argv0 is None else argv0
    if Path(argv0).name == "subkit":
        found = shutil.which("subkit") if on_path is None and argv0 == sys.argv[0] else on_path
        if found and Path(found).resolve() == Path(argv0).resolve():
            return "subkit"
        return shlex.quote(str(Path(argv0).absolute()))
    return f"{shlex.quote(sys.executable)} -m subkit"


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
