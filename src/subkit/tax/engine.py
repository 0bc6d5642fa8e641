"""The built-in tax engine: who taxes what, at which rate, with which mentions on the invoice.

:class:`TaxEngine` implements the :class:`~subkit.ports.TaxProvider` port: it takes a
:class:`TaxRequest` (seller, customer, currency, tax point, invoice lines, price convention,
rounding scope) and answers a :class:`TaxResult` (each line's tax, the treatment, the tax ids
and legal mentions for the invoice, the evidence of location). The rules:

1. The customer's place is its billing address (:mod:`subkit.tax.evidence`); conflicting
   evidence is reported (``warnings`` and the invoice's location note), never guessed.
2. A customer with a :class:`~subkit.customer.customer.TaxExemption` pays no tax; the reason
   and certificate go on the invoice.
3. The taxes of the customer's jurisdiction in force on the tax point's date come from the
   :class:`~subkit.tax.rates.RateTable`. The seller charges those it is registered for: its
   home country, every EU member state for an EU seller (the one-stop shop), and what the host
   lists in ``registrations`` (``"GB"``, ``"EU"`` for a non-EU seller in the non-Union OSS,
   ``"CA"``, ``"CA-QC"``, ``"US-TX"``, ``"US-*"``...).
4. Across a border, a business customer with a valid tax id of its country (offline checksum,
   then the host's online check if given) accounts for VAT/GST itself: **reverse charge**, no
   tax, the mention and both tax ids on the invoice. A consumer is charged at its own country's
   rate (EU B2C digital services: the customer's member state). At home, everyone is charged.
5. Nothing to charge (not registered there, no tax on SaaS there): **out of scope**, with a note.
6. A line already coded ``exempt`` or ``zero_rated`` (``InvoiceLine.tax_code``) is not taxed.

Simplifications (see docs/tax.md): standard rates only; the EU EUR 10,000 threshold under
which a small EU seller may charge its home VAT is not applied; US local rates are left out.

Example:
    >>> from datetime import date
    >>> from subkit.customer.customer import Customer, Seller, TaxId
    >>> from subkit.invoice.invoice import InvoiceLine, LineKind
    >>> seller = Seller(legal_name="Acme SAS", country="FR",
    ...                 tax_ids=(TaxId(type="eu_vat", value="FR40303265045"),))
    >>> line = InvoiceLine.build("Pro", LineKind.RECURRING, unit_amount="100", currency="EUR")
    >>> b2c = Customer(id="c1", name="Jan", currency="EUR", country="DE")
    >>> r = TaxEngine().calculate(TaxRequest(seller, b2c, "EUR", date(2025, 1, 1), (line,)))
    >>> r.treatment.value, r.lines[0].tax_minor, r.seller_tax_id
    ('standard', 1900, 'FR40303265045')
    >>> b2b = b2c.model_copy(update={"tax_ids": (TaxId(type="eu_vat", value="DE136695976"),)})
    >>> r = TaxEngine().calculate(TaxRequest(seller, b2b, "EUR", date(2025, 1, 1), (line,)))
    >>> r.treatment.value, r.lines[0].tax_minor, r.customer_tax_id
    ('reverse_charge', 0, 'DE136695976')
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from subkit.core.money import Rounding
from subkit.customer.customer import Customer, Seller
from subkit.errors import TaxLocationError
from subkit.invoice.invoice import InvoiceLine
from subkit.tax.calc import LineAmounts, RoundingScope, TaxAmount, compute
from subkit.tax.evidence import LocationEvidence, evidence_of
from subkit.tax.ids import TAX_ID_TYPES, OnlineCheck, TaxIdCheck, check_tax_id
from subkit.tax.rates import RateTable, TaxRate, country_of
from subkit.tax.tables import DEFAULT_TABLE, EU_MEMBER_STATES

__all__ = ["LineTax", "TaxEngine", "TaxRequest", "TaxResult", "Treatment", "line_category"]

_ZERO = Decimal(0)
_EU_REVERSE = (
    "Reverse charge: VAT to be accounted for by the recipient (Article 196, Council Directive 2006/112/EC)"
)


class Treatment(StrEnum):
    """How a supply is taxed.

    Example:
        >>> Treatment("reverse_charge").name
        'REVERSE_CHARGE'
    """

    STANDARD = "standard"
    REVERSE_CHARGE = "reverse_charge"
    EXEMPT = "exempt"
    ZERO_RATED = "zero_rated"
    OUT_OF_SCOPE = "out_of_scope"


def line_category(line: InvoiceLine) -> Treatment | None:
    """The treatment a line was coded with before tax (``exempt`` / ``zero_rated``), else ``None``.

    Example:
        >>> from subkit.invoice.invoice import LineKind
        >>> line = InvoiceLine.build("Book", LineKind.ONE_OFF, unit_amount="9", currency="GBP")
        >>> line_category(line), line_category(InvoiceLine.trusted(*line[:13], "GB:zero_rated"))
        (None, <Treatment.ZERO_RATED: 'zero_rated'>)
    """
    code = line.tax_code
    if not code:
        return None
    tail = code.rsplit(":", 1)[-1]
    return Treatment(tail) if tail in (Treatment.EXEMPT, Treatment.ZERO_RATED) else None


@dataclass(frozen=True, slots=True)
class TaxRequest:
    """What a tax provider is asked: tax these lines of an invoice from ``seller`` to ``customer``.

    ``tax_point`` is the calendar date the tax becomes due (the invoice's date in the
    customer's time zone): the rates in force that day apply. ``prices_include_tax``: the
    lines' amounts hold the tax. ``scope``: round per line or per invoice.

    Example:
        >>> from subkit.customer.customer import Customer, Seller
        >>> TaxRequest(Seller(legal_name="A", country="DE"), Customer(id="c", name="B", currency="EUR"),
        ...            "EUR", date(2025, 1, 1), ()).scope.value
        'line'
    """

    seller: Seller
    customer: Customer
    currency: str
    tax_point: date
    lines: tuple[InvoiceLine, ...]
    prices_include_tax: bool = False
    scope: RoundingScope = RoundingScope.LINE


@dataclass(frozen=True, slots=True)
class LineTax:
    """The tax of one line: amounts once taxed, combined rate, and the code ``"<jurisdiction>:<treatment>"``.

    Example:
        >>> LineTax(10000, 0, 1900, Decimal("0.19"), "DE:standard").tax_minor
        1900
    """

    amount_minor: int
    discount_minor: int
    tax_minor: int
    rate: Decimal
    code: str


@dataclass(frozen=True, slots=True)
class TaxResult:
    """A provider's answer: each line's tax (in the request's order) and what the invoice must say.

    ``notes`` are the legal mentions printed on the invoice; ``warnings`` are for the seller
    (an invalid tax id, conflicting evidence), not the customer.

    Example:
        >>> TaxResult((), Treatment.OUT_OF_SCOPE, "JP").tax_minor
        0
    """

    lines: tuple[LineTax, ...]
    treatment: Treatment
    jurisdiction: str
    seller_tax_id: str | None = None
    customer_tax_id: str | None = None
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    summary: tuple[TaxAmount, ...] = ()
    evidence: LocationEvidence | None = None
    table_version: str = ""

    @property
    def tax_minor(self) -> int:
        """The invoice's tax."""
        return sum(t.tax_minor for t in self.lines)

    def apply(self, lines: Iterable[InvoiceLine]) -> list[InvoiceLine]:
        """``lines`` with their tax (and, for tax-inclusive prices, their amounts net of tax).

        Example:
            >>> from subkit.invoice.invoice import LineKind
            >>> line = InvoiceLine.build("Pro", LineKind.RECURRING, unit_amount="119", currency="EUR")
            >>> taxed = LineTax(10000, 0, 1900, Decimal("0.19"), "DE:standard")
            >>> res = TaxResult((taxed,), Treatment.STANDARD, "DE")
            >>> taxed = res.apply([line])[0]
            >>> taxed.amount_minor, taxed.tax_minor, str(taxed.tax_rate), taxed.tax_code
            (10000, 1900, '0.19', 'DE:standard')
        """
        return [
            InvoiceLine.trusted(*ln[:9], t.amount_minor, t.discount_minor, t.tax_minor, t.rate, t.code)
            for ln, t in zip(lines, self.lines, strict=True)
        ]


@dataclass(frozen=True, slots=True)
class TaxEngine:
    """The built-in :class:`~subkit.ports.TaxProvider`: rate table, registrations, id checks.

    ``registrations``: where the seller collects tax besides its home country (and, for an EU
    seller, the whole EU). ``online_check``: the host's online tax id check (VIES), asked
    after the offline one. ``rounding``: a rounding mode for every tax, overriding the
    table's per-jurisdiction modes. ``on_conflict``: ``"report"`` conflicting evidence of
    location (tax at the billing country) or ``"raise"`` :class:`~subkit.errors.TaxLocationError`.

    Example:
        >>> TaxEngine(registrations=frozenset({"GB"})).table.version == DEFAULT_TABLE.version
        True
    """

    table: RateTable = DEFAULT_TABLE
    registrations: frozenset[str] = field(default_factory=frozenset)
    online_check: OnlineCheck | None = None
    rounding: Rounding | None = None
    on_conflict: Literal["report", "raise"] = "report"

    def registered(self, seller: Seller, tax: TaxRate) -> bool:
        """Whether ``seller`` collects ``tax``.

        Example:
            >>> from subkit.customer.customer import Seller
            >>> engine = TaxEngine(registrations=frozenset({"US-*"}))
            >>> tx = DEFAULT_TABLE.rates_at("US-TX", date(2025, 1, 1))[0]
            >>> engine.registered(Seller(legal_name="A", country="FR"), tx)
            True
        """
        key = tax.registration_key
        home = seller.country.upper()
        if key == home or (key == "EU" and home in EU_MEMBER_STATES):
            return True
        return key in self.registrations or f"{country_of(key)}-*" in self.registrations

    def calculate(self, request: TaxRequest) -> TaxResult:
        """Tax ``request``'s lines (see the module's rules)."""
        seller, customer = request.seller, request.customer
        evidence = evidence_of(customer)
        country = evidence.billing_country
        if not country:
            raise TaxLocationError(
                f"customer {customer.id} has no billing country: set Customer.country or address.country",
                field="country",
            )
        warnings = list(evidence.conflicts)
        if warnings and self.on_conflict == "raise":
            raise TaxLocationError(f"customer {customer.id}: {'; '.join(warnings)}", field="country")
        checked = self._customer_id(customer, country, warnings)
        home = seller.country.upper()
        domestic = country == home
        jurisdiction = evidence.jurisdiction
        taxes: tuple[TaxRate, ...] = ()
        notes: list[str] = []
        if customer.tax_exemption is not None:
            treatment = Treatment.EXEMPT
            ex = customer.tax_exemption
            notes.append(
                f"Tax exempt: {ex.reason}"
                + (f" (certificate {ex.certificate_id})" if ex.certificate_id else "")
            )
        else:
            all_taxes = self._taxes(seller, country, jurisdiction, request.tax_point)
            b2b_abroad = checked is not None and checked.valid and not domestic
            reversed_ = [t for t in all_taxes if b2b_abroad and t.reverse_charge]
            taxes = tuple(t for t in all_taxes if t not in reversed_ and self.registered(seller, t))
            if taxes:
                treatment = Treatment.STANDARD
            elif reversed_:
                treatment = Treatment.REVERSE_CHARGE
            else:
                treatment = Treatment.OUT_OF_SCOPE
            if reversed_:
                names = "/".join(dict.fromkeys(t.name for t in reversed_))
                notes.append(
                    _EU_REVERSE
                    if country in EU_MEMBER_STATES
                    else f"Reverse charge: the customer accounts for {names} in {country}"
                )
            if treatment is Treatment.OUT_OF_SCOPE:
                notes.append(
                    f"No tax charged: the place of supply ({jurisdiction}) is outside "
                    "the seller's tax registrations"
                )
        codes = [line_category(ln) for ln in request.lines]
        per_line = [() if c is not None else taxes for c in codes]
        computed = compute(
            [(ln.amount_minor, ln.discount_minor) for ln in request.lines],
            per_line,
            inclusive=request.prices_include_tax,
            scope=request.scope,
            rounding=self.rounding,
        )
        if taxes and request.prices_include_tax:
            notes.append(f"Prices include {'/'.join(dict.fromkeys(t.name for t in taxes))}")
        for c in dict.fromkeys(c for c in codes if c is not None):
            notes.append("Exempt supply" if c is Treatment.EXEMPT else "Zero-rated supply")
        notes.append(evidence.note())
        lines = tuple(
            _line_tax(amounts, f"{jurisdiction}:{(c or treatment).value}")
            for amounts, c in zip(computed.lines, codes, strict=True)
        )
        customer_id = checked.normalized if checked is not None and checked.valid else None
        return TaxResult(
            lines=lines,
            treatment=treatment,
            jurisdiction=jurisdiction,
            seller_tax_id=_seller_id(seller, country),
            customer_tax_id=customer_id,
            notes=tuple(notes),
            warnings=tuple(warnings),
            summary=computed.summary,
            evidence=evidence,
            table_version=self.table.version,
        )

    def _taxes(self, seller: Seller, country: str, jurisdiction: str, day: date) -> tuple[TaxRate, ...]:
        """The taxes of the customer's jurisdiction on ``day``; a missing US/CA region is an error
        only when the seller could owe tax there."""
        if country in ("US", "CA") and jurisdiction == country:
            could = seller.country.upper() == country or any(
                country_of(r) == country for r in self.registrations
            )
            if could:
                raise TaxLocationError(
                    f"a customer in {country} needs its state or province (Address.region) to be taxed",
                    field="address.region",
                )
            return ()
        return self.table.rates_at(jurisdiction, day)

    def _customer_id(self, customer: Customer, country: str, warnings: list[str]) -> TaxIdCheck | None:
        """The customer's tax id for ``country``, checked offline then online; ``None`` if it has none."""
        for tid in customer.tax_ids:
            spec = TAX_ID_TYPES.get(tid.type)
            if spec is None or (spec[1] is not None and spec[1] != country):
                continue
            found = check_tax_id(tid.type, tid.value)
            if found.country != country:
                continue
            if (
                found.valid
                and self.online_check is not None
                and self.online_check(tid.type, found.normalized) is False
            ):
                found = TaxIdCheck(
                    found.type, found.normalized, False, found.country, "rejected by the online check"
                )
            if not found.valid:
                warnings.append(f"tax id {tid.value} is not valid ({found.reason}): taxed as a consumer")
            return found
        return None


def _line_tax(amounts: LineAmounts, code: str) -> LineTax:
    return LineTax(amounts.amount_minor, amounts.discount_minor, amounts.tax_minor, amounts.rate, code)


#: The seller tax id types that belong to a country (other than an EU VAT id).
_TYPES_OF = {"GB": ("gb_vat",), "CH": ("ch_vat",), "NO": ("no_vat",), "AU": ("au_abn",), "NZ": ("nz_gst",),
             "CA": ("ca_gst_hst", "ca_bn"), "IN": ("in_gst",), "US": ("us_ein",)}  # fmt: skip


def _seller_id(seller: Seller, country: str) -> str | None:
    """The seller's tax id to print: the one of the customer's country, else (for an EU customer)
    its EU VAT id (the one-stop shop uses the home VAT id), else its first."""
    ids = seller.tax_ids
    if not ids:
        return None
    wanted = _TYPES_OF.get(country, ())
    for tid in ids:
        if tid.type in wanted or (tid.type == "eu_vat" and _vat_country(tid.value) == country):
            return tid.value
    if country in EU_MEMBER_STATES:
        for tid in ids:
            if tid.type == "eu_vat":
                return tid.value
    return ids[0].value


def _vat_country(value: str) -> str:
    prefix = value.strip()[:2].upper()
    return {"EL": "GR", "XI": "GB"}.get(prefix, prefix)
