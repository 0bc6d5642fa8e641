"""The books: every invoice line deferred and recognized, every document journaled, balanced.

:func:`build_books` reads finalized invoices, credit notes, payments and refunds (plain
values; :mod:`subkit.services.revenue` loads them from the store) and returns
:class:`Books`: the performance obligations, the revenue rows (what is recognized when),
and the journal entries. Everything is derived, so the same documents always give the
same books; a period close (:class:`Lock`) pins what a closed month holds.

Policy, and where it comes from:

- Each invoice line is a performance obligation priced at its net amount (``amount_minor -
  discount_minor``): a discount reduces the transaction price (ASC 606-10-32-2 / IFRS 15.47).
  A line whose plan or item is a bundle is split over the bundle's components by relative
  standalone selling price (ASC 606-10-32-31 / IFRS 15.76), largest remainder.
- Finalizing an invoice books Dr receivable (the amount due), Dr customer balance (credit
  applied), Cr deferred revenue (net), Cr tax payable. Everything passes through deferred
  revenue, even point-in-time revenue, so the roll-forward explains every amount.
- Revenue is never recognized before the invoice is final: schedule months before the
  booking month are caught up in the booking month (no contract asset is kept).
- Ratable rows are posted on the last day of their month; point-in-time rows on the
  booking date.
- A credit note's tax is its own ``tax_minor`` (what :mod:`subkit.tax.credit` reversed; a
  void reverses all the tax left). Its net goes over the invoice's obligations by their
  prices: a change in the transaction price is allocated on the same basis as at inception
  (ASC 606-10-32-43). Each part first reduces that obligation's remaining deferred revenue
  (the rows not yet posted are re-spread over the same months: prospective, IFRS
  15.21(a)); what exceeds it reverses revenue already recognized, in the note's own period
  (Dr refunds, a contra-revenue account; ASC 606-10-32-44). A proration credit line on an
  upgrade invoice is an obligation with a negative price over the rest of the old period:
  it winds down the old line's remaining schedule while the new line starts its own.
- A void is a credit note for everything left; a write-off (uncollectible invoice) is bad
  debt (Dr write-off, Cr receivable) and does not reverse revenue (a credit loss, not a price
  change). The store keeps no date for a write-off: the host passes ``write_offs`` dates,
  else the invoice's payment due date (else its finalization) is used.
- A refund (money out) is Dr customer balance, Cr cash: its credit note already moved the
  amount from revenue or deferred revenue to the customer balance.
- Period close: a document dated in a closed month that was not part of that close is moved
  to the first open day (``moved_from`` keeps its own date), with all its effects.

The issue's reference case, a one-time $10 fee paid at once.

Example:
    >>> from datetime import UTC, datetime
    >>> from subkit.invoice.invoice import Invoice, InvoiceLine, LineKind
    >>> at = datetime(2027, 1, 10, tzinfo=UTC)
    >>> fee = InvoiceLine.build("Fee", LineKind.ONE_OFF, unit_amount="10", currency="USD")
    >>> inv = Invoice.draft("in_1", "cus_1", "USD", [fee], at=at).issue("INV-1", at)
    >>> books = build_books([inv])
    >>> for e in books.entries:
    ...     print(e.kind.value, [(p.account.value, p.debit_minor, p.credit_minor) for p in e.postings])
    invoice [('receivable', 1000, 0), ('deferred_revenue', 0, 1000)]
    recognition [('deferred_revenue', 1000, 0), ('revenue', 0, 1000)]
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import NamedTuple

from subkit.core.money import allocate_minor
from subkit.invoice.invoice import CreditNote, Invoice, InvoiceLine, InvoiceStatus
from subkit.payment.attempts import AttemptStatus, PaymentAttempt, Refund, RefundStatus
from subkit.revenue.journal import Account, Converter, EntryKind, JournalEntry
from subkit.revenue.obligations import Obligation, default_product, obligations_of, schedule_rows
from subkit.revenue.schedule import (
    RecognitionPolicy,
    local_date,
    month_index,
    month_of,
)

__all__ = ["Books", "Lock", "RevenueRow", "build_books"]


class RevenueRow(NamedTuple):
    """Revenue recognized (or, with ``reversal``, taken back) in a month, for one obligation.

    Example:
        >>> r = RevenueRow(24324, date(2027, 1, 31), "in_1:0", "in_1", "cus_1", "pro", "USD", 3100,
        ...                "USD", 3100, 24324, False)
        >>> month_of(r.month)
        datetime.date(2027, 1, 1)
    """

    month: int
    on: date
    obligation: str
    invoice_id: str
    customer_id: str
    product: str
    currency: str
    amount_minor: int
    reporting_currency: str
    reporting_minor: int
    booked_month: int
    reversal: bool


@dataclass(frozen=True, slots=True)
class Lock:
    """What the closes so far pin: months up to ``closed_through`` (a month index) are closed,
    and ``sources`` are the documents they hold.

    Example:
        >>> lock = Lock(month_index(date(2027, 1, 1)), frozenset({"in_1"}))
        >>> lock.place("in_1", date(2027, 1, 5)), lock.place("cn_9", date(2027, 1, 5))
        ((datetime.date(2027, 1, 5), None), (datetime.date(2027, 2, 1), datetime.date(2027, 1, 5)))
    """

    closed_through: int | None = None
    sources: frozenset[str] = field(default_factory=frozenset)

    def place(self, source_id: str, on: date) -> tuple[date, date | None]:
        """The date a document's entries carry, and the date it was moved from (or ``None``)."""
        if self.closed_through is None or month_index(on) > self.closed_through or source_id in self.sources:
            return on, None
        return month_of(self.closed_through + 1), on


