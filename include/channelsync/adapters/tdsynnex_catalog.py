"""TD SYNNEX daily flat file → the canonical CATALOG_ITEM table (catalog_sync's extract)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from channelsync.canonical import CATALOG_ITEM, conform

# Longest SKU kept whole in a source key (sync_items / xref keys are 250 characters). A longer one is
# quarantined by the suite anyway (too long for the PSA field); its key keeps a prefix and a digest.
KEY_SKU_MAX = 100


def source_key(sku: str, line: int | None) -> str:
    """``tdsynnex:<sku>``; a row without a usable SKU is keyed by its line number (``tdsynnex:line-<n>``),
    so its quarantine item has a key that is its own and stays the same while the file does."""
    sku = str(sku or "")
    if not sku.strip():
        return f"tdsynnex:line-{line}"
    if len(sku) > KEY_SKU_MAX:
        digest = hashlib.sha256(sku.encode("utf-8", errors="replace")).hexdigest()[:16]
        return f"tdsynnex:{sku[:40]}...{digest}"
    return f"tdsynnex:{sku}"


def catalog_frame(items: Iterable[dict[str, Any]], *, currency: str, price_flagged: set[str]) -> pd.DataFrame:
    """Rows of ``TdSynnexFlatFileClient.iter_items`` as canonical catalog items."""
    rows = [
        {
            "source_key": source_key(item["synnex_sku"], item.get("line")),
            "distributor": "tdsynnex",
            "sku": item["synnex_sku"],
            "mpn": item["mpn"],
            "manufacturer": item["manufacturer"],
            "description": item["description"],
            "long_description": item["long_description"],
            "category_code": item["category_code"],
            "cost": _float(item["price"]),
            "msrp": _float(item["msrp"]),
            "currency": currency,
            "quantity_available": item["quantity"],
            "weight": _float(item["weight"]),
            "upc": item["upc"],
            "status": item["status"],
            "kind": "hardware",
            "price_flagged": item["synnex_sku"] in price_flagged,
            "parse_error": item.get("parse_error"),
        }
        for item in items
    ]
    frame = pd.DataFrame(rows, columns=list(CATALOG_ITEM))
    return conform(frame, CATALOG_ITEM, name="TD SYNNEX catalog")


def extract_flat_file(client: Any, staging: Path, *, categories: Iterable[str], currency: str,
                      price_flagged: Iterable[str]) -> pd.DataFrame:
    """Download today's file into the run's staging folder and read the selected categories.

    Rows with NO category code are kept too: they are not "outside the selection" but broken, and the
    quality suite quarantines them with that reason instead of dropping them silently. So are rows the
    client could not parse (``parse_error``): their category cannot be known.
    """
    path = client.download(staging)
    selected = set(categories)
    # Compared as the suite reads it (stripped): a padded code of a selected category is not dropped.
    items = (item for item in client.iter_items(path)
             if item.get("parse_error") or str(item["category_code"] or "").strip() in selected
             or not str(item["category_code"] or "").strip())
    return catalog_frame(items, currency=currency, price_flagged=set(price_flagged))


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
