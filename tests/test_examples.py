"""Every script in examples/ runs to completion (each asserts its own hand-computed figures)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

# script -> lines its output must contain (figures computed by hand in the script's docstring)
EXPECTED = {
    "quickstart.py": ["INV-000004  2027-04-30 -> 2027-05-31  $41.50", "billed so far: $166.00"],
    "seats_with_proration.py": [
        "credit balance after removing 2 seats: 16.26",
        "total   114.00",
        "all figures match the hand computation",
    ],
    "coupons.py": [
        "2027-02-01  subtotal   70.00  discounts [7.29, 9.71]  total   53.00",
        "2030-01-01  subtotal  300.00  discounts [0.00]  total  300.00",
        "all figures match the hand computation",
    ],
    "year_of_billing.py": [
        "INV-000018  Cobalt",
        "79.39 EUR",
        "32 invoices; USD 1,232.00, EUR 1,213.39; all figures match",
    ],
}


def test_every_example_is_covered() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(EXPECTED)


@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_example_runs(script: str) -> None:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / script)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert proc.stderr == ""
    for expected in EXPECTED[script]:
        assert expected in proc.stdout, f"{script}: {expected!r} not in output"
