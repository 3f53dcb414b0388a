"""Linking catalog items that have no cross-reference to PSA products made by hand.

Order: vendor SKU first (the distributor's own SKU, the most specific key), then manufacturer part
number, both compared stripped and case-insensitively. Only PSA products not linked to anything are
candidates, and a product matched in the first stage is not offered to the second.

Ambiguity is decided per key: a key shared by several PSA products (or by several catalog items) links
nothing. Every catalog item on such a key becomes a ``duplicate`` (reported with the PSA ids involved)
and is neither linked nor created until a person resolves it: linking "the lowest id" would guess, and
creating would add yet another copy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from channelsync.reconcile.arrow import is_in

STAGES = (("vendor_sku", "vendor SKU"), ("mpn", "manufacturer part number"))


def match_key(values: pd.Series) -> pd.Series:
    """The comparison form of a SKU / part number: stripped, upper-case, empty → missing."""
    key = values.astype("string").str.strip().str.upper()
    return key.mask(key == "")


@dataclass
class Matches:
    """Per catalog row position (``rows``): the PSA id linked, how, or why it is a duplicate."""

    rows: np.ndarray  # positions into the desired frame
    psa_id: np.ndarray  # object array of str, None where ``duplicate`` is set
    match: np.ndarray  # object array: "vendor_sku" | "mpn" | "duplicate"
    reason: np.ndarray  # object array: None or the duplicate explanation


def _stage(row_keys: pd.Series, candidate_keys: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pairs (row, psa_id, key) that match uniquely, and the ambiguous pairs."""
    row_keys = row_keys.dropna()
    candidate_keys = candidate_keys.dropna()
    # isin first: most rows (new products) hit nothing, so the merge only sees real candidates.
    hits = row_keys[is_in(row_keys, candidate_keys)]
    pairs = pd.DataFrame({"row": hits.index.to_numpy(), "key": hits.to_numpy()}).merge(
        pd.DataFrame({"psa_id": candidate_keys.index.to_numpy(), "key": candidate_keys.to_numpy()}), on="key"
    )
    sizes = pairs.groupby("key", sort=False)["key"].transform("size")
    return pairs[sizes == 1], pairs[sizes > 1]


def _duplicate_reasons(ambiguous: pd.DataFrame, label: str, source_keys: np.ndarray) -> pd.Series:
    """One explanation per ambiguous row (few rows: plain Python over the groups is fine)."""
    reasons: dict[int, str] = {}
    for key, group in ambiguous.groupby("key", sort=False):
        psa_ids = ", ".join(sorted(set(map(str, group["psa_id"])), key=lambda v: (len(v), v)))
        items = ", ".join(sorted({str(source_keys[row]) for row in group["row"]}))
        text = f"{label} {key!r} matches PSA products {psa_ids} and catalog items {items}: resolve by hand"
        for row in group["row"].unique():
            reasons[int(row)] = text
    return pd.Series(reasons, dtype="object")


def match_unlinked(desired: pd.DataFrame, rows: np.ndarray, candidates: pd.DataFrame) -> Matches:
    """Match ``desired`` rows at positions ``rows`` against ``candidates`` (PSA products, unlinked).

    ``desired`` and ``candidates`` carry ``vendor_sku`` and ``mpn`` columns; ``candidates`` a ``psa_id``.
    """
    source_keys = desired["source_key"].to_numpy(dtype=object)
    remaining_rows = pd.Index(rows)
    remaining = candidates.set_index("psa_id")
    found: list[pd.DataFrame] = []
    for field, label in STAGES:
        row_keys = match_key(desired[field].iloc[remaining_rows.to_numpy()])
        row_keys.index = remaining_rows
        unique, ambiguous = _stage(row_keys, match_key(remaining[field]))
        if len(unique):
            found.append(unique.assign(match=field, reason=None)[["row", "psa_id", "match", "reason"]])
        if len(ambiguous):
            reasons = _duplicate_reasons(ambiguous, label, source_keys)
            found.append(
                pd.DataFrame({"row": reasons.index, "psa_id": None, "match": "duplicate", "reason": reasons.values})
            )
        claimed_rows = pd.Index(unique["row"]).append(pd.Index(ambiguous["row"]))
        claimed_psa = pd.Index(unique["psa_id"]).append(pd.Index(ambiguous["psa_id"]))
        remaining_rows = remaining_rows.difference(claimed_rows)
        remaining = remaining[~remaining.index.isin(claimed_psa)]
    if not found:
        empty = np.array([], dtype=object)
        return Matches(np.array([], dtype=np.int64), empty, empty, empty)
    result = pd.concat(found, ignore_index=True)
    return Matches(
        rows=result["row"].to_numpy(dtype=np.int64),
        psa_id=result["psa_id"].to_numpy(dtype=object),
        match=result["match"].to_numpy(dtype=object),
        reason=result["reason"].to_numpy(dtype=object),
    )
