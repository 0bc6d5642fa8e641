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

One module per command family, each declaring its commands in a ``COMMANDS`` dict:

================  ==================================================================
Module            What lives there
================  ==================================================================
``app``           the registry (:data:`COMMANDS`), the parser, :func:`main`
``context``       exit statuses, the CLI's errors, opening the store, :class:`Context`
``command``       :class:`Command` and :class:`Arg`, argument value parsers
``output``        printing dates and tables
``demo``          ``subkit demo`` (the simulation itself: :mod:`subkit.entrypoints.demo`)
``bill``          ``subkit bill``
``catalog``       ``subkit catalog load|show``
``invoices``      ``subkit invoices list|show``
``customers``     ``subkit customers list|show``
================  ==================================================================

Adding a command is one function ``def _cmd(args, ctx) -> int`` (its docstring is the
``--help`` text) and one entry naming it and its arguments in its family's ``COMMANDS``
(a new family module is added to :data:`COMMANDS` in ``app``). The CLI uses only the
standard library (``argparse``) and subkit's own dependencies.

Example:
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     db = str(pathlib.Path(tmp) / "books.sqlite")
    ...     main(["customers", "list", "--db", db])  # no database there yet
    5
"""

from subkit.entrypoints.cli.app import COMMANDS, GROUPS, build_parser, main
from subkit.entrypoints.cli.command import Arg, Command, parse_instant
from subkit.entrypoints.cli.context import (
    DEFAULT_DB,
    DEMO_DB,
    EXIT_BROKEN_PIPE,
    EXIT_CATALOG,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_STORE,
    EXIT_USAGE,
    CatalogFileError,
    Context,
    StoreUnavailableError,
    exit_code,
    open_store,
)

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
