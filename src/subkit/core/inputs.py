"""Checks for what a caller hands subkit: ids, free text, metadata, choices, flags and counts.

Every public entry point (the services' methods, ``Catalog.from_json``) runs its arguments
through these before it reads or writes anything, so a wrong type, a lone surrogate, a raw
card number, a huge count or a deeply nested structure is a
:class:`~subkit.errors.ValidationError` (or :class:`~subkit.errors.SensitiveDataError`) that
names the field, never a ``TypeError`` from deep inside nor a failure at commit.

The limits (see docs/limits.md):

- an id is a non-empty ``str`` of at most :data:`MAX_ID_LENGTH` characters, no control characters,
  not a card number (an id made only of digits is checked; digits inside an id such as
  ``sub_8f3...`` are not card data);
- free text is a ``str`` of at most :data:`MAX_TEXT_LENGTH` characters;
- metadata has at most :data:`MAX_METADATA_KEYS` keys of at most :data:`MAX_METADATA_KEY_LENGTH`
  characters, each value a ``str`` of at most :data:`MAX_METADATA_VALUE_LENGTH` (Stripe's limits);
- a quantity is from 0 to :data:`MAX_QUANTITY`; a trial lasts at most :data:`MAX_TRIAL_DAYS` days
  (amounts: :data:`subkit.core.money.MAX_AMOUNT`);
- nested input (JSON, addresses) is at most :data:`MAX_DEPTH` levels deep;
- no text anywhere holds a lone surrogate (it cannot be stored as UTF-8) or a card number
  (a Luhn-valid run of 13 to 19 digits; the error shows only the last four), and no key is
  named like a card security code (``cvv``, ``cvc``...).

Example:
    >>> check_id("cus_1", "customer_id")
    'cus_1'
    >>> check_id(["cus_1"], "customer_id")
    Traceback (most recent call last):
    ...
    subkit.errors.ValidationError: [invalid] customer_id: got list; pass the id as a str
    >>> check_metadata({"crm": "A-17"}, "metadata")
    {'crm': 'A-17'}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from enum import Enum
from typing import TypeVar

from subkit.core.money import decimal_of
from subkit.errors import SensitiveDataError, ValidationError

__all__ = [
    "MAX_DEPTH",
    "MAX_ID_LENGTH",
    "MAX_METADATA_KEYS",
    "MAX_METADATA_KEY_LENGTH",
    "MAX_METADATA_VALUE_LENGTH",
    "MAX_QUANTITY",
    "MAX_TEXT_LENGTH",
    "MAX_TRIAL_DAYS",
    "check_bool",
    "check_choice",
    "check_id",
    "check_int",
    "check_metadata",
    "check_optional_id",
    "check_plain",
    "check_quantity",
    "check_text",
    "is_cvv_name",
    "luhn_valid",
    "mask_card_numbers",
    "reject_card_number",
]

MAX_ID_LENGTH = 255
MAX_TEXT_LENGTH = 5000
MAX_METADATA_KEYS = 50
MAX_METADATA_KEY_LENGTH = 40
MAX_METADATA_VALUE_LENGTH = 500
MAX_DEPTH = 20
#: The largest quantity (seats, units of an item, usage in one event): one trillion.
MAX_QUANTITY = Decimal(10) ** 12
#: The longest trial, in days: two years (Stripe's limit for a trial end).
MAX_TRIAL_DAYS = 730

E = TypeVar("E", bound=Enum)

# A run of digits where single separators (up to two spaces/dashes) may sit between digits.
_DIGIT_RUN = re.compile(r"[0-9](?:[ -]{0,2}[0-9])*")
_CVV_NAMES = ("cvv", "cvc", "cvn", "securitycode", "cardverification")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ALL_DIGITS = re.compile(r"[0-9 -]+")
_CVV_MESSAGE = "card security codes (CVV/CVC) must never be sent to subkit"


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


def _card_numbers(text: str) -> list[tuple[str, str]]:
    """``(as written, digits)`` of each card number in ``text``."""
    if len(text) < 13:
        return []
    found = []
    for match in _DIGIT_RUN.finditer(text):
        digits = re.sub(r"[^0-9]", "", match.group())
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            found.append((match.group(), digits))
    return found


def _masked(digits: str) -> str:
    return "*" * (len(digits) - 4) + digits[-4:]


def mask_card_numbers(text: str) -> str:
    """``text`` with every card number masked but its last four digits (for field names, logs).

    Example:
        >>> mask_card_numbers("metadata.4242424242424242")
        'metadata.************4242'
    """
    for written, digits in _card_numbers(text):
        text = text.replace(written, _masked(digits))
    return text


def reject_card_number(text: str, field: str) -> None:
    """Raise ``SensitiveDataError`` if ``text`` holds a card number; the error masks it.

    Example:
        >>> reject_card_number("paid with 4000 0566 5566 5556", "note")
        Traceback (most recent call last):
        ...
        subkit.errors.SensitiveDataError: [sensitive_data] note: looks like a raw card number \
