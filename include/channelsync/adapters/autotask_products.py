"""Canonical products ↔ Autotask Products, their TD SYNNEX ProductVendors row and (optionally) stock.

Canonical → Autotask: name → ``name`` (100), description → ``description`` (2000), mpn →
``manufacturerProductName`` (the swagger's MPN field, the natural key an unanswered create is looked
up by), vendor_sku → ``sku``, manufacturer → ``manufacturerName``, category → ``productCategory``
(a picklist label, resolved through entityInformation/fields), unit_cost → ``unitCost``,
unit_price → ``unitPrice``, msrp → ``msrp``, active → ``isActive``.

vendor → the product's default ProductVendors row. Read from ``defaultVendorID`` (read with the
products: no extra call per product; Autotask sets it from the default vendor row): "TD SYNNEX" when it
is the TD SYNNEX company, ``company #<id>`` for another vendor, missing when there is none. A created
product gets its row (vendorPartNumber = the SYNNEX SKU, vendorCost at creation, isDefault) right after
the product; an update whose changed fields include ``vendor`` creates the row, or makes an existing
TD SYNNEX row the active default. The row is part of the product's desired state: when it cannot be
written after a create, the create is reported outcome-unknown (:class:`OutcomeUnknownError`), so the
loader looks the product up by MPN with :meth:`resolve_unknown`, which adds the row if it is still
missing — never a second product. Price changes write the product only (cost lives in ``unitCost``:
one call; the vendor row's cost is not maintained).

quantity_on_hand → ``quantityOnHand`` of the product's InventoryItem at ``inventory_location``
(catalog_sync ``sync_inventory``): read with one InventoryItems query of that location (paged);
written only when it changed, with one call (PATCH the item whose id the plan carries, or create it).
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

import pandas as pd

from channelsync.canonical import PSA_PRODUCT, conform
from channelsync.errors import ChannelsyncError, FatalApiError, OutcomeUnknownError, QuotaExhausted, define

if TYPE_CHECKING:
    from channelsync.clients.autotask import AutotaskClient
    from channelsync.runs.loader import Operation

log = logging.getLogger(__name__)

SYSTEM = "autotask"
AUTOTASK_UNKNOWN_CATEGORY = define(
    "AUTOTASK_UNKNOWN_CATEGORY", SYSTEM, "The mapped category is not an Autotask product category picklist value"
)
AUTOTASK_NO_BILLING_CODE = define(
    "AUTOTASK_NO_BILLING_CODE", SYSTEM, "No active Material billing code to attach new products to"
)
AUTOTASK_PRODUCT_INCOMPLETE = define(
    "AUTOTASK_PRODUCT_INCOMPLETE", SYSTEM,
    "A product was written but its TD SYNNEX vendor row or stock was not; the product is looked up and completed",
)
AUTOTASK_LOOKUP_FAILED = define(
    "AUTOTASK_LOOKUP_FAILED", SYSTEM, "Looking up a product whose create may have been applied failed; still unknown"
)
AUTOTASK_UNKNOWN_VENDOR = define("AUTOTASK_UNKNOWN_VENDOR", SYSTEM, "The product's vendor has no Autotask company")
AUTOTASK_NO_INVENTORY_LOCATION = define(
    "AUTOTASK_NO_INVENTORY_LOCATION", SYSTEM, "No active Autotask inventory location has the configured name"
)
AUTOTASK_STOCK_NOT_CONFIGURED = define(
    "AUTOTASK_STOCK_NOT_CONFIGURED", SYSTEM, "A quantity was planned but no inventory location is configured"
)
READ_FIELDS = ["id", "name", "description", "manufacturerProductName", "sku", "manufacturerName", "productCategory",
               "unitCost", "unitPrice", "msrp", "isActive", "defaultVendorID"]
FIELD_MAP = {"name": "name", "description": "description", "mpn": "manufacturerProductName", "vendor_sku": "sku",
             "manufacturer": "manufacturerName", "unit_cost": "unitCost", "unit_price": "unitPrice", "msrp": "msrp",
             "active": "isActive"}
VENDOR_NAME = "TD SYNNEX"
STOCK_FIELD = "quantity_on_hand"
MATERIAL_USE_TYPE = 2  # BillingCodes.useType "Material" (docs/vendors/autotask.md §A.6)
_MISSING = -1


class AutotaskProducts:
    psa_system = SYSTEM
    entity_type = "product"
    records_xref = True  # a product is found again through its source ↔ PSA pair

    def __init__(self, client: AutotaskClient, *, inventory_location: str | None = None) -> None:
        """``inventory_location``: the InventoryLocations.locationName holding the distributor's stock
        (catalog_sync ``inventory_location``); None: stock is neither read nor written."""
        self.client = client
        self.inventory_location = inventory_location
        self._lock = threading.Lock()
        self._categories: dict[str, int] | None = None
        self._billing_code: int | None = None
        self._vendor_id: int | None = None
        self._location_id: int | None = None

    # ---- reading -----------------------------------------------------------------------------------
    def read_products(self) -> pd.DataFrame:
        """Every product in one paged pass (500 per call); stock adds one paged InventoryItems query."""
        labels = {value: label for label, value in self._category_values().items()}
        vendor_id = self._vendor_or_none()
        stock = self._stock_by_product() if self.inventory_location else {}
        rows = []
        for item in self.client.iter_products(include_fields=READ_FIELDS):
            held = stock.get(int(item["id"]))
            rows.append({
                "psa_id": str(item["id"]),
                **{canonical: item.get(field) for canonical, field in FIELD_MAP.items()},
                "category": _label(labels, item.get("productCategory")),
                "vendor": vendor_label(item.get("defaultVendorID"), vendor_id),
                STOCK_FIELD: held[1] if held else None,
                "inventory_id": str(held[0]) if held else None,
            })
        frame = pd.DataFrame(rows, columns=list(PSA_PRODUCT))
        return conform(frame, PSA_PRODUCT, name="Autotask products")

    # ---- writing -----------------------------------------------------------------------------------
    def execute(self, operation: Operation) -> str:
        fields, changed = operation.fields, set(operation.changed_fields)
        if operation.op == "create":
            return self._create(operation)
        assert operation.target_id is not None
        product_id = int(operation.target_id)
        # Resolve what the writes need first: a configuration problem fails before anything is written.
        vendor_id = self._vendor_for(fields) if "vendor" in changed else None
        stock = self._stock_to_write(fields, changed)
        changes = self._body({name: fields[name] for name in operation.changed_fields
                              if name in FIELD_MAP or name == "category"})
        if changes:
            self.client.update_product({"id": product_id, **changes})
        if vendor_id is not None:
            self._ensure_vendor_row(product_id, fields, vendor_id)
        if stock is not None:
            self._write_stock(product_id, stock, fields.get("inventory_id"))
        return str(product_id)

    def _create(self, operation: Operation) -> str:
        fields = operation.fields
        body = self._body({name: value for name, value in fields.items() if name in FIELD_MAP or name == "category"})
        body.update(isSerialized=False, productBillingCodeID=self._material_billing_code())
        vendor_id = self._vendor_for(fields)
        stock = self._stock_to_write(fields, set(operation.changed_fields))
        product_id = self.client.create_product(body)
        try:
            self._create_vendor_row(product_id, fields, vendor_id)
            if stock is not None:
                self._create_stock(product_id, stock)
        except QuotaExhausted:
            raise  # deferred: the next run finds the product (by SKU) and plans the missing vendor row
        except ChannelsyncError as exc:
            raise OutcomeUnknownError(
                f"product {product_id} ({operation.source_key}) was created, but its {VENDOR_NAME} vendor row "
                f"or stock was not written ({exc}); it is looked up by MPN and completed",
                code=AUTOTASK_PRODUCT_INCOMPLETE, system=SYSTEM,
            ) from exc
        return str(product_id)

    def resolve_unknown(self, operation: Operation) -> str | None:
        """The product a create may have made (same MPN and SKU), completed with its vendor row and
        stock; None when it is not in Autotask. A failed look-up raises :class:`OutcomeUnknownError`:
        the create stays uncertain (never "failed"), so no attempt sends it blindly again."""
        if operation.op != "create":
            return None  # the loader resends updates (absolute values); only creates are looked up
        fields = operation.fields
        try:
            mpn = str(fields["mpn"]).lower()
            for product in self.client.find_products([fields["mpn"]], include_fields=READ_FIELDS):
                if str(product.get("manufacturerProductName") or "").lower() == mpn and \
                        product.get("sku") == fields.get("vendor_sku"):
                    product_id = int(product["id"])
                    self._ensure_vendor_row(product_id, fields, self._vendor_for(fields))
                    stock = self._stock_to_write(fields, set(operation.changed_fields))
                    if stock is not None:
                        self._ensure_stock(product_id, stock)
                    return str(product_id)
            return None
        except (QuotaExhausted, OutcomeUnknownError):
            raise
        except ChannelsyncError as exc:
            raise OutcomeUnknownError(
                f"create {operation.source_key}: looking the product up in Autotask failed ({exc}); whether it "
                "was created is still unknown", code=AUTOTASK_LOOKUP_FAILED, system=SYSTEM,
            ) from exc

    def in_use_product_ids(self) -> set[str]:
        """Products on open purchase orders (status not "Received Full" / "Cancelled"), for
        price_availability's ``in_use`` source: one PurchaseOrders query, then PurchaseOrderItems by
        order id in chunks under the 500-condition limit. Quotes / opportunities are not read (yet)."""
        from channelsync.clients.autotask import Filter
        from channelsync.clients.autotask.filters import chunked_in

        statuses = {label.lower(): value for label, value in self.client.picklist("PurchaseOrders", "status").items()}
        open_values = [v for label, v in statuses.items() if label not in ("received full", "cancelled", "canceled")]
        if not open_values:
            return set()
        orders = [int(o["id"]) for o in self.client.iter_query("PurchaseOrders", Filter.in_("status", open_values),
                                                                 include_fields=["id"])]
        found: set[str] = set()
        for chunk in chunked_in("orderID", orders):
            for item in self.client.iter_query("PurchaseOrderItems", chunk, include_fields=["id", "productID"]):
                if item.get("productID") is not None:
                    found.add(str(item["productID"]))
        return found

    def _body(self, fields: dict[str, Any]) -> dict[str, Any]:
        body = {FIELD_MAP[name]: value for name, value in fields.items() if name in FIELD_MAP}
        if "category" in fields:
            body["productCategory"] = self._category_value(fields["category"])
        return body

    # ---- the vendor row --------------------------------------------------------------------------------
    def _vendor_for(self, fields: dict[str, Any]) -> int:
        name = fields.get("vendor") or VENDOR_NAME
        if str(name) != VENDOR_NAME:
            raise FatalApiError(f"vendor {name!r}: channelsync writes {VENDOR_NAME} vendor rows only",
                                code=AUTOTASK_UNKNOWN_VENDOR, system=SYSTEM)
        return self._vendor()

    def _vendor_row(self, fields: dict[str, Any], vendor_id: int) -> dict[str, Any]:
        return {"vendorID": vendor_id, "vendorPartNumber": fields.get("vendor_sku"),
                "vendorCost": fields.get("unit_cost"), "isDefault": True, "isActive": True}

    def _create_vendor_row(self, product_id: int, fields: dict[str, Any], vendor_id: int) -> None:
        self.client.create_product_vendor(product_id, self._vendor_row(fields, vendor_id))

    def _ensure_vendor_row(self, product_id: int, fields: dict[str, Any], vendor_id: int) -> None:
        """The product's TD SYNNEX row exists and is its active default (one query, then at most one write)."""
        rows = list(self.client.iter_product_vendors([product_id], vendor_id=vendor_id))
        if not rows:
            self._create_vendor_row(product_id, fields, vendor_id)
            return
        if any(row.get("isDefault") and row.get("isActive") for row in rows):
            return
        row = min(rows, key=lambda r: int(r["id"]))
        self.client.update_product_vendor(product_id, {
            "id": int(row["id"]), "isDefault": True, "isActive": True,
            "vendorPartNumber": row.get("vendorPartNumber") or fields.get("vendor_sku"),
        })

    # ---- stock -----------------------------------------------------------------------------------------
    def _stock_to_write(self, fields: dict[str, Any], changed: set[str]) -> int | None:
        """The quantity this operation writes (None: none); refused when no location is configured."""
        if STOCK_FIELD not in changed or fields.get(STOCK_FIELD) is None:
            return None
        if not self.inventory_location:
            raise FatalApiError("a quantity on hand was planned but no Autotask inventory location is configured",
                                code=AUTOTASK_STOCK_NOT_CONFIGURED, system=SYSTEM)
        self._location()
        return int(fields[STOCK_FIELD])

    def _write_stock(self, product_id: int, quantity: int, inventory_id: Any) -> None:
        """One call: PATCH the InventoryItem the plan saw, or create it."""
        if inventory_id is not None:
            self.client.update("InventoryItems", {"id": int(inventory_id), "quantityOnHand": quantity})
        else:
            self._create_stock(product_id, quantity)

    def _create_stock(self, product_id: int, quantity: int) -> None:
        try:
            self.client.create("InventoryItems", {"productID": product_id, "inventoryLocationID": self._location(),
                                                  "quantityOnHand": quantity})
        except QuotaExhausted:
            raise
        except (OutcomeUnknownError, FatalApiError):
            # The answer was lost, or the item exists already (made since the plan read the PSA): find it.
            self._ensure_stock(product_id, quantity)

    def _ensure_stock(self, product_id: int, quantity: int) -> None:
        from channelsync.clients.autotask import Filter

        found = list(self.client.iter_query(
            "InventoryItems", [Filter.eq("productID", product_id), Filter.eq("inventoryLocationID", self._location())],
            include_fields=["id", "quantityOnHand"]))
        if not found:
            self.client.create("InventoryItems", {"productID": product_id, "inventoryLocationID": self._location(),
                                                  "quantityOnHand": quantity})
        elif found[0].get("quantityOnHand") != quantity:
            self.client.update("InventoryItems", {"id": int(found[0]["id"]), "quantityOnHand": quantity})

    def _stock_by_product(self) -> dict[int, tuple[int, int | None]]:
        """productID → (InventoryItem id, quantityOnHand) at the configured location (lowest id wins)."""
        from channelsync.clients.autotask import Filter

        stock: dict[int, tuple[int, int | None]] = {}
        for item in self.client.iter_query("InventoryItems", Filter.eq("inventoryLocationID", self._location()),
                                           include_fields=["id", "productID", "quantityOnHand"]):
            if item.get("productID") is not None:
                quantity = item.get("quantityOnHand")
                stock.setdefault(int(item["productID"]), (int(item["id"]), None if quantity is None else int(quantity)))
        return stock

    def _location(self) -> int:
        from channelsync.clients.autotask import Filter

        with self._lock:
            if self._location_id is None:
                name = str(self.inventory_location or "")
                found = [row for row in self.client.iter_query(
                    "InventoryLocations", Filter.eq("locationName", name), include_fields=["id", "isActive"])
                    if row.get("isActive", True)]
                if not found:
                    raise FatalApiError(
                        f"no active Autotask inventory location named {name!r}: create it, or set catalog_sync's "
                        "inventory_location to an existing one", code=AUTOTASK_NO_INVENTORY_LOCATION, system=SYSTEM)
                self._location_id = int(found[0]["id"])
            return self._location_id

    # ---- lookups cached per adapter ----------------------------------------------------------------------
    def category_names(self) -> list[str]:
        """The labels of Autotask's product category picklist (what a category mapping may name)."""
        return sorted(self._category_values(), key=str.casefold)

    def _category_values(self) -> dict[str, int]:
        with self._lock:
            if self._categories is None:
                self._categories = {str(k): int(v) for k, v in self.client.picklist("Products", "productCategory")
                                    .items()}
            return self._categories

    def _category_value(self, label: Any) -> int | None:
        if label is None:
            return None
        values = {k.lower(): v for k, v in self._category_values().items()}
        if str(label).lower() not in values:
            raise FatalApiError(f"category {label!r} is not an Autotask product category; fix the category_map",
                                code=AUTOTASK_UNKNOWN_CATEGORY, system=SYSTEM)
        return values[str(label).lower()]

    def _material_billing_code(self) -> int:
        from channelsync.clients.autotask import Filter

        with self._lock:
            if self._billing_code is None:
                codes = list(self.client.iter_query(
                    "BillingCodes", Filter.and_(Filter.eq("useType", MATERIAL_USE_TYPE), Filter.eq("isActive", True)),
                    include_fields=["id", "name"]))
                if not codes:
                    raise FatalApiError("Autotask has no active Material billing code for products",
                                        code=AUTOTASK_NO_BILLING_CODE, system=SYSTEM)
                preferred = [c for c in codes if str(c.get("name", "")).lower() == "hardware"]
                self._billing_code = int((preferred or codes)[0]["id"])
            return self._billing_code

    def _vendor_or_none(self) -> int | None:
        """The TD SYNNEX company id, or None when Autotask has none (one query, cached either way)."""
        from channelsync.clients.autotask import Filter

        with self._lock:
            if self._vendor_id is None:
                found = list(self.client.iter_query("Companies", Filter.eq("companyName", VENDOR_NAME),
                                                    include_fields=["id"]))
                self._vendor_id = int(found[0]["id"]) if found else _MISSING
            return None if self._vendor_id == _MISSING else self._vendor_id

    def _vendor(self) -> int:
        vendor_id = self._vendor_or_none()
        if vendor_id is None:
            raise FatalApiError(f"no vendor company named {VENDOR_NAME!r} in Autotask",
                                code="AUTOTASK_NOT_FOUND", system=SYSTEM)
        return vendor_id


def vendor_label(default_vendor_id: Any, distributor_vendor_id: int | None) -> str | None:
    """The canonical ``vendor`` of a product from its ``defaultVendorID``."""
    if default_vendor_id is None:
        return None
    if distributor_vendor_id is not None and int(default_vendor_id) == distributor_vendor_id:
        return VENDOR_NAME
    return f"company #{int(default_vendor_id)}"


def _label(labels: dict[int, str], value: Any) -> str | None:
    return labels.get(int(value)) if value is not None else None
