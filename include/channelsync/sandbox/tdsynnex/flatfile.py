"""The daily P&A flat file and ``category_list.txt``, served over HTTP at ``/tdsynnex/ftp/`` as a stand-in
for the per-account FTP site (HTTP basic auth with the XML / EC Express login replaces the FTP login).

Files (names as real accounts see them, e.g. ``c1150897.zip`` holding ``1150897.ap``):

- ``c<customerNo>.zip``: one member ``<customerNo>.ap``;
- ``category_list.txt``;
- ``GET /tdsynnex/ftp/`` lists them, one name per line (like an FTP ``NLST``).

``<customerNo>.ap`` layout. The column order follows the "Flat File P&A Spec (June 2013, v2.61)" as
user code that parses real files records it (70 columns, ``~``-delimited, no quoting, CRLF line
ends, first line = column names, detail records carry ``DTL`` in column 1). Encoding: cp1252
(Windows Western; the files are produced on Windows and French descriptions carry é/è/à, the
trademark signs ™/®); readers must not assume UTF-8.

====  ===================================  ============================================
col   name                                 emulator content
====  ===================================  ============================================
0     Trading Partner Code                 customer number
1     Detail Record ID                     ``DTL``
2     Manufacturer Part#                   mpn
4     SYNNEX SKU #                         synnex_sku
5     Status Code                          ``A`` active, ``D`` discontinued
6     Part Description                     short technical description
7     Manufacturer Name                    manufacturer
9     Qty on Hand (Total)                  sum of warehouse quantities
12    Contract Price (With Promo/Rebate)   reseller price
13    MSRP                                 msrp
14,15,17,21,23  Warehouse Qty on Hand      warehouses 3, 11, 23, 29, 7 (see ``WAREHOUSE_COLUMNS``)
16    Returnable Flag                      ``Y``
18    Parcel Shippable                     ``Y`` below 70 lb
20    Unit Cost (w/o Promo/Rebate)         reseller price
24    SYNNEX CAT Code                      category code (ASSUMPTION: the world's 3-letter codes
                                           stand in for the real 9-digit codes)
27    Ship Weight                          lb
28    Serialized Flag                      ``Y`` for computers, monitors, servers, network gear
33    UPC Code                             upc
36    SKU Created Date                     YYYYMMDD
49    Long Description (1)                 long description
58    Product Description (FR)             French description (non-ASCII)
====  ===================================  ============================================

Every other column is present and empty (SYNNEX internal use, government prices, dimensions ...).

``category_list.txt`` (ASSUMPTION: same delimiter and encoding as the flat file; columns as a
user's import of the real list shows): ``CatCode~Level1Description~Level2Description~
Level3Description~UNSPSC``, first line = column names.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from typing import Any

COLUMNS = 70
DELIMITER = "~"
ENCODING = "cp1252"
COLUMN_NAMES = [
    "Trading Partner Code", "Detail Record ID", "Manufacturer Part#", "SYNNEX Internal Use", "SYNNEX SKU #",
    "Status Code", "Part Description", "Manufacturer Name", "SYNNEX Internal Use", "Qty on Hand (Total)",
    "SYNNEX Internal Use", "SYNNEX Internal Use", "Contract Price (With Promo / Rebate)", "MSRP",
    "Warehouse Qty on Hand", "Warehouse Qty on Hand", "Returnable Flag", "Warehouse Qty on Hand",
    "Parcel Shippable", "Warehouse Qty on Hand", "Unit Cost (w/o Promo/Rebate)", "Warehouse Qty on Hand",
    "Media Type", "Warehouse Qty on Hand", "SYNNEX CAT Code", "Warehouse Qty on Hand", "SYNNEX Internal Use",
    "Ship Weight", "Serialized Flag", "Warehouse Qty on Hand", "Warehouse Qty on Hand", "SYNNEX Reserved Use",
    "SYNNEX HC Price", "UPC Code", "UNSPSC Code", "SYNNEX Internal Use", "SKU Created Date", "SKU ATTRIBUTES",
    "ETA Date", "ABC Code", "Kit/Stand Alone Flag", "State GOV Price", "Federal GOV Price", "EDUcational Price",
    "TAA Flag", "GSA Pricing", "Promotion Flag", "Promotion Comment", "Promotion Expiration Date",
    "Long Description (1)", "Long Description (2)", "Long Description (3)", "Length", "Width", "Height",
    "Warehouse Qty on Hand", "GSA NTE Price", "Platform Type", "Product Description (FR)", "SYNNEX Reserved Use",
    "Warehouse Qty on Hand", "Warehouse Qty on Hand", "Warehouse Qty on Hand", "Warehouse Qty on Hand",
    "Replacement Sku", "Minimum Order Qty", "Purchasing Requirements", "Gov Class", "Warehouse Qty on Hand",
    "MFG Drop Ship Warehouse QTY",
]
# Column index of the fields the emulator fills (the client imports the same map).
COL = {
    "partner": 0, "record": 1, "mpn": 2, "sku": 4, "status": 5, "description": 6, "manufacturer": 7,
    "quantity": 9, "price": 12, "msrp": 13, "returnable": 16, "parcel": 18, "cost": 20, "category": 24,
    "weight": 27, "serialized": 28, "upc": 33, "created": 36, "long_description": 49, "description_fr": 58,
}
WAREHOUSE_COLUMNS = {"3": 14, "11": 15, "23": 17, "29": 21, "7": 23}
SERIALIZED_CATEGORIES = {"NBK", "DSK", "MON", "SRV", "NSW", "WLS", "PRN", "UPS"}
FRENCH_NAMES = {
    "NBK": "Ordinateur portable", "DSK": "Ordinateur de bureau", "MON": "Écran", "SRV": "Serveur",
    "NSW": "Commutateur réseau", "WLS": "Réseau sans fil", "SSD": "Disque SSD", "PRN": "Imprimante",
    "KBM": "Clavier et souris", "CBL": "Câbles et adaptateurs", "UPS": "Onduleur", "DOC": "Station d'accueil",
}
assert len(COLUMN_NAMES) == COLUMNS


def _clean(value: Any) -> str:
    # The format has no quoting: a delimiter or line break inside a value would shift columns.
    return str(value).replace(DELIMITER, "-").replace("\r", " ").replace("\n", " ")


def render_rows(customer_number: str, products: Iterable[dict[str, Any]]) -> str:
    lines = [DELIMITER.join(COLUMN_NAMES)]
    for product in products:
        row = [""] * COLUMNS
        warehouses = {str(k): int(v) for k, v in product["warehouses"].items()}
        row[COL["partner"]] = customer_number
        row[COL["record"]] = "DTL"
        row[COL["mpn"]] = product["mfgPN"]
        row[COL["sku"]] = product["synnexSKU"]
        row[COL["status"]] = "A" if product["status"] == "Active" else "D"
        row[COL["description"]] = product["description"]
        row[COL["manufacturer"]] = product["manufacturer"]
        row[COL["quantity"]] = str(sum(warehouses.values()))
        row[COL["price"]] = row[COL["cost"]] = str(product["price"])
        row[COL["msrp"]] = str(product["msrp"])
        for number, column in WAREHOUSE_COLUMNS.items():
            row[column] = str(warehouses.get(number, 0))
        row[COL["returnable"]] = "Y"
        row[COL["parcel"]] = "Y" if float(product["weight"]) < 70 else "N"
        row[COL["category"]] = product["categoryCode"]
        row[COL["weight"]] = str(product["weight"])
        row[COL["serialized"]] = "Y" if product["categoryCode"] in SERIALIZED_CATEGORIES else "N"
        row[COL["upc"]] = product["upc"]
        row[COL["created"]] = "20240115"
        row[COL["long_description"]] = product.get("longDescription", "")
        french = FRENCH_NAMES.get(product["categoryCode"], "Produit")
        row[COL["description_fr"]] = f"{french} {product['manufacturer']}® {product['mfgPN']}"
        lines.append(DELIMITER.join(_clean(value) for value in row))
    return "\r\n".join(lines) + "\r\n"


def render_zip(customer_number: str, products: Iterable[dict[str, Any]], extra: bytes = b"") -> bytes:
    """``extra``: raw bytes appended after the generated rows (a control endpoint puts broken rows there)."""
    data = render_rows(customer_number, products).encode(ENCODING, errors="replace") + extra
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr(f"{customer_number}.ap", data)
    return buffer.getvalue()


def raw_row(customer_number: str, values: dict[str, str]) -> list[str]:
    """One detail row with only the given fields filled (``COL`` names), for deliberately broken rows."""
    row = [""] * COLUMNS
    row[COL["partner"]], row[COL["record"]] = customer_number, "DTL"
    for name, value in values.items():
        row[COL[name]] = value
    return row


def render_category_list(categories: Iterable[tuple[str, str]]) -> bytes:
    lines = [DELIMITER.join(["CatCode", "Level1Description", "Level2Description", "Level3Description", "UNSPSC"])]
    lines.extend(DELIMITER.join([code, _clean(name), "", "", ""]) for code, name in categories)
    return ("\r\n".join(lines) + "\r\n").encode(ENCODING)
