"""Tax ids checked offline, by format and checksum, with python-stdnum (the optional extra ``tax``).

:func:`check_tax_id` answers with a :class:`TaxIdCheck` (a business outcome: valid or not,
and why); :func:`validate_tax_id` raises :class:`~subkit.errors.TaxIdError` instead. An
online check (VIES for EU VAT ids) is the host's: it passes a :data:`OnlineCheck` to the tax
engine, which asks it only about ids that passed the offline check.

Types (as Stripe names them): ``eu_vat``, ``gb_vat``, ``ch_vat``, ``no_vat``, ``au_abn``,
``nz_gst``, ``ca_bn``, ``ca_gst_hst``, ``ca_qst``, ``in_gst``, ``us_ein``.

Example:
    >>> check_tax_id("eu_vat", "DE 136,695,976").normalized   # needs subkit[tax]
    'DE136695976'
    >>> check_tax_id("eu_vat", "DE136695975").valid
    False
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

from subkit.errors import OptionalDependencyError, TaxIdError

__all__ = ["TAX_ID_TYPES", "OnlineCheck", "TaxIdCheck", "check_tax_id", "stdnum_available", "validate_tax_id"]

#: The stdnum module of each tax id type, and the country the id belongs to (``None``: its prefix).
TAX_ID_TYPES: dict[str, tuple[str, str | None]] = {
    "eu_vat": ("stdnum.eu.vat", None),
    "gb_vat": ("stdnum.gb.vat", "GB"),
    "ch_vat": ("stdnum.ch.vat", "CH"),
    "no_vat": ("stdnum.no.mva", "NO"),
    "au_abn": ("stdnum.au.abn", "AU"),
    "nz_gst": ("stdnum.nz.ird", "NZ"),
    "ca_bn": ("stdnum.ca.bn", "CA"),
    "ca_gst_hst": ("stdnum.ca.bn", "CA"),
    "ca_qst": ("", "CA"),
    "in_gst": ("stdnum.in_.gstin", "IN"),
    "us_ein": ("stdnum.us.ein", "US"),
}
#: Quebec's QST number: ten digits, ``TQ``, four digits (stdnum has no module for it).
_QST = re.compile(r"^\d{10}TQ\d{4}$")
#: VAT id prefixes that are not the ISO country code.
_PREFIX_COUNTRY = {"EL": "GR", "XI": "GB"}
_INSTALL = "tax ids are checked with python-stdnum: pip install 'subkit[tax]'"

#: ``check(type, normalized_value)``: ``True`` valid, ``False`` invalid, ``None`` the service
#: did not answer (the offline result stands). VIES for ``eu_vat`` is the usual one.
OnlineCheck = Callable[[str, str], bool | None]


@dataclass(frozen=True, slots=True)
class TaxIdCheck:
    """The outcome of checking a tax id: valid or not, the compact form, its country, why not.

    Example:
        >>> TaxIdCheck("gb_vat", "GB980780684", True, "GB").country
        'GB'
    """

    type: str
    normalized: str
    valid: bool
    country: str
    reason: str = ""


def stdnum_available() -> bool:
    """Whether python-stdnum (the extra ``tax``) is installed.

    Example:
        >>> isinstance(stdnum_available(), bool)
        True
    """
    try:
        importlib.import_module("stdnum")
    except ImportError:
        return False
    return True


def _module(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError:
        raise OptionalDependencyError(_INSTALL) from None


def check_tax_id(type: str, value: str) -> TaxIdCheck:
    """Check ``value`` as a tax id of ``type`` by format and checksum (no network).

    Raises :class:`~subkit.errors.TaxIdError` for an unknown type and
    :class:`~subkit.errors.OptionalDependencyError` without python-stdnum.

    Example:
        >>> check_tax_id("au_abn", "51 824 753 556").valid, check_tax_id("ca_qst", "1234567890TQ0001").valid
        (True, True)
    """
    spec = TAX_ID_TYPES.get(type)
    if spec is None:
        raise TaxIdError(
            f"unknown tax id type {type!r}; known: {', '.join(sorted(TAX_ID_TYPES))}", field="type"
        )
    module_name, country = spec
    if not module_name:  # ca_qst
        compact = re.sub(r"[\s-]", "", value).upper()
        ok = bool(_QST.match(compact))
        return TaxIdCheck(type, compact, ok, "CA", "" if ok else "a QST number is 10 digits, TQ, 4 digits")
    mod = _module(module_name)
    exceptions = _module("stdnum.exceptions")
    try:
        compact = str(mod.validate(value))
    except exceptions.ValidationError as e:
        return TaxIdCheck(type, str(mod.compact(value)), False, country or _prefix_country(value), str(e))
    if type == "gb_vat" and not compact.startswith("GB"):
        compact = "GB" + compact
    if type == "ca_gst_hst" and compact[9:11] != "RT":
        return TaxIdCheck(type, compact, False, "CA", "a GST/HST number is a business number with program RT")
    return TaxIdCheck(type, compact, True, country or _prefix_country(compact))


def _prefix_country(value: str) -> str:
    prefix = value.strip()[:2].upper()
    return _PREFIX_COUNTRY.get(prefix, prefix)


def validate_tax_id(type: str, value: str) -> str:
    """The compact form of a valid tax id, or :class:`~subkit.errors.TaxIdError` saying what is wrong.

    Example:
        >>> validate_tax_id("gb_vat", "GB 980 7806 84")
        'GB980780684'
        >>> validate_tax_id("gb_vat", "GB980780685")
        Traceback (most recent call last):
        subkit.errors.TaxIdError: [invalid_tax_id] tax_ids: 'GB980780685' is not a valid gb_vat id: The number's checksum or check digit is invalid.
    """  # noqa: E501
    found = check_tax_id(type, value)
    if not found.valid:
        raise TaxIdError(f"{value!r} is not a valid {type} id: {found.reason}", field="tax_ids")
    return found.normalized
