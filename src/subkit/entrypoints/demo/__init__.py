"""A year of a small SaaS, simulated on an embedded SQLite file: ``subkit demo``.

:func:`run_demo` builds a catalog (Basic, Pro per seat, Enterprise with graduated
seats, and a metered API-calls add-on, priced in USD, EUR, GBP and JPY), then drives
a :class:`~subkit.services.engine.BillingEngine` on a :class:`~subkit.core.clock.TestClock`
advanced day by day. Customers in eight countries sign up over the year and live
their lives: trials, coupons (once, repeating, forever) and a promotion code,
upgrades with proration, downgrades at period end, seat changes, metered usage,
one-off charges, pauses, cancellations (now and at period end), reactivations,
win-backs, a mid-year price increase, service credits (credit notes) and, when
:mod:`subkit.services.collector` is installed, card payments with a few declines.

Everything random comes from one ``random.Random(seed)`` and ids from a counter, so
the same arguments give a byte-identical :meth:`DemoSummary.render`.

==============  ================================================================
Module          What lives there
==============  ================================================================
``business``    the catalog, coupons, markets and company names of the business
``simulation``  the year as a queue of tasks (sign-ups, upgrades, usage...)
``payments``    cards on a ``FakeGateway``, declines, transfers, refunds
``summary``     :class:`DemoSummary` and its text
``report``      reading the finished run back from the store into a summary
``run``         :func:`run_demo`: open the store, set up, simulate day by day
==============  ================================================================

Example:
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     summary = run_demo(pathlib.Path(tmp) / "demo.sqlite", customers=6, months=2, seed=1)
    >>> summary.customers, summary.invoice_count > 0
    (6, True)
    >>> "Month by month" in summary.render()
    True
"""

from subkit.entrypoints.demo.business import CURRENCIES, DEFAULT_START, demo_catalog
from subkit.entrypoints.demo.run import Progress, run_demo
from subkit.entrypoints.demo.summary import CurrencyTotals, DemoSummary, MonthRow
from subkit.entrypoints.text import format_invoice

__all__ = [
    "CURRENCIES",
    "DEFAULT_START",
    "CurrencyTotals",
    "DemoSummary",
    "MonthRow",
    "Progress",
    "demo_catalog",
    "format_invoice",
    "run_demo",
]
