"""Canonical products ↔ ConnectWise procurement catalog items.

Canonical → ConnectWise: name → ``description`` (60), description → ``customerDescription``,
mpn → ``manufacturerPartNumber`` and, on create, ``identifier`` (the natural key: unique in
ConnectWise, what people type by hand, and what an unanswered create is looked up by),
vendor_sku → ``vendorSku``, manufacturer → ``manufacturer`` reference (created when missing),
category → ``subcategory`` (and its parent ``category``), unit_cost → ``cost``, unit_price →
``price``, active → not ``inactiveFlag``. New items are type "Hardware".

vendor → the ``vendor`` company reference (docs/vendors/connectwise.md §B.7: catalog_item ``vendor``, a
CompanyReference: the company the item is bought from, ConnectWise's counterpart of Autotask's default
vendor row). "TD SYNNEX" is the company with identifier ``TDSYNNEX``; another vendor reads as
``company #<id>``. It is a field of the item itself, sent in the create's one call, so a create cannot
leave it behind the way a separate Autotask vendor row can; it is managed all the same, so an item
made by hand and linked by SKU/MPN without it (or with another vendor) is repaired by an update.

quantity_on_hand: never written. A catalog item has no on-hand field; ``{id}/inventory`` and
``{identifier}/quantityOnHand`` are read-only, and stock moves only through procurement (receiving,
inventory adjustments) for Inventory-class items — channelsync creates NonInventory items. The
configuration refuses ``sync_inventory`` for ConnectWise integrations (canonical.limits.STOCK_WRITABLE).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import pandas as pd

from channelsync.canonical import PSA_PRODUCT, conform
from channelsync.errors import ChannelsyncError, FatalApiError, OutcomeUnknownError, QuotaExhausted, define

if TYPE_CHECKING:
    from channelsync.clients.connectwise import ConnectWiseClient
    from channelsync.runs.loader import Operation

CW_UNKNOWN_SUBCATEGORY = define(
    "CW_UNKNOWN_SUBCATEGORY", "connectwise", "The mapped category is not a ConnectWise procurement subcategory"
)
CW_UNKNOWN_VENDOR = define("CW_UNKNOWN_VENDOR", "connectwise", "The product's vendor has no ConnectWise company")
CW_NO_STOCK = define("CW_NO_STOCK", "connectwise", "ConnectWise catalog items have no writable on-hand quantity")
CW_LOOKUP_FAILED = define("CW_LOOKUP_FAILED", "connectwise",
                          "Looking up a catalog item whose create may have been applied failed; still unknown")
READ_FIELDS = ("id,identifier,description,customerDescription,manufacturerPartNumber,vendorSku,manufacturer/name,"
               "subcategory/name,cost,price,inactiveFlag,vendor/id,vendor/identifier")
VENDOR_NAME = "TD SYNNEX"
VENDOR_IDENTIFIER = "TDSYNNEX"
PRODUCT_TYPE = "Hardware"


class ConnectWiseProducts:
    psa_system = "connectwise"
    entity_type = "product"
    records_xref = True  # a product is found again through its source ↔ PSA pair

    def __init__(self, client: ConnectWiseClient) -> None:
        self.client = client
        self._lock = threading.Lock()
        self._subcategories: dict[str, dict[str, Any]] | None = None
        self._manufacturers: dict[str, int] | None = None
        self._type_id: int | None = None

    def read_products(self) -> pd.DataFrame:
        rows = [
            {
                "psa_id": str(item["id"]),
                "name": item.get("description"),
                "description": item.get("customerDescription"),
                "mpn": item.get("manufacturerPartNumber"),
                "vendor_sku": item.get("vendorSku"),
                "manufacturer": (item.get("manufacturer") or {}).get("name"),
                "category": (item.get("subcategory") or {}).get("name"),
                "unit_cost": item.get("cost"),
                "unit_price": item.get("price"),
                "msrp": None,
                "active": not item.get("inactiveFlag", False),
                "vendor": vendor_label(item.get("vendor")),
                "quantity_on_hand": None,
                "inventory_id": None,
            }
            for item in self.client.iter_catalog_items(fields=READ_FIELDS)
        ]
        frame = pd.DataFrame(rows, columns=list(PSA_PRODUCT))
        return conform(frame, PSA_PRODUCT, name="ConnectWise catalog items")

    def execute(self, operation: Operation) -> str:
        if "quantity_on_hand" in operation.changed_fields and operation.fields.get("quantity_on_hand") is not None:
            raise FatalApiError("ConnectWise catalog items have no writable on-hand quantity (sync_inventory)",
                                code=CW_NO_STOCK, system="connectwise")
        if operation.op == "create":
            body = {"identifier": operation.fields["mpn"], **self._body(operation.fields, operation.fields)}
            body.setdefault("vendor", {"identifier": VENDOR_IDENTIFIER})
            body.update(type={"id": self._product_type()}, productClass="NonInventory")
            return str(self.client.create_catalog_item(body)["id"])
        assert operation.target_id is not None
        changes = self._body(operation.fields, {f: operation.fields[f] for f in operation.changed_fields})
        self.client.patch_catalog_item(int(operation.target_id), changes)
        return operation.target_id

    def resolve_unknown(self, operation: Operation) -> str | None:
        if operation.op != "create":
            return None  # the loader resends updates (absolute values); only creates are looked up
        try:
            found = self.client.find_catalog_items([operation.fields["mpn"]], fields="id,identifier")
        except (QuotaExhausted, OutcomeUnknownError):
            raise
        except ChannelsyncError as exc:
            # Not "failed": the create stays uncertain, so no later attempt sends it blindly.
            raise OutcomeUnknownError(
                f"create {operation.source_key}: looking the item up in ConnectWise failed ({exc}); whether it was "
                "created is still unknown", code=CW_LOOKUP_FAILED, system="connectwise",
            ) from exc
        return str(found[0]["id"]) if found else None

    def in_use_product_ids(self) -> set[str]:
        """Catalog items on open purchase orders (``closedFlag = false``), lines neither closed nor
        cancelled, for price_availability's ``in_use`` source: one call per open PO for its line items
        (ConnectWise has no cross-PO line item list). Quotes / opportunities are not read (yet)."""
        found: set[str] = set()
        for order in list(self.client.iter_purchase_orders(conditions="closedFlag = false")):
            for line in self.client.iter_po_line_items(int(order["id"])):
                product = line.get("product") or {}
                if product.get("id") is not None and not line.get("canceledFlag") and not line.get("closedFlag"):
                    found.add(str(product["id"]))
        return found

    def _body(self, fields: dict[str, Any], changed: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {}
        for name, value in changed.items():
            if name == "name":
                body["description"] = value
            elif name == "description":
                body["customerDescription"] = value or fields.get("name")
            elif name == "mpn":
                body["manufacturerPartNumber"] = value
            elif name == "vendor_sku":
                body["vendorSku"] = value
            elif name == "manufacturer":
                body["manufacturer"] = {"id": self._manufacturer_id(value)}
            elif name == "category":
                subcategory = self._subcategory(value)
                body["subcategory"] = {"id": subcategory["id"]}
                if subcategory.get("category"):
                    body["category"] = {"id": subcategory["category"]["id"]}
            elif name == "unit_cost":
                body["cost"] = value
            elif name == "unit_price":
                body["price"] = value
            elif name == "vendor":
                body["vendor"] = {"identifier": _vendor_identifier(value)}
            elif name == "active":
                body["inactiveFlag"] = not value
        return body

    def category_names(self) -> list[str]:
        """The procurement subcategories' names (what a category mapping may name: a product is filed under
        a subcategory, and its category follows)."""
        return sorted({str(s["name"]) for s in self.client.subcategories()}, key=str.casefold)

    def _subcategory(self, name: str) -> dict[str, Any]:
        with self._lock:
            if self._subcategories is None:
                self._subcategories = {s["name"].lower(): s for s in self.client.subcategories()}
        found = self._subcategories.get(str(name).lower())
        if found is None:
            raise FatalApiError(
                f"category {name!r} is not a ConnectWise procurement subcategory; fix the integration's category_map",
                code=CW_UNKNOWN_SUBCATEGORY, system="connectwise",
            )
        return found

    def _manufacturer_id(self, name: str) -> int:
        with self._lock:
            if self._manufacturers is None:
                self._manufacturers = {m["name"].lower(): int(m["id"]) for m in self.client.manufacturers()}
            key = str(name)[:50].lower()
            if key not in self._manufacturers:
                self._manufacturers[key] = int(self.client.create_manufacturer(str(name)[:50])["id"])
            return self._manufacturers[key]

    def _product_type(self) -> int:
        with self._lock:
            if self._type_id is None:
                types = {t["name"].lower(): int(t["id"]) for t in self.client.types()}
                self._type_id = types[PRODUCT_TYPE.lower()]
            return self._type_id


def vendor_label(vendor: dict[str, Any] | None) -> str | None:
    """The canonical ``vendor`` of a catalog item from its ``vendor`` reference."""
    if not vendor:
        return None
    if str(vendor.get("identifier") or "").upper() == VENDOR_IDENTIFIER:
        return VENDOR_NAME
    return f"company #{vendor.get('id')}" if vendor.get("id") is not None else str(vendor.get("identifier"))


def _vendor_identifier(name: Any) -> str:
    if str(name or VENDOR_NAME) != VENDOR_NAME:
        raise FatalApiError(f"vendor {name!r}: channelsync sets {VENDOR_NAME} as the vendor only",
                            code=CW_UNKNOWN_VENDOR, system="connectwise")
    return VENDOR_IDENTIFIER
