"""Turning price_availability's options into the planner's options.

Pricing is inherited from the integration's catalog_sync unless set here: both templates write
``unit_cost`` / ``unit_price`` of the same products, so if their markup or currency rules differed
they would overwrite each other every run. So ``markup`` and ``currency`` default to catalog_sync's
(when the integration configures catalog_sync and these options do not set them), and the account
currency (``source_currency``) and the conflict rule (``distributor_wins``) always come from
catalog_sync.

Markup rules are keyed by TD SYNNEX category code; P&A carries no category, so the rule is found
through the PSA product's category and the reverse of catalog_sync's effective category map (the file's
``category_map`` overlaid by the state store's category mappings: ``channelsync.effective_maps``, as
catalog_sync itself uses it). A PSA category that several codes with *different* rules map to is
ambiguous: its price is left to catalog_sync.
"""

from __future__ import annotations

from collections.abc import Mapping

from channelsync.canonical.limits import FIELDS_BY_PSA
from channelsync.config import IntegrationConfig
from channelsync.reconcile.price_availability import PnaOptions
from channelsync.reconcile.pricing import MarkupRule
from channelsync.templates.catalog_sync.options import CatalogSyncOptions
from channelsync.templates.options_common import CurrencyRules, MarkupRules
from channelsync.templates.price_availability.options import PriceAvailabilityOptions


def catalog_sync_options(integration: IntegrationConfig) -> CatalogSyncOptions | None:
    template = integration.templates.get("catalog_sync")
    return CatalogSyncOptions.model_validate(template.options) if template is not None else None


def effective_pricing(options: PriceAvailabilityOptions, integration: IntegrationConfig
                      ) -> tuple[MarkupRules, CurrencyRules]:
    catalog = catalog_sync_options(integration)
    markup = options.markup
    currency = options.currency
    if catalog is not None and "markup" not in options.model_fields_set:
        markup = catalog.markup
    if catalog is not None and "currency" not in options.model_fields_set:
        currency = catalog.currency
    return markup, currency


def rules_by_category(markup: MarkupRules, category_map: dict[str, str]) -> dict[str, MarkupRule | None]:
    """PSA category name → the markup rule of the TD SYNNEX codes mapped to it (None: ambiguous)."""
    default = MarkupRule(percent=markup.percent, basis=markup.basis)
    by_name: dict[str, set[MarkupRule]] = {}
    for code, name in category_map.items():
        percent = markup.by_category.get(code, markup.percent)
        by_name.setdefault(name, set()).add(MarkupRule(percent=percent, basis=markup.basis))
    out: dict[str, MarkupRule | None] = {}
    for name, rules in by_name.items():
        rule = next(iter(rules)) if len(rules) == 1 else None
        if rule != default:
            out[name] = rule
    return out


def pna_options(options: PriceAvailabilityOptions, integration: IntegrationConfig, *,
                category_map: Mapping[str, str] | None = None) -> PnaOptions:
    """The planner's options; ``category_map`` is catalog_sync's effective map (its file map when not given)."""
    catalog = catalog_sync_options(integration)
    markup, currency = effective_pricing(options, integration)
    if category_map is None:
        category_map = dict(catalog.category_map) if catalog is not None else {}
    return PnaOptions(
        key_prefix="product",
        fields=FIELDS_BY_PSA[integration.psa.system],
        source_currency=catalog.source_currency if catalog is not None else "USD",
        target_currency=currency.target,
        currency_rates=dict(currency.rates),
        update_price=options.update_price,
        default_rule=MarkupRule(percent=markup.percent, basis=markup.basis),
        rules_by_category=rules_by_category(markup, dict(category_map)),
        distributor_wins=catalog.distributor_wins if catalog is not None else False,
    )
