"""``subkit catalog load`` and ``subkit catalog show``: the product catalog in and out of the store.

Example:
    >>> sorted(COMMANDS), GROUP
    (['catalog load', 'catalog show'], 'Load or show the product catalog')
"""

from __future__ import annotations

import argparse
from typing import Any

from subkit.adapters.catalog_file import load_catalog
from subkit.catalog.catalog import Plan
from subkit.catalog.pricing import PricingModel
from subkit.entrypoints.cli.command import Arg, Command
from subkit.entrypoints.cli.context import EXIT_OK, CatalogFileError, Context
from subkit.entrypoints.cli.output import print_table
from subkit.errors import CatalogError, NotFoundError, SubkitError

__all__ = ["COMMANDS", "GROUP"]


def _catalog_load(args: argparse.Namespace, ctx: Context) -> int:
    """Validate a catalog JSON file and store it (replacing the current catalog).

    The file is what 'subkit catalog show --json' prints: products, plans with a
    pricing model per currency. A file without plans is refused; so is one that leaves
    out stored plans or products (unless --prune). Subscriptions keep the plan versions
    they pinned: a version in use can be neither dropped nor edited (publish the change
    as a new version). Creates the database if it does not exist.
    """
    try:
        catalog = load_catalog(args.file)
    except SubkitError as e:
        where = f"{e.field}: " if e.field else ""
        raise CatalogFileError(f"{args.file}: {where}{e.message}") from None
    if not catalog.plans:
        raise CatalogFileError(
            f"{args.file} holds no plans: nothing to load (the file must be a whole catalog, "
            "as 'subkit catalog show --json' prints it)"
        )
    engine = ctx.engine(create=True)
    try:
        current = engine.catalog
    except NotFoundError:
        current = None
    if current is not None and not args.prune:
        dropped = sorted({p.id for p in current.plans} - {p.id for p in catalog.plans})
        dropped_products = sorted({p.id for p in current.products} - {p.id for p in catalog.products})
        if dropped or dropped_products:
            raise CatalogFileError(
                f"{args.file} is partial: it drops plans {dropped or '[]'} and products "
                f"{dropped_products or '[]'} of the stored catalog; load a whole catalog "
                "('subkit catalog show --json' prints it), or pass --prune to remove them"
            )
    try:
        engine.set_catalog(catalog)
    except CatalogError as e:
        raise CatalogFileError(f"{args.file}: {e.message}") from None
    versions = len(catalog.plans)
    ctx.out(
        f"Loaded {args.file}: {len(catalog.products)} products, {versions} plan versions, "
        f"currencies {', '.join(catalog.currencies) or '(any)'}"
    )
    return EXIT_OK


def _catalog_show(args: argparse.Namespace, ctx: Context) -> int:
    """Print the stored catalog: products, plans and their prices (--json: the loadable JSON)."""
    try:
        catalog = ctx.engine().catalog
    except NotFoundError:
        raise NotFoundError(
            "the store has no catalog yet; load one with 'subkit catalog load FILE'", field="catalog"
        ) from None
    if args.json:
        ctx.out(catalog.to_json())
        return EXIT_OK
    ctx.out(f"Currencies: {', '.join(catalog.currencies) or '(any)'}")
    ctx.out("Products:")
    print_table(ctx, ("  ID", "Name"), [(f"  {p.id}", p.name) for p in catalog.products])
    ctx.out("Plans:")
    rows = []
    for plan in catalog.plans:
        label = f"  {plan.id} v{plan.version}"
        extra = [str(plan.interval), plan.kind.value]
        if plan.metric:
            extra.append(f"metered: {plan.metric}")
        if plan.trial_days:
            extra.append(f"{plan.trial_days}-day trial")
        if plan.effective_from:
            extra.append(f"from {plan.effective_from.isoformat()}")
        rows.append((label, plan.name, ", ".join(extra)))
        for currency, price in plan.prices.items():
            rows.append(("", f"  {currency}", _describe_price(price) + _setup(plan, currency)))
    print_table(ctx, ("  Plan", "Name", "Terms"), rows)
    return EXIT_OK


def _setup(plan: Plan, currency: str) -> str:
    fee = plan.setup_fee.get(currency)
    return "" if fee is None else f"; setup fee {fee}"


def _describe_price(price: PricingModel) -> str:
    """``graduated up to 10: 40/unit + 200 flat; beyond: 25/unit``, ``per_unit unit_amount=12``..."""
    data: dict[str, Any] = price.model_dump(mode="json", exclude_defaults=True)
    parts = []
    for tier in data.pop("tiers", None) or data.pop("steps", None) or ():
        bound = f"up to {tier['up_to']}" if tier.get("up_to") is not None else "beyond"
        costs = [f"{tier['unit_amount']}/unit"] if "unit_amount" in tier else []
        costs += [f"{tier['flat_amount']} flat"] if "flat_amount" in tier else []
        parts.append(f"{bound}: {' + '.join(costs) or '0'}")
    parts.extend(f"{k}={v}" for k, v in data.items() if k != "model")
    return f"{price.model} " + "; ".join(parts)


#: The group's help.
GROUP = "Load or show the product catalog"
#: The commands, for :data:`subkit.entrypoints.cli.COMMANDS`.
COMMANDS: dict[str, Command] = {
    "catalog load": Command(
        _catalog_load,
        Arg("file", metavar="FILE", help="catalog JSON file"),
        Arg("--prune", action="store_true", help="remove stored plans and products the file leaves out"),
    ),
    "catalog show": Command(
        _catalog_show, Arg("--json", action="store_true", help="print the catalog as JSON")
    ),
}
