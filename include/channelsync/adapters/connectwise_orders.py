"""Canonical purchase orders ↔ ConnectWise purchase orders and their line items.

Reading (docs/vendors/connectwise.md §B.6): ``procurement/purchaseorders`` with ``status/id in (...)``
(status names resolved through ``purchaseorderstatuses``: they are the tenant's own, e.g. "Send to
TDS"), keeping those whose ``vendorCompany`` identifier or name is the configured vendor; each PO's
``lineitems`` (one call per PO: there is no cross-PO line-item query; four in flight). The TD SYNNEX SKU is the line's
``vendorSku`` (ConnectWise copies it from the catalog item). Ship-to: the PO's customer fields
(``customerName``, ``customerStreetLine1/2``, ``customerCity``, ``customerState``, ``customerZip``,
``customerCountry``), i.e. a drop shipment to the customer site; a PO without them is invalid.
ASSUMPTION: ConnectWise keeps no time a PO entered its status, so "in the submit state since" is
``poDate``.

Where things go:

- order: status → ``status`` (by id), order number(s) → ``vendorOrderNumber`` (50), tracking numbers →
  ``trackingNumber`` (50, comma separated, cut to whole numbers), latest ship date → ``shipmentDate``,
  TD SYNNEX invoice number(s) → ``vendorInvoiceNumber`` (50) and the latest invoice date →
  ``vendorInvoiceDate``, ``note`` (every invoice too) → channelsync's block of ``internalNotes``;
- line: ``vendorOrderNumber``, ``shipDate``, ``trackingNumber`` (50), ``serialNumbers``,
  ``expectedArrivalDate`` (back-order ETA), ``backorderedFlag``, ``canceledFlag`` (+ ``canceledReason``),
  and ``note`` (every package with its quantity, carrier and tracking) → the block of ``internalNotes``
  (1000).

Received quantities are left to ConnectWise's own receiving. Line items are written before the PO.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from channelsync.adapters.psa_orders import Skip, day_stamp, status_value
from channelsync.canonical.orders import PsaLine, PsaOrder, day, fit_list, note_block, with_note_block
from channelsync.clients.call_tally import ContextThreadPool
from channelsync.clients.connectwise import conditions as c
from channelsync.clients.connectwise.client import replace_ops
from channelsync.clients.connectwise.domain import PURCHASE_ORDERS
from channelsync.errors import FatalApiError, define

if TYPE_CHECKING:
    from channelsync.clients.connectwise import ConnectWiseClient
    from channelsync.runs.loader import Operation

SYSTEM = "connectwise"
SHORT_LIMIT = 50
LINE_NOTES_LIMIT = 1000
PO_NOTES_LIMIT = 4000  # ASSUMPTION: the spec gives internalNotes no length; kept bounded
CW_UNKNOWN_PO_STATUS = define("CW_UNKNOWN_PO_STATUS", SYSTEM,
                              "A configured purchase-order status does not exist in ConnectWise")
COUNTRY_CODES = {"united states": "US", "usa": "US", "canada": "CA"}
LINE_READS_IN_FLIGHT = 4
_STATUS_IDS: weakref.WeakKeyDictionary[Any, dict[str, int]] = weakref.WeakKeyDictionary()


class ConnectWiseOrders:
    psa_system = SYSTEM
    entity_type = "purchase_order"
    records_xref = True  # the PO ↔ PSA purchase order pair is kept
    ORDER_FIELDS: ClassVar[tuple[str, ...]] = ("status", "order_number", "ship_date", "tracking", "invoice_number",
                                               "invoice_date", "note")
    LINE_FIELDS: ClassVar[tuple[str, ...]] = ("order_number", "ship_date", "tracking", "serials", "eta",
                                              "backordered", "cancelled", "note")
    ORDER_LIMITS: ClassVar[Mapping[str, int]] = {"order_number": SHORT_LIMIT, "tracking": SHORT_LIMIT,
                                                 "invoice_number": SHORT_LIMIT, "note": PO_NOTES_LIMIT}
    LINE_LIMITS: ClassVar[Mapping[str, int]] = {"order_number": SHORT_LIMIT, "tracking": SHORT_LIMIT,
                                                "note": LINE_NOTES_LIMIT}

    def __init__(self, client: ConnectWiseClient, *, vendor: str = "TD SYNNEX", default_country: str = "US") -> None:
        self.client = client
        self.vendor = vendor
        self.default_country = default_country
        self._lock = threading.Lock()

    # ---- reading ------------------------------------------------------------------------------------
    def read_orders(self, *, statuses: Sequence[str], with_skus: bool = True,
                    skip: Skip | None = None) -> list[PsaOrder]:
        ids = [self._status_id(label) for label in statuses]
        wanted = self.vendor.casefold()
        orders = [po for po in self.client.iter_purchase_orders(conditions=c.in_("status/id", ids))
                  if wanted in (str((po.get("vendorCompany") or {}).get("identifier") or "").casefold(),
                                str((po.get("vendorCompany") or {}).get("name") or "").casefold())
                  and (skip is None or not skip(_number(po), (po.get("status") or {}).get("name")))]
        # One call per PO (no cross-PO line-item query): a few in flight, as the catalog reads page ahead.
        with ContextThreadPool(max_workers=LINE_READS_IN_FLIGHT, thread_name_prefix="cw-po-lines") as pool:
            lines = list(pool.map(lambda po: list(self.client.iter_po_line_items(int(po["id"]))), orders))
        return [self._order(po, items) for po, items in zip(orders, lines, strict=True)]

    def _order(self, po: dict[str, Any], items: list[dict[str, Any]]) -> PsaOrder:
        lines = [
            PsaLine(
                psa_id=str(item["id"]), line_number=int(item.get("lineNumber") or position),
                product_id=str((item.get("product") or {}).get("id")) if item.get("product") else None,
                sku=(str(item["vendorSku"]).strip() or None) if item.get("vendorSku") else None,
                description=str(item.get("description") or ""), quantity=float(item.get("quantity") or 0),
                unit_cost=float(item["unitCost"]) if item.get("unitCost") is not None else None,
                memo=str(item.get("internalNotes") or ""),
                tracked={"order_number": item.get("vendorOrderNumber") or None, "ship_date": day(item.get("shipDate")),
                         "tracking": item.get("trackingNumber") or None, "serials": item.get("serialNumbers") or None,
                         "eta": day(item.get("expectedArrivalDate")), "backordered": bool(item.get("backorderedFlag")),
                         "cancelled": bool(item.get("canceledFlag")), "note": note_block(item.get("internalNotes"))},
            )
            for position, item in enumerate(sorted(items, key=lambda i: int(i.get("lineNumber") or 0)), start=1)
        ]
        status = (po.get("status") or {}).get("name")
        memo = str(po.get("internalNotes") or "")
        return PsaOrder(
            psa_id=str(po["id"]), number=_number(po), status=status, since=po.get("poDate"),
            ship_to={"name": po.get("customerName") or "", "address1": po.get("customerStreetLine1") or "",
                     "address2": po.get("customerStreetLine2") or "", "city": po.get("customerCity") or "",
                     "state": po.get("customerState") or "", "zip_code": po.get("customerZip") or "",
                     "country": _country(po.get("customerCountry")) or self.default_country,
                     "contact_name": str((po.get("customerContact") or {}).get("name") or ""),
                     "phone": po.get("customerPhone") or "", "email": ""},
            lines=lines, memo=memo,
            tracked={"status": status, "order_number": po.get("vendorOrderNumber") or None,
                     "ship_date": day(po.get("shipmentDate")), "tracking": po.get("trackingNumber") or None,
                     "invoice_number": po.get("vendorInvoiceNumber") or None,
                     "invoice_date": day(po.get("vendorInvoiceDate")), "note": note_block(memo)},
        )

    # ---- writing (the loader's executor) ------------------------------------------------------------
    def execute(self, operation: Operation) -> str:
        po_id = int(str(operation.target_id))
        for line in operation.fields.get("lines") or []:
            ops = replace_ops(self._line_body(line))
            if ops:
                self.client.patch(f"{PURCHASE_ORDERS}/{po_id}/lineitems", int(line["psa_id"]), ops)
        body = self._order_body(operation.fields.get("order") or {})
        if body:
            self.client.patch(PURCHASE_ORDERS, po_id, replace_ops(body))
        return str(po_id)

    def resolve_unknown(self, operation: Operation) -> str | None:
        return None  # updates only: the loader sends the same absolute values again

    def _order_body(self, changes: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if "status" in changes:
            body["status"] = {"id": self._status_id(str(changes["status"]))}
        if "order_number" in changes:
            body["vendorOrderNumber"] = _short(changes["order_number"])
        if "tracking" in changes:
            body["trackingNumber"] = _short(changes["tracking"])
        if "ship_date" in changes:
            body["shipmentDate"] = day_stamp(changes["ship_date"])
        if "invoice_number" in changes:
            body["vendorInvoiceNumber"] = _short(changes["invoice_number"])
        if "invoice_date" in changes:
            body["vendorInvoiceDate"] = day_stamp(changes["invoice_date"])
        if "note" in changes:
            body["internalNotes"] = with_note_block(changes.get("_memo"), changes["note"] or "", limit=PO_NOTES_LIMIT)
        return body

    @staticmethod
    def _line_body(line: dict[str, Any]) -> dict[str, Any]:
        changes = line.get("changes") or {}
        names = {"order_number": "vendorOrderNumber", "tracking": "trackingNumber"}
        body: dict[str, Any] = {names[k]: _short(v) for k, v in changes.items() if k in names}
        if "serials" in changes:
            body["serialNumbers"] = changes["serials"] or None
        if "ship_date" in changes:
            body["shipDate"] = day_stamp(changes["ship_date"])
        if "eta" in changes:
            body["expectedArrivalDate"] = day_stamp(changes["eta"])
        if "backordered" in changes:
            body["backorderedFlag"] = bool(changes["backordered"])
        if "cancelled" in changes:
            body["canceledFlag"] = bool(changes["cancelled"])
            if changes["cancelled"]:
                body["canceledReason"] = "Cancelled by TD SYNNEX"
        if "note" in changes:
            body["internalNotes"] = with_note_block(line.get("_memo"), changes["note"] or "", limit=LINE_NOTES_LIMIT)
        return body

    # ---- lookups ------------------------------------------------------------------------------------
    def _statuses(self) -> dict[str, int]:
        """Status name → id, read once per client (a run's adapters, e.g. one per PO of a mapped load in one
        process, share it)."""
        with self._lock:
            cached = _STATUS_IDS.get(self.client)
            if cached is None:
                cached = {str(s["name"]): int(s["id"]) for s in self.client.purchase_order_statuses()
                          if not s.get("inactiveFlag")}
                _STATUS_IDS[self.client] = cached
            return cached

    def _status_id(self, label: str) -> int:
        value = status_value(self._statuses(), label)
        if value is not None:
            return value
        raise FatalApiError(f"purchase-order status {label!r} does not exist in ConnectWise "
                            f"({', '.join(self._statuses())}); create it or fix the template's options",
                            code=CW_UNKNOWN_PO_STATUS, system=SYSTEM)


def _number(po: dict[str, Any]) -> str:
    return str(po.get("poNumber") or po["id"])


def _short(value: Any) -> str | None:
    """A comma-separated value cut to the 50-character fields, whole items only."""
    return fit_list(value, SHORT_LIMIT) if value else None


def _country(value: Any) -> str | None:
    if not value:
        return None
    name = str(value.get("name") or value.get("identifier") or "") if isinstance(value, dict) else str(value)
    name = name.strip()
    return COUNTRY_CODES.get(name.casefold(), name if len(name) == 2 else None) if name else None
