"""Hypothesis strategies: valid records of each source format with mutations drawn onto them, each
mutation knowing what must become of the record (``bad``: quarantined or refused; ``benign``: passes).

A case is ``(input, expectation)`` as the matching ``harness.run_*`` takes them. Everything is drawn from
small fixed lists, so shrinking is quick and, with ``derandomize=True``, every run draws the same cases.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from channelsync.clients.tdsynnex.flatfile_layout import COL, COLUMNS, DELIMITER

# --- flat file ------------------------------------------------------------------------------------------

HEADER = DELIMITER.join(["Trading Partner Code", "Detail Record ID", *[""] * (COLUMNS - 2)])

# field → values that make a row unusable (quarantined, whatever the reason)
FLAT_BAD: dict[str, list[str | bytes]] = {
    "price": ["abc", "NaN", "sNaN", "$10", "1,5", "1_000", "-5.00", "1e401", "Infinity", "", "12.3.4", "0x1A"],
    "msrp": ["abc", "NaN", "1e401", "Infinity", "-Infinity", "1.00"],  # 1.00: below the cost of 10.00
    "quantity": ["lots", "2.5", "9" * 30, "1e401", "-", "NaN"],
    "weight": ["1,5", "abc", "Infinity", "1e401"],
    "status": ["X", "", "Active", "d", "N"],
    "sku": ["", "S" * 60, b"99\x81BAD"],
    "mpn": ["", "M" * 60, b"MPN-\x8d1", "MPN-\u00e9".encode()],  # the last: UTF-8 in a cp1252 file
    "category": [""],
    "description": ["", "   "],
}
# field → values a row is still good with (perhaps with a warning: truncated, cleaned, repaired)
FLAT_BENIGN: dict[str, list[str | bytes]] = {
    "description": ["Caf\u00e9 \u2122 Notebook", "N" * 150, "Note\x00book", "Caf\u00c3\u00a9 Notebook",
                    b"Dock\x81 USB-C"],
    "long_description": ["L" * 5000, "Premi\u00e8re qualit\u00e9"],
    "manufacturer": ["Acme \u00ae", ""],
    "price": ["  12.00 ", "12"],
    "quantity": ["", "007"],
    "category": [" NBK ", "MON"],
    "status": [" A "],
    "upc": ["x" * 300],
}


def flat_values(number: int) -> dict[str, str | bytes]:
    return {"sku": f"99{number:05d}", "mpn": f"MPN-{number}", "status": "A", "description": f"Notebook {number}",
            "manufacturer": "Acme", "price": "10.00", "msrp": "15.00", "quantity": "3", "category": "NBK",
            "weight": "1.5", "upc": "000000000000", "long_description": "A notebook"}


def flat_line(values: dict[str, str | bytes], *, cells: int = COLUMNS, encoding: str = "cp1252") -> bytes:
    row: list[bytes] = [b""] * COLUMNS
    row[COL["partner"]], row[COL["record"]] = b"700001", b"DTL"
    for name, value in values.items():
        row[COL[name]] = value if isinstance(value, bytes) else value.encode(encoding, errors="replace")
    row = row[:cells] + [b""] * (cells - COLUMNS)
    return DELIMITER.encode().join(row)


@st.composite
def flat_files(draw: st.DrawFn) -> tuple[bytes, dict[str, dict[str, Any]], int]:
    """A whole ``.ap`` file: (bytes, {SKU: values} of the rows meant to pass, number of rows)."""
    encoding = draw(st.sampled_from(["cp1252", "cp1252", "cp1252", "utf-8"]))
    count = draw(st.integers(min_value=1, max_value=8))
    lines: list[bytes] = []
    expected: dict[str, dict[str, Any]] = {}
    skus: list[str] = []
    kind = "good"
    for number in range(count):
        values = flat_values(number)
        kind = draw(st.sampled_from(["good", "bad", "bad", "benign", "cells", "tilde", "break", "duplicate"]))
        good = kind in ("good", "benign")
        if kind == "bad":
            name = draw(st.sampled_from(sorted(FLAT_BAD)))
            values[name] = draw(st.sampled_from(FLAT_BAD[name]))
        elif kind == "benign":
            name = draw(st.sampled_from(sorted(FLAT_BENIGN)))
            values[name] = draw(st.sampled_from(FLAT_BENIGN[name]))
            if encoding == "utf-8" and name in ("long_description", "manufacturer", "description") and \
                    isinstance(values[name], str) and not str(values[name]).isascii():
                pass  # UTF-8 descriptive text read as cp1252 is repaired (a warning): still good
        elif kind == "duplicate" and skus:
            values["sku"] = draw(st.sampled_from(skus))
            expected.pop(str(values["sku"]), None)  # every occurrence of a duplicated SKU is quarantined
        if kind == "duplicate" and not skus:
            good = True
        cells = COLUMNS
        if kind == "cells":
            cells = draw(st.sampled_from([1, 5, 21, 59, 69, 71, 140]))
        if kind == "tilde":
            values["description"] = "Dock ~ USB-C"
        if kind == "break":
            values["description"] = draw(st.sampled_from(["Dock\r\nUSB-C", "Dock\nUSB-C", "Dock\rUSB-C"]))
        line = flat_line(values, cells=cells, encoding=encoding)
        sku = str(values["sku"]) if isinstance(values["sku"], str) else ""
        if sku in skus:
            good = False
        if sku:
            skus.append(sku)
        if good:
            expected[sku] = {k: (v.decode("cp1252", errors="replace") if isinstance(v, bytes) else v)
                             for k, v in values.items()}
        lines.append(line)
    truncate = kind != "duplicate" and draw(st.booleans())
    if truncate:  # the file cut short inside its last row: that row loses cells
        last = lines[-1]
        cut = draw(st.integers(min_value=0, max_value=max(0, last.rfind(DELIMITER.encode()) - 1)))
        lines[-1] = last[:cut]
        expected.pop(sku, None)
    body = HEADER.encode() + b"\r\n" + b"\r\n".join(lines) + (b"" if truncate else b"\r\n")
    return body, expected, count


# --- XML P&A and PO status --------------------------------------------------------------------------------

PNA_BAD_PRICE = ["abc", "NaN", "Infinity", "1e9999", "1e999", "-1.00", "", "1,234.00", "12.3.4", "\u0661\u0662"]
PNA_BENIGN = ["  12.34\n", "<![CDATA[12.34]]>", "&#49;2.34"]  # all read as 12.34
HOSTILE_XML = [
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    b"<priceResponse>&b;</priceResponse>",  # an entity expansion bomb (small)
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><priceResponse>&x;</priceResponse>',
    b'<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://evil.invalid/r.dtd"><priceResponse/>',
    b"<priceResponse><description>&nbsp;</description></priceResponse>",  # an entity XML does not define
    b'<?xml version="1.0" encoding="x-bogus"?><priceResponse/>',
    '<?xml version="1.0" encoding="UTF-8"?><priceResponse><d>caf\u00e9</d></priceResponse>'.encode("latin-1"),
    b"", b"\x00\x01\x02", b"<priceResponse>", b"not xml at all", b"<a>" * 5000,
    b"<priceResponse><errorMessage>Client.InvalidLogin</errorMessage><errorDetail>bad</errorDetail></priceResponse>",
]


def pna_line(line: int, sku: str, price: str = "12.34", *, status: str = "Active", qty: str = "5",
             drop: str = "", line_number: str | None = None, description: str = "Notebook") -> str:
    parts = {
        "mfgPN": f"<mfgPN>MPN-{sku}</mfgPN>", "synnexSKU": f"<synnexSKU>{sku}</synnexSKU>",
        "status": f"<status>{status}</status>", "description": f"<description>{description}</description>",
        "price": f"<price>{price}</price>", "totalQuantity": f"<totalQuantity>{qty}</totalQuantity>",
        "lineNumber": f"<lineNumber>{line if line_number is None else line_number}</lineNumber>",
        "warehouse": "<AvailabilityByWarehouse><warehouseInfo><number>3</number><city>Fremont</city>"
                     f"</warehouseInfo><qty>{qty}</qty><onOrderQuantity>0</onOrderQuantity>"
                     "</AvailabilityByWarehouse>",
    }
    return "<PriceAvailabilityList>" + "".join(v for k, v in parts.items() if k != drop) + "</PriceAvailabilityList>"


def pna_document(lines: list[str], *, encoding: str = "UTF-8") -> bytes:
    text = (f'<?xml version="1.0" encoding="{encoding}"?><priceResponse version="2.3"><customerNo>700001'
            f"</customerNo><userName>u</userName>{''.join(lines)}</priceResponse>")
    return text.encode(encoding, errors="xmlcharrefreplace")


@st.composite
def pna_answers(draw: st.DrawFn) -> tuple[bytes, list[str], dict[str, Decimal] | None, int]:
    """(answer, SKUs asked, {SKU: cost} meant to pass or None when the answer must be refused, lines)."""
    count = draw(st.integers(min_value=1, max_value=4))
    skus = [f"77{n:04d}" for n in range(count)]
    if draw(st.integers(min_value=0, max_value=5)) == 0:
        return draw(st.sampled_from(HOSTILE_XML)), skus, None, count
    lines, expected, whole_refused = [], {}, False
    for number, sku in enumerate(skus, start=1):
        kind = draw(st.sampled_from(["good", "good", "price", "benign", "status", "drop", "qty", "line", "long"]))
        if kind == "price":
            lines.append(pna_line(number, sku, draw(st.sampled_from(PNA_BAD_PRICE))))
        elif kind == "benign":
            lines.append(pna_line(number, sku, draw(st.sampled_from(PNA_BENIGN))))
            expected[sku] = Decimal("12.34")
        elif kind == "status":
            lines.append(pna_line(number, sku, status=draw(st.sampled_from(["Bogus", "", "active"]))))
        elif kind == "drop":
            lines.append(pna_line(number, sku, drop=draw(st.sampled_from(["price", "status"]))))
        elif kind == "qty":  # quantities are reported, not written: unreadable is missing, the cost still good
            lines.append(pna_line(number, sku, qty=draw(st.sampled_from(["lots", "2.5", "9" * 40, "NaN"]))))
            expected[sku] = Decimal("12.34")
        elif kind == "line":  # an answer line that cannot be matched to what was asked: the answer is refused
            lines.append(pna_line(number, sku, line_number=draw(st.sampled_from(["", "x", "99"]))))
            whole_refused = True
        elif kind == "long":
            lines.append(pna_line(number, sku, description="D" * 100_000 + "&amp;&lt;"))
            expected[sku] = Decimal("12.34")
        else:
            lines.append(pna_line(number, sku))
            expected[sku] = Decimal("12.34")
    encoding = draw(st.sampled_from(["UTF-8", "UTF-8", "ISO-8859-1", "UTF-16"]))
    body = pna_document(lines, encoding=encoding)
    if draw(st.integers(min_value=0, max_value=4)) == 0:  # cut short
        body = body[:draw(st.integers(min_value=0, max_value=len(body) - 2))]
        return body, skus, None, count
    return body, skus, (None if whole_refused else expected), count


PO_BAD = ["abc", "2.5", "1e999999999", "Infinity", "NaN", "9" * 30, "-"]


def po_status_document(items: list[dict[str, str]], *, wrap: bool = True) -> bytes:
    rows = "".join(
        f'<Item lineNumber="{i["line"]}"><Code>accepted</Code><OrderNumber>SO-{i["line"]}</OrderNumber>'
        f"<OrderType>SO</OrderType><OrderQuantity>{i['qty']}</OrderQuantity><UnitPrice>{i['price']}</UnitPrice>"
        f"<SKU>{i['sku']}</SKU><MfgPN>MPN</MfgPN><ProductName>P</ProductName><ShipQuantity>{i['ship']}</ShipQuantity>"
        f"<ShipFromWarehouse>3</ShipFromWarehouse><ShipMethod>FG</ShipMethod><Packages><Package>"
        f"<TrackingNumber>1Z</TrackingNumber><Weight>1</Weight><ShipItemQuantity>{i['ship']}</ShipItemQuantity>"
        f"<SerialNo>S1</SerialNo></Package></Packages></Item>" for i in items)
    inner = (f"<PONumber>PO-1</PONumber><Code>shipped</Code><Reason/><PODatetime>2026-12-01T10:00:00</PODatetime>"
             f"<Items>{rows}</Items>")
    body = f"<OrderStatusResponse>{inner}</OrderStatusResponse>" if wrap else inner
    return f'<?xml version="1.0" encoding="UTF-8"?><SynnexB2B version="2.4">{body}</SynnexB2B>'.encode()


@st.composite
def po_status_answers(draw: st.DrawFn) -> tuple[bytes, dict[str, Any] | None]:
    count = draw(st.integers(min_value=1, max_value=3))
    items = [{"line": str(n), "qty": "2", "price": "10.50", "sku": f"77{n:04d}", "ship": "2"}
             for n in range(1, count + 1)]
    kind = draw(st.sampled_from(["good", "good", "number", "price", "benign", "hostile", "unwrapped", "cut"]))
    bad = kind in ("number", "price", "hostile", "unwrapped", "cut")
    if kind == "number":
        items[draw(st.integers(0, count - 1))][draw(st.sampled_from(["qty", "ship"]))] = draw(st.sampled_from(PO_BAD))
    elif kind == "price":
        items[0]["price"] = draw(st.sampled_from(["x", "NaN", "Infinity", "1,50", "1e9999"]))
    elif kind == "benign":
        items[0]["qty"], items[0]["price"] = " 2 ", "<![CDATA[10.50]]>"
    body = po_status_document(items, wrap=kind != "unwrapped")
    if kind == "hostile":
        body = draw(st.sampled_from(HOSTILE_XML))
    if kind == "cut":
        body = body[:draw(st.integers(min_value=0, max_value=len(body) - 2))]
    expected = None if bad else {"code": "shipped", "items": [
        (i["line"], i["sku"], 2, 2, Decimal("10.50")) for i in items]}
    return body, expected


# --- JSON: envelopes and tokens -----------------------------------------------------------------------------

BAD_JSON = [b"", b"{", b'{"a": ', b"\xff\xfe\xfa", '{"name": "caf\u00e9"}'.encode("latin-1"), b"[" * 5000 + b"]" * 5000,
            b'{"n": ' + b"9" * 5000 + b"}", b"null", b"42", b'"text"', b"<html>502 Bad Gateway</html>"]


def _records(count: int) -> list[dict[str, Any]]:
    return [{"id": n, "name": f"Record {n}", "note": "caf\u00e9 \u2122"} for n in range(count)]


def listing_pages(system: str, records: list[dict[str, Any]], page_size: int = 2) -> list[dict[str, Any]]:
    chunks = [records[at:at + page_size] for at in range(0, len(records), page_size)] or [[]]
    pages = []
    for number, chunk in enumerate(chunks):
        last = number == len(chunks) - 1
        if system == "ion":
            pages.append({"products": chunk, "nextPageToken": "" if last else f"cursor-{number + 1}"})
        elif system == "crayon":
            pages.append({"totalHits": len(records), "items": chunk})
        else:
            pages.append({"page": {"size": page_size, "totalElements": len(records), "totalPages": len(chunks),
                                   "number": number}, "content": chunk})
    return pages


ENVELOPE_BAD: dict[str, list[tuple[str, Any]]] = {
    # (key to change on a page, the value): every one must refuse the answer
    "ion": [("products", {"a": 1}), ("products", "x"), ("products", [1, 2]), ("products", [None]),
            ("nextPageToken", 123), ("nextPageToken", ["x"]), ("nextPageToken", "cursor-1")],  # the last: a loop
    "crayon": [("items", {"a": 1}), ("items", "x"), ("items", [1]), ("items", [["x"]]), ("totalHits", "many"),
               ("totalHits", 1.5), ("totalHits", [])],
    "pax8": [("content", {"a": 1}), ("content", "x"), ("content", [7]), ("page", "x"), ("page", [1]),
             ("page", {"number": 0, "totalPages": "lots"})],
}


def _dumps(value: Any, encoding: str) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode(encoding)


@st.composite
def listing_answers(draw: st.DrawFn, system: str) -> tuple[list[bytes], list[dict[str, Any]] | None]:
    records = _records(draw(st.integers(min_value=0, max_value=5)))
    pages = listing_pages(system, records)
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-16", "utf-8-sig"]))
    kind = draw(st.sampled_from(["good", "good", "envelope", "envelope", "json", "huge"]))
    expected: list[dict[str, Any]] | None = records
    if kind == "envelope":
        key, value = draw(st.sampled_from(ENVELOPE_BAD[system]))
        at = draw(st.integers(min_value=0, max_value=len(pages) - 1))
        if key == "nextPageToken" and value == "cursor-1":
            if len(pages) < 3:
                value = 123  # a loop needs two pages of cursors; a wrong type instead
            else:
                at = 1
        pages[at] = {**pages[at], key: value}
        expected = None
    body = [_dumps(page, encoding) for page in pages]
    if kind == "json":
        body[draw(st.integers(min_value=0, max_value=len(body) - 1))] = draw(st.sampled_from(BAD_JSON))
        expected = None
    if kind == "huge" and records:
        records[0]["name"] = "N" * 200_000
        body = [_dumps(page, encoding) for page in listing_pages(system, records)]
    if system == "crayon" and expected is not None:
        expected = [dict(r) for r in expected]
    return body, expected


TOKEN_GOOD = {"ion": ("refresh_token", "access_token", "expires_in"), "crayon": ("RefreshToken", "AccessToken",
              "ExpiresIn"), "pax8": ("", "access_token", "expires_in")}
TOKEN_BAD_VALUES = [None, 123, ["x"], {"a": 1}, "has space", "new\nline", "T" * 5000, True]
LIFETIME_BAD = ["abc", float("nan"), -1, 1e30, True, [], {"s": 1}]


@st.composite
def token_answers(draw: st.DrawFn, system: str) -> tuple[bytes, str | None]:
    _refresh_key, access_key, expires_key = TOKEN_GOOD[system]
    answer: dict[str, Any] = {access_key: f"{system}-access-token-1", expires_key: 3600, "token_type": "Bearer"}
    if system == "ion":
        answer["refresh_token"] = "ionrt-next-1"
    kind = draw(st.sampled_from(["good", "token", "token", "missing", "lifetime", "json", "benign"]))
    expected: str | None = None
    if kind == "good":
        expected = answer[access_key]
    elif kind == "benign":
        answer[expires_key] = draw(st.sampled_from(["7200", 7200.0, None]))
        expected = answer[access_key]
    elif kind == "token":
        key = draw(st.sampled_from([access_key, "refresh_token"] if system == "ion" else [access_key]))
        answer[key] = draw(st.sampled_from(TOKEN_BAD_VALUES))
        if answer[key] is None and system != "ion":
            answer.pop(key)
    elif kind == "missing":
        answer.pop(draw(st.sampled_from([access_key, "refresh_token"] if system == "ion" else [access_key])))
    elif kind == "lifetime":
        answer[expires_key] = draw(st.sampled_from(LIFETIME_BAD))
    body = json.dumps(answer).encode()
    if kind == "json":
        body = draw(st.sampled_from(BAD_JSON))
    return body, expected


# --- invoice lines ---------------------------------------------------------------------------------------------

def crayon_line(number: int) -> dict[str, Any]:
    return {"Id": number, "BillingStatementId": 1, "CustomerTenant": {"Id": 500 + number, "Name": "Contoso"},
            "Subscription": {"Id": 800 + number, "Name": "Microsoft 365 E3"},
            "Product": {"PartNumber": "CFQ7TTC0LFLX:0001", "ItemName": "Microsoft 365 E3"},
            "OfferName": "Microsoft 365 E3", "ChargeType": "recurring", "ChargeStartDate": "2026-11-01",
            "ChargeEndDate": "2026-11-30", "Quantity": 10, "UnitPrice": 33.6, "BillableRatio": 1.0,
            "SubTotal": 336.0, "Currency": "USD"}


def pax8_item(number: int) -> dict[str, Any]:
    return {"id": f"item-{number}", "companyId": f"company-{number}", "subscriptionId": f"sub-{number}",
            "sku": "MST-NCE-E3", "startPeriod": "2026-11-01", "endPeriod": "2026-11-30", "quantity": 10,
            "price": 36.0, "cost": 33.6, "subTotal": 360.0, "costTotal": 336.0, "total": 360.0,
            "currencyCode": "USD", "description": "Microsoft 365 E3"}


NAN, INF = float("nan"), float("inf")
LINE_BAD: dict[str, list[Any]] = {  # per field kind: values that make a line unusable
    "number": [None, "12.5", [], {}, True, NAN, INF, -INF, 1e400, "abc"],
    "date": [None, "2026-13-45", "yesterday", 20261101, "", "2026-11-01 garbage"],
    "text": [None, "", 12, [], {"a": 1}],
    "currency": ["US", "\u20ac\u20ac\u20ac", 840, None],
    "ratio": [1.5, -1.5],  # a reversal or credit is negative (pair style): only beyond ±1 is unreadable
    "quantity": [1e10],
}
CRAYON_KINDS = {"Id": "id", "CustomerTenant": "nested", "Subscription": "nested", "Product": "nested",
                "ChargeType": "text", "ChargeStartDate": "date", "ChargeEndDate": "date", "Quantity": "number",
                "UnitPrice": "number", "BillableRatio": "number", "SubTotal": "number", "Currency": "currency"}
PAX8_KINDS = {"id": "id", "companyId": "id", "subscriptionId": "id", "sku": "text", "startPeriod": "date",
              "endPeriod": "date", "quantity": "number", "price": "number", "cost": "number", "subTotal": "number",
              "costTotal": "number", "total": "number", "currencyCode": "currency"}


@st.composite
def invoice_documents(draw: st.DrawFn, system: str) -> tuple[bytes, set[str] | None, int]:
    """(the lines' JSON, ids of the lines meant to pass or None when the document must be refused, lines)."""
    count = draw(st.integers(min_value=1, max_value=6))
    kinds = CRAYON_KINDS if system == "crayon" else PAX8_KINDS
    make = crayon_line if system == "crayon" else pax8_item
    lines, good = [], set()
    for number in range(count):
        line = make(number)
        kind = draw(st.sampled_from(["good", "good", "field", "field", "missing", "period", "benign"]))
        if kind == "field":
            name = draw(st.sampled_from(sorted(kinds)))
            field_kind = kinds[name]
            if field_kind == "nested":
                line[name] = draw(st.sampled_from([None, "x", [], {}, {"Id": None, "PartNumber": None}]))
            elif field_kind == "id":
                line[name] = draw(st.sampled_from([None, "", [], {}, True, 1.5]))
            else:
                choices = LINE_BAD[field_kind] + (LINE_BAD["ratio"] if name == "BillableRatio" else []) + (
                    LINE_BAD["quantity"] if name.lower() == "quantity" else [])
                line[name] = draw(st.sampled_from(choices))
        elif kind == "missing":
            line.pop(draw(st.sampled_from(sorted(kinds))))
        elif kind == "period":
            start, end = ("ChargeStartDate", "ChargeEndDate") if system == "crayon" else ("startPeriod", "endPeriod")
            line[start], line[end] = line[end], line[start]
        elif kind == "benign":
            line["Extra" if system == "crayon" else "extra"] = {"deep": ["x" * 10_000]}
        if kind in ("good", "benign"):
            good.add(str(line["Id"] if system == "crayon" else line["id"]))
        lines.append(line)
    doc = json.dumps(lines).encode()
    whole = draw(st.integers(min_value=0, max_value=6))
    if whole == 0:  # the document itself broken
        doc = draw(st.sampled_from([*BAD_JSON[1:6], b'{"lines": []}', b"[1, 2]", b'["x"]', b"[null]"]))
        return doc, None, count
    if whole == 1 and system == "crayon":
        doc = json.dumps(lines).encode("utf-16")  # another encoding of the same JSON: read the same
    return doc, good, count