@dataclass(slots=True)
class Books:
    """Obligations, revenue rows and balanced journal entries (sorted by date).

    Example:
        >>> Books().entries
        []
    """

    obligations: list[Obligation] = field(default_factory=list)
    revenue: list[RevenueRow] = field(default_factory=list)
    entries: list[JournalEntry] = field(default_factory=list)


class _Row:
    """A schedule row not yet posted (a credit note may still re-spread its amount)."""

    __slots__ = ("amount", "month", "on")

    def __init__(self, month: int, amount: int, on: date) -> None:
        self.month, self.amount, self.on = month, amount, on


class _Event(NamedTuple):
    on: date
    order: int
    source: str
    moved_from: date | None
    kind: EntryKind
    doc: CreditNote | PaymentAttempt | Refund | None


def _split(amount: int, weights: Sequence[int]) -> list[int]:
    if not weights:
        return []
    ws = [max(w, 0) for w in weights]
    return allocate_minor(amount, ws if any(ws) else [1] * len(ws))


class _InvoiceBooks:
    """Builds one invoice's entries and rows, in date order."""

    def __init__(
        self, inv: Invoice, books: Books, policy: RecognitionPolicy, product_of: Callable[[InvoiceLine], str]
    ) -> None:
        self.inv = inv
        self.books = books
        self.policy = policy
        locked = inv.fx_rate is not None and inv.reporting_currency is not None
        self.rep_currency = inv.reporting_currency if locked and inv.reporting_currency else inv.currency
        self.conv = Converter(inv.currency, self.rep_currency, inv.fx_rate if locked else None)
        self.obs = obligations_of(inv, policy, product_of)
        self.ob_conv = [Converter(inv.currency, self.rep_currency, self.conv.rate) for _ in self.obs]
        self.ar_left = 0
        self.net = sum(ob.price_minor for ob in self.obs)
        self.rows: list[list[_Row]] = []
        self.next_row = [0] * len(self.obs)
        self.recognized: dict[date, list[int]] = {}
        self.booked_month = 0

    def entry(
        self,
        id: str,
        on: date,
        kind: EntryKind,
        source: str,
        signed: dict[Account, int],
        fixed: Mapping[Account, int] | None = None,
        *,
        moved_from: date | None = None,
        cash_rate: Decimal | None = None,
    ) -> None:
        rep = self.conv.entry_amounts(signed, fixed=fixed, cash_rate=cash_rate)
        self.books.entries.append(
            JournalEntry.of(
                id,
                on,
                kind,
                source,
                self.inv.customer_id,
                self.inv.currency,
                signed,
                reporting=rep,
                reporting_currency=self.rep_currency,
                invoice_id=self.inv.id,
                moved_from=moved_from,
            )
        )

    def finalize(self, on: date, moved_from: date | None) -> None:
        inv = self.inv
        self.booked_month = month_index(on)
        self.rows = [[_Row(*r) for r in schedule_rows(ob, on, self.policy)] for ob in self.obs]
        deferred_rep = sum(
            c.convert(Account.DEFERRED_REVENUE, -ob.price_minor)
            for c, ob in zip(self.ob_conv, self.obs, strict=True)
        )
        signed = {Account.DEFERRED_REVENUE: -self.net, Account.TAX_PAYABLE: -inv.tax_minor}
        total = self.net + inv.tax_minor
        if total >= 0:
            self.ar_left = total - inv.credit_applied_minor
            signed[Account.RECEIVABLE] = self.ar_left
            signed[Account.CUSTOMER_BALANCE] = inv.credit_applied_minor
        else:
            signed[Account.CUSTOMER_BALANCE] = total
        fixed = {Account.DEFERRED_REVENUE: deferred_rep}
        self.entry(f"inv:{inv.id}", on, EntryKind.INVOICE, inv.id, signed, fixed, moved_from=moved_from)

    def flush(self, before: date | None) -> None:
        """Post every schedule row dated before ``before`` (all of them with ``None``)."""
        for i, rows in enumerate(self.rows):
            j = self.next_row[i]
            while j < len(rows) and (before is None or rows[j].on < before):
                row = rows[j]
                j += 1
                amount, on = row.amount, row.on
                if not amount:
                    continue
                rep = self.ob_conv[i].convert(Account.DEFERRED_REVENUE, amount)
                self._row(i, row.month, on, amount, rep, reversal=False)
                acc = self.recognized.setdefault(on, [0, 0])
                acc[0] += amount
                acc[1] += rep
            self.next_row[i] = j

    def _row(self, i: int, month: int, on: date, amount: int, rep: int, *, reversal: bool) -> None:
        ob = self.obs[i]
        self.books.revenue.append(
            RevenueRow(
                month,
                on,
                ob.key,
                ob.invoice_id,
                ob.customer_id,
                ob.product,
                ob.currency,
                amount,
                self.rep_currency,
                rep,
                self.booked_month,
                reversal,
            )
        )

    def credit(
        self,
        id: str,
        kind: EntryKind,
        source: str,
        on: date,
        moved: date | None,
        amount: int,
        outstanding: int,
        tax: int = 0,
    ) -> None:
        net_part, tax_part = amount - tax, tax  # the tax engine's split (subkit.tax.credit)
        month = month_index(on)
        reduced = reduced_rep = reversed_rep = 0
        parts = _split(net_part, [ob.price_minor for ob in self.obs])
        for i, part in enumerate(parts):
            if not part:
                continue
            left = self.rows[i][self.next_row[i] :]
            remaining = sum(r.amount for r in left)
            cut = min(part, max(remaining, 0))
            if cut:
                for r, a in zip(left, _split(remaining - cut, [r.amount for r in left]), strict=True):
                    r.amount = a
                reduced += cut
                reduced_rep += self.ob_conv[i].convert(Account.DEFERRED_REVENUE, cut)
            if part - cut:
                back = self.conv.reporting(part - cut)
                reversed_rep += back
                self._row(i, month, on, -(part - cut), -back, reversal=True)
        if not parts and net_part:
            reduced += net_part  # an invoice without lines: nothing was ever recognized
            reduced_rep += self.conv.reporting(net_part)
        outstanding = min(outstanding, max(self.ar_left, 0))
        self.ar_left -= outstanding
        signed = {
            Account.DEFERRED_REVENUE: reduced,
            Account.REFUNDS: net_part - reduced,
            Account.TAX_PAYABLE: tax_part,
            Account.RECEIVABLE: -outstanding,
            Account.CUSTOMER_BALANCE: -(amount - outstanding),
        }
        fixed = {Account.DEFERRED_REVENUE: reduced_rep, Account.REFUNDS: reversed_rep}
        self.entry(id, on, kind, source, signed, fixed, moved_from=moved)

    def apply(self, ev: _Event, credited: tuple[int, int], rates: Mapping[str, Decimal]) -> None:
        """Journal one dated document of this invoice (``credited``: its credit notes' amount and tax)."""
        doc, kind, inv = ev.doc, ev.kind, self.inv
        if isinstance(doc, CreditNote):
            self.credit(
                f"cn:{doc.id}",
                kind,
                doc.id,
                ev.on,
                ev.moved_from,
                doc.amount_minor,
                doc.outstanding_minor,
                doc.tax_minor,
            )
        elif kind is EntryKind.VOID:
            left, tax_left = inv.total_minor - credited[0], inv.tax_minor - credited[1]
            if left > 0:
                self.credit(f"void:{inv.id}", kind, ev.source, ev.on, ev.moved_from, left, left, tax_left)
        elif isinstance(doc, PaymentAttempt):
            applied = min(doc.applied_minor, doc.amount_minor)
            self.ar_left -= applied
            signed = {
                Account.CASH: doc.amount_minor,
                Account.RECEIVABLE: -applied,
                Account.CUSTOMER_BALANCE: -(doc.amount_minor - applied),
            }
            self.entry(
                f"pay:{doc.id}",
                ev.on,
                kind,
                doc.id,
                signed,
                moved_from=ev.moved_from,
                cash_rate=rates.get(doc.id),
            )
        elif isinstance(doc, Refund):
            signed = {Account.CUSTOMER_BALANCE: doc.amount_minor, Account.CASH: -doc.amount_minor}
            self.entry(f"ref:{doc.id}", ev.on, kind, doc.id, signed, moved_from=ev.moved_from)
        elif self.ar_left > 0:  # a write-off: what is still due is bad debt
            lost, self.ar_left = self.ar_left, 0
            signed = {Account.WRITE_OFF: lost, Account.RECEIVABLE: -lost}
            self.entry(f"wo:{inv.id}", ev.on, kind, ev.source, signed, moved_from=ev.moved_from)

    def recognitions(self) -> None:
        for on in sorted(self.recognized):
            amount, rep = self.recognized[on]
            if amount or rep:
                self.entry(
                    f"rec:{self.inv.id}:{on.isoformat()}",
                    on,
                    EntryKind.RECOGNITION,
                    self.inv.id,
                    {Account.DEFERRED_REVENUE: amount, Account.REVENUE: -amount},
                    {Account.DEFERRED_REVENUE: rep, Account.REVENUE: -rep},
                )


