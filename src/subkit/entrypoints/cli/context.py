"""What every ``subkit`` command gets: exit statuses, the CLI's errors, the store, a :class:`Context`.

Example:
    >>> exit_code(StoreUnavailableError("no database at x.sqlite")), EXIT_STORE
    (5, 5)
"""

from __future__ import annotations

import argparse
import importlib
import os
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, TextIO, cast

from subkit.errors import (
    CatalogFileError,
    NotFoundError,
    StateError,
    StoreUnavailableError,
    SubkitError,
    ValidationError,
)
from subkit.ports import PaymentGateway, Store
from subkit.services.collector import PaymentCollector
from subkit.services.engine import BillingEngine

__all__ = [
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
    "CatalogFileError",
    "Context",
    "StoreUnavailableError",
    "exit_code",
    "is_database_error",
    "load_gateway",
    "one_line",
    "open_store",
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
def exit_code(exc: BaseException) -> int:
    """The exit status for an error (the table in :mod:`subkit.entrypoints.cli`).

    Example:
        >>> exit_code(NotFoundError("no customer 'x'")), exit_code(ValidationError("bad"))
        (3, 2)
    """
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(exc, StoreUnavailableError) or is_database_error(exc):
        return EXIT_STORE
    if isinstance(exc, CatalogFileError):
        return EXIT_CATALOG
    if isinstance(exc, NotFoundError):
        return EXIT_NOT_FOUND
    if isinstance(exc, ValidationError):
        return EXIT_USAGE
    return EXIT_FAILED


def is_database_error(exc: BaseException) -> bool:
    """Whether ``exc`` comes from the database driver (sqlite3 or SQLAlchemy, not imported here).

    Example:
        >>> import sqlite3
        >>> is_database_error(sqlite3.OperationalError("disk I/O error")), is_database_error(ValueError())
        (True, False)
    """
    return isinstance(exc, sqlite3.Error) or type(exc).__module__.split(".")[0] == "sqlalchemy"


def one_line(exc: BaseException) -> str:
    """The first line of an error's message (of the driver's own error when it wraps one).

    Example:
        >>> one_line(ValueError("bad file\\nat line 3")), one_line(KeyError())
        ('bad file', 'KeyError')
    """
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
        ...     open_store(str(pathlib.Path(tmp) / "missing.sqlite"))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        subkit.errors.StoreUnavailableError: [store_unavailable] db: no database at ...
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
        raise StoreUnavailableError(f"cannot open {db}: {one_line(e)}", field="db") from None


def load_gateway(spec: str | None) -> PaymentGateway:
    """The payment gateway ``MODULE:FACTORY`` names (``spec``, else ``$SUBKIT_GATEWAY``).

    Example:
        >>> type(load_gateway("subkit.testing.gateway:FakeGateway")).__name__
        'FakeGateway'
        >>> load_gateway("nowhere")
        Traceback (most recent call last):
        ...
        subkit.errors.ValidationError: [invalid] gateway: 'nowhere' is not MODULE:FACTORY (e.g. app.pay:gw)
    """
    spec = spec or os.environ.get("SUBKIT_GATEWAY")
    if not spec:
        raise ValidationError(
            "this command talks to your payment gateway: pass --gateway MODULE:FACTORY or set SUBKIT_GATEWAY",
            field="gateway",
        )
    module, _, name = spec.partition(":")
    if not module or not name:
        raise ValidationError(f"{spec!r} is not MODULE:FACTORY (e.g. app.pay:gw)", field="gateway")
    try:
        factory = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as e:
        raise ValidationError(f"cannot load gateway {spec!r}: {one_line(e)}", field="gateway") from None
    gateway: PaymentGateway = factory()
    return gateway


class _NoGateway:
    """The gateway of commands that must not call one: any call is an error saying what to pass."""

    def __getattr__(self, name: str) -> Any:
        raise ValidationError(
            f"this command cannot call the gateway ({name}); pass --gateway MODULE:FACTORY", field="gateway"
        )


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

    def collector(self, at: datetime | None = None) -> PaymentCollector:
        """A payment collector over the store and the gateway of ``--gateway`` (or ``$SUBKIT_GATEWAY``).

        The gateway is the host's: ``MODULE:FACTORY``, a callable of no argument returning a
        :class:`~subkit.ports.PaymentGateway` (``subkit.testing.gateway:FakeGateway`` in tests).
        """
        return PaymentCollector(self.engine(at), load_gateway(getattr(self.args, "gateway", None)))

    def collector_offline(self) -> PaymentCollector:
        """A payment collector for what needs no gateway (payments received by bank transfer)."""
        return PaymentCollector(self.engine(), cast(PaymentGateway, _NoGateway()))

    def close(self) -> None:
        """Close the store if it was opened."""
        if self._store is not None:
            self._store.close()
            self._store = None
