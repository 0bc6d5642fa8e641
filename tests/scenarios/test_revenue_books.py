"""Revenue books over the real engine: a subscription's quarter, an upgrade, a late credit note, the close.

Plans (see conftest): la_basic $31/month, la_pro $62/month. Hand-computed numbers:
- Jan 15: la_basic, [Jan 15, Feb 15) $31: 17 days in January, 14 in February.
- Feb 1: upgrade to la_pro, invoiced now: 14 of 31 days left, so -$14 credited and +$28 charged for
  [Feb 1, Feb 15): February gets 14 (old line) - 14 + 28.
- Feb 15: renewal at $62 for [Feb 15, Mar 15): 14 of 28 days in February ($31), 14 in March ($31).
So January $17, February $59, March $31: $107 = 31 - 14 + 28 + 62.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from subkit.errors import DuplicateError, PeriodClosedError, StateError
from subkit.revenue import Account, RecognitionPolicy
from subkit.revenue.close import RevenueClose
from subkit.services.revenue import RevenueBooks
from subkit.subscription.proration import ProrationBehavior

from .conftest import World


def _quarter() -> tuple[World, RevenueBooks, str]:
    w = World(datetime(2027, 1, 15, tzinfo=UTC))
    cus = w.engine.create_customer(name="Ada", currency="USD")
    sub = w.engine.subscribe(cus.id, "la_basic")
    w.go(datetime(2027, 2, 1, tzinfo=UTC))
    w.engine.change_plan(sub.id, "la_pro", when="now", proration_behavior=ProrationBehavior.ALWAYS_INVOICE)
    w.go(datetime(2027, 3, 2, tzinfo=UTC))
    return w, RevenueBooks(w.store, w.clock), w.engine.invoices(subscription_id=sub.id)[0].id


def test_a_quarter_with_an_upgrade_recognizes_17_59_31() -> None:
    _, rb, _ = _quarter()
    assert rb.recognized_revenue(date(2027, 1, 1), date(2027, 4, 1)) == {
        "2027-01": 1700,
        "2027-02": 5900,
        "2027-03": 3100,
    }
    assert rb.recognized_revenue(date(2027, 1, 1), date(2027, 4, 1), by="product") == {"app": 10700}
    # Deferred: 31 billed - 17 = 14 at Jan 31; +14 (upgrade) +62 (renewal) - 59 = 31 at Feb 28; 0 at Mar 31.
    rf = rb.rollforward_by_month(date(2027, 1, 1), date(2027, 4, 1))
    assert [(r.opening_minor, r.billed_minor, r.recognized_minor, r.closing_minor) for r in rf] == [
        (0, 3100, 1700, 1400),
        (1400, 7600, 5900, 3100),
        (3100, 0, 3100, 0),
    ]
    trial = rb.balances(date(2027, 3, 31))
    assert sum(trial.values()) == 0
    # Nothing was paid: receivable = 31 + 14 + 62 = $107, revenue $107 (a credit).
    assert (trial["1100"], trial["4000"], trial["2400"]) == (10700, -10700, 0)
    assert rb.journal_csv().startswith("entry_id,date,kind,account_code")


def test_a_closed_month_is_never_rewritten_and_late_documents_move_to_the_first_open_day() -> None:
    w, rb, first = _quarter()
    before = rb.recognized_revenue(date(2027, 1, 1), date(2027, 2, 1))
    jan_balances = rb.balances(date(2027, 1, 31))
    close = rb.close(date(2027, 1, 31), by="controller")
    assert (close.id, close.first, close.through, close.closed_by) == (
        "revenue_close_2027-01",
        date(2027, 1, 1),
        date(2027, 1, 1),
        "controller",
    )
    assert close.totals["USD:revenue"] == -1700 and first in close.sources

    # A $5 credit note back-dated into January, after the close: its entry lands on Feb 1.
    w.engine.issue_credit_note(first, "5", at=datetime(2027, 1, 20, tzinfo=UTC))
    books = rb.books()
    moved = [e for e in books.entries if e.kind.value == "credit_note"]
    assert [(e.on, e.moved_from) for e in moved] == [(date(2027, 2, 1), date(2027, 1, 20))]
    assert rb.recognized_revenue(date(2027, 1, 1), date(2027, 2, 1)) == before
    assert rb.balances(date(2027, 1, 31)) == jan_balances
    # February takes the $5 out of the old line's remaining 14: 9 - 14 + 28 + 31 = 54.
    assert rb.recognized_revenue(date(2027, 2, 1), date(2027, 3, 1)) == {"2027-02": 5400}

    with pytest.raises(PeriodClosedError, match="already closed"):
        rb.close(date(2027, 1, 1))
    with pytest.raises(StateError, match="has not ended"):
        rb.close(date(2027, 3, 1))
    second = rb.close(date(2027, 2, 1))
    assert second.first == date(2027, 2, 1) and "cn_" in " ".join(second.sources)
    assert [c.id for c in rb.closes()] == ["revenue_close_2027-01", "revenue_close_2027-02"]


def test_two_closes_of_one_month_cannot_both_commit() -> None:
    w, rb, _ = _quarter()
    with w.store.begin() as uow:
        uow.claim("revenue_close_2027-01")  # another worker's close of January, committed first
    with pytest.raises(DuplicateError):
        rb.close(date(2027, 1, 1))
    with w.store.begin() as uow:
        assert uow.find(RevenueClose) == []  # nothing half-written


def test_books_in_another_time_zone_and_an_unknown_write_off_date() -> None:
    w, _, first = _quarter()
    w.engine.mark_uncollectible(first)
    rb = RevenueBooks(w.store, w.clock, policy=RecognitionPolicy(timezone="Asia/Tokyo"))
    wo = [e for e in rb.books().entries if e.kind.value == "write_off"]
    # The first invoice was finalized Jan 15 00:00 UTC (09:00 in Tokyo) with no due date stored: the
    # write-off is dated at finalization; the $31 it wrote off was still due.
    assert [(e.on, e.amount(Account.WRITE_OFF)) for e in wo] == [(date(2027, 1, 15), 3100)]
