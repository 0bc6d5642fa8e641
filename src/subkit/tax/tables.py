"""The built-in rate table: VAT of the 27 EU member states, UK, Switzerland, Norway; GST of
Australia and New Zealand; Canada and the US in :mod:`subkit.tax.tables_na`.

Only the **standard** rate is listed: it is the rate of electronically supplied services
(SaaS) everywhere in the table. Coverage starts on :data:`COVERAGE_FROM`: a rate in force
earlier carries that date as its ``valid_from`` (the rate did not change in between); a
rate that took effect later carries the date it took effect. Every rate cites the authority
it was checked against. This is an approximation kept by hand (``VERSION``): a host that needs
certainty plugs a tax provider or overrides rates with :meth:`RateTable.with_rates`.

Example:
    >>> from datetime import date
    >>> [str(r.rate) for r in DEFAULT_TABLE.rates_at("SK", date(2024, 12, 31))], \\
    ...     [str(r.rate) for r in DEFAULT_TABLE.rates_at("SK", date(2025, 1, 1))]
    (['0.20'], ['0.23'])
    >>> len(EU_MEMBER_STATES)
    27
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from subkit.tax.rates import RateTable, TaxRate
from subkit.tax.tables_na import CANADA, UNITED_STATES

__all__ = ["COVERAGE_FROM", "DEFAULT_TABLE", "EU_MEMBER_STATES", "VERSION", "vat_rates"]

#: The table's version: bump it with every change of a rate.
VERSION = "2025.08-1"
#: The first date the table covers.
COVERAGE_FROM = date(2021, 1, 1)

#: The European Commission's list of standard rates (TEDB), situation at 1 January 2025.
_EC = (
    "European Commission, 'VAT rates applied in the Member States of the European Union' "
    "(Taxes in Europe Database, TEDB), taxation-customs.ec.europa.eu"
)
#: ISO 3166 codes of the 27 EU member states (Greece is GR; its VAT ids start with EL).
EU_MEMBER_STATES = frozenset(
    {"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
     "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"}
)  # fmt: skip


def _r(
    code: str, name: str, pct: str, since: date, source: str, until: date | None = None, **kw: Any
) -> TaxRate:
    return TaxRate(code, name, Decimal(pct).scaleb(-2), since, source, valid_until=until, **kw)


def _eu(
    code: str, pct: str, since: date = COVERAGE_FROM, until: date | None = None, source: str = _EC
) -> TaxRate:
    return _r(code, "VAT", pct, since, source, until, registration="EU")


_D = date
#: Standard VAT rates of the member states unchanged since the coverage start.
_STABLE = {
    "AT": "20", "BE": "21", "BG": "20", "CY": "19", "CZ": "21", "DE": "19", "DK": "25", "ES": "21",
    "FR": "20", "GR": "24", "HR": "25", "HU": "27", "IT": "22", "LT": "21", "LV": "21", "MT": "18",
    "NL": "21", "PL": "23", "PT": "23", "SE": "25", "SI": "22",
}  # fmt: skip

#: Rates that changed since the coverage start, each with the authority that announced it.
_CHANGED = (
    # Ireland: 21% (1 Sep 2020 - 28 Feb 2021, the COVID cut), 23% again from 1 March 2021.
    _eu("IE", "21", until=_D(2021, 3, 1), source="Revenue (revenue.ie), 'VAT rates', rate history"),
    _eu("IE", "23", _D(2021, 3, 1), source="Revenue (revenue.ie), 'VAT rates', rate history"),
    # Luxembourg: 16% for 2023 only (law of 26 October 2022), 17% again from 1 January 2024.
    _eu("LU", "17", until=_D(2023, 1, 1), source="Administration de l'enregistrement (aed.public.lu)"),
    _eu(
        "LU",
        "16",
        _D(2023, 1, 1),
        _D(2024, 1, 1),
        source="Administration de l'enregistrement (aed.public.lu)",
    ),
    _eu("LU", "17", _D(2024, 1, 1), source="Administration de l'enregistrement (aed.public.lu)"),
    # Estonia: 20% -> 22% on 1 January 2024 -> 24% on 1 July 2025.
    _eu("EE", "20", until=_D(2024, 1, 1), source="Estonian Tax and Customs Board (emta.ee)"),
    _eu("EE", "22", _D(2024, 1, 1), _D(2025, 7, 1), source="Estonian Tax and Customs Board (emta.ee)"),
    _eu(
        "EE",
        "24",
        _D(2025, 7, 1),
        source="Estonian Tax and Customs Board (emta.ee), VAT 24% from 1 July 2025",
    ),
    # Finland: 24% -> 25.5% on 1 September 2024.
    _eu("FI", "24", until=_D(2024, 9, 1), source="Finnish Tax Administration (vero.fi)"),
    _eu(
        "FI", "25.5", _D(2024, 9, 1), source="Finnish Tax Administration (vero.fi), VAT 25.5% from 1 Sep 2024"
    ),
    # Slovakia: 20% -> 23% on 1 January 2025.
    _eu("SK", "20", until=_D(2025, 1, 1), source="Financial Administration of the Slovak Republic"),
    _eu(
        "SK",
        "23",
        _D(2025, 1, 1),
        source="Financial Administration of the Slovak Republic (financnasprava.sk)",
    ),
    # Romania: 19% -> 21% on 1 August 2025 (Law 141/2025).
    _eu("RO", "19", until=_D(2025, 8, 1), source="ANAF (anaf.ro)"),
    _eu("RO", "21", _D(2025, 8, 1), source="ANAF (anaf.ro); Law 141/2025, VAT 21% from 1 August 2025"),
)

#: VAT and GST outside the EU.
_OTHERS = (
    _r(
        "GB",
        "VAT",
        "20",
        COVERAGE_FROM,
        "HMRC, 'VAT rates' (gov.uk/guidance/rates-of-vat-on-different-goods-and-services)",
    ),
    _r("CH", "VAT", "7.7", COVERAGE_FROM, "Swiss Federal Tax Administration (estv.admin.ch)", _D(2024, 1, 1)),
    _r(
        "CH",
        "VAT",
        "8.1",
        _D(2024, 1, 1),
        "Swiss Federal Tax Administration (estv.admin.ch), 8.1% from 1 Jan 2024",
    ),
    _r("NO", "VAT", "25", COVERAGE_FROM, "Skatteetaten (skatteetaten.no), 'Merverdiavgift: satser'"),
    _r("AU", "GST", "10", COVERAGE_FROM, "Australian Taxation Office (ato.gov.au), GST"),
    _r("NZ", "GST", "15", COVERAGE_FROM, "Inland Revenue (ird.govt.nz), GST"),
)


def vat_rates() -> tuple[TaxRate, ...]:
    """Every VAT and GST rate of the table outside North America.

    Example:
        >>> sorted({r.jurisdiction for r in vat_rates()} - EU_MEMBER_STATES)
        ['AU', 'CH', 'GB', 'NO', 'NZ']
    """
    stable = tuple(_eu(code, pct) for code, pct in _STABLE.items())
    return stable + _CHANGED + _OTHERS


#: The built-in table.
DEFAULT_TABLE = RateTable(VERSION, vat_rates() + CANADA + UNITED_STATES)
