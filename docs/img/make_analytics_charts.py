"""Draw the charts of docs/analytics.md from a demo run: ``python docs/img/make_analytics_charts.py``.

Runs ``subkit demo`` (120 customers, 12 months, seed 42) in a temporary folder and copies the
charts it writes next to its database: the MRR movements and the cohort retention heatmap of its
book (reported in USD, each invoice at its locked rate), and the revenue waterfall of its revenue
recognition (in USD at the same locked rates, ratable by day). The PNGs land next to this script.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from subkit.entrypoints.demo import run_demo

HERE = Path(__file__).resolve().parent


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        summary = run_demo(Path(tmp) / "demo.sqlite", customers=120, months=12, seed=42)
        for name in summary.charts:
            shutil.copy(Path(tmp) / name, HERE / name)
        print(f"wrote {', '.join(summary.charts)}")
        print(summary.render().split("Subscription analytics")[1].split("\n\n")[0])


if __name__ == "__main__":
    main()
