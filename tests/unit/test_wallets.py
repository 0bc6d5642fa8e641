"""Prepaid credits: consumed against invoices before payment, by priority and expiry, never negative."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from subkit.catalog.catalog import Catalog, Plan, Product
from subkit.catalog.pricing import FlatFee
from subkit.core.clock import TestClock
from subkit.errors import StateError
from subkit.invoice.invoice import InvoiceStatus
from subkit.services.context import BillingConfig
from subkit.services.engine import BillingEngine
from subkit.testing import InMemoryStore
from subkit.usage.wallet import CreditGrant, EntryType, Wallet

JAN = datetime(2027, 1, 1, tzinfo=UTC)


def _engine(wallets: bool = True) -> BillingEngine:
    e = BillingEngine(InMemoryStore(), TestClock(JAN), config=BillingConfig(wallets=wallets))
    e.set_catalog(
        Catalog(
            products=(Product(id="app", name="App"),),
            plans=(Plan(id="pro", product_id="app", name="Pro", prices={"USD": FlatFee(flat_amount="30")}),),
        )
    )
    return e


def test_invoices_use_credits_by_priority_then_expiry_and_void_gives_them_back() -> None:
    e = _engine()
    cus = e.create_customer(name="Ada", currency="USD")
    e.grant_credits(cus.id, "20", kind="purchased", priority=1, id="paid")
    e.grant_credits(
        cus.id, "15", kind="promotional", priority=0, expires_at=datetime(2027, 3, 1, tzinfo=UTC), id="promo"
    )
    inv = e.invoices(e.subscribe(cus.id, "pro", at=JAN).customer_id)[-1]
    # $30 due: the promotional grant first (priority 0): 15.00, then 15.00 of the purchased one
    assert (inv.total_minor, inv.prepaid_applied_minor, inv.amount_due_minor) == (3000, 3000, 0)
    assert inv.status == InvoiceStatus.PAID
    wallet = e.wallet(cus.id)
    assert {g.id: g.remaining_minor for g in wallet.grants} == {"paid": 500, "promo": 0}
    # February renewal: 5.00 left, 25.00 to pay
    e.advance(datetime(2027, 2, 1, tzinfo=UTC))
    feb = e.invoices(cus.id)[-1]
    assert (feb.prepaid_applied_minor, feb.amount_due_minor) == (500, 2500)
    assert e.wallet(cus.id).available(datetime(2027, 2, 1, tzinfo=UTC)) == 0
    kinds = [(x.type, x.grant_id, x.amount_minor, x.balance_minor) for x in e.wallet_ledger(cus.id)]
    assert kinds == [
        (EntryType.GRANT, "paid", 2000, 2000),
        (EntryType.GRANT, "promo", 1500, 3500),
        (EntryType.CONSUME, "promo", -1500, 2000),
        (EntryType.CONSUME, "paid", -1500, 500),
        (EntryType.CONSUME, "paid", -500, 0),
    ]
    e.void_invoice(feb.id)
    assert e.wallet(cus.id).available(datetime(2027, 2, 2, tzinfo=UTC)) == 500  # given back


def test_credits_expire_on_time() -> None:
    e = _engine()
    cus = e.create_customer(name="Ada", currency="USD")
    end = datetime(2027, 1, 31, 12, tzinfo=UTC)
    e.grant_credits(cus.id, "10", expires_at=end, id="g")
    w = e.wallet(cus.id)
    assert (w.available(datetime(2027, 1, 31, 11, 59, 59, tzinfo=UTC)), w.available(end)) == (1000, 0)
    e.subscribe(cus.id, "pro", at=datetime(2027, 2, 1, tzinfo=UTC))  # after the expiry: nothing used
    inv = e.invoices(cus.id)[-1]
    assert (inv.prepaid_applied_minor, inv.amount_due_minor) == (0, 3000)
    last = e.wallet_ledger(cus.id)[-1]
    assert (last.type, last.amount_minor, last.balance_minor, last.at) == (EntryType.EXPIRE, -1000, 0, end)


def test_wallets_off_by_default() -> None:
    e = _engine(wallets=False)
    cus = e.create_customer(name="Ada", currency="USD")
    with pytest.raises(StateError, match="wallets=True"):
        e.grant_credits(cus.id, "10")


@settings(max_examples=200, deadline=None)
@given(
    grants=st.lists(
        st.tuples(st.integers(1, 5000), st.integers(0, 3), st.integers(1, 60) | st.none()),
        min_size=1,
        max_size=5,
    ),
    asks=st.lists(st.tuples(st.integers(0, 8000), st.integers(0, 90)), max_size=8),
)
def test_wallet_never_negative_and_ledger_sums(
    grants: list[tuple[int, int, int | None]], asks: list[tuple[int, int]]
) -> None:
    from datetime import timedelta

    w = Wallet.open("c", "USD")
    ledger = []
    for n, (amount, prio, days) in enumerate(grants):
        g = CreditGrant(
            id=f"g{n}",
            kind="granted",
            amount_minor=amount,
            remaining_minor=amount,
            priority=prio,
            granted_at=JAN,
            expires_at=JAN + timedelta(days=days) if days else None,
        )
        w, entries = w.grant(g, JAN)
        ledger += entries
    for ask, day in sorted(asks, key=lambda a: a[1]):
        at = JAN + timedelta(days=day)
        before = w.available(at)
        w, entries = w.consume(ask, at, invoice_id="in")
        ledger += entries
        used = -sum(x.amount_minor for x in entries if x.type == EntryType.CONSUME)
        assert used == min(ask, before)
        assert w.available(at) == before - used >= 0
    assert all(x.balance_minor >= 0 for x in ledger)
    assert all(g.remaining_minor >= 0 for g in w.grants)
    # every credit granted is still there, was used, or expired: the ledger sums to the remainder
    assert sum(x.amount_minor for x in ledger) == sum(g.remaining_minor for g in w.grants)
    assert len({x.id for x in ledger}) == len(ledger)
