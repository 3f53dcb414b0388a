"""price_availability's plan (pure pandas, no I/O): live P&A rows vs the PSA products they are linked to.

Input tables:
- ``pna``: the canonical :data:`PNA_ROW` table (one row per requested TD SYNNEX SKU, validated);
- ``psa``: PSA_PRODUCT (the PSA as it is now); ``xref``: XREF of this integration (catalog_sync's links).

Rules, per P&A row:
1. **Not Active at TD SYNNEX** (Discontinued / Not authorized / Not found) → ``flagged`` with a stable
   error code. Never deleted or deactivated here: catalog_sync owns the product's life cycle.
2. **Not linked** (no xref, or the linked PSA product no longer exists) → ``flagged`` ``PNA_NOT_LINKED``:
   price_availability never creates products (catalog_sync does).
3. **Linked to an inactive PSA product** → ``skipped`` (nothing to refresh, nothing to alert).
4. Otherwise desired ``unit_cost`` = cost × rate (rounded like catalog_sync) and, when ``update_price``,
   ``unit_price`` by the same markup arithmetic as catalog_sync (:func:`~channelsync.reconcile.pricing.unit_prices`)
   keyed by the PSA category. An MSRP-based rule needs an MSRP, which P&A does not carry: the PSA's stored
   MSRP is used (Autotask), and where there is none (ConnectWise stores no MSRP) the price is left alone —
   catalog_sync keeps it right from the daily file. Equal after normalisation → ``unchanged``; else ``update``
   of the changed fields only.
5. **Conflict rule of catalog_sync**: a product whose current PSA values no longer match the fingerprint
   catalog_sync stored was edited by a person → ``conflict`` (reported, not written) unless the
   distributor wins. Writing it would also hide the edit from catalog_sync.
6. **Fingerprint consistency**: an update's ``fingerprint`` is of the PSA's full managed field set as it
   will be after the write (current values with the changed fields replaced) — exactly what catalog_sync
   would have stored had it written the same values — and the loader stores it in the xref, so the next
   catalog_sync sees no false conflict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from channelsync.canonical import fingerprint_fields
from channelsync.canonical.limits import AUTOTASK_FIELDS
from channelsync.clients.tdsynnex.codes import TDS_PNA_NOT_FOUND
from channelsync.errors import define
from channelsync.reconcile.fingerprint import FIELD_KINDS, edited_since_written, fingerprint_frame, normalise_value
from channelsync.reconcile.pricing import MarkupRule, MarkupRules, conversion_rates, convert, unit_prices

PRICE_FIELDS = ("unit_cost", "unit_price")

PNA_DISCONTINUED = define("PNA_DISCONTINUED", "tdsynnex",
                          "P&A: TD SYNNEX reports the product discontinued; flagged, not deactivated")
PNA_NOT_AUTHORIZED = define("PNA_NOT_AUTHORIZED", "tdsynnex",
                            "P&A: the reseller account is not authorized to buy the product; flagged")
PNA_NOT_LINKED = define("PNA_NOT_LINKED", "channelsync",
                        "P&A: the SKU is not linked to an existing PSA product (catalog_sync links products)")
PNA_CONFLICT = define("PNA_CONFLICT", "channelsync",
                      "The product was changed in the PSA since channelsync last wrote it; cost/price not refreshed")
FLAG_CODES = {"Discontinued": PNA_DISCONTINUED, "Not authorized": PNA_NOT_AUTHORIZED, "Not found": TDS_PNA_NOT_FOUND}

# Columns of the staged plan (one row per P&A row).
PLAN_COLUMNS: dict[str, str] = {
    "op": "string",  # update | unchanged | conflict | flagged | skipped
    "source_key": "string",
    "sku": "string",
    "psa_id": "string",
    "status": "string",
    "error_code": "string",
    "reason": "string",
    "idempotency_key": "string",
    "fingerprint": "string",
    "before_unit_cost": "float64",
    "before_unit_price": "float64",
    "desired_unit_cost": "float64",
    "desired_unit_price": "float64",
    "quantity_available": "Int64",
    "on_order": "Int64",
    "eta": "string",
}


@dataclass(frozen=True)
class PnaOptions:
    key_prefix: str = "product"  # leads every idempotency key (the ledger adds the target tenant)
    fields: tuple[str, ...] = AUTOTASK_FIELDS  # the PSA's managed fields: what catalog_sync fingerprints
    source_currency: str = "USD"  # the account's P&A currency (P&A carries none)
    target_currency: str = "USD"
    currency_rates: Mapping[str, float] = field(default_factory=dict)
    update_price: bool = True
    default_rule: MarkupRule = field(default_factory=lambda: MarkupRule(percent=0.0))
    # PSA category name → rule; None: several distributor categories with different rules map to it,
    # so the price cannot be known here (left alone; catalog_sync prices it).
    rules_by_category: Mapping[str, MarkupRule | None] = field(default_factory=dict)
    distributor_wins: bool = False
    money_decimals: int = 2


@dataclass
class PnaPlan:
    frame: pd.DataFrame  # PLAN_COLUMNS + changed_fields (list of field names)

    @property
    def counts(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self.frame["op"].value_counts().items()}

    def updates(self) -> pd.DataFrame:
        return self.frame[self.frame["op"] == "update"]

    def flagged(self) -> pd.DataFrame:
        return self.frame[self.frame["op"] == "flagged"]

    def conflicts(self) -> pd.DataFrame:
        return self.frame[self.frame["op"] == "conflict"]

    def diff_rows(self) -> pd.DataFrame:
        """source_key, op, field, before, after: one row per changed field (updates and conflicts) and
        one per flagged item (its TD SYNNEX status)."""
        rows: list[dict[str, Any]] = []
        for row in self.frame[self.frame["op"].isin(["update", "conflict"])].itertuples():
            for name in row.changed_fields:
                rows.append({"source_key": row.source_key, "op": row.op, "field": name,
                             "before": getattr(row, f"before_{name}"), "after": getattr(row, f"desired_{name}")})
        for row in self.flagged().itertuples():
            rows.append({"source_key": row.source_key, "op": "flagged", "field": "status", "before": None,
                         "after": row.status})
        return pd.DataFrame(rows, columns=["source_key", "op", "field", "before", "after"])


def _rule_table(options: PnaOptions, categories: pd.Series) -> tuple[MarkupRules, np.ndarray]:
    """Markup rules keyed by PSA category, and a mask of rows whose price cannot be known."""
    known = {name: rule for name, rule in options.rules_by_category.items() if rule is not None}
    ambiguous = [name for name, rule in options.rules_by_category.items() if rule is None]
    unknown = categories.isin(ambiguous).to_numpy(dtype=bool, na_value=False) if ambiguous else \
        np.zeros(len(categories), dtype=bool)
    return MarkupRules(default=options.default_rule, by_category=known), unknown


def _desired_prices(rows: pd.DataFrame, unit_cost: np.ndarray, options: PnaOptions) -> np.ndarray:
    current = pd.to_numeric(rows["unit_price"]).to_numpy(dtype="float64", na_value=np.nan)
    if not options.update_price or not len(rows):
        return current
    categories = rows["category"].astype("string")
    rules, unknown = _rule_table(options, categories)
    msrp = pd.to_numeric(rows["msrp"]).to_numpy(dtype="float64", na_value=np.nan)
    price = unit_prices(unit_cost, msrp, categories, rules, options.money_decimals)
    on_msrp = categories.map(lambda c: rules.by_category.get(str(c), rules.default).basis == "msrp"
                             if c is not pd.NA else rules.default.basis == "msrp").to_numpy(dtype=bool)
    keep = unknown | (on_msrp & ~np.isfinite(msrp)) | ~np.isfinite(price)
    return np.where(keep, current, price)


def _differs(before: np.ndarray, after: np.ndarray, name: str) -> np.ndarray:
    kind = FIELD_KINDS[name]
    return np.array([normalise_value(b, kind) != normalise_value(a, kind) for b, a in zip(before, after, strict=True)],
                    dtype=bool)


def build_pna_plan(pna: pd.DataFrame, psa: pd.DataFrame, xref: pd.DataFrame, options: PnaOptions) -> PnaPlan:
    """Plan the cost/price refresh (see the module docstring for the rules)."""
    pna = pna.reset_index(drop=True)
    if pna["source_key"].duplicated().any():
        raise ValueError("P&A rows have duplicate source keys")
    links = xref.drop_duplicates("source_key").set_index("source_key")
    products = psa.drop_duplicates("psa_id").set_index("psa_id")
    psa_id = pna["source_key"].map(links["psa_id"]).astype("string")
    stored_fp = pna["source_key"].map(links["fingerprint"]).astype("string")
    exists = psa_id.isin(products.index).to_numpy(dtype=bool, na_value=False)
    status = pna["status"].astype("string").fillna("Not found")
    active_at_source = (status == "Active").to_numpy(dtype=bool, na_value=False)

    frame = pd.DataFrame({column: pd.Series([None] * len(pna), dtype=dtype) for column, dtype in PLAN_COLUMNS.items()})
    for column in ("source_key", "sku", "status", "quantity_available", "on_order", "eta"):
        frame[column] = pna[column].astype(PLAN_COLUMNS[column]).to_numpy() if column != "status" else status.to_numpy()
    frame["psa_id"] = psa_id.to_numpy()
    frame["changed_fields"] = [[] for _ in range(len(pna))]

    # The PSA rows each P&A row is linked to (missing where not linked / gone).
    lookup_ids = pd.Index(np.where(exists, psa_id.to_numpy(dtype=object, na_value=None), None))
    current = products.reindex(lookup_ids).reset_index(drop=True)
    psa_active = current["active"].astype("boolean").fillna(True).to_numpy(dtype=bool)

    flagged_status = ~active_at_source & (~exists | psa_active)
    frame.loc[flagged_status, "op"] = "flagged"
    frame.loc[flagged_status, "error_code"] = status[flagged_status].map(lambda s: FLAG_CODES.get(s, TDS_PNA_NOT_FOUND))
    frame.loc[flagged_status, "reason"] = [
        f"TD SYNNEX reports {s!r}; flagged for review (not deactivated)" for s in status[flagged_status]
    ]
    not_linked = active_at_source & ~exists
    frame.loc[not_linked, "op"] = "flagged"
    frame.loc[not_linked, "error_code"] = PNA_NOT_LINKED
    frame.loc[not_linked, "reason"] = [
        f"linked PSA product {pid} no longer exists" if pid is not pd.NA else "not linked to a PSA product"
        for pid in psa_id[not_linked]
    ]
    frame.loc[exists & ~psa_active, "op"] = "skipped"
    frame.loc[exists & ~psa_active, "reason"] = "the PSA product is inactive"

    live = np.flatnonzero(active_at_source & exists & psa_active)
    rows = current.iloc[live].reset_index(drop=True)
    rate = conversion_rates(pd.Series([options.source_currency] * len(live), dtype="string")
                            if len(live) else pd.Series([], dtype="string"), options.target_currency,
                            options.currency_rates)
    unit_cost = convert(pna["cost"].iloc[live].reset_index(drop=True), rate, options.money_decimals)
    unit_price = _desired_prices(rows, unit_cost, options)
    before_cost = pd.to_numeric(rows["unit_cost"]).to_numpy(dtype="float64", na_value=np.nan)
    before_price = pd.to_numeric(rows["unit_price"]).to_numpy(dtype="float64", na_value=np.nan)
    cost_changed = _differs(before_cost, unit_cost, "unit_cost")
    price_changed = _differs(before_price, unit_price, "unit_price")
    frame.loc[live, "before_unit_cost"] = before_cost
    frame.loc[live, "before_unit_price"] = before_price
    frame.loc[live, "desired_unit_cost"] = unit_cost
    frame.loc[live, "desired_unit_price"] = unit_price
    changed = [[name for name, bit in zip(PRICE_FIELDS, bits, strict=True) if bit]
               for bits in zip(cost_changed, price_changed, strict=True)]
    for position, names in zip(live, changed, strict=True):
        frame.at[position, "changed_fields"] = names

    any_change = cost_changed | price_changed
    fields = list(fingerprint_fields(tuple(options.fields)))
    psa_fp = fingerprint_frame(rows[fields], fields).to_numpy(dtype=object) if len(rows) else np.array([], object)
    stored = stored_fp.iloc[live].to_numpy(dtype=object, na_value=None)
    edited = edited_since_written(stored, psa_fp, rows, tuple(fields))
    after = rows[fields].copy()
    after["unit_cost"] = np.where(cost_changed, unit_cost, before_cost)
    after["unit_price"] = np.where(price_changed, unit_price, before_price)
    new_fp = fingerprint_frame(after, fields).to_numpy(dtype=object) if len(rows) else np.array([], object)

    ops = np.where(~any_change, "unchanged", np.where(edited & (not options.distributor_wins), "conflict", "update"))
    frame.loc[live, "op"] = ops
    writes = live[ops == "update"]
    frame.loc[writes, "fingerprint"] = new_fp[ops == "update"]
    frame.loc[writes, "idempotency_key"] = [
        f"{options.key_prefix}:pna:update:{key}:{pid}:{fp[:32]}"
        for key, pid, fp in zip(frame.loc[writes, "source_key"], frame.loc[writes, "psa_id"],
                                new_fp[ops == "update"], strict=True)
    ]
    conflicts = live[ops == "conflict"]
    frame.loc[conflicts, "error_code"] = PNA_CONFLICT
    frame.loc[conflicts, "reason"] = "changed in the PSA since the last sync; not overwritten"
    overridden = live[(ops == "update") & edited]
    frame.loc[overridden, "reason"] = "changed in the PSA since the last sync; overwritten (distributor wins)"
    return PnaPlan(frame=frame)
