"""The PCI guard: subkit never sees card data.

A payment method is a gateway **token** plus what is safe to show (brand, last four digits,
expiry, mandate reference). :func:`reject_card_data` refuses anything that looks like a raw
card number (PAN) or a CVV, in every string of payment method input and metadata, and its
error never echoes the number. :class:`GuardedModel` runs it over a model's raw input before
pydantic sees it.

Example:
    >>> luhn_valid("4242424242424242")
    True
    >>> reject_card_data("4242 4242 4242 4242", "metadata.note")
    Traceback (most recent call last):
    ...
    subkit.errors.SensitiveDataError: [sensitive_data] metadata.note: looks like a raw card number \
(************4242); pass the gateway's token instead (subkit never stores card numbers)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import model_validator

from subkit.core.model import Model
from subkit.errors import SensitiveDataError

__all__ = ["GuardedModel", "luhn_valid", "mask_card_numbers", "reject_card_data"]

# A run of digits where single separators (up to two spaces/dashes) may sit between digits.
_DIGIT_RUN = re.compile(r"[0-9](?:[ -]{0,2}[0-9])*")
_CVV_NAMES = ("cvv", "cvc", "cvn", "securitycode", "cardverification")


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits passes the Luhn (mod 10) check used by card numbers.

    Example:
        >>> luhn_valid("4242424242424242"), luhn_valid("4242424242424241")
        (True, False)
    """
    if not digits.isdigit() or not digits.isascii():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def mask_card_numbers(text: str) -> str:
    """``text`` with every run that looks like a card number masked but its last four digits.

    For what subkit writes from elsewhere (a gateway's error message, in a log line).

    Example:
        >>> mask_card_numbers("declined: card 4242-4242-4242-4242 expired; ref 12345")
        'declined: card ************4242 expired; ref 12345'
    """

    def mask(match: re.Match[str]) -> str:
        digits = re.sub(r"[^0-9]", "", match.group())
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            return "*" * (len(digits) - 4) + digits[-4:]
        return match.group()

    return _DIGIT_RUN.sub(mask, text)


def _is_cvv_name(field: str) -> bool:
    last = field.rsplit(".", 1)[-1]
    norm = re.sub(r"[^a-z0-9]", "", last.lower())
    return any(name in norm for name in _CVV_NAMES)


def _check_text(text: str, field: str) -> None:
    for match in _DIGIT_RUN.finditer(text):
        digits = re.sub(r"[^0-9]", "", match.group())
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            masked = "*" * (len(digits) - 4) + digits[-4:]
            raise SensitiveDataError(
                f"looks like a raw card number ({masked}); pass the gateway's token instead "
                "(subkit never stores card numbers)",
                field=field,
            )


def reject_card_data(value: object, field: str) -> None:
    """Raise ``SensitiveDataError`` if ``value`` holds a raw card number, or ``field`` is a CVV.

    A card number is a run of 13 to 19 digits (single spaces or dashes allowed between
    digits) that passes the Luhn check, anywhere in a string (or an int). A field named
    like a card security code (``cvv``, ``cvc``, ``card_cvc``, ``security_code``...) is
    refused whatever its value. Mappings and sequences are checked recursively, keys
    included. The error masks all but the last four digits and never shows a CVV.

    Detection is a safety net, not a data-loss-prevention system: a number glued to other
    digits by a single separator (``"12 4242424242424242"``) forms one longer run and is
    not flagged.

    Example:
        >>> reject_card_data("order 4111-1111-1111-1111", "note")
        Traceback (most recent call last):
        ...
        subkit.errors.SensitiveDataError: [sensitive_data] note: looks like a raw card number \
(************1111); pass the gateway's token instead (subkit never stores card numbers)
        >>> reject_card_data({"cvc": "123"}, "details")
        Traceback (most recent call last):
        ...
        subkit.errors.SensitiveDataError: [sensitive_data] details.cvc: card security codes (CVV/CVC) \
must never be sent to subkit
        >>> reject_card_data("INV-000042 paid 2027-01-31", "reference") is None
        True
    """
    if _is_cvv_name(field):
        raise SensitiveDataError("card security codes (CVV/CVC) must never be sent to subkit", field=field)
    if isinstance(value, str):
        _check_text(value, field)
    elif isinstance(value, int) and not isinstance(value, bool):
        _check_text(str(value), field)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            name = f"{field}.{key}"
            if isinstance(key, str):
                _check_text(key, name)
            reject_card_data(item, name)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            reject_card_data(item, f"{field}.{i}")


class GuardedModel(Model):
    """A model whose raw input is scanned by :func:`reject_card_data` before validation.

    The scan runs before pydantic sees the data, so a refused value never reaches a
    pydantic error (which would carry the input); the validator covers ``model_validate``.
    """

    def __init__(self, **data: Any) -> None:
        for key, item in data.items():
            reject_card_data(item, key)
        super().__init__(**data)

    @model_validator(mode="before")
    @classmethod
    def _no_card_data(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            for key, item in data.items():
                reject_card_data(item, str(key))
        return data
