"""The usage benchmark runs end to end at a tiny size (it times nothing that is asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_usage_runs_and_agrees_with_the_bare_loop() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--sizes", "300", "--only", "usage"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    rows = [ln.split()[0] for ln in proc.stdout.splitlines() if ln.startswith("usage.")]
    assert {
        "usage.ingest.memory",
        "usage.rate.memory",
        "usage.ingest.sqlite",
        "usage.raw.sqlite",
        "usage.rate.sqlite",
    } <= set(rows)
    assert "MISMATCH" not in proc.stdout and "totals ok" in proc.stdout
