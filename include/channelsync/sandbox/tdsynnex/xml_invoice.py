"""The XML invoice query web service: ``POST /xml/webservice/invoice/query``, and the control action
that invoices an order's shipments (``POST /_sandbox/tdsynnex/orders/{po}/invoice``).

Request (reference §1.12, from user code, no public spec): ``<SynnexB2B version="1.0"><Credential>
<UserID/><Password/></Credential><InvoiceRequest><CustomerNumber/><PONumber/> or <OrderNumber/>
</InvoiceRequest></SynnexB2B>``. The answer carries one ``<Invoice>`` per invoice of the PO (or of the
sales order) with the fields user code reads: invoice number and date, order type, ship-to and bill-to,
payment terms and discount, ship method and date, internal reference, tracking numbers, the items
(line number, ship quantity, unit price, SYNNEX / manufacturer part numbers, vendor, UPC, description,
serial numbers) and a summary (total, freight, sales tax, fees, weight, box count).

ASSUMPTIONS (the service's XML is not public; user code names the fields in camelCase after
lower-casing the tags):

- element names follow the PO and PO-status services' PascalCase: ``<InvoiceResponse>`` with
  ``CustomerNumber``, ``CustomerPONumber`` and repeated ``<Invoice>``; each ``<Invoice>`` has
  ``InvoiceNumber``, ``InvoiceDate`` (YYYY-MM-DD), ``OrderNumber``, ``OrderType``, ``CustomerPONumber``,
  ``ShipTo``, ``BillTo``, ``PaymentTermDays``, ``PaymentTermDesc``, ``Discount``, ``DiscountDays``,
  ``ShipMethodCode``, ``ShipMethodDesc``, ``ShipDate``, ``InternalReferenceNumber``, repeated
  ``<Tracking><TrackNumber/></Tracking>``, ``<Items><Item lineNumber>`` (``CustPOLineNo``,
  ``ShipQuantity``, ``UnitPrice``, ``SKU``, ``SynnexPartNumber``, ``ManufacturerPartNumber``,
  ``VendorNumber``, ``VendorName``, ``UPCCode``, ``ProductDescription``, repeated ``SerialNo``) and
  ``<Summary>`` (``TotalInvoiceAmount``, ``AllowanceOrCharge``, ``ExpenseTotal``, ``MinOrderFee``,
  ``Rebate``, ``Freight``, ``ProcessingFee``, ``BoxCharge``, ``TotalWeight``, ``BoxCount``, ``SalesTax``);
- a PO not invoiced yet, unknown, or of another account answers no ``<Invoice>`` (user code only reads
  the list); errors use ``<InvoiceResponse><ErrorMessage/><ErrorDetail/>`` like the other services;
- TD SYNNEX invoices a sales order's shipments: one invoice per sales order per invoicing, NET 30.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from channelsync.sandbox.framework import SandboxResponse
from channelsync.sandbox.tdsynnex.catalog import MFG_CODES, CatalogIndex
from channelsync.sandbox.tdsynnex.xml_common import b2b_error, read_request, sub, text, xml_response
from channelsync.sandbox.tdsynnex.xml_po import SHIP_METHODS

CENT = Decimal("0.01")
PAYMENT_TERM_DAYS = 30


def invoice_shipments(record: dict[str, Any], body: dict[str, Any], catalog: CatalogIndex, now: datetime,
                      next_number: Callable[[], int]) -> list[dict[str, Any]]:
    """Invoice the shipped parts of ``record`` not invoiced yet (``body["lines"]``: only those lines),
    one invoice per sales order; the parts keep their invoice number. Raises ``ValueError`` when
    nothing is left to invoice."""
    wanted = {str(n) for n in body.get("lines") or []}
    parts = [part for part in record["items"] if part["code"] == "shipped" and not part.get("invoiceNumber")
             and (not wanted or part["lineNumber"] in wanted)]
    if not parts:
        raise ValueError(f"PO {record['PONumber']} has no shipped, uninvoiced lines")
    by_order: dict[str, list[dict[str, Any]]] = {}
    for part in parts:
        by_order.setdefault(part["orderNumber"], []).append(part)
    invoices = []
    for order_number, group in by_order.items():
        invoice = _invoice(record, order_number, group, catalog, now, str(next_number()))
        for part in group:
            part["invoiceNumber"] = invoice["invoiceNumber"]
        record["invoices"].append(invoice)
        invoices.append(invoice)
    return invoices


def _invoice(record: dict[str, Any], order_number: str, parts: list[dict[str, Any]], catalog: CatalogIndex,
             now: datetime, number: str) -> dict[str, Any]:
    items, tracking, weight, boxes = [], [], Decimal("0"), 0
    subtotal, freight = Decimal("0"), Decimal("0")
    for part in parts:
        product = catalog.by_sku(part["sku"]) or {}
        serials = [s for package in part["packages"] for s in package["serials"]]
        for package in part["packages"]:
            if package["trackingNumber"] not in tracking:
                tracking.append(package["trackingNumber"])
            weight += Decimal(str(package["weight"] or "0"))
            boxes += 1
        price = Decimal(part["unitPrice"])
        subtotal += price * part["shipQuantity"]
        freight += Decimal(str(part.get("freight") or "0"))
        items.append({
            "lineNumber": part["lineNumber"], "custPoLineNo": part["lineNumber"],
            "shipQuantity": part["shipQuantity"], "unitPrice": str(price.quantize(CENT)), "sku": part["sku"],
            "mfgPN": part["mfgPN"], "vendorNumber": MFG_CODES.get(str(product.get("manufacturer") or ""), ""),
            "vendorName": str(product.get("manufacturer") or ""), "upc": str(product.get("upc") or ""),
            "description": part["productName"], "serials": serials,
        })
    ship_dates = sorted(part["shipDatetime"][:10] for part in parts if part.get("shipDatetime"))
    methods = [part["shipMethod"] for part in parts]
    tax = Decimal("0.00")
    return {
        "invoiceNumber": number, "invoiceDate": now.date().isoformat(), "orderNumber": order_number,
        "orderType": "SO", "customerPONumber": record["PONumber"], "shipTo": dict(record.get("shipTo") or {}),
        "billTo": {"code": record["CustomerNumber"]}, "paymentTermDays": PAYMENT_TERM_DAYS,
        "paymentTermDesc": f"NET {PAYMENT_TERM_DAYS}", "discount": "0.00", "discountDays": 0,
        "shipMethodCode": methods[-1] if methods else "", "shipMethodDesc": SHIP_METHODS.get(methods[-1], "")
        if methods else "", "shipDate": ship_dates[-1] if ship_dates else now.date().isoformat(),
        "internalReferenceNumber": number, "trackingNumbers": tracking, "items": items,
        "summary": {"totalInvoiceAmount": str((subtotal + freight + tax).quantize(CENT)), "allowanceOrCharge": "C",
                    "expenseTotal": str(freight.quantize(CENT)), "minOrderFee": "0.00", "rebate": "0.00",
                    "freight": str(freight.quantize(CENT)), "processingFee": "0.00", "boxCharge": "0.00",
                    "totalWeight": str(weight.quantize(CENT)), "boxCount": boxes, "salesTax": str(tax)},
    }


# --- the query service ----------------------------------------------------------------------------

def handle_invoice_query(body: bytes, orders: Any, credentials: dict[str, str]) -> SandboxResponse:
    read = read_request(body, "InvoiceResponse", credentials)
    if isinstance(read, SandboxResponse):
        return read
    request, version = read
    query = request.find("InvoiceRequest")
    customer = text(query, "CustomerNumber")
    po_number, order_number = text(query, "PONumber"), text(query, "OrderNumber")
    if query is None or not customer:
        return b2b_error("InvoiceResponse", "Client.IncompleteXML",
                         "InvoiceRequest/CustomerNumber: String value required", version)
    if not po_number and not order_number:
        return b2b_error("InvoiceResponse", "Client.IncompleteXML",
                         "InvoiceRequest/PONumber or InvoiceRequest/OrderNumber: String value required", version)
    invoices: list[dict[str, Any]] = []
    if customer == credentials["customer_number"]:
        records = [orders.get(po_number)] if po_number else orders.rows()
        for record in records:
            for invoice in (record or {}).get("invoices") or []:
                if not order_number or invoice["orderNumber"] == order_number:
                    invoices.append(invoice)
    root = ET.Element("SynnexB2B", {"version": version} if version else {})
    response = sub(root, "InvoiceResponse")
    sub(response, "CustomerNumber", customer)
    sub(response, "CustomerPONumber", po_number or (invoices[0]["customerPONumber"] if invoices else None))
    for invoice in invoices:
        _invoice_xml(sub(response, "Invoice"), invoice)
    return xml_response(root)


def _invoice_xml(parent: ET.Element, invoice: dict[str, Any]) -> None:
    for tag, key in (("InvoiceNumber", "invoiceNumber"), ("InvoiceDate", "invoiceDate"),
                     ("OrderNumber", "orderNumber"), ("OrderType", "orderType"),
                     ("CustomerPONumber", "customerPONumber")):
        sub(parent, tag, invoice[key])
    ship_to = sub(parent, "ShipTo")
    for tag, value in invoice["shipTo"].items():
        sub(ship_to, tag, value)
    sub(parent, "BillTo", code=str(invoice["billTo"]["code"]))
    for tag, key in (("PaymentTermDays", "paymentTermDays"), ("PaymentTermDesc", "paymentTermDesc"),
                     ("Discount", "discount"), ("DiscountDays", "discountDays"),
                     ("ShipMethodCode", "shipMethodCode"), ("ShipMethodDesc", "shipMethodDesc"),
                     ("ShipDate", "shipDate"), ("InternalReferenceNumber", "internalReferenceNumber")):
        sub(parent, tag, invoice[key])
    for number in invoice["trackingNumbers"]:
        sub(sub(parent, "Tracking"), "TrackNumber", number)
    items = sub(parent, "Items")
    for line in invoice["items"]:
        item = sub(items, "Item", lineNumber=str(line["lineNumber"]))
        for tag, key in (("CustPOLineNo", "custPoLineNo"), ("ShipQuantity", "shipQuantity"),
                         ("UnitPrice", "unitPrice"), ("SKU", "sku"), ("SynnexPartNumber", "sku"),
                         ("ManufacturerPartNumber", "mfgPN"), ("VendorNumber", "vendorNumber"),
                         ("VendorName", "vendorName"), ("UPCCode", "upc"), ("ProductDescription", "description")):
            sub(item, tag, line[key])
        for serial in line["serials"]:
            sub(item, "SerialNo", serial)
    summary = sub(parent, "Summary")
    for tag, key in (("TotalInvoiceAmount", "totalInvoiceAmount"), ("AllowanceOrCharge", "allowanceOrCharge"),
                     ("ExpenseTotal", "expenseTotal"), ("MinOrderFee", "minOrderFee"), ("Rebate", "rebate"),
                     ("Freight", "freight"), ("ProcessingFee", "processingFee"), ("BoxCharge", "boxCharge"),
                     ("TotalWeight", "totalWeight"), ("BoxCount", "boxCount"), ("SalesTax", "salesTax")):
        sub(summary, tag, invoice["summary"][key])
