"""Issue 10, bad input: each example of the issue is refused with a SubkitError before anything is written."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from subkit.catalog.catalog import Catalog
from subkit.core.money import Rounding, decimal_of, from_minor, money
from subkit.errors import FloatNotAllowedError, SensitiveDataError, SubkitError, ValidationError
from subkit.payment.pci import reject_card_data
from subkit.services.context import BillingConfig

from ..property.test_fuzz_entry_points import Books, books
from ..scenarios.conftest import World

PAN = "4242424242424242"  # Stripe's public test card number


@pytest.fixture
def w() -> Books:
    from subkit.testing import InMemoryStore

    return Books(InMemoryStore())


CASES: dict[str, Callable[[Books], object]] = {
    "list id": lambda b: b.engine.subscribe(["cus"], "basic"),  # type: ignore[arg-type]
    "huge quantity": lambda b: b.engine.subscribe(b.cus, "seats", "9" * 60),
    "quantity beyond the bound": lambda b: b.engine.subscribe(b.cus, "seats", "1e13"),
    "huge amount": lambda b: b.engine.add_invoice_item(b.cus, "x", "1e100"),
    "amount beyond the bound": lambda b: b.engine.add_invoice_item(b.cus, "x", "1000000000001"),
    "quantity x price beyond the bound": lambda b: b.engine.add_invoice_item(
        b.cus, "x", "1000000", quantity=10**7
    ),
    "scheduled quantity 1e60": lambda b: b.engine.change_plan(b.sub, quantity="1e60", when="period_end"),
    "list invoice id": lambda b: b.engine.void_invoice([b.inv]),  # type: ignore[arg-type]
    "huge int id": lambda b: b.engine.get_customer(10**30),  # type: ignore[arg-type]
    "huge trial": lambda b: b.engine.subscribe(b.cus, "basic", trial_days=10**9),
    "trial beyond two years": lambda b: b.engine.subscribe(b.cus, "basic", trial_days=731),
    "fractional trial": lambda b: b.engine.subscribe(b.cus, "basic", trial_days=1.5),  # type: ignore[arg-type]
    "surrogate in a name": lambda b: b.engine.create_customer(name="a\ud800", currency="USD"),
    "surrogate in metadata": lambda b: b.engine.subscribe(b.cus, "basic", metadata={"k": "\ud800"}),
    "surrogate in a description": lambda b: b.engine.add_invoice_item(b.cus, "\udfff", "5"),
    "int promotion code": lambda b: b.engine.subscribe(b.cus, "basic", promotion_code=5),  # type: ignore[arg-type]
    "int items": lambda b: b.engine.subscribe(b.cus, items=[1]),  # type: ignore[list-item]
    "int keys in an address": lambda b: b.engine.create_customer(name="a", currency="USD", address={1: 2}),
    "bogus proration": lambda b: b.engine.change_plan(b.sub, "seats", proration_behavior="bogus"),  # type: ignore[arg-type]
    "bogus when": lambda b: b.engine.change_plan(b.sub, "seats", when="tomorrow"),  # type: ignore[arg-type]
    "None description": lambda b: b.engine.add_invoice_item(b.cus, None, "5", subscription_id=b.sub),  # type: ignore[arg-type]
    "usage 1e60": lambda b: b.engine.record_usage(b.api, "api_calls", "1e60"),
    "truthy string flag": lambda b: b.engine.cancel(b.sub, at_period_end="no"),  # type: ignore[arg-type]
    "year 10000": lambda b: b.engine.subscribe(b.cus, "basic", at=datetime.max.replace(tzinfo=UTC)),
    "card number in customer metadata": lambda b: b.engine.create_customer(
        name="a", currency="USD", metadata={"card": PAN}
    ),
    "card number in update_customer": lambda b: b.engine.update_customer(b.cus, email=f"{PAN}@x.com"),
    "cvv key": lambda b: b.engine.create_customer(name="a", currency="USD", metadata={"cvv": "123"}),
    "card number in subscription metadata": lambda b: b.engine.subscribe(
        b.cus, "basic", metadata={"note": f"card {PAN}"}
    ),
    "card number in an item description": lambda b: b.engine.add_invoice_item(b.cus, f"paid by {PAN}", "5"),
    "card number in a credit note reason": lambda b: b.engine.issue_credit_note(b.inv, "1", reason=PAN),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_a_subkit_error_and_writes_nothing(w: Books, case: str) -> None:
    before = books(w.engine)
    with pytest.raises(SubkitError) as e:
        CASES[case](w)
    assert books(w.engine) == before
    assert PAN not in str(e.value) and PAN not in repr(e.value.__dict__)


@pytest.mark.parametrize("text", [None, 5, {}, "[" * 50 + "]" * 50, "[" * 100_000 + "]" * 100_000])
def test_catalog_from_json_refuses_what_is_not_json_text(text: object) -> None:
    with pytest.raises(SubkitError):
        Catalog.from_json(text)  # type: ignore[arg-type]


def test_bad_rounding_is_refused() -> None:
    with pytest.raises(ValidationError, match="rounding"):
        money("1", "USD", "bogus")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="rounding"):
        BillingConfig(rounding="bogus")  # type: ignore[arg-type]
    assert money("0.125", "USD", Rounding.HALF_EVEN).amount == Decimal("0.12")


@pytest.mark.parametrize("bad", [1.5, True, "1", Decimal("1"), None])
def test_from_minor_takes_ints_only(bad: object) -> None:
    with pytest.raises(ValidationError) as e:
        from_minor(bad, "USD")  # type: ignore[arg-type]
    # FloatNotAllowedError only for a float
    assert isinstance(e.value, FloatNotAllowedError) == isinstance(bad, float)
    assert from_minor(1235, "JPY").amount == Decimal(1235)


def test_bounds_are_inclusive() -> None:
    assert money("1000000000000", "USD").amount == Decimal("1000000000000.00")  # MAX_AMOUNT itself
    with pytest.raises(ValidationError):
        money("1000000000000.01", "USD")
    assert decimal_of(10**15) == Decimal(10**15)
    with pytest.raises(ValidationError):
        decimal_of(10**15 + 1)


def test_a_card_number_as_a_metadata_key_is_masked_everywhere(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for call in (
        lambda: reject_card_data({PAN: "x"}, "metadata"),
        lambda: reject_card_data({"a": {PAN: "x"}}, "metadata"),
    ):
        with pytest.raises(SensitiveDataError) as e:
            call()
        assert PAN not in str(e.value) and PAN not in (e.value.field or "")
        assert "************4242" in (e.value.field or "")
    w = World(datetime(2027, 1, 1, tzinfo=UTC))
    with pytest.raises(SensitiveDataError) as e:
        w.engine.create_customer(name="a", currency="USD", metadata={PAN: "x"})
    assert PAN not in str(e.value) and PAN not in (e.value.field or "")
    assert all(PAN not in r.getMessage() for r in caplog.records)
    assert all(PAN not in str(ev.data) for ev in w.store.pending_events(1000))


def test_a_card_number_as_a_field_or_option_name_is_masked(w: Books) -> None:
    for call in (
        lambda: w.engine.update_customer(w.cus, **{PAN: "x"}),
        lambda: w.engine.create_customer(name="a", currency="USD", **{PAN: "x"}),
        lambda: w.engine.preview_subscribe(w.cus, "basic", **{PAN: 1}),
    ):
        with pytest.raises(SubkitError) as e:
            call()
        assert PAN not in str(e.value) and PAN not in repr(e.value.__dict__)


def test_a_payment_method_metadata_key_holding_a_card_number_is_masked() -> None:
    from ..scenarios.test_dunning import card, make_world

    world = make_world()
    world.customer(token=None)
    for metadata in ({PAN: "x"}, {"note": {PAN: "x"}}):
        with pytest.raises(SubkitError) as e:
            world.collector.add_payment_method("cus_ada", card("tok_x"), metadata=metadata)  # type: ignore[arg-type]
        assert PAN not in str(e.value) and PAN not in (e.value.field or "")
    with pytest.raises(SensitiveDataError) as e:
        world.collector.add_payment_method("cus_ada", {**card("tok_x"), "nickname": {PAN: "x"}})
    assert PAN not in str(e.value) and PAN not in (e.value.field or "")
    assert world.collector.payment_methods("cus_ada") == []
