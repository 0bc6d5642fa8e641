"""Store contract for pages of lists (``uow.page``, ``uow.page_usage``) and customers by e-mail.

Every store answers the same page to the same request: newest first (creation time, then
id), the same filters (one whitelist, :mod:`subkit.adapters.storage.paging`), the same
refusals, and a cursor that never repeats nor skips an object when others are inserted
between pages.

Example:
    >>> "test_25_rows_by_10_are_10_10_5" in dir(StorePagesContract)
    True
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from subkit.customer.customer import Customer
from subkit.errors import NaiveDatetimeError, NotFoundError, SubkitError, ValidationError
from subkit.invoice.invoice import CreditNote, Invoice, InvoiceStatus
from subkit.payment.attempts import AttemptStatus, PaymentAttempt
from subkit.ports import Store
from subkit.testing.contracts.base import T0, StoreFixture, bump
from subkit.usage.event import micros, usage_row

__all__ = ["StorePagesContract"]

MINUTE = timedelta(minutes=1)


def _invoice(n: int, customer: str = "cus_1", **more: Any) -> Invoice:
    """Invoice ``in_NN`` created ``n`` minutes after T0 (so in_25 is the newest)."""
    fields: dict[str, Any] = {"currency": "EUR", "created_at": T0 + n * MINUTE, **more}
    return Invoice(id=f"in_{n:02d}", customer_id=customer, **fields)


def _ids(page: Any) -> list[str]:
    return [item.id for item in page.items]


class StorePagesContract(StoreFixture):
    """Pages newest first, filtered on a whitelist, stable under inserts; customers by e-mail."""

    def test_25_rows_by_10_are_10_10_5(self, store: Store) -> None:
        with store.begin() as uow:
            for n in range(1, 26):
                uow.add(_invoice(n))
        with store.begin() as uow:
            first = uow.invoices.page(limit=10)
            second = uow.invoices.page(limit=10, after=first.next_cursor)
            third = uow.invoices.page(limit=10, after=second.next_cursor)
        # newest first: in_25 .. in_16, then in_15 .. in_06, then in_05 .. in_01
        assert _ids(first) == [f"in_{n:02d}" for n in range(25, 15, -1)]
        assert _ids(second) == [f"in_{n:02d}" for n in range(15, 5, -1)]
        assert _ids(third) == [f"in_{n:02d}" for n in range(5, 0, -1)]
        assert [first.has_more, second.has_more, third.has_more] == [True, True, False]
        assert (first.next_cursor, second.next_cursor, third.next_cursor) == ("in_16", "in_06", None)

    def test_default_limit_is_10_and_ties_sort_by_id(self, store: Store) -> None:
        with store.begin() as uow:
            for n in range(12):  # all created at the same instant: the id decides, descending
                uow.add(Invoice(id=f"in_{n:02d}", customer_id="cus_1", currency="EUR", created_at=T0))
        with store.begin() as uow:
            page = uow.page(Invoice, {})
            rest = uow.page(Invoice, {}, after=page.next_cursor)
        assert _ids(page) == [f"in_{n:02d}" for n in range(11, 1, -1)]
        assert _ids(rest) == ["in_01", "in_00"] and not rest.has_more

    def test_ties_sort_by_the_ids_code_points_on_every_store(self, store: Store) -> None:
        ids = ["in_B", "in_a", "in__", "in_Z9", "in_é"]
        with store.begin() as uow:
            for id in ids:
                uow.add(Invoice(id=id, customer_id="cus_1", currency="EUR", created_at=T0))
        with store.begin() as uow:
            first = uow.invoices.page(limit=2)
            rest = uow.invoices.page(limit=10, after=first.next_cursor)
        # by code point, descending: é (U+00E9) > a (0x61) > _ (0x5F) > Z (0x5A) > B (0x42), whatever
        # the database's collation
        assert _ids(first) + _ids(rest) == ["in_é", "in_a", "in__", "in_Z9", "in_B"]

    def test_filters_customer_subscription_status_currency(self, store: Store) -> None:
        with store.begin() as uow:
            uow.add(_invoice(1, "cus_a", subscription_id="sub_1"))
            uow.add(_invoice(2, "cus_b", subscription_id="sub_2"))
            uow.add(_invoice(3, "cus_a", subscription_id="sub_1", status=InvoiceStatus.OPEN, number="A-1"))
            uow.add(_invoice(4, "cus_a", currency="USD"))
        with store.begin() as uow:
            assert _ids(uow.invoices.page(customer_id="cus_a")) == ["in_04", "in_03", "in_01"]
            assert _ids(uow.invoices.page(subscription_id="sub_1")) == ["in_03", "in_01"]
            assert _ids(uow.invoices.page(status="open")) == ["in_03"]
            assert _ids(uow.invoices.page(status=InvoiceStatus.DRAFT, customer_id="cus_a")) == [
                "in_04",
                "in_01",
            ]
            assert _ids(uow.invoices.page(currency="usd")) == ["in_04"]
            assert _ids(uow.invoices.page(customer_id="cus_a", currency="EUR", status=None)) == [
                "in_03",
                "in_01",
            ]

    def test_created_range_is_half_open(self, store: Store) -> None:
        with store.begin() as uow:
            for n in range(1, 6):
                uow.add(_invoice(n))
        with store.begin() as uow:
            # T0+2min <= created < T0+4min: in_02 and in_03
            got = uow.invoices.page(created_gte=T0 + 2 * MINUTE, created_lt=T0 + 4 * MINUTE)
            assert _ids(got) == ["in_03", "in_02"]
            assert _ids(uow.invoices.page(created_gte=T0 + 5 * MINUTE)) == ["in_05"]
            assert _ids(uow.invoices.page(created_lt=T0 + 2 * MINUTE)) == ["in_01"]

    def test_filtered_pages_by_cursor(self, store: Store) -> None:
        with store.begin() as uow:
            for n in range(1, 16):
                uow.add(_invoice(n, "cus_a" if n % 3 else "cus_b"))  # cus_b: 3, 6, 9, 12, 15
        with store.begin() as uow:
            first = uow.invoices.page(customer_id="cus_b", limit=2)
            second = uow.invoices.page(customer_id="cus_b", limit=2, after=first.next_cursor)
            third = uow.invoices.page(customer_id="cus_b", limit=2, after=second.next_cursor)
        assert [_ids(first), _ids(second), _ids(third)] == [["in_15", "in_12"], ["in_09", "in_06"], ["in_03"]]
        assert [first.has_more, second.has_more, third.has_more] == [True, True, False]

    def test_inserts_between_pages_neither_repeat_nor_skip(self, store: Store) -> None:
        with store.begin() as uow:
            for n in range(10, 30):
                uow.add(_invoice(n))
        seen: list[str] = []
        after = None
        added = 0
        while True:
            with store.begin() as uow:
                page = uow.invoices.page(limit=7, after=after)
            seen += _ids(page)
            if not page.has_more:
                break
            after = page.next_cursor
            with store.begin() as uow:  # one newer and one older than everything, between pages
                uow.add(_invoice(40 + added))
                uow.add(_invoice(added))
                added += 1
        originals = [f"in_{n:02d}" for n in range(29, 9, -1)]
        assert [i for i in seen if i in originals] == originals  # each original once, in order
        assert len(seen) == len(set(seen))  # nothing twice
        assert not any(i.startswith("in_4") for i in seen)  # newer ones sort before the cursor

    def test_own_writes_are_in_the_page(self, store: Store) -> None:
        with store.begin() as uow:
            uow.add(_invoice(1))
        with store.begin() as uow:
            uow.add(_invoice(2))
            uow.update(bump(uow.get(Invoice, "in_01"), status=InvoiceStatus.OPEN, number="A-1"))
            assert _ids(uow.invoices.page()) == ["in_02", "in_01"]
            assert _ids(uow.invoices.page(status="open")) == ["in_01"]
            assert _ids(uow.invoices.page(status="draft")) == ["in_02"]

    def test_every_listed_kind(self, store: Store) -> None:
        with store.begin() as uow:
            uow.add(Customer(id="cus_old", name="Old", currency="EUR"))  # no created_at: sorts last
            uow.add(Customer(id="cus_new", name="New", currency="EUR", created_at=T0))
            for n in (1, 2):
                uow.add(
                    CreditNote(
                        id=f"cn_{n}",
                        invoice_id="in_1",
                        customer_id="cus_new",
                        currency="EUR",
                        amount_minor=100,
                        created_at=T0 + n * MINUTE,
                    )
                )
                uow.add(
                    PaymentAttempt(
                        id=f"pa_{n}",
                        customer_id="cus_new",
                        invoice_id="in_1",
                        attempt_no=n,
                        idempotency_key=f"charge:in_1:{n}",
                        amount_minor=100,
                        currency="EUR",
                        status=AttemptStatus.SUCCEEDED if n == 2 else AttemptStatus.DECLINED,
                        started_at=T0 - n * MINUTE,
                    )
                )
        with store.begin() as uow:
            assert _ids(uow.customers.page()) == ["cus_new", "cus_old"]
            assert _ids(uow.customers.page(created_gte=T0)) == ["cus_new"]
            assert _ids(uow.credit_notes.page(customer_id="cus_new")) == ["cn_2", "cn_1"]
            # payment attempts sort on when they started: pa_1 (T0 - 1 min) is newer than pa_2
            assert _ids(uow.page(PaymentAttempt, {})) == ["pa_1", "pa_2"]
            assert _ids(uow.page(PaymentAttempt, {"status": "succeeded"})) == ["pa_2"]

    def test_bad_filters_refused_alike(self, store: Store) -> None:
        cases: list[tuple[type[Any], dict[str, object], type[SubkitError], str]] = [
            (Customer, {"name": "Ada"}, ValidationError, "name"),
            (Customer, {"status": "active"}, ValidationError, "status"),  # customers have no status
            (Invoice, {"status": "paid-ish"}, ValidationError, "status"),
            (Invoice, {"currency": "EURO"}, SubkitError, "currency"),
            (Invoice, {"created_gte": datetime(2027, 1, 1)}, NaiveDatetimeError, "created_gte"),
            (Invoice, {"created_lt": "2027-01-01"}, ValidationError, "created_lt"),
            (Invoice, {"customer_id": 7}, ValidationError, "customer_id"),
            (CreditNote, {"subscription_id": "sub_1"}, ValidationError, "subscription_id"),
        ]
        for kind, where, error, field in cases:
            with store.begin() as uow, pytest.raises(error) as caught:
                uow.page(kind, where)
            assert caught.value.field == field, (kind, where)

    def test_limit_outside_1_to_100_refused(self, store: Store) -> None:
        for limit in (0, 101, -1, True, 2.0, "10"):
            with store.begin() as uow, pytest.raises(ValidationError, match="from 1 to 100") as caught:
                uow.page(Invoice, {}, limit=limit)  # type: ignore[arg-type]
            assert caught.value.field == "limit"

    def test_limit_1_and_100_accepted_and_unknown_cursor_refused(self, store: Store) -> None:
        with store.begin() as uow:
            uow.add(_invoice(1))
        with store.begin() as uow:
            assert len(uow.invoices.page(limit=1)) == len(uow.invoices.page(limit=100)) == 1
            with pytest.raises(NotFoundError, match="in_99") as caught:
                uow.invoices.page(after="in_99")
            assert caught.value.field == "after"

    def test_customers_by_email_case_insensitive_oldest_first(self, store: Store) -> None:
        with store.begin() as uow:
            uow.add(Customer(id="cus_1", name="Ada", currency="EUR", email="Ada@Example.com"))
            uow.add(Customer(id="cus_2", name="Bo", currency="EUR", email="bo@example.com"))
            uow.add(Customer(id="cus_3", name="Ada 2", currency="EUR", email="ADA@example.COM"))
            uow.add(Customer(id="cus_4", name="No mail", currency="EUR"))
        with store.begin() as uow:
            assert [c.id for c in uow.customers.by_email("ada@EXAMPLE.com")] == ["cus_1", "cus_3"]
            assert [c.id for c in uow.customers.by_email(" bo@example.com ")] == ["cus_2"]
            assert uow.customers.by_email("nobody@example.com") == []
            uow.update(bump(uow.get(Customer, "cus_1"), email="ada@elsewhere.org"))
            assert [c.id for c in uow.customers.by_email("ada@example.com")] == ["cus_3"]  # own write
        with store.begin() as uow:
            assert [c.id for c in uow.customers.by_email("ADA@elsewhere.org")] == ["cus_1"]
            with pytest.raises(ValidationError):
                uow.customers.by_email("not an address")

    def test_usage_pages(self, store: Store) -> None:
        rows = [
            usage_row(
                f"ev_{n:02d}",
                "sub_1",
                "cus_1",
                "api" if n % 2 else "gb",
                T0 + n * MINUTE,
                None,
                value_field=None,
                recorded=micros(T0),
            )
            for n in range(1, 26)
        ]
        other = usage_row("ev_x", "sub_2", "cus_1", "api", T0, None, value_field=None, recorded=micros(T0))
        with store.begin() as uow:
            uow.usage.ingest([*rows, other])
        with store.begin() as uow:
            first = uow.page_usage({"subscription_id": "sub_1"})
            second = uow.page_usage({"subscription_id": "sub_1"}, after=first.next_cursor)
            third = uow.page_usage({"subscription_id": "sub_1"}, after=second.next_cursor)
            assert [len(first), len(second), len(third)] == [10, 10, 5]
            assert [first.has_more, second.has_more, third.has_more] == [True, True, False]
            assert [r.id for r in first][:2] == ["ev_25", "ev_24"] and [r.id for r in third][-1] == "ev_01"
            # api events are the odd ones; T0+10min <= ts < T0+16min: ev_11, ev_13, ev_15
            api = uow.page_usage(
                {
                    "subscription_id": "sub_1",
                    "metric": "api",
                    "timestamp_gte": T0 + 10 * MINUTE,
                    "timestamp_lt": T0 + 16 * MINUTE,
                }
            )
            assert [r.id for r in api] == ["ev_15", "ev_13", "ev_11"]
            with pytest.raises(ValidationError, match="subscription_id"):
                uow.page_usage({"metric": "api"})
            with pytest.raises(ValidationError):
                uow.page_usage({"subscription_id": "sub_1", "customer": "cus_1"})
            with pytest.raises(NotFoundError):
                uow.page_usage({"subscription_id": "sub_1"}, after="ev_nope")
