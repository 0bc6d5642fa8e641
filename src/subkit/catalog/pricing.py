"""Pricing models: how a quantity used in one billing period becomes a charge.

Every model is a frozen :class:`~subkit.core.model.Model` with a ``model``
discriminator, so a whole catalog of prices round-trips through JSON with
:func:`parse_pricing`. Prices and quantities are ``Decimal`` in MAJOR units
(floats are refused). ``amount(quantity)`` returns the EXACT, unrounded charge:
rounding to the currency's minor units happens once, later, at the invoice line.

Intermediate arithmetic runs in :data:`subkit.core.money.CONTEXT`, so the host's
ambient ``decimal`` context never changes a result.

Example:
    >>> from decimal import Decimal
    >>> from subkit.catalog.pricing import Graduated, Tier, parse_pricing, price_amount
    >>> tiers = (Tier(up_to=5, unit_amount="7.00"), Tier(up_to=10, unit_amount="6.50"),
    ...          Tier(up_to=None, unit_amount="6.00"))
    >>> Graduated(tiers=tiers).amount(Decimal(8))  # 5 * 7.00 + 3 * 6.50
    Decimal('54.50')
    >>> price_amount(parse_pricing({"model": "per_unit", "unit_amount": "0.0004"}), 1234)
    Decimal('0.4936')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal, Self, TypeAlias

import pydantic
from pydantic import AfterValidator, Field, TypeAdapter, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from subkit.core.deprecation import rename_keys
from subkit.core.model import Amount, Model, raise_subkit_error
from subkit.core.money import CONTEXT, decimal_of
from subkit.errors import PricingError, SubkitError

__all__ = [
    "FlatFee",
    "Graduated",
    "Package",
    "PerUnit",
    "Percentage",
    "PricingModel",
    "Stairstep",
    "Tier",
    "Volume",
    "parse_pricing",
    "price_amount",
]

_ZERO = Decimal(0)


def _non_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise PricingError(f"must be >= 0, got {value}")
    return value


def _positive(value: Decimal) -> Decimal:
    if value <= 0:
        raise PricingError(f"must be > 0, got {value}")
    return value


#: A price, fee or bound: a float-free Decimal that must be >= 0.
_Price = Annotated[Amount, AfterValidator(_non_negative)]
#: A strictly positive Decimal (tier bounds, package sizes).
_Positive = Annotated[Amount, AfterValidator(_positive)]


def _field_error(field: str, message: str, value: object) -> pydantic.ValidationError:
    """A pydantic error located at ``field``, for checks that span several fields.

    A plain exception raised in a model validator carries no location, so the
    failing field would be lost; pydantic keeps the location of a
    ``ValidationError`` raised there, and :class:`Model` turns it into a
    ``PricingError`` naming ``field``.
    """
    return pydantic.ValidationError.from_exception_data(
        "pricing",
        [InitErrorDetails(type=PydanticCustomError("invalid_pricing", message), loc=(field,), input=value)],
    )


def _quantity(quantity: object) -> Decimal:
    q = decimal_of(quantity, "quantity")
    if q < 0:
        raise PricingError(f"quantity must be >= 0, got {q}", field="quantity")
    return q


class _Renaming(Model):
    """Reads the old field names of ``_renamed_fields`` in stored data (JSON, dicts), silently.

    Catalogs stored before the rename to Stripe's vocabulary (issue 15) keep loading; the
    Python constructor warns on an old keyword (:class:`~subkit.core.model.Model`).
    """

    @model_validator(mode="before")
    @classmethod
    def _old_names(cls, data: Any) -> Any:
        if cls._renamed_fields and isinstance(data, Mapping):
            return rename_keys(data, cls._renamed_fields, warn=False)
        return data


class _Base(_Renaming):
    """Shared by every pricing model: an optional charge floor and cap per period."""

    _error: ClassVar[type[SubkitError]] = PricingError

    minimum: _Price | None = None
    maximum: _Price | None = None

    @model_validator(mode="after")
    def _check_bounds(self) -> Self:
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise _field_error(
                "minimum", f"minimum {self.minimum} is above maximum {self.maximum}", self.minimum
            )
        return self

    def _clamp(self, d: Decimal) -> Decimal:
        """Apply the period minimum (even to a zero charge) and maximum."""
        if self.minimum is not None and d < self.minimum:
            d = self.minimum
        if self.maximum is not None and d > self.maximum:
            d = self.maximum
        return d


class Tier(_Renaming):
    """One tier (or step): units up to and including ``up_to`` (``None`` = no upper bound).

    A tier covers ``(previous up_to, up_to]``; the first starts just above 0.

    Example:
        >>> Tier(up_to=10, unit_amount="6.50")
        Tier(up_to=Decimal('10'), unit_amount=Decimal('6.50'), flat_amount=Decimal('0'))
    """

    _error: ClassVar[type[SubkitError]] = PricingError
    _renamed_fields: ClassVar[dict[str, str]] = {"unit_price": "unit_amount", "flat_price": "flat_amount"}

    up_to: _Positive | None
    unit_amount: _Price = _ZERO
    flat_amount: _Price = _ZERO


def _check_tiers(tiers: tuple[Tier, ...]) -> tuple[Tier, ...]:
    if not tiers:
        raise PricingError("at least one tier is required")
    previous: Decimal | None = None
    for i, tier in enumerate(tiers):
        last = i == len(tiers) - 1
        if tier.up_to is None:
            if not last:
                raise PricingError(f"only the last tier may have up_to=None (tier {i} has it)")
            break
        if last:
            raise PricingError(
                f"gapped tiers: the last tier ends at {tier.up_to}; it must have up_to=None "
                "so every quantity is priced"
            )
        if previous is not None and tier.up_to <= previous:
            raise PricingError(
                f"tiers overlap: tier {i} ends at {tier.up_to}, not above the previous {previous}; "
                "up_to must strictly increase"
            )
        previous = tier.up_to
    return tiers


class FlatFee(_Base):
    """The same ``flat_amount`` every period, whatever the quantity (``price``: deprecated alias).

    Example:
        >>> FlatFee(flat_amount="29.00").amount(Decimal(0))
        Decimal('29.00')
    """

    _renamed_fields: ClassVar[dict[str, str]] = {"price": "flat_amount"}

    model: Literal["flat"] = "flat"
    flat_amount: _Price

    def amount(self, quantity: Decimal | int | str) -> Decimal:
        """``flat_amount`` (clamped to the period minimum/maximum); ``quantity`` is only checked."""
        return self.exact(_quantity(quantity))

    def exact(self, quantity: Decimal) -> Decimal:
        """:meth:`amount` of a quantity already checked (a ``Decimal`` >= 0): the hot path."""
        return self._clamp(self.flat_amount)


class PerUnit(_Base):
    """``quantity * unit_amount`` (per seat, per GB, per API call...).

    Example:
        >>> PerUnit(unit_amount="0.0004").amount(Decimal(2500))
        Decimal('1.0000')
    """

    _renamed_fields: ClassVar[dict[str, str]] = {"unit_price": "unit_amount"}

    model: Literal["per_unit"] = "per_unit"
    unit_amount: _Price

    def amount(self, quantity: Decimal | int | str) -> Decimal:
        """The exact, unrounded charge for ``quantity``."""
        return self.exact(_quantity(quantity))

    def exact(self, quantity: Decimal) -> Decimal:
        """:meth:`amount` of a quantity already checked (a ``Decimal`` >= 0): the hot path."""
        return self._clamp(CONTEXT.multiply(quantity, self.unit_amount))


class Graduated(_Base):
    """Each unit at its own tier's rate, plus each reached tier's ``flat_amount`` once (Stripe "graduated").

    Example:
        >>> g = Graduated(tiers=(Tier(up_to=5, unit_amount=7),
        ...                      Tier(up_to=None, unit_amount=6, flat_amount=1)))
        >>> g.amount(Decimal(8))  # 5 * 7 + 3 * 6 + 1
        Decimal('54')
    """

    model: Literal["graduated"] = "graduated"
    tiers: tuple[Tier, ...]

    @field_validator("tiers")
    @classmethod
    def _check(cls, tiers: tuple[Tier, ...]) -> tuple[Tier, ...]:
        return _check_tiers(tiers)

    def amount(self, quantity: Decimal | int | str) -> Decimal:
        """The exact, unrounded charge for ``quantity``."""
        return self.exact(_quantity(quantity))

    def exact(self, quantity: Decimal) -> Decimal:
        """:meth:`amount` of a quantity already checked (a ``Decimal`` >= 0): the hot path."""
        q = quantity
        total = _ZERO
        lower = _ZERO
        for tier in self.tiers:
            if q <= lower:
                break
            up_to = tier.up_to
            top = q if up_to is None or q < up_to else up_to
            units = CONTEXT.subtract(top, lower)
            total = CONTEXT.add(
                total, CONTEXT.add(CONTEXT.multiply(units, tier.unit_amount), tier.flat_amount)
            )
            if up_to is None:
                break
            lower = up_to
        return self._clamp(total)


class Volume(_Base):
    """All units at the rate of the tier the total reaches, plus its ``flat_amount`` (Stripe "volume").

    Quantity 0 reaches no tier and costs 0 (before the period minimum).

    Example:
        >>> v = Volume(tiers=(Tier(up_to=5, unit_amount=7), Tier(up_to=None, unit_amount="6.50")))
        >>> v.amount(Decimal(8))  # 8 * 6.50
        Decimal('52.00')
    """

    model: Literal["volume"] = "volume"
    tiers: tuple[Tier, ...]

    @field_validator("tiers")
    @classmethod
    def _check(cls, tiers: tuple[Tier, ...]) -> tuple[Tier, ...]:
        return _check_tiers(tiers)

    def amount(self, quantity: Decimal | int | str) -> Decimal:
        """The exact, unrounded charge for ``quantity``."""
        return self.exact(_quantity(quantity))

    def exact(self, quantity: Decimal) -> Decimal:
        """:meth:`amount` of a quantity already checked (a ``Decimal`` >= 0): the hot path."""
        q = quantity
        total = _ZERO
        if q > 0:
            for tier in self.tiers:
                if tier.up_to is None or q <= tier.up_to:
                    total = CONTEXT.add(CONTEXT.multiply(q, tier.unit_amount), tier.flat_amount)
                    break
        return self._clamp(total)


class Package(_Base):
    """``package_amount`` per started (or, rounding "down", per full) block of ``package_size`` units.

    ``free_units`` are taken off first (Lago "package").

    Example:
        >>> Package(package_size=100, package_amount=5).amount(Decimal(150))  # 2 packages
        Decimal('10')
    """

    _renamed_fields: ClassVar[dict[str, str]] = {"package_price": "package_amount"}

    model: Literal["package"] = "package"
    package_size: _Positive
    package_amount: _Price
    rounding: Literal["up", "down"] = "up"
    free_units: _Price = _ZERO

    def amount(self, quantity: Decimal | int | str) -> Decimal:
        """The charge for ``quantity``: a whole number of packages times ``package_amount``."""
        return self.exact(_quantity(quantity))

    def exact(self, quantity: Decimal) -> Decimal:
        """:meth:`amount` of a quantity already checked (a ``Decimal`` >= 0): the hot path."""
        billable = CONTEXT.subtract(quantity, self.free_units)
        if billable <= 0:
            return self._clamp(_ZERO)
        packages, rest = CONTEXT.divmod(billable, self.package_size)  # exact, unlike a division
        if rest and self.rounding == "up":
            packages = CONTEXT.add(packages, 1)
        return self._clamp(CONTEXT.multiply(packages, self.package_amount))


class Stairstep(_Base):
    """The ``flat_amount`` of the step the quantity falls in (e.g. 1-10 users $100, 11-25 $200).

    Steps use only ``flat_amount``; quantity 0 falls in no step and costs 0.

    Example:
        >>> s = Stairstep(steps=(Tier(up_to=10, flat_amount=100), Tier(up_to=None, flat_amount=200)))
        >>> s.amount(Decimal(11))
        Decimal('200')
    """

    model: Literal["stairstep"] = "stairstep"
    steps: tuple[Tier, ...]

    @field_validator("steps")
    @classmethod
    def _check(cls, steps: tuple[Tier, ...]) -> tuple[Tier, ...]:
        for i, step in enumerate(steps):
            if step.unit_amount:
                raise PricingError(f"step {i} has a unit_amount; stairstep steps use flat_amount only")
        return _check_tiers(steps)

    def amount(self, quantity: Decimal | int | str) -> Decimal:
        """The flat price of the step ``quantity`` falls in."""
        return self.exact(_quantity(quantity))

    def exact(self, quantity: Decimal) -> Decimal:
        """:meth:`amount` of a quantity already checked (a ``Decimal`` >= 0): the hot path."""
        q = quantity
        total = _ZERO
        if q > 0:
            for step in self.steps:
                if step.up_to is None or q <= step.up_to:
                    total = step.flat_amount
                    break
        return self._clamp(total)


class Percentage(_Base):
    """A ``rate`` percent of transaction amounts, plus a ``fixed_fee`` per transaction (Lago "percentage").

    Use :meth:`amount_for_transactions` for the full model. :meth:`amount` sees
    only an aggregated total, so it charges ``quantity * rate / 100`` alone: no
    fixed fee and no per-transaction minimum/maximum.

    Example:
        >>> p = Percentage(rate="2.9", fixed_fee="0.30")
        >>> p.amount_for_transactions([Decimal("100.00"), Decimal("10.00")])  # 3.20 + 0.59
        Decimal('3.79000')
    """

    model: Literal["percentage"] = "percentage"
    rate: _Price
    fixed_fee: _Price = _ZERO
    min_per_transaction: _Price | None = None
    max_per_transaction: _Price | None = None

    @field_validator("rate")
    @classmethod
    def _check_rate(cls, rate: Decimal) -> Decimal:
        if rate > 100:
            raise PricingError(f"rate is a percent in [0, 100], got {rate}")
        return rate

    @model_validator(mode="after")
    def _check_transaction_bounds(self) -> Self:
        low, high = self.min_per_transaction, self.max_per_transaction
        if low is not None and high is not None and low > high:
            raise _field_error(
                "min_per_transaction", f"min_per_transaction {low} is above max_per_transaction {high}", low
            )
        return self

    def amount(self, quantity: Decimal | int | str) -> Decimal:
        """``quantity * rate / 100`` for an aggregated total (no fixed fee, no per-transaction bounds).

        Example:
            >>> Percentage(rate="2.9").amount(Decimal("1000"))
            Decimal('29.000')
        """
        return self.exact(_quantity(quantity))

    def exact(self, quantity: Decimal) -> Decimal:
        """:meth:`amount` of a quantity already checked (a ``Decimal`` >= 0): the hot path."""
        return self._clamp(CONTEXT.multiply(quantity, self.rate).scaleb(-2, CONTEXT))

    def amount_for_transactions(self, amounts: Sequence[Decimal]) -> Decimal:
        """Sum over transactions of ``clamp(t * rate / 100 + fixed_fee, min, max)``.

        Example:
            >>> Percentage(rate=1, min_per_transaction="0.50").amount_for_transactions([Decimal(10)])
            Decimal('0.50')
        """
        rate, fee = self.rate, self.fixed_fee
        low, high = self.min_per_transaction, self.max_per_transaction
        total = _ZERO
        for value in amounts:
            t = decimal_of(value, "amounts")
            if t < 0:
                raise PricingError(f"transaction amounts must be >= 0, got {t}", field="amounts")
            charge = CONTEXT.add(CONTEXT.multiply(t, rate).scaleb(-2, CONTEXT), fee)
            if low is not None and charge < low:
                charge = low
            if high is not None and charge > high:
                charge = high
            total = CONTEXT.add(total, charge)
        return self._clamp(total)


#: Any pricing model, told apart by its ``model`` field.
PricingModel: TypeAlias = Annotated[
    FlatFee | PerUnit | Graduated | Volume | Package | Stairstep | Percentage,
    Field(discriminator="model"),
]

_ADAPTER: TypeAdapter[PricingModel] = TypeAdapter(PricingModel)


def parse_pricing(data: object) -> PricingModel:
    """Validate a dict (e.g. parsed JSON) into its pricing model; errors are ``PricingError``.

    Example:
        >>> parse_pricing({"model": "flat", "flat_amount": "9.99"})
        FlatFee(minimum=None, maximum=None, model='flat', flat_amount=Decimal('9.99'))
    """
    try:
        return _ADAPTER.validate_python(data)
    except pydantic.ValidationError as exc:
        err = raise_subkit_error(exc, PricingError)
        first = exc.errors()[0]
        cause = first.get("ctx", {}).get("error")
        if isinstance(cause, SubkitError) and cause.field:
            # The model's own field path ("tiers.0"), as its constructor reports it,
            # rather than the union tag pydantic puts in front.
            err.field = cause.field
        elif first["type"] in ("union_tag_invalid", "union_tag_not_found"):
            err.field = "model"
        raise err from None


def price_amount(model: PricingModel, quantity: object) -> Decimal:
    """The exact, unrounded charge of ``model`` for ``quantity`` (a Decimal, int or str).

    Example:
        >>> price_amount(FlatFee(flat_amount=10, minimum=12), 3)
        Decimal('12')
    """
    return model.amount(_quantity(quantity))
