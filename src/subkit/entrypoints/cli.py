"""The ``subkit`` command line: a demo, and operator commands over a store.

::

    subkit demo [--db PATH] [--customers N] [--months N] [--seed N] [--no-progress]
    subkit bill --until DATE [--db URL_OR_PATH]
    subkit catalog load FILE [--db URL_OR_PATH]
    subkit catalog show [--json] [--db URL_OR_PATH]
    subkit invoices list [--customer ID] [--db URL_OR_PATH]
    subkit invoices show ID_OR_NUMBER [--db URL_OR_PATH]
    subkit customers list [--db URL_OR_PATH]
    subkit customers show ID [--db URL_OR_PATH]

``--db`` is a SQLite file path or a SQLAlchemy URL (default ``subkit.sqlite`` in the
current directory). Every command has ``--help``. Errors are one line on stderr,
``subkit: error: [code] message``, with a distinct exit status:

====  =====================================================================
Exit  Meaning
====  =====================================================================
0     success
1     the engine refused the operation (any other subkit error)
2     usage error or bad input: unknown option, bad date, bad number...
3     not found: unknown customer or invoice id, no catalog in the store
4     the catalog file is unreadable or invalid
5     the database is unreachable or unopenable (missing file, not a
      database, wrong schema version, missing driver)
130   interrupted (Ctrl-C)
141   the output pipe was closed early (e.g. ``| head``)
====  =====================================================================

Adding a command is one function ``def _cmd(args, ctx) -> int`` (its docstring is the
``--help`` text) and one entry in :data:`COMMANDS` naming it and its arguments.
The CLI uses only the standard library (``argparse``) and subkit's own dependencies.

Example:
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     db = str(pathlib.Path(tmp) / "books.sqlite")
    ...     main(["customers", "list", "--db", db])  # no database there yet
    5
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shlex
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, Protocol, TextIO

from subkit.catalog.catalog import Catalog, Plan
from subkit.catalog.pricing import PricingModel
from subkit.customer.customer import Customer
from subkit.entrypoints.text import format_invoice, money, table
from subkit.errors import (
    CatalogError,
    NotFoundError,
    StateError,
    SubkitError,
    ValidationError,
)
from subkit.invoice.invoice import CreditNote, Invoice
from subkit.ports import Store
from subkit.services.engine import BillingEngine
from subkit.subscription.model import LIVE, Subscription, SubscriptionStatus

__all__ = [
    "COMMANDS",
    "DEFAULT_DB",
    "DEMO_DB",
    "EXIT_BROKEN_PIPE",
    "EXIT_CATALOG",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_STORE",
    "EXIT_USAGE",
    "GROUPS",
    "Arg",
    "CatalogFileError",
    "Command",
    "Context",
    "StoreUnavailableError",
    "build_parser",
    "exit_code",
    "main",
    "open_store",
    "parse_instant",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_CATALOG = 4
EXIT_STORE = 5
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141

#: The operator commands' database when ``--db`` is not given.
DEFAULT_DB = "subkit.sqlite"
#: The demo's database when ``--db`` is not given (replaced on each run).
DEMO_DB = "subkit-demo.sqlite"


# --------------------------------------------------------------------------- errors
class StoreUnavailableError(SubkitError):
    """The database cannot be reached or opened (exit status 5).

    Example:
        >>> StoreUnavailableError("no database at x.sqlite").code
        'store_unavailable'
    """

    code = "store_unavailable"


class CatalogFileError(CatalogError):
    """A catalog file that cannot be read or is invalid (exit status 4).

    Example:
        >>> CatalogFileError("not valid JSON", field="catalog.json").code
        'invalid_catalog_file'
    """

    code = "invalid_catalog_file"


def exit_code(exc: BaseException) -> int:
    """The exit status for an error (see the module docstring).

    Example:
        >>> exit_code(NotFoundError("no customer 'x'")), exit_code(ValidationError("bad"))
        (3, 2)
    """
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(exc, StoreUnavailableError) or _is_database_error(exc):
        return EXIT_STORE
    if isinstance(exc, CatalogFileError):
        return EXIT_CATALOG
    if isinstance(exc, NotFoundError):
        return EXIT_NOT_FOUND
    if isinstance(exc, ValidationError):
        return EXIT_USAGE
    return EXIT_FAILED


def _is_database_error(exc: BaseException) -> bool:
    # SQLAlchemy is optional: recognise its errors without importing it.
    return isinstance(exc, sqlite3.Error) or type(exc).__module__.split(".")[0] == "sqlalchemy"


def _one_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc) or type(exc).__name__
    return text.strip().splitlines()[0]


# --------------------------------------------------------------------------- the store
class _ClosableStore(Store, Protocol):
    def close(self) -> None: ...


def open_store(db: str, *, create: bool = False) -> _ClosableStore:
    """Open the SQL store at ``db`` (a SQLite path or a SQLAlchemy URL).

    With ``create=False`` the database must already hold subkit's schema; with
    ``create=True`` a missing SQLite file is created. Failures raise
    :class:`StoreUnavailableError`.

    Example:
        >>> import pathlib, tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     store = open_store(str(pathlib.Path(tmp) / "new.sqlite"), create=True)
        ...     store.close()
        ...     open_store(str(pathlib.Path(tmp) / "missing.sqlite"))
        Traceback (most recent call last):
        subkit.entrypoints.cli.StoreUnavailableError: [store_unavailable] db: no database at ...
    """
    if "://" not in db:
        path = Path(db)
        if path.is_dir():
            raise StoreUnavailableError(f"{db} is a directory, not a database file", field="db")
        if not create and not path.is_file():
            raise StoreUnavailableError(
                f"no database at {db} (create one with 'subkit catalog load FILE --db {db}')", field="db"
            )
    try:
        from subkit.adapters.storage.sql import SqlStore
    except ImportError as e:
        raise StoreUnavailableError(
            f"the SQL store needs SQLAlchemy: pip install 'subkit[sql]' ({e})", field="db"
        ) from None
    try:
        return SqlStore(db, create=create)
    except StateError as e:
        raise StoreUnavailableError(f"cannot use {db}: {e.message}", field="db") from None
    except (SubkitError, KeyboardInterrupt):
        raise
    except Exception as e:  # driver, URL, file-format errors: whatever the backend raises
        raise StoreUnavailableError(f"cannot open {db}: {_one_line(e)}", field="db") from None


class _AsOf:
    """A clock standing still at one instant (a billing run happens "as of" it)."""

    def __init__(self, at: datetime) -> None:
        self._at = at

    def now(self) -> datetime:
        return self._at


@dataclass
class Context:
    """What a command gets besides its arguments: output streams and the store, opened on demand.

    Example:
        >>> import io
        >>> ctx = Context(argparse.Namespace(db=None), io.StringIO(), io.StringIO())
        >>> ctx.out("hello"); ctx.stdout.getvalue()
        'hello\\n'
    """

    args: argparse.Namespace
    stdout: TextIO
    stderr: TextIO
    _store: _ClosableStore | None = field(default=None, repr=False)

    def out(self, text: str = "") -> None:
        """Print a line on stdout."""
        print(text, file=self.stdout)

    def err(self, text: str) -> None:
        """Print a line on stderr."""
        print(text, file=self.stderr)

    def store(self, *, create: bool = False) -> Store:
        """The store of ``--db`` (opened once, closed when the command ends)."""
        if self._store is None:
            self._store = open_store(self.args.db, create=create)
        return self._store

    def engine(self, at: datetime | None = None, *, create: bool = False) -> BillingEngine:
        """A billing engine over the store, on the wall clock or standing at ``at``."""
        from subkit.core.clock import SystemClock

        return BillingEngine(self.store(create=create), SystemClock() if at is None else _AsOf(at))

    def close(self) -> None:
        """Close the store if it was opened."""
        if self._store is not None:
            self._store.close()
            self._store = None


# --------------------------------------------------------------------------- helpers
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


def _instant_arg(text: str) -> datetime:
    try:
        return parse_instant(text)
    except ValidationError as e:
        raise argparse.ArgumentTypeError(e.message) from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _count_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
    return value


def _int_arg(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def _day(at: datetime | None) -> str:
    return "" if at is None else at.astimezone(UTC).date().isoformat()


def _customer(engine: BillingEngine, customer_id: str) -> Customer:
    try:
        return engine.get_customer(customer_id)
    except NotFoundError:
        raise NotFoundError(
            f"no customer {customer_id!r} (see 'subkit customers list')", field="customer"
        ) from None


class _Progress:
    """A one-line progress bar on a TTY's stderr; silent when disabled."""

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
        if self.enabled and self.shown >= 0:
            self.stream.write("\n")
            self.stream.flush()


