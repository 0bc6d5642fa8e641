"""Countries and e-mail addresses, checked with what the ecosystem already knows.

* Country codes are ISO 3166-1 alpha-2, taken from the CLDR territory list babel ships
  (two-letter codes only; CLDR's groupings such as ``EU``, ``UN`` or ``QO`` and the
  exceptionally reserved ``AC``, ``CP``, ``DG``, ``EA``, ``IC``, ``TA`` are refused; ``XK``
  (Kosovo), user-assigned but used by the EU and card networks, is accepted). Input is
  case-insensitive and stored upper-case; a country *name* is refused with the code to use.
* E-mail addresses are checked for syntax (no DNS lookup) by ``email-validator``, the
  library behind pydantic's ``EmailStr``, and stored as the library normalizes them.

Example:
    >>> country_code("fr")
    'FR'
    >>> country_code("France")
    Traceback (most recent call last):
    ...
    subkit.errors.ValidationError: [invalid] country: 'France' is not an ISO 3166 country code; use 'FR'
    >>> email_address("Ada@Example.com")
    'Ada@example.com'
"""

from __future__ import annotations

import functools

from subkit.errors import ValidationError

__all__ = ["COUNTRY_CODES", "country_code", "email_address"]

_NOT_COUNTRIES = frozenset(
    {"EU", "EZ", "UN", "QO", "ZZ", "XA", "XB", "AC", "CP", "CQ", "DG", "EA", "IC", "TA"}
)


@functools.cache
def _territories() -> dict[str, str]:
    from babel import Locale

    names = Locale("en").territories
    return {code: str(name) for code, name in names.items() if len(code) == 2 and code.isalpha()}


#: Every accepted country code (ISO 3166-1 alpha-2, from babel's CLDR data).
COUNTRY_CODES: frozenset[str] = frozenset(_territories()) - _NOT_COUNTRIES


def country_code(value: object, field: str = "country") -> str:
    """``value`` as an upper-case ISO 3166-1 alpha-2 code, or a ``ValidationError`` saying which to use.

    Example:
        >>> country_code(" de ")
        'DE'
        >>> country_code("UK")
        Traceback (most recent call last):
        ...
        subkit.errors.ValidationError: [invalid] country: 'UK' is not an ISO 3166 country code; use 'GB'
    """
    if not isinstance(value, str):
        raise ValidationError(f"a country code must be text, not {type(value).__name__}", field=field)
    code = value.strip().upper()
    if code in COUNTRY_CODES:
        return code
    hint = _suggest(value)
    tail = f"; use {hint!r}" if hint else " (two letters, e.g. 'FR', 'US', 'GB')"
    raise ValidationError(f"{value[:40]!r} is not an ISO 3166 country code{tail}", field=field)


def _suggest(value: str) -> str | None:
    wanted = value.strip().casefold()
    if wanted in ("uk", "great britain", "england", "britain"):
        return "GB"
    for code, name in _territories().items():
        if code in COUNTRY_CODES and name.casefold() == wanted:
            return code
    return None


def email_address(value: object, field: str = "email") -> str:
    """A syntactically valid e-mail address, normalized (domain lower-cased); no DNS lookup.

    Example:
        >>> email_address("not an address")
        Traceback (most recent call last):
        ...
        subkit.errors.ValidationError: [invalid] email: 'not an address' is not an e-mail address: ...
    """
    if not isinstance(value, str):
        raise ValidationError(f"an e-mail address must be text, not {type(value).__name__}", field=field)
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValidationError(f"{value[:80]!r} is not an e-mail address: {exc}", field=field) from None
