"""The hardware catalog as TD SYNNEX holds it for one reseller account (drawn from ``world.hardware``).

One record per SYNNEX SKU in table ``products`` (key ``synnexSKU``), so the control API can change a
price, a quantity or a status directly. Shared by P&A, PO submission and the flat file.
"""

from __future__ import annotations

import zlib
from typing import Any

from channelsync.sandbox.store import Table
from channelsync.sandbox.world import MANUFACTURERS, World

# Warehouses the seeded world stocks. 3 (Fremont), 7 (Olive Branch) and 29 (Guelph) are on the spec's
# Appendix A list; 11 and 23 are not (the world picked them), so their locations are assumptions.
WAREHOUSES: dict[str, dict[str, str]] = {
    "3": {"zipcode": "94538", "city": "Fremont, CA", "addr": "44211 Nobel Drive", "state": "CA"},
    "7": {"zipcode": "38654", "city": "Olive Branch, MS", "addr": "10381 Stateline Road", "state": "MS"},
    "11": {"zipcode": "95304", "city": "Tracy, CA", "addr": "2000 E Grant Line Road", "state": "CA"},
    "23": {"zipcode": "38118", "city": "Memphis, TN", "addr": "3900 Air Park Street", "state": "TN"},
    "29": {"zipcode": "N1H 6J3", "city": "Guelph, ON", "addr": "107 Woodlawn Road West", "state": "ON"},
}

# SYNNEX internal manufacturer codes ("mfgCode", N8 in the P&A spec): stable per manufacturer.
MFG_CODES: dict[str, str] = {name: str(13001 + i * 17) for i, (name, *_rest) in enumerate(MANUFACTURERS)}


def stable_hash(*parts: str) -> int:
    """A hash that does not change between processes (Python's ``hash`` is salted)."""
    return zlib.crc32("|".join(parts).encode())


def is_authorized(sku: str) -> bool:
    """About one SKU in 50 is one the demo account may not buy (P&A answers 'Not authorized')."""
    return stable_hash("auth", sku) % 50 != 7


def product_records(world: World) -> list[dict[str, Any]]:
    out = []
    for item in world.hardware:
        out.append(
            {
                "synnexSKU": item.synnex_sku,
                "mfgPN": item.mpn,
                "mfgCode": MFG_CODES.get(item.manufacturer, "19999"),
                "manufacturer": item.manufacturer,
                "description": item.description,
                "longDescription": item.long_description,
                "categoryCode": item.category_code,
                "status": item.status,
                "price": str(item.cost),
                "msrp": str(item.msrp),
                "warehouses": dict(item.warehouse_qty),
                "weight": str(item.weight_lb),
                "upc": item.upc,
                "authorized": is_authorized(item.synnex_sku),
            }
        )
    return out


class CatalogIndex:
    """Lookup by SKU (the table) and by manufacturer part number (rebuilt when records change)."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self._by_mpn: dict[str, list[str]] | None = None

    def invalidate(self) -> None:
        self._by_mpn = None

    def by_sku(self, sku: str) -> dict[str, Any] | None:
        return self.table.get(sku)

    def by_mpn(self, mpn: str) -> list[dict[str, Any]]:
        if self._by_mpn is None:
            index: dict[str, list[str]] = {}
            for row in self.table.rows():
                index.setdefault(str(row.get("mfgPN", "")).upper(), []).append(row["synnexSKU"])
            self._by_mpn = index
        rows = (self.table.get(sku) for sku in self._by_mpn.get(mpn.upper(), []))
        return [row for row in rows if row is not None]
