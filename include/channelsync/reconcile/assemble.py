"""Building the canonical PLAN frame from the planner's positional arrays.

Columns stay Arrow/pandas arrays end to end, ops and match kinds travel as small integer codes until
the last step: turning 1M strings into Python objects and back would cost more than the reconcile.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from channelsync.canonical import LOCATORS, PLAN, PLAN_OPS
from channelsync.reconcile.fingerprint import text_scalar

OP: dict[str, int] = {name: code for code, name in enumerate(PLAN_OPS)}
WRITE_CODES = [OP["create"], OP["update"], OP["deactivate"]]
MATCHES: tuple[str, ...] = ("xref", "vendor_sku", "mpn")


def _decode(codes: np.ndarray, names: tuple[str, ...]) -> pd.api.extensions.ExtensionArray:
    """Integer codes (-1: missing) → a ``string`` array, via an Arrow take (no Python objects)."""
    indices = pa.array(codes.astype(np.int32), mask=codes < 0)
    return pd.array(pa.array(names, pa.large_string()).take(indices), dtype="string")


def _field_tuples(bits: np.ndarray, fields: tuple[str, ...]) -> np.ndarray:
    """Bitmask per row → a shared tuple of field names per distinct mask (no per-row objects built)."""
    distinct, inverse = np.unique(bits, return_inverse=True)
    tuples = np.empty(len(distinct), dtype=object)
    for position, mask in enumerate(distinct.tolist()):
        tuples[position] = tuple(name for bit, name in enumerate(fields) if mask >> bit & 1)
    return tuples[inverse.reshape(-1)]


def _keys(
    key_prefix: str,
    op: np.ndarray,
    source_key: pa.Array,
    psa_ids: pa.Array,
    fingerprint: pa.Array,
    replaces: np.ndarray,
    suffix: np.ndarray | None = None,
) -> pa.Array:
    """Idempotency keys of the write rows (null elsewhere); see the catalog module docstring.
    ``suffix``: per row, text appended to update / deactivate keys (what their fingerprint lacks)."""
    creates = np.flatnonzero(op == OP["create"])
    changes = np.flatnonzero((op == OP["update"]) | (op == OP["deactivate"]))
    replaced = replaces[creates]
    # Re-creations are rare: skip converting 1M Python Nones when there are none.
    if any(value is not None for value in replaced[pd.notna(replaced)][:1]):
        replaced_ids = pa.array(replaced, pa.large_string())
    else:
        replaced_ids = pa.nulls(len(creates), pa.large_string())
    target = pc.binary_join_element_wise(text_scalar("replaces"), replaced_ids, text_scalar("-"))
    created = pc.binary_join_element_wise(
        text_scalar(key_prefix),
        text_scalar("create"),
        source_key.take(pa.array(creates)),
        pc.fill_null(target, text_scalar("new")),
        text_scalar(":"),
    )
    rows = pa.array(changes)
    changed = pc.binary_join_element_wise(
        text_scalar(key_prefix),
        pa.array(PLAN_OPS, pa.large_string()).take(pa.array(op[changes].astype(np.int32))),
        source_key.take(rows),
        psa_ids.take(rows),
        pc.utf8_slice_codeunits(fingerprint.take(rows), 0, 32),
        text_scalar(":"),
    )
    if suffix is not None:
        changed = pc.binary_join_element_wise(changed, pa.array(suffix[changes], pa.large_string()), text_scalar(""))
    # Gather into row order from [creates | changes | one null] by index: no Python strings.
    position = np.full(len(op), len(creates) + len(changes), dtype=np.int64)
    position[creates] = np.arange(len(creates))
    position[changes] = len(creates) + np.arange(len(changes))
    stacked = pa.concat_arrays([created, changed, pa.nulls(1, pa.large_string())])
    return stacked.take(pa.array(position))


def _to_pandas(array: pa.Array | pa.ChunkedArray, dtype: str) -> Any:
    if dtype == "string":
        return pd.array(array, dtype="string")
    if dtype == "boolean":
        values = pc.fill_null(array, False).to_numpy(zero_copy_only=False)
        return pd.arrays.BooleanArray(values, array.is_null().to_numpy(zero_copy_only=False))
    if dtype == "Int64":
        values = pc.fill_null(array, 0).to_numpy(zero_copy_only=False).astype(np.int64)
        return pd.arrays.IntegerArray(values, array.is_null().to_numpy(zero_copy_only=False))
    return array.to_numpy(zero_copy_only=False).astype(dtype)


_ARROW_TYPES = {"string": pa.large_string(), "float64": pa.float64(), "boolean": pa.bool_(), "Int64": pa.int64()}


def _chunks(values: pd.Series, arrow_type: pa.DataType) -> list[pa.Array]:
    array = pa.array(values, type=arrow_type, from_pandas=True)
    return list(array.chunks) if isinstance(array, pa.ChunkedArray) else [array]


def _gather(parts: list[tuple[pd.DataFrame, np.ndarray | None]], column: str, dtype: str) -> Any:
    """``column`` of every part (optionally filtered by its row mask), one after the other, as chunks."""
    arrow_type = _ARROW_TYPES[dtype]
    chunks: list[pa.Array] = []
    for frame, mask in parts:
        values = pa.chunked_array(_chunks(frame[column], arrow_type), arrow_type)
        if mask is not None:
            values = values.filter(pa.array(mask))
        chunks.extend(values.chunks)
    return _to_pandas(pa.chunked_array(chunks, arrow_type), dtype)


def assemble(
    *,
    op: np.ndarray,
    source_key: pa.Array,
    psa: pd.DataFrame,
    psa_pos: np.ndarray,
    match: np.ndarray,
    reason: np.ndarray,
    bits: np.ndarray,
    fingerprint: np.ndarray,
    stored_fp: np.ndarray,
    replaces: np.ndarray,
    desired_parts: list[tuple[pd.DataFrame, np.ndarray | None]],
    fields: tuple[str, ...],
    key_prefix: str,
    key_suffix: np.ndarray | None = None,
) -> pd.DataFrame:
    """The canonical PLAN frame. Arrays are positional and of equal length; desired values are the
    ``desired_parts`` (frame, optional row mask) one after the other; before values are PSA row
    ``psa_pos[i]`` (-1: none), and so is ``before_<locator>`` of each managed field with a locator."""
    count = len(op)
    take = psa_pos.astype(np.int64)

    def from_psa(column: str) -> Any:
        return pd.api.extensions.take(psa[column].array, take, allow_fill=True)

    psa_ids = pd.array(from_psa("psa_id"), dtype="string")
    writes = np.isin(op, WRITE_CODES)
    link = (match >= MATCHES.index("vendor_sku")) & (op != OP["duplicate"])
    save_xref = writes | ((op == OP["unchanged"]) & (link | (stored_fp != fingerprint)))
    fingerprints = pa.array(fingerprint, pa.large_string())
    keys = _keys(key_prefix, op, source_key, pa.array(psa_ids, pa.large_string()), fingerprints, replaces, key_suffix)
    located = {LOCATORS[name] for name in fields if name in LOCATORS}
    columns: dict[str, Any] = {
        "op": _decode(op, PLAN_OPS),
        "source_key": pd.array(source_key, dtype="string"),
        "psa_id": psa_ids,
        "idempotency_key": pd.array(keys, dtype="string"),
        "changed_fields": _field_tuples(bits, fields),
        "fingerprint": pd.array(fingerprints, dtype="string"),
        "reason": pd.array(pa.array(reason, pa.large_string()), dtype="string"),
        "match": _decode(match, MATCHES),
        "link": pd.array(link, dtype="boolean"),
        "save_xref": pd.array(save_xref, dtype="boolean"),
    }
    for name, dtype in PLAN.items():
        if name.startswith("desired_") and name.removeprefix("desired_") in fields:
            columns[name] = _gather(desired_parts, name.removeprefix("desired_"), dtype)
        elif name.startswith("before_") and (name.removeprefix("before_") in fields
                                             or name.removeprefix("before_") in located):
            columns[name] = pd.array(from_psa(name.removeprefix("before_")), dtype=dtype)
        elif name not in columns:
            columns[name] = _to_pandas(pa.nulls(count, _ARROW_TYPES[dtype]), dtype)
    return pd.DataFrame(columns)
