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

import json
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from subkit.core.paging import Page
from subkit.core.periods import zone
from subkit.entrypoints.cli.command import Arg
from subkit.entrypoints.cli.context import Context
from subkit.entrypoints.text import table

__all__ = [
    "JSON",
    "PAGE",
    "day",
    "emit",
    "emit_page",
    "local_day",
    "print_json",
    "print_list",
    "print_table",
    "wants_json",
]

#: The ``--json`` option every listing and showing command takes.
JSON = Arg("--json", action="store_true", help="print JSON instead of a table")
#: ``--limit`` and ``--after``: every listing prints one page, newest first.
PAGE = (
    Arg("--limit", type=int, default=10, metavar="N", help="how many, 1 to 100 (default: 10)"),
    Arg("--after", metavar="ID", help="the page after this object: the cursor the previous page printed"),
)


def day(at: datetime | None) -> str:
    """The UTC date of an instant, ISO formatted; ``""`` for none.

    Example:
        >>> from datetime import timedelta, timezone
        >>> day(datetime(2026, 3, 1, 1, 0, tzinfo=timezone(timedelta(hours=2)))), day(None)
        ('2026-02-28', '')
    """
    return "" if at is None else at.astimezone(UTC).date().isoformat()


def local_day(at: datetime | None, timezone: str) -> str:
    """The date of an instant in ``timezone`` (a customer's), ISO formatted; ``""`` for none.

    Listings label such columns with the zone they use ("Date (customer's zone)").

    Example:
        >>> local_day(datetime(2026, 3, 1, 1, 0, tzinfo=UTC), "America/New_York")
        '2026-02-28'
    """
    return "" if at is None else at.astimezone(zone(timezone)).date().isoformat()


def wants_json(ctx: Context) -> bool:
    """Whether the command was given ``--json``."""
    return bool(getattr(ctx.args, "json", False))


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def print_json(ctx: Context, data: Any) -> None:
    """``data`` as indented JSON (datetimes ISO 8601, decimals and enums as strings).

    Example:
        >>> import argparse, io
        >>> ctx = Context(argparse.Namespace(db=None), io.StringIO(), io.StringIO())
        >>> print_json(ctx, {"at": datetime(2027, 1, 1, tzinfo=UTC), "qty": Decimal("2.5")})
        >>> print(ctx.stdout.getvalue(), end="")
        {
          "at": "2027-01-01T00:00:00+00:00",
          "qty": "2.5"
        }
    """
    ctx.out(json.dumps(_plain(data), indent=2, ensure_ascii=False))


def emit(
    ctx: Context,
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    records: Sequence[Mapping[str, Any]],
    *,
    right: Collection[int] = (),
    noun: str,
) -> None:
    """A listing as a table (:func:`print_list`), or with ``--json`` its ``records`` as a JSON array."""
    if wants_json(ctx):
        print_json(ctx, list(records))
    else:
        print_list(ctx, header, rows, right, noun)


def emit_page(
    ctx: Context,
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    records: Sequence[Mapping[str, Any]],
    page: Page[Any],
    *,
    right: Collection[int] = (),
    noun: str,
) -> None:
    """One page of a listing (:func:`emit`), then, when more follow, the cursor of the next page.

    The cursor line (``more: --after in_16``) goes to stdout after a table, to stderr after
    JSON (stdout stays one JSON array).

    Example:
        >>> import argparse, io
        >>> ctx = Context(argparse.Namespace(db=None), io.StringIO(), io.StringIO())
        >>> page = Page(items=("in_2",), has_more=True, next_cursor="in_2")
        >>> emit_page(ctx, ("ID",), [("in_2",)], [{"id": "in_2"}], page, noun="invoices")
        >>> print(ctx.stdout.getvalue(), end="")
        ID
        in_2
        1 invoices
        more: --after in_2
    """
    emit(ctx, header, rows, records, right=right, noun=noun)
    if page.has_more:
        hint = f"more: --after {page.next_cursor}"
        if wants_json(ctx):
            ctx.err(hint)
        else:
            ctx.out(hint)


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
