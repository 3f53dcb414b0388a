"""Turning catalog_sync's options into the planner's and the suite's options (one place, so they agree)."""

from __future__ import annotations

from channelsync.quality.catalog import CatalogSuiteOptions
from channelsync.reconcile.catalog import CatalogOptions
from channelsync.reconcile.pricing import MarkupRule, MarkupRules
from channelsync.templates.catalog_sync.options import CatalogSyncOptions
from channelsync.templates.options_common import MarkupRules as MarkupOptions


def markup_rules(markup: MarkupOptions) -> MarkupRules:
    return MarkupRules(
        default=MarkupRule(percent=markup.percent, basis=markup.basis),
        by_category={code: MarkupRule(percent=percent, basis=markup.basis)
                     for code, percent in markup.by_category.items()},
    )


def catalog_options(options: CatalogSyncOptions, *, psa_system: str) -> CatalogOptions:
    overrides: dict[str, object] = {}
    if options.max_products is not None:
        overrides["max_products"] = options.max_products
    return CatalogOptions.for_psa(
        psa_system,
        key_prefix="product",
        category_map=dict(options.category_map),
        target_currency=options.currency.target,
        currency_rates=dict(options.currency.rates),
        markup=markup_rules(options.markup),
        distributor_wins=options.distributor_wins,
        max_deactivate_share=options.max_deactivate_share,
        **overrides,
    )


def suite_options(options: CatalogSyncOptions, planner: CatalogOptions) -> CatalogSuiteOptions:
    """Accepted currencies are the configured ones that can be converted to the target."""
    convertible = {planner.target_currency, *planner.currency_rates}
    return CatalogSuiteOptions.create(
        currencies=[c for c in options.currency.accepted if c in convertible] or [planner.target_currency],
        mapped_categories=planner.category_map,
        name_max=planner.limits.name,
        description_max=planner.limits.description,
    )
