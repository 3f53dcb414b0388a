"""The catalog planner: desired products vs PSA products vs the cross-reference → a :class:`CatalogPlan`.

Pure and vectorised (pandas / numpy / Arrow kernels; the one per-row Python step is SHA-256 in
:mod:`.fingerprint`). Same function for preview and sync.

Rules, in order:
1. **Match.** A catalog item is linked through the cross-reference (source_key → psa_id). Items with no
   usable link are matched to PSA products linked to nothing, by vendor SKU then manufacturer part
   number (:mod:`.matching`); ambiguous keys give ``duplicate`` rows that nothing is written for.
   A link whose PSA product has vanished is dropped and the item is matched/created again (reason says
   so) — unless that is true of more than ``max_deactivate_share`` of all links
   (:class:`CrossReferenceMismatch`: a bad PSA read must not re-create the catalog).
2. **Active items.** No PSA product → ``create``. Otherwise the managed fields are compared in normalised
   form; equal → ``unchanged``; different → ``update`` with only the changed fields — except when the
   product is linked and the fingerprint of its current PSA values differs from the one stored in the
   cross-reference: a person edited it since the last sync → ``conflict`` (reported, nothing written),
   unless ``distributor_wins``. Products matched by SKU/MPN (made by hand) are updated and linked
   (``link``), never duplicated.
3. **Discontinued / not-Active items and items gone from the catalog** (not in ``desired`` and not
   ``held``): a linked, active PSA product → ``deactivate`` (``active`` False, never deleted; the same
   conflict rule applies). Unlinked discontinued items are not created; already inactive products are
   left out of the plan.
4. **Guards.** :class:`MassDeactivationRefused` when deactivations exceed ``max_deactivate_share`` of the
   linked products; :class:`ProductLimitExceeded` when existing + created would pass ``max_products``.

The product's default vendor (``vendor``: "TD SYNNEX") is a managed field like the others: a missing or
wrong vendor row is an ``update`` of that field. Stock (``quantity_on_hand``) is managed only when
``fields`` include it (catalog_sync ``sync_inventory``); it is compared and written but not fingerprinted
(:data:`~channelsync.canonical.STOCK_FIELDS`), and a missing distributor quantity leaves the PSA's alone.
A fingerprint stored before a field joined the managed set (:data:`~channelsync.canonical.limits.ADDED_FIELDS`)
still counts as "not edited" when it matches the PSA's values over the older field set.

Idempotency keys (deterministic, readable in the ledger, no second hash per row):
- update / deactivate: ``"{key_prefix}:{op}:{source_key}:{psa_id}:{fingerprint[:32]}"``, plus
  ``":q{quantity}"`` when stock is managed (the fingerprint does not cover it);
- create: ``"{key_prefix}:create:{source_key}:new"`` (``…:replaces-{old psa_id}`` when re-creating a
  product that vanished). No fingerprint on purpose: if prices move between a crashed run and its
  rerun, the create must still be recognised as the same operation, or it would be sent twice.

Fingerprints are computed here for every row except creates: hashing ~1 µs/row would be a third of
the 3 s budget for a 1M-row first sync, and a create's fingerprint is only needed once it has been
applied. :meth:`CatalogPlan.operations` / :meth:`CatalogPlan.fingerprints` fill them from the desired
columns (same function, same result).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from channelsync.canonical import STOCK_FIELDS, fingerprint_fields
from channelsync.canonical.limits import (
    AUTOTASK_FIELDS,
    AUTOTASK_LIMITS,
    FIELDS_BY_PSA,
    LIMITS_BY_PSA,
    MAX_PRODUCTS_BY_PSA,
    STOCK_WRITABLE,
    TextLimits,
)
from channelsync.reconcile.arrow import duplicated_values, index_in, is_in, strings
from channelsync.reconcile.assemble import MATCHES, OP, assemble
from channelsync.reconcile.desired import desired_products
from channelsync.reconcile.fingerprint import edited_since_written, fingerprint_normalised, normalise_frame
from channelsync.reconcile.guards import CrossReferenceMismatch, MassDeactivationRefused, ProductLimitExceeded
from channelsync.reconcile.matching import match_unlinked
from channelsync.reconcile.plan import CatalogPlan
from channelsync.reconcile.pricing import MarkupRules


@dataclass(frozen=True)
class CatalogOptions:
    # Leads every idempotency key. Not the integration: the ledger scopes keys by the target tenant, so
    # two integrations on one PSA compute the same key for the same write.
    key_prefix: str = "product"
    category_map: Mapping[str, str] = field(default_factory=dict)  # distributor category_code → PSA category
    target_currency: str = "USD"
    currency_rates: Mapping[str, float] = field(default_factory=dict)  # currency → target units per unit
    markup: MarkupRules = field(default_factory=MarkupRules)
    limits: TextLimits = AUTOTASK_LIMITS
    fields: tuple[str, ...] = AUTOTASK_FIELDS  # managed fields (compared, written, fingerprinted)
    distributor_wins: bool = False
    max_deactivate_share: float = 0.2  # of linked products; also bounds vanished links
    max_products: int | None = None  # the PSA's catalog limit (ConnectWise: 20,000)
    money_decimals: int = 2

    @classmethod
    def for_psa(cls, psa: str, *, manage_stock: bool = False, **options: Any) -> CatalogOptions:
        """Options with the PSA's text limits, managed fields and product limit ("autotask" | "connectwise").

        ``manage_stock``: also manage ``quantity_on_hand`` (refused for a PSA whose stock cannot be written).
        """
        if manage_stock and not STOCK_WRITABLE[psa]:
            raise ValueError(f"{psa} has no writable on-hand quantity: stock cannot be synced to it")
        defaults = {
            "limits": LIMITS_BY_PSA[psa],
            "fields": FIELDS_BY_PSA[psa] + (STOCK_FIELDS if manage_stock else ()),
            "max_products": MAX_PRODUCTS_BY_PSA[psa],
        }
        return cls(**{**defaults, **options})

    @property
    def fingerprint_fields(self) -> tuple[str, ...]:
        return fingerprint_fields(self.fields)

    def with_overrides(self, **changes: Any) -> CatalogOptions:
        return replace(self, **changes)


def _require_unique(values: Any, what: str) -> None:
    repeated = duplicated_values(values)
    if repeated:
        raise ValueError(f"{what} has duplicate keys (e.g. {', '.join(repeated)})")
    if strings(values).null_count:
        raise ValueError(f"{what} has missing keys")


def _changed_bits(desired: dict[str, pa.Array], current: dict[str, pa.Array], fields: tuple[str, ...]) -> np.ndarray:
    bits = np.zeros(len(desired[fields[0]]), dtype=np.int64)
    for position, name in enumerate(fields):
        differs = pc.not_equal(desired[name], current[name]).to_numpy(zero_copy_only=False)
        bits |= differs.astype(np.int64) << position
    return bits


def _deactivated(products: pd.DataFrame) -> pd.DataFrame:
    """PSA products as they will be after a deactivation (the desired state of a deactivate op)."""
    return products.reset_index(drop=True).assign(active=pd.array([False] * len(products), dtype="boolean"))


def _fingerprints(frame: pd.DataFrame, fields: tuple[str, ...]) -> np.ndarray:
    return np.array(fingerprint_normalised(normalise_frame(frame, fields), fields), dtype=object)


def _stock_keys(quantity: pd.Series) -> np.ndarray:
    """``":q<n>"`` per row (``":q"`` when missing): the part of an update's key its fingerprint lacks."""
    values = pd.array(quantity, dtype="Int64")
    text = pd.Series(values).astype("string").fillna("")
    return (":q" + text).to_numpy(dtype=object)


