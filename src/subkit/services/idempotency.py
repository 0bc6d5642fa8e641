"""Idempotency keys for the operations a host may retry: the same key replays, other parameters fail.

The rule (Stripe's): an operation given an idempotency key records the key with a fingerprint of
its parameters and the ids of what it created, in the same unit of work. A retry with the same key
and the same parameters returns what the first call created, without doing anything again; the
same key with other parameters is an :class:`~subkit.errors.IdempotencyError`. Keys never expire.

Example:
    >>> from subkit.testing import InMemoryStore
    >>> store = InMemoryStore()
    >>> with store.begin() as uow:
    ...     remember(uow, "item", "k1", ("cus_1", "Setup", "25"), ["ii_1"])
    >>> with store.begin() as uow:
    ...     recalled(uow, "item", "k1", ("cus_1", "Setup", "25"))
    ('ii_1',)
    >>> with store.begin() as uow:
    ...     recalled(uow, "item", "k1", ("cus_1", "Setup", "30"))
    Traceback (most recent call last):
    ...
    subkit.errors.IdempotencyError: [idempotency_key_reused] idempotency_key: key 'k1' was used with \
other parameters; a retry must send the same ones, a new operation a new key
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import ClassVar

from subkit.core.inputs import check_id
from subkit.core.model import Entity
from subkit.errors import IdempotencyError, NotFoundError
from subkit.ports import UnitOfWork

__all__ = ["IdempotencyRecord", "fingerprint", "recalled", "remember"]


class IdempotencyRecord(Entity):
    """One idempotency key of one kind of operation: its parameters' fingerprint and what it made.

    Example:
        >>> IdempotencyRecord(id="item:k1", fingerprint="ab", result_ids=("ii_1",)).kind
        'idempotency_key'
    """

    kind: ClassVar[str] = "idempotency_key"
    fingerprint: str
    result_ids: tuple[str, ...] = ()


def fingerprint(params: Sequence[object]) -> str:
    """A stable digest of an operation's parameters (their ``repr``, in order).

    Example:
        >>> fingerprint(("a", 1)) == fingerprint(("a", 1)) != fingerprint(("a", 2))
        True
    """
    return hashlib.sha256(repr(tuple(params)).encode("utf-8", "backslashreplace")).hexdigest()


def recalled(uow: UnitOfWork, scope: str, key: str, params: Sequence[object]) -> tuple[str, ...] | None:
    """The ids an earlier call with ``key`` created (``None``: a new key); other parameters raise."""
    check_id(key, "idempotency_key")
    try:
        rec = uow.get(IdempotencyRecord, f"{scope}:{key}")
    except NotFoundError:
        return None
    if rec.fingerprint != fingerprint(params):
        raise IdempotencyError(
            f"key {key!r} was used with other parameters; a retry must send the same ones, "
            "a new operation a new key",
            field="idempotency_key",
        )
    return rec.result_ids


def remember(
    uow: UnitOfWork, scope: str, key: str, params: Sequence[object], result_ids: Sequence[str]
) -> None:
    """Record ``key`` with its parameters and what the call created (in the call's unit of work)."""
    uow.add(
        IdempotencyRecord(id=f"{scope}:{key}", fingerprint=fingerprint(params), result_ids=tuple(result_ids))
    )
