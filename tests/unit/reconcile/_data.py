"""Small canonical frames for the reconcile tests."""

from __future__ import annotations

from typing import Any

import pandas as pd

from channelsync.canonical import CATALOG_ITEM, PSA_PRODUCT, XREF, conform, empty
from channelsync.reconcile.catalog import CatalogOptions
from channelsync.reconcile.desired import desired_products
from channelsync.reconcile.fingerprint import fingerprint_frame
from channelsync.reconcile.pricing import MarkupRule, MarkupRules

OPTIONS = CatalogOptions(
    key_prefix="acme-at",
    category_map={"NB": "Notebooks", "MON": "Monitors"},
    currency_rates={"EUR": 1.1},
    markup=MarkupRules(default=MarkupRule(percent=20.0)),
    max_deactivate_share=0.5,
)


def item(number: int, **values: Any) -> dict[str, Any]:
    row = {
        "source_key": f"tdsynnex:{number}",
        "distributor": "tdsynnex",
        "sku": str(number),
        "mpn": f"MPN-{number}",
        "manufacturer": "HP Inc.",
        "description": f"Notebook {number}",
        "long_description": f"A notebook, model {number}",
        "category_code": "NB",
        "cost": 100.0,
        "msrp": 150.0,
        "currency": "USD",
        "quantity_available": 5,
        "weight": 1.5,
        "upc": None,
        "status": "Active",
        "kind": "hardware",
        "price_flagged": False,
        "parse_error": None,
    }
    row.update(values)
    return row


def catalog(*rows: dict[str, Any]) -> pd.DataFrame:
    return conform(pd.DataFrame(list(rows)), CATALOG_ITEM, name="catalog") if rows else empty(CATALOG_ITEM)


def synced(
    items: pd.DataFrame, options: CatalogOptions = OPTIONS, first_id: int = 100
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """PSA products and xref exactly as a previous sync of ``items`` left them."""
    written = desired_products(items, options)
    psa = written.drop(columns=["source_key", "category_code"]).assign(
        psa_id=[str(first_id + n) for n in range(len(written))]
    )
    psa = conform(psa, PSA_PRODUCT, name="psa")
    xref = pd.DataFrame(
        {
            "source_key": written["source_key"],
            "psa_id": psa["psa_id"],
            "fingerprint": fingerprint_frame(psa, options.fingerprint_fields),
        }
    )
    return psa, conform(xref, XREF, name="xref")


def psa_product(psa_id: str, **values: Any) -> dict[str, Any]:
    row = {
        "psa_id": psa_id,
        "name": "Hand made",
        "description": "made by a person",
        "mpn": None,
        "vendor_sku": None,
        "manufacturer": "HP Inc.",
        "category": "Notebooks",
        "unit_cost": 1.0,
        "unit_price": 2.0,
        "msrp": None,
        "active": True,
        "vendor": None,
        "quantity_on_hand": None,
        "inventory_id": None,
    }
    row.update(values)
    return row


def psa_frame(*rows: dict[str, Any]) -> pd.DataFrame:
    return conform(pd.DataFrame(list(rows)), PSA_PRODUCT, name="psa") if rows else empty(PSA_PRODUCT)


def no_xref() -> pd.DataFrame:
    return empty(XREF)
