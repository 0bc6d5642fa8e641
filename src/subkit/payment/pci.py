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

from collections.abc import Mapping
from typing import Any

from pydantic import model_validator

from subkit.core.inputs import is_cvv_name, luhn_valid, mask_card_numbers, reject_card_number
from subkit.core.model import Model
from subkit.errors import SensitiveDataError

__all__ = ["GuardedModel", "luhn_valid", "mask_card_numbers", "reject_card_data"]


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
    field = mask_card_numbers(field)  # a key holding a card number never shows in an error
    if is_cvv_name(field):
        raise SensitiveDataError("card security codes (CVV/CVC) must never be sent to subkit", field=field)
    if isinstance(value, str):
        reject_card_number(value, field)
    elif isinstance(value, int) and not isinstance(value, bool):
        reject_card_number(str(value), field)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            name = mask_card_numbers(f"{field}.{key}")
            if isinstance(key, str):
                reject_card_number(key, name)
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