def _top_categories(created: pd.DataFrame, top: int = 5) -> list[tuple[str, int]]:
    labels = created["category_code"].fillna("(none)").astype("string")
    mapped = created["category"].astype("string")
    labels = labels.where(mapped.isna(), labels + " → " + mapped.fillna(""))
    counted = labels.value_counts().head(top)
    return [(str(label), int(number)) for label, number in counted.items()]


def build_catalog_plan(
    desired: pd.DataFrame,
    psa: pd.DataFrame,
    xref: pd.DataFrame,
    options: CatalogOptions,
    *,
    held: Iterable[str] | None = None,
) -> CatalogPlan:
    """Plan the PSA writes that make ``psa`` match ``desired`` (see the module docstring for the rules).

    ``desired``: canonical CATALOG_ITEM rows (validated); ``psa``: PSA_PRODUCT; ``xref``: XREF of this
    integration. ``held``: source keys to leave alone this run (e.g. quarantined by the quality suite):
    their products are not deactivated although the items are missing from ``desired``.
    """
    fields = options.fields
    fp_fields = options.fingerprint_fields
    held_keys = list(held or [])
    catalog = desired.reset_index(drop=True)
    if held_keys:
        catalog = catalog[~is_in(catalog["source_key"], held_keys)].reset_index(drop=True)
    products = desired_products(catalog, options)
    psa = psa.reset_index(drop=True)
    xref = xref.reset_index(drop=True)
    _require_unique(products["source_key"], "desired catalog items")
    _require_unique(psa["psa_id"], "PSA products")
    _require_unique(xref["source_key"], "cross-reference")
    count = len(products)
    xref_fps = xref["fingerprint"].astype("string").to_numpy(dtype=object, na_value=None)
    psa_active = psa["active"].to_numpy(dtype=bool, na_value=True)

    # --- cross-reference ---------------------------------------------------------------------------
    xref_psa_pos = index_in(xref["psa_id"], psa["psa_id"])
    xref_exists = xref_psa_pos >= 0
    linked_total = int(xref_exists.sum())
    missing_links = len(xref) - linked_total
    if missing_links and missing_links > options.max_deactivate_share * len(xref):
        raise CrossReferenceMismatch(missing=missing_links, linked=len(xref), max_share=options.max_deactivate_share)
    # Probe the big catalog into the small xref (cheaper than hashing 1M keys as the lookup set).
    row_xref = index_in(products["source_key"], xref["source_key"])
    rows_with_xref = np.flatnonzero(row_xref >= 0)
    xref_row = np.full(len(xref), -1, dtype=np.int64)  # desired row of each link, -1: gone from the catalog
    xref_row[row_xref[rows_with_xref]] = rows_with_xref
    psa_pos = np.full(count, -1, dtype=np.int64)
    match = np.full(count, -1, dtype=np.int8)
    reason = np.full(count, None, dtype=object)
    stored_fp = np.full(count, None, dtype=object)
    replaces = np.full(count, None, dtype=object)
    live = (xref_row >= 0) & xref_exists
    psa_pos[xref_row[live]] = xref_psa_pos[live]
    match[xref_row[live]] = MATCHES.index("xref")
    stored_fp[xref_row[live]] = xref_fps[live]
    vanished = np.flatnonzero((xref_row >= 0) & ~xref_exists)
    vanished_ids = xref["psa_id"].astype("string").to_numpy(dtype=object)[vanished]
    replaces[xref_row[vanished]] = vanished_ids
    reason[xref_row[vanished]] = [f"linked PSA product {pid} no longer exists" for pid in vanished_ids]

    # --- matching products made by hand --------------------------------------------------------------
    source_active = products["active"].to_numpy(dtype=bool, na_value=True)
    candidates = psa.loc[~is_in(psa["psa_id"], xref["psa_id"]), ["psa_id", "vendor_sku", "mpn"]]
    found = match_unlinked(products, np.flatnonzero((psa_pos < 0) & source_active), candidates)
    is_dup = found.match == "duplicate"
    duplicate = np.zeros(count, dtype=bool)
    duplicate[found.rows[is_dup]] = True
    reason[found.rows[is_dup]] = found.reason[is_dup]
    linked_rows = found.rows[~is_dup]
    psa_pos[linked_rows] = index_in(list(found.psa_id[~is_dup]), psa["psa_id"])
    match[linked_rows] = [MATCHES.index(kind) for kind in found.match[~is_dup]]

    # --- compare the matched rows --------------------------------------------------------------------
    matched = np.flatnonzero(psa_pos >= 0)
    matched_products = products.iloc[matched]
    matched_psa = psa.iloc[psa_pos[matched]]
    desired_norm = normalise_frame(matched_products, fields)
    psa_norm = normalise_frame(matched_psa, fields)
    bits = np.zeros(count, dtype=np.int64)
    bits[matched] = _changed_bits(desired_norm, psa_norm, fields)
    for name in STOCK_FIELDS:
        if name in fields:  # no quantity from the distributor: the PSA's is left alone
            unknown = matched_products[name].isna().to_numpy(dtype=bool)
            bits[matched[unknown]] &= ~np.int64(1 << fields.index(name))
    psa_fp = np.array(fingerprint_normalised(psa_norm, fp_fields), dtype=object)
    desired_fp = np.full(count, None, dtype=object)
    desired_fp[matched] = fingerprint_normalised(desired_norm, fp_fields)
    edited = np.zeros(count, dtype=bool)
    edited[matched] = edited_since_written(stored_fp[matched], psa_fp, matched_psa, fp_fields)
    blocked = edited & (not options.distributor_wins)
    active_bit = 1 << fields.index("active") if "active" in fields else 0
    has_psa = psa_pos >= 0
    psa_is_active = np.zeros(count, dtype=bool)
    psa_is_active[matched] = psa_active[psa_pos[matched]]
    closing = has_psa & ~source_active  # discontinued items that are still linked

    op = np.full(count, -1, dtype=np.int8)
    creating = ~has_psa & source_active
    op[creating] = OP["create"]
    bits[creating] = (1 << len(fields)) - 1
    open_match = has_psa & source_active
    op[open_match & (bits == 0)] = OP["unchanged"]
    op[open_match & (bits != 0)] = OP["update"]
    op[open_match & (bits != 0) & blocked] = OP["conflict"]
    op[closing & psa_is_active] = OP["deactivate"]
    op[closing & psa_is_active & blocked] = OP["conflict"]
    op[closing & ~psa_is_active] = OP["unchanged"]
    bits[closing] = np.where(psa_is_active[closing], active_bit, 0)
    op[duplicate] = OP["duplicate"]
    bits[duplicate] = 0
    overridden = ((op == OP["update"]) | (op == OP["deactivate"])) & edited
    reason[overridden] = "changed in the PSA since the last sync; overwritten (distributor wins)"
    reason[op == OP["conflict"]] = "changed in the PSA since the last sync; not overwritten"

    # Discontinued items: only ``active`` is written; the rest of the desired state is the PSA's own.
    closing_rows = np.flatnonzero(closing)
    closing_after = _deactivated(psa.iloc[psa_pos[closing_rows]])
    if len(closing_rows):
        desired_fp[closing_rows] = _fingerprints(closing_after, fp_fields)

    # --- products gone from the catalog ----------------------------------------------------------------
    held_mask = is_in(xref["source_key"], held_keys) if held_keys else np.zeros(len(xref), dtype=bool)
    gone = np.flatnonzero((xref_row < 0) & xref_exists & ~held_mask)
    gone = gone[psa_active[xref_psa_pos[gone]]]  # already inactive: nothing to do
    gone_pos = xref_psa_pos[gone]
    gone_after = _deactivated(psa.iloc[gone_pos])
    gone_fp = _fingerprints(gone_after, fp_fields)
    current_gone_fp = _fingerprints(psa.iloc[gone_pos], fp_fields)
    gone_edited = edited_since_written(xref_fps[gone], current_gone_fp, psa.iloc[gone_pos], fp_fields)
    gone_op = np.where(gone_edited & (not options.distributor_wins), OP["conflict"], OP["deactivate"])

    # --- guards --------------------------------------------------------------------------------------------
    deactivations = int((op == OP["deactivate"]).sum() + (gone_op == OP["deactivate"]).sum())
    if linked_total and deactivations > options.max_deactivate_share * linked_total:
        raise MassDeactivationRefused(
            deactivate=deactivations, linked=linked_total, max_share=options.max_deactivate_share
        )
    creates = int(creating.sum() - (creating & duplicate).sum())
    if options.max_products is not None and len(psa) + creates > options.max_products:
        raise ProductLimitExceeded(
            limit=options.max_products,
            existing=len(psa),
            creating=creates,
            by_category=_top_categories(products[op == OP["create"]]),
        )

    # --- assemble ----------------------------------------------------------------------------------------
    # Rows are laid out as [kept catalog rows in order | discontinued rows | gone rows], each block
    # taking its desired values from its own frame: the big block reuses the catalog's buffers as they
    # are (no 1M-row take, patch or concat).
    normal_mask = (op >= 0) & ~closing  # unlinked discontinued items and closing rows leave this block
    order = np.concatenate([np.flatnonzero(normal_mask), closing_rows])
    key_suffix = None
    if any(name in fields for name in STOCK_FIELDS):  # in row order: the blocks' desired quantities
        key_suffix = _stock_keys(pd.concat([
            products["quantity_on_hand"].iloc[np.flatnonzero(normal_mask)], closing_after["quantity_on_hand"],
            gone_after["quantity_on_hand"]], ignore_index=True))
    gone_reason = np.where(
        gone_op == OP["conflict"],
        "gone from the catalog, but changed in the PSA since the last sync; not deactivated",
        "gone from the catalog (or the category selection)",
    ).astype(object)
    frame = assemble(
        op=np.concatenate([op[order], gone_op.astype(np.int8)]),
        source_key=pa.concat_arrays(
            [strings(products["source_key"]).take(pa.array(order)), strings(xref["source_key"]).take(pa.array(gone))]
        ),
        psa=psa,
        psa_pos=np.concatenate([psa_pos[order], gone_pos]),
        match=np.concatenate([match[order], np.full(len(gone), MATCHES.index("xref"), dtype=np.int8)]),
        reason=np.concatenate([reason[order], gone_reason]),
        bits=np.concatenate([bits[order], np.full(len(gone), active_bit, dtype=np.int64)]),
        fingerprint=np.concatenate([desired_fp[order], gone_fp]),
        stored_fp=np.concatenate([stored_fp[order], xref_fps[gone]]),
        replaces=np.concatenate([replaces[order], np.full(len(gone), None, dtype=object)]),
        desired_parts=[
            (products, None if normal_mask.all() else normal_mask),
            (closing_after, None),
            (gone_after, None),
        ],
        fields=fields,
        key_prefix=options.key_prefix,
        key_suffix=key_suffix,
    )
    notes = [f"{len(vanished)} linked PSA product(s) no longer exist; re-matched or re-created"]
    return CatalogPlan(frame=frame, fields=fields, notes=notes if len(vanished) else [], key_prefix=options.key_prefix)
