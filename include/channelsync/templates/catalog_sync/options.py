"""Options of catalog_sync (validated when the configuration is loaded)."""

from __future__ import annotations

from pydantic import Field, ValidationInfo, field_validator

from channelsync.templates.options_common import CurrencyRules, MarkupRules, TemplateOptions

# PSAs with a writable on-hand quantity (mirrors channelsync.canonical.limits.STOCK_WRITABLE; not imported
# here because this module is read at DAG parse time and must not import pandas).
STOCK_PSAS = ("autotask",)
PSA_NAMES = {"autotask": "Autotask", "connectwise": "ConnectWise"}


class OptionConflict(ValueError):
    """An option the integration's PSA cannot honour (raised by ``check_for_psa``)."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(message)
        self.option = option


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
    # Also write TD SYNNEX's warehouse quantities (the catalog's quantity available) as on-hand stock:
    # Autotask quantityOnHand of each product's InventoryItem at ``inventory_location`` (created when
    # missing), written only when it changed. Refused for ConnectWise, whose catalog items have no writable
    # on-hand quantity (stock moves only through procurement: receiving, inventory adjustments).
    sync_inventory: bool = False
    # The Autotask inventory location (locationName) holding the distributor's stock; required with
    # sync_inventory. Use a location of its own (e.g. "TD SYNNEX"), never your own warehouse: its quantities
    # are overwritten with TD SYNNEX's.
    inventory_location: str | None = Field(default=None, min_length=1, max_length=50, validate_default=True)

    @field_validator("inventory_location")
    @classmethod
    def _location_with_sync(cls, value: str | None, info: ValidationInfo) -> str | None:
        sync = bool(info.data.get("sync_inventory"))
        if sync and not value:
            raise ValueError("sync_inventory is true: name the Autotask inventory location that holds TD SYNNEX's "
                             "stock (e.g. a location of its own named 'TD SYNNEX')")
        if value and not sync:
            raise ValueError("set only with sync_inventory: true (it would be ignored)")
        return value

    def check_for_psa(self, psa_system: str) -> None:
        """Refuse options the integration's PSA cannot honour (called when the configuration is loaded)."""
        if self.sync_inventory and psa_system not in STOCK_PSAS:
            raise OptionConflict(
                "sync_inventory",
                f"{PSA_NAMES.get(psa_system, psa_system)} has no writable on-hand quantity (catalog items carry "
                "none; stock moves only through procurement receiving and inventory adjustments), so catalog_sync "
                "cannot sync inventory to it; remove sync_inventory",
            )
