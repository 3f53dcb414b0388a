"""The P&A suite: canonical PNA_ROW rows (price_availability's extract) before reconcile.

- Critical (run stops): a required column missing or of the wrong type. An empty extract is NOT
  critical here: nothing linked yet (no catalog_sync so far) is a run with nothing to do; the extract
  itself refuses an answer with fewer rows than SKUs asked for.
- Blocking (row quarantined, not written): SKU present; SKU unique; status in the known set; for Active
  rows, cost present and ≥ 0 (Discontinued / Not found / Not authorized rows carry no price by design);
  every number (cost, quantities) finite and storable (:func:`~channelsync.quality.suite.numbers_storable`).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from channelsync.canonical import PNA_STATUSES as STATUSES
from channelsync.quality.catalog import NUMBER_TYPES, TEXT_TYPES
from channelsync.quality.suite import (
    COUNT_MAX,
    HELPER_PREFIX,
    MONEY_MAX,
    Severity,
    Suite,
    columns_typed,
    numbers_storable,
    rule,
)

NUMERIC_BOUNDS = {"cost": MONEY_MAX, "quantity_available": COUNT_MAX, "on_order": COUNT_MAX}
REQUIRED_TYPES = {
    "source_key": TEXT_TYPES,
    "sku": TEXT_TYPES,
    "status": TEXT_TYPES,
    "cost": NUMBER_TYPES,
}
ACTIVE_COST = f"{HELPER_PREFIX}active_cost"  # cost of Active rows, missing for the others (GX skips nulls)
ACTIVE_COST_PRESENT = f"{HELPER_PREFIX}active_cost_present"  # cost of Active rows, 0 for the others


def _prepare(frame: pd.DataFrame) -> pd.DataFrame:
    data = frame.copy()
    for column in ("source_key", "sku", "status"):
        text = data[column].astype("string").str.strip()
        data[column] = text.mask(text == "")
    active = (data["status"] == "Active").to_numpy(dtype=bool, na_value=False)
    cost = pd.to_numeric(data["cost"]).to_numpy(dtype="float64", na_value=np.nan)
    data[ACTIVE_COST] = np.where(active, cost, np.nan)
    data[ACTIVE_COST_PRESENT] = np.where(active, cost, 0.0)
    return data


def pna_suite(accepted_currencies: Iterable[str] = ("USD",)) -> Suite:
    """``accepted_currencies``: the currencies the integration accepts and can convert (its
    ``currency.accepted``); P&A in any other is quarantined, never priced at a wrong rate."""
    critical, blocking = Severity.CRITICAL, Severity.BLOCKING
    expectations = [
        *columns_typed(REQUIRED_TYPES, severity=critical),
        rule("SKU present", blocking, "ExpectColumnValuesToNotBeNull", "SKU missing", column="sku"),
        rule("SKU unique", blocking, "ExpectColumnValuesToBeUnique", "duplicate SKU", column="sku"),
        rule("status known", blocking, "ExpectColumnValuesToBeInSet", "unknown P&A status", column="status",
             value_set=list(STATUSES)),
        rule("status present", blocking, "ExpectColumnValuesToNotBeNull", "P&A status missing", column="status"),
        rule("cost present when active", blocking, "ExpectColumnValuesToNotBeNull", "Active item without a cost",
             column=ACTIVE_COST_PRESENT),
        rule("cost not negative", blocking, "ExpectColumnValuesToBeBetween", "negative cost", column=ACTIVE_COST,
             min_value=0),
        rule("currency accepted", blocking, "ExpectColumnValuesToBeInSet",
             "currency not accepted by this integration (currency.accepted)", column="currency",
             value_set=sorted({c.strip().upper() for c in accepted_currencies})),
        *numbers_storable(NUMERIC_BOUNDS),
    ]
    return Suite(name="price_availability", expectations=tuple(expectations), prepare=_prepare,
                 key_column="source_key")
