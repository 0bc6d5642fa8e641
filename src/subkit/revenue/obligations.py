"""Performance obligations: what each invoice line promises, at what price, recognized how.

Each line is one obligation priced at its net amount (``amount_minor - discount_minor``: a
discount reduces the transaction price, ASC 606-10-32-2 / IFRS 15.47); a line of a bundle
plan or item is split over its components by relative standalone selling price (ASC
606-10-32-31 / IFRS 15.76). A setup fee transfers no distinct service (ASC 606-10-55-51):
it is recognized over the invoice's service period (its first recurring line's period).
A line without a period is recognized at a point in time.

Example:
    >>> from datetime import UTC, datetime
    >>> at = datetime(2027, 1, 1, tzinfo=UTC)
    >>> line = InvoiceLine.build("Pro", LineKind.RECURRING, unit_amount="20", currency="USD",
    ...                          period_start=at, period_end=datetime(2027, 2, 1, tzinfo=UTC))
    >>> inv = Invoice.draft("in_1", "cus_1", "USD", [line.with_discount(500)], at=at)
    >>> obligations_of(inv, RecognitionPolicy())[0].price_minor
    1500
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import NamedTuple

from subkit.invoice.invoice import Invoice, InvoiceLine, LineKind
from subkit.revenue.schedule import (
    Method,
    RecognitionPolicy,
    allocate_bundle,
    month_index,
    ratable_schedule,
    with_month_ends,
)

__all__ = ["Obligation", "default_product", "month_rows", "obligations_of", "schedule_rows"]


class Obligation(NamedTuple):
    """One performance obligation: a line (or a bundle component) and its net price.

    Example:
        >>> ob = Obligation("in_1:0", "in_1", "cus_1", "pro", "USD", Method.POINT_IN_TIME, None, None, 1000)
        >>> ob.price_minor
        1000
    """

    key: str
    invoice_id: str
    customer_id: str
    product: str
    currency: str
    method: Method
    start: datetime | None
    end: datetime | None
    price_minor: int


def default_product(line: InvoiceLine) -> str:
    """The product a line is reported under: its plan, else its item, else its kind.

    Example:
        >>> default_product(InvoiceLine.build("Fee", LineKind.ONE_OFF, unit_amount="5", currency="USD"))
        'one_off'
    """
    return line.plan_id or line.item_id or line.kind.value


def obligations_of(
    inv: Invoice, policy: RecognitionPolicy, product_of: Callable[[InvoiceLine], str] = default_product
) -> list[Obligation]:
    """The obligations of an invoice's lines (bundles split; setup fees over the service period).

    Example:
        >>> from datetime import UTC, datetime
        >>> at = datetime(2027, 1, 1, tzinfo=UTC)
        >>> line = InvoiceLine.build("Setup", LineKind.SETUP_FEE, unit_amount="50", currency="USD")
        >>> inv = Invoice.draft("in_1", "cus_1", "USD", [line], at=at)
        >>> obligations_of(inv, RecognitionPolicy())[0].method.value  # no service period to spread over
        'point_in_time'
    """
    service: tuple[datetime | None, datetime | None] = (inv.period_start, inv.period_end)
    for ln in inv.lines:
        if ln.kind == LineKind.RECURRING and ln.period_start is not None and ln.period_end is not None:
            service = (ln.period_start, ln.period_end)
            break
    out: list[Obligation] = []
    for no, ln in enumerate(inv.lines):
        price = ln.amount_minor - ln.discount_minor
        method = policy.method(ln.kind)
        start, end = ln.period_start, ln.period_end
        if ln.kind == LineKind.SETUP_FEE and (start is None or end is None):
            start, end = service
        ref = ln.plan_id or ln.item_id
        parts = policy.bundles.get(ref) if ref else None
        if parts:
            for j, (c, amount) in enumerate(zip(parts, allocate_bundle(price, parts), strict=True)):
                m = c.method or method
                if start is None or end is None:
                    m = Method.POINT_IN_TIME
                out.append(
                    Obligation(
                        f"{inv.id}:{no}:{j}",
                        inv.id,
                        inv.customer_id,
                        c.product,
                        inv.currency,
                        m,
                        start,
                        end,
                        amount,
                    )
                )
            continue
        if start is None or end is None:
            method = Method.POINT_IN_TIME
        out.append(
            Obligation(
                f"{inv.id}:{no}",
                inv.id,
                inv.customer_id,
                product_of(ln),
                inv.currency,
                method,
                start,
                end,
                price,
            )
        )
    return out


def month_rows(ob: Obligation, booked_month: int, policy: RecognitionPolicy) -> list[tuple[int, int]]:
    """``(month, amount)`` rows of an obligation booked in ``booked_month``, catch-up folded.

    Months before the booking month are recognized in the booking month.

    A Jan-Dec line finalized in March recognizes Jan-Mar together in March.

    Example:
        >>> from datetime import UTC, datetime
        >>> ob = Obligation("k", "in_1", "c", "p", "USD", Method.RATABLE, datetime(2027, 1, 1, tzinfo=UTC),
        ...                 datetime(2028, 1, 1, tzinfo=UTC), 36500)
        >>> [a for _, a in month_rows(ob, month_index(date(2027, 3, 3)), RecognitionPolicy())][:2]
        [9000, 3000]
    """
    if ob.method is Method.POINT_IN_TIME or ob.start is None or ob.end is None:
        return [(booked_month, ob.price_minor)]
    rows = ratable_schedule(ob.price_minor, ob.start, ob.end, basis=policy.basis, tz=policy.tz)
    if rows[0][0] >= booked_month:  # nothing to catch up (the usual case)
        return rows
    early = 0
    out: list[tuple[int, int]] = []
    for m, amount in rows:
        if m < booked_month:
            early += amount
        elif m == booked_month:
            out.append((m, amount + early))
            early = 0
        else:
            if early:
                out.append((booked_month, early))
                early = 0
            out.append((m, amount))
    if early or not out:
        out.append((booked_month, early))
    return out


def schedule_rows(ob: Obligation, booked_on: date, policy: RecognitionPolicy) -> list[tuple[int, int, date]]:
    """``(month, amount, posted on)`` rows of an obligation booked on ``booked_on`` (see :func:`month_rows`).

    A ratable row is posted on its month's last day, a point-in-time one on ``booked_on``.

    Example:
        >>> from datetime import UTC, datetime
        >>> ob = Obligation("k", "in_1", "c", "p", "USD", Method.POINT_IN_TIME, None, None, 500)
        >>> schedule_rows(ob, date(2027, 3, 3), RecognitionPolicy())
        [(24326, 500, datetime.date(2027, 3, 3))]
    """
    bm = month_index(booked_on)
    if ob.method is Method.POINT_IN_TIME or ob.start is None or ob.end is None:
        return [(bm, ob.price_minor, booked_on)]
    return with_month_ends(month_rows(ob, bm, policy))
