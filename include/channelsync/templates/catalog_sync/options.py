"""Options of catalog_sync (validated when the configuration is loaded)."""

from __future__ import annotations

from pydantic import Field

from channelsync.templates.options_common import CurrencyRules, MarkupRules, TemplateOptions


class CatalogSyncOptions(TemplateOptions):
    # TD SYNNEX category code → PSA product category; the keys are the category selection.
    category_map: dict[str, str] = Field(default_factory=dict)
    markup: MarkupRules = Field(default_factory=MarkupRules)
    currency: CurrencyRules = Field(default_factory=CurrencyRules)
    # Currency of the TD SYNNEX account's prices (the flat file carries none: US accounts are USD).
    source_currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    # SKUs allowed to sell below cost (promotions, loss leaders).
    price_flagged_skus: list[str] = Field(default_factory=list)
    # A product a person changed in the PSA since the last sync is a conflict unless this is true.
    distributor_wins: bool = False
    # Refuse the run when more than this share of linked products would be deactivated.
    max_deactivate_share: float = Field(default=0.2, ge=0, le=1)
    # None: the PSA's own limit (ConnectWise 20,000 catalog items; Autotask none).
    max_products: int | None = Field(default=None, ge=1)
    # Also write on-hand quantities (ConnectWise inventory / Autotask InventoryItems) when true.
    sync_inventory: bool = False
