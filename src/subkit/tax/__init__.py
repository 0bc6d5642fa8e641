"""Tax: dated rate tables with their sources, tax id checks, and the built-in tax engine.

- :mod:`~subkit.tax.rates`: :class:`TaxRate` (one tax, one period, its source) and
  :class:`RateTable` (versioned, host-overridable).
- :mod:`~subkit.tax.tables`, :mod:`~subkit.tax.tables_na`: the built-in table (EU 27, UK,
  CH, NO, AU, NZ, Canada by province, US states that tax SaaS), an approximation.
- :mod:`~subkit.tax.calc`: inclusive/exclusive prices, rounding per line or per invoice,
  exact splits.
- :mod:`~subkit.tax.evidence`: evidence of the customer's location.
- :mod:`~subkit.tax.ids`: tax ids checked offline with python-stdnum (extra ``tax``).
- :mod:`~subkit.tax.engine`: :class:`TaxEngine` (implements :class:`subkit.ports.TaxProvider`).
- :mod:`~subkit.tax.credit`: the tax a credit note reverses.

Example:
    >>> from datetime import date
    >>> [str(r.rate) for r in DEFAULT_TABLE.rates_at("FI", date(2024, 9, 1))]
    ['0.255']
"""

from subkit.tax.calc import RoundingScope, TaxAmount
from subkit.tax.credit import credit_note_tax
from subkit.tax.engine import LineTax, TaxEngine, TaxRequest, TaxResult, Treatment
from subkit.tax.evidence import LocationEvidence
from subkit.tax.ids import TaxIdCheck, check_tax_id, validate_tax_id
from subkit.tax.rates import RateTable, TaxRate
from subkit.tax.tables import DEFAULT_TABLE

__all__ = [
    "DEFAULT_TABLE",
    "LineTax",
    "LocationEvidence",
    "RateTable",
    "RoundingScope",
    "TaxAmount",
    "TaxEngine",
    "TaxIdCheck",
    "TaxRate",
    "TaxRequest",
    "TaxResult",
    "Treatment",
    "check_tax_id",
    "credit_note_tax",
    "validate_tax_id",
]
