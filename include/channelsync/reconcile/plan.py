"""The catalog plan: the canonical PLAN frame plus the views the loader and the preview need.

Desired and before values live in columns (``desired_<field>`` / ``before_<field>``), not in per-row
dicts: a 1,000,000-row plan of dicts would cost seconds and gigabytes. :meth:`CatalogPlan.operations`
builds the dicts lazily, only for the rows a loader actually sends.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from channelsync.canonical import LOCATORS, PLAN_OPS, WRITE_OPS, fingerprint_fields
from channelsync.canonical.operation import Operation
from channelsync.reconcile.fingerprint import fingerprint_frame, fingerprint_record


def _value(value: Any) -> Any:
    """Plain Python values for dicts handed to a client (no pandas NA / numpy scalars)."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and value != value:
        return None
    return value.item() if hasattr(value, "item") else value


@dataclass
class CatalogPlan:
    frame: pd.DataFrame  # canonical.PLAN columns (also what a staged plan file holds)
    fields: tuple[str, ...]  # the managed product fields
    notes: list[str] = field(default_factory=list)  # plan-level remarks for the report (e.g. stale links)
    key_prefix: str = "product"  # what leads its idempotency keys (``CatalogOptions.key_prefix``)

    @property
    def fingerprint_fields(self) -> tuple[str, ...]:
        return fingerprint_fields(self.fields)

    @property
    def counts(self) -> dict[str, int]:
        counted = self.frame["op"].value_counts()
        return {op: int(counted.get(op, 0)) for op in PLAN_OPS}

    @property
    def write_count(self) -> int:
        return int(self.frame["op"].isin(WRITE_OPS).sum())

    def xref_only(self) -> pd.DataFrame:
        """Rows needing no API call but an xref upsert (hand-made products linked, stale fingerprints)."""
        rows = self.frame[(self.frame["op"] == "unchanged") & self.frame["save_xref"].fillna(False)]
        return rows[["source_key", "psa_id", "fingerprint"]]

    def fingerprints(self) -> pd.Series:
        """The ``fingerprint`` column with the creates' fingerprints filled in (computed lazily)."""
        result = self.frame["fingerprint"].copy()
        missing = result.isna() & (self.frame["op"] == "create")
        if missing.any():
            fields = self.fingerprint_fields
            desired = self.frame.loc[missing, [f"desired_{name}" for name in fields]]
            desired.columns = list(fields)
            result[missing] = fingerprint_frame(desired, fields)
        return result

    def _record(self, row: pd.Series, tenant_scoped: Collection[str]) -> Operation:
        changed = [str(name) for name in row["changed_fields"]] if row["changed_fields"] is not None else []
        desired = {name: _value(row[f"desired_{name}"]) for name in self.fields}
        fingerprint = _value(row["fingerprint"])
        if fingerprint is None and row["op"] == "create":
            fingerprint = fingerprint_record(desired, self.fingerprint_fields)
        for name in self.fields:
            if name in LOCATORS:
                desired[LOCATORS[name]] = _value(row.get(f"before_{LOCATORS[name]}"))
        op = str(row["op"])
        return Operation(
            key=str(_value(row["idempotency_key"])),
            op=op,
            source_key=str(row["source_key"]),
            target_id=_value(row["psa_id"]),
            # every managed field as it should be after the write, plus the locator of each managed field
            # kept in a record of its own (``inventory_id``: the InventoryItem holding ``quantity_on_hand``)
            fields=desired,
            changed_fields=changed,
            fingerprint=str(fingerprint or ""),
            scope="tenant" if op in tenant_scoped else "run",
            before={name: _value(row[f"before_{name}"]) for name in changed},
            # Another integration may be creating this record right now: the ledger holds the write until the
            # create (reconcile/catalog.py's first-create key) is complete.
            follows=f"{self.key_prefix}:create:{row['source_key']}:new" if op in ("update", "deactivate") else None,
        )

    def operations(self, ops: Sequence[str] = WRITE_OPS, *, tenant_scoped: Collection[str] = ("create",)
                   ) -> Iterator[Operation]:
        """The plan's rows with ``op`` in ``ops`` as :class:`Operation`, built one at a time.
        ``tenant_scoped``: the operations that must never happen twice on the PSA tenant (the template's
        choice; creations by default)."""
        selected = self.frame[self.frame["op"].isin(list(ops))]
        for _, row in selected.iterrows():
            yield self._record(row, tenant_scoped)

    def diff_rows(self, limit: int | None = 50) -> pd.DataFrame:
        """Field-level diff (source_key, op, psa_id, field, before, after) of rows with changed fields.

        ``limit`` caps the diff lines (``None``: all, for the staged preview file). Values are text.
        """
        changed = self.frame[self.frame["changed_fields"].map(len, na_action="ignore").fillna(0) > 0]
        if limit is not None:
            # Each row yields at most len(fields) lines: never look at more rows than needed.
            changed = changed.head(limit)
        exploded = changed[["source_key", "op", "psa_id", "changed_fields"]].explode("changed_fields")
        exploded = exploded.rename(columns={"changed_fields": "field"})
        before = pd.Series(pd.NA, index=exploded.index, dtype="object")
        after = pd.Series(pd.NA, index=exploded.index, dtype="object")
        for name in self.fields:
            rows = exploded["field"] == name
            if rows.any():
                before[rows] = changed.loc[exploded.index[rows], f"before_{name}"].astype("string").to_numpy()
                after[rows] = changed.loc[exploded.index[rows], f"desired_{name}"].astype("string").to_numpy()
        diff = exploded.assign(before=before.astype("string"), after=after.astype("string"))
        diff = diff.reset_index(drop=True)
        return diff if limit is None else diff.head(limit)
