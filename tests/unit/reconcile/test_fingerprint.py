"""Fingerprints: stable across runs, dtypes and code paths."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd

from channelsync.canonical import PRODUCT_FIELDS
from channelsync.reconcile.fingerprint import fingerprint_frame, fingerprint_record

RECORD = {
    "name": " Notebook 14 ",
    "description": "A notebook",
    "mpn": "MPN-1",
    "vendor_sku": "1",
    "manufacturer": "HP",
    "category": "Notebooks",
    "unit_cost": 100.00004,
    "unit_price": 120.0,
    "msrp": None,
    "active": True,
    "vendor": "TD SYNNEX",
}
# Pinned: a change here means every stored cross-reference fingerprint turns into a false conflict.
PINNED = fingerprint_record(RECORD, PRODUCT_FIELDS)
# What releases before ``vendor`` was managed stored for RECORD (their field set; literal on purpose):
# reconcile accepts it as "not edited" (canonical.limits.previous_fields).
PINNED_BEFORE_VENDOR = "3a1a0310b863ca0f345a8f2737ebaef269ddd2bd8d8efbcd7bd940578f68734c"


def frame(**dtypes: str) -> pd.DataFrame:
    data = pd.DataFrame([RECORD])
    return data.astype(dtypes) if dtypes else data


def test_record_and_frame_paths_agree() -> None:
    assert fingerprint_frame(frame(), PRODUCT_FIELDS).tolist() == [PINNED]


def test_dtype_differences_do_not_change_the_fingerprint() -> None:
    typed = frame(
        name="string", description="string", unit_cost="Float64", unit_price="float64", msrp="Float64", active="boolean"
    )
    assert fingerprint_frame(typed, PRODUCT_FIELDS).tolist() == [PINNED]
    as_object = frame().astype(object)
    assert fingerprint_frame(as_object, PRODUCT_FIELDS).tolist() == [PINNED]


def test_normalisation_rules() -> None:
    same = {**RECORD, "name": "Notebook 14", "unit_cost": 100.0, "msrp": float("nan")}
    assert fingerprint_record(same, PRODUCT_FIELDS) == PINNED  # stripped, 4 dp, NaN == missing
    assert fingerprint_record({**RECORD, "msrp": ""}, PRODUCT_FIELDS) == PINNED  # not a number → missing
    assert fingerprint_frame(frame().assign(msrp=[""]), PRODUCT_FIELDS).tolist() == [PINNED]
    assert fingerprint_record({**RECORD, "description": ""}, PRODUCT_FIELDS) == fingerprint_record(
        {**RECORD, "description": None}, PRODUCT_FIELDS
    )
    assert fingerprint_record({**RECORD, "unit_price": 120.001}, PRODUCT_FIELDS) != PINNED
    assert fingerprint_record({**RECORD, "active": False}, PRODUCT_FIELDS) != PINNED
    assert fingerprint_record(RECORD, PRODUCT_FIELDS[:-1]) != PINNED  # the field set is part of it


def test_stable_across_processes() -> None:
    code = (
        "from channelsync.reconcile.fingerprint import fingerprint_record; "
        "from channelsync.canonical import PRODUCT_FIELDS; "
        f"print(fingerprint_record({RECORD!r}, PRODUCT_FIELDS))"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == PINNED


def test_pinned_value() -> None:
    assert fingerprint_record(dict(RECORD), list(PRODUCT_FIELDS)) == PINNED
    assert len(PINNED) == 64 and int(PINNED, 16) >= 0
    assert np.array_equal(fingerprint_frame(pd.concat([frame()] * 3), PRODUCT_FIELDS).to_numpy(), [PINNED] * 3)


def test_fingerprints_stored_before_vendor_was_managed_are_reproduced() -> None:
    from channelsync.canonical.limits import previous_fields

    older = previous_fields(PRODUCT_FIELDS)
    assert older is not None and "vendor" not in older and "vendor" in PRODUCT_FIELDS
    assert fingerprint_record(RECORD, older) == PINNED_BEFORE_VENDOR != PINNED