# --------------------------------------------------------------------------- commands
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
    bar = _Progress(ctx.stderr, enabled=not args.no_progress and ctx.stderr.isatty())
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


def _catalog_load(args: argparse.Namespace, ctx: Context) -> int:
    """Validate a catalog JSON file and store it (replacing the current catalog).

    The file is what 'subkit catalog show --json' prints: products, plans with a
    pricing model per currency. Subscriptions keep the plan versions they pinned, so
    the file must still contain every version a subscription uses (a file that
    drops one is refused). Creates the database if it does not exist.
    """
    try:
        catalog = Catalog.load(args.file)
    except SubkitError as e:
        where = f"{e.field}: " if e.field else ""
        raise CatalogFileError(f"{args.file}: {where}{e.message}") from None
    engine = ctx.engine(create=True)
    with engine.store.begin() as uow:
        subs = [s for s in uow.find(Subscription) if s.status != SubscriptionStatus.CANCELED]
    missing = Counter(
        f"{it.plan_id} v{it.plan_version}"
        for s in subs
        for it in s.items
        if all(p.version != it.plan_version for p in catalog.plans if p.id == it.plan_id)
    )
    if missing:
        used = ", ".join(f"{k} ({n} subscriptions)" for k, n in sorted(missing.items()))
        raise CatalogFileError(
            f"{args.file} drops plan versions that subscriptions use: {used}; keep them in the file "
            "(publish new versions instead of removing old ones)"
        )
    engine.set_catalog(catalog)
    versions = len(catalog.plans)
    ctx.out(
        f"Loaded {args.file}: {len(catalog.products)} products, {versions} plan versions, "
        f"currencies {', '.join(catalog.currencies) or '(any)'}"
    )
    return EXIT_OK


