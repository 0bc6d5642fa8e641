"""The built-in rate table, jurisdiction by jurisdiction, on both sides of every rate change.

Expected rates come from the authorities, not from the table:
- EU: European Commission, "VAT rates applied in the Member States of the European Union"
  (TEDB), situation at 1 January 2025; later changes: Estonian Tax and Customs Board (24% from
  2025-07-01), ANAF / Law 141/2025 (Romania 21% from 2025-08-01); earlier ones: vero.fi (FI
  25.5% from 2024-09-01), Financial Administration SR (SK 23% from 2025-01-01), emta.ee (EE 22%
  from 2024-01-01), AED Luxembourg (16% in 2023), Revenue.ie (23% again from 2021-03-01).
- GB: HMRC "VAT rates"; CH: ESTV (8.1% from 2024-01-01); NO: Skatteetaten; AU: ATO; NZ: IRD.
- CA: CRA "GST/HST rates"; Nova Scotia 15% -> 14% on 2025-04-01 (CRA GST/HST Notice 342,
  SOR/2025-77); QST: Revenu Quebec; BC PST: PST Bulletin 105.
- US: the state revenue departments cited in the table; Texas: Tax Code 151.351 (20% exempt).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from subkit.errors import TaxRateNotFoundError, ValidationError
from subkit.tax.rates import RateTable, TaxRate
from subkit.tax.tables import DEFAULT_TABLE, EU_MEMBER_STATES

D = Decimal

# EC TEDB standard rates on 2025-01-01, one per member state.
EU_ON_2025_01_01 = {
    "AT": "20", "BE": "21", "BG": "20", "CY": "19", "CZ": "21", "DE": "19", "DK": "25", "EE": "22",
    "ES": "21", "FI": "25.5", "FR": "20", "GR": "24", "HR": "25", "HU": "27", "IE": "23", "IT": "22",
    "LT": "21", "LU": "17", "LV": "21", "MT": "18", "NL": "21", "PL": "23", "PT": "23", "RO": "19",
    "SE": "25", "SI": "22", "SK": "23",
}  # fmt: skip


def rate_on(code: str, day: date, name: str | None = None) -> Decimal:
    found = [r for r in DEFAULT_TABLE.rates_at(code, day) if name is None or r.name == name]
    assert len(found) == 1, (code, day, found)
    return found[0].rate * 100


def test_the_table_lists_all_27_member_states() -> None:
    assert len(EU_MEMBER_STATES) == 27
    assert set(EU_ON_2025_01_01) == EU_MEMBER_STATES
    assert set(DEFAULT_TABLE.jurisdictions) >= EU_MEMBER_STATES


@pytest.mark.parametrize("code", sorted(EU_ON_2025_01_01))
def test_eu_standard_rate_on_2025_01_01(code: str) -> None:
    assert rate_on(code, date(2025, 1, 1)) == D(EU_ON_2025_01_01[code])


# (jurisdiction, tax name, date of change, rate the day before, rate on the day): every change.
CHANGES = [
    ("FI", "VAT", date(2024, 9, 1), "24", "25.5"),
    ("SK", "VAT", date(2025, 1, 1), "20", "23"),
    ("EE", "VAT", date(2024, 1, 1), "20", "22"),
    ("EE", "VAT", date(2025, 7, 1), "22", "24"),
    ("RO", "VAT", date(2025, 8, 1), "19", "21"),
    ("LU", "VAT", date(2023, 1, 1), "17", "16"),
    ("LU", "VAT", date(2024, 1, 1), "16", "17"),
    ("IE", "VAT", date(2021, 3, 1), "21", "23"),
    ("CH", "VAT", date(2024, 1, 1), "7.7", "8.1"),
    ("CA-NS", "HST", date(2025, 4, 1), "15", "14"),
    ("US-NM", "sales tax", date(2024, 7, 1), "5", "4.875"),
]


@pytest.mark.parametrize(("code", "name", "day", "before", "after"), CHANGES)
def test_every_rate_change_on_both_sides(code: str, name: str, day: date, before: str, after: str) -> None:
    assert rate_on(code, day - timedelta(days=1), name) == D(before)
    assert rate_on(code, day, name) == D(after)


# Other jurisdictions: (code, day, {tax: rate %}), hand-copied from the authorities.
ELSEWHERE = [
    ("GB", date(2025, 6, 1), {"VAT": "20"}),
    ("NO", date(2025, 6, 1), {"VAT": "25"}),
    ("AU", date(2025, 6, 1), {"GST": "10"}),
    ("NZ", date(2025, 6, 1), {"GST": "15"}),
    ("CA-ON", date(2025, 6, 1), {"HST": "13"}),
    ("CA-NB", date(2025, 6, 1), {"HST": "15"}),
    ("CA-NL", date(2025, 6, 1), {"HST": "15"}),
    ("CA-PE", date(2025, 6, 1), {"HST": "15"}),
    ("CA-AB", date(2025, 6, 1), {"GST": "5"}),
    ("CA-QC", date(2025, 6, 1), {"GST": "5", "QST": "9.975"}),
    ("CA-BC", date(2025, 6, 1), {"GST": "5", "PST": "7"}),
    ("CA-SK", date(2025, 6, 1), {"GST": "5", "PST": "6"}),
    ("CA-MB", date(2025, 6, 1), {"GST": "5", "RST": "7"}),
    ("US-TX", date(2025, 6, 1), {"sales tax": "6.25"}),
    ("US-NY", date(2025, 6, 1), {"sales tax": "4"}),
    ("US-WA", date(2025, 6, 1), {"sales tax": "6.5"}),
    ("US-CT", date(2025, 6, 1), {"sales tax": "1"}),
    ("US-PA", date(2025, 6, 1), {"sales tax": "6"}),
]


@pytest.mark.parametrize(("code", "day", "expected"), ELSEWHERE)
def test_rates_outside_the_eu(code: str, day: date, expected: dict[str, str]) -> None:
    found = {r.name: r.rate * 100 for r in DEFAULT_TABLE.rates_at(code, day)}
    assert found == {k: D(v) for k, v in expected.items()}


def test_texas_taxes_80_percent_of_the_charge() -> None:
    (tx,) = DEFAULT_TABLE.rates_at("US-TX", date(2025, 6, 1))
    assert tx.taxable_share == D("0.8")
    assert tx.effective_rate == D("0.05")  # 6.25% x 80%


def test_a_state_that_does_not_tax_saas_has_no_rate() -> None:
    for state in ("US-CA", "US-FL", "US-IL", "US-GA"):
        assert DEFAULT_TABLE.rates_at(state, date(2025, 6, 1)) == ()


def test_every_rate_cites_its_source_and_periods_never_overlap() -> None:
    for r in DEFAULT_TABLE.rates:
        assert r.source.strip()
    RateTable("copy", DEFAULT_TABLE.rates)  # builds: no overlap


def test_a_date_before_the_coverage_is_an_error_not_a_guess() -> None:
    with pytest.raises(TaxRateNotFoundError, match="no rate for FI before 2021-01-01"):
        DEFAULT_TABLE.rates_at("FI", date(2020, 12, 31))


def test_a_host_overrides_a_rate_and_gets_a_new_version() -> None:
    mine = DEFAULT_TABLE.with_rates(
        [TaxRate("US-CO", "sales tax", D("0.029"), date(2024, 1, 1), "host's adviser")], version="host-7"
    )
    assert mine.version == "host-7"
    assert mine.rates_at("US-CO", date(2025, 1, 1))[0].rate == D("0.029")
    replaced = DEFAULT_TABLE.with_rates([TaxRate("DE", "VAT", D("0.20"), date(2021, 1, 1), "what-if")])
    assert [r.rate for r in replaced.rates_at("DE", date(2025, 1, 1))] == [D("0.20")]
    assert [r.rate for r in DEFAULT_TABLE.rates_at("DE", date(2025, 1, 1))] == [D("0.19")]  # unchanged


def test_bad_rates_are_refused() -> None:
    with pytest.raises(ValidationError, match="overlap"):
        RateTable(
            "bad",
            (
                TaxRate("XX", "VAT", D("0.1"), date(2021, 1, 1), "s", valid_until=date(2022, 1, 2)),
                TaxRate("XX", "VAT", D("0.2"), date(2022, 1, 1), "s"),
            ),
        )
    with pytest.raises(ValidationError, match="cite its source"):
        TaxRate("XX", "VAT", D("0.1"), date(2021, 1, 1), "")
    with pytest.raises(ValidationError, match="rate must be"):
        TaxRate("XX", "VAT", D("19"), date(2021, 1, 1), "s")
