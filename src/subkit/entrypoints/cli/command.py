"""A command as data (:class:`Command`, :class:`Arg`) and the parsers of its argument values.

A command family module (``bill``, ``catalog``, ``customers``, ``invoices``, ``demo``)
declares its commands in a ``COMMANDS`` dict of :class:`Command`; :mod:`.app` builds the
``argparse`` parser from them.

Example:
    >>> def hello(args, ctx):
    ...     "Say hello."
    ...     return 0
    >>> cmd = Command(hello, Arg("--name", default="world"))
    >>> cmd.summary, cmd.args[0].flags, cmd.db
    ('Say hello.', ('--name',), 'subkit.sqlite')
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from subkit.entrypoints.cli.context import DEFAULT_DB, Context
from subkit.errors import ValidationError

__all__ = ["Arg", "Command", "count_arg", "instant_arg", "int_arg", "parse_instant", "positive_int"]


@dataclass(frozen=True)
class Arg:
    """One ``add_argument`` call, as data.

    Example:
        >>> Arg("--seed", type=int, default=42).flags
        ('--seed',)
    """

    flags: tuple[str, ...]
    options: dict[str, Any]

    def __init__(self, *flags: str, **options: Any) -> None:
        object.__setattr__(self, "flags", flags)
        object.__setattr__(self, "options", options)


@dataclass(frozen=True)
class Command:
    """A subcommand: the function to run, its arguments, and its ``--db`` default.

    The function's docstring is its help: first line in the command list, all of it
    under ``--help``. ``db=None`` gives the command no ``--db`` option.

    Example:
        >>> def hello(args, ctx):
        ...     "Say hello."
        ...     return 0
        >>> Command(hello).summary, Command(hello, db=None).db
        ('Say hello.', None)
    """

    run: Callable[[argparse.Namespace, Context], int]
    args: tuple[Arg, ...] = ()
    db: str | None = DEFAULT_DB

    def __init__(
        self, run: Callable[[argparse.Namespace, Context], int], *args: Arg, db: str | None = DEFAULT_DB
    ) -> None:
        object.__setattr__(self, "run", run)
        object.__setattr__(self, "args", args)
        object.__setattr__(self, "db", db)

    @property
    def summary(self) -> str:
        """First line of the function's docstring."""
        return (self.run.__doc__ or "").strip().splitlines()[0]

    @property
    def description(self) -> str:
        """The whole docstring, dedented."""
        import inspect

        return inspect.cleandoc(self.run.__doc__ or "")


def parse_instant(text: str) -> datetime:
    """An ISO 8601 date or datetime; without a time zone it is read as UTC (a date: UTC midnight).

    Example:
        >>> parse_instant("2026-03-01").isoformat()
        '2026-03-01T00:00:00+00:00'
        >>> parse_instant("2026-03-01T09:30+01:00").isoformat()
        '2026-03-01T09:30:00+01:00'
    """
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(
            f"{text!r} is not an ISO date or datetime (e.g. 2026-03-01 or 2026-03-01T12:00+02:00)",
            field="until",
        ) from None
    return at.replace(tzinfo=UTC) if at.tzinfo is None or at.utcoffset() is None else at


def instant_arg(text: str) -> datetime:
    """``argparse`` type: :func:`parse_instant`, its error as a usage error.

    Example:
        >>> instant_arg("2026-03-01").day
        1
    """
    try:
        return parse_instant(text)
    except ValidationError as e:
        raise argparse.ArgumentTypeError(e.message) from None


def int_arg(text: str) -> int:
    """``argparse`` type: a whole number.

    Example:
        >>> int_arg("-3")
        -3
        >>> int_arg("3.5")
        Traceback (most recent call last):
        argparse.ArgumentTypeError: '3.5' is not a whole number
    """
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def count_arg(text: str) -> int:
    """``argparse`` type: a whole number, zero or more.

    Example:
        >>> count_arg("0")
        0
        >>> count_arg("-1")
        Traceback (most recent call last):
        argparse.ArgumentTypeError: must not be negative, got -1
    """
    value = int_arg(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
    return value


def positive_int(text: str) -> int:
    """``argparse`` type: a whole number, one or more.

    Example:
        >>> positive_int("0")
        Traceback (most recent call last):
        argparse.ArgumentTypeError: must be at least 1, got 0
    """
    value = int_arg(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value
