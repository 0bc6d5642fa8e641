"""``issue_credit_note(id=...)`` is idempotent: a retry returns the credit note already issued."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from subkit.core.events import EventType
from subkit.errors import DuplicateError

from ...scenarios.conftest import World


def test_a_credit_note_with_a_known_id_is_returned_unchanged() -> None:
    w = World(datetime(2027, 1, 1, tzinfo=UTC))
    cus = w.engine.create_customer(name="A", currency="USD")
    w.engine.subscribe(cus.id, "pro", trial_days=0)  # $20, open
    inv = w.engine.invoices(cus.id)[0]

    note = w.engine.issue_credit_note(inv.id, "5", reason="refund re_1", refund=True, id="cn_re_1")
    again = w.engine.issue_credit_note(inv.id, "5", reason="refund re_1", refund=True, id="cn_re_1")
    assert note.id == "cn_re_1" and again == note
    assert w.engine.credit_notes(inv.id) == [note]
    assert w.engine.get_invoice(inv.id).amount_credited_minor == 500  # credited once
    issued = [e for e in w.store.pending_events() if e.type == EventType.CREDIT_NOTE_ISSUED]
    assert [e.subject_id for e in issued] == ["cn_re_1"]

    # The number series was not consumed by the retry; a new id is a new credit note.
    other = w.engine.issue_credit_note(inv.id, "1", id="cn_re_2")
    assert (note.number, other.number) == ("CN-000001", "CN-000002")
    assert w.engine.get_invoice(inv.id).amount_credited_minor == 600

    # Without an id, each call is a new credit note, as before.
    assert w.engine.issue_credit_note(inv.id, "1").id != w.engine.issue_credit_note(inv.id, "1").id


def test_a_known_id_for_another_invoice_is_refused() -> None:
    w = World(datetime(2027, 1, 1, tzinfo=UTC))
    cus = w.engine.create_customer(name="A", currency="USD")
    w.engine.subscribe(cus.id, "basic")
    w.engine.subscribe(cus.id, "basic")
    first, second = (i.id for i in w.engine.invoices(cus.id))
    w.engine.issue_credit_note(first, "1", id="cn_x")
    with pytest.raises(DuplicateError, match="cn_x"):
        w.engine.issue_credit_note(second, "1", id="cn_x")
    assert w.engine.credit_notes(second) == []
