"""XML PO status (spec v2.42): ``POST /xml/SynnexXML/POStatus``, and the control actions that move an
order along (``POST /_sandbox/tdsynnex/orders/{po}/{action}``: accept, backorder, cancel, ship —
partially with ``quantity``, split with ``warehouse``, ``"invoice": true`` to invoice the shipment at
once — and invoice, see ``xml_invoice``).

An order record keeps one entry per ``<Item>`` the status response shows, so a split shipment is
the same ``lineNumber`` twice (an ``accepted`` remainder plus a ``shipped`` part, spec example 6).
Codes: order ``accepted`` / ``shipped`` / ``deleted`` / ``rejected`` / ``notFound``; ``version`` >= 2.4
adds ``Freight``, ``HandlingFee``, ``Tax``, ``RecyclingFee`` per item.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from channelsync.sandbox.framework import SandboxResponse
from channelsync.sandbox.tdsynnex.catalog import CatalogIndex, stable_hash
from channelsync.sandbox.tdsynnex.xml_common import b2b_error, read_request, stamp, sub, text, xml_response
from channelsync.sandbox.tdsynnex.xml_invoice import invoice_shipments
from channelsync.sandbox.tdsynnex.xml_po import SALES_ORDER_REFERENCE, SHIP_METHODS, warehouse_location


def handle_po_status(body: bytes, orders: Any, credentials: dict[str, str], now: datetime) -> SandboxResponse:
    # "PO Status XML": the real answer to a truncated document (fixture synnex-os-error-1.xml).
    read = read_request(body, "OrderStatusResponse", credentials, bad_xml_message="PO Status XML")
    if isinstance(read, SandboxResponse):
        return read
    request, version = read
    query = request.find("OrderStatusRequest")
    customer, po_number = text(query, "CustomerNumber"), text(query, "PONumber")
    if not customer or not po_number:
        missing = "CustomerNumber" if not customer else "PONumber"
        return b2b_error("OrderStatusResponse", "Client.IncompleteXML",
                         f"OrderStatusRequest/{missing}: String value required", version)
    record = orders.get(po_number) if customer == credentials["customer_number"] else None
    root = ET.Element("SynnexB2B", {"version": version} if version else {})
    response = sub(root, "OrderStatusResponse")
    sub(response, "CustomerNumber", customer)
    sub(response, "PONumber", po_number)
    sub(response, "Code", record["code"] if record else "notFound")
    sub(response, "Reason", record.get("reason") or None if record else None)
    sub(response, "PODatetime", record["PODatetime"] if record else None)
    sub(response, "ResponseDateTime", stamp(now))
    items = sub(response, "Items")
    with_fees = _version(version) >= 2.4
    # A rejected PO shows no lines (spec example 9).
    for line in (record["items"] if record and record["code"] != "rejected" else []):
        _item(items, line, with_fees)
    sub(response, "ResponseElapsedTime", "0.214s")
    return xml_response(root)


def _version(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return 0.0


def _item(parent: ET.Element, line: dict[str, Any], with_fees: bool) -> None:
    item = sub(parent, "Item", lineNumber=line["lineNumber"])
    sub(item, "Code", line["code"])
    sub(item, "ShipDatetime", line["shipDatetime"] or None)
    sub(item, "OrderNumber", line["orderNumber"])
    sub(item, "OrderType", line["orderType"])
    sub(item, "OrderQuantity", line["orderQuantity"])
    sub(item, "UnitPrice", line["unitPrice"])
    sub(item, "SKU", line["sku"])
    sub(item, "MfgPN", line["mfgPN"])
    sub(item, "ProductName", line["productName"])
    sub(item, "ShipQuantity", line["shipQuantity"])
    location = warehouse_location(line["shipFromWarehouse"])
    sub(item, "ShipFromWarehouse", line["shipFromWarehouse"])
    sub(item, "ShipFromCity", location["city"])
    sub(item, "ShipFromState", location["state"])
    sub(item, "ShipFromZip", location["zip"])
    sub(item, "ShipMethod", line["shipMethod"])
    sub(item, "ShipMethodDescription", SHIP_METHODS.get(line["shipMethod"], ""))
    sub(item, "ETADate", line["etaDate"] or None)
    if with_fees:
        for tag in ("Freight", "HandlingFee", "Tax", "RecyclingFee"):
            sub(item, tag, line.get(tag.lower(), "0.00"))
    packages = sub(item, "Packages")
    for package in line["packages"]:
        block = sub(packages, "Package")
        sub(block, "TrackingNumber", package["trackingNumber"])
        sub(block, "Weight", package["weight"])
        sub(block, "ShipItemQuantity", package["shipItemQuantity"])
        for serial in package["serials"]:
            sub(block, "SerialNo", serial)


# --- control actions ------------------------------------------------------------------------------

def _targets(record: dict[str, Any], body: dict[str, Any]) -> list[dict[str, Any]]:
    wanted = {str(n) for n in body.get("lines") or []}
    return [line for line in record["items"]
            if line["code"] == "accepted" and (not wanted or line["lineNumber"] in wanted)]


def _recompute(record: dict[str, Any]) -> None:
    codes = [line["code"] for line in record["items"]]
    if record["code"] == "rejected":
        return
    if codes and all(code == "deleted" for code in codes):
        record["code"] = "deleted"
    elif codes and all(code in ("shipped", "deleted") for code in codes):
        record["code"] = "shipped"
    else:
        record["code"] = "accepted"


def apply_action(record: dict[str, Any], action: str, body: dict[str, Any], catalog: CatalogIndex,
                 now: datetime, next_invoice: Callable[[], int]) -> dict[str, Any]:
    """Change ``record`` in place; raise ``ValueError`` for an unknown action or a bad argument. Returns
    what the action made (``{"invoices": [...]}`` when it invoiced)."""
    if record["code"] == "rejected":
        raise ValueError(f"PO {record['PONumber']} was rejected at submission; nothing to move")
    if action == "accept":
        for line in _targets(record, body):
            if line["orderType"] == "99":
                line.update(orderType="SO", reference=SALES_ORDER_REFERENCE)
    elif action == "backorder":
        eta = str(body.get("eta") or "")
        for line in _targets(record, body):
            line.update(orderType="BO", shipMethod="NL", etaDate=eta)
    elif action == "cancel":
        for line in _targets(record, body):
            line.update(code="deleted")
    elif action == "ship":
        _ship(record, body, catalog, now)
        _recompute(record)
        if body.get("invoice"):
            return {"invoices": invoice_shipments(record, {}, catalog, now, next_invoice)}
    elif action == "invoice":
        return {"invoices": invoice_shipments(record, body, catalog, now, next_invoice)}
    else:
        raise ValueError(f"unknown action {action!r}; expected accept, ship, backorder, cancel or invoice")
    _recompute(record)
    return {}


def _ship(record: dict[str, Any], body: dict[str, Any], catalog: CatalogIndex, now: datetime) -> None:
    ship_method = str(body.get("shipMethod") or record["shipMethod"] or "FG").upper()
    if ship_method == "NL":
        ship_method = "FG"
    for line in _targets(record, body):
        remaining = line["orderQuantity"] - sum(
            sibling["shipQuantity"] for sibling in record["items"]
            if sibling["lineNumber"] == line["lineNumber"] and sibling["code"] == "shipped"
        )
        quantity = min(int(body.get("quantity") or remaining), remaining)
        if quantity <= 0:
            continue
        product = catalog.by_sku(line["sku"]) or {}
        seed = stable_hash(record["PONumber"], line["lineNumber"], str(remaining))
        serials = list(body.get("serials") or [f"SN{line['sku']}{seed % 10**6:06d}{n:02d}" for n in range(quantity)])
        package = {
            "trackingNumber": str(body.get("tracking") or f"1Z{seed:010d}{quantity:02d}"),
            "weight": str((Decimal(str(product.get("weight", "1"))) * quantity).quantize(Decimal("0.01"))),
            "shipItemQuantity": quantity,
            "serials": serials[:quantity],
        }
        shipped = dict(line, code="shipped", orderType="SO", shipQuantity=quantity, shipDatetime=stamp(now),
                       shipMethod=ship_method, etaDate="", packages=[package],
                       shipFromWarehouse=str(body.get("warehouse") or line["shipFromWarehouse"]),
                       freight="12.50", handlingfee="0.00", tax="0.00", recyclingfee="0.00")
        if quantity == remaining and not line["packages"]:
            # the whole remainder goes: the open entry becomes the shipped one
            record["items"][record["items"].index(line)] = shipped
        else:
            record["items"].append(shipped)
            if quantity == remaining:
                record["items"].remove(line)
