"""Countries are ISO 3166-1 alpha-2 codes, e-mails valid addresses; errors say what to use (issue 15)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from subkit import Address, BillingEngine, Customer, InMemoryStore, Seller, TestClock
from subkit.core.places import COUNTRY_CODES, country_code, email_address
from subkit.errors import ValidationError


@pytest.mark.parametrize(
    ("given", "hint"),
    [
        ("France", "'FR'"),
        ("germany", "'DE'"),
        ("UK", "'GB'"),
        ("United States", "'US'"),
        ("EU", "two letters"),
    ],
)
def test_country_names_and_non_countries_are_refused_with_the_code_to_use(given: str, hint: str) -> None:
    with pytest.raises(ValidationError) as err:
        country_code(given)
    assert err.value.field == "country" and hint in err.value.message


def test_country_codes_are_iso_3166_alpha_2() -> None:
    # ISO 3166-1 lists 249 officially assigned alpha-2 codes; subkit adds XK (Kosovo), used by the EU.
    assert len(COUNTRY_CODES) == 250
    assert {"FR", "DE", "GB", "US", "JP", "XK", "AQ"} <= COUNTRY_CODES
    assert country_code(" fr ") == "FR"


def test_customer_country_email_and_address_are_checked_everywhere_they_enter() -> None:
    engine = BillingEngine(InMemoryStore(), TestClock(datetime(2027, 1, 1, tzinfo=UTC)))
    with pytest.raises(ValidationError, match="use 'FR'"):
        engine.create_customer(name="Ada", currency="EUR", country="France")
    with pytest.raises(ValidationError, match="not an e-mail address"):
        engine.create_customer(name="Ada", currency="EUR", email="ada at example")
    with pytest.raises(ValidationError, match=r"address\.country"):
        engine.create_customer(name="Ada", currency="EUR", address={"line1": "x", "country": "Frankreich"})
    with engine.store.begin() as uow:
        assert uow.find(Customer) == []  # nothing was written
    ada = engine.create_customer(name="Ada", currency="EUR", country="fr", email="ada@EXAMPLE.org")
    assert (ada.country, ada.email) == ("FR", "ada@example.org")
    with pytest.raises(ValidationError, match="use 'DE'"):
        engine.update_customer(ada.id, country="Germany")
    assert engine.get_customer(ada.id).country == "FR"
    assert Address(country="de").country == "DE"
    with pytest.raises(ValidationError):
        Seller(legal_name="X", country="Deutschland")


def test_email_addresses_are_normalized_not_rewritten() -> None:
    assert email_address("Ada.Lovelace+billing@Example.CO.UK") == "Ada.Lovelace+billing@example.co.uk"
    with pytest.raises(ValidationError):
        email_address(42)


def test_a_stored_email_is_not_validated_again_at_each_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """E-mail syntax is checked when it comes in; a store reading its own rows skips it (29 us a read)."""
    from subkit.adapters.storage import rules
    from subkit.customer import customer as customer_module

    body = Customer(id="cus_1", name="Ada", currency="EUR", email="Ada@Example.ORG").model_dump_json()
    calls: list[str] = []
    monkeypatch.setattr(customer_module, "email_address", lambda v, *a: calls.append(v) or v)
    assert rules.read_entity(Customer, body).email == "Ada@example.org"
    assert calls == []
    Customer.model_validate_json(body)  # outside a store's read: checked
    assert calls == ["Ada@example.org"]
