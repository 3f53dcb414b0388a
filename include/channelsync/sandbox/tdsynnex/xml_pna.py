"""Real-time Price & Availability (XML P&A spec v3.35): ``POST /xml/SynnexXML/PriceAvailability``
and ``/xml/SynnexXML/Availability`` (same query, empty ``<price>``).

- ``<skuList>`` by ``synnexSKU`` or ``mfgPN``; an mfgPN matching several SKUs answers several lists.
- Status ``Active`` / ``Discontinued`` / ``Not found`` / ``Not authorized`` with the element sets of
  the spec's examples 7, 10 and 11; every warehouse of the account is listed, 0 quantities included.
- ``version`` >= 2.1 adds ``onOrderQuantity`` / ``estimatedArrivalDate`` (YYYYMMDD); 2.3 honours
  ``requestWarehouse``.
- Errors (bad XML, bad login, too many SKUs): ``<priceResponse><errorMessage/><errorDetail/>``.
  ASSUMPTION: the spec shows no P&A error body; the camelCase pair follows the P&A element style
  and what user code (synnex-xml-sdk) tests for (``errorDetail``).
- ASSUMPTION: the spec states no SKU limit per request; the emulator refuses more than
  ``MAX_SKUS_PER_REQUEST`` (50, the limit TD SYNNEX's EU catalogue API documents) so batching shows.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from channelsync.sandbox.framework import SandboxResponse
from channelsync.sandbox.tdsynnex.catalog import WAREHOUSES, CatalogIndex, stable_hash
from channelsync.sandbox.tdsynnex.xml_common import BadXml, parse_request, sub, text, xml_response

MAX_SKUS_PER_REQUEST = 50
PRICE_TYPE_FACTORS = {
    "REGULAR": Decimal("1"), "EDUCATION": Decimal("0.97"), "STATEGOVERNMENT": Decimal("0.96"),
    "FEDERALGOVERNMENT": Decimal("0.95"), "PROMOTION": Decimal("0.93"),
}


def pna_error(message: str, detail: str) -> SandboxResponse:
    root = ET.Element("priceResponse")
    sub(root, "errorMessage", message)
    sub(root, "errorDetail", detail)
    return xml_response(root)


def _version(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return 0.0


def handle_pna(body: bytes, catalog: CatalogIndex, credentials: dict[str, str], now: datetime,
               *, with_price: bool) -> SandboxResponse:
    try:
        request = parse_request(body)
    except BadXml as exc:
        return pna_error("Client.IncompleteXML", str(exc))
    if request.tag != "priceRequest":
        return pna_error("Client.IncompleteXML", f"Unexpected root element <{request.tag}>; expected <priceRequest>")
    customer_no, user = text(request, "customerNo"), text(request, "userName")
    if (customer_no, user, text(request, "password")) != (
        credentials["customer_number"], credentials["username"], credentials["password"]
    ):
        return pna_error("Client.InvalidLogin", "Invalid customer number, user name or password")
    sku_lists = request.findall("skuList")
    if not sku_lists:
        return pna_error("Client.IncompleteXML", "priceRequest/skuList: at least one skuList is required")
    if len(sku_lists) > MAX_SKUS_PER_REQUEST:
        return pna_error("Client.TooManySkus",
                         f"{len(sku_lists)} skuList elements; at most {MAX_SKUS_PER_REQUEST} per request")
    version = request.get("version", "")
    root = ET.Element("priceResponse", {"version": version} if version else {})
    sub(root, "customerNo", customer_no)
    sub(root, "userName", user)
    for entry in sku_lists:
        _answer_line(root, entry, catalog, now, version=_version(version), with_price=with_price)
    return xml_response(root)


def _answer_line(root: ET.Element, entry: ET.Element, catalog: CatalogIndex, now: datetime, *,
                 version: float, with_price: bool) -> None:
    sku, mpn, line = text(entry, "synnexSKU"), text(entry, "mfgPN"), text(entry, "lineNumber")
    matches: list[dict[str, Any]]
    if sku:
        record = catalog.by_sku(sku)
        matches = [record] if record else []
    else:
        matches = catalog.by_mpn(mpn) if mpn else []
    if not matches:
        item = sub(root, "PriceAvailabilityList")
        sub(item, "synnexSKU" if sku or not mpn else "mfgPN", sku or mpn)
        sub(item, "status", "Not found")
        sub(item, "lineNumber", line)
        return
    for record in matches:
        _product_list(root, record, entry, line, now, version=version, with_price=with_price)


def _product_list(root: ET.Element, record: dict[str, Any], entry: ET.Element, line: str, now: datetime, *,
                  version: float, with_price: bool) -> None:
    item = sub(root, "PriceAvailabilityList")
    sub(item, "synnexSKU", record["synnexSKU"])
    if not record.get("authorized", True):
        sub(item, "status", "Not authorized")
        sub(item, "GlobalProductStatusCode", "Not authorized")
        sub(item, "lineNumber", line)
        return
    sub(item, "mfgPN", record["mfgPN"])
    sub(item, "mfgCode", record["mfgCode"])
    status = record.get("status", "Active")
    sub(item, "status", status)
    sub(item, "description", str(record["description"])[:40])
    sub(item, "GlobalProductStatusCode", status)
    if status != "Active":
        sub(item, "lineNumber", line)
        return
    price_type = text(entry, "priceType").upper()
    factor = PRICE_TYPE_FACTORS.get(price_type, Decimal("1"))
    price = (Decimal(str(record["price"])) * factor).quantize(Decimal("0.01"))
    sub(item, "price", str(price) if with_price else None)
    if price_type and price_type != "REGULAR":
        sub(item, "priceType", text(entry, "priceType"))
    if text(entry, "specialDealNumber"):
        sub(item, "specialDealNumber", text(entry, "specialDealNumber"))
    warehouses: dict[str, int] = {w: 0 for w in WAREHOUSES} | {str(k): int(v) for k, v in record["warehouses"].items()}
    wanted = [w.strip() for w in text(entry, "requestWarehouse").split(",") if w.strip()]
    if wanted and version >= 2.3:
        warehouses = {w: q for w, q in warehouses.items() if w in wanted}
    sub(item, "totalQuantity", sum(warehouses.values()))
    for number, qty in warehouses.items():
        info = WAREHOUSES.get(number, {"zipcode": "", "city": "", "addr": ""})
        block = sub(item, "AvailabilityByWarehouse")
        wh = sub(block, "warehouseInfo")
        sub(wh, "number", number)
        sub(wh, "zipcode", info["zipcode"])
        sub(wh, "city", info["city"])
        sub(wh, "addr", info["addr"])
        sub(block, "qty", qty)
        seed = stable_hash(record["synnexSKU"], number)
        if version >= 2.1 and qty == 0 and seed % 3 == 0:
            sub(block, "onOrderQuantity", 10 + seed % 90)
            sub(block, "estimatedArrivalDate", (now + timedelta(days=3 + seed % 25)).strftime("%Y%m%d"))
    sub(item, "lineNumber", line)
