"""Invoices and credit notes rendered for people: fr_FR and de_DE amounts and dates, tax, mentions,
the seller's details, the locked rate; HTML escapes; the PDF says the same (text extracted).

Figures by hand: 1 234.50 at 20% = 246.90 tax, 1 481.40 total; at 19% = 234.56 (234.555 rounded
half up), 1 469.06 total. French groups thousands with a narrow no-break space (U+202F) and
writes "1 mars 2027"; German writes "1.234,50 €" and "1. März 2027" (CLDR, through babel).
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from subkit.adapters.render import (
    render_credit_note,
    render_invoice,
)
from subkit.catalog.catalog import Catalog, Plan, Product
from subkit.catalog.pricing import FlatFee
from subkit.customer.customer import Address, Customer, Seller, TaxId
from subkit.errors import ValidationError
from subkit.fx import StaticRateProvider
from subkit.invoice.invoice import Invoice, InvoiceLine, LineKind
from subkit.services.engine import BillingConfig, BillingEngine
from subkit.testing import InMemoryStore, TestClock

AT = datetime(2027, 3, 1, 9, tzinfo=UTC)
END = datetime(2027, 4, 1, 9, tzinfo=UTC)
SELLER = Seller(
    legal_name="Subkit Demo SAS",
    country="FR",
    address=Address(line1="1 rue de Rivoli", city="Paris", postal_code="75001", country="FR"),
    tax_ids=(TaxId(type="eu_vat", value="FR40303265045"),),
    registration="RCS Paris 303 265 045",
    email="billing@example.com",
)
EU_REVERSE = (
    "Reverse charge: VAT to be accounted for by the recipient (Article 196, Council Directive 2006/112/EC)"
)
NBSP, NNBSP = "\xa0", "\u202f"


def _store_invoice(
    store: InMemoryStore,
    customer: Customer,
    rate: str | None,
    tax_minor: int,
    *,
    number: str = "INV-000001",
    notes: tuple[str, ...] = (),
    description: str = "Pro",
) -> Invoice:
    line = InvoiceLine(
        description=description,
        kind=LineKind.RECURRING,
        plan_id="pro",
        period_start=AT,
        period_end=END,
        quantity=Decimal(1),
        unit_amount=Decimal("1234.50"),
        amount_minor=123450,
        tax_minor=tax_minor,
        tax_rate=None if rate is None else Decimal(rate),
        tax_code=None if rate is None else f"{customer.country}:standard",
    )
    draft = Invoice.draft(
        f"in_{number}",
        customer.id,
        customer.currency,
        [line],
        at=AT,
        period_start=AT,
        period_end=END,
        locale=customer.locale,
    )
    draft = draft.model_copy(
        update={
            "seller_tax_id": "FR40303265045",
            "customer_tax_id": customer.tax_ids[0].value if customer.tax_ids else None,
            "tax_notes": notes,
            "payment_due_at": datetime(2027, 3, 31, 9, tzinfo=UTC),
        }
    )
    inv = draft.issue(number, AT)
    with store.begin() as uow:
        uow.add(inv)
    return inv


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


def _customer(store: InMemoryStore, **fields: object) -> Customer:
    cus = Customer(**fields)  # type: ignore[arg-type]
    with store.begin() as uow:
        uow.add(cus)
    return cus


def test_a_french_invoice_has_french_amounts_dates_and_vat(store: InMemoryStore) -> None:
    cus = _customer(
        store,
        id="cus_fr",
        name="Ada SARL",
        currency="EUR",
        country="FR",
        locale="fr_FR",
        timezone="Europe/Paris",
        address=Address(line1="5 quai Voltaire", city="Lyon", postal_code="69002", country="FR"),
    )
    inv = _store_invoice(store, cus, "0.20", 24690)
    text = render_invoice(store, inv.id, "text", seller=SELLER)
    lines = text.splitlines()
    assert lines[0] == "Facture INV-000001"
    assert lines[2:4] == ["Date d'émission  1 mars 2027", "Date d'échéance  31 mars 2027"]
    for expected in (
        f"1{NNBSP}234,50{NBSP}€",  # the line and the subtotal
        f"246,90{NBSP}€",  # 20% of 1 234.50
        f"1{NNBSP}481,40{NBSP}€",  # total TTC and net à payer
        f"20{NBSP}%",  # CLDR's French percent sign follows a no-break space
        "1 mars 2027 – 1 avr. 2027",  # the line's period, medium dates
        "Émetteur: Subkit Demo SAS",
        "N° TVA: FR40303265045",
        "RCS Paris 303 265 045",
        "69002 Lyon",
        "Récapitulatif de la TVA",
        "FR:standard",
    ):
        assert expected in text, expected
    due = [ln for ln in lines if ln.startswith("  Net à payer")]
    assert len(due) == 1 and due[0].endswith(f" 1{NNBSP}481,40{NBSP}€")


def test_a_german_invoice_has_german_amounts_dates_and_vat(store: InMemoryStore) -> None:
    cus = _customer(
        store,
        id="cus_de",
        name="Müller GmbH",
        currency="EUR",
        country="DE",
        locale="de_DE",
        timezone="Europe/Berlin",
    )
    inv = _store_invoice(store, cus, "0.19", 23456)
    text = render_invoice(store, inv.id, seller=SELLER)
    for expected in (
        "Rechnung INV-000001",
        "Rechnungsdatum     1. März 2027",
        f"1.234,50{NBSP}€",
        f"234,56{NBSP}€",  # 19% of 1 234.50 = 234.555 -> 234.56
        f"1.469,06{NBSP}€",
        f"19{NBSP}%",
        "01.03.2027 – 01.04.2027",
        "Leistungszeitraum",
        "Steuerübersicht",
        "Zu zahlen",
    ):
        assert expected in text, expected


def test_reverse_charge_prints_both_vat_ids_and_the_mention_in_the_invoice_language(
    store: InMemoryStore,
) -> None:
    cus = _customer(
        store,
        id="cus_b2b",
        name="Beispiel AG",
        currency="EUR",
        country="DE",
        locale="de_DE",
        timezone="Europe/Berlin",
        tax_ids=(TaxId(type="eu_vat", value="DE136695976"),),
    )
    inv = _store_invoice(store, cus, "0", 0, notes=(EU_REVERSE,))
    text = render_invoice(store, inv.id, seller=SELLER)
    assert "USt-IdNr.: FR40303265045" in text and "USt-IdNr.: DE136695976" in text
    notes = text.split("Hinweise\n")[1].splitlines()
    assert notes[:2] == ["  Steuerschuldnerschaft des Leistungsempfängers", f"  {EU_REVERSE}"]
    assert f"0{NBSP}%" in text and f"0,00{NBSP}€" in text


def test_the_locked_exchange_rate_is_printed_with_the_reporting_total() -> None:
    rates = StaticRateProvider({"USD": "1.0850"}, on=date(2027, 1, 8), source="ECB")
    engine = BillingEngine(
        InMemoryStore(),
        TestClock(datetime(2027, 1, 9, tzinfo=UTC)),
        config=BillingConfig(reporting_currency="EUR", exchange_rates=rates, seller=SELLER),
    )
    engine.set_catalog(
        Catalog(
            products=(Product(id="app", name="App"),),
            plans=(Plan(id="pro", product_id="app", name="Pro", prices={"USD": FlatFee(flat_amount="20")}),),
        )
    )
    cus = engine.create_customer(
        name="Ada Inc",
        currency="USD",
        country="US",
        address={"region": "NY", "country": "US"},
        locale="en_US",
        timezone="America/New_York",
    )
    inv = engine.invoices(engine.subscribe(cus.id, "pro").customer_id)[0]
    text = render_invoice(engine.store, inv.id, seller=engine.config.seller)
    # 1 / 1.0850 = 0.92165898... -> 0.921659 shown; 20.00 USD -> 18.43 EUR at the locked rate
    assert "Exchange rate: 1 USD = 0.921659 EUR (ECB, Jan 8, 2027); total €18.43" in text
    # Issued on 9 January 00:00 UTC = 8 January in New York
    assert "Date of issue   January 8, 2027" in text
    html = render_invoice(engine.store, inv.id, "html")
    assert "1 USD = 0.921659 EUR (ECB, Jan 8, 2027)" in html


def test_html_escapes_what_users_typed(store: InMemoryStore) -> None:
    cus = _customer(
        store,
        id="cus_x",
        name="<script>alert(1)</script>",
        currency="EUR",
        locale="en_GB",
        email="o'brien&co@example.com",
    )
    inv = _store_invoice(store, cus, None, 0, description="Seats & <b>support</b>")
    page = render_invoice(store, inv.id, "html", seller=SELLER)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Seats &amp; &lt;b&gt;support&lt;/b&gt;" in page and "o&#x27;brien&amp;co@example.com" in page
    assert page.startswith("<!DOCTYPE html>") and '<html lang="en">' in page
    with pytest.raises(ValidationError, match="format must be one of"):
        render_invoice(store, inv.id, "docx")


def test_a_credit_note_renders_with_its_invoice(store: InMemoryStore) -> None:
    engine = BillingEngine(store, TestClock(AT), config=BillingConfig(seller=SELLER))
    cus = _customer(
        store,
        id="cus_cn",
        name="Müller GmbH",
        currency="EUR",
        country="DE",
        locale="de_DE",
        timezone="Europe/Berlin",
    )
    inv = _store_invoice(store, cus, "0.19", 23456)
    note = engine.issue_credit_note(
        inv.id, "100", reason="Doppelt berechnet", at=datetime(2027, 3, 5, tzinfo=UTC)
    )
    text = render_credit_note(store, note.id, seller=SELLER)
    for expected in (
        f"Gutschrift {note.number}",
        "Gutschriftsdatum   5. März 2027",
        "Zur Rechnung       INV-000001 (1. März 2027)",
        "Grund              Doppelt berechnet",
        f"USt.               DE:standard 19{NBSP}%",
        f"  Gutschriftsbetrag             100,00{NBSP}€",
        f"  Vom offenen Betrag abgezogen  100,00{NBSP}€",  # the invoice was open: 100 off what is due
        "Rechnungsempfänger: Müller GmbH",
    ):
        assert expected in text.splitlines(), (expected, text)


def test_the_pdf_says_what_the_page_says(store: InMemoryStore) -> None:
    pytest.importorskip("weasyprint", reason="PDF rendering needs the optional extra 'pdf'")
    pypdf = pytest.importorskip("pypdf", reason="the PDF's text is read back with pypdf (dev extra)")
    cus = _customer(
        store,
        id="cus_pdf",
        name="Müller GmbH",
        currency="EUR",
        country="DE",
        locale="de_DE",
        timezone="Europe/Berlin",
        tax_ids=(TaxId(type="eu_vat", value="DE136695976"),),
    )
    inv = _store_invoice(store, cus, "0.19", 23456)
    pdf = render_invoice(store, inv.id, "pdf", seller=SELLER)
    assert pdf.startswith(b"%PDF-")
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    for expected in (
        "Rechnung INV-000001",
        "1. März 2027",
        "1.234,50",
        "234,56",
        "1.469,06",
        "Subkit Demo SAS",
        "DE136695976",
        "FR40303265045",
        "Steuerübersicht",
    ):
        assert expected in text, (expected, text)
