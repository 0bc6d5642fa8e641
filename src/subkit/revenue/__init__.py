"""Revenue recognition (ASC 606 / IFRS 15): schedules, balanced journals, period close, reports.

Pure domain: no I/O, no clock. :mod:`subkit.services.revenue` reads the store and calls it.

- :mod:`.schedule`: methods (ratable by day or exact duration, point in time), month rows
  rounded by largest remainder, bundle allocation by standalone selling price
- :mod:`.journal`: the chart of accounts, balanced entries in two currencies
- :mod:`.books`: obligations, revenue rows and journal entries from the documents
- :mod:`.close`: period close (a closed month is never rewritten)
- :mod:`.reports`: waterfall, deferred revenue roll-forward, revenue by month/product/customer, CSV
- :mod:`.frames`: the same as pandas DataFrames (when pandas is installed)

Example:
    >>> from subkit.revenue import Account, Chart
    >>> Chart().code(Account.DEFERRED_REVENUE)
    '2400'
"""

from subkit.revenue.books import Books, Lock, RevenueRow, build_books
from subkit.revenue.close import RevenueClose
from subkit.revenue.journal import Account, Chart, EntryKind, JournalEntry, Posting
from subkit.revenue.obligations import Obligation
from subkit.revenue.reports import (
    RollForward,
    Waterfall,
    balances,
    journal_csv,
    recognized_revenue,
    rollforward,
    rollforward_by_month,
    waterfall,
)
from subkit.revenue.schedule import Basis, Component, Method, RecognitionPolicy

__all__ = [
    "Account",
    "Basis",
    "Books",
    "Chart",
    "Component",
    "EntryKind",
    "JournalEntry",
    "Lock",
    "Method",
    "Obligation",
    "Posting",
    "RecognitionPolicy",
    "RevenueClose",
    "RevenueRow",
    "RollForward",
    "Waterfall",
    "balances",
    "build_books",
    "journal_csv",
    "recognized_revenue",
    "rollforward",
    "rollforward_by_month",
    "waterfall",
]
