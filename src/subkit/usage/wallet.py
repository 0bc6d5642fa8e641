"""Prepaid credits: a wallet per customer and currency, consumed against invoices before payment.

A wallet holds credit grants (granted, purchased or promotional), each with an amount in
minor units, an optional expiry (valid while ``at < expires_at``) and a priority (lower
first). An invoice consumes the grants in order (priority, then soonest expiry, then oldest)
up to what it owes; the balance never goes negative. Every movement is a
:class:`WalletEntry` (the ledger): a grant, a consumption (with the invoice), an expiry.

Pure: operations take the instant as an argument and return the new wallet and its entries.

Example:
    >>> from datetime import datetime, UTC
    >>> t0 = datetime(2027, 1, 1, tzinfo=UTC)
    >>> w = Wallet.open("cus_1", "USD")
    >>> w, _ = w.grant(CreditGrant(id="g1", kind="purchased", amount_minor=5000, remaining_minor=5000,
    ...                            granted_at=t0), t0)
    >>> w, entries = w.consume(1200, t0, invoice_id="in_1")
    >>> w.available(t0), [(e.grant_id, e.amount_minor) for e in entries]
    (3800, [('g1', -1200)])
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, Field

from subkit.core.model import CurrencyCode, Entity, Model
from subkit.errors import ValidationError

__all__ = ["CreditGrant", "CreditKind", "EntryType", "Wallet", "WalletEntry", "wallet_id"]


class CreditKind(StrEnum):
    """Where a credit grant came from.

    Example:
        >>> CreditKind("promotional").name
        'PROMOTIONAL'
    """

    GRANTED = "granted"
    PURCHASED = "purchased"
    PROMOTIONAL = "promotional"


class EntryType(StrEnum):
    """What a ledger entry records.

    Example:
        >>> EntryType.EXPIRE.value
        'expire'
    """

    GRANT = "grant"
    CONSUME = "consume"
    EXPIRE = "expire"
    RESTORE = "restore"  # an invoice that consumed credits was voided: given back to the same grants


class CreditGrant(Model):
    """One grant of credits: ``remaining_minor`` of ``amount_minor`` left, usable until ``expires_at``.

    Example:
        >>> from datetime import datetime, UTC
        >>> g = CreditGrant(id="g1", kind="promotional", amount_minor=100, remaining_minor=100,
        ...                 granted_at=datetime(2027, 1, 1, tzinfo=UTC),
        ...                 expires_at=datetime(2027, 2, 1, tzinfo=UTC))
        >>> g.usable(datetime(2027, 1, 31, tzinfo=UTC)), g.usable(datetime(2027, 2, 1, tzinfo=UTC))
        (True, False)
    """

    id: str = Field(min_length=1)
    kind: CreditKind
    amount_minor: int = Field(gt=0)
    remaining_minor: int = Field(ge=0)
    priority: int = 0
    granted_at: AwareDatetime
    expires_at: AwareDatetime | None = None

    def usable(self, at: datetime) -> bool:
        """Whether it can be consumed at ``at`` (not expired, something left)."""
        return self.remaining_minor > 0 and (self.expires_at is None or at < self.expires_at)


def wallet_id(customer_id: str, currency: str) -> str:
    """The id of a customer's wallet in ``currency`` (one per customer and currency).

    Example:
        >>> wallet_id("cus_1", "EUR")
        'wal_cus_1_EUR'
    """
    return f"wal_{customer_id}_{currency}"


class WalletEntry(Entity):
    """A ledger line: ``amount_minor`` in (+) or out (-) of a grant, and the wallet's balance after it.

    Example:
        >>> from datetime import datetime, UTC
        >>> WalletEntry(id="we_1", customer_id="cus_1", wallet_id="wal_cus_1_USD", grant_id="g1",
        ...             type="consume",
        ...             amount_minor=-100, balance_minor=400, at=datetime(2027, 1, 1, tzinfo=UTC)).type.value
        'consume'
    """

    kind: ClassVar[str] = "wallet_entry"
    customer_id: str
    wallet_id: str
    grant_id: str
    type: EntryType
    amount_minor: int
    balance_minor: int = Field(ge=0)
    at: AwareDatetime
    invoice_id: str | None = None


class Wallet(Entity):
    """A customer's prepaid credits in one currency (see the module docstring).

    Example:
        >>> Wallet.open("cus_1", "USD").id
        'wal_cus_1_USD'
    """

    kind: ClassVar[str] = "wallet"
    customer_id: str
    currency: CurrencyCode
    grants: tuple[CreditGrant, ...] = ()
    entries: int = 0  # ledger entries written so far (numbers the next ones)

    @classmethod
    def open(cls, customer_id: str, currency: str) -> Wallet:
        """A new, empty wallet."""
        return cls(id=wallet_id(customer_id, currency), customer_id=customer_id, currency=currency)

    def available(self, at: datetime) -> int:
        """The credits usable at ``at``, in minor units."""
        return sum(g.remaining_minor for g in self.grants if g.usable(at))

    def _entry(
        self,
        n: int,
        grant: str,
        type: EntryType,
        amount: int,
        balance: int,
        at: datetime,
        invoice_id: str | None = None,
    ) -> WalletEntry:
        return WalletEntry(
            id=f"we_{self.id}_{self.entries + n:08d}",
            customer_id=self.customer_id,
            wallet_id=self.id,
            grant_id=grant,
            type=type,
            amount_minor=amount,
            balance_minor=balance,
            at=at,
            invoice_id=invoice_id,
        )

    def _changed(self, grants: tuple[CreditGrant, ...], entries: list[WalletEntry]) -> Wallet:
        return self.model_copy(
            update={"grants": grants, "entries": self.entries + len(entries), "version": self.version + 1}
        )

    def _expired(self, at: datetime) -> tuple[tuple[CreditGrant, ...], list[WalletEntry]]:
        """The grants with what expired by ``at`` written off, and the expiry entries (numbered from 0)."""
        expired = sorted(
            (
                g
                for g in self.grants
                if g.remaining_minor > 0 and g.expires_at is not None and g.expires_at <= at
            ),
            key=lambda g: (g.expires_at or at, g.id),
        )
        if not expired:
            return self.grants, []
        gone = {g.id for g in expired}
        grants = tuple(
            g.model_copy(update={"remaining_minor": 0}) if g.id in gone else g for g in self.grants
        )
        entries = []
        for n, g in enumerate(expired):
            when = g.expires_at or at
            # Every operation writes expiries off first, so nothing was consumed since ``when``:
            # the balance right after it is what was still usable then.
            left = sum(
                h.remaining_minor
                for h in self.grants
                if h.remaining_minor > 0 and (h.expires_at is None or h.expires_at > when)
            )
            entries.append(self._entry(n, g.id, EntryType.EXPIRE, -g.remaining_minor, left, when))
        return grants, entries

    def expire(self, at: datetime) -> tuple[Wallet, list[WalletEntry]]:
        """Write off what expired by ``at`` (each entry at its grant's own expiry instant)."""
        grants, entries = self._expired(at)
        return (self._changed(grants, entries), entries) if entries else (self, [])

    def grant(self, grant: CreditGrant, at: datetime) -> tuple[Wallet, list[WalletEntry]]:
        """Add a grant (its id must be new to this wallet)."""
        if any(g.id == grant.id for g in self.grants):
            raise ValidationError(f"wallet {self.id} already has a grant {grant.id!r}", field="id")
        if grant.remaining_minor != grant.amount_minor:
            raise ValidationError(
                "a new grant's remaining_minor must equal its amount_minor", field="remaining_minor"
            )
        grants, entries = self._expired(at)
        grants = (*grants, grant)
        balance = sum(g.remaining_minor for g in grants if g.usable(at))
        entries.append(self._entry(len(entries), grant.id, EntryType.GRANT, grant.amount_minor, balance, at))
        return self._changed(grants, entries), entries

    def consume(
        self, amount_minor: int, at: datetime, *, invoice_id: str | None = None
    ) -> tuple[Wallet, list[WalletEntry]]:
        """Use up to ``amount_minor`` of the credits usable at ``at``; never more than there is.

        The consume entries say how much each grant gave; their sum is what was consumed.
        """
        if amount_minor < 0:
            raise ValidationError("the amount to consume must not be negative", field="amount_minor")
        grants, entries = self._expired(at)
        order = sorted(
            (g for g in grants if g.usable(at)),
            key=lambda g: (g.priority, g.expires_at is None, g.expires_at or at, g.granted_at, g.id),
        )
        need = amount_minor
        taken: dict[str, int] = {}
        for g in order:
            if need <= 0:
                break
            use = min(g.remaining_minor, need)
            taken[g.id] = use
            need -= use
        if not taken and not entries:
            return self, []
        grants = tuple(
            g.model_copy(update={"remaining_minor": g.remaining_minor - taken[g.id]}) if g.id in taken else g
            for g in grants
        )
        running = sum(g.remaining_minor for g in grants if g.usable(at)) + sum(taken.values())
        for gid, use in taken.items():
            running -= use
            entries.append(self._entry(len(entries), gid, EntryType.CONSUME, -use, running, at, invoice_id))
        return self._changed(grants, entries), entries

    def restore(
        self, consumed: list[WalletEntry], at: datetime, *, invoice_id: str
    ) -> tuple[Wallet, list[WalletEntry]]:
        """Give back what ``consumed`` (an invoice's consume entries) took, to the same grants.

        A grant that expired meanwhile gets it back and loses it again at once (an expiry entry).
        """
        back: dict[str, int] = {}
        for e in consumed:
            if e.type == EntryType.CONSUME and e.invoice_id == invoice_id:
                back[e.grant_id] = back.get(e.grant_id, 0) - e.amount_minor
        if not back:
            return self, []
        grants = tuple(
            g.model_copy(update={"remaining_minor": g.remaining_minor + back[g.id]}) if g.id in back else g
            for g in self.grants
        )
        restored = self.model_copy(update={"grants": grants})
        entries: list[WalletEntry] = []
        for gid, amount in back.items():
            balance = sum(g.remaining_minor for g in grants if g.usable(at))
            entries.append(self._entry(len(entries), gid, EntryType.RESTORE, amount, balance, at, invoice_id))
        later, expired = restored.model_copy(update={"entries": self.entries + len(entries)})._expired(at)
        if expired:  # renumber after the restore entries
            expired = [
                e.model_copy(update={"id": self._entry(len(entries) + n, "", EntryType.EXPIRE, 0, 0, at).id})
                for n, e in enumerate(expired)
            ]
        entries += expired
        return self._changed(later, entries), entries
