"""The benchmark runner works end to end at a tiny size (it times nothing that is asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_runs_and_prints_one_table() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--sizes", "100,200", "--only", "billing", "--only", "pricing"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    lines = proc.stdout.splitlines()
    header = [i for i, ln in enumerate(lines) if ln.startswith("scenario")]
    assert len(header) == 1  # one table
    assert "baseline items/s" in lines[header[0]] and "ratio (time)" in lines[header[0]]
    table = lines[header[0] + 2 : lines.index("targets (issue 9):")]
    rows = [ln.split()[0] for ln in table if ln and not ln.startswith(("note", "skipped"))]
    # billing (default GC and frozen setup heap) at 2 sizes, graduated and volume pricing at 2 sizes each
    expected = ["billing.advance"] * 4 + ["pricing.graduated"] * 2 + ["pricing.volume"] * 2
    assert sorted(rows) == sorted(expected)
    assert "sum of totals" in proc.stdout  # subkit and the baseline agreed on every invoice
    # Under the table, each of issue 9's billing targets with its verdict (not measured at these sizes).
    targets = lines[lines.index("targets (issue 9):") + 1 :]
    assert any("[not measured" in t and ">= 20,000 invoices/s" in t for t in targets)
    assert any(t.startswith("  [info]") and "memory held per subscription (100:" in t for t in targets)


def test_revenue_bench_runs_at_a_tiny_size() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--sizes", "200", "--only", "revenue"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "revenue.schedules+waterfall" in proc.stdout
    assert "waterfalls equal" in proc.stdout  # subkit and the baseline agreed
