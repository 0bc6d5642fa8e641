"""Tax ids checked offline (format and checksum) with python-stdnum.

Valid examples are the ones python-stdnum documents for each module (its docstrings and
test files); an invalid one is the same number with its check digit changed.
"""

from __future__ import annotations

import sys

import pytest

from subkit.errors import OptionalDependencyError, TaxIdError
from subkit.tax.ids import check_tax_id, stdnum_available, validate_tax_id

needs_stdnum = pytest.mark.skipif(
    not stdnum_available(), reason="python-stdnum is not installed: pip install 'subkit[tax]'"
)

# (type, as typed, compact form, country)
VALID = [
    ("eu_vat", "DE 136,695,976", "DE136695976", "DE"),
    ("eu_vat", "FR 40 303 265 045", "FR40303265045", "FR"),
    ("eu_vat", "EL 094259216", "EL094259216", "GR"),
    ("eu_vat", "ATU13585627", "ATU13585627", "AT"),
    ("eu_vat", "NL004495445B01", "NL004495445B01", "NL"),
    ("gb_vat", "GB 980 7806 84", "GB980780684", "GB"),
    ("ch_vat", "CHE-107.787.577 IVA", "CHE107787577IVA", "CH"),
    ("no_vat", "NO 995 525 828 MVA", "995525828MVA", "NO"),
    ("au_abn", "83 914 571 673", "83914571673", "AU"),
    ("nz_gst", "4909185-0", "49091850", "NZ"),
    ("ca_bn", "12302 6635", "123026635", "CA"),
    ("ca_gst_hst", "123026635RT0001", "123026635RT0001", "CA"),
    ("ca_qst", "1234567890 TQ 0001", "1234567890TQ0001", "CA"),
    ("in_gst", "27AAPFU0939F1ZV", "27AAPFU0939F1ZV", "IN"),
    ("us_ein", "04-2103594", "042103594", "US"),
]
INVALID = [
    ("eu_vat", "DE136695975"),
    ("eu_vat", "FR40303265046"),
    ("gb_vat", "GB980780685"),
    ("au_abn", "83 914 571 674"),
    ("in_gst", "27AAPFU0939F1ZW"),
    ("ca_gst_hst", "123026635RC0001"),  # a business number, but not its GST/HST (RT) account
    ("ca_qst", "1234567890RT0001"),
]


@needs_stdnum
@pytest.mark.parametrize(("kind", "typed", "compact", "country"), VALID)
def test_valid_ids(kind: str, typed: str, compact: str, country: str) -> None:
    found = check_tax_id(kind, typed)
    assert (found.valid, found.normalized, found.country) == (True, compact, country)
    assert validate_tax_id(kind, typed) == compact


@needs_stdnum
@pytest.mark.parametrize(("kind", "typed"), INVALID)
def test_invalid_ids(kind: str, typed: str) -> None:
    found = check_tax_id(kind, typed)
    assert not found.valid and found.reason
    with pytest.raises(TaxIdError, match=f"not a valid {kind} id"):
        validate_tax_id(kind, typed)


def test_an_unknown_type_says_which_are_known() -> None:
    with pytest.raises(TaxIdError, match="known: au_abn"):
        check_tax_id("xx_vat", "1")


def test_without_stdnum_validation_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "stdnum.eu.vat", None)  # importing it now raises ImportError
    with pytest.raises(OptionalDependencyError, match=r"pip install 'subkit\[tax\]'"):
        check_tax_id("eu_vat", "DE136695976")
