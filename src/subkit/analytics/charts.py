"""Charts of the figures, drawn with matplotlib (``pip install 'subkit[plot]'``).

Each function returns a ``matplotlib.figure.Figure`` built without pyplot (no global state, no
window): the caller saves it (``fig.savefig(path)``). Amounts are turned into floats here, for
drawing only; every figure shown was computed exactly before.

- :func:`mrr_chart`: each period's movements stacked (gains above zero, losses below), with the
  closing MRR as a line (as ChartMogul's "MRR Movements" chart);
- :func:`cohort_heatmap`: retention by cohort (rows) and age (columns), logos or MRR;
- :func:`revenue_waterfall`: recognized revenue per month, stacked by source (e.g. the month it
  was booked), from a plain mapping ``month -> amount`` or ``month -> {source: amount}``.

Example:
    >>> from datetime import datetime, UTC
    >>> from subkit.analytics.movements import Movements
    >>> m = Movements(datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC), "USD", new=5000)
    >>> fig = mrr_chart([m])
    >>> [int(x) for x in fig.get_size_inches() * fig.dpi]
    [800, 450]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from subkit.analytics.cohorts import Cohort
from subkit.analytics.movements import Movements
from subkit.core.money import CONTEXT, minor_units
from subkit.errors import ValidationError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["SIZE", "cohort_heatmap", "mrr_chart", "revenue_waterfall"]

#: Every chart's size in pixels (width, height) at its 100 dpi.
SIZE = (800, 450)
_DPI = 100
_GAINS = (
    ("new", "New", "#1f6fb4"),
    ("expansion", "Expansion", "#5aa7e0"),
    ("reactivation", "Reactivation", "#9ccbee"),
)
_LOSSES = (("contraction", "Contraction", "#f08aa0"), ("churn", "Churn", "#c8284f"))


def _figure() -> Figure:
    try:
        from matplotlib.figure import Figure
    except ImportError as e:  # pragma: no cover - the plot extra is installed in tests
        raise ImportError(f"charts need matplotlib: pip install 'subkit[plot]' ({e})") from e
    return Figure(figsize=(SIZE[0] / _DPI, SIZE[1] / _DPI), dpi=_DPI, layout="constrained")


def _major(minor: int, currency: str) -> float:  # float ok: drawing only, never stored
    """Drawing only: a minor-unit amount as a float of major units."""
    return float(Decimal(minor).scaleb(-minor_units(currency), CONTEXT))


def mrr_chart(periods: Sequence[Movements], *, title: str = "MRR movements") -> Figure:
    """The movements of each period stacked around zero, and the closing MRR as a line."""
    if not periods:
        raise ValidationError("no periods to chart", field="periods")
    currency = periods[0].currency
    fig = _figure()
    ax = fig.add_subplot()
    xs = list(range(len(periods)))
    labels = [m.start.strftime("%Y-%m") for m in periods]
    extremes = [0.0]
    for group in (_GAINS, _LOSSES):
        bottom = [0.0] * len(periods)
        for attr, label, color in group:
            values = [_major(int(getattr(m, attr)), currency) for m in periods]
            ax.bar(xs, values, bottom=bottom, label=label, color=color, width=0.7)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        extremes.extend(bottom)
    ax.axhline(0, color="#444444", linewidth=0.8)
    low, high = min(extremes), max(extremes)
    pad = (high - low) * 0.08 or 1.0
    ax.set_ylim(low - pad, high + pad)
    ax.set_ylabel(f"MRR movements ({currency})")
    line_ax = ax.twinx()
    line_ax.plot(xs, [_major(m.closing, currency) for m in periods], color="#222222", marker="o", label="MRR")
    line_ax.set_ylabel(f"MRR ({currency})")
    line_ax.set_ylim(bottom=0)
    ax.set_xticks(xs, labels, rotation=45, ha="right", fontsize=8)
    handles, names = ax.get_legend_handles_labels()
    h2, n2 = line_ax.get_legend_handles_labels()
    fig.legend(handles + h2, names + n2, loc="outside lower center", fontsize=8, ncols=6)
    ax.set_title(title)
    return fig


def cohort_heatmap(cohorts: Sequence[Cohort], *, by: str = "logos", title: str | None = None) -> Figure:
    """Retention (percent) by cohort and age; ``by`` is ``"logos"`` or ``"mrr"``; empty cohorts left out.

    Example:
        >>> from datetime import datetime, UTC
        >>> c = Cohort(datetime(2027, 1, 1, tzinfo=UTC), 4, 4000, (4, 3), (4000, 2500))
        >>> cohort_heatmap([c], by="mrr").axes[0].images[0].get_array().tolist()
        [[100.0, 62.5]]
    """
    if by not in ("logos", "mrr"):
        raise ValidationError(f"by must be 'logos' or 'mrr', not {by!r}", field="by")
    rows = [c for c in cohorts if c.customers]
    if not rows:
        raise ValidationError("no cohort has customers to chart", field="cohorts")
    width = max(len(c.logos) for c in rows)
    nan = float("nan")
    grid: list[list[float]] = []
    for c in rows:
        ratios = c.logo_retention if by == "logos" else c.mrr_retention
        grid.append([float(r * 100) for r in ratios] + [nan] * (width - len(ratios)))
    fig = _figure()
    ax = fig.add_subplot()
    image: Any = ax.imshow(grid, aspect="auto", cmap="Blues", vmin=0, vmax=max(100.0, _max(grid)))
    fig.colorbar(image, ax=ax, label="retained (%)")
    ax.set_yticks(range(len(rows)), [f"{c.start:%Y-%m} ({c.customers})" for c in rows], fontsize=7)
    ax.set_xticks(range(width), [str(a) for a in range(width)], fontsize=7)
    ax.set_xlabel("months since first payment")
    if len(rows) * width <= 200:
        for y, row in enumerate(grid):
            for x, v in enumerate(row):
                if v == v:  # not NaN
                    ax.text(
                        x,
                        y,
                        f"{v:.0f}",
                        ha="center",
                        va="center",
                        fontsize=6,
                        color="black" if v < 60 else "white",
                    )
    ax.set_title(title or f"Cohort retention ({'customers' if by == 'logos' else 'MRR'})")
    return fig


def _max(grid: list[list[float]]) -> float:
    return max((v for row in grid for v in row if v == v), default=100.0)


def revenue_waterfall(
    revenue: Mapping[str, int | Mapping[str, int]], currency: str, *, title: str = "Revenue waterfall"
) -> Figure:
    """Recognized revenue per month (minor units), stacked by source when a month maps to sources.

    Example:
        >>> fig = revenue_waterfall({"2027-01": 10000, "2027-02": {"2027-01": 5000, "2027-02": 7000}}, "USD")
        >>> sorted(round(p.get_height()) for p in fig.axes[0].patches)
        [0, 50, 70, 100]
    """
    if not revenue:
        raise ValidationError("no revenue to chart: give a mapping month -> amount", field="revenue")
    months = sorted(revenue)
    sources: list[str] = []
    for month in months:
        v = revenue[month]
        for s in [month] if isinstance(v, int) else v:
            if s not in sources:
                sources.append(s)
    fig = _figure()
    ax = fig.add_subplot()
    xs = list(range(len(months)))
    bottom = [0.0] * len(months)
    from matplotlib import colormaps

    cmap: Any = colormaps["viridis"]
    for n, s in enumerate(sorted(sources)):
        values = []
        for month in months:
            v = revenue[month]
            minor = (v if s == month else 0) if isinstance(v, int) else v.get(s, 0)
            values.append(_major(minor, currency))
        ax.bar(xs, values, bottom=bottom, color=cmap(n / max(len(sources) - 1, 1)), width=0.8, label=s)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_xticks(xs, months, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel(f"recognized revenue ({currency})")
    if len(sources) <= 24:
        fig.legend(title="source", fontsize=6, loc="outside right upper")
    ax.set_title(title)
    return fig
