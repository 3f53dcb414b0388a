"""Server-side rules applied after validation: computed and server-owned fields.

- every record: ``_info`` with ``lastUpdated`` / ``updatedBy`` (the only change marker CW has);
- catalog items: ``dateEntered``;
- agreements: ``agreementStatus`` (Cancelled / Expired / Active) is computed, never written;
- purchase orders: ``poNumber`` / ``poDate`` assigned when absent, ``closedFlag`` / ``dateClosed``
  follow the status (the model says the flag only changes through a closed/open status);
- PO line items: ``lineNumber``, ``purchaseOrderId`` / ``purchaseOrderNumber``, ``unitCost`` and
  ``vendorSku`` default from the catalog item, ``extCost``; the PO's ``subTotal`` / ``total`` follow;
- agreement additions: ``agreementId``, price / cost / description default from the catalog item,
  ``extPrice`` / ``extCost`` / ``margin``, ``agreementStatus`` (cancelled addition → Cancelled); the
  effective date inside the agreement's dates, the cancelled date not before it (400 otherwise).
ASSUMPTION: CW adds line items to a PO of any open status; a closed PO refuses them (400).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from channelsync.sandbox.connectwise.errors import field_error, invalid_object
from channelsync.sandbox.store import RecordStore


def stamp(now: datetime) -> str:
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")


def info(record: dict[str, Any], now: datetime, base: dict[str, Any] | None = None) -> None:
    record["_info"] = {**(base or {}), "lastUpdated": stamp(now), "updatedBy": "sandboxapi"}


def agreement_status(agreement: dict[str, Any], now: datetime) -> str:
    if agreement.get("cancelledFlag"):
        return "Cancelled"
    end = agreement.get("endDate")
    if end and not agreement.get("noEndingDateFlag") and end < stamp(now):
        return "Expired"
    return "Active"


def apply(table: str, record: dict[str, Any], store: RecordStore, now: datetime, *, creating: bool,
          parent: dict[str, Any] | None = None) -> None:
    if table == "catalogItems" and creating:
        record.setdefault("dateEntered", stamp(now))
    elif table == "agreements":
        record["agreementStatus"] = agreement_status(record, now)
    elif table == "purchaseOrders":
        _purchase_order(record, store, now)
    elif table == "purchaseOrderLineItems" and parent is not None:
        _line_item(record, store, parent, creating)
    elif table == "additions" and parent is not None:
        _addition(record, store, parent, now)


def _purchase_order(record: dict[str, Any], store: RecordStore, now: datetime) -> None:
    record.setdefault("poDate", stamp(now))
    if not record.get("poNumber"):
        record["poNumber"] = f"PO{store.table('purchaseOrders')._next_id:06d}"
    status = store.table("purchaseOrderStatuses").get(record["status"]["id"]) or {}
    closed = bool(status.get("closedFlag"))
    if closed and not record.get("closedFlag"):
        record["dateClosed"] = stamp(now)
        record["closedBy"] = "sandboxapi"
    elif not closed:
        record.pop("dateClosed", None)
        record.pop("closedBy", None)
    record["closedFlag"] = closed
    record.setdefault("subTotal", 0.0)
    record.setdefault("total", 0.0)


def _line_item(record: dict[str, Any], store: RecordStore, po: dict[str, Any], creating: bool) -> None:
    if creating and po.get("closedFlag"):
        raise invalid_object("purchaseOrderLineItem", [field_error(
            "InvalidValue", f"Purchase order {po['poNumber']} is closed; line items cannot be added.",
            "purchaseOrderLineItem", "purchaseOrderId")])
    record["purchaseOrderId"] = po["id"]
    record["purchaseOrderNumber"] = po.get("poNumber")
    product = store.table("catalogItems").get(record["product"]["id"]) or {}
    record.setdefault("unitCost", float(product.get("cost") or 0.0))
    if product.get("vendorSku"):
        record.setdefault("vendorSku", product["vendorSku"])
    if creating and "lineNumber" not in record:
        siblings = [r for r in store.table("purchaseOrderLineItems").rows() if r.get("purchaseOrderId") == po["id"]]
        record["lineNumber"] = 1 + max((int(r.get("lineNumber") or 0) for r in siblings), default=0)
    record["extCost"] = round(float(record.get("quantity") or 0) * float(record.get("unitCost") or 0), 2)


def refresh_po_totals(store: RecordStore, po_id: int) -> None:
    po = store.table("purchaseOrders").get(po_id)
    if po is None:
        return
    lines = [r for r in store.table("purchaseOrderLineItems").rows() if r.get("purchaseOrderId") == po_id]
    subtotal = round(sum(float(r.get("extCost") or 0) for r in lines if not r.get("canceledFlag")), 2)
    po["subTotal"] = subtotal
    po["total"] = round(subtotal + float(po.get("freightCost") or 0) + float(po.get("salesTax") or 0), 2)


def _addition(record: dict[str, Any], store: RecordStore, agreement: dict[str, Any], now: datetime) -> None:
    record["agreementId"] = agreement["id"]
    product = store.table("catalogItems").get(record["product"]["id"]) or {}
    record.setdefault("unitPrice", float(product.get("price") or 0.0))
    record.setdefault("unitCost", float(product.get("cost") or 0.0))
    record.setdefault("description", product.get("description"))
    record.setdefault("uom", "Each")
    record.setdefault("effectiveDate", agreement.get("startDate") or stamp(now))
    _addition_dates(record, agreement)
    quantity = float(record.get("quantity") or 0)
    record["extPrice"] = round(quantity * float(record["unitPrice"]), 2)
    record["extCost"] = round(quantity * float(record["unitCost"]), 2)
    record["margin"] = round(record["extPrice"] - record["extCost"], 2)
    cancelled = record.get("cancelledDate")
    if cancelled and cancelled <= stamp(now):
        record["agreementStatus"] = "Cancelled"
    else:
        record["agreementStatus"] = agreement_status(agreement, now)


def _addition_dates(record: dict[str, Any], agreement: dict[str, Any]) -> None:
    """An addition bills inside its agreement: the effective date may not be before the agreement's start
    nor after its end (when it has one), and a cancelled date may not be before the effective date.
    ASSUMPTION: ConnectWise's rule and its wording are not in our sources; the emulator answers 400
    InvalidObject with an inner InvalidValue error on the date field."""
    effective = str(record["effectiveDate"])[:10]
    start = str(agreement.get("startDate") or "")[:10]
    end = None if agreement.get("noEndingDateFlag") else (str(agreement.get("endDate") or "")[:10] or None)
    problems = []
    if start and effective < start:
        problems.append(field_error("InvalidValue", f"The effective date {effective} is before the agreement's "
                                    f"start date {start}.", "addition", "effectiveDate"))
    if end and effective > end:
        problems.append(field_error("InvalidValue", f"The effective date {effective} is after the agreement's "
                                    f"end date {end}.", "addition", "effectiveDate"))
    cancelled = str(record.get("cancelledDate") or "")[:10]
    if cancelled and cancelled < effective:
        problems.append(field_error("InvalidValue", f"The cancelled date {cancelled} is before the effective "
                                    f"date {effective}.", "addition", "cancelledDate"))
    if problems:
        raise invalid_object("addition", problems)

