"""The invoice query web service (docs/vendors/tdsynnex.md §1.12): request building, answer parsing and
where the service lives.

``<SynnexB2B version="1.0"><Credential/><InvoiceRequest><CustomerNumber/><PONumber/> or <OrderNumber/>
</InvoiceRequest>`` → ``<InvoiceResponse>`` with one ``<Invoice>`` per invoice (element names: the
emulator's ``xml_invoice`` docstring, an assumption — the service's XML is not public). An invoice is
read whole or not at all: a quantity or amount that is not a number makes the answer unreadable
(``TDS_XML_BAD_VALUE``), so a wrong invoice never reaches the PSA.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from urllib.parse import urlsplit

from channelsync.clients.tdsynnex.xmlmodels import Invoice, InvoiceLine
from channelsync.clients.tdsynnex.xmlvalues import amount, text, whole

VERSION = "1.0"
SERVICE_PATH = "/webservice/invoice/query"
# The XML services' hosts → the invoice service's host (reference §1.9: ws.us / ws.ca, test testws.*).
INVOICE_HOSTS = {
    "ec.us.tdsynnex.com": "ws.us.tdsynnex.com", "ec.ca.tdsynnex.com": "ws.ca.tdsynnex.com",
    "testec.us.tdsynnex.com": "testws.us.tdsynnex.com", "testec.ca.tdsynnex.com": "testws.ca.tdsynnex.com",
    "ec.synnex.com": "ws.us.tdsynnex.com", "ec.synnex.ca": "ws.ca.tdsynnex.com",
    "testec.synnex.com": "testws.us.tdsynnex.com", "testec.synnex.ca": "testws.ca.tdsynnex.com",
}


def invoice_url_for(base_url: str) -> str:
    """The invoice service for an XML services base URL: TD SYNNEX's own ``ws`` host for its ``ec``
    hosts; anything else (the sandbox, a proxy) serves it under the same base URL."""
    parts = urlsplit(base_url)
    host = INVOICE_HOSTS.get((parts.hostname or "").lower())
    if host:
        return f"https://{host}{SERVICE_PATH}"
    return base_url.rstrip("/") + SERVICE_PATH


def request_xml(add_credential: Callable[[ET.Element], None], customer_number: str, *, po_number: str | None,
                order_number: str | None) -> ET.Element:
    """``add_credential``: the client's, adds ``<Credential>`` to the root (the secret stays in the client)."""
    root = ET.Element("SynnexB2B", {"version": VERSION})
    add_credential(root)
    query = ET.SubElement(root, "InvoiceRequest")
    ET.SubElement(query, "CustomerNumber").text = customer_number
    if po_number:
        ET.SubElement(query, "PONumber").text = po_number
    if order_number:
        ET.SubElement(query, "OrderNumber").text = order_number
    return root


def parse_invoices(answer: ET.Element, problems: list[str]) -> tuple[Invoice, ...]:
    """The ``<Invoice>`` elements of an ``<InvoiceResponse>``; what cannot be read goes to ``problems``."""
    return tuple(_invoice(element, problems) for element in answer.findall("Invoice"))


def _invoice(element: ET.Element, problems: list[str]) -> Invoice:
    number = text(element, "InvoiceNumber")
    where = f"invoice {number or '?'}"
    if not number:
        problems.append("an invoice without InvoiceNumber")
    lines = []
    for item in element.findall("Items/Item"):
        line = item.get("lineNumber", "").strip() or text(item, "CustPOLineNo")
        lines.append(InvoiceLine(
            line_number=line,
            ship_quantity=whole(text(item, "ShipQuantity"), f"{where} line {line or '?'} ShipQuantity", problems) or 0,
            unit_price=amount(text(item, "UnitPrice"), f"{where} line {line or '?'} UnitPrice", problems),
            sku=text(item, "SKU") or text(item, "SynnexPartNumber"), mfg_pn=text(item, "ManufacturerPartNumber"),
            description=text(item, "ProductDescription"),
            serials=tuple(s for s in ((e.text or "").strip() for e in item.findall("SerialNo")) if s)))
    tracking = tuple(dict.fromkeys(t for t in ((e.text or "").strip() for e in element.findall("Tracking/TrackNumber"))
                                   if t))
    return Invoice(
        invoice_number=number, invoice_date=text(element, "InvoiceDate"), order_number=text(element, "OrderNumber"),
        order_type=text(element, "OrderType"), po_number=text(element, "CustomerPONumber"),
        ship_date=text(element, "ShipDate"),
        ship_method=text(element, "ShipMethodDesc") or text(element, "ShipMethodCode"),
        payment_terms=text(element, "PaymentTermDesc"), tracking_numbers=tracking, lines=tuple(lines),
        total=amount(text(element, "Summary/TotalInvoiceAmount"), f"{where} TotalInvoiceAmount", problems),
        freight=amount(text(element, "Summary/Freight"), f"{where} Freight", problems),
        sales_tax=amount(text(element, "Summary/SalesTax"), f"{where} SalesTax", problems),
    )
