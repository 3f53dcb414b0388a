"""Canonical products ↔ Autotask Products (+ the TD SYNNEX ProductVendors row on create).

Canonical → Autotask: name → ``name`` (100), description → ``description`` (2000), mpn →
``manufacturerProductName`` (the swagger's MPN field, the natural key an unanswered create is looked
up by), vendor_sku → ``sku``, manufacturer → ``manufacturerName``, category → ``productCategory``
(a picklist label, resolved through entityInformation/fields), unit_cost → ``unitCost``,
unit_price → ``unitPrice``, msrp → ``msrp``, active → ``isActive``.

A created product also gets a ProductVendors row (vendor TD SYNNEX, vendorPartNumber = the SYNNEX
SKU, vendorCost at creation). Updates write the product only: cost lives in ``unitCost``, so a price
change costs exactly one call (the vendor row's cost is not maintained; said in the notes).
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

import pandas as pd

from channelsync.canonical import PSA_PRODUCT, conform
from channelsync.errors import ChannelsyncError, FatalApiError, define

if TYPE_CHECKING:
    from channelsync.clients.autotask import AutotaskClient
    from channelsync.runs.loader import Operation

log = logging.getLogger(__name__)

AUTOTASK_UNKNOWN_CATEGORY = define(
    "AUTOTASK_UNKNOWN_CATEGORY", "autotask", "The mapped category is not an Autotask product category picklist value"
)
AUTOTASK_NO_BILLING_CODE = define(
    "AUTOTASK_NO_BILLING_CODE", "autotask", "No active Material billing code to attach new products to"
)
READ_FIELDS = ["id", "name", "description", "manufacturerProductName", "sku", "manufacturerName", "productCategory",
               "unitCost", "unitPrice", "msrp", "isActive"]
FIELD_MAP = {"name": "name", "description": "description", "mpn": "manufacturerProductName", "vendor_sku": "sku",
             "manufacturer": "manufacturerName", "unit_cost": "unitCost", "unit_price": "unitPrice", "msrp": "msrp",
             "active": "isActive"}
VENDOR_NAME = "TD SYNNEX"
MATERIAL_USE_TYPE = 2  # BillingCodes.useType "Material" (docs/vendors/autotask.md §A.6)


class AutotaskProducts:
    psa_system = "autotask"
    entity_type = "product"

    def __init__(self, client: AutotaskClient) -> None:
        self.client = client
        self._lock = threading.Lock()
        self._categories: dict[str, int] | None = None
        self._billing_code: int | None = None
        self._vendor_id: int | None = None

    def read_products(self) -> pd.DataFrame:
        labels = {value: label for label, value in self._category_values().items()}
        rows = [
            {
                "psa_id": str(item["id"]),
                **{canonical: item.get(field) for canonical, field in FIELD_MAP.items()},
                "category": _label(labels, item.get("productCategory")),
            }
            for item in self.client.iter_products(include_fields=READ_FIELDS)
        ]
        frame = pd.DataFrame(rows, columns=list(PSA_PRODUCT))
        return conform(frame, PSA_PRODUCT, name="Autotask products")

    def execute(self, operation: Operation) -> str:
        if operation.op == "create":
            body = self._body(operation.fields)
            body.update(isSerialized=False, productBillingCodeID=self._material_billing_code())
            product_id = self.client.create_product(body)
            self._add_vendor_row(product_id, operation.fields, check_existing=False)
            return str(product_id)
        assert operation.target_id is not None
        changes = self._body({name: operation.fields[name] for name in operation.changed_fields})
        self.client.update_product({"id": int(operation.target_id), **changes})
        return operation.target_id

    def resolve_unknown(self, operation: Operation) -> str | None:
        if operation.op != "create":
            return None  # the loader resends updates (absolute values); only creates are looked up
        mpn = str(operation.fields["mpn"]).lower()
        for product in self.client.find_products([operation.fields["mpn"]], include_fields=READ_FIELDS):
            if str(product.get("manufacturerProductName") or "").lower() == mpn and \
                    product.get("sku") == operation.fields.get("vendor_sku"):
                self._add_vendor_row(int(product["id"]), operation.fields, check_existing=True)
                return str(product["id"])
        return None

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

    def _add_vendor_row(self, product_id: int, fields: dict[str, Any], *, check_existing: bool) -> None:
        """Best effort: the product is written either way; a missing vendor row is only logged."""
        try:
            if not check_existing or not list(self.client.iter_product_vendors([product_id], vendor_id=self._vendor())):
                self.client.create_product_vendor(product_id, {
                    "vendorID": self._vendor(), "vendorPartNumber": fields.get("vendor_sku"),
                    "vendorCost": fields.get("unit_cost"), "isDefault": True, "isActive": True,
                })
        except ChannelsyncError as exc:
            log.warning("product %s: the TD SYNNEX vendor row was not written: %s", product_id, exc)

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
                                code=AUTOTASK_UNKNOWN_CATEGORY, system="autotask")
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
                                        code=AUTOTASK_NO_BILLING_CODE, system="autotask")
                preferred = [c for c in codes if str(c.get("name", "")).lower() == "hardware"]
                self._billing_code = int((preferred or codes)[0]["id"])
            return self._billing_code

    def _vendor(self) -> int:
        from channelsync.clients.autotask import Filter

        with self._lock:
            if self._vendor_id is None:
                found = list(self.client.iter_query("Companies", Filter.eq("companyName", VENDOR_NAME),
                                                    include_fields=["id"]))
                if not found:
                    raise FatalApiError(f"no vendor company named {VENDOR_NAME!r} in Autotask",
                                        code="AUTOTASK_NOT_FOUND", system="autotask")
                self._vendor_id = int(found[0]["id"])
            return self._vendor_id


def _label(labels: dict[int, str], value: Any) -> str | None:
    return labels.get(int(value)) if value is not None else None
