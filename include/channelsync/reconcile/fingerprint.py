"""Stable fingerprints of product field values.

A fingerprint is stored in the cross-reference when channelsync writes a product; the next run
fingerprints the PSA's current values the same way, and a difference means a person edited the product
in the PSA since (a *conflict*). So the hash must be identical across runs, machines, pandas versions and
dtypes (``float64`` vs ``Float64``, ``object`` vs ``string``): values are normalised to text first and
hashed with SHA-256 (not ``pandas.util.hash_pandas_object``, whose output is not a stable contract).

Normalisation (one definition, used both vectorised and per record):
- text: leading/trailing whitespace stripped; missing == "" (a PSA that stores "" for null agrees);
- numbers: rounded to 4 decimal places and written as the integer ``round(x * 10_000)`` (exact, no float
  formatting differences); missing == "";
- flags: "1" / "0"; missing == "".
The payload is the version tag, a digest of the field names, then the values joined by U+001F.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from channelsync.canonical import PSA_PRODUCT
from channelsync.canonical.limits import previous_fields

Kind = Literal["text", "number", "flag"]

FINGERPRINT_VERSION = "v1"
NUMBER_SCALE = 10_000  # 4 decimal places
SEPARATOR = "\x1f"
# An explicit set (not str.strip()'s or Arrow's idea of whitespace) so both code paths agree exactly.
WHITESPACE = " \t\n\r\x0b\x0c\u00a0"

_KIND_BY_DTYPE: dict[str, Kind] = {"string": "text", "float64": "number", "Int64": "number", "boolean": "flag"}
FIELD_KINDS: dict[str, Kind] = {field: _KIND_BY_DTYPE[dtype] for field, dtype in PSA_PRODUCT.items()}


def text_scalar(value: str) -> pa.Scalar:
    """A ``large_string`` scalar: pandas' string dtype is Arrow ``large_string`` and kernels won't mix."""
    return pa.scalar(value, pa.large_string())


def _arrow(values: pd.Series, arrow_type: pa.DataType) -> pa.Array:
    array = pa.array(values, type=arrow_type, from_pandas=True)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return array


def normalise_series(values: pd.Series, kind: Kind) -> pa.Array:
    """The normalised text form of every value (an Arrow string array without nulls)."""
    if kind == "text":
        text = values if isinstance(values.dtype, pd.StringDtype) else values.astype("string")
        return pc.fill_null(pc.utf8_trim(_arrow(text, pa.large_string()), characters=WHITESPACE), "")
    if kind == "number":
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        with np.errstate(invalid="ignore", over="ignore"):
            scaled = np.rint(numbers * NUMBER_SCALE)
        missing = ~np.isfinite(scaled)
        integers = np.where(missing, 0, scaled).astype(np.int64)
        return pc.fill_null(pa.array(integers, mask=missing).cast(pa.large_string()), "")
    flags = _arrow(values.astype("boolean"), pa.bool_())
    return pc.fill_null(pc.if_else(flags, text_scalar("1"), text_scalar("0")), text_scalar(""))


def normalise_value(value: Any, kind: Kind) -> str:
    """Scalar twin of :func:`normalise_series` (for one record, e.g. a PSA response in the loader)."""
    if value is None or value is pd.NA:
        return ""
    if kind == "text":
        return str(value).strip(WHITESPACE)
    if kind == "number":
        try:
            number = float(value)
        except (TypeError, ValueError):  # like pd.to_numeric(errors="coerce") in the vectorised path
            return ""
        if not math.isfinite(number):
            return ""
        return str(round(number * NUMBER_SCALE))
    if isinstance(value, float) and math.isnan(value):
        return ""
    return "1" if bool(value) else "0"


def normalise_frame(frame: pd.DataFrame, fields: Sequence[str]) -> dict[str, pa.Array]:
    return {field: normalise_series(frame[field], FIELD_KINDS[field]) for field in fields}


def _prefix(fields: Sequence[str]) -> str:
    # Short on purpose: SHA-256 cost grows with every 64-byte block and this runs once per row. The
    # field list enters as a digest, so fingerprints over different field sets never compare equal.
    field_list = hashlib.sha256(",".join(fields).encode()).hexdigest()[:8]
    return f"{FINGERPRINT_VERSION}:{field_list}|"


def fingerprint_normalised(normalised: Mapping[str, pa.Array], fields: Sequence[str]) -> list[str]:
    """SHA-256 hex digests of already-normalised columns (see :func:`normalise_frame`)."""
    if not fields:
        raise ValueError("a fingerprint needs at least one field")
    columns = [normalised[field] for field in fields]
    joined = columns[0] if len(columns) == 1 else pc.binary_join_element_wise(*columns, text_scalar(SEPARATOR))
    prefix = pa.array([_prefix(fields)] * len(joined), type=pa.large_string())
    payloads = pc.binary_join_element_wise(prefix, joined, text_scalar(""))
    sha256 = hashlib.sha256
    # The only per-row Python step: hashlib has no vectorised form (~0.9 µs per row).
    return [sha256(payload.encode()).hexdigest() for payload in payloads.to_pylist()]


def fingerprint_frame(frame: pd.DataFrame, fields: Sequence[str]) -> pd.Series:
    """Fingerprint of ``fields`` for every row of ``frame`` (index aligned, ``string`` dtype)."""
    digests = fingerprint_normalised(normalise_frame(frame, fields), fields)
    return pd.Series(digests, index=frame.index, dtype="string")


def fingerprint_record(values: Mapping[str, Any], fields: Sequence[str]) -> str:
    """Fingerprint of one record; equal to :func:`fingerprint_frame` for the same values."""
    normalised = (normalise_value(values.get(field), FIELD_KINDS[field]) for field in fields)
    payload = _prefix(fields) + SEPARATOR.join(normalised)
    return hashlib.sha256(payload.encode()).hexdigest()


def edited_since_written(stored: np.ndarray, current: np.ndarray, target_rows: pd.DataFrame,
                         fields: tuple[str, ...]) -> np.ndarray:
    """Whether a person changed each target record since channelsync stored ``stored`` (None: never
    linked), given ``current``, the fingerprints of ``target_rows`` over ``fields``.

    A stored fingerprint equal to the record's values over the fields older releases fingerprinted
    (:func:`~channelsync.canonical.limits.previous_fields`) is not an edit either: an upgrade that adds
    a managed field must not turn every product into a conflict. Only the (few) mismatching rows are
    hashed again. Shared by catalog_sync and price_availability, so both judge a hand edit alike.
    """
    stored = np.asarray(stored, dtype=object)
    edited = np.asarray((stored != None) & (stored != np.asarray(current, dtype=object)), dtype=bool)  # noqa: E711
    older = previous_fields(fields)
    suspects = np.flatnonzero(edited)
    if older is not None and len(suspects):
        legacy = fingerprint_frame(target_rows.iloc[suspects], older).to_numpy(dtype=object)
        edited[suspects[stored[suspects] == legacy]] = False
    return edited
