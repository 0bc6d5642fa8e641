"""Store contract for the repositories: ``uow.invoices.by_number``, ``uow.payment_methods.by_reference``...

The repositories are built on the generic methods and the lookup key
(:mod:`subkit.adapters.storage.lookups`), which every store must index.

Example:
    >>> "test_invoice_by_number_ignores_case_and_spaces" in dir(StoreRepositoriesContract)
    True
"""

from __future__ import annotations

from typing import Any

from subkit.core.events import Event, EventType
from subkit.customer.customer import Customer
from subkit.invoice.invoice import CreditNote, Invoice, InvoiceStatus
from subkit.payment.methods import PaymentMethod
from subkit.ports import Store
from subkit.testing.contracts.base import T0, StoreFixture, bump

__all__ = ["StoreRepositoriesContract", "invoice", "payment_method"]


def invoice(id: str, customer_id: str = "cus_1", number: str | None = None, **more: Any) -> Invoice:
    """An invoice for the contracts: a draft without ``number``, open with one."""
    status = InvoiceStatus.DRAFT if number is None else InvoiceStatus.OPEN
    return Invoice(
        id=id, customer_id=customer_id, currency="EUR", number=number, status=status, created_at=T0, **more
    )


def payment_method(id: str, customer_id: str = "cus_1", reference: str | None = None) -> PaymentMethod:
    """A bank transfer method with ``reference``, or a card without one."""
    details: dict[str, object] = (
        {"type": "bank_transfer", "reference": reference}
        if reference is not None
        else {
            "type": "card",
            "token": f"tok_{id}",
            "brand": "visa",
            "last4": "4242",
            "exp_month": 1,
            "exp_year": 2030,
        }
    )
    return PaymentMethod(id=id, customer_id=customer_id, details=details, created_at=T0)


class StoreRepositoriesContract(StoreFixture):
    """One repository per aggregate on every unit of work, with indexed lookups."""

    def test_invoice_by_number_ignores_case_and_spaces(self, store: Store) -> None:
        with store.begin() as uow:
            uow.invoices.add(invoice("in_1", number="INV-000001"))
            uow.invoices.add(invoice("in_2", number="INV-000002"))
            uow.invoices.add(invoice("in_3"))  # a draft has no number yet
        with store.begin() as uow:
            got = uow.invoices.by_number("INV-000002")
            assert got is not None and got.id == "in_2"
            again = uow.invoices.by_number("  inv-000002 ")
            assert again is not None and again.id == "in_2"
            assert uow.invoices.by_number("INV-000003") is None
            assert uow.invoices.by_number("") is None

    def test_an_exact_number_wins_over_one_differing_in_case(self, store: Store) -> None:
        with store.begin() as uow:
            uow.invoices.add(invoice("in_1", number="inv-1"))
            uow.invoices.add(invoice("in_2", number="INV-1"))
        with store.begin() as uow:
            assert [uow.invoices.by_number(n).id for n in ("INV-1", "inv-1")] == ["in_2", "in_1"]  # type: ignore[union-attr]

    def test_a_number_given_in_the_unit_of_work_is_found_at_once(self, store: Store) -> None:
        with store.begin() as uow:
            uow.invoices.add(invoice("in_1"))
        with store.begin() as uow:
            draft = uow.invoices.get("in_1")
            uow.invoices.update(bump(draft, number="INV-000007", status=InvoiceStatus.OPEN))
            found = uow.invoices.by_number("INV-000007")
            assert found is not None and found.id == "in_1"
        with store.begin() as uow:
            found = uow.invoices.by_number("inv-000007")
            assert found is not None and found.version == 2

    def test_invoices_for_a_customer(self, store: Store) -> None:
        with store.begin() as uow:
            uow.invoices.add(invoice("in_1", number="INV-1"))
            uow.invoices.add(invoice("in_2"))
            uow.invoices.add(invoice("in_3", customer_id="cus_2", number="INV-2"))
        with store.begin() as uow:
            assert [i.id for i in uow.invoices.for_customer("cus_1")] == ["in_1", "in_2"]
            assert [i.id for i in uow.invoices.for_customer("cus_1", status=InvoiceStatus.OPEN)] == ["in_1"]

    def test_credit_notes_by_number(self, store: Store) -> None:
        note = CreditNote(
            id="cn_1", invoice_id="in_1", customer_id="cus_1", currency="EUR", number="CN-000001",
            amount_minor=500, created_at=T0,
        )  # fmt: skip
        with store.begin() as uow:
            uow.credit_notes.add(note)
        with store.begin() as uow:
            assert uow.credit_notes.by_number("cn-000001") == note
            assert [n.id for n in uow.credit_notes.for_customer("cus_1")] == ["cn_1"]
            assert uow.invoices.by_number("CN-000001") is None  # kinds do not mix

    def test_bank_transfer_by_reference(self, store: Store) -> None:
        with store.begin() as uow:
            uow.payment_methods.add(payment_method("pm_card"))
            uow.payment_methods.add(payment_method("pm_bt", reference="ACME-7781"))
            uow.payment_methods.add(payment_method("pm_other", customer_id="cus_2", reference="BO-2231"))
        with store.begin() as uow:
            found = uow.payment_methods.by_reference("acme-7781 ")
            assert found is not None and found.id == "pm_bt"
            assert uow.payment_methods.by_reference("tok_pm_card") is None  # card tokens are no references
            assert uow.payment_methods.by_reference("NOPE") is None
            assert [p.id for p in uow.payment_methods.for_customer("cus_1")] == ["pm_card", "pm_bt"]

    def test_lookups_are_indexed_attributes_find_accepts(self, store: Store) -> None:
        with store.begin() as uow:
            uow.invoices.add(invoice("in_1", number="INV-9"))
        with store.begin() as uow:
            assert [i.id for i in uow.find(Invoice, lookup_key="inv-9")] == ["in_1"]

    def test_entity_repositories_read_and_write(self, store: Store) -> None:
        ada = Customer(id="cus_1", name="Ada", currency="EUR")
        with store.begin() as uow:
            uow.customers.add(ada)
        with store.begin() as uow:
            uow.customers.update(bump(uow.customers.get("cus_1"), name="Ada L."))
            assert list(uow.customers.get_many(["cus_1", "x"])) == ["cus_1"]
        with store.begin() as uow:
            assert uow.get(Customer, "cus_1").name == "Ada L."
            assert uow.subscriptions.for_customer("cus_1") == []

    def test_claims_numbers_and_outbox_parts(self, store: Store) -> None:
        events = [Event.of(EventType.INVOICE_PAID, T0, f"in_{i}") for i in range(3)]
        with store.begin() as uow:
            uow.claims.claim("transfer:stmt-1")
            assert "transfer:stmt-1" in uow.claims and uow.claims.claimed("transfer:stmt-1")
            assert [uow.numbers.next("INV"), uow.numbers.next("INV")] == [1, 2]
            uow.outbox.publish(*events)
        with store.begin() as uow:
            assert uow.claimed("transfer:stmt-1") and uow.next_number("INV") == 3
        assert [e.id for e in store.pending_events()] == [e.id for e in events]
