"""The canonical tables in the middle (docs/architecture.md §Canonical model): distributor adapters
produce them, PSA adapters read PSA state into them and apply plans made from them. Reconcile only
ever sees these columns.

Each table is declared as ordered ``{column: pandas dtype}``; :func:`conform` makes a frame carry
exactly those columns with those dtypes, so a missing column is caught at one place.
"""

from __future__ import annotations

import pandas as pd

# One row per distributor catalog item (catalog_sync / price_availability desired state, before mapping).
CATALOG_ITEM: dict[str, str] = {
    "source_key": "string",  # "<distributor>:<sku>", the cross-reference key, e.g. "tdsynnex:5000006"
    "distributor": "string",  # tdsynnex | pax8 | crayon
    "sku": "string",  # distributor SKU
    "mpn": "string",  # manufacturer part number
    "manufacturer": "string",
    "description": "string",  # short name
    "long_description": "string",
    "category_code": "string",  # distributor category code
    "cost": "float64",  # reseller cost in ``currency``
    "msrp": "float64",
    "currency": "string",
    "quantity_available": "Int64",
    "weight": "float64",
    "upc": "string",
    "status": "string",  # Active | Discontinued | Not found | Not authorized
    "kind": "string",  # hardware | cloud
    "price_flagged": "boolean",  # True: price below cost is allowed for this item
    # Why the distributor's record could not be read as it stands (e.g. a flat-file row with the wrong cell
    # count, a price that is not a number), with its line number; missing for a readable record. The
    # quality suite quarantines every row that has one, so validated rows never carry it.
    "parse_error": "string",
}

# One row per product in the PSA (Autotask Products / ConnectWise catalog items), PSA-neutral.
PSA_PRODUCT: dict[str, str] = {
    "psa_id": "string",
    "name": "string",
    "description": "string",
    "mpn": "string",
    "vendor_sku": "string",
    "manufacturer": "string",
    "category": "string",  # PSA category name (adapters resolve ids)
    "unit_cost": "float64",
    "unit_price": "float64",
    "msrp": "float64",
    "active": "boolean",
    # The product's default vendor: "TD SYNNEX" when it is the distributor's company (Autotask
    # ``defaultVendorID``, set by the default ProductVendors row; ConnectWise ``vendor``), another vendor
    # as "company #<id>", missing when there is none.
    "vendor": "string",
    # On-hand quantity where channelsync keeps the distributor's stock (Autotask: the InventoryItem at the
    # configured location); missing when there is none or it is not read (``sync_inventory`` off).
    "quantity_on_hand": "Int64",
    # Not a product field: the id of the PSA record holding ``quantity_on_hand`` (the InventoryItem), so
    # writing a changed quantity is one call (see LOCATORS).
    "inventory_id": "string",
}

# The fields channelsync writes to a PSA product; the fingerprint is computed over these.
PRODUCT_FIELDS: tuple[str, ...] = (
    "name", "description", "mpn", "vendor_sku", "manufacturer", "category", "unit_cost", "unit_price", "msrp", "active",
    "vendor",
)
# Managed only when a template option says so (catalog_sync ``sync_inventory``), and never fingerprinted:
# the fingerprint stays the product's (price_availability, which does not read stock, computes the same
# one), and stock is the distributor's to set, so a changed quantity is never a person's edit to protect.
STOCK_FIELDS: tuple[str, ...] = ("quantity_on_hand",)
# Managed field → the PSA_PRODUCT column holding the id of the record that stores it.
LOCATORS: dict[str, str] = {"quantity_on_hand": "inventory_id"}
# The vendor a distributor's products get in the PSA (the canonical ``vendor`` value).
DISTRIBUTOR_VENDORS: dict[str, str] = {"tdsynnex": "TD SYNNEX", "pax8": "Pax8", "crayon": "Crayon"}


def fingerprint_fields(fields: tuple[str, ...]) -> tuple[str, ...]:
    """The managed fields a fingerprint covers (all but the stock fields)."""
    return tuple(field for field in fields if field not in STOCK_FIELDS)

# One row per requested TD SYNNEX SKU (price_availability's extract).
PNA_ROW: dict[str, str] = {
    "source_key": "string",  # "tdsynnex:<SKU>", the xref key
    "sku": "string",
    "mpn": "string",
    "description": "string",
    "status": "string",  # Active | Discontinued | Not found | Not authorized
    "cost": "float64",  # reseller price in ``currency``; missing unless Active
    "currency": "string",
    "quantity_available": "Int64",  # all warehouses
    "on_order": "Int64",  # incoming quantity (P&A v2.1+), all warehouses
    "eta": "string",  # earliest estimated arrival (YYYY-MM-DD) of incoming stock
}
PNA_STATUSES = ("Active", "Discontinued", "Not found", "Not authorized")

# One row per cross-reference entry (state store ``xref`` for one integration and entity type).
XREF: dict[str, str] = {
    "source_key": "string",
    "psa_id": "string",
    "fingerprint": "string",  # of PRODUCT_FIELDS as last written by channelsync
}

# One row per planned operation. Desired / before values are columns, not per-row dicts, so a plan of
# 1,000,000 rows stays cheap; ``channelsync.reconcile.plan.CatalogPlan.operations()`` builds the dicts
# lazily for the rows a loader sends.
PLAN: dict[str, str] = {
    "op": "string",  # create | update | deactivate | unchanged | conflict | duplicate
    "source_key": "string",
    "psa_id": "string",  # missing for create and duplicate
    "idempotency_key": "string",  # write ops only
    "changed_fields": "object",  # tuple[str, ...]: fields to send (update), all (create), ("active",)
    "fingerprint": "string",  # of the desired values of the managed fields (what the PSA holds after)
    "reason": "string",  # why (conflict, duplicate, re-create of a vanished product, override)
    "match": "string",  # how the PSA product was found: xref | vendor_sku | mpn; missing for create
    "link": "boolean",  # True: a PSA product made by hand is linked by this row (xref is new)
    "save_xref": "boolean",  # True: upsert xref(source_key, psa_id, fingerprint) once this row is applied
    **{f"desired_{field}": dtype for field, dtype in PSA_PRODUCT.items()
       if field != "psa_id" and field not in LOCATORS.values()},
    # before_<locator>: the id of the record holding a managed field, set when that field is managed.
    **{f"before_{field}": dtype for field, dtype in PSA_PRODUCT.items() if field != "psa_id"},
}

PLAN_OPS = ("create", "update", "deactivate", "unchanged", "conflict", "duplicate")
WRITE_OPS = ("create", "update", "deactivate")


def empty(schema: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series(dtype=dtype) for column, dtype in schema.items()})


def conform(frame: pd.DataFrame, schema: dict[str, str], *, name: str) -> pd.DataFrame:
    """Return ``frame`` with exactly ``schema``'s columns, in order, cast to its dtypes."""
    missing = [column for column in schema if column not in frame.columns]
    if missing:
        raise ValueError(f"{name} is missing column(s): {', '.join(missing)}")
    return frame[list(schema)].astype(schema)
