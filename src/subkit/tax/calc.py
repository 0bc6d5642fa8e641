"""Tax arithmetic: exclusive and inclusive prices, rounding per line or per invoice, exact splits.

Everything is in integer minor units, so the currency only matters through the amounts it
gives (JPY 0 decimals, KWD 3): ``1000`` is 1,000 yen or 1.000 dinar, and 10% of it is ``100``.

- **Exclusive** prices: the tax of a line is ``net x rate``.
- **Inclusive** prices: the line's amount already holds the tax: the tax is
  ``gross x rate / (1 + rate)`` and the net what is left (119.00 at 19% = 100.00 + 19.00).
- **Per line** (:attr:`RoundingScope.LINE`): each line's tax is rounded, the invoice's tax is
  their sum. **Per invoice** (:attr:`RoundingScope.INVOICE`): the exact taxes of all lines
  under the same tax and rate are added and rounded once, then split back over the lines by
  largest remainder (:func:`split_exact`), so the lines always sum to the invoice's tax.
  55.55 and 11.11 at 23%: 12.78 + 2.56 = 15.34 per line; 66.66 x 23% = 15.33 on the total.

Example:
    >>> from decimal import Decimal
    >>> from datetime import date
    >>> from subkit.tax.rates import TaxRate
    >>> pl = TaxRate("PL", "VAT", Decimal("0.23"), date(2021, 1, 1), "podatki.gov.pl")
    >>> per_line = compute([(5555, 0), (1111, 0)], [(pl,), (pl,)], scope=RoundingScope.LINE)
    >>> [t.tax_minor for t in per_line.lines], per_line.tax_minor
    ([1278, 256], 1534)
    >>> on_total = compute([(5555, 0), (1111, 0)], [(pl,), (pl,)], scope=RoundingScope.INVOICE)
    >>> [t.tax_minor for t in on_total.lines], on_total.tax_minor
    ([1278, 255], 1533)
"""

from __future__ import annotations

import decimal
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from subkit.core.money import CONTEXT, ROUNDING_MODES, Rounding
from subkit.errors import ValidationError
from subkit.tax.rates import TaxRate

__all__ = ["Computed", "LineAmounts", "RoundingScope", "TaxAmount", "compute", "round_minor", "split_exact"]

_ONE = Decimal(1)


class RoundingScope(StrEnum):
    """Where tax is rounded: on each line, or once per tax and rate on the invoice total.

    Example:
        >>> RoundingScope("invoice") is RoundingScope.INVOICE
        True
    """

    LINE = "line"
    INVOICE = "invoice"


def round_minor(exact: Decimal, rounding: Rounding = Rounding.HALF_UP) -> int:
    """An exact amount of minor units rounded to an integer (half-up rounds away from zero).

    Example:
        >>> round_minor(Decimal("1277.65")), round_minor(Decimal("-0.5"))
        (1278, -1)
        >>> round_minor(Decimal("0.5"), Rounding.DOWN)
        0
    """
    return int(exact.quantize(_ONE, rounding=ROUNDING_MODES[rounding], context=CONTEXT))


def split_exact(total: int, exact: Sequence[Decimal]) -> list[int]:
    """Split ``total`` over parts whose exact values are ``exact``: largest remainder, signs allowed.

    Each part is its exact value rounded down or up, the parts sum to ``total`` exactly, and
    the parts rounded up are those with the largest fractions (ties: the earliest). ``total``
    must lie between the sum of the floors and the sum of the ceilings (any rounding of the
    exact sum does).

    Example:
        >>> split_exact(1533, [Decimal("1277.65"), Decimal("255.53")])
        [1278, 255]
        >>> split_exact(-3, [Decimal("-1.5"), Decimal("-1.5")])
        [-1, -2]
    """
    floors = [int(e.to_integral_value(rounding=decimal.ROUND_FLOOR)) for e in exact]
    left = total - sum(floors)
    if not 0 <= left <= len(exact):
        raise ValidationError(f"cannot split {total} over exact parts summing to {sum(exact)}", field="total")
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return floors


@dataclass(frozen=True, slots=True)
class LineAmounts:
    """A line's tax and its amounts once taxed (an inclusive price's amount becomes net of tax).

    ``rate`` is the combined effective rate of the taxes charged on the line.

    Example:
        >>> LineAmounts(10000, 0, 1900, Decimal("0.19")).net_minor
        10000
    """

    amount_minor: int
    discount_minor: int
    tax_minor: int
    rate: Decimal

    @property
    def net_minor(self) -> int:
        """Amount after discount, before tax."""
        return self.amount_minor - self.discount_minor


