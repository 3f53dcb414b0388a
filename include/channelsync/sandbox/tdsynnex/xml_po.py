"""XML PO submission (spec v3.37): ``POST /xml/SynnexXML/PO``.

Reproduced: required-field validation answered with ``Client.IncompleteXML`` and a field-level list
(``OrderRequest/PONumber: String value required``); bad login; duplicate PO number per account
rejected with the spec's reason and ``DUPREJECT,R-PODUPE---DUPPOKILL,R-PODUPE``; ship-method codes
checked against Appendix B; a unit price outside the 1-cent US tolerance of the reseller price stops
the line for manual handling (``OrderType`` 99, ``POLINEQC,A-SALESPND---PRICEVAR,A-SALESPND``); a
line without stock becomes a backorder (``BO``) when ``BackOrderFlag`` allows it.
ASSUMPTIONS (not in the spec): an unknown SKU or a refused backorder rejects that line with a
``Reason``; the order is ``rejected`` when every line is.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from channelsync.sandbox.framework import SandboxResponse
from channelsync.sandbox.store import Table
from channelsync.sandbox.tdsynnex.catalog import WAREHOUSES, CatalogIndex
from channelsync.sandbox.tdsynnex.xml_common import BadXml, b2b_error, parse_request, stamp, sub, text, xml_response

PRICE_TOLERANCE = Decimal("0.01")  # "1c in US, 2c in CANADA" (spec example 7)
DUPLICATE_REASON = (
    "This PO# already exists in our system for your account, therefore we are rejecting this request to "
    "prevent a duplicate shipment. Please call your SYNNEX sales rep if any questions."
)
DUPLICATE_REFERENCE = "DUPREJECT,R-PODUPE---DUPPOKILL,R-PODUPE"
PRICE_VARIANCE_REFERENCE = "POLINEQC,A-SALESPND---PRICEVAR,A-SALESPND"
SALES_ORDER_REFERENCE = "SALESORDER,A-CIS---SOLINE,A-CIS"

# A selection of Appendix B (United States); NL is the "Hold Order" method PO status shows for holds.
SHIP_METHODS = {
    "FX": "FedEx Express Saver", "FG": "FedEx Ground", "FO": "FedEx Standard Overnight",
    "FP": "FedEx Priority Overnight", "F2": "FedEx 2 Day", "FS": "FedEx Saturday Delivery",
    "UP": "UPS Ground", "UB": "UPS 2 Day Air", "UR": "UPS Next Day Air", "URS": "UPS Next Day Air Saver",
    "U3": "UPS 3 Day Select", "US": "UPS Saturday", "DSV": "Direct Ship Fr Vendr",
    "EDEL": "Electronic Delivery (Email)", "WC": "SYNNEX Will Call", "CPU": "Third-Party Customer Pick Up",
    "HS": "Hold Ship", "ABFC": "ABF CUST SHIP", "ODI": "Old Dominion", "NL": "Hold Order",
}

# (path, max length or 0): the header and ship-to fields the spec marks R.
_REQUIRED = [
    ("CustomerNumber", 10), ("PONumber", 20), ("DropShipFlag", 1),
    ("Shipment/ShipTo/AddressName1", 30), ("Shipment/ShipTo/AddressLine1", 60), ("Shipment/ShipTo/City", 20),
    ("Shipment/ShipTo/State", 2), ("Shipment/ShipTo/ZipCode", 10), ("Shipment/ShipMethod/Code", 5),
]


def handle_po(body: bytes, orders: Table, catalog: CatalogIndex, credentials: dict[str, str],
              now: datetime, next_order_number: int, duplicates: Table | None = None) -> SandboxResponse:
    """``duplicates``: where every refused resubmission of a known PO number is kept (tests count them:
    a client that never sends a PO twice leaves it empty)."""
    try:
        request = parse_request(body)
    except BadXml as exc:
        return b2b_error("OrderResponse", "Client.IncompleteXML", str(exc))
    if (text(request, "Credential/UserID"), text(request, "Credential/Password")) != (
        credentials["username"], credentials["password"]
    ):
        return b2b_error("OrderResponse", "Client.InvalidLogin", "Invalid UserID or Password")
    order = request.find("OrderRequest")
    problems = _validate(order)
    if problems:
        return b2b_error("OrderResponse", "Client.IncompleteXML", "; ".join(problems))
    assert order is not None
    if text(order, "CustomerNumber") != credentials["customer_number"]:
        return b2b_error("OrderResponse", "Client.InvalidLogin",
                         f"Customer number {text(order, 'CustomerNumber')} is not linked to this login")
    po_number = text(order, "PONumber")
    if orders.get(po_number) is not None:
        if duplicates is not None:
            duplicates.insert({"PONumber": po_number, "receivedAt": stamp(now)})
        return _duplicate(order, po_number, now)
    record = _build_order(order, catalog, now, next_order_number)
    orders.insert(record)
    return _acknowledge(record, now)


def _validate(order: ET.Element | None) -> list[str]:
    if order is None:
        return ["OrderRequest: element required"]
    problems = []
    for path, max_len in _REQUIRED:
        value = text(order, path)
        if not value:
            problems.append(f"OrderRequest/{path}: String value required")
        elif max_len and len(value) > max_len:
            problems.append(f"OrderRequest/{path}: length {len(value)} exceeds {max_len}")
    code = text(order, "Shipment/ShipMethod/Code").upper()
    if code and code not in SHIP_METHODS:
        problems.append(f"OrderRequest/Shipment/ShipMethod/Code: unknown ship method '{code}'")
    bill_to = order.find("Payment/BillTo")
    if bill_to is None or not (bill_to.get("code") or "").strip():
        problems.append("OrderRequest/Payment/BillTo/@code: String value required")
    items = order.findall("Items/Item")
    if not items:
        problems.append("OrderRequest/Items/Item: at least one Item required")
    for position, item in enumerate(items, start=1):
        where = f"OrderRequest/Items/Item[{position}]"
        if not (item.get("lineNumber") or "").strip():
            problems.append(f"{where}/@lineNumber: String value required")
        if not any(text(item, tag) for tag in ("SKU", "SynnexPartNumber", "ManufacturerPartNumber")):
            problems.append(f"{where}/SKU: String value required")
        try:
            Decimal(text(item, "UnitPrice"))
        except InvalidOperation:
            problems.append(f"{where}/UnitPrice: Decimal value required")
        quantity = text(item, "OrderQuantity")
        if not quantity.isdigit() or int(quantity) < 1:
            problems.append(f"{where}/OrderQuantity: positive Integer value required")
    return problems


def _build_order(order: ET.Element, catalog: CatalogIndex, now: datetime, order_number: int) -> dict[str, Any]:
    ship_code = text(order, "Shipment/ShipMethod/Code").upper()
    backorder_ok = text(order, "BackOrderFlag", "Y").upper() != "N"
    lines = []
    for item in order.findall("Items/Item"):
        lines.append(_build_line(item, catalog, order_number, ship_code, backorder_ok))
    codes = {line["code"] for line in lines}
    ship_to = order.find("Shipment/ShipTo")
    return {
        "PONumber": text(order, "PONumber"),
        "CustomerNumber": text(order, "CustomerNumber"),
        "PODatetime": text(order, "PODateTime") or stamp(now),
        "receivedAt": stamp(now),
        "code": "rejected" if codes == {"rejected"} else "accepted",
        "reason": "",
        "shipMethod": ship_code,
        "shipTo": {child.tag: (child.text or "").strip() for child in (ship_to if ship_to is not None else [])},
        "endUserPONumber": text(order, "EndUserPONumber"),
        "items": lines,
        "invoices": [],
    }


def _build_line(item: ET.Element, catalog: CatalogIndex, order_number: int, ship_code: str,
                backorder_ok: bool) -> dict[str, Any]:
    sku = text(item, "SKU") or text(item, "SynnexPartNumber")
    record = catalog.by_sku(sku) if sku else None
    if record is None and text(item, "ManufacturerPartNumber"):
        found = catalog.by_mpn(text(item, "ManufacturerPartNumber"))
        record = found[0] if found else None
    quantity = int(text(item, "OrderQuantity"))
    unit_price = Decimal(text(item, "UnitPrice"))
    line: dict[str, Any] = {
        "lineNumber": item.get("lineNumber", "").strip(), "code": "accepted", "reason": "",
        "orderNumber": str(order_number), "orderType": "SO", "orderQuantity": quantity,
        "unitPrice": str(unit_price), "sku": sku, "mfgPN": "", "productName": text(item, "ProductName"),
        "shipQuantity": 0, "shipFromWarehouse": "", "shipMethod": ship_code, "shipDatetime": "",
        "etaDate": "", "packages": [], "reference": SALES_ORDER_REFERENCE,
    }
    if record is None or not record.get("authorized", True) or record.get("status") != "Active":
        line.update(code="rejected", orderType="99", reference="",
                    reason="Invalid or unavailable SKU for this account")
        return line
    line.update(sku=record["synnexSKU"], mfgPN=record["mfgPN"],
                productName=line["productName"] or str(record["description"])[:80])
    stocked = sorted(((int(q), w) for w, q in record["warehouses"].items()), reverse=True)
    line["shipFromWarehouse"] = text(item, "ShipFromWarehouse") or (stocked[0][1] if stocked else "3")
    if abs(unit_price - Decimal(str(record["price"]))) > PRICE_TOLERANCE:
        line.update(orderType="99", reference=PRICE_VARIANCE_REFERENCE)
    elif sum(q for q, _ in stocked) < quantity:
        if not backorder_ok:
            line.update(code="rejected", orderType="99", reference="",
                        reason="Insufficient stock and back order not allowed (BackOrderFlag=N)")
        else:
            line.update(orderType="BO", reference="", shipMethod="NL")
    return line


def _acknowledge(record: dict[str, Any], now: datetime) -> SandboxResponse:
    root = ET.Element("SynnexB2B")
    response = sub(root, "OrderResponse")
    sub(response, "CustomerNumber", record["CustomerNumber"])
    sub(response, "PONumber", record["PONumber"])
    sub(response, "Code", record["code"])
    sub(response, "ResponseDateTime", stamp(now))
    sub(response, "ResponseElapsedTime", "0.412s")
    items = sub(response, "Items")
    for line in record["items"]:
        item = sub(items, "Item", lineNumber=line["lineNumber"])
        sub(item, "SKU", line["sku"])
        sub(item, "OrderQuantity", line["orderQuantity"])
        sub(item, "Code", line["code"])
        if line["reason"]:
            sub(item, "Reason", line["reason"])
        sub(item, "OrderNumber", line["orderNumber"])
        sub(item, "OrderType", line["orderType"])
        sub(item, "ShipFromWarehouse", line["shipFromWarehouse"] or None)
        sub(item, "SynnexInternalReference", line["reference"])
    return xml_response(root)


def _duplicate(order: ET.Element, po_number: str, now: datetime) -> SandboxResponse:
    root = ET.Element("SynnexB2B")
    response = sub(root, "OrderResponse")
    sub(response, "CustomerNumber", text(order, "CustomerNumber"))
    sub(response, "PONumber", po_number)
    sub(response, "Code", "rejected")
    sub(response, "Reason", DUPLICATE_REASON)
    sub(response, "ResponseDateTime", stamp(now))
    sub(response, "ResponseElapsedTime", "0.201s")
    items = sub(response, "Items")
    for item in order.findall("Items/Item"):
        line = sub(items, "Item", lineNumber=item.get("lineNumber", ""))
        sub(line, "SKU", text(item, "SKU"))
        sub(line, "OrderQuantity", text(item, "OrderQuantity"))
        sub(line, "Code", "rejected")
        sub(line, "Reason", DUPLICATE_REASON)
        sub(line, "OrderNumber", "")
        sub(line, "OrderType", "99")
        sub(line, "ShipFromWarehouse")
        sub(line, "SynnexInternalReference", DUPLICATE_REFERENCE)
    return xml_response(root)


def warehouse_location(number: str) -> dict[str, str]:
    info = WAREHOUSES.get(number, {})
    city = info.get("city", "")
    return {"city": city.split(",")[0], "state": info.get("state", ""), "zip": info.get("zipcode", "")}