(************5556); pass the gateway's token instead (subkit never stores card numbers)
    """
    found = _card_numbers(text)
    if found:
        raise SensitiveDataError(
            f"looks like a raw card number ({_masked(found[0][1])}); pass the gateway's token "
            "instead (subkit never stores card numbers)",
            field=mask_card_numbers(field),
        )


def is_cvv_name(field: str) -> bool:
    """Whether the last part of a dotted field name names a card security code.

    Example:
        >>> is_cvv_name("metadata.card_CVC"), is_cvv_name("metadata.plan")
        (True, False)
    """
    last = field.rsplit(".", 1)[-1]
    norm = re.sub(r"[^a-z0-9]", "", last.lower())
    return any(name in norm for name in _CVV_NAMES)


def _no_surrogates(text: str, field: str) -> None:
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError(
                "text holds a lone surrogate (not valid Unicode); pass well-formed text", field=field
            ) from None


def check_text(value: object, field: str, *, max_length: int = MAX_TEXT_LENGTH) -> str:
    """``value`` if it is a ``str`` of at most ``max_length`` well-formed characters holding no card number.

    Example:
        >>> check_text("Setup fee", "description")
        'Setup fee'
        >>> check_text(None, "description")
        Traceback (most recent call last):
        ...
        subkit.errors.ValidationError: [invalid] description: got NoneType; pass a str
    """
    if not isinstance(value, str):
        raise ValidationError(f"got {type(value).__name__}; pass a str", field=field)
    if len(value) > max_length:
        raise ValidationError(f"text is longer than {max_length} characters", field=field)
    _no_surrogates(value, field)
    reject_card_number(value, field)
    return value


def check_id(value: object, field: str) -> str:
    """``value`` if it is a usable id: a non-empty ``str`` of printable, well-formed characters.

    Example:
        >>> check_id("", "id")
        Traceback (most recent call last):
        ...
        subkit.errors.ValidationError: [invalid] id: an id cannot be empty
    """
    if not isinstance(value, str):
        raise ValidationError(f"got {type(value).__name__}; pass the id as a str", field=field)
    if not value:
        raise ValidationError("an id cannot be empty", field=field)
    if len(value) > MAX_ID_LENGTH:
        raise ValidationError(f"an id is at most {MAX_ID_LENGTH} characters", field=field)
    if _CONTROL.search(value):
        raise ValidationError("an id cannot hold control characters", field=field)
    _no_surrogates(value, field)
    if _ALL_DIGITS.fullmatch(value):  # a card number given as an id (generated ids have a prefix:
        reject_card_number(value, field)  # a digit run inside one is not card data, and is common)
    return value


def check_optional_id(value: object, field: str) -> str | None:
    """``None``, or :func:`check_id`.

    Example:
        >>> check_optional_id(None, "coupon") is None
        True
    """
    return None if value is None else check_id(value, field)


def check_plain(value: object, field: str, *, depth: int = 0) -> object:
    """``value`` if it is plain data (str keys; str, int, bool, None, Decimal, lists, dicts) that
    is at most :data:`MAX_DEPTH` deep, with well-formed text, no card number and no CVV key.

    Example:
        >>> check_plain({"line1": "1 Main St", "tags": ["a", 1]}, "address")
        {'line1': '1 Main St', 'tags': ['a', 1]}
        >>> check_plain({1: 2}, "address")
        Traceback (most recent call last):
        ...
        subkit.errors.ValidationError: [invalid] address: keys must be str, got int
    """
    if depth > MAX_DEPTH:
        raise ValidationError(f"nested more than {MAX_DEPTH} levels deep", field=field)
    if isinstance(value, str):
        check_text(value, field)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValidationError(f"keys must be str, got {type(key).__name__}", field=field)
            _no_surrogates(key, field)
            name = mask_card_numbers(f"{field}.{key}")
            reject_card_number(key, name)
            if is_cvv_name(key):
                raise SensitiveDataError(
                    "card security codes (CVV/CVC) must never be sent to subkit", field=name
                )
            check_plain(item, name, depth=depth + 1)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            check_plain(item, f"{field}.{i}", depth=depth + 1)
    elif isinstance(value, int) and not isinstance(value, bool):
        reject_card_number(str(value), field)
    return value


def check_metadata(value: object, field: str = "metadata") -> dict[str, str]:
    """``value`` as a ``dict[str, str]`` within the metadata limits, no card data in keys or values.

    Example:
        >>> check_metadata({"cvv": "123"})
        Traceback (most recent call last):
        ...
        subkit.errors.SensitiveDataError: [sensitive_data] metadata.cvv: card security codes (CVV/CVC) \
