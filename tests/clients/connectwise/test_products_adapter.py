"""ConnectWiseProducts against the ConnectWise emulator over HTTP: the catalog item's ``vendor`` reference
(TD SYNNEX) read and repaired like any managed field; stock refused (nothing writable in ConnectWise)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from channelsync.adapters.connectwise_products import ConnectWiseProducts
from channelsync.clients.connectwise import ConnectWiseClient
from channelsync.errors import FatalApiError, OutcomeUnknownError
from channelsync.runs.loader import Operation
from channelsync.sandbox.control_client import SandboxControl

FIELDS: dict[str, Any] = {
    "name": "Notebook 14 G9", "description": "A 14-inch notebook", "mpn": "NB-14-G9", "vendor_sku": "9900001",
    "manufacturer": "HP Inc.", "category": "Notebooks", "unit_cost": 700.0, "unit_price": 826.0, "msrp": None,
    "active": True, "vendor": "TD SYNNEX",
}


def operation(op: str, target_id: str | None, changed: list[str], **fields: Any) -> Operation:
    return Operation(key=f"test:{op}:{target_id}", op=op, source_key="tdsynnex:9900001", target_id=target_id,
                     fields={**FIELDS, **fields}, changed_fields=changed)


def vendor_of(sandbox: SandboxControl, item_id: Any) -> str | None:
    vendor = sandbox.record("connectwise", "catalogItems", item_id).get("vendor")
    return vendor.get("identifier") if vendor else None


@pytest.fixture()
def adapter(client: ConnectWiseClient) -> ConnectWiseProducts:
    return ConnectWiseProducts(client)


def test_reads_the_vendor_reference_with_the_items(adapter: ConnectWiseProducts, sandbox: SandboxControl) -> None:
    frame = adapter.read_products().set_index("psa_id")
    items = {str(i["id"]): i for i in sandbox.records("connectwise", "catalogItems")}
    for psa_id, item in items.items():
        vendor = frame.loc[psa_id, "vendor"]
        expected = "TD SYNNEX" if (item.get("vendor") or {}).get("identifier") == "TDSYNNEX" else None
        assert (None if pd.isna(vendor) else vendor) == expected
    assert frame["quantity_on_hand"].isna().all() and frame["inventory_id"].isna().all()


def test_create_sets_the_vendor_in_the_same_call(adapter: ConnectWiseProducts, sandbox: SandboxControl) -> None:
    item_id = adapter.execute(operation("create", None, list(FIELDS)))
    assert vendor_of(sandbox, item_id) == "TDSYNNEX"
    assert adapter.read_products().set_index("psa_id").loc[item_id, "vendor"] == "TD SYNNEX"


def test_a_vendor_change_sets_the_reference(adapter: ConnectWiseProducts, sandbox: SandboxControl) -> None:
    without = next(i for i in sandbox.records("connectwise", "catalogItems") if not i.get("vendor"))
    adapter.execute(operation("update", str(without["id"]), ["vendor"]))
    assert vendor_of(sandbox, without["id"]) == "TDSYNNEX"
    assert sandbox.record("connectwise", "catalogItems", without["id"])["description"] == without["description"]


def test_stock_is_refused(adapter: ConnectWiseProducts, sandbox: SandboxControl) -> None:
    item = sandbox.records("connectwise", "catalogItems")[0]
    with pytest.raises(FatalApiError, match="no writable on-hand quantity"):
        adapter.execute(operation("update", str(item["id"]), ["quantity_on_hand"], quantity_on_hand=3))


def test_a_failed_look_up_keeps_the_create_uncertain(adapter: ConnectWiseProducts, sandbox: SandboxControl) -> None:
    sandbox.set_faults({"kind": "status", "system": "connectwise", "method": "GET", "path": "procurement/catalog",
                        "status": 503})
    with pytest.raises(OutcomeUnknownError) as unknown:
        adapter.resolve_unknown(operation("create", None, list(FIELDS)))
    assert unknown.value.code == "CW_LOOKUP_FAILED"
