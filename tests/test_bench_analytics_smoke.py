"""The analytics benchmark runs at a tiny size: subkit and DuckDB agree on every figure (no time asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_bench_analytics_agrees_with_duckdb() -> None:
    pytest.importorskip("duckdb", reason="the baseline needs DuckDB")
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--sizes", "300", "--only", "analytics"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    rows = [ln.split()[0] for ln in proc.stdout.splitlines() if ln.startswith("analytics.")]
    assert rows == ["analytics.movements", "analytics.movements.frozen"]
    assert proc.stdout.count("subkit and DuckDB agreed on every figure") == 2
