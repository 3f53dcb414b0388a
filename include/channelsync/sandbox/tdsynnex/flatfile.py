"""The daily P&A flat file and ``category_list.txt``, served over HTTP at ``/tdsynnex/ftp/`` as a stand-in
for the per-account FTP site (HTTP basic auth with the XML / EC Express login replaces the FTP login).

Files (names as real accounts see them, e.g. ``c1150897.zip`` holding ``1150897.ap``):

- ``c<customerNo>.zip``: one member ``<customerNo>.ap``;
- ``category_list.txt``;
- ``GET /tdsynnex/ftp/`` lists them, one name per line (like an FTP ``NLST``).

``<customerNo>.ap`` and ``category_list.txt`` follow the layout in
:mod:`channelsync.clients.tdsynnex.flatfile_layout` (column order, delimiter, cp1252); this module only
renders them. Emulator content per column: mpn, SKU, status, descriptions, manufacturer, quantities
(total = sum of the warehouses), reseller price in both price columns, MSRP, ``Y`` returnable, parcel
shippable below 70 lb, category code, weight, serialized for computers / monitors / servers / network
gear, UPC, created 20240115, long description, a French description (non-ASCII). Every other column is
present and empty (SYNNEX internal use, government prices, dimensions ...).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from typing import Any

from channelsync.clients.tdsynnex.flatfile_layout import (  # re-exported: the emulator reads them here
    COL,
    COLUMN_NAMES,
    COLUMNS,
    DELIMITER,
    ENCODING,
    WAREHOUSE_COLUMNS,
)

__all__ = [
    "COL", "COLUMNS", "COLUMN_NAMES", "DELIMITER", "ENCODING", "WAREHOUSE_COLUMNS", "raw_row", "render_category_list",
    "render_rows", "render_zip",
]

SERIALIZED_CATEGORIES = {"NBK", "DSK", "MON", "SRV", "NSW", "WLS", "PRN", "UPS"}
FRENCH_NAMES = {
    "NBK": "Ordinateur portable", "DSK": "Ordinateur de bureau", "MON": "Écran", "SRV": "Serveur",
    "NSW": "Commutateur réseau", "WLS": "Réseau sans fil", "SSD": "Disque SSD", "PRN": "Imprimante",
    "KBM": "Clavier et souris", "CBL": "Câbles et adaptateurs", "UPS": "Onduleur", "DOC": "Station d'accueil",
}


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
    """One detail row with only the given fields filled (``COL`` names), for deliberately broken rows.

    Values are written as given (a ``~`` in one shifts the columns after it, as in a real broken file).
    The reserved name ``cells`` (a number as text) cuts the row to that many cells (a line cut short) or
    pads it with empty cells (a row with extra columns)."""
    row = [""] * COLUMNS
    row[COL["partner"]], row[COL["record"]] = customer_number, "DTL"
    cells = values.get("cells")
    for name, value in values.items():
        if name != "cells":
            row[COL[name]] = value
    if cells is not None:
        count = int(cells)
        row = row[:count] + [""] * (count - COLUMNS)
    return row


def render_category_list(categories: Iterable[tuple[str, str]]) -> bytes:
    lines = [DELIMITER.join(["CatCode", "Level1Description", "Level2Description", "Level3Description", "UNSPSC"])]
    lines.extend(DELIMITER.join([code, _clean(name), "", "", ""]) for code, name in categories)
    return ("\r\n".join(lines) + "\r\n").encode(ENCODING)
