"""What a change would do, as an invoice-like value with totals (as Stripe's invoice preview).

A :class:`Preview` is what :meth:`~subkit.services.engine.BillingEngine.preview_change` returns:
the lines the action produces, with their currency and totals, whether they are invoiced at
once (``invoice``, the draft that would be issued, balance applied) or wait for the next
invoice (``pending``). It is also a ``Sequence`` of its lines, so code written when previews
were bare lists (``for ln in preview``, ``preview == []``, ``preview[0]``) keeps working
unchanged: the list form is kept as a compatible view, not deprecated.

Example:
    >>> from subkit.invoice.invoice import InvoiceLine, LineKind
    >>> lines = [InvoiceLine.build("Seats", LineKind.PRORATION, quantity=1, unit_amount="-5", currency="USD"),
    ...          InvoiceLine.build("Seats", LineKind.PRORATION, quantity=1, unit_amount="10", currency="USD")]
    >>> p = Preview.of(lines, "USD")
    >>> (p.subtotal_minor, p.total_minor, p.amount_due_minor, p.pending, len(p))
    (500, 500, 500, True, 2)
    >>> p == lines
    True
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import overload

from subkit.invoice.invoice import Invoice, InvoiceLine

__all__ = ["Preview"]


@dataclass(frozen=True, slots=True, eq=False)
class Preview(Sequence[InvoiceLine]):
    """The lines an action would produce, their currency and totals; a ``Sequence`` of the lines.

    ``invoice`` is the draft the action would issue now (``None`` when its lines wait for the
    next invoice: ``pending`` is then true). Totals follow the invoice's: ``total_minor`` is
    lines minus discounts plus tax, ``amount_due_minor`` what is left after the credit balance.

    Example:
        >>> Preview.of([], "EUR").total_minor
        0
    """

    lines: tuple[InvoiceLine, ...]
    currency: str
    subtotal_minor: int
    discount_minor: int
    tax_minor: int
    total_minor: int
    credit_applied_minor: int
    amount_due_minor: int
    invoice: Invoice | None = None

    @property
    def pending(self) -> bool:
        """Whether the lines wait for the next invoice instead of being invoiced now."""
        return self.invoice is None and bool(self.lines)

    @classmethod
    def of(cls, lines: Sequence[InvoiceLine], currency: str, invoice: Invoice | None = None) -> Preview:
        """A preview of ``lines`` (or of the draft ``invoice``, whose lines and totals it takes)."""
        if invoice is not None:
            return cls(
                tuple(invoice.lines),
                invoice.currency,
                invoice.subtotal_minor,
                invoice.discount_minor,
                invoice.tax_minor,
                invoice.total_minor,
                invoice.credit_applied_minor,
                invoice.amount_due_minor,
                invoice,
            )
        subtotal = sum(ln.amount_minor for ln in lines)
        discount = sum(ln.discount_minor for ln in lines)
        tax = sum(ln.tax_minor for ln in lines)
        total = subtotal - discount + tax
        return cls(tuple(lines), currency, subtotal, discount, tax, total, 0, total)

    def __len__(self) -> int:
        return len(self.lines)

    @overload
    def __getitem__(self, index: int) -> InvoiceLine: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[InvoiceLine]: ...
    def __getitem__(self, index: int | slice) -> InvoiceLine | Sequence[InvoiceLine]:
        return self.lines[index]

    def __iter__(self) -> Iterator[InvoiceLine]:
        return iter(self.lines)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Preview):
            return self.lines == other.lines and self.invoice == other.invoice
        if isinstance(other, (list, tuple)):
            return list(self.lines) == list(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.lines)
