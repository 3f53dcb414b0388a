"""Turning catalog_sync's options into the planner's, the suite's and the PSA adapter's (one place, so
they agree): ``sync_inventory`` makes stock a managed field of the plan (:func:`catalog_options`) and
gives the adapter the location it reads and writes it at (:func:`catalog_adapter`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from channelsync.errors import ConfigError
from channelsync.quality.catalog import CatalogSuiteOptions
from channelsync.reconcile.catalog import CatalogOptions
from channelsync.reconcile.pricing import MarkupRule, MarkupRules
from channelsync.templates.catalog_sync.options import CatalogSyncOptions
from channelsync.templates.options_common import MarkupRules as MarkupOptions

if TYPE_CHECKING:
    from channelsync.adapters.psa_products import PsaProductAdapter


def markup_rules(markup: MarkupOptions) -> MarkupRules:
    return MarkupRules(
        default=MarkupRule(percent=markup.percent, basis=markup.basis),
        by_category={code: MarkupRule(percent=percent, basis=markup.basis)
                     for code, percent in markup.by_category.items()},
    )


def check_psa(options: CatalogSyncOptions, psa_system: str) -> None:
    """The configuration check again, for options that reach a run another way (run-time overrides)."""
    from channelsync.templates.catalog_sync.options import OptionConflict

    try:
        options.check_for_psa(psa_system)
    except OptionConflict as exc:
        raise ConfigError(f"catalog_sync option {exc.option}: {exc}") from None


def catalog_options(options: CatalogSyncOptions, *, psa_system: str,
                    category_map: Mapping[str, str] | None = None) -> CatalogOptions:
    """The planner's options; ``category_map`` is the effective map a run uses (the file's, when not given)."""
    check_psa(options, psa_system)
    overrides: dict[str, object] = {}
    if options.max_products is not None:
        overrides["max_products"] = options.max_products
    return CatalogOptions.for_psa(
        psa_system,
        manage_stock=options.sync_inventory,
        key_prefix="product",
        category_map=dict(options.category_map if category_map is None else category_map),
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
        sku_max=planner.limits.vendor_sku,
        mpn_max=planner.limits.mpn,
    )


def catalog_adapter(options: CatalogSyncOptions, psa_system: str, client: object) -> PsaProductAdapter:
    """The PSA product adapter for these options: with ``sync_inventory`` the Autotask adapter reads and
    writes stock at ``inventory_location`` (the plan manages ``quantity_on_hand`` only then)."""
    from channelsync.adapters.psa_products import product_adapter

    check_psa(options, psa_system)
    if psa_system == "autotask" and options.sync_inventory:
        from channelsync.adapters.autotask_products import AutotaskProducts

        return AutotaskProducts(client, inventory_location=options.inventory_location)  # type: ignore[arg-type]
    return product_adapter(psa_system, client)
