"""Renamed keywords and fields: the old name keeps working for one release, with a warning.

subkit uses Stripe's vocabulary where Stripe has a name for the idea (``proration_behavior``,
``unit_amount``, ``flat_amount``...). When a name changes, the old one stays a deprecated alias
for one release: passing it works and emits a :class:`DeprecationWarning` naming the new one;
passing both is an error.

Example:
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     renamed_keyword("proration", "none", "proration_behavior", None)
    'none'
    >>> str(caught[0].message)
    'proration= is deprecated, use proration_behavior= (the old name is removed in the next release)'
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, TypeVar

from subkit.errors import ValidationError

__all__ = ["rename_keys", "renamed_keyword", "warn_renamed"]

T = TypeVar("T")


def warn_renamed(old: str, new: str, *, stacklevel: int = 3) -> None:
    """Emit the :class:`DeprecationWarning` for ``old=`` renamed to ``new=``.

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     warn_renamed("price", "amount")
        >>> caught[0].category.__name__
        'DeprecationWarning'
    """
    warnings.warn(
        f"{old}= is deprecated, use {new}= (the old name is removed in the next release)",
        DeprecationWarning,
        stacklevel=stacklevel,
    )


def renamed_keyword(old: str, old_value: T | None, new: str, new_value: T | None) -> T | None:
    """The value of keyword ``new``, or of its deprecated alias ``old`` (which warns).

    Both given is a :class:`~subkit.errors.ValidationError` naming ``old``. The warning points at
    the caller of the function that calls this one.

    Example:
        >>> renamed_keyword("proration", None, "proration_behavior", "none")
        'none'
        >>> renamed_keyword("old", 1, "new", 2)
        Traceback (most recent call last):
        ...
        subkit.errors.ValidationError: [invalid] old: old= is the deprecated name of new=; pass new= only
    """
    if old_value is None:
        return new_value
    if new_value is not None:
        raise ValidationError(f"{old}= is the deprecated name of {new}=; pass {new}= only", field=old)
    warn_renamed(old, new, stacklevel=4)
    return old_value


def rename_keys(data: Mapping[str, Any], renames: Mapping[str, str], *, warn: bool) -> Mapping[str, Any]:
    """``data`` with each old key of ``renames`` (old -> new) under its new name.

    ``warn`` emits the :class:`DeprecationWarning` (Python keywords, pointing at the caller of
    the function that calls this one); stored JSON written
    before the rename loads silently. A key given under both names is a
    :class:`~subkit.errors.ValidationError`. Returns ``data`` itself when no old key is present.

    Example:
        >>> rename_keys({"price": "9"}, {"price": "amount"}, warn=False)
        {'amount': '9'}
    """
    if not any(old in data for old in renames):
        return data
    out = dict(data)
    for old, new in renames.items():
        if old in out:
            if new in out:
                raise ValidationError(f"{old} is the deprecated name of {new}; give {new} only", field=old)
            out[new] = out.pop(old)
            if warn:
                warn_renamed(old, new, stacklevel=4)
    return out
