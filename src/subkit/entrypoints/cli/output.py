"""How commands print: dates, and tables of rows under a header.

Example:
    >>> import argparse, io
    >>> from subkit.entrypoints.cli.context import Context
    >>> ctx = Context(argparse.Namespace(db=None), io.StringIO(), io.StringIO())
    >>> print_list(ctx, ("ID", "Total"), [("in_1", "$5.00")], right=(1,), noun="invoices")
    >>> print(ctx.stdout.getvalue(), end="")
    ID    Total
    in_1  $5.00
    1 invoices
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime

from subkit.entrypoints.cli.context import Context
from subkit.entrypoints.text import table

__all__ = ["day", "print_list", "print_table"]


def day(at: datetime | None) -> str:
    """The UTC date of an instant, ISO formatted; ``""`` for none.

    Example:
        >>> from datetime import timedelta, timezone
        >>> day(datetime(2026, 3, 1, 1, 0, tzinfo=timezone(timedelta(hours=2)))), day(None)
        ('2026-02-28', '')
    """
    return "" if at is None else at.astimezone(UTC).date().isoformat()


def print_table(
    ctx: Context, header: Sequence[str], rows: Sequence[Sequence[str]], right: Collection[int] = ()
) -> None:
    """Print ``rows`` under ``header``, columns aligned (``right``: right-aligned column indexes)."""
    for line in table(header, rows, right):
        ctx.out(line)


def print_list(
    ctx: Context, header: Sequence[str], rows: Sequence[Sequence[str]], right: Collection[int], noun: str
) -> None:
    """A listing: the table and a count (``12 invoices``), or ``No invoices.`` without rows."""
    if not rows:
        ctx.out(f"No {noun}.")
        return
    print_table(ctx, header, rows, right)
    ctx.out(f"{len(rows)} {noun}")