def _catalog_show(args: argparse.Namespace, ctx: Context) -> int:
    """Print the stored catalog: products, plans and their prices (--json: the loadable JSON)."""
    try:
        catalog = ctx.engine().catalog
    except NotFoundError:
        raise NotFoundError(
            "the store has no catalog yet; load one with 'subkit catalog load FILE'", field="catalog"
        ) from None
    if args.json:
        ctx.out(catalog.to_json())
        return EXIT_OK
    ctx.out(f"Currencies: {', '.join(catalog.currencies) or '(any)'}")
    ctx.out("Products:")
    for line in table(("  ID", "Name"), [(f"  {p.id}", p.name) for p in catalog.products]):
        ctx.out(line)
    ctx.out("Plans:")
    rows = []
    for plan in catalog.plans:
        label = f"  {plan.id} v{plan.version}"
        extra = [str(plan.interval), plan.kind.value]
        if plan.metric:
            extra.append(f"metered: {plan.metric}")
        if plan.trial_days:
            extra.append(f"{plan.trial_days}-day trial")
        if plan.effective_from:
            extra.append(f"from {plan.effective_from.isoformat()}")
        rows.append((label, plan.name, ", ".join(extra)))
        for currency, price in plan.prices.items():
            rows.append(("", f"  {currency}", _describe_price(price) + _setup(plan, currency)))
    for line in table(("  Plan", "Name", "Terms"), rows):
        ctx.out(line)
    return EXIT_OK


def _setup(plan: Plan, currency: str) -> str:
    fee = plan.setup_fee.get(currency)
    return "" if fee is None else f"; setup fee {fee}"


