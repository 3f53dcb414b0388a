"""TD SYNNEX XML services client: Price & Availability (batched), PO submission, PO status, and the
invoice query web service (``xmlinvoice``; on its own host, derived from the XML one unless given).

Requests are built with ElementTree (values escaped); responses are parsed with ``defusedxml``
(no DTDs, no external entities, no entity expansion bombs: such a response raises
``TDS_XML_UNSAFE``). The services answer errors with HTTP 200 and error elements; those become
coded errors here. P&A and PO status are read-only and retried; a PO is never sent twice blindly:
:meth:`submit_po` asks PO status first and again after an unknown outcome.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

import requests
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as safe_fromstring

from channelsync.clients.http import HttpTransport, RetryPolicy
from channelsync.clients.tdsynnex import xmlinvoice
from channelsync.clients.tdsynnex.codes import (
    TDS_AUTH_FAILED,
    TDS_PO_DUPLICATE,
    TDS_PO_REJECTED,
    TDS_XML_ERROR,
    TDS_XML_MALFORMED,
    TDS_XML_UNSAFE,
)
from channelsync.clients.tdsynnex.xmlmodels import (
    Invoice,
    Package,
    PnaResult,
    PoLineResult,
    PoStatus,
    PoStatusItem,
    PoSubmission,
    PurchaseOrder,
    WarehouseStock,
)
from channelsync.clients.tdsynnex.xmlvalues import amount as _amount
from channelsync.clients.tdsynnex.xmlvalues import lenient_int as _int
from channelsync.clients.tdsynnex.xmlvalues import text as _text
from channelsync.clients.tdsynnex.xmlvalues import whole as _whole
from channelsync.errors import ChannelsyncError, FatalApiError, OutcomeUnknownError, define

SYSTEM = "tdsynnex_xml"
MAX_SKUS_PER_REQUEST = 50  # see the emulator's xml_pna docstring: an assumption, the spec states none
DUPLICATE_MARK = "DUPREJECT"
TDS_XML_BAD_VALUE = define("TDS_XML_BAD_VALUE", "tdsynnex",
                           "A TD SYNNEX XML answer holds a value that is not what its element must hold")
def _batches(items: Sequence[tuple[str, str]], size: int) -> Iterator[Sequence[tuple[str, str]]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class TdSynnexXmlClient:
    def __init__(
        self,
        *,
        base_url: str,
        customer_number: str,
        username: str,
        password: str,
        session: requests.Session | None = None,
        policy: RetryPolicy | None = None,
        batch_size: int = MAX_SKUS_PER_REQUEST,
        pna_version: str = "2.3",
        invoice_url: str | None = None,
    ) -> None:
        """``invoice_url``: the invoice query service (default: ``xmlinvoice.invoice_url_for(base_url)``)."""
        self.base_url = base_url.rstrip("/")
        self.invoice_url = invoice_url or xmlinvoice.invoice_url_for(self.base_url)
        self.customer_number = customer_number
        self._username = username
        self._password = password
        self.batch_size = max(1, min(batch_size, MAX_SKUS_PER_REQUEST))
        self.pna_version = pna_version
        self.transport = HttpTransport(system=SYSTEM, session=session, policy=policy, code_prefix="TDS",
                                       secrets=(password,))

    def __repr__(self) -> str:
        return f"TdSynnexXmlClient(base_url={self.base_url!r}, customer_number={self.customer_number!r})"

    @property
    def tenant_id(self) -> str:
        """``tdsynnex_xml:<customer number>``: the reseller account orders and P&A are placed under."""
        return f"{SYSTEM}:{self.customer_number.strip()}"

    # --- transport --------------------------------------------------------------------------------

    def _post(self, service: str, root: ET.Element, *, idempotent: bool, url: str | None = None) -> ET.Element:
        body = b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8")
        response = self.transport.request("POST", url or f"{self.base_url}/SynnexXML/{service}",
                                          idempotent=idempotent, data=body, headers={"Content-Type": "application/xml"})
        return self.parse(response.content, applied=not idempotent)

    @staticmethod
    def parse(content: bytes, *, applied: bool = False) -> ET.Element:
        """Parse a response with DTDs and entities forbidden. ``applied``: the answer to a write (a PO)
        the service took: one that cannot be read is an :class:`OutcomeUnknownError` (look the PO up),
        not a refusal."""
        error: type[FatalApiError] | type[OutcomeUnknownError] = OutcomeUnknownError if applied else FatalApiError
        try:
            return safe_fromstring(content, forbid_dtd=True)
        except DefusedXmlException as exc:
            raise error(f"TD SYNNEX response refused: it declares a DTD or entities ({type(exc).__name__})",
                        code=TDS_XML_UNSAFE, system=SYSTEM) from exc
        except (ET.ParseError, ValueError, LookupError, RecursionError) as exc:
            # ValueError / LookupError: an XML declaration naming an encoding expat cannot read
            raise error(f"TD SYNNEX response is not well-formed XML: {str(exc)[:200]}", code=TDS_XML_UNSAFE,
                        system=SYSTEM) from exc

    def _raise_service_error(self, message: str, detail: str) -> None:
        code = TDS_XML_ERROR
        if "Login" in message or "login" in detail.lower() or "password" in detail.lower():
            code = TDS_AUTH_FAILED
        elif "IncompleteXML" in message or "Premature" in detail:
            code = TDS_XML_MALFORMED
        raise FatalApiError(f"TD SYNNEX XML error {message}: {self.transport._safe(detail)}", code=code,
                            system=SYSTEM, vendor_message=self.transport._safe(f"{message}: {detail}"))

    def _credential(self, root: ET.Element) -> None:
        credential = ET.SubElement(root, "Credential")
        ET.SubElement(credential, "UserID").text = self._username
        ET.SubElement(credential, "Password").text = self._password

    # --- price & availability --------------------------------------------------------------------

    def price_availability(self, skus: Iterable[str] = (), mpns: Iterable[str] = (), *,
                           with_price: bool = True) -> list[PnaResult]:
        """P&A by SYNNEX SKU and/or manufacturer part number, in batches of ``batch_size`` lines.
        One result per line; an mfgPN matching several SKUs yields several results."""
        wanted = [("synnexSKU", str(s)) for s in skus] + [("mfgPN", str(m)) for m in mpns]
        results: list[PnaResult] = []
        for batch in _batches(wanted, self.batch_size):
            results.extend(self._pna_batch(batch, with_price))
        return results

    def _pna_batch(self, batch: Sequence[tuple[str, str]], with_price: bool) -> list[PnaResult]:
        root = ET.Element("priceRequest", {"version": self.pna_version})
        ET.SubElement(root, "customerNo").text = self.customer_number
        ET.SubElement(root, "userName").text = self._username
        ET.SubElement(root, "password").text = self._password
        requested: dict[str, str] = {}
        for number, (tag, value) in enumerate(batch, start=1):
            entry = ET.SubElement(root, "skuList")
            ET.SubElement(entry, tag).text = value
            ET.SubElement(entry, "lineNumber").text = str(number)
            requested[str(number)] = value
        answer = self._post("PriceAvailability" if with_price else "Availability", root, idempotent=True)
        if answer.find("errorMessage") is not None:
            self._raise_service_error(_text(answer, "errorMessage"), _text(answer, "errorDetail"))
        return [self._pna_result(item, requested) for item in answer.findall("PriceAvailabilityList")]

    @staticmethod
    def _pna_result(item: ET.Element, requested: dict[str, str]) -> PnaResult:
        """One P&A line. A number that cannot be read is not guessed: it is missing (a price: the line's
        Active item has no cost and is quarantined), and ``parse_error`` says which and why."""
        line = _text(item, "lineNumber")
        problems: list[str] = []
        warehouses = tuple(
            WarehouseStock(
                number=_text(block, "warehouseInfo/number"), city=_text(block, "warehouseInfo/city"),
                quantity=_whole(_text(block, "qty"), "qty", problems),
                on_order_quantity=_whole(_text(block, "onOrderQuantity"), "onOrderQuantity", problems)
                if block.find("onOrderQuantity") is not None else None,
                estimated_arrival=_text(block, "estimatedArrivalDate") or None,
            )
            for block in item.findall("AvailabilityByWarehouse")
        )
        price = _amount(_text(item, "price"), "price", problems)
        total = _whole(_text(item, "totalQuantity"), "totalQuantity", problems)
        return PnaResult(
            line_number=line, requested=requested.get(line, ""), synnex_sku=_text(item, "synnexSKU"),
            mfg_pn=_text(item, "mfgPN"), status=_text(item, "status"), description=_text(item, "description"),
            price=price, total_quantity=total, warehouses=warehouses,
            parse_error=f"{'; '.join(problems)} (line {line or '?'})" if problems else None,
        )

    # --- PO status -------------------------------------------------------------------------------

    def po_status(self, po_number: str) -> PoStatus:
        root = ET.Element("SynnexB2B", {"version": "2.4"})
        self._credential(root)
        query = ET.SubElement(root, "OrderStatusRequest")
        ET.SubElement(query, "CustomerNumber").text = self.customer_number
        ET.SubElement(query, "PONumber").text = po_number
        answer = self._post("POStatus", root, idempotent=True).find("OrderStatusResponse")
        if answer is None:
            raise FatalApiError("PO status response without OrderStatusResponse", code=TDS_XML_ERROR, system=SYSTEM)
        if answer.find("ErrorMessage") is not None:
            self._raise_service_error(_text(answer, "ErrorMessage"), _text(answer, "ErrorDetail"))
        problems: list[str] = []
        status = PoStatus(
            po_number=_text(answer, "PONumber"), code=_text(answer, "Code"), reason=_text(answer, "Reason"),
            po_datetime=_text(answer, "PODatetime"),
            items=tuple(self._status_item(item, problems) for item in answer.findall("Items/Item")),
        )
        if problems:  # an order's state is read whole or not at all: the caller asks again later
            raise FatalApiError(f"PO status of {po_number!r} cannot be read: {'; '.join(problems)[:500]}",
                                code=TDS_XML_BAD_VALUE, system=SYSTEM)
        return status

    @staticmethod
    def _status_item(item: ET.Element, problems: list[str] | None = None) -> PoStatusItem:
        problems = [] if problems is None else problems
        line = item.get("lineNumber", "")

        def whole(tag: str, element: ET.Element = item) -> int:
            return _whole(_text(element, tag), f"line {line or '?'} {tag}", problems) or 0

        packages = tuple(
            Package(tracking_number=_text(p, "TrackingNumber"), weight=_text(p, "Weight"),
                    ship_item_quantity=whole("ShipItemQuantity", p),
                    serials=tuple((s.text or "").strip() for s in p.findall("SerialNo")))
            for p in item.findall("Packages/Package")
        )
        return PoStatusItem(
            line_number=line, code=_text(item, "Code"), order_number=_text(item, "OrderNumber"),
            order_type=_text(item, "OrderType"), order_quantity=whole("OrderQuantity"),
            unit_price=_amount(_text(item, "UnitPrice"), f"line {line or '?'} UnitPrice", problems),
            sku=_text(item, "SKU"), mfg_pn=_text(item, "MfgPN"),
            product_name=_text(item, "ProductName"), ship_quantity=whole("ShipQuantity"),
            ship_from_warehouse=_text(item, "ShipFromWarehouse"), ship_method=_text(item, "ShipMethod"),
            ship_method_description=_text(item, "ShipMethodDescription"),
            ship_datetime=_text(item, "ShipDatetime"), eta_date=_text(item, "ETADate"), packages=packages,
        )

    # --- invoices --------------------------------------------------------------------------------

    def invoices(self, po_number: str | None = None, *, order_number: str | None = None) -> tuple[Invoice, ...]:
        """The invoices of a customer PO number (or of a SYNNEX sales order): none until TD SYNNEX has
        invoiced a shipment. Read-only and retried; read whole or not at all."""
        if not po_number and not order_number:
            raise ValueError("invoices() needs a PO number or an order number")
        root = xmlinvoice.request_xml(self._credential, self.customer_number, po_number=po_number,
                                      order_number=order_number)
        answer = self._post("invoice", root, idempotent=True, url=self.invoice_url).find("InvoiceResponse")
        if answer is None:
            raise FatalApiError("invoice query response without InvoiceResponse", code=TDS_XML_ERROR, system=SYSTEM)
        if answer.find("ErrorMessage") is not None:
            self._raise_service_error(_text(answer, "ErrorMessage"), _text(answer, "ErrorDetail"))
        problems: list[str] = []
        invoices = xmlinvoice.parse_invoices(answer, problems)
        if problems:
            raise FatalApiError(f"invoices of {po_number or order_number!r} cannot be read: "
                                f"{'; '.join(problems)[:500]}", code=TDS_XML_BAD_VALUE, system=SYSTEM)
        return invoices

    def po_exists(self, po_number: str) -> bool:
        """Did this customer PO number already reach TD SYNNEX?"""
        return self.po_status(po_number).exists

    def ping(self) -> None:
        self.po_status("CHANNELSYNC-PING")

    # --- PO submission ---------------------------------------------------------------------------

    def submit_po(self, order: PurchaseOrder, *, check_existing: bool = True) -> PoSubmission:
        """Send a PO once. With ``check_existing`` (default) PO status is asked first: a PO number
        already known to TD SYNNEX is not sent again (``already_submitted=True``). After an unknown
        outcome PO status is asked again; if the PO is still not there the error goes up."""
        if check_existing:
            status = self.po_status(order.po_number)
            if status.exists:
                return self._from_status(status)
        try:
            answer = self._post("PO", self._po_xml(order), idempotent=False)
        except OutcomeUnknownError as unknown:
            try:
                status = self.po_status(order.po_number)
            except ChannelsyncError:
                # The look-up failed too: still unknown (never "failed", which would let it be sent blindly).
                raise unknown from None
            if status.exists:
                return self._from_status(status)
            raise
        return self._submission(answer.find("OrderResponse"), order.po_number)

    def _po_xml(self, order: PurchaseOrder) -> ET.Element:
        root = ET.Element("SynnexB2B")
        self._credential(root)
        request = ET.SubElement(root, "OrderRequest")

        def add(parent: ET.Element, tag: str, value: Any) -> ET.Element:
            child = ET.SubElement(parent, tag)
            child.text = str(value)
            return child

        add(request, "CustomerNumber", self.customer_number)
        add(request, "PONumber", order.po_number)
        add(request, "DropShipFlag", "Y" if order.drop_ship else "N")
        add(request, "BackOrderFlag", "Y" if order.backorder_allowed else "N")
        shipment = ET.SubElement(request, "Shipment")
        ship_to = ET.SubElement(shipment, "ShipTo")
        to = order.ship_to
        for tag, value in (("AddressName1", to.name), ("AddressName2", to.contact_name), ("AddressLine1", to.address1),
                           ("AddressLine2", to.address2), ("City", to.city), ("State", to.state),
                           ("ZipCode", to.zip_code), ("Country", to.country)):
            add(ship_to, tag, value)
        contact = ET.SubElement(shipment, "ShipToContact")
        add(contact, "ContactName", to.contact_name)
        add(contact, "PhoneNumber", to.phone)
        add(contact, "EmailAddress", to.email)
        add(ET.SubElement(shipment, "ShipMethod"), "Code", order.ship_method)
        ET.SubElement(ET.SubElement(request, "Payment"), "BillTo", {"code": self.customer_number})
        if order.end_user_po:
            add(request, "EndUserPONumber", order.end_user_po)
        items = ET.SubElement(request, "Items")
        for line in order.lines:
            item = ET.SubElement(items, "Item", {"lineNumber": str(line.line_number)})
            add(item, "SKU", line.sku)
            if line.product_name:
                add(item, "ProductName", line.product_name)
            add(item, "UnitPrice", f"{Decimal(line.unit_price):.2f}")
            add(item, "OrderQuantity", line.quantity)
        return root

    def _submission(self, answer: ET.Element | None, po_number: str) -> PoSubmission:
        if answer is None:
            raise FatalApiError("PO response without OrderResponse", code=TDS_XML_ERROR, system=SYSTEM)
        if answer.find("ErrorMessage") is not None:
            self._raise_service_error(_text(answer, "ErrorMessage"), _text(answer, "ErrorDetail"))
        lines = tuple(
            PoLineResult(line_number=item.get("lineNumber", ""), sku=_text(item, "SKU"),
                         quantity=_int(_text(item, "OrderQuantity")), code=_text(item, "Code"),
                         order_number=_text(item, "OrderNumber"), order_type=_text(item, "OrderType"),
                         reference=_text(item, "SynnexInternalReference"), reason=_text(item, "Reason"))
            for item in answer.findall("Items/Item")
        )
        submission = PoSubmission(po_number=_text(answer, "PONumber") or po_number, code=_text(answer, "Code"),
                                  lines=lines, reason=_text(answer, "Reason"))
        if submission.code == "rejected":
            duplicate = any(DUPLICATE_MARK in line.reference for line in lines)
            error = FatalApiError(
                f"TD SYNNEX rejected PO {submission.po_number}: {submission.reason or 'see line reasons'}",
                code=TDS_PO_DUPLICATE if duplicate else TDS_PO_REJECTED, system=SYSTEM,
                vendor_message=submission.reason,
            )
            error.submission = submission  # type: ignore[attr-defined]
            raise error
        return submission

    @staticmethod
    def _from_status(status: PoStatus) -> PoSubmission:
        lines = tuple(PoLineResult(line_number=i.line_number, sku=i.sku, quantity=i.order_quantity, code=i.code,
                                   order_number=i.order_number, order_type=i.order_type) for i in status.items)
        return PoSubmission(po_number=status.po_number, code=status.code, lines=lines, reason=status.reason,
                            already_submitted=True)
