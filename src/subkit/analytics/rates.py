"""Churn, retention and lifetime value, from one or more periods of MRR movements.

Definitions (ChartMogul's "Standard" formulas, help.chartmogul.com/hc/en-us/articles/207340419 and
/203359341; NRR and GRR as Stripe and ChartMogul define them, existing customers only):

- logo churn rate = customers churned / paying customers at the start;
- gross MRR churn rate = (churn + contraction) / opening MRR;
- net MRR churn rate = (churn + contraction - expansion - reactivation) / opening MRR (negative:
  "net negative churn");
- GRR = (opening - churn - contraction) / opening MRR (at most 100%);
- NRR = (opening + expansion - contraction - churn) / opening MRR (new and reactivated customers
  are not in the starting base, so they are left out);
- LTV = ARPA x gross margin / monthly logo churn rate; with no churn it is undefined (``None``),
  never a division by zero.

Over several periods each rate is the sum of its numerators over the sum of its denominators (a
weighted mean per month), so one empty month does not skew it. Rates are exact ``Decimal``
fractions (0.05 = 5%); a rate with an empty denominator is ``None``.

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.analytics.movements import Movements, MovementKind
    >>> m = Movements(datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC), "USD",
    ...               opening=10000, expansion=1000, contraction=-1000, churn=-1000, opening_customers=20)
    >>> m.counts[MovementKind.CHURN] = 1
    >>> r = rates([m])
    >>> r.logo_churn, r.gross_mrr_churn, r.net_mrr_churn, r.grr, r.nrr
    (Decimal('0.05'), Decimal('0.2'), Decimal('0.1'), Decimal('0.8'), Decimal('0.9'))
    >>> ltv(arpa_minor=5000, monthly_churn=r.logo_churn, gross_margin=Decimal("0.8"))
    80000
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from subkit.analytics.movements import MovementKind, Movements
from subkit.core.money import CONTEXT
from subkit.errors import ValidationError

__all__ = ["Rates", "ltv", "rates"]

_ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class Rates:
    """Churn and retention rates over some periods (``None``: nothing to divide by).

    Example:
        >>> Rates(None, None, None, None, None).nrr is None
        True
    """

    logo_churn: Decimal | None
    gross_mrr_churn: Decimal | None
    net_mrr_churn: Decimal | None
    grr: Decimal | None
    nrr: Decimal | None


def _ratio(numerator: int, denominator: int) -> Decimal | None:
    if denominator == 0:
        return None
    return CONTEXT.divide(Decimal(numerator), Decimal(denominator)).normalize(CONTEXT)


def rates(periods: Sequence[Movements]) -> Rates:
    """The rates of ``periods`` taken together (sums of numerators over sums of denominators).

    Example:
        >>> rates([]).logo_churn is None
        True
    """
    opening = sum(m.opening for m in periods)
    customers = sum(m.opening_customers for m in periods)
    churned = sum(m.counts[MovementKind.CHURN] for m in periods)
    lost = -sum(m.churn + m.contraction for m in periods)  # positive
    gained = sum(m.expansion + m.reactivation for m in periods)
    expansion = sum(m.expansion for m in periods)
    return Rates(
        logo_churn=_ratio(churned, customers),
        gross_mrr_churn=_ratio(lost, opening),
        net_mrr_churn=_ratio(lost - gained, opening),
        grr=_ratio(opening - lost, opening),
        nrr=_ratio(opening - lost + expansion, opening),
    )


def ltv(*, arpa_minor: int, monthly_churn: Decimal | None, gross_margin: Decimal = _ONE) -> int | None:
    """Customer lifetime value: ARPA x gross margin / monthly logo churn, rounded half-up once.

    ``None`` when churn is zero or unknown: with nobody leaving, the formula has no finite value.
    ``gross_margin`` is a fraction in ``[0, 1]`` (0.8 = 80%).

    Example:
        >>> ltv(arpa_minor=5000, monthly_churn=Decimal("0.03")), ltv(arpa_minor=50, monthly_churn=Decimal(0))
        (166667, None)
    """
    if not isinstance(gross_margin, Decimal) or not (0 <= gross_margin <= 1):
        raise ValidationError(
            f"gross_margin must be a Decimal fraction between 0 and 1 (0.8 for 80%), got {gross_margin!r}",
            field="gross_margin",
        )
    if monthly_churn is None or monthly_churn <= 0:
        return None
    exact = CONTEXT.divide(CONTEXT.multiply(Decimal(arpa_minor), gross_margin), monthly_churn)
    return int(exact.quantize(_ONE, rounding=ROUND_HALF_UP, context=CONTEXT))