def _describe_price(price: PricingModel) -> str:
    """``graduated up to 10: 40/unit + 200 flat; beyond: 25/unit``, ``per_unit unit_price=12``..."""
    data: dict[str, Any] = price.model_dump(mode="json", exclude_defaults=True)
    parts = []
    for tier in data.pop("tiers", None) or data.pop("steps", None) or ():
        bound = f"up to {tier['up_to']}" if tier.get("up_to") is not None else "beyond"
        costs = [f"{tier['unit_price']}/unit"] if "unit_price" in tier else []
        costs += [f"{tier['flat_price']} flat"] if "flat_price" in tier else []
        parts.append(f"{bound}: {' + '.join(costs) or '0'}")
    parts.extend(f"{k}={v}" for k, v in data.items() if k != "model")
    return f"{price.model} " + "; ".join(parts)


def _invoices_list(args: argparse.Namespace, ctx: Context) -> int:
    """List invoices, oldest first (all, or one --customer's)."""
    engine = ctx.engine()
    if args.customer:
        _customer(engine, args.customer)
    invoices = engine.invoices(args.customer)
    if not invoices:
        ctx.out("No invoices.")
        return EXIT_OK
    rows = [
        (
            i.number or "(draft)",
            i.id,
            i.customer_id,
            i.status.value,
            _day(i.finalized_at or i.created_at),
            i.billing_reason.value,
            money(i.total_minor, i.currency),
            money(i.amount_remaining_minor, i.currency),
        )
        for i in invoices
    ]
    header = ("Number", "ID", "Customer", "Status", "Date", "Reason", "Total", "Due")
    for line in table(header, rows, right=(6, 7)):
        ctx.out(line)
    ctx.out(f"{len(invoices)} invoices")
    return EXIT_OK


def _invoices_show(args: argparse.Namespace, ctx: Context) -> int:
    """Print one invoice in full (by id or number), in its customer's locale, with its credit notes."""
    engine = ctx.engine()
    try:
        invoice = engine.get_invoice(args.id)
    except NotFoundError:
        with engine.store.begin() as uow:
            found = [i for i in uow.find(Invoice) if i.number == args.id]
        if not found:
            raise NotFoundError(
                f"no invoice with id or number {args.id!r} (see 'subkit invoices list')", field="id"
            ) from None
        invoice = found[0]
    ctx.out(format_invoice(invoice, engine.get_customer(invoice.customer_id)))
    notes: list[CreditNote] = engine.credit_notes(invoice.id)
    for note in notes:
        ctx.out(
            f"Credit note {note.number} ({note.id}) on {_day(note.created_at)}: "
            f"{money(note.amount_minor, note.currency)}" + (f", {note.reason}" if note.reason else "")
        )
    return EXIT_OK


def _customers_list(args: argparse.Namespace, ctx: Context) -> int:
    """List customers with their country, currency, live subscriptions and credit balance."""
    store = ctx.store()
    with store.begin() as uow:
        customers = uow.find(Customer)
        subs = uow.find(Subscription)
    if not customers:
        ctx.out("No customers.")
        return EXIT_OK
    live: dict[str, int] = {}
    total: dict[str, int] = {}
    for s in subs:
        total[s.customer_id] = total.get(s.customer_id, 0) + 1
        if s.status in LIVE:
            live[s.customer_id] = live.get(s.customer_id, 0) + 1
    rows = [
        (
            c.id,
            c.name,
            c.country,
            c.currency,
            c.locale,
            c.timezone,
            f"{live.get(c.id, 0)}/{total.get(c.id, 0)}",
            money(c.credit_minor, c.currency),
        )
        for c in customers
    ]
    header = ("ID", "Name", "Country", "Currency", "Locale", "Time zone", "Live/all subs", "Balance")
    for line in table(header, rows, right=(6, 7)):
        ctx.out(line)
    ctx.out(f"{len(customers)} customers")
    return EXIT_OK


