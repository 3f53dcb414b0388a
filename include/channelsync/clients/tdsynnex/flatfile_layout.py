"""The layout of TD SYNNEX's daily P&A flat file ``<customerNo>.ap`` (the client reads it; the sandbox's
emulator writes it from these same constants, never the other way round).

The column order follows the "Flat File P&A Spec (June 2013, v2.61)" as user code that parses real
files records it: 70 columns, ``~``-delimited, no quoting, CRLF line ends, first line = column names,
detail records carry ``DTL`` in column 1. Encoding: cp1252 (Windows Western; the files are produced on
Windows and French descriptions carry é/è/à, the trademark signs ™/®); readers must not assume UTF-8.

Because there is no quoting, a ``~`` or a line break inside a value shifts every later column, and a
line cut short loses its tail: a reader must check each row has exactly :data:`COLUMNS` cells and
refuse any other row rather than read it by position.

====  ===================================  ============================================
col   name                                 what channelsync reads
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
24    SYNNEX CAT Code                      category code (ASSUMPTION: 3-letter codes stand in
                                           for the real 9-digit codes)
27    Ship Weight                          lb
28    Serialized Flag                      ``Y`` for computers, monitors, servers, network gear
33    UPC Code                             upc
36    SKU Created Date                     YYYYMMDD
49    Long Description (1)                 long description
58    Product Description (FR)             French description (non-ASCII)
====  ===================================  ============================================

``category_list.txt`` (ASSUMPTION: same delimiter and encoding as the flat file; columns as a user's
import of the real list shows): ``CatCode~Level1Description~Level2Description~Level3Description~UNSPSC``,
first line = column names.
"""

from __future__ import annotations

COLUMNS = 70
DELIMITER = "~"
ENCODING = "cp1252"
DETAIL_RECORD = "DTL"
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
# Column index of the fields channelsync reads (and the emulator fills).
COL = {
    "partner": 0, "record": 1, "mpn": 2, "sku": 4, "status": 5, "description": 6, "manufacturer": 7,
    "quantity": 9, "price": 12, "msrp": 13, "returnable": 16, "parcel": 18, "cost": 20, "category": 24,
    "weight": 27, "serialized": 28, "upc": 33, "created": 36, "long_description": 49, "description_fr": 58,
}
# Warehouse number → column of its quantity on hand.
WAREHOUSE_COLUMNS = {"3": 14, "11": 15, "23": 17, "29": 21, "7": 23}

assert len(COLUMN_NAMES) == COLUMNS
assert max(COL.values()) < COLUMNS and max(WAREHOUSE_COLUMNS.values()) < COLUMNS
