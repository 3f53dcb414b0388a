"""Poisoned TD SYNNEX flat-file rows (issue: rows dropped, columns shifted, keys cut, prices guessed): every
one is quarantined with its reason — or, for mojibake, repaired with a warning — the rest of the file
syncs, the PSA never sees a bad row, and the next run quarantines the same rows and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from channelsync.config import load_config
from channelsync.sandbox.control_client import SandboxControl
from channelsync.state.db import session_scope
from channelsync.state.models import SyncItem
from tests.e2e.conftest import RunTemplate, last_seq, writes
from tests.e2e.psa_probe import PSA_TABLES, products

# integration → (PSA name field, PSA MPN field) as the emulators store them
PSA_TEXT_FIELDS = {
    "demo-connectwise": ("description", "manufacturerPartNumber"),
    "demo-autotask": ("name", "manufacturerProductName"),
}
BASE = {"status": "A", "manufacturer": "Acme", "price": "10.00", "msrp": "15.00", "category": "NBK",
        "quantity": "1", "weight": "1.0", "upc": "000000000000"}
# SKU → (row, what the quarantine reason must say)
POISONED: dict[str, tuple[dict[str, object], str]] = {
    "9910021": ({"mpn": "CUT-21", "description": "Cut after 21 cells", "cells": "21"},
                "row has 21 cells, expected 70 (line "),
    "9910059": ({"mpn": "CUT-59", "description": "Cut after 59 cells", "cells": "59"},
                "row has 59 cells, expected 70 (line "),
    "9910071": ({"mpn": "TILDE-71", "description": "Dock ~ USB-C"}, "row has 71 cells, expected 70 (line "),
    "9910100": ({"mpn": "M" * 100_000, "description": "Endless part number"},
                "key too long for the PSA field: manufacturer part number longer than 50 characters"),
    "9910201": ({"mpn": "MSRP-ABC", "description": "MSRP abc", "msrp": "abc"}, "msrp 'abc' is not a number"),
    "9910202": ({"mpn": "MSRP-INF", "description": "MSRP Infinity", "msrp": "Infinity"},
                "msrp is not a finite number within"),
    "9910203": ({"mpn": "MSRP-1E401", "description": "MSRP 1e401", "msrp": "1e401"},
                "msrp is not a finite number within"),
}
MOJIBAKE_SKU = "9910300"
MOJIBAKE_ROW = {"mpn": "CAFE-DOCK", "description": {"hex": "Café Dock".encode().hex()}}  # UTF-8 in a cp1252 file


def _items(run_id: int) -> dict[str, list[SyncItem]]:
    with session_scope() as session:
        rows = list(session.scalars(select(SyncItem).where(SyncItem.run_id == run_id)))
    out: dict[str, list[SyncItem]] = {}
    for row in rows:
        out.setdefault(row.source_key, []).append(row)
    return out


def _quarantined(items: dict[str, list[SyncItem]]) -> dict[str, str]:
    return {key: str(item.error_message) for key, rows in items.items() for item in rows
            if item.outcome == "quarantined"}


def _selected_active_skus(sandbox: SandboxControl, integration: str) -> set[str]:
    config = load_config(Path(__file__).resolve().parents[2] / "config" / "integrations.yaml")
    categories = config.get(integration).templates["catalog_sync"].options["category_map"]
    return {p["synnexSKU"] for code in categories for p in sandbox.records("tdsynnex", "products", categoryCode=code)
            if p["status"] == "Active" and p.get("authorized", True)}


@pytest.mark.parametrize("integration", ["demo-connectwise", "demo-autotask"])
def test_poisoned_rows_are_quarantined_with_reasons_and_never_reach_the_psa(
    sandbox: SandboxControl, run_template: RunTemplate, integration: str
) -> None:
    system, _, _, sku_field = PSA_TABLES[integration]
    name_field, mpn_field = PSA_TEXT_FIELDS[integration]
    rows = [{**BASE, "sku": sku, **row} for sku, (row, _) in POISONED.items()]
    rows.append({**BASE, "sku": MOJIBAKE_SKU, **MOJIBAKE_ROW})
    sandbox.control("tdsynnex", "flatfile/rows", json={"rows": rows})

    first = run_template("catalog_sync", integration)
    assert first["status"] == "warning", first
    assert not first["counts"].get("failed"), first
    items = _items(first["run_id"])
    quarantined = _quarantined(items)

    # Each poisoned row: one quarantined item with its reason, nothing else recorded for it.
    for sku, (_, reason) in POISONED.items():
        key = f"tdsynnex:{sku}"
        assert [i.outcome for i in items.get(key, [])] == ["quarantined"], (sku, items.get(key))
        assert reason in quarantined[key], (sku, quarantined[key])
    assert set(quarantined) == {f"tdsynnex:{sku}" for sku in POISONED}, "nothing else is quarantined"

    # Mojibake: repaired, synced, and a warning saying what was repaired.
    mojibake = items[f"tdsynnex:{MOJIBAKE_SKU}"]
    assert sorted(i.outcome for i in mojibake) == ["created", "warning"]
    (warning,) = [w for i in mojibake for w in (i.warnings or [])]
    assert "repaired" in warning and "'CafÃ© Dock' → 'Café Dock'" in warning

    # What the PSA holds: the rest of the file, the repaired name, none of the poisoned rows, no cut key.
    held = {str(p.get(sku_field)): p for p in products(sandbox, integration)}
    assert _selected_active_skus(sandbox, integration) <= set(held), "the good rows all synced"
    assert held[MOJIBAKE_SKU][name_field] == "Café Dock"
    assert not set(POISONED) & set(held)
    assert not any(str(p.get(mpn_field) or "").startswith("M" * 50) for p in held.values())
    assert first["counts"]["created"] > 100

    # The next run: no failure, no write, the same rows quarantined for the same reasons, nothing new.
    mark = last_seq(sandbox)
    second = run_template("catalog_sync", integration)
    assert second["status"] == "warning", second
    assert not second["counts"].get("failed"), second
    assert set(second["counts"]) <= {"quarantined", "warning", "unchanged"}, second
    assert second["counts"]["quarantined"] == len(POISONED) and second["counts"]["warning"] == 1, second
    assert writes(sandbox, system, since=mark) == []
    again = _items(second["run_id"])
    assert _quarantined(again) == quarantined
    repeated = {i.outcome for i in again[f"tdsynnex:{MOJIBAKE_SKU}"]}
    assert "warning" in repeated and not repeated & {"quarantined", "failed", "created", "updated"}
