"""Desired PSA product fields from canonical catalog items (vectorised).

- name ← ``description`` (the short name), description ← ``long_description`` (or the short name when
  there is none), manufacturer: stripped and truncated to the PSA's
  :class:`~channelsync.canonical.limits.TextLimits` (the quality suite warned about them); mpn, vendor_sku
  (← distributor ``sku``): stripped, never truncated — they are lookup keys, and one over the PSA's limit
  refuses the plan (:class:`~channelsync.reconcile.guards.KeyTooLong`; the suite quarantines such rows);
- category ← ``options.category_map[category_code]`` (unmapped → missing; the suite quarantines those);
- unit_cost, msrp ← converted to the target currency and rounded to cents; unit_price ← markup rules;
- active ← status is "Active" (a missing status counts as Active: the flat file has no status column);
- vendor ← the distributor's company (``DISTRIBUTOR_VENDORS``: tdsynnex → "TD SYNNEX"): its vendor row is
  part of the product's desired state;
- quantity_on_hand ← ``quantity_available`` (negative → 0; missing stays missing: the PSA's is kept). Only
  compared and written when the planner manages stock (``CatalogOptions.fields``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from channelsync.canonical import DISTRIBUTOR_VENDORS
from channelsync.reconcile.arrow import clean, lookup
from channelsync.reconcile.fingerprint import WHITESPACE
from channelsync.reconcile.guards import KeyTooLong
from channelsync.reconcile.pricing import conversion_rates, convert, unit_prices

if TYPE_CHECKING:
    from channelsync.reconcile.catalog import CatalogOptions

REQUIRED_COLUMNS = (
    "source_key",
    "sku",
    "mpn",
    "manufacturer",
    "description",
    "long_description",
    "category_code",
    "cost",
    "msrp",
    "currency",
    "status",
    "distributor",
    "quantity_available",
)


def clean_text(values: pd.Series, limit: int | None = None) -> pd.Series:
    """Stripped, truncated to ``limit`` characters, empty → missing (Arrow kernels, no Python loop)."""
    # Strip again after the cut: it can end on a space, which the PSA would trim (→ a false "changed").
    return pd.Series(pd.array(clean(values, strip=WHITESPACE, limit=limit), dtype="string"), index=values.index)


def _key(values: pd.Series, field: str, limit: int, source_keys: pd.Series) -> pd.Series:
    """A lookup key as it is, or the plan refused when one would not fit the PSA field."""
    too_long = (values.str.len() > limit).fillna(False).to_numpy(dtype=bool)
    if too_long.any():
        raise KeyTooLong(field=field, limit=limit, source_keys=[str(k) for k in source_keys[too_long]])
    return values


def desired_products(catalog: pd.DataFrame, options: CatalogOptions) -> pd.DataFrame:
    """One row per catalog item: ``source_key``, ``category_code``, then every PSA_PRODUCT column but
    ``psa_id`` (``inventory_id``, a locator, is missing)."""
    missing = [column for column in REQUIRED_COLUMNS if column not in catalog.columns]
    if missing:
        raise ValueError(f"catalog items are missing column(s): {', '.join(missing)}")
    limits = options.limits
    rate = conversion_rates(catalog["currency"], options.target_currency, options.currency_rates)
    unit_cost = convert(catalog["cost"], rate, options.money_decimals)
    msrp = convert(catalog["msrp"], rate, options.money_decimals)
    category_codes = clean_text(catalog["category_code"])
    category = pd.array(lookup(category_codes, dict(options.category_map), pa.large_string()), dtype="string")
    status = clean_text(catalog["status"]).fillna("Active")
    name = clean_text(catalog["description"], limits.name)
    long_description = clean_text(catalog["long_description"]).fillna(clean_text(catalog["description"]))
    return pd.DataFrame(
        {
            "source_key": clean_text(catalog["source_key"]),
            "category_code": category_codes,
            "name": name,
            "description": clean_text(long_description, limits.description),
            "mpn": _key(clean_text(catalog["mpn"]), "mpn", limits.mpn, catalog["source_key"]),
            "vendor_sku": _key(clean_text(catalog["sku"]), "vendor_sku", limits.vendor_sku, catalog["source_key"]),
            "manufacturer": clean_text(catalog["manufacturer"], limits.manufacturer),
            "category": category,
            "unit_cost": unit_cost,
            "unit_price": unit_prices(unit_cost, msrp, category_codes, options.markup, options.money_decimals),
            "msrp": msrp,
            "active": pd.array(np.asarray(status.str.lower() == "active", dtype=bool), dtype="boolean"),
            "vendor": pd.array(lookup(pc.utf8_lower(clean(catalog["distributor"], strip=WHITESPACE)),
                                      DISTRIBUTOR_VENDORS, pa.large_string()), dtype="string"),
            "quantity_on_hand": pd.to_numeric(catalog["quantity_available"], errors="coerce").astype("Int64").clip(
                lower=0),
            "inventory_id": pd.array(pa.nulls(len(catalog), pa.large_string()), dtype="string"),  # a locator
        },
        index=catalog.index,
    )
