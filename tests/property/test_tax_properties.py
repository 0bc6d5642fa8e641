"""Invariants of tax arithmetic: splits sum exactly, inclusive lines add back up, credit notes
never reverse more tax than the invoice charged."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from subkit.invoice.invoice import Invoice, InvoiceLine, LineKind
from subkit.tax.calc import RoundingScope, compute, round_minor, split_exact
from subkit.tax.credit import credit_note_tax
from subkit.tax.rates import TaxRate

RATES = [Decimal(r) for r in ("0.19", "0.23", "0.255", "0.09975", "0.05", "0.0625")]
amounts = st.lists(st.integers(min_value=-(10**7), max_value=10**8), min_size=1, max_size=12)
rates = st.sampled_from(RATES)


def tax_rate(r: Decimal, share: str = "1") -> TaxRate:
    return TaxRate("XX", f"T{r}", r, date(2021, 1, 1), "test", taxable_share=Decimal(share))


@given(st.lists(st.decimals(min_value=-(10**6), max_value=10**6, places=4), min_size=1, max_size=20))
def test_a_split_of_the_rounded_sum_sums_exactly_and_each_part_is_floor_or_ceiling(
    exact: list[Decimal],
) -> None:
    total = round_minor(sum(exact, Decimal(0)))
    parts = split_exact(total, exact)
    assert sum(parts) == total
    for p, e in zip(parts, exact, strict=True):
        assert e - 1 < p < e + 1


@given(amounts, rates, st.booleans())
def test_invoice_scope_lines_sum_to_the_tax_on_the_total(
    values: list[int], r: Decimal, inclusive: bool
) -> None:
    t = tax_rate(r)
    done = compute(
        [(v, 0) for v in values], [(t,)] * len(values), inclusive=inclusive, scope=RoundingScope.INVOICE
    )
    base = Decimal(sum(values))
    exact = base * r / (1 + r) if inclusive else base * r
    assert done.tax_minor == round_minor(exact) == done.summary[0].tax_minor


@given(amounts, rates, st.sampled_from(list(RoundingScope)))
def test_an_inclusive_line_is_net_plus_tax(values: list[int], r: Decimal, scope: RoundingScope) -> None:
    done = compute([(v, 0) for v in values], [(tax_rate(r),)] * len(values), inclusive=True, scope=scope)
    for v, line in zip(values, done.lines, strict=True):
        assert line.net_minor + line.tax_minor == v


@given(st.lists(st.integers(min_value=1, max_value=10**6), min_size=1, max_size=6), rates, st.data())
def test_credit_notes_never_reverse_more_tax_than_charged(
    values: list[int], r: Decimal, data: st.DataObject
) -> None:
    done = compute([(v, 0) for v in values], [(tax_rate(r),)] * len(values))
    lines = [
        InvoiceLine.trusted(*InvoiceLine.build("x", LineKind.ONE_OFF, unit_amount="0", currency="EUR")[:9],
                            v, 0, t.tax_minor, r, "XX:standard")
        for v, t in zip(values, done.lines, strict=True)
    ]  # fmt: skip
    inv = Invoice.draft("in_1", "cus_1", "EUR", lines, at=datetime(2025, 1, 1, tzinfo=UTC))
    total = inv.total_minor
    cuts = sorted(data.draw(st.sets(st.integers(min_value=1, max_value=max(total - 1, 1)), max_size=5)))
    bounds = [0, *(c for c in cuts if c < total), total]
    credited = tax_credited = 0
    for start, end in itertools.pairwise(bounds):  # the credit notes, in turn
        amount = end - start
        tax = credit_note_tax(
            inv, amount, credited_before_minor=credited, tax_credited_before_minor=tax_credited
        )
        assert 0 <= tax <= amount
        credited += amount
        tax_credited += tax
        assert tax_credited <= inv.tax_minor
    assert tax_credited == inv.tax_minor
