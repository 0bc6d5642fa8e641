"""Invoice lines for a metered item: one per group of its metric, priced by the plan's model.

Example:
    >>> from datetime import datetime, UTC
    >>> from decimal import ROUND_HALF_UP, Decimal
    >>> from subkit.catalog.catalog import Plan
    >>> from subkit.catalog.pricing import Package
    >>> from subkit.usage.rating import Measured
    >>> plan = Plan(id="api", product_id="app", name="API", metric="calls",
    ...             prices={"USD": Package(package_size=1000, package_amount="5", free_units=500)})
    >>> used = Measured(((None, Decimal(2600)),), "calls")   # 2600 - 500 free = 2100: 3 packages
    >>> [(ln.description, ln.amount_minor) for ln in metered_lines(
    ...     plan, "it_1", used, "USD", datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC), 0)]
    [('API (calls)', 1500)]
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from subkit.catalog.catalog import Plan
from subkit.catalog.pricing import Percentage
from subkit.core.money import CONTEXT, Rounding, exact_to_minor, minor_units
from subkit.invoice.invoice import InvoiceLine, LineKind
from subkit.usage.rating import Measured

__all__ = ["adjustment_line", "metered_amount", "metered_lines"]

_ONE = Decimal(1)
_ZERO = Decimal(0)
_QUANTUM = Decimal("1e-12")  # as the other lines (subscription.model)


def metered_amount(plan: Plan, currency: str, quantity: Decimal, amounts: list[Decimal] | None) -> Decimal:
    """The exact charge of ``quantity`` (per transaction when the price is a percentage that needs it).

    Example:
        >>> from subkit.catalog.catalog import Plan
        >>> p = Plan(id="pay", product_id="app", name="Payments", metric="pay",
        ...          prices={"USD": Percentage(rate="2.9", fixed_fee="0.30")})
        >>> metered_amount(p, "USD", Decimal(110), [Decimal(100), Decimal(10)]) == Decimal("3.79")
        True
    """
    price = plan.price(currency)
    if isinstance(price, Percentage) and amounts is not None:
        return price.amount_for_transactions(amounts)
    return price.amount(quantity)


def metered_lines(
    plan: Plan,
    item_id: str,
    used: Measured,
    currency: str,
    start: datetime,
    end: datetime,
    cycle: int,
    *,
    rounding: Rounding = Rounding.HALF_UP,
    prefix: str = "",
) -> list[InvoiceLine]:
    """The usage lines of one metered item over ``[start, end)``: one per group, ungrouped first."""
    lines = []
    groups = sorted(used.groups, key=lambda g: (g[0] is not None, g[0] or ""))
    digits = minor_units(currency)
    for group, quantity in groups:
        amounts = used.amounts.get(group, []) if used.amounts is not None else None
        exact = metered_amount(plan, currency, quantity, amounts)
        if used.billed is not None:
            # Interim invoices billed part of it: bill the rest, rounded as the whole would be
            # (the rounded whole less the rounded part), so the invoices sum to the one-invoice total.
            billed_q, billed_exact = used.billed.get(group, (_ZERO, _ZERO))
            minor = exact_to_minor(exact, currency, rounding) - exact_to_minor(
                billed_exact, currency, rounding
            )
            exact, quantity = Decimal(minor).scaleb(-digits), quantity - billed_q
            if minor == 0 and quantity == 0:
                continue
        elif exact == 0 and quantity == 0:
            continue
        label = used.label if group is None else f"{used.label}, {used.group_by or 'group'} {group}"
        lines.append(
            adjustment_line(
                plan, item_id, f"{prefix}{plan.name} ({label})", quantity, exact, currency, start, end, cycle,
                rounding=rounding,
            )
        )  # fmt: skip
    return lines


def adjustment_line(
    plan: Plan,
    item_id: str,
    description: str,
    quantity: Decimal,
    exact: Decimal,
    currency: str,
    start: datetime,
    end: datetime,
    cycle: int,
    *,
    rounding: Rounding = Rounding.HALF_UP,
) -> InvoiceLine:
    """A usage line: ``quantity`` used, ``exact`` owed (also a late change to a closed period).

    The unit price shown is informational (``exact / quantity``, to 12 places, trailing zeros
    dropped); the amount is ``exact`` rounded once.

    Example:
        >>> from datetime import datetime, UTC
        >>> from subkit.catalog.pricing import PerUnit
        >>> plan = Plan(id="api", product_id="app", name="API", metric="calls",
        ...             prices={"USD": PerUnit(unit_amount="1")})
        >>> ln = adjustment_line(plan, "it_1", "Late usage", Decimal(3), Decimal(3), "USD",
        ...                      datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC), 1)
        >>> ln.amount_minor, ln.period_start.month
        (300, 1)
    """
    unit = exact if quantity in (0, 1) else CONTEXT.divide(exact, quantity)
    unit = unit.quantize(_QUANTUM, rounding=ROUND_HALF_UP, context=CONTEXT)
    unit = unit.quantize(_ONE) if unit == unit.to_integral_value() else unit.normalize(CONTEXT)
    return InvoiceLine.build(
        description,
        LineKind.USAGE,
        currency=currency,
        quantity=quantity,
        unit_amount=unit,
        exact_amount=exact,
        plan_id=plan.id,
        item_id=item_id,
        period_start=start,
        period_end=end,
        cycle=cycle,
        rounding=rounding,
    )
