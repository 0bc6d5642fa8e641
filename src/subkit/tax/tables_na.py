"""North America: Canada's GST/HST, QST and PST by province; US state sales tax on SaaS.

Canada: GST (5%) everywhere, or HST (GST and the provincial part together) in the
harmonized provinces; Quebec adds QST, British Columbia, Saskatchewan and Manitoba add a
provincial sales tax. GST/HST needs a GST/HST registration (``"CA"``), each provincial tax
its own registration (``"CA-QC"``...). Nova Scotia's HST went from 15% to 14% on 1 April 2025
(its provincial part from 10% to 9%: SOR/2025-77; CRA GST/HST Notice 342).

United States: only states whose revenue department treats SaaS as taxable are listed, at
their **state** base rate; local rates (city, county, district) are not included, so the
figures are a floor, not the exact rate at an address. A state missing from the table does
not tax SaaS (California, Florida, Illinois, Georgia...). Texas taxes 80% of a data processing
charge (Tax Code 151.351), so its effective rate is 6.25% x 80% = 5%. Connecticut taxes
computer and data processing services at 1%. Some states tax SaaS for business use only
(Ohio) or exempt business use (Iowa): the table keeps the general case and says so in
``note``. A US seller collects only where it has nexus and is registered: list the states in
the engine's ``registrations``.

Example:
    >>> from datetime import date
    >>> ns = {r.valid_from: str(r.rate) for r in CANADA if r.jurisdiction == "CA-NS"}
    >>> ns[date(2025, 4, 1)]
    '0.14'
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from subkit.tax.rates import TaxRate

__all__ = ["CANADA", "UNITED_STATES", "US_COVERAGE_FROM"]

_START = date(2021, 1, 1)
#: The first date the US part of the table covers.
US_COVERAGE_FROM = date(2024, 1, 1)
_CRA = "CRA, 'GST/HST rates' (canada.ca: charge and collect the tax, which rate to charge)"


def _ca(code: str, name: str, pct: str, source: str = _CRA, *, since: date = _START, **kw: Any) -> TaxRate:
    registration = "CA" if name in ("GST", "HST") else f"CA-{code}"
    return TaxRate(
        f"CA-{code}", name, Decimal(pct).scaleb(-2), since, source, registration=registration, **kw
    )


CANADA: tuple[TaxRate, ...] = (
    *(_ca(p, "GST", "5") for p in ("AB", "BC", "MB", "SK", "QC", "NT", "NU", "YT")),
    _ca("ON", "HST", "13"),
    _ca("NB", "HST", "15"),
    _ca("NL", "HST", "15"),
    _ca("PE", "HST", "15"),
    _ca("NS", "HST", "15", valid_until=date(2025, 4, 1)),
    _ca("NS", "HST", "14", "CRA GST/HST Notice 342; SOR/2025-77", since=date(2025, 4, 1)),
    _ca("QC", "QST", "9.975", "Revenu Québec (revenuquebec.ca), QST rate; digital services of non-residents"),
    _ca(
        "BC", "PST", "7", "BC Ministry of Finance, PST Bulletin 105 'Software'", reverse_charge=False,
        note="software including SaaS; out-of-province sellers register above CAD 10,000 a year",
    ),
    _ca(
        "SK", "PST", "6", "Saskatchewan Ministry of Finance, PST on software", reverse_charge=False
    ),
    _ca(
        "MB", "RST", "7", "Manitoba Finance, RST Bulletin 034 'Computer hardware, software and services'",
        reverse_charge=False,
    ),
)  # fmt: skip


def _us(
    state: str,
    pct: str,
    source: str,
    *,
    since: date = US_COVERAGE_FROM,
    until: date | None = None,
    **kw: Any,
) -> TaxRate:
    return TaxRate(
        f"US-{state}",
        "sales tax",
        Decimal(pct).scaleb(-2),
        since,
        source,
        valid_until=until,
        reverse_charge=False,
        **kw,
    )


UNITED_STATES: tuple[TaxRate, ...] = (
    _us("AZ", "5.6", "Arizona Department of Revenue, TPT (personal property rental classification)"),
    _us("CT", "1", "Connecticut DRS, computer and data processing services at 1% (Conn. Gen. Stat. 12-408)",
        note="1% is the rate of business use; personal use is taxed at 6.35%"),
    _us("DC", "6", "DC Office of Tax and Revenue, digital goods and SaaS"),
    _us("HI", "4", "Hawaii Department of Taxation, general excise tax", note="a gross receipts tax"),
    _us("IA", "6", "Iowa Department of Revenue, specified digital products and SaaS",
        note="SaaS sold exclusively for business use is exempt"),
    _us("KY", "6", "Kentucky Department of Revenue, software access services (from 2023)"),
    _us("MA", "6.25", "Massachusetts DOR, 830 CMR 64H.1.3 (prewritten software, remotely accessed)"),
    _us("MS", "7", "Mississippi Department of Revenue, computer software and services"),
    _us("NM", "4.875", "New Mexico Taxation and Revenue Department, GRT 4.875% from 2024-07-01",
        since=date(2024, 7, 1)),
    _us("NM", "5", "New Mexico Taxation and Revenue Department, gross receipts tax", until=date(2024, 7, 1)),
    _us("NY", "4", "New York State Department of Taxation and Finance, TB-ST-128 (prewritten software)"),
    _us("OH", "5.75", "Ohio Department of Taxation, automatic data processing and computer services",
        note="taxable for business use only"),
    _us("PA", "6", "Pennsylvania Department of Revenue, canned software accessed electronically"),
    _us("RI", "7", "Rhode Island Division of Taxation, vendor-hosted prewritten software"),
    _us("SC", "6", "South Carolina Department of Revenue, communications services (SC Revenue Ruling 13-5)"),
    _us("SD", "4.2", "South Dakota Department of Revenue, 4.2% from 2023-07-01"),
    _us("TN", "7", "Tennessee Department of Revenue, remotely accessed software (SUT-115)"),
    _us("TX", "6.25", "Texas Comptroller, data processing services; Tax Code 151.351 exempts 20%",
        taxable_share=Decimal("0.8")),
    _us("UT", "4.85", "Utah State Tax Commission, prewritten software (state rate)"),
    _us("WA", "6.5", "Washington Department of Revenue, remote access software (digital products)"),
    _us("WV", "6", "West Virginia Tax Division, prewritten software"),
)  # fmt: skip