@dataclass(frozen=True, slots=True)
class TaxAmount:
    """One tax on an invoice: which, at what rate, on what base, how much (the invoice's tax summary).

    Example:
        >>> TaxAmount("DE", "VAT", Decimal("0.19"), 10000, 1900).tax_minor
        1900
    """

    jurisdiction: str
    name: str
    rate: Decimal
    taxable_minor: int
    tax_minor: int
    source: str = ""


@dataclass(frozen=True, slots=True)
class Computed:
    """The taxed lines (in the order given) and the summary per tax and rate.

    Example:
        >>> Computed((), ()).tax_minor
        0
    """

    lines: tuple[LineAmounts, ...]
    summary: tuple[TaxAmount, ...]

    @property
    def tax_minor(self) -> int:
        """The invoice's tax: the sum of the lines' tax."""
        return sum(t.tax_minor for t in self.lines)


def compute(
    amounts: Sequence[tuple[int, int]],
    taxes: Sequence[Sequence[TaxRate]],
    *,
    inclusive: bool = False,
    scope: RoundingScope = RoundingScope.LINE,
    rounding: Rounding | None = None,
) -> Computed:
    """Tax ``(amount_minor, discount_minor)`` lines, each under its own taxes (none: not taxed).

    ``rounding`` overrides every tax's own rounding mode (``TaxRate.rounding``, the
    jurisdiction's rule). With ``inclusive`` the amounts include the taxes of their line.

    Example:
        >>> from datetime import date
        >>> de = TaxRate("DE", "VAT", Decimal("0.19"), date(2021, 1, 1), "bzst.de")
        >>> line = compute([(11900, 0)], [(de,)], inclusive=True).lines[0]
        >>> line.amount_minor, line.tax_minor
        (10000, 1900)
    """
    if len(amounts) != len(taxes):
        raise ValidationError("one list of taxes per line", field="taxes")
    n = len(amounts)
    totals = [sum((t.effective_rate for t in ts), Decimal(0)) for ts in taxes]
    # exact[i][k]: the unrounded tax k of line i, in minor units.
    exact: list[list[Decimal]] = []
    for (amount, discount), ts, total_rate in zip(amounts, taxes, totals, strict=True):
        base = Decimal(amount - discount)
        if inclusive:
            base = CONTEXT.divide(base, _ONE + total_rate)
        exact.append([CONTEXT.multiply(base, t.effective_rate) for t in ts])
    rounded: list[list[int]] = [[0] * len(ts) for ts in taxes]
    groups: dict[tuple[str, str, Decimal, Decimal], list[tuple[int, int]]] = {}
    for i, ts in enumerate(taxes):
        for k, t in enumerate(ts):
            if scope is RoundingScope.LINE:
                rounded[i][k] = round_minor(exact[i][k], rounding or t.rounding)
            groups.setdefault((t.jurisdiction, t.name, t.rate, t.taxable_share), []).append((i, k))
    if scope is RoundingScope.INVOICE:
        for members in groups.values():
            first = taxes[members[0][0]][members[0][1]]
            parts = [exact[i][k] for i, k in members]
            group_total = round_minor(sum(parts, Decimal(0)), rounding or first.rounding)
            for (i, k), part in zip(members, split_exact(group_total, parts), strict=True):
                rounded[i][k] = part
    lines: list[LineAmounts] = []
    for i in range(n):
        amount, discount = amounts[i]
        tax = sum(rounded[i])
        if inclusive and taxes[i]:
            net = amount - discount - tax
            discount = round_minor(CONTEXT.divide(Decimal(discount), _ONE + totals[i]))
            amount = net + discount
        lines.append(LineAmounts(amount, discount, tax, totals[i]))
    summary = []
    for (code, name, _, _), members in groups.items():
        first = taxes[members[0][0]][members[0][1]]
        taxable = sum(lines[i].net_minor for i, _ in members)
        summary.append(
            TaxAmount(
                code,
                name,
                first.effective_rate,
                taxable,
                sum(rounded[i][k] for i, k in members),
                first.source,
            )
        )
    return Computed(tuple(lines), tuple(summary))
