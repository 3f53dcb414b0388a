"""catalog_sync with ``sync_inventory`` on Autotask, end to end: TD SYNNEX's warehouse quantities become
quantityOnHand of each product's InventoryItem at the configured location, inside the one product plan,
and only changed quantities are written (one call each)."""

from __future__ import annotations

from typing import Any

from channelsync.sandbox.control_client import SandboxControl
from tests.e2e.conftest import RunTemplate, last_seq, writes

LOCATION = "TD SYNNEX Stock"
INVENTORY = {"sync_inventory": True, "inventory_location": LOCATION}


def _quantities(sandbox: SandboxControl) -> dict[str, int]:
    """TD SYNNEX SKU → quantity of the product's InventoryItem at the location."""
    location = next(r["id"] for r in sandbox.records("autotask", "InventoryLocations") if r["locationName"] == LOCATION)
    sku_of = {p["id"]: p["sku"] for p in sandbox.records("autotask", "Products")}
    items = sandbox.records("autotask", "InventoryItems", inventoryLocationID=location)
    skus = [sku_of[i["productID"]] for i in items]
    assert len(skus) == len(set(skus)), "one InventoryItem per product and location"
    return {sku_of[i["productID"]]: i["quantityOnHand"] for i in items}


def _distributor_quantities(sandbox: SandboxControl, skus: set[str]) -> dict[str, int]:
    return {p["synnexSKU"]: sum(int(v) for v in p["warehouses"].values())
            for p in sandbox.records("tdsynnex", "products") if p["synnexSKU"] in skus}


def test_sync_inventory_writes_distributor_stock_and_then_only_changed_quantities(
    sandbox: SandboxControl, run_template: RunTemplate
) -> None:
    sandbox.create_record("autotask", "InventoryLocations", {"locationName": LOCATION, "isActive": True,
                                                              "isDefault": False})
    first = run_template("catalog_sync", "demo-autotask", **INVENTORY)
    assert first["status"] == "success" and not first["counts"].get("failed"), first
    stock = _quantities(sandbox)
    synced = {p["sku"] for p in sandbox.records("autotask", "Products") if p.get("sku")}
    assert set(stock) == synced and stock == _distributor_quantities(sandbox, synced)
    main = sandbox.records("autotask", "InventoryItems", inventoryLocationID=1)
    assert main == [], "the MSP's own warehouse is never written"

    mark = last_seq(sandbox)
    second = run_template("catalog_sync", "demo-autotask", **INVENTORY)
    assert second["status"] == "no_change", second
    assert writes(sandbox, "autotask", since=mark) == []

    moved = sorted(stock)[:3]
    for sku in moved:
        record = sandbox.record("tdsynnex", "products", sku)
        warehouses: dict[str, Any] = dict(record["warehouses"])
        first_warehouse = next(iter(warehouses))
        warehouses[first_warehouse] = int(warehouses[first_warehouse]) + 5
        sandbox.edit_record("tdsynnex", "products", sku, {"warehouses": warehouses})
    mark = last_seq(sandbox)
    third = run_template("catalog_sync", "demo-autotask", **INVENTORY)
    assert third["plan"]["update"] == 3 and third["counts"] == {"updated": 3}, third
    sent = writes(sandbox, "autotask", since=mark)
    assert [(e["method"], e["path"].rstrip("/").rsplit("/", 1)[-1]) for e in sent] == [("PATCH", "InventoryItems")] * 3
    assert all(_quantities(sandbox)[sku] == stock[sku] + 5 for sku in moved)

    # Turning stock off changes nothing else: no conflicts, no writes (stock is not fingerprinted).
    mark = last_seq(sandbox)
    off = run_template("catalog_sync", "demo-autotask")
    assert off["status"] == "no_change", off
    assert writes(sandbox, "autotask", since=mark) == []
