"""Personal data, pure: what erasing a customer changes, and how long invoices keep their identity.

A customer's personal data is its ``name``, ``email``, ``address``, ``tax_ids`` and the
``metadata`` keys the host marks personal. :func:`pseudonymized` replaces them (the id, the
currency, the country and the time zone stay: billing arithmetic and tax need them).
Finalized invoices must keep who they were issued to for a legal retention period (10 years
in France and Germany, for example), so erasure keeps that identity in an :class:`Erasure`
record until :func:`retention_end`, when it may be purged.

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.customer.customer import Address, Customer
    >>> ada = Customer(id="cus_1", name="Ada Lovelace", email="ada@example.com", currency="GBP",
    ...                address=Address(line1="12 St James's Sq", city="London", country="GB"),
    ...                metadata={"phone": "+44 20 7946 0000", "plan_source": "ads"})
    >>> erased = pseudonymized(ada, personal_metadata={"phone"})
    >>> erased.name, erased.email, erased.address, erased.metadata
    ('erased-5681472b', '', None, {'plan_source': 'ads'})
    >>> retention_end([datetime(2027, 3, 31, tzinfo=UTC)], years=10)
    datetime.datetime(2037, 3, 31, 0, 0, tzinfo=datetime.timezone.utc)
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from hashlib import blake2b
from typing import Any, ClassVar

from dateutil.relativedelta import relativedelta
from pydantic import AwareDatetime, Field

from subkit.core.model import Entity
from subkit.customer.customer import Customer

__all__ = ["Erasure", "identity_of", "pseudonym", "pseudonymized", "retention_end"]


def pseudonym(customer_id: str) -> str:
    """The name an erased customer goes by: stable, and saying nothing about the person.

    Example:
        >>> pseudonym("cus_1") == pseudonym("cus_1") != pseudonym("cus_2")
        True
    """
    return "erased-" + blake2b(customer_id.encode(), digest_size=4).hexdigest()


def pseudonymized(customer: Customer, *, personal_metadata: Collection[str] = ()) -> Customer:
    """``customer`` with its personal data replaced (a new version of it).

    Example:
        >>> Customer(id="cus_9", name="Bo", currency="USD").version
        1
        >>> pseudonymized(Customer(id="cus_9", name="Bo", currency="USD")).version
        2
    """
    return customer.bumped(
        name=pseudonym(customer.id),
        email="",
        address=None,
        tax_ids=(),
        metadata={k: v for k, v in customer.metadata.items() if k not in personal_metadata},
    )


def identity_of(customer: Customer) -> dict[str, Any]:
    """What an invoice legally shows of its customer (kept for the retention period).

    Example:
        >>> identity_of(Customer(id="cus_9", name="Bo", currency="USD"))["name"]
        'Bo'
    """
    return customer.model_dump(mode="json", include={"name", "email", "address", "country", "tax_ids"})


def retention_end(issued: Iterable[datetime], *, years: int) -> datetime | None:
    """When the last of the documents ``issued`` at these instants may be purged (``None``: none).

    Example:
        >>> from datetime import datetime, UTC
        >>> retention_end([datetime(2028, 2, 29, tzinfo=UTC)], years=1)  # a leap day: Feb 28
        datetime.datetime(2029, 2, 28, 0, 0, tzinfo=datetime.timezone.utc)
    """
    last = max(issued, default=None)
    return None if last is None else last + relativedelta(years=years)


class Erasure(Entity):
    """The record of a GDPR erasure, holding the customer's legal identity until ``retain_until``.

    ``due_at`` is ``retain_until`` while the identity is held, so a purge finds what is due
    (``None`` once purged, or when there was nothing to keep).

    Example:
        >>> from datetime import datetime, UTC
        >>> Erasure(id="erasure_cus_1", customer_id="cus_1", erased_at=datetime(2027, 1, 1, tzinfo=UTC)).kind
        'erasure'
    """

    kind: ClassVar[str] = "erasure"
    customer_id: str
    erased_at: AwareDatetime
    retain_until: AwareDatetime | None = None
    due_at: AwareDatetime | None = None
    identity: dict[str, Any] | None = None
    purged_at: AwareDatetime | None = None
    documents: tuple[str, ...] = Field(default_factory=tuple)