def _customers_show(args: argparse.Namespace, ctx: Context) -> int:
    """Print one customer: details, subscriptions and invoices."""
    engine = ctx.engine()
    c = _customer(engine, args.id)
    ctx.out(f"{c.name} ({c.id})")
    details = [
        ("Email", c.email),
        ("Country", c.country),
        ("Currency", c.currency),
        ("Locale", c.locale),
        ("Time zone", c.timezone),
        ("Credit balance", money(c.credit_minor, c.currency)),
        ("Collection", c.collection_method.value),
    ]
    for key, value in details:
        if value:
            ctx.out(f"  {key + ':':<16}{value}")
    with engine.store.begin() as uow:
        subs = uow.find(Subscription, customer_id=c.id)
    ctx.out("Subscriptions:" if subs else "Subscriptions: none")
    rows = [
        (
            f"  {s.id}",
            s.status.value + (" (cancels at period end)" if s.cancel_at_period_end else ""),
            ", ".join(f"{it.plan_id} v{it.plan_version} x {it.quantity.normalize():f}" for it in s.items),
            f"{_day(s.period_start)} to {_day(s.period_end)}",
            _day(s.due_at) or "-",
        )
        for s in subs
    ]
    if rows:
        for line in table(("  ID", "Status", "Items", "Current period", "Next due"), rows):
            ctx.out(line)
    invoices = engine.invoices(c.id)
    billed = sum(i.total_minor for i in invoices if i.currency == c.currency)
    due = sum(i.amount_remaining_minor for i in invoices if i.currency == c.currency)
    ctx.out(
        f"Invoices: {len(invoices)}, total {money(billed, c.currency)}, due {money(due, c.currency)}"
        + (f" (see 'subkit invoices list --customer {c.id}')" if invoices else "")
    )
    return EXIT_OK


# --------------------------------------------------------------------------- registry
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
        >>> Command(_customers_list).summary
        'List customers with their country, currency, live subscriptions and credit balance.'
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


_DB_HELP = "SQLite file path or SQLAlchemy URL (default: %(default)s)"

#: Every subcommand: a name (words separated by spaces make nested commands) and its Command.
COMMANDS: dict[str, Command] = {
    "demo": Command(
        _demo,
        Arg("--customers", type=_count_arg, default=300, metavar="N", help="sign-ups (default: %(default)s)"),
        Arg(
            "--months",
            type=_positive_int,
            default=12,
            metavar="N",
            help="months to simulate (default: %(default)s)",
        ),
        Arg("--seed", type=_int_arg, default=42, metavar="N", help="random seed (default: %(default)s)"),
        Arg(
            "--no-progress",
            action="store_true",
            help="no progress bar (it is off anyway when stderr is not a TTY)",
        ),
        db=None,
    ),
    "bill": Command(
        _bill,
        Arg(
            "--until",
            required=True,
            type=_instant_arg,
            metavar="DATE",
            help="ISO date or datetime, e.g. 2026-03-01 or 2026-03-01T12:00+02:00; without a time zone it is "
            "read as UTC, and a date alone as UTC midnight",
        ),
    ),
    "catalog load": Command(_catalog_load, Arg("file", metavar="FILE", help="catalog JSON file")),
    "catalog show": Command(
        _catalog_show, Arg("--json", action="store_true", help="print the catalog as JSON")
    ),
    "invoices list": Command(
        _invoices_list, Arg("--customer", metavar="ID", help="only this customer's invoices")
    ),
    "invoices show": Command(
        _invoices_show, Arg("id", metavar="ID", help="invoice id or number (INV-000001)")
    ),
    "customers list": Command(_customers_list),
    "customers show": Command(_customers_show, Arg("id", metavar="ID", help="customer id")),
}

#: Help of command groups (a group without an entry gets a generic one).
GROUPS: dict[str, str] = {
    "catalog": "Load or show the product catalog",
    "invoices": "List and show invoices",
    "customers": "List and show customers",
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
        if not _is_database_error(e):
            raise
        ctx.err(f"subkit: error: [store_unavailable] database error: {_one_line(e)}")
        return EXIT_STORE
    finally:
        with contextlib.suppress(Exception):  # closing must not hide the command's outcome
            ctx.close()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
