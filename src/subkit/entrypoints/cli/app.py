"""The ``subkit`` application: every command in one registry, the parser built from it, and :func:`main`.

:func:`main` runs the command the arguments name and turns what it raises into an exit
status and one line on stderr (the table in :mod:`subkit.entrypoints.cli`).

Example:
    >>> list(COMMANDS)[:3]
    ['demo', 'bill', 'catalog load']
    >>> main(["customers", "show"])  # the customer id is missing: usage error
    2
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn, TextIO

from subkit.entrypoints.cli import bill, catalog, customers, demo, invoices, payments, subscriptions
from subkit.entrypoints.cli.command import Command
from subkit.entrypoints.cli.context import (
    DEMO_DB,
    EXIT_BROKEN_PIPE,
    EXIT_INTERRUPTED,
    EXIT_STORE,
    EXIT_USAGE,
    Context,
    exit_code,
    is_database_error,
    one_line,
)
from subkit.errors import SubkitError

__all__ = ["COMMANDS", "GROUPS", "build_parser", "main"]

_DB_HELP = "SQLite file path or SQLAlchemy URL (default: %(default)s)"

#: Every subcommand: a name (words separated by spaces make nested commands) and its Command,
#: in the order ``subkit --help`` lists them. Each family module declares its own.
COMMANDS: dict[str, Command] = {
    **demo.COMMANDS,
    **bill.COMMANDS,
    **catalog.COMMANDS,
    **customers.COMMANDS,
    **subscriptions.COMMANDS,
    **invoices.COMMANDS,
    **payments.COMMANDS,
}

#: Help of command groups (a group without an entry gets a generic one).
GROUPS: dict[str, str] = {
    "catalog": catalog.GROUP,
    "invoices": invoices.GROUP,
    "customers": customers.GROUP,
    "subscriptions": subscriptions.GROUP,
    **payments.GROUPS,
}


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``subkit`` argument parser, built from :data:`COMMANDS`.

    Example:
        >>> build_parser().parse_args(["invoices", "show", "INV-000001"]).id
        'INV-000001'
    """
    from subkit import __version__

    parser = _Parser(
        prog="subkit",
        description="Subscription billing from the command line: a demo, and operator commands over a store.",
        epilog="Exit status: 0 ok, 1 refused by the engine, 2 usage or bad input, 3 not found, "
        "4 invalid catalog file, 5 database unreachable. Start with: subkit demo",
    )
    parser.add_argument("--version", action="version", version=f"subkit {__version__}")
    groups: dict[tuple[str, ...], Any] = {
        (): parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    }
    for name, cmd in COMMANDS.items():
        words = tuple(name.split())
        for depth in range(1, len(words)):
            prefix = words[:depth]
            if prefix not in groups:
                group = groups[prefix[:-1]].add_parser(
                    prefix[-1],
                    help=GROUPS.get(" ".join(prefix), "commands"),
                    description=GROUPS.get(" ".join(prefix)),
                )
                groups[prefix] = group.add_subparsers(dest="_".join(prefix), metavar="COMMAND", required=True)
        sub = groups[words[:-1]].add_parser(
            words[-1],
            help=cmd.summary,
            description=cmd.description,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        for arg in cmd.args:
            sub.add_argument(*arg.flags, **arg.options)
        sub.add_argument(
            "--db",
            default=cmd.db,
            metavar="URL_OR_PATH",
            help=_DB_HELP
            if cmd.db
            else (f"new SQLite file for the demo (default: {DEMO_DB}, replaced on each run)"),
        )
        sub.set_defaults(_command=cmd)
    return parser


def _utf8_safe(stream: TextIO) -> None:
    # Amounts use babel's symbols (¥, €, narrow spaces): never crash on a non-UTF-8 terminal.
    if isinstance(stream, io.TextIOWrapper) and (stream.encoding or "").lower().replace("-", "") != "utf8":
        stream.reconfigure(errors="backslashreplace")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``subkit`` command line with ``argv`` (default ``sys.argv[1:]``); returns the exit status.

    Example:
        >>> main(["bill", "--until", "yesterday"])
        2
    """
    _utf8_safe(sys.stdout)
    _utf8_safe(sys.stderr)
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # --help, --version (0) and usage errors (2)
        return e.code if isinstance(e.code, int) else EXIT_USAGE
    ctx = Context(args, sys.stdout, sys.stderr)
    try:
        return args._command.run(args, ctx)  # type: ignore[no-any-return]
    except KeyboardInterrupt:
        ctx.err("subkit: interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader went away (| head): stop quietly
        with contextlib.suppress(Exception):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except SubkitError as e:
        ctx.err(f"subkit: error: {e}")
        return exit_code(e)
    except Exception as e:
        if not is_database_error(e):
            raise
        ctx.err(f"subkit: error: [store_unavailable] database error: {one_line(e)}")
        return EXIT_STORE
    finally:
        with contextlib.suppress(Exception):  # closing must not hide the command's outcome
            ctx.close()
