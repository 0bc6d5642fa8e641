"""subkit logs through ``logging.getLogger("subkit...")`` and prints nothing unless the host configures it."""

from __future__ import annotations

import logging
import subprocess
import sys
from datetime import UTC, datetime

import pytest

import subkit
from subkit import BillingEngine, Catalog, FlatFee, InMemoryStore, Plan, Product, TestClock


def test_the_library_logger_has_a_null_handler_and_a_bare_script_prints_nothing() -> None:
    assert any(isinstance(h, logging.NullHandler) for h in logging.getLogger("subkit").handlers)
    code = (
        "from datetime import datetime, UTC\n"
        "from subkit import *\n"
        "e = BillingEngine(InMemoryStore(), TestClock(datetime(2027, 1, 1, tzinfo=UTC)))\n"
        "e.set_catalog(Catalog(products=(Product(id='a', name='A'),), plans=(Plan(id='p', product_id='a',"
        " name='P', prices={'USD': FlatFee(flat_amount='1')}),)))\n"
        "e.subscribe(e.create_customer(name='A', currency='USD').id, 'p')\n"
        "e.advance(datetime(2027, 3, 1, tzinfo=UTC))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert (done.stdout, done.stderr) == ("", "")
    assert subkit.__name__ == "subkit"


def test_a_billing_run_logs_its_summary(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = TestClock(datetime(2027, 1, 1, tzinfo=UTC))
    engine = BillingEngine(InMemoryStore(), clock)
    plan = Plan(id="p", product_id="a", name="P", prices={"USD": FlatFee(flat_amount="1")})
    engine.set_catalog(Catalog(products=(Product(id="a", name="A"),), plans=(plan,)))
    engine.subscribe(engine.create_customer(name="A", currency="USD").id, "p", id="sub_ok")
    with caplog.at_level(logging.INFO, logger="subkit"):
        report = engine.advance(datetime(2027, 3, 1, tzinfo=UTC))
    assert report.invoices == 2
    [summary] = [r for r in caplog.records if r.name == "subkit.services.engine"]
    assert summary.levelno == logging.INFO
    assert summary.getMessage() == (
        "advance to 2027-03-01T00:00:00+00:00: 2 actions, 2 invoices, 0 conflicts retried, 0 skipped"
    )
