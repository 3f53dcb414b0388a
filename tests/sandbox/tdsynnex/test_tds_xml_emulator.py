"""XML services emulator: the elements and codes of the TD SYNNEX specs, and malformed / hostile
requests answered with the documented error elements (never a crash, never an HTML page)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from decimal import Decimal

import pytest
import requests

from channelsync.sandbox import demo_credentials
from channelsync.sandbox.control_client import SandboxControl
from channelsync.sandbox.server import SandboxServer
from channelsync.sandbox.world import World

Post = Callable[[str, "bytes | str"], requests.Response]
CRED = demo_credentials.TDSYNNEX_XML
ACTIVE = next(p for p in World("small", 42).hardware if p.status == "Active")


def pna(*sku_lists: str, version: str = "") -> str:
    attr = f' version="{version}"' if version else ""
    return (f'<?xml version="1.0" encoding="UTF-8"?><priceRequest{attr}><customerNo>{CRED["customer_number"]}'
            f'</customerNo><userName>{CRED["username"]}</userName><password>{CRED["password"]}</password>'
            + "".join(sku_lists) + "</priceRequest>")


def po(po_number: str = "T-1", sku: str = ACTIVE.synnex_sku, price: str = str(ACTIVE.cost)) -> str:
    return (f'<SynnexB2B><Credential><UserID>{CRED["username"]}</UserID><Password>{CRED["password"]}</Password>'
            f'</Credential><OrderRequest><CustomerNumber>{CRED["customer_number"]}</CustomerNumber>'
            f"<PONumber>{po_number}</PONumber><DropShipFlag>N</DropShipFlag><Shipment><ShipTo>"
            "<AddressName1>Manners Industry, Inc.</AddressName1><AddressLine1>118 Clarence Street</AddressLine1>"
            "<City>Fredericksburg</City><State>VA</State><ZipCode>22407</ZipCode><Country>US</Country></ShipTo>"
            "<ShipMethod><Code>FX</Code></ShipMethod></Shipment>"
            f'<Payment><BillTo code="{CRED["customer_number"]}"/></Payment><Items><Item lineNumber="1">'
            f"<SKU>{sku}</SKU><UnitPrice>{price}</UnitPrice><OrderQuantity>1</OrderQuantity></Item></Items>"
            "</OrderRequest></SynnexB2B>")


def status_query(po_number: str) -> str:
    return (f'<SynnexB2B version="2.2"><Credential><UserID>{CRED["username"]}</UserID><Password>{CRED["password"]}'
            f'</Password></Credential><OrderStatusRequest><CustomerNumber>{CRED["customer_number"]}</CustomerNumber>'
            f"<PONumber>{po_number}</PONumber></OrderStatusRequest></SynnexB2B>")


def tags(element: ET.Element | None) -> list[str]:
    assert element is not None
    return [child.tag for child in element]


def test_pna_elements_follow_the_spec(xml_post: Post) -> None:
    response = xml_post("PriceAvailability", pna(
        f"<skuList><synnexSKU>{ACTIVE.synnex_sku}</synnexSKU><lineNumber>1</lineNumber></skuList>",
        "<skuList><synnexSKU>9999999</synnexSKU><lineNumber>2</lineNumber></skuList>", version="2.1"))
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "priceResponse" and root.get("version") == "2.1"
    assert tags(root)[:2] == ["customerNo", "userName"]
    found, missing = root.findall("PriceAvailabilityList")
    assert tags(found)[:9] == ["synnexSKU", "mfgPN", "mfgCode", "status", "description", "GlobalProductStatusCode",
                               "price", "totalQuantity", "AvailabilityByWarehouse"]
    assert tags(found)[-1] == "lineNumber"
    assert tags(found.find("AvailabilityByWarehouse/warehouseInfo")) == ["number", "zipcode", "city", "addr"]
    assert tags(missing) == ["synnexSKU", "status", "lineNumber"] and missing.findtext("status") == "Not found"


def test_availability_url_has_empty_price_and_request_warehouse(xml_post: Post) -> None:
    root = ET.fromstring(xml_post("Availability", pna(
        f"<skuList><synnexSKU>{ACTIVE.synnex_sku}</synnexSKU><lineNumber>1</lineNumber>"
        "<requestWarehouse>3,7</requestWarehouse></skuList>", version="3.0")).content)
    item = root.find("PriceAvailabilityList")
    assert item is not None and item.find("price") is not None and item.findtext("price") == ""
    assert [w.findtext("warehouseInfo/number") for w in item.findall("AvailabilityByWarehouse")] == ["3", "7"]


@pytest.mark.parametrize("service,body,root_tag,error_tag", [
    ("PriceAvailability", b"<priceRequest><customerNo>1", "priceResponse", "errorMessage"),
    ("PriceAvailability", b"", "priceResponse", "errorMessage"),
    ("PO", b"<SynnexB2B><Credential>", "SynnexB2B", "OrderResponse/ErrorMessage"),
    ("POStatus", b"<SynnexB2B", "SynnexB2B", "OrderStatusResponse/ErrorMessage"),
    # entity expansion / external entities are refused like malformed XML
    ("PriceAvailability", b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
     b"<priceRequest><customerNo>&x;</customerNo></priceRequest>", "priceResponse", "errorMessage"),
    ("PO", b'<!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><SynnexB2B>&b;</SynnexB2B>',
     "SynnexB2B", "OrderResponse/ErrorMessage"),
])
def test_malformed_xml_gets_documented_error(xml_post: Post, service: str, body: bytes, root_tag: str,
                                             error_tag: str) -> None:
    response = xml_post(service, body)
    assert response.status_code == 200
    root = ET.fromstring(response.content)
    assert root.tag == root_tag and root.find(error_tag) is not None


def test_pna_too_many_and_bad_login(xml_post: Post) -> None:
    many = "".join(f"<skuList><synnexSKU>{n}</synnexSKU><lineNumber>{n}</lineNumber></skuList>" for n in range(51))
    assert ET.fromstring(xml_post("PriceAvailability", pna(many)).content).findtext("errorMessage") == \
        "Client.TooManySkus"
    bad = pna("<skuList><synnexSKU>1</synnexSKU></skuList>").replace(CRED["password"], "nope")
    assert ET.fromstring(xml_post("PriceAvailability", bad).content).findtext("errorMessage") == "Client.InvalidLogin"


def test_po_response_codes(xml_post: Post) -> None:
    accepted = ET.fromstring(xml_post("PO", po("T-1")).content).find("OrderResponse")
    assert accepted is not None and accepted.findtext("Code") == "accepted"
    assert tags(accepted) == ["CustomerNumber", "PONumber", "Code", "ResponseDateTime", "ResponseElapsedTime", "Items"]
    assert tags(accepted.find("Items/Item")) == ["SKU", "OrderQuantity", "Code", "OrderNumber", "OrderType",
                                                 "ShipFromWarehouse", "SynnexInternalReference"]
    dup = ET.fromstring(xml_post("PO", po("T-1")).content).find("OrderResponse")
    assert dup is not None and dup.findtext("Code") == "rejected"
    assert "already exists" in (dup.findtext("Reason") or "")
    assert dup.findtext("Items/Item/SynnexInternalReference") == "DUPREJECT,R-PODUPE---DUPPOKILL,R-PODUPE"
    tolerance = ET.fromstring(xml_post("PO", po("T-2", price=str(ACTIVE.cost + 1))).content)
    assert tolerance.findtext("OrderResponse/Items/Item/OrderType") == "99"
    within = ET.fromstring(xml_post("PO", po("T-3", price=str(ACTIVE.cost - Decimal("0.01")))).content)
    assert within.findtext("OrderResponse/Items/Item/OrderType") in ("SO", "BO")
    incomplete = ET.fromstring(xml_post("PO", po("T-4").replace("<City>Fredericksburg</City>", "")).content)
    assert incomplete.findtext("OrderResponse/ErrorMessage") == "Client.IncompleteXML"
    assert "OrderRequest/Shipment/ShipTo/City: String value required" in (
        incomplete.findtext("OrderResponse/ErrorDetail") or "")
    wrong_type = ET.fromstring(xml_post("PO", po("T-5").replace(
        "<OrderQuantity>1</OrderQuantity>", "<OrderQuantity>one</OrderQuantity>")).content)
    assert "OrderQuantity" in (wrong_type.findtext("OrderResponse/ErrorDetail") or "")


def test_po_status_elements_and_not_found(xml_post: Post, sandbox: SandboxControl) -> None:
    xml_post("PO", po("S-1"))
    sandbox.control("tdsynnex", "orders/S-1/ship", json={"tracking": "1Z999"})
    root = ET.fromstring(xml_post("POStatus", status_query("S-1")).content)
    response = root.find("OrderStatusResponse")
    assert root.get("version") == "2.2" and response is not None and response.findtext("Code") == "shipped"
    assert tags(response) == ["CustomerNumber", "PONumber", "Code", "Reason", "PODatetime", "ResponseDateTime",
                              "Items", "ResponseElapsedTime"]
    item = response.find("Items/Item")
    assert item is not None and tags(item) == [
        "Code", "ShipDatetime", "OrderNumber", "OrderType", "OrderQuantity", "UnitPrice", "SKU", "MfgPN",
        "ProductName", "ShipQuantity", "ShipFromWarehouse", "ShipFromCity", "ShipFromState", "ShipFromZip",
        "ShipMethod", "ShipMethodDescription", "ETADate", "Packages"]
    assert item.findtext("Packages/Package/TrackingNumber") == "1Z999"
    missing = ET.fromstring(xml_post("POStatus", status_query("NOPE")).content)
    assert missing.findtext("OrderStatusResponse/Code") == "notFound"


def test_po_status_bad_xml_and_bad_login_answer_like_the_real_service(xml_post: Post) -> None:
    truncated = ET.fromstring(xml_post("POStatus", b"<SynnexB2B><Credential>").content)
    assert truncated.findtext("OrderStatusResponse/ErrorMessage") == "PO Status XML"
    assert (truncated.findtext("OrderStatusResponse/ErrorDetail") or "").startswith("Error on line")
    refused = ET.fromstring(xml_post("POStatus", status_query("S-1").replace(CRED["password"], "nope")).content)
    assert refused.get("version") == "2.2"
    assert refused.findtext("OrderStatusResponse/ErrorMessage") == "Client.InvalidLogin"


def invoice_query(po_number: str = "", order_number: str = "", password: str = CRED["password"]) -> str:
    by = (f"<PONumber>{po_number}</PONumber>" if po_number else "") + (
        f"<OrderNumber>{order_number}</OrderNumber>" if order_number else "")
    return (f'<SynnexB2B version="1.0"><Credential><UserID>{CRED["username"]}</UserID><Password>{password}'
            f'</Password></Credential><InvoiceRequest><CustomerNumber>{CRED["customer_number"]}</CustomerNumber>'
            f"{by}</InvoiceRequest></SynnexB2B>")


def test_invoice_query_lists_the_invoices_of_a_po_with_items_serials_tracking_and_totals(
    xml_post: Post, sandbox: SandboxControl, sandbox_server: SandboxServer
) -> None:
    def query(body: str) -> ET.Element:
        response = requests.post(f"{sandbox_server.url}/tdsynnex/xml/webservice/invoice/query", data=body.encode(),
                                 timeout=10, headers={"Content-Type": "application/xml"})
        assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/xml")
        answer = ET.fromstring(response.content).find("InvoiceResponse")
        assert answer is not None
        return answer

    xml_post("PO", po("I-1").replace("<OrderQuantity>1</OrderQuantity>", "<OrderQuantity>3</OrderQuantity>"))
    assert query(invoice_query("I-1")).findall("Invoice") == []  # accepted, nothing shipped: not invoiced
    assert sandbox.session.post(f"{sandbox.base_url}/_sandbox/tdsynnex/orders/I-1/invoice", json={},
                                timeout=10).status_code == 409  # nothing shipped to invoice
    sandbox.control("tdsynnex", "orders/I-1/ship", json={"quantity": 1, "tracking": "1ZINV01", "serials": ["S1"]})
    first = sandbox.control("tdsynnex", "orders/I-1/invoice")["result"]["invoices"][0]
    sandbox.control("tdsynnex", "orders/I-1/ship", json={"tracking": "1ZINV02", "invoice": True})
    answer = query(invoice_query("I-1"))
    assert answer.findtext("CustomerPONumber") == "I-1"
    invoices = answer.findall("Invoice")
    assert len(invoices) == 2 and invoices[0].findtext("InvoiceNumber") == first["invoiceNumber"]
    one = invoices[0]
    assert tags(one) == ["InvoiceNumber", "InvoiceDate", "OrderNumber", "OrderType", "CustomerPONumber", "ShipTo",
                         "BillTo", "PaymentTermDays", "PaymentTermDesc", "Discount", "DiscountDays", "ShipMethodCode",
                         "ShipMethodDesc", "ShipDate", "InternalReferenceNumber", "Tracking", "Items", "Summary"]
    assert one.findtext("Tracking/TrackNumber") == "1ZINV01" and one.findtext("ShipTo/City") == "Fredericksburg"
    item = one.find("Items/Item")
    assert item is not None and item.get("lineNumber") == "1" and item.findtext("ShipQuantity") == "1"
    assert [s.text for s in item.findall("SerialNo")] == ["S1"] and item.findtext("SKU") == ACTIVE.synnex_sku
    assert Decimal(one.findtext("Summary/TotalInvoiceAmount") or "0") == (
        Decimal(str(ACTIVE.cost)) + Decimal(one.findtext("Summary/Freight") or "0"))
    second = invoices[1]
    assert second.findtext("Items/Item/ShipQuantity") == "2" and second.findtext("Tracking/TrackNumber") == "1ZINV02"
    # by sales order number, across POs; nothing for another account's login or an unknown PO
    by_order = query(invoice_query(order_number=one.findtext("OrderNumber") or ""))
    assert {i.findtext("InvoiceNumber") for i in by_order.findall("Invoice")} == {
        i.findtext("InvoiceNumber") for i in invoices}
    assert query(invoice_query("NOPE")).findall("Invoice") == []
    assert query(invoice_query("I-1", password="nope")).findtext("ErrorMessage") == "Client.InvalidLogin"
    assert query(invoice_query()).findtext("ErrorMessage") == "Client.IncompleteXML"
    assert query("<SynnexB2B><InvoiceRequest>").findtext("ErrorMessage") == "Client.IncompleteXML"


def test_ftp_listing_needs_login(sandbox: SandboxControl, sandbox_server: SandboxServer) -> None:
    url = f"{sandbox_server.url}/tdsynnex/ftp/"
    assert requests.get(url, timeout=5).status_code == 401
    listing = requests.get(url, auth=(CRED["username"], CRED["password"]), timeout=5).text.split()
    assert listing == ["c700001.zip", "category_list.txt"]
