"""Draw the charts of docs/analytics.md from a demo run: ``python docs/img/make_analytics_charts.py``.

Runs ``subkit demo`` (120 customers, 12 months, seed 42) in a temporary folder, then draws its
book (reported in USD, each invoice at its locked rate): the MRR movements, the cohort retention
heatmap, and a revenue waterfall. The waterfall's data is a plain mapping month -> {month
invoiced: amount}: each recurring line's net amount spread evenly over the months its service
period touches (straight-line, by days), in USD at the invoice's locked rate, as a stand-in for
the revenue recognition schedule. The PNGs land next to this script.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import defaultdict
from datetime import UTC, timedelta
from pathlib import Path

from subkit.adapters.storage.sql import SqlStore
from subkit.analytics.charts import revenue_waterfall
from subkit.core.money import allocate_minor
from subkit.entrypoints.demo import run_demo
from subkit.fx import reporting_minor
from subkit.invoice.invoice import Invoice, InvoiceStatus, LineKind

HERE = Path(__file__).resolve().parent


def straight_line(invoices: list[Invoice], currency: str) -> dict[str, dict[str, int]]:
    """month -> {month invoiced: amount}: recurring lines spread by days over their service period."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for inv in invoices:
        if inv.status in (InvoiceStatus.DRAFT, InvoiceStatus.VOID):
            continue
        booked = f"{inv.created_at:%Y-%m}"
        for ln in inv.lines:
            if ln.kind != LineKind.RECURRING or ln.period_start is None or ln.period_end is None:
                continue
            days = []
            t = ln.period_start
            while t < ln.period_end:
                days.append(f"{t.astimezone(UTC):%Y-%m}")
                t += timedelta(days=1)
            months = sorted(set(days))
            parts = allocate_minor(ln.net_minor, [days.count(m) for m in months])
            for m, part in zip(months, parts, strict=True):
                out[m][booked] += reporting_minor(inv, part, currency)
    return {m: dict(v) for m, v in out.items() if m < "2027-01"}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "demo.sqlite"
        summary = run_demo(db, customers=120, months=12, seed=42)
        for name in summary.charts:
            shutil.copy(Path(tmp) / name, HERE / name)
        with SqlStore(str(db)) as store, store.begin() as uow:
            invoices = uow.find(Invoice)
        fig = revenue_waterfall(straight_line(invoices, "USD"), "USD", title="Revenue waterfall (USD)")
        fig.savefig(HERE / "analytics-revenue.png")
        print(f"wrote {', '.join(summary.charts)}, analytics-revenue.png")
        print(summary.render().split("Subscription analytics")[1])


if __name__ == "__main__":
    main()
