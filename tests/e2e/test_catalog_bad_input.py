"""A TD SYNNEX file with broken rows: each bad row is quarantined with its reason, the good rows sync,
the run ends Warning, and nothing is half-written."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from channelsync.sandbox.control_client import SandboxControl
from channelsync.state.db import session_scope
from channelsync.state.models import SyncItem
from tests.e2e.conftest import RunTemplate
from tests.e2e.psa_probe import PSA_TABLES, products


def _bad_rows(existing_sku: str) -> list[dict[str, object]]:
    base = {"status": "A", "manufacturer": "Acme", "price": "10.00", "msrp": "15.00", "category": "NBK",
            "quantity": "1", "weight": "1.0", "upc": "000000000000"}
    return [
        {**base, "sku": existing_sku, "mpn": "DUP-MPN-1", "description": "Duplicate SKU row"},
        {**base, "sku": "9900001", "mpn": "NEG-COST-1", "description": "Negative cost", "price": "-5.00"},
        {**base, "sku": "9900002", "mpn": "LONG-DESC-1", "description": "Very long description",
         "long_description": "x" * 10_000},
        {**base, "sku": "9900003", "mpn": "GARBLED-NAME-1", "description": {"hex": "4f6b8120546578"}},
        {**base, "sku": "9900004", "mpn": {"hex": "4d504e8d31"}, "description": "Garbled part number"},
        {**base, "sku": "9900005", "mpn": "NO-CATEGORY-1", "description": "No category", "category": ""},
        {**base, "sku": "9900006", "mpn": "", "description": "No part number"},
    ]


def _items(run_id: int) -> dict[str, list[SyncItem]]:
    with session_scope() as session:
        rows = list(session.scalars(select(SyncItem).where(SyncItem.run_id == run_id)))
    out: dict[str, list[SyncItem]] = {}
    for row in rows:
        out.setdefault(row.source_key, []).append(row)
    return out


@pytest.mark.parametrize("integration", ["demo-connectwise", "demo-autotask"])
def test_bad_rows_are_quarantined_with_reasons_and_good_rows_sync(
    sandbox: SandboxControl, run_template: RunTemplate, integration: str
) -> None:
    existing = sorted(p["synnexSKU"] for p in sandbox.records("tdsynnex", "products", categoryCode="NBK")
                      if p["status"] == "Active")[0]
    sandbox.control("tdsynnex", "flatfile/rows", json={"rows": _bad_rows(existing)})

    result = run_template("catalog_sync", integration)
    assert result["status"] == "warning", result
    items = _items(result["run_id"])

    def outcomes(sku: str) -> list[str]:
        return sorted(item.outcome for item in items.get(f"tdsynnex:{sku}", []))

    def reasons(sku: str) -> str:
        return " | ".join(str(i.error_message or "") + str(i.warnings or "") for i in items.get(f"tdsynnex:{sku}", []))

    # Blocking failures: quarantined with the reason, never written.
    assert outcomes(existing) == ["quarantined", "quarantined"] and "duplicate" in reasons(existing).lower()
    assert outcomes("9900001") == ["quarantined"] and "cost" in reasons("9900001").lower()
    assert outcomes("9900004") == ["quarantined"]
    assert outcomes("9900005") == ["quarantined"] and "categor" in reasons("9900005").lower()
    assert outcomes("9900006") == ["quarantined"] and "part number" in reasons("9900006").lower()
    # Warnings: the row is kept, cleaned / truncated, and synced.
    assert outcomes("9900002") == ["created", "warning"]
    assert outcomes("9900003") == ["created", "warning"]

    written = {str(p.get(PSA_TABLES[integration][3])) for p in products(sandbox, integration)}
    assert {"9900002", "9900003"} <= written
    assert not {"9900001", "9900004", "9900005", "9900006"} & written
    assert existing not in written, "a duplicated SKU is not synced from either row"
    assert result["counts"]["created"] > 100 and not result["counts"].get("failed")
