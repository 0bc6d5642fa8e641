"""The built-in tax engine, case by case, with figures computed by hand in the comments.

Rates: see test_tax_rates.py for the authority behind each. Rules: EU reverse charge,
Council Directive 2006/112/EC Art. 196 (B2B services, Art. 44); B2C electronically supplied
services taxed where the customer is (Art. 58, one-stop shop); location evidence,
Implementing Regulation 282/2011 Art. 24b/24f; Texas: Tax Code 151.351.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from subkit.core.money import Rounding
from subkit.customer.customer import Address, Customer, Seller, TaxExemption, TaxId
from subkit.errors import TaxLocationError
from subkit.invoice.invoice import InvoiceLine, LineKind
from subkit.tax.calc import RoundingScope
from subkit.tax.engine import TaxEngine, TaxRequest, TaxResult, Treatment

pytest.importorskip("stdnum", reason="python-stdnum is not installed: pip install 'subkit[tax]'")

D = Decimal
FR_SELLER = Seller(
    legal_name="Acme SAS", country="FR", tax_ids=(TaxId(type="eu_vat", value="FR40303265045"),)
)
DAY = date(2025, 9, 1)

VALID_VAT = {
    "DE": "DE136695976",
    "FR": "FR40303265045",
    "GR": "EL094259216",
    "AT": "ATU13585627",
}


def customer(country: str = "DE", *, region: str = "", currency: str = "EUR", **fields: Any) -> Customer:
    address = Address(country=country, region=region) if region else None
    return Customer(id="cus_1", name="C", currency=currency, country=country, address=address, **fields)


def vat(country: str) -> tuple[TaxId, ...]:
    return (TaxId(type="eu_vat", value=VALID_VAT[country]),)


def lines(*amounts: str, currency: str = "EUR") -> tuple[InvoiceLine, ...]:
    return tuple(
        InvoiceLine.build(f"L{i}", LineKind.RECURRING, exact_amount=D(a), currency=currency)
        for i, a in enumerate(amounts)
    )


def run(
    cus: Customer,
    *amounts: str,
    seller: Seller = FR_SELLER,
    engine: TaxEngine | None = None,
    day: date = DAY,
    currency: str = "EUR",
    inclusive: bool = False,
    scope: RoundingScope = RoundingScope.LINE,
    given: tuple[InvoiceLine, ...] | None = None,
) -> TaxResult:
    request = TaxRequest(
        seller, cus, currency, day, given or lines(*amounts, currency=currency), inclusive, scope
    )
    return (engine or TaxEngine()).calculate(request)


def taxes(result: TaxResult) -> list[int]:
    return [t.tax_minor for t in result.lines]


# ---------------------------------------------------------------- EU: home, OSS, reverse charge
# (customer country, with a valid VAT id, tax on 100.00 EUR, treatment)
EU_CASES = [
    ("FR", False, 2000, Treatment.STANDARD),  # home consumer: 20%
    ("FR", True, 2000, Treatment.STANDARD),  # home business: charged too
    ("DE", False, 1900, Treatment.STANDARD),  # OSS: the customer's 19%
    ("DE", True, 0, Treatment.REVERSE_CHARGE),
    ("AT", False, 2000, Treatment.STANDARD),
    ("AT", True, 0, Treatment.REVERSE_CHARGE),
    ("GR", False, 2400, Treatment.STANDARD),
    ("GR", True, 0, Treatment.REVERSE_CHARGE),  # Greek VAT ids start with EL
]


@pytest.mark.parametrize(("country", "b2b", "tax", "treatment"), EU_CASES)
def test_eu_seller(country: str, b2b: bool, tax: int, treatment: Treatment) -> None:
    cus = customer(country, tax_ids=vat(country) if b2b else ())
    result = run(cus, "100")
    assert taxes(result) == [tax]
    assert result.treatment is treatment
    assert result.lines[0].code == f"{country}:{treatment.value}"
    assert result.seller_tax_id == "FR40303265045"
    assert result.customer_tax_id == (VALID_VAT[country] if b2b else None)


def test_reverse_charge_carries_the_mention_and_both_vat_ids() -> None:
    result = run(customer("DE", tax_ids=vat("DE")), "100", "50")
    assert taxes(result) == [0, 0]
    assert result.lines[0].rate == 0
    assert any("Reverse charge" in n and "Article 196" in n for n in result.notes)
    assert (result.seller_tax_id, result.customer_tax_id) == ("FR40303265045", "DE136695976")


def test_an_invalid_vat_id_is_taxed_as_a_consumer_with_a_warning() -> None:
    cus = customer("DE", tax_ids=(TaxId(type="eu_vat", value="DE136695975"),))  # bad check digit
    result = run(cus, "100")
    assert taxes(result) == [1900]
    assert result.customer_tax_id is None
    assert "not valid" in result.warnings[0]


def test_the_hosts_online_check_is_asked_after_the_offline_one() -> None:
    asked: list[tuple[str, str]] = []

    def vies(kind: str, value: str) -> bool | None:
        asked.append((kind, value))
        return value != "DE136695976"

    result = run(customer("DE", tax_ids=vat("DE")), "100", engine=TaxEngine(online_check=vies))
    assert asked == [("eu_vat", "DE136695976")]
    assert taxes(result) == [1900]
    assert "rejected by the online check" in result.warnings[0]
    # The service did not answer (None): the offline check stands.
    down = run(customer("DE", tax_ids=vat("DE")), "100", engine=TaxEngine(online_check=lambda k, v: None))
    assert down.treatment is Treatment.REVERSE_CHARGE


# ------------------------------------------------------------- rate changes at the tax point
@pytest.mark.parametrize(
    ("country", "day", "tax"),
    [
        ("FI", date(2024, 8, 31), 2400),
        ("FI", date(2024, 9, 1), 2550),  # 100.00 x 25.5%
        ("SK", date(2024, 12, 31), 2000),
        ("SK", date(2025, 1, 1), 2300),
        ("EE", date(2025, 6, 30), 2200),
        ("EE", date(2025, 7, 1), 2400),
        ("RO", date(2025, 7, 31), 1900),
        ("RO", date(2025, 8, 1), 2100),
    ],
)
def test_the_rate_in_force_on_the_tax_point(country: str, day: date, tax: int) -> None:
    assert taxes(run(customer(country), "100", day=day)) == [tax]


# -------------------------------------------------------------------------- outside the EU
def test_outside_the_sellers_registrations_nothing_is_charged() -> None:
    result = run(customer("JP", currency="JPY"), "1000", currency="JPY")
    assert taxes(result) == [0]
    assert result.treatment is Treatment.OUT_OF_SCOPE
    assert result.lines[0].code == "JP:out_of_scope"
    assert any("No tax charged" in n for n in result.notes)
    gb = run(customer("GB", currency="GBP"), "100", currency="GBP")
    assert gb.treatment is Treatment.OUT_OF_SCOPE


def test_uk_vat_once_registered_in_the_uk() -> None:
    engine = TaxEngine(registrations=frozenset({"GB"}))
    consumer = run(customer("GB", currency="GBP"), "100", engine=engine, currency="GBP")
    assert taxes(consumer) == [2000]
    business = customer("GB", currency="GBP", tax_ids=(TaxId(type="gb_vat", value="GB980780684"),))
    rc = run(business, "100", engine=engine, currency="GBP")
    assert rc.treatment is Treatment.REVERSE_CHARGE
    assert rc.customer_tax_id == "GB980780684"
    assert "Reverse charge: the customer accounts for VAT in GB" in rc.notes


@pytest.mark.parametrize(
    ("country", "currency", "tax"),
    [("CH", "CHF", 810), ("NO", "NOK", 2500), ("AU", "AUD", 1000), ("NZ", "NZD", 1500)],
)
def test_home_vat_and_gst(country: str, currency: str, tax: int) -> None:
    seller = Seller(legal_name="Local", country=country)
    assert taxes(run(customer(country, currency=currency), "100", seller=seller, currency=currency)) == [tax]


# ------------------------------------------------------------------------------- Canada
CA_SELLER = Seller(
    legal_name="Maple Inc.", country="CA", tax_ids=(TaxId(type="ca_gst_hst", value="123026635RT0001"),)
)


@pytest.mark.parametrize(
    ("province", "registrations", "day", "tax"),
    [
        ("ON", (), DAY, 1300),  # HST 13%
        ("AB", (), DAY, 500),  # GST only
        ("QC", (), DAY, 500),  # not registered for QST: GST only
        ("QC", ("CA-QC",), DAY, 1498),  # GST 500 + QST 10000 x 9.975% = 997.5 -> 998
        ("BC", ("CA-BC",), DAY, 1200),  # GST 500 + PST 700
        ("NS", (), date(2025, 3, 31), 1500),
        ("NS", (), date(2025, 4, 1), 1400),
    ],
)
def test_canada_by_province(province: str, registrations: tuple[str, ...], day: date, tax: int) -> None:
    engine = TaxEngine(registrations=frozenset(registrations))
    cus = customer("CA", region=province, currency="CAD")
    result = run(cus, "100", seller=CA_SELLER, engine=engine, day=day, currency="CAD")
    assert taxes(result) == [tax]
    assert result.jurisdiction == f"CA-{province}"
    assert result.seller_tax_id == "123026635RT0001"


def test_quebec_shows_gst_and_qst_separately() -> None:
    engine = TaxEngine(registrations=frozenset({"CA-QC"}))
    result = run(
        customer("CA", region="QC", currency="CAD"), "100", seller=CA_SELLER, engine=engine, currency="CAD"
    )
    assert [(s.name, s.rate, s.taxable_minor, s.tax_minor) for s in result.summary] == [
        ("GST", D("0.05"), 10000, 500),
        ("QST", D("0.09975"), 10000, 998),
    ]
    assert result.lines[0].rate == D("0.14975")


def test_a_foreign_seller_to_a_canadian_business() -> None:
    gst_number = (TaxId(type="ca_gst_hst", value="123026635RT0001"),)
    engine = TaxEngine(registrations=frozenset({"CA", "CA-QC", "CA-BC"}))
    qc = run(
        customer("CA", region="QC", currency="CAD", tax_ids=gst_number), "100", engine=engine, currency="CAD"
    )
    assert (qc.treatment, taxes(qc)) == (Treatment.REVERSE_CHARGE, [0])
    # BC's PST is owed by businesses too: GST is not charged, PST is.
    bc = run(
        customer("CA", region="BC", currency="CAD", tax_ids=gst_number), "100", engine=engine, currency="CAD"
    )
    assert (bc.treatment, taxes(bc)) == (Treatment.STANDARD, [700])


# ------------------------------------------------------------------------------ United States
@pytest.mark.parametrize(
    ("state", "tax"),
    [
        ("TX", 500),  # 100.00 x 80% x 6.25% = 5.00
        ("CT", 100),  # 1%
        ("NY", 400),
        ("WA", 650),
        ("CA", 0),  # California does not tax SaaS
        ("FL", 0),
    ],
)
def test_us_sales_tax_on_saas(state: str, tax: int) -> None:
    engine = TaxEngine(registrations=frozenset({"US-*"}))
    result = run(customer("US", region=state, currency="USD"), "100", engine=engine, currency="USD")
    assert taxes(result) == [tax]


def test_us_only_where_registered_and_a_business_pays_too() -> None:
    ein = (TaxId(type="us_ein", value="04-2103594"),)
    engine = TaxEngine(registrations=frozenset({"US-TX"}))
    tx = run(customer("US", region="TX", currency="USD", tax_ids=ein), "100", engine=engine, currency="USD")
    assert (tx.treatment, taxes(tx)) == (Treatment.STANDARD, [500])  # no reverse charge in US sales tax
    ny = run(customer("US", region="NY", currency="USD"), "100", engine=engine, currency="USD")
    assert (ny.treatment, taxes(ny)) == (Treatment.OUT_OF_SCOPE, [0])


def test_a_us_customer_without_a_state() -> None:
    registered = TaxEngine(registrations=frozenset({"US-TX"}))
    with pytest.raises(TaxLocationError, match="state or province"):
        run(customer("US", currency="USD"), "100", engine=registered, currency="USD")
    # A seller that owes no US tax anywhere does not need the state.
    assert run(customer("US", currency="USD"), "100", currency="USD").treatment is Treatment.OUT_OF_SCOPE


# ------------------------------------------------------------- exemptions, evidence, line codes
def test_an_exempt_customer_pays_no_tax_and_the_invoice_says_why() -> None:
    cus = customer("DE", tax_exemption=TaxExemption(reason="charity", certificate_id="C-1"))
    result = run(cus, "100")
    assert (result.treatment, taxes(result)) == (Treatment.EXEMPT, [0])
    assert "Tax exempt: charity (certificate C-1)" in result.notes
    assert result.lines[0].code == "DE:exempt"


def test_conflicting_evidence_is_reported_not_guessed() -> None:
    cus = customer("DE", ip_country="FR", card_country="DE")
    result = run(cus, "100")
    assert taxes(result) == [1900]  # the billing country
    assert result.warnings == ("IP country FR differs from billing country DE",)
    assert result.notes[-1] == (
        "Place of supply: DE (billing country DE; IP country FR; card country DE); "
        "conflicting evidence, taxed at the billing country"
    )
    with pytest.raises(TaxLocationError, match="IP country FR"):
        run(cus, "100", engine=TaxEngine(on_conflict="raise"))


def test_agreeing_evidence_is_printed() -> None:
    result = run(customer("DE", ip_country="DE", card_country="DE"), "100")
    assert result.warnings == ()
    assert result.notes[-1] == "Place of supply: DE (billing country DE; IP country DE; card country DE)"


def test_no_billing_country_is_an_error() -> None:
    with pytest.raises(TaxLocationError, match="no billing country"):
        run(customer(""), "100")


def test_exempt_and_zero_rated_lines() -> None:
    base = lines("100", "50", "20")
    coded = (
        base[0],
        InvoiceLine.trusted(*base[1][:13], "exempt"),
        InvoiceLine.trusted(*base[2][:13], "zero_rated"),
    )
    result = run(customer("DE"), given=coded)
    assert taxes(result) == [1900, 0, 0]
    assert [t.code for t in result.lines] == ["DE:standard", "DE:exempt", "DE:zero_rated"]
    assert "Exempt supply" in result.notes and "Zero-rated supply" in result.notes


# ---------------------------------------------------------------- inclusive prices and rounding
def test_tax_inclusive_price() -> None:
    result = run(customer("DE"), "119", inclusive=True)  # 119.00 incl. 19% = 100.00 + 19.00
    assert (result.lines[0].amount_minor, result.lines[0].tax_minor) == (10000, 1900)
    assert "Prices include VAT" in result.notes


def test_tax_inclusive_price_with_a_discount() -> None:
    # 119.00 less 11.90 = 107.10 incl. 19%: tax 107.10 x 19/119 = 17.10, net 90.00;
    # the discount net of tax 11.90 / 1.19 = 10.00, so amount 100.00 - 10.00 + 17.10 = 107.10.
    line = lines("119")[0].with_discount(1190)
    result = run(customer("DE"), given=(line,), inclusive=True)
    t = result.lines[0]
    assert (t.amount_minor, t.discount_minor, t.tax_minor) == (10000, 1000, 1710)


def test_exclusive_vs_inclusive_for_the_same_figure() -> None:
    assert taxes(run(customer("DE"), "119")) == [2261]  # 119.00 x 19% = 22.61


def test_rounding_per_line_vs_per_invoice() -> None:
    # 55.55 x 23% = 12.7765 -> 12.78; 11.11 x 23% = 2.5553 -> 2.56: 15.34 per line.
    # (55.55 + 11.11) x 23% = 15.3318 -> 15.33 on the total, split 12.78 + 2.55.
    pl = customer("PL")
    per_line = run(pl, "55.55", "11.11")
    on_total = run(pl, "55.55", "11.11", scope=RoundingScope.INVOICE)
    assert (taxes(per_line), per_line.summary[0].tax_minor) == ([1278, 256], 1534)
    assert (taxes(on_total), on_total.summary[0].tax_minor) == ([1278, 255], 1533)


def test_a_jurisdiction_rounding_mode() -> None:
    # 55.55 x 23% = 12.7765: rounded down (a host's rule) is 12.77.
    down = run(customer("PL"), "55.55", engine=TaxEngine(rounding=Rounding.DOWN))
    assert taxes(down) == [1277]


def test_jpy_has_no_minor_unit() -> None:
    # 1,234 JPY x 19% = 234.46 -> 234 yen.
    assert taxes(run(customer("DE", currency="JPY"), "1234", currency="JPY")) == [234]
    # Three lines of 333 JPY: 63.27 each -> 63 x 3 = 189 per line; 999 x 19% = 189.81 -> 190 on the total.
    assert sum(taxes(run(customer("DE", currency="JPY"), "333", "333", "333", currency="JPY"))) == 189
    on_total = run(
        customer("DE", currency="JPY"), "333", "333", "333", currency="JPY", scope=RoundingScope.INVOICE
    )
    assert taxes(on_total) == [64, 63, 63]


def test_kwd_has_three_decimals() -> None:
    # 1.999 KWD x 19% = 0.37981 -> 0.380 KWD (380 fils).
    assert taxes(run(customer("DE", currency="KWD"), "1.999", currency="KWD")) == [380]


def test_a_proration_credit_is_taxed_negatively() -> None:
    # -50.00 x 19% = -9.50; 100.00 x 19% = 19.00.
    assert taxes(run(customer("DE"), "-50", "100")) == [-950, 1900]


def test_apply_writes_tax_on_the_lines() -> None:
    base = lines("100")
    taxed = run(customer("DE"), given=base).apply(base)[0]
    assert (taxed.amount_minor, taxed.tax_minor, taxed.tax_rate, taxed.tax_code) == (
        10000,
        1900,
        D("0.19"),
        "DE:standard",
    )
