"""XML client against the emulator: P&A batching and statuses, hardened parsing, PO submit / status."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest

from channelsync.clients.tdsynnex import TdSynnexXmlClient
from channelsync.clients.tdsynnex.xmlmodels import PoLine, PurchaseOrder, ShipTo
from channelsync.errors import FatalApiError, OutcomeUnknownError
from channelsync.sandbox.control_client import SandboxControl
from channelsync.sandbox.tdsynnex.catalog import is_authorized
from channelsync.sandbox.world import World

HARDWARE = World("small", 42).hardware
ACTIVE = [p for p in HARDWARE if p.status == "Active" and is_authorized(p.synnex_sku)]


def _po(number: str, *lines: PoLine) -> PurchaseOrder:
    ship_to = ShipTo(name="Northwind Dental", address1="118 Clarence Street", city="Fredericksburg", state="VA",
                     zip_code="22407", contact_name="Ed Manners", phone="541-785-0923", email="ed@nw.example")
    return PurchaseOrder(po_number=number, ship_to=ship_to, lines=lines, ship_method="FG")


def _line(n: int, product: object, qty: int = 1, price: Decimal | None = None) -> PoLine:
    return PoLine(line_number=n, sku=product.synnex_sku, quantity=qty,  # type: ignore[attr-defined]
                  unit_price=price if price is not None else product.cost)  # type: ignore[attr-defined]


def test_pna_batches_to_the_limit_and_reports_every_status(xml: TdSynnexXmlClient, sandbox: SandboxControl) -> None:
    discontinued = next(p for p in HARDWARE if p.status == "Discontinued")
    unauthorized = next(p for p in HARDWARE if not is_authorized(p.synnex_sku))
    skus = [p.synnex_sku for p in ACTIVE[:118]] + [discontinued.synnex_sku, unauthorized.synnex_sku, "9999999"]
    results = xml.price_availability(skus=skus, mpns=[ACTIVE[0].mpn])
    calls = sandbox.requests("tdsynnex")
    assert [c["path"] for c in calls] == ["/xml/SynnexXML/PriceAvailability"] * 3  # 122 lines / 50 = 3 requests
    assert len(results) == 122
    by_sku = {r.requested: r for r in results}
    first = by_sku[ACTIVE[0].synnex_sku]
    assert first.status == "Active" and first.price == ACTIVE[0].cost and first.mfg_pn == ACTIVE[0].mpn
    assert first.total_quantity == sum(q for _, q in ACTIVE[0].warehouse_qty)
    assert {w.number for w in first.warehouses} == {"3", "7", "11", "23", "29"}  # all warehouses, zeros included
    assert by_sku[discontinued.synnex_sku].status == "Discontinued" and by_sku[discontinued.synnex_sku].price is None
    assert by_sku[unauthorized.synnex_sku].status == "Not authorized"
    assert by_sku["9999999"].status == "Not found" and not by_sku["9999999"].found
    assert by_sku[ACTIVE[0].mpn].synnex_sku == ACTIVE[0].synnex_sku
    assert any(w.on_order_quantity and w.estimated_arrival for r in results for w in r.warehouses)


def test_pna_retries_5xx_then_succeeds(xml: TdSynnexXmlClient, sandbox: SandboxControl) -> None:
    sandbox.set_faults({"kind": "status", "status": 503, "system": "tdsynnex", "count": 2})
    assert xml.price_availability(skus=[ACTIVE[1].synnex_sku])[0].status == "Active"
    assert [c["status"] for c in sandbox.requests("tdsynnex")] == [503, 503, 200]


def test_bad_login_is_coded_and_password_never_leaks(sandbox: SandboxControl, sandbox_server: object,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    client = TdSynnexXmlClient(base_url=f"{sandbox_server.url}/tdsynnex/xml",  # type: ignore[attr-defined]
                               customer_number="700001", username="reseller@msp.example",
                               password="not-the-pass-xyz")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(FatalApiError) as info:
        client.price_availability(skus=["1"])
    assert info.value.code == "TDS_AUTH_FAILED"
    assert "not-the-pass-xyz" not in str(info.value) + caplog.text + repr(client) + str(info.value.vendor_message)


@pytest.mark.parametrize("payload", [
    # billion laughs
    b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
    b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]><priceResponse><customerNo>&c;</customerNo></priceResponse>',
    # external entity
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><priceResponse>&x;</priceResponse>',
    b"<priceResponse><unclosed></priceResponse>",
])
def test_hostile_or_broken_responses_are_refused(payload: bytes) -> None:
    with pytest.raises(FatalApiError) as info:
        TdSynnexXmlClient.parse(payload)
    assert info.value.code == "TDS_XML_UNSAFE"


def test_po_accepted_then_duplicate_rejected(xml: TdSynnexXmlClient) -> None:
    order = _po("CS-1001", _line(1, ACTIVE[0]), _line(2, ACTIVE[1], price=ACTIVE[1].cost + Decimal("5")))
    result = xml.submit_po(order)
    assert result.code == "accepted" and not result.already_submitted
    assert [line.order_type for line in result.lines] == ["SO", "99"] and result.needs_manual_review
    assert "PRICEVAR" in result.lines[1].reference
    with pytest.raises(FatalApiError) as info:
        xml.submit_po(order, check_existing=False)
    assert info.value.code == "TDS_PO_DUPLICATE"


def test_submit_checks_status_first_and_resolves_unknown_outcome(xml: TdSynnexXmlClient,
                                                                 sandbox: SandboxControl) -> None:
    order = _po("CS-2001", _line(1, ACTIVE[2]))
    sandbox.set_faults({"kind": "write_then_drop", "system": "tdsynnex", "path": "SynnexXML/PO$", "count": 1})
    result = xml.submit_po(order)  # the PO landed but the answer was lost: found via PO status
    assert result.already_submitted and result.code == "accepted"
    assert xml.submit_po(order).already_submitted  # a rerun does not send it again
    paths = [c["path"] for c in sandbox.requests("tdsynnex")]
    assert paths.count("/xml/SynnexXML/PO") == 1


def test_unknown_outcome_with_no_trace_goes_up(xml: TdSynnexXmlClient, sandbox: SandboxControl) -> None:
    sandbox.set_faults({"kind": "drop", "system": "tdsynnex", "path": "SynnexXML/PO$", "count": 1})
    with pytest.raises(OutcomeUnknownError):
        xml.submit_po(_po("CS-3001", _line(1, ACTIVE[3])))


def test_missing_fields_get_incomplete_xml(xml: TdSynnexXmlClient) -> None:
    bad = PurchaseOrder(po_number="X" * 25, ship_to=ShipTo(name="", address1="a", city="c", state="VA",
                                                          zip_code="1"), lines=(_line(1, ACTIVE[0]),))
    with pytest.raises(FatalApiError) as info:
        xml.submit_po(bad, check_existing=False)
    assert info.value.code == "TDS_XML_MALFORMED" and "PONumber" in str(info.value)


def test_status_split_shipment_packages_serials_and_cancel(xml: TdSynnexXmlClient, sandbox: SandboxControl) -> None:
    stocked = next(p for p in ACTIVE if sum(q for _, q in p.warehouse_qty) >= 5)
    xml.submit_po(_po("CS-4001", _line(1, stocked, qty=5), _line(2, ACTIVE[5])))
    assert xml.po_status("CS-4001").code == "accepted"
    sandbox.control("tdsynnex", "orders/CS-4001/ship", json={"lines": [1], "quantity": 2, "tracking": "1ZTEST1"})
    status = xml.po_status("CS-4001")
    line1 = [i for i in status.items if i.line_number == "1"]
    assert sorted(i.code for i in line1) == ["accepted", "shipped"]  # split: same lineNumber twice
    shipped = next(i for i in line1 if i.code == "shipped")
    assert shipped.ship_quantity == 2 and shipped.packages[0].tracking_number == "1ZTEST1"
    assert len(shipped.packages[0].serials) == 2
    sandbox.control("tdsynnex", "orders/CS-4001/ship", json={"lines": [1]})
    sandbox.control("tdsynnex", "orders/CS-4001/cancel", json={"lines": [2]})
    status = xml.po_status("CS-4001")
    assert status.code == "shipped" and sum(i.ship_quantity for i in status.items if i.line_number == "1") == 5
    invoice = sandbox.control("tdsynnex", "orders/CS-4001/invoice")["result"]["invoices"][0]
    assert invoice["invoiceNumber"] and [i["lineNumber"] for i in invoice["items"]] == ["1", "1"]
    assert xml.po_status("NOPE-1").code == "notFound" and not xml.po_exists("NOPE-1")


def test_invoices_of_a_po_and_of_a_sales_order(xml: TdSynnexXmlClient, sandbox: SandboxControl) -> None:
    stocked = next(p for p in ACTIVE if sum(q for _, q in p.warehouse_qty) >= 5)
    xml.submit_po(_po("CI-1", _line(1, stocked, qty=3), _line(2, ACTIVE[6])))
    assert xml.invoices("CI-1") == ()  # not shipped, not invoiced
    sandbox.control("tdsynnex", "orders/CI-1/ship", json={"lines": [1], "quantity": 2, "tracking": "1ZCI1",
                                                          "serials": ["SN-1", "SN-2"], "invoice": True})
    (first,) = xml.invoices("CI-1")
    assert first.invoice_number and first.invoice_date and first.po_number == "CI-1"
    assert first.tracking_numbers == ("1ZCI1",) and first.payment_terms == "NET 30"
    (line,) = first.lines
    assert (line.line_number, line.ship_quantity, line.sku, line.serials) == ("1", 2, stocked.synnex_sku,
                                                                           ("SN-1", "SN-2"))
    assert line.unit_price == Decimal(str(stocked.cost)).quantize(Decimal("0.01"))
    assert first.total == line.unit_price * 2 + (first.freight or 0)
    sandbox.control("tdsynnex", "orders/CI-1/ship", json={"tracking": "1ZCI2"})
    sandbox.control("tdsynnex", "orders/CI-1/invoice", json={})
    invoices = xml.invoices("CI-1")
    assert len(invoices) == 2 and sorted(ln.line_number for ln in invoices[1].lines) == ["1", "2"]
    assert {i.invoice_number for i in xml.invoices(order_number=first.order_number)} == {
        i.invoice_number for i in invoices}
    paths = [c["path"] for c in sandbox.requests("tdsynnex")]
    assert "/xml/webservice/invoice/query" in paths


def test_invoice_answer_with_a_bad_amount_is_refused_whole(xml: TdSynnexXmlClient, sandbox: SandboxControl) -> None:
    xml.submit_po(_po("CI-2", _line(1, ACTIVE[7])))
    sandbox.control("tdsynnex", "orders/CI-2/ship", json={"invoice": True})
    record = sandbox.record("tdsynnex", "po_orders", "CI-2")
    record["invoices"][0]["summary"]["totalInvoiceAmount"] = "12,50"
    sandbox.edit_record("tdsynnex", "po_orders", "CI-2", {"invoices": record["invoices"]})
    with pytest.raises(FatalApiError) as refused:
        xml.invoices("CI-2")
    assert refused.value.code == "TDS_XML_BAD_VALUE" and "TotalInvoiceAmount '12,50'" in str(refused.value)


@pytest.mark.parametrize(("base", "expected"), [
    ("https://ec.us.tdsynnex.com", "https://ws.us.tdsynnex.com/webservice/invoice/query"),
    ("https://testec.ca.tdsynnex.com/", "https://testws.ca.tdsynnex.com/webservice/invoice/query"),
    ("https://ec.synnex.com", "https://ws.us.tdsynnex.com/webservice/invoice/query"),
    ("http://127.0.0.1:8700/tdsynnex/xml", "http://127.0.0.1:8700/tdsynnex/xml/webservice/invoice/query"),
])
def test_invoice_service_url_follows_the_xml_host(base: str, expected: str) -> None:
    client = TdSynnexXmlClient(base_url=base, customer_number="1", username="u", password="p")
    assert client.invoice_url == expected
    assert TdSynnexXmlClient(base_url=base, customer_number="1", username="u", password="p",
                             invoice_url="https://proxy.example/inv").invoice_url == "https://proxy.example/inv"
