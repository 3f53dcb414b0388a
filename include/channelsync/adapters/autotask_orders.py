"""Canonical purchase orders ↔ Autotask PurchaseOrders and their PurchaseOrderItems.

Reading (docs/vendors/autotask.md §A.7): the POs of the vendor company (``vendorID``, found by
company name) in the given statuses (labels, resolved through the ``status`` picklist), in one paged
query; their items in chunked ``orderID in (...)`` queries; the items' products (``sku`` = the
TD SYNNEX SKU catalog_sync writes) in chunked ``id in (...)`` queries, and for products without one
(made by hand) their TD SYNNEX ProductVendors row's ``vendorPartNumber``. The PO number is
``purchaseOrderNumber`` when the tenant fills it, else the PO id (what Autotask shows as the PO #).
Line numbers are the items' positions by id: items can only be added while a PO is New, so the
numbering of a submitted PO never changes. Autotask POs have no country: ship-to country is the
template's ``default_country``.

Where things go (Autotask POs have no tracking-number field and no UDFs, and there is no PO notes
entity in the REST API):

- status → ``status`` (picklist label), distributor order number(s) → ``externalPONumber`` (50),
  latest ship date → ``shippingDate``, TD SYNNEX invoice number(s) → ``vendorInvoiceNumber`` (50, the
  PO's own field in the REST spec);
- ``note`` (tracking per package, carrier, serials, back-orders, cancellations, invoices with their
  dates, totals and lines) → channelsync's block at the end of ``generalMemo`` (4000), a person's own
  memo text before it is kept;
- per line: ``note`` → the block of the item's ``memo`` (4000), ``eta`` (back-order ETA) →
  ``estimatedArrivalDate``.

Receiving (PurchaseOrderItemReceiving) is left to people: it moves stock on hand and means the goods
arrived, which a TD SYNNEX shipment does not tell. Items are written before the PO (a Cancelled PO's
items can no longer be updated).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from channelsync.adapters.psa_orders import Skip, day_stamp, status_value
from channelsync.canonical.orders import PsaLine, PsaOrder, day, fit_list, note_block, with_note_block
from channelsync.errors import FatalApiError, define

if TYPE_CHECKING:
    from channelsync.clients.autotask import AutotaskClient
    from channelsync.runs.loader import Operation

SYSTEM = "autotask"
MEMO_LIMIT = 4000
ORDER_NUMBER_LIMIT = 50
AUTOTASK_NO_VENDOR = define("AUTOTASK_NO_VENDOR", SYSTEM, "No Autotask company has the distributor's vendor name")
AUTOTASK_UNKNOWN_PO_STATUS = define("AUTOTASK_UNKNOWN_PO_STATUS", SYSTEM,
                                    "A configured purchase-order status is not in Autotask's status picklist")
PO_FIELDS = ["id", "purchaseOrderNumber", "status", "vendorID", "shipToName", "shipToAddress1", "shipToAddress2",
             "shipToCity", "shipToState", "shipToPostalCode", "phone", "generalMemo", "externalPONumber",
             "shippingDate", "vendorInvoiceNumber", "submitDateTime", "createDateTime"]
ITEM_FIELDS = ["id", "orderID", "productID", "quantity", "unitCost", "memo", "estimatedArrivalDate"]


class AutotaskOrders:
    psa_system = SYSTEM
    entity_type = "purchase_order"
    records_xref = True  # the PO ↔ PSA purchase order pair is kept
    ORDER_FIELDS: ClassVar[tuple[str, ...]] = ("status", "order_number", "ship_date", "invoice_number", "note")
    LINE_FIELDS: ClassVar[tuple[str, ...]] = ("eta", "note")
    ORDER_LIMITS: ClassVar[Mapping[str, int]] = {"order_number": ORDER_NUMBER_LIMIT,
                                                 "invoice_number": ORDER_NUMBER_LIMIT, "note": MEMO_LIMIT}
    LINE_LIMITS: ClassVar[Mapping[str, int]] = {"note": MEMO_LIMIT}

    def __init__(self, client: AutotaskClient, *, vendor: str = "TD SYNNEX", default_country: str = "US") -> None:
        self.client = client
        self.vendor = vendor
        self.default_country = default_country
        self._vendor_id: int | None = None
        self._lock = threading.Lock()

    # ---- reading ------------------------------------------------------------------------------------
    def read_orders(self, *, statuses: Sequence[str], with_skus: bool = True,
                    skip: Skip | None = None) -> list[PsaOrder]:
        from channelsync.clients.autotask import Filter
        from channelsync.clients.autotask.filters import chunked_in

        values = [self._status_value(label) for label in statuses]
        labels = {value: label for label, value in self._statuses().items()}
        orders = [order for order in self.client.iter_query(
            "PurchaseOrders", [Filter.eq("vendorID", self._vendor()), Filter.in_("status", values)],
            include_fields=PO_FIELDS)
            if skip is None or not skip(_number(order), labels.get(int(order["status"]))
                                        if order.get("status") is not None else None)]
        items: dict[int, list[dict[str, Any]]] = {}
        for chunk in chunked_in("orderID", [int(o["id"]) for o in orders]):
            for item in self.client.iter_query("PurchaseOrderItems", chunk, include_fields=ITEM_FIELDS):
                items.setdefault(int(item["orderID"]), []).append(item)
        skus: dict[int, str | None] = {}
        if with_skus:
            product_ids = sorted({int(i["productID"]) for rows in items.values() for i in rows if i.get("productID")})
            for chunk in chunked_in("id", product_ids):
                for product in self.client.iter_query("Products", chunk, include_fields=["id", "sku"]):
                    skus[int(product["id"])] = (str(product["sku"]).strip() or None) if product.get("sku") else None
            # A product without a SKU (made by hand) may still name its TD SYNNEX part in its vendor row.
            missing = [pid for pid in product_ids if not skus.get(pid)]
            if missing:
                for row in self.client.iter_product_vendors(missing, vendor_id=self._vendor()):
                    product_id = int(row["productID"])
                    if row.get("isActive", True) and row.get("vendorPartNumber") and not skus.get(product_id):
                        skus[product_id] = str(row["vendorPartNumber"]).strip()
        return [self._order(order, sorted(items.get(int(order["id"]), []), key=lambda i: int(i["id"])), labels, skus)
                for order in orders]

    def _order(self, order: dict[str, Any], items: list[dict[str, Any]], labels: dict[int, str],
               skus: dict[int, str | None]) -> PsaOrder:
        memo = str(order.get("generalMemo") or "")
        lines = [
            PsaLine(
                psa_id=str(item["id"]), line_number=position,
                product_id=str(item["productID"]) if item.get("productID") is not None else None,
                sku=skus.get(int(item["productID"])) if item.get("productID") is not None else None,
                description="", quantity=float(item.get("quantity") or 0),
                unit_cost=float(item["unitCost"]) if item.get("unitCost") is not None else None,
                memo=str(item.get("memo") or ""),
                tracked={"eta": day(item.get("estimatedArrivalDate")), "note": note_block(item.get("memo"))},
            )
            for position, item in enumerate(items, start=1)
        ]
        status = labels.get(int(order["status"])) if order.get("status") is not None else None
        return PsaOrder(
            psa_id=str(order["id"]),
            number=_number(order),
            status=status,
            since=order.get("submitDateTime") or order.get("createDateTime"),
            ship_to={"name": order.get("shipToName") or "", "address1": order.get("shipToAddress1") or "",
                     "address2": order.get("shipToAddress2") or "", "city": order.get("shipToCity") or "",
                     "state": order.get("shipToState") or "", "zip_code": order.get("shipToPostalCode") or "",
                     "country": self.default_country, "contact_name": "", "phone": order.get("phone") or "",
                     "email": ""},
            lines=lines, memo=memo,
            tracked={"status": status, "order_number": order.get("externalPONumber") or None,
                     "ship_date": day(order.get("shippingDate")),
                     "invoice_number": order.get("vendorInvoiceNumber") or None, "note": note_block(memo)},
        )

    # ---- writing (the loader's executor) ------------------------------------------------------------
    def execute(self, operation: Operation) -> str:
        po_id = int(str(operation.target_id))
        for line in operation.fields.get("lines") or []:
            body = self._line_body(line)
            if body:
                self.client.update_child("PurchaseOrders", po_id, "Items", {"id": int(line["psa_id"]), **body})
        body = self._order_body(operation.fields.get("order") or {})
        if body:
            self.client.update("PurchaseOrders", {"id": po_id, **body})
        return str(po_id)

    def resolve_unknown(self, operation: Operation) -> str | None:
        return None  # updates only: the loader sends the same absolute values again

    def _order_body(self, changes: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if "status" in changes:
            body["status"] = self._status_value(str(changes["status"]))
        if "order_number" in changes:
            body["externalPONumber"] = fit_list(changes["order_number"] or None, ORDER_NUMBER_LIMIT)
        if "ship_date" in changes:
            body["shippingDate"] = day_stamp(changes["ship_date"])
        if "invoice_number" in changes:
            body["vendorInvoiceNumber"] = fit_list(changes["invoice_number"] or None, ORDER_NUMBER_LIMIT)
        if "note" in changes:
            body["generalMemo"] = with_note_block(changes.get("_memo"), changes["note"] or "", limit=MEMO_LIMIT)
        return body

    @staticmethod
    def _line_body(line: dict[str, Any]) -> dict[str, Any]:
        changes = line.get("changes") or {}
        body: dict[str, Any] = {}
        if "eta" in changes:
            body["estimatedArrivalDate"] = day_stamp(changes["eta"])
        if "note" in changes:
            body["memo"] = with_note_block(line.get("_memo"), changes["note"] or "", limit=MEMO_LIMIT)
        return body

    # ---- lookups ------------------------------------------------------------------------------------
    def _statuses(self) -> dict[str, int]:
        return self.client.picklist("PurchaseOrders", "status")

    def _status_value(self, label: str) -> int:
        value = status_value(self._statuses(), label)
        if value is not None:
            return value
        raise FatalApiError(f"purchase-order status {label!r} is not in Autotask's picklist "
                            f"({', '.join(self._statuses())})", code=AUTOTASK_UNKNOWN_PO_STATUS, system=SYSTEM)

    def _vendor(self) -> int:
        from channelsync.clients.autotask import Filter

        with self._lock:
            if self._vendor_id is None:
                found = list(self.client.iter_query("Companies", Filter.eq("companyName", self.vendor),
                                                    include_fields=["id"]))
                if not found:
                    raise FatalApiError(f"no Autotask company named {self.vendor!r} (the purchase orders' vendor)",
                                        code=AUTOTASK_NO_VENDOR, system=SYSTEM)
                self._vendor_id = int(found[0]["id"])
            return self._vendor_id


def _number(order: dict[str, Any]) -> str:
    """The PO number: ``purchaseOrderNumber`` when the tenant fills it, else the id (Autotask's PO #)."""
    return str(order.get("purchaseOrderNumber") or order["id"])