_ORDER = {
    EntryKind.CREDIT_NOTE: 1,
    EntryKind.VOID: 2,
    EntryKind.PAYMENT: 3,
    EntryKind.REFUND: 4,
    EntryKind.WRITE_OFF: 5,
}


def build_books(
    invoices: Iterable[Invoice],
    credit_notes: Iterable[CreditNote] = (),
    payments: Iterable[PaymentAttempt] = (),
    refunds: Iterable[Refund] = (),
    *,
    policy: RecognitionPolicy | None = None,
    lock: Lock | None = None,
    write_offs: Mapping[str, datetime] | None = None,
    settlement_rates: Mapping[str, Decimal] | None = None,
    product_of: Callable[[InvoiceLine], str] = default_product,
) -> Books:
    """The books of these documents (drafts ignored); see the module docstring for the rules.

    ``settlement_rates`` (payment attempt id -> reporting units per unit of its currency) book
    a payment's cash at its own rate; the difference with the receivable is FX gain or loss.

    Example:
        >>> build_books([]).revenue
        []
    """
    policy = policy or RecognitionPolicy()
    lock = lock or Lock()
    write_offs = write_offs or {}
    rates = settlement_rates or {}
    tz = policy.tz
    books = Books()
    notes: dict[str, list[CreditNote]] = defaultdict(list)
    for n in credit_notes:
        notes[n.invoice_id].append(n)
    pays: dict[str | None, list[PaymentAttempt]] = defaultdict(list)
    for p in payments:
        if p.status == AttemptStatus.SUCCEEDED:
            pays[p.invoice_id].append(p)
    backs: dict[str | None, list[Refund]] = defaultdict(list)
    for r in refunds:
        if r.status == RefundStatus.SUCCEEDED:
            backs[r.invoice_id].append(r)
    seen: set[str] = set()
    for inv in invoices:
        if inv.status == InvoiceStatus.DRAFT or inv.finalized_at is None:
            continue
        seen.add(inv.id)
        ib = _InvoiceBooks(inv, books, policy, product_of)
        books.obligations.extend(ib.obs)
        on, moved = lock.place(inv.id, local_date(inv.finalized_at, tz))
        ib.finalize(on, moved)
        dated: list[tuple[EntryKind, str, datetime, CreditNote | PaymentAttempt | Refund | None]] = []
        dated.extend((EntryKind.CREDIT_NOTE, n.id, n.created_at, n) for n in notes.get(inv.id, ()))
        if inv.status == InvoiceStatus.VOID and inv.voided_at is not None:
            dated.append((EntryKind.VOID, f"{inv.id}:void", inv.voided_at, None))
        dated.extend(
            (EntryKind.PAYMENT, p.id, p.completed_at or p.started_at, p) for p in pays.get(inv.id, ())
        )
        dated.extend(
            (EntryKind.REFUND, r.id, r.completed_at or r.created_at, r) for r in backs.get(inv.id, ())
        )
        if inv.status == InvoiceStatus.UNCOLLECTIBLE:
            at = write_offs.get(inv.id) or inv.payment_due_at or inv.finalized_at
            dated.append((EntryKind.WRITE_OFF, f"{inv.id}:write_off", at, None))
        events = []
        for kind, source, at, doc in dated:
            d, mv = lock.place(source, local_date(at, tz))
            events.append(_Event(max(d, on), _ORDER[kind], source, mv, kind, doc))
        events.sort(key=lambda e: (e.on, e.order, e.source))
        mine = notes.get(inv.id, ())
        credited = (sum(n.amount_minor for n in mine), sum(n.tax_minor for n in mine))
        for ev in events:
            ib.flush(ev.on)
            ib.apply(ev, credited, rates)
        ib.flush(None)
        ib.recognitions()
    _unattached(books, pays, backs, seen, lock, tz)
    books.entries.sort(key=lambda e: (e.on, e.id))
    books.revenue.sort(key=lambda r: (r.on, r.obligation))
    return books


