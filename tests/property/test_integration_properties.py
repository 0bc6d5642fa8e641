"""Invariants of the integration layer: a signature verifies exactly its own bytes and secrets,
retries back off without ever shrinking, and the portal charges exactly what its quote showed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from subkit.catalog.catalog import Catalog, Plan, Product
from subkit.catalog.pricing import FlatFee, PerUnit
from subkit.errors import WebhookSignatureError
from subkit.integration.signing import sign, verify
from subkit.services.engine import BillingEngine
from subkit.services.portal import CustomerPortal
from subkit.services.webhooks import Backoff
from subkit.testing import InMemoryStore, TestClock

secrets = st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=3, unique=True)
instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


@given(body=st.binary(max_size=300), keys=secrets, at=instants)
def test_a_signature_verifies_with_any_of_its_secrets(body: bytes, keys: list[str], at: datetime) -> None:
    header = sign(body, keys, at=at)
    for key in keys:
        assert verify(body, header, key, at=at) == int(at.timestamp())


@given(body=st.binary(min_size=1, max_size=300), keys=secrets, at=instants, data=st.data())
def test_any_changed_byte_or_other_secret_fails(
    body: bytes, keys: list[str], at: datetime, data: st.DataObject
) -> None:
    header = sign(body, keys, at=at)
    i = data.draw(st.integers(0, len(body) - 1))
    flip = data.draw(st.integers(1, 255))
    tampered = body[:i] + bytes([body[i] ^ flip]) + body[i + 1 :]
    with pytest.raises(WebhookSignatureError):
        verify(tampered, header, keys, at=at)
    other = data.draw(st.text(min_size=1, max_size=20).filter(lambda s: s not in keys))
    with pytest.raises(WebhookSignatureError):
        verify(body, header, other, at=at)


@given(
    first=st.integers(1, 600),
    factor=st.integers(1, 4),
    cap=st.integers(1, 48),
)
def test_backoff_never_shrinks_and_stays_under_its_cap(first: int, factor: int, cap: int) -> None:
    policy = Backoff(first=timedelta(seconds=first), factor=factor, cap=timedelta(hours=cap))
    assert policy.delay(10**6) <= timedelta(hours=cap)  # no overflow, however many attempts
    waits = [policy.delay(n) for n in range(1, 30)]
    assert waits == sorted(waits)
    assert all(timedelta(0) < w <= timedelta(hours=cap) for w in waits)
    assert waits[0] == timedelta(seconds=first)
    assert all(b in (a * factor, timedelta(hours=cap)) for a, b in pairwise(waits))


@settings(max_examples=25, deadline=None)
@given(
    offset=st.integers(1, 30 * 86_400 - 1),  # seconds into April 2027 (30 days)
    delay=st.integers(0, 29 * 60),  # the customer confirms up to 29 minutes later
    seats=st.integers(1, 40),
    plan=st.sampled_from(["pro", "seats"]),
)
def test_the_portal_charges_exactly_what_the_quote_showed(
    offset: int, delay: int, seats: int, plan: str
) -> None:
    clock = TestClock(datetime(2027, 4, 1, tzinfo=UTC))
    engine = BillingEngine(InMemoryStore(), clock)
    engine.set_catalog(
        Catalog(
            products=(Product(id="app", name="App"),),
            plans=(
                Plan(id="basic", product_id="app", name="Basic", prices={"USD": FlatFee(flat_amount="9.99")}),
                Plan(id="pro", product_id="app", name="Pro", prices={"USD": FlatFee(flat_amount="24.99")}),
                Plan(id="seats", product_id="app", name="Seats", prices={"USD": PerUnit(unit_amount="7.35")}),
            ),
        )
    )
    engine.create_customer(name="Ada", currency="USD", id="cus_ada")
    engine.subscribe("cus_ada", "basic", id="sub_ada")
    clock.travel_to(datetime(2027, 4, 1, tzinfo=UTC) + timedelta(seconds=offset))
    portal = CustomerPortal(engine, "cus_ada")
    quote = portal.preview_change("sub_ada", plan, quantity=seats if plan == "seats" else None)
    clock.advance(timedelta(seconds=delay))
    before = len(portal.invoices())
    portal.apply(quote)
    invoices = portal.invoices()
    if quote.immediate:
        assert invoices[-1].total_minor == quote.total_minor
        assert [ln.amount_minor for ln in invoices[-1].lines] == [ln.amount_minor for ln in quote.lines]
    else:
        assert len(invoices) == before and quote.total_minor == 0
