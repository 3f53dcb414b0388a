"""Per-PSA field limits and the product fields each PSA actually stores.

Shared by the quality suite (which warns about over-long text) and reconcile (which truncates it), so
both agree on one set of numbers. Sources: docs/vendors/autotask.md §A.7 (Autotask Products, SOAP-era
lengths) and docs/vendors/connectwise.md §B.7 (ConnectWise catalog_item / manufacturer).
"""

from __future__ import annotations

from dataclasses import dataclass

from channelsync.canonical import PRODUCT_FIELDS


@dataclass(frozen=True)
class TextLimits:
    """Maximum lengths of the canonical product text fields in one PSA (characters)."""

    name: int
    description: int
    mpn: int
    vendor_sku: int
    manufacturer: int

    def as_dict(self) -> dict[str, int]:
        return {
            "name": self.name,
            "description": self.description,
            "mpn": self.mpn,
            "vendor_sku": self.vendor_sku,
            "manufacturer": self.manufacturer,
        }


# Autotask Products: name 100, description 2000 (a weak source says 8000; 2000 is the safe bound),
# manufacturerProductName 50, vendorProductNumber / sku 50, manufacturerName 100.
AUTOTASK_LIMITS = TextLimits(name=100, description=2000, mpn=50, vendor_sku=50, manufacturer=100)

# ConnectWise catalog_item: description (the short name shown everywhere) 60, customerDescription 6000,
# manufacturerPartNumber 50, vendorSku 50; manufacturer is a reference whose ``name`` is 50.
CONNECTWISE_LIMITS = TextLimits(name=60, description=6000, mpn=50, vendor_sku=50, manufacturer=50)

# Fields each PSA stores. ConnectWise catalog items have no MSRP field: comparing it would make every
# product look changed forever, so reconcile (and the fingerprint) only look at the fields listed here.
AUTOTASK_FIELDS: tuple[str, ...] = PRODUCT_FIELDS
CONNECTWISE_FIELDS: tuple[str, ...] = tuple(field for field in PRODUCT_FIELDS if field != "msrp")

# Fields that joined the managed set after cross-reference fingerprints were first stored. A fingerprint
# an older release stored without them still proves nobody edited the product since: reconcile accepts it
# (and stores the current one), so adding a field does not turn every linked product into a conflict.
ADDED_FIELDS: tuple[str, ...] = ("vendor",)


def previous_fields(fields: tuple[str, ...]) -> tuple[str, ...] | None:
    """``fields`` as older releases fingerprinted them, or None when that is ``fields`` itself."""
    older = tuple(field for field in fields if field not in ADDED_FIELDS)
    return older if older != fields and older else None


# Where channelsync can write on-hand stock (catalog_sync ``sync_inventory``). Autotask: quantityOnHand of
# the product's InventoryItem at a configured location. ConnectWise: no — a catalog item carries no on-hand
# quantity (its ``{id}/inventory`` and ``{identifier}/quantityOnHand`` children are read-only), stock is
# kept per warehouse bin for Inventory-class items only (channelsync creates NonInventory items) and moves
# only through procurement (receiving, inventory adjustments), which post to the books.
STOCK_WRITABLE: dict[str, bool] = {"autotask": True, "connectwise": False}

# ConnectWise's catalog limit as reported for TD SYNNEX Digital Bridge (docs/vendors/tdsynnex.md §1.13
# marks it unverified); reconcile refuses plans that would grow the PSA past ``CatalogOptions.max_products``.
CONNECTWISE_MAX_PRODUCTS = 20_000

LIMITS_BY_PSA: dict[str, TextLimits] = {"autotask": AUTOTASK_LIMITS, "connectwise": CONNECTWISE_LIMITS}
FIELDS_BY_PSA: dict[str, tuple[str, ...]] = {"autotask": AUTOTASK_FIELDS, "connectwise": CONNECTWISE_FIELDS}
MAX_PRODUCTS_BY_PSA: dict[str, int | None] = {"autotask": None, "connectwise": CONNECTWISE_MAX_PRODUCTS}