must never be sent to subkit
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError(f"got {type(value).__name__}; pass a dict of str to str", field=field)
    if len(value) > MAX_METADATA_KEYS:
        raise ValidationError(f"at most {MAX_METADATA_KEYS} keys", field=field)
    out: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key:
            raise ValidationError("keys must be non-empty str", field=field)
        if len(key) > MAX_METADATA_KEY_LENGTH:
            raise ValidationError(f"keys are at most {MAX_METADATA_KEY_LENGTH} characters", field=field)
        _no_surrogates(key, field)
        name = mask_card_numbers(f"{field}.{key}")
        reject_card_number(key, name)
        if is_cvv_name(key):
            raise SensitiveDataError(_CVV_MESSAGE, field=name)
        out[key] = check_text(item, name, max_length=MAX_METADATA_VALUE_LENGTH)
    return out


def check_choice(kind: type[E], value: object, field: str) -> E:
    """``value`` as a member of the enum ``kind`` (a member or its value); ``ValidationError`` else.

    Example:
        >>> from subkit.core.money import Rounding
        >>> check_choice(Rounding, "bogus", "rounding")
        Traceback (most recent call last):
        ...
        subkit.errors.ValidationError: [invalid] rounding: 'bogus' is not one of ROUND_HALF_UP, \
ROUND_HALF_EVEN, ROUND_DOWN, ROUND_UP
    """
    if isinstance(value, kind):
        return value
    try:
        return kind(value)
    except (ValueError, TypeError):
        shown = repr(value) if isinstance(value, (str, int)) else type(value).__name__
        choices = ", ".join(str(m.value) for m in kind)
        raise ValidationError(f"{shown} is not one of {choices}", field=field) from None


def check_bool(value: object, field: str) -> bool:
    """``value`` if it is a ``bool`` (``"no"`` or ``0`` are refused, not read as truthy).

    Example:
        >>> check_bool("no", "at_period_end")
        Traceback (most recent call last):
        ...
        subkit.errors.ValidationError: [invalid] at_period_end: got str; pass True or False
    """
    if not isinstance(value, bool):
        raise ValidationError(f"got {type(value).__name__}; pass True or False", field=field)
    return value


def check_int(value: object, field: str, *, low: int, high: int) -> int:
    """``value`` if it is an ``int`` (not a bool, not a float) with ``low <= value <= high``.

    Example:
        >>> check_int(1.5, "trial_days", low=0, high=730)
        Traceback (most recent call last):
        ...
        subkit.errors.ValidationError: [invalid] trial_days: got float; pass a whole number from 0 to 730
    """
    if type(value) is not int or not low <= value <= high:
        got = f"got {type(value).__name__}" if type(value) is not int else f"{value} is out of range"
        raise ValidationError(f"{got}; pass a whole number from {low} to {high}", field=field)
    return value


def check_quantity(value: object, field: str = "quantity") -> Decimal:
    """``value`` as a ``Decimal`` from 0 to :data:`MAX_QUANTITY` (a float is ``FloatNotAllowedError``).

    Example:
        >>> check_quantity("3")
        Decimal('3')
        >>> check_quantity("1e13")
        Traceback (most recent call last):
        ...
        subkit.errors.ValidationError: [invalid] quantity: 1E+13 is out of range: from 0 to 10**12
    """
    q = decimal_of(value, field)
    if q < 0:
        raise ValidationError("quantity must not be negative", field=field)
    if q > MAX_QUANTITY:
        raise ValidationError(f"{q} is out of range: from 0 to 10**12", field=field)
    return q
