"""Finalizing an invoice outside the reporting currency locks the rate; reports keep using it."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from subkit.adapters.storage.sql import SqlStore
from subkit.catalog.catalog import Catalog, Plan, Product
from subkit.catalog.pricing import FlatFee
from subkit.errors import ExchangeRateNotFoundError, UnknownCurrencyError, ValidationError
from subkit.fx import StaticRateProvider, reporting_minor
from subkit.invoice.invoice import Invoice
from subkit.ports import Store
from subkit.services.engine import BillingConfig, BillingEngine
from subkit.subscription.model import Subscription
from subkit.testing import InMemoryStore, TestClock

SAT = datetime(2027, 1, 9, 10, tzinfo=UTC)  # a Saturday
RATES = StaticRateProvider.history(
    {
        date(2027, 1, 8): {"USD": "1.0850", "JPY": "163.73"},  # Friday
        date(2027, 1, 11): {"USD": "1.1000", "JPY": "160.00"},  # Monday
    },
    source="ECB",
)
CATALOG = Catalog(
    products=(Product(id="app", name="App"),),
    plans=(
        Plan(
            id="pro",
            product_id="app",
            name="Pro",
            prices={
                "USD": FlatFee(flat_amount="20"),
                "EUR": FlatFee(flat_amount="18"),
                "JPY": FlatFee(flat_amount="3000"),
            },
        ),
    ),
)


def _engine(store: Store | None = None, config: BillingConfig | None = None) -> BillingEngine:
    counter = itertools.count(1)
    engine = BillingEngine(
        store or InMemoryStore(),
        TestClock(SAT),
        config=config or BillingConfig(reporting_currency="EUR", exchange_rates=RATES),
        ids=lambda p: f"{p}_{next(counter)}",
    )
    engine.set_catalog(CATALOG)
    return engine


def _first_invoice(engine: BillingEngine, currency: str, at: datetime = SAT) -> Invoice:
    cus = engine.create_customer(name=f"{currency} Co", currency=currency)
    engine.subscribe(cus.id, "pro", at=at)
    return engine.invoices(cus.id)[0]


def test_an_invoice_in_another_currency_locks_the_last_published_rate() -> None:
    inv = _first_invoice(_engine(), "USD")
    # Saturday: Friday's publication. EUR per USD = 1 / 1.0850 = 0.921658986175115207373271889...
    assert (inv.fx_rate_date, inv.fx_rate_source, inv.reporting_currency) == (date(2027, 1, 8), "ECB", "EUR")
    assert str(inv.fx_rate).startswith("0.92165898617511520737327188940092")
    # 20.00 USD / 1.0850 = 18.4331797... EUR -> 18.43
    assert reporting_minor(inv, inv.total_minor, "EUR") == 1843


def test_jpy_reports_in_euros_at_its_locked_rate() -> None:
    inv = _first_invoice(_engine(), "JPY")
    # 3 000 JPY / 163.73 = 18.3228485... EUR -> 18.32
    assert (inv.total_minor, reporting_minor(inv, inv.total_minor, "EUR")) == (3000, 1832)


def test_an_invoice_in_the_reporting_currency_or_without_one_locks_nothing() -> None:
    inv = _first_invoice(_engine(), "EUR")
    assert (inv.fx_rate, inv.fx_rate_date, inv.fx_rate_source, inv.reporting_currency) == (
        None,
        None,
        None,
        None,
    )
    assert reporting_minor(inv, inv.total_minor, "EUR") == 1800
    plain = _first_invoice(_engine(config=BillingConfig()), "USD")
    assert (plain.fx_rate, plain.reporting_currency) == (None, None)


def test_the_locked_rate_is_what_reports_use_after_rates_change() -> None:
    engine = _engine()
    cus = engine.create_customer(name="Ada Inc", currency="USD")
    engine.subscribe(cus.id, "pro", at=SAT)
    # Rates move on Monday; the month renews on 9 February, at Monday's (last published) rate.
    engine.clock.travel_to(datetime(2027, 2, 9, 12, tzinfo=UTC))  # type: ignore[attr-defined]
    engine.advance()
    first, second = engine.invoices(cus.id)
    assert (first.fx_rate_date, second.fx_rate_date) == (date(2027, 1, 8), date(2027, 1, 11))
    # 20.00 USD / 1.0850 = 18.43 EUR (locked in January); / 1.1000 = 18.1818... -> 18.18 EUR
    assert [reporting_minor(i, i.total_minor, "EUR") for i in (first, second)] == [1843, 1818]
    # Even with another provider now, the stored invoice keeps its rate.
    engine.config = BillingConfig(
        reporting_currency="EUR", exchange_rates=StaticRateProvider({"USD": "2"}, source="other")
    )
    again = engine.get_invoice(first.id)
    assert (again.fx_rate, reporting_minor(again, again.total_minor, "EUR")) == (first.fx_rate, 1843)
    # A credit note is valued at its invoice's locked rate: 5.00 USD / 1.0850 = 4.608... -> 4.61 EUR
    note = engine.issue_credit_note(first.id, "5")
    assert reporting_minor(again, note.amount_minor, "EUR") == 461


def test_a_missing_rate_fails_the_operation_and_writes_nothing() -> None:
    engine = _engine(
        config=BillingConfig(
            reporting_currency="EUR",
            exchange_rates=StaticRateProvider.history({date(2027, 2, 1): {"USD": "1.1"}}),
        )
    )
    cus = engine.create_customer(name="Early Inc", currency="USD")
    with pytest.raises(ExchangeRateNotFoundError, match="2027-02-01"):
        engine.subscribe(cus.id, "pro", at=SAT)
    with engine.store.begin() as uow:
        assert (uow.find(Invoice, customer_id=cus.id), uow.find(Subscription, customer_id=cus.id)) == ([], [])
    # The series lost no number: the next invoice is still number 1.
    euro = engine.create_customer(name="Euro SA", currency="EUR")
    engine.subscribe(euro.id, "pro", at=SAT)
    assert engine.invoices(euro.id)[0].number == "INV-000001"


def test_the_config_is_checked() -> None:
    with pytest.raises(ValidationError, match="exchange_rates") as err:
        BillingConfig(reporting_currency="EUR")
    assert err.value.field == "exchange_rates"
    with pytest.raises(UnknownCurrencyError):
        BillingConfig(reporting_currency="EURO", exchange_rates=RATES)
    assert BillingConfig(reporting_currency="eur", exchange_rates=RATES).reporting_currency == "EUR"


def test_the_locked_rate_reads_back_from_sql_at_full_precision(tmp_path: Path) -> None:
    with SqlStore(str(tmp_path / "fx.sqlite")) as store:
        inv = _first_invoice(_engine(store), "USD")
        with store.begin() as uow:
            back = uow.get(Invoice, inv.id)
    assert (back.fx_rate, back.fx_rate_date, back.fx_rate_source) == (inv.fx_rate, date(2027, 1, 8), "ECB")
    assert isinstance(back.fx_rate, Decimal) and reporting_minor(back, back.total_minor, "EUR") == 1843


def test_the_rate_day_is_the_utc_day_of_finalization() -> None:
    from datetime import timedelta, timezone

    from subkit.services.fx_locking import lock_rate

    config = BillingConfig(reporting_currency="EUR", exchange_rates=RATES)
    # Monday 11 January 00:30 in Athens (UTC+2) is still Sunday 10 January 22:30 in UTC:
    # Friday's publication.
    athens = datetime(2027, 1, 11, 0, 30, tzinfo=timezone(timedelta(hours=2)))
    draft = Invoice.draft("in_x", "cus_x", "USD", [], at=athens)
    assert lock_rate(draft, config, athens).fx_rate_date == date(2027, 1, 8)
    # Monday 11 January 09:00 UTC: Monday's table, although the ECB publishes it around 16:00 CET
    # (the documented approximation: the table of the UTC day, whatever the hour)
    monday = datetime(2027, 1, 11, 9, tzinfo=UTC)
    assert lock_rate(draft, config, monday).fx_rate_date == date(2027, 1, 11)
    # Nothing to lock for an invoice already in the reporting currency: the same object back
    euro = Invoice.draft("in_y", "cus_x", "EUR", [], at=monday)
    assert lock_rate(euro, config, monday) is euro


def test_a_billing_run_sets_aside_a_subscription_without_a_rate_and_bills_the_rest() -> None:
    engine = _engine()
    usd = engine.create_customer(name="Ada Inc", currency="USD")
    jpy = engine.create_customer(name="Kaisha KK", currency="JPY")
    engine.subscribe(usd.id, "pro", at=SAT)
    jpy_sub = engine.subscribe(jpy.id, "pro", at=SAT)
    # From now on the provider quotes no yen: the JPY renewal cannot lock a rate.
    engine.config = BillingConfig(
        reporting_currency="EUR", exchange_rates=StaticRateProvider({"USD": "1.1"}, source="other")
    )
    report = engine.advance(datetime(2027, 2, 9, 12, tzinfo=UTC))
    assert [(sid, code) for sid, code, _ in report.errors] == [(jpy_sub.id, "exchange_rate_not_found")]
    assert (len(engine.invoices(usd.id)), len(engine.invoices(jpy.id))) == (2, 1)
    # 20.00 USD / 1.1 = 18.1818... -> 18.18 EUR, at the new provider's rate
    renewal = engine.invoices(usd.id)[1]
    assert (renewal.fx_rate_source, reporting_minor(renewal, renewal.total_minor, "EUR")) == ("other", 1818)