def _unattached(
    books: Books,
    pays: Mapping[str | None, list[PaymentAttempt]],
    backs: Mapping[str | None, list[Refund]],
    seen: set[str],
    lock: Lock,
    tz: tzinfo,
) -> None:
    """Payments and refunds of no invoice in these books: money in or out of a customer's balance."""
    for key, attempts in pays.items():
        if key in seen:
            continue
        for p in attempts:
            on, moved = lock.place(p.id, local_date(p.completed_at or p.started_at, tz))
            books.entries.append(
                JournalEntry.of(
                    f"pay:{p.id}", on, EntryKind.PAYMENT, p.id, p.customer_id, p.currency,
                    {Account.CASH: p.amount_minor, Account.CUSTOMER_BALANCE: -p.amount_minor},
                    invoice_id=p.invoice_id, moved_from=moved,
                )
            )  # fmt: skip
    for key, refunds in backs.items():
        if key in seen:
            continue
        for r in refunds:
            on, moved = lock.place(r.id, local_date(r.completed_at or r.created_at, tz))
            books.entries.append(
                JournalEntry.of(
                    f"ref:{r.id}", on, EntryKind.REFUND, r.id, r.customer_id, r.currency,
                    {Account.CUSTOMER_BALANCE: r.amount_minor, Account.CASH: -r.amount_minor},
                    invoice_id=r.invoice_id, moved_from=moved,
                )
            )  # fmt: skip
