"""Double-entry journals: the host's chart of accounts, balanced entries, reporting currency.

Every :class:`JournalEntry` balances (debits = credits) in its own currency **and** in the
reporting currency; building one that does not raises :class:`~subkit.errors.UnbalancedEntryError`.
Amounts are integers in minor units. An entry is made from *signed* amounts per account
(debit positive, credit negative); a negative debit is shown as a credit.

Reporting currency: an invoice's documents are converted at the rate locked on the invoice
(``Invoice.fx_rate``), rounded once per account and invoice **cumulatively**
(:class:`Converter`): the reporting amount of an account after a posting is
``round(transaction balance x rate)``, so a fully recognized line or a paid receivable is
exactly zero in both currencies. What rounding leaves unbalanced in an entry is booked to
the FX gain/loss account, as is a payment settled at another rate.

Example:
    >>> e = JournalEntry.of("inv:in_1", date(2027, 1, 1), EntryKind.INVOICE, "in_1", "cus_1", "USD",
    ...                     {Account.RECEIVABLE: 1000, Account.DEFERRED_REVENUE: -1000})
    >>> [(p.account.value, p.debit_minor, p.credit_minor) for p in e.postings]
    [('receivable', 1000, 0), ('deferred_revenue', 0, 1000)]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from subkit.core.money import CONTEXT, exact_to_minor, minor_to_decimal
from subkit.errors import UnbalancedEntryError, ValidationError

__all__ = ["Account", "Chart", "Converter", "EntryKind", "JournalEntry", "Posting"]


class Account(StrEnum):
    """The roles subkit posts to; the host's :class:`Chart` names the real accounts.

    Example:
        >>> Account.DEFERRED_REVENUE.value
        'deferred_revenue'
    """

    CASH = "cash"
    RECEIVABLE = "receivable"
    DEFERRED_REVENUE = "deferred_revenue"
    TAX_PAYABLE = "tax_payable"
    #: Money owed back to customers: credit balances, and refunds due until they are paid.
    CUSTOMER_BALANCE = "customer_balance"
    REVENUE = "revenue"
    #: Contra revenue: revenue already recognized and then credited or refunded.
    REFUNDS = "refunds"
    #: Bad-debt expense for uncollectible invoices.
    WRITE_OFF = "write_off"
    FX_GAIN_LOSS = "fx_gain_loss"


_DEFAULT_CODES: Mapping[Account, tuple[str, str]] = {
    Account.CASH: ("1000", "Cash"),
    Account.RECEIVABLE: ("1100", "Accounts receivable"),
    Account.TAX_PAYABLE: ("2100", "Sales tax payable"),
    Account.CUSTOMER_BALANCE: ("2200", "Customer balances and refunds due"),
    Account.DEFERRED_REVENUE: ("2400", "Deferred revenue"),
    Account.REVENUE: ("4000", "Subscription revenue"),
    Account.REFUNDS: ("4900", "Refunds and credits (contra revenue)"),
    Account.WRITE_OFF: ("6100", "Bad debt expense"),
    Account.FX_GAIN_LOSS: ("7100", "Foreign exchange gain/loss"),
}


@dataclass(frozen=True, slots=True)
class Chart:
    """The host's chart of accounts: a code and a name for each role (defaults for any left out).

    Example:
        >>> chart = Chart({Account.REVENUE: ("400100", "SaaS revenue")})
        >>> chart.code(Account.REVENUE), chart.code(Account.CASH), chart.name(Account.CASH)
        ('400100', '1000', 'Cash')
    """

    accounts: Mapping[Account, tuple[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        codes = [self.code(a) for a in Account]
        if len(set(codes)) != len(codes):
            raise ValidationError("two roles share one account code in the chart", field="accounts")

    def code(self, account: Account) -> str:
        """The account code of ``account``."""
        return self.accounts.get(account, _DEFAULT_CODES[account])[0]

    def name(self, account: Account) -> str:
        """The account name of ``account``."""
        return self.accounts.get(account, _DEFAULT_CODES[account])[1]


class EntryKind(StrEnum):
    """What produced an entry.

    Example:
        >>> EntryKind.RECOGNITION.value
        'recognition'
    """

    INVOICE = "invoice"
    RECOGNITION = "recognition"
    PAYMENT = "payment"
    CREDIT_NOTE = "credit_note"
    VOID = "void"
    REFUND = "refund"
    WRITE_OFF = "write_off"


class Posting(NamedTuple):
    """One line of an entry: an account, debit or credit, in both currencies.

    Example:
        >>> Posting(Account.CASH, 1000, 0, 1100, 0).signed_minor
        1000
    """

    account: Account
    debit_minor: int
    credit_minor: int
    reporting_debit_minor: int
    reporting_credit_minor: int

    @property
    def signed_minor(self) -> int:
        """Debit minus credit."""
        return self.debit_minor - self.credit_minor

    @property
    def reporting_signed_minor(self) -> int:
        """Debit minus credit in the reporting currency."""
        return self.reporting_debit_minor - self.reporting_credit_minor


class JournalEntry(NamedTuple):
    """A balanced entry, dated ``on`` (the books' calendar), from one source document.

    ``moved_from`` is the date it would have had when that date is in a closed period.

    Example:
        >>> e = JournalEntry.of("pay:pa_1", date(2027, 1, 2), EntryKind.PAYMENT, "pa_1", "cus_1", "USD",
        ...                     {Account.CASH: 1000, Account.RECEIVABLE: -1000})
        >>> e.debit_minor, e.credit_minor, e.reporting_currency
        (1000, 1000, 'USD')
    """

    id: str
    on: date
    kind: EntryKind
    source_id: str
    customer_id: str
    currency: str
    reporting_currency: str
    postings: tuple[Posting, ...]
    invoice_id: str | None = None
    moved_from: date | None = None

    @classmethod
    def of(
        cls,
        id: str,
        on: date,
        kind: EntryKind,
        source_id: str,
        customer_id: str,
        currency: str,
        signed: Mapping[Account, int],
        *,
        reporting: Mapping[Account, int] | None = None,
        reporting_currency: str | None = None,
        invoice_id: str | None = None,
        moved_from: date | None = None,
    ) -> JournalEntry:
        """Build from signed amounts per account (zero accounts dropped); refuses an unbalanced one."""
        rep = signed if reporting is None else reporting
        postings = []
        for account in Account:
            a, r = signed.get(account, 0), rep.get(account, 0)
            if a or r:
                postings.append(Posting(account, max(a, 0), max(-a, 0), max(r, 0), max(-r, 0)))
        if sum(signed.values()) or sum(rep.values()):
            raise UnbalancedEntryError(
                f"entry {id}: debits - credits = {sum(signed.values())} {currency}, "
                f"{sum(rep.values())} in the reporting currency"
            )
        return cls(
            id,
            on,
            kind,
            source_id,
            customer_id,
            currency,
            reporting_currency or currency,
            tuple(postings),
            invoice_id,
            moved_from,
        )

    @property
    def debit_minor(self) -> int:
        """Sum of the debits."""
        return sum(p.debit_minor for p in self.postings)

    @property
    def credit_minor(self) -> int:
        """Sum of the credits."""
        return sum(p.credit_minor for p in self.postings)

    def amount(self, account: Account, *, reporting: bool = False) -> int:
        """The signed amount this entry posts to ``account``."""
        if reporting:
            return sum(p.reporting_signed_minor for p in self.postings if p.account is account)
        return sum(p.signed_minor for p in self.postings if p.account is account)


class Converter:
    """Converts one invoice's postings at its locked rate, rounded once per account cumulatively.

    Three recognitions of 1/3 each of 1.00 EUR at 1.10 USD/EUR give 0.37 + 0.36 + 0.37.

    Example:
        >>> c = Converter("EUR", "USD", Decimal("1.1"))
        >>> [c.convert(Account.REVENUE, -a) for a in (33, 34, 33)]
        [-36, -38, -36]
    """

    __slots__ = ("_balances", "currency", "rate", "reporting_currency")

    def __init__(self, currency: str, reporting_currency: str, rate: Decimal | None) -> None:
        self.currency = currency
        self.reporting_currency = reporting_currency
        self.rate = rate
        self._balances: dict[Account, int] = {}

    def reporting(self, minor: int, rate: Decimal | None = None) -> int:
        """``minor`` in the reporting currency, rounded once (at ``rate``, else the locked rate)."""
        r = rate if rate is not None else self.rate
        if r is None:
            return minor
        exact = CONTEXT.multiply(minor_to_decimal(minor, self.currency), r)
        return exact_to_minor(exact, self.reporting_currency)

    def convert(self, account: Account, minor: int) -> int:
        """The reporting amount of posting ``minor`` to ``account`` (cumulative rounding)."""
        if self.rate is None:
            return minor
        before = self._balances.get(account, 0)
        after = before + minor
        self._balances[account] = after
        return self.reporting(after) - self.reporting(before)

    def entry_amounts(
        self,
        signed: Mapping[Account, int],
        *,
        fixed: Mapping[Account, int] | None = None,
        cash_rate: Decimal | None = None,
    ) -> dict[Account, int]:
        """Reporting amounts for a whole entry; the rounding left over goes to FX gain/loss.

        ``fixed`` gives accounts whose reporting amounts are already known (deferred revenue is
        converted per obligation). With ``cash_rate`` (a payment settled at its own rate), cash
        is converted at it, and the difference with the receivable at the locked rate is a
        realized FX gain or loss.

        Example:
            >>> c = Converter("EUR", "USD", Decimal("1.1"))
            >>> signed = {Account.CASH: 1000, Account.RECEIVABLE: -1000}
            >>> out = c.entry_amounts(signed, cash_rate=Decimal("1.2"))
            >>> {a.value: v for a, v in out.items()}
            {'cash': 1200, 'receivable': -1100, 'fx_gain_loss': -100}
        """
        out: dict[Account, int] = dict(fixed or {})
        for account, minor in signed.items():
            if account in out:
                continue
            if account is Account.CASH and cash_rate is not None:
                out[account] = self.reporting(minor, cash_rate)
            else:
                out[account] = self.convert(account, minor)
        left = sum(out.values())
        if left:
            out[Account.FX_GAIN_LOSS] = out.get(Account.FX_GAIN_LOSS, 0) - left
        return out
