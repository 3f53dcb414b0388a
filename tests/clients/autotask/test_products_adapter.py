"""AutotaskProducts against the Autotask emulator over HTTP: the TD SYNNEX vendor row as part of a
product's state (created with it, never silently lost, repaired by an update) and stock at a location."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

from channelsync.adapters.autotask_products import AutotaskProducts
from channelsync.clients.autotask import AutotaskClient
from channelsync.errors import FatalApiError, OutcomeUnknownError
from channelsync.runs.loader import Operation
from channelsync.sandbox.control_client import SandboxControl

FIELDS: dict[str, Any] = {
    "name": "Notebook 14 G9", "description": "A 14-inch notebook", "mpn": "NB-14-G9", "vendor_sku": "9900001",
    "manufacturer": "HP Inc.", "category": "Notebooks", "unit_cost": 700.0, "unit_price": 826.0, "msrp": 899.0,
    "active": True, "vendor": "TD SYNNEX",
}
STOCK_LOCATION = "TD SYNNEX Stock"


def create_op(**fields: Any) -> Operation:
    values = {**FIELDS, **fields}
    sku = values["vendor_sku"]
    return Operation(key=f"test:create:{sku}", op="create", source_key=f"tdsynnex:{sku}", target_id=None,
                     fields=values, changed_fields=list(values))


def update_op(product_id: int | str, changed: list[str], **fields: Any) -> Operation:
    return Operation(key=f"test:update:{product_id}:{'-'.join(changed)}", op="update", source_key="tdsynnex:x",
                     target_id=str(product_id), fields={**FIELDS, **fields}, changed_fields=changed)


def td_synnex_id(sandbox: SandboxControl) -> int:
    return next(c["id"] for c in sandbox.records("autotask", "Companies") if c["companyName"] == "TD SYNNEX")


def vendor_rows(sandbox: SandboxControl, product_id: int) -> list[dict[str, Any]]:
    return sandbox.records("autotask", "ProductVendors", productID=product_id)


def writes(sandbox: SandboxControl, since: int = 0) -> list[dict[str, Any]]:
    return [e for e in sandbox.requests("autotask", since=since)
            if e["method"] in ("POST", "PATCH", "PUT") and "/query" not in e["path"].lower()]


def seq(sandbox: SandboxControl) -> int:
    entries = sandbox.requests("autotask")
    return entries[-1]["seq"] if entries else 0


@pytest.fixture()
def adapter(client: AutotaskClient) -> AutotaskProducts:
    return AutotaskProducts(client)


@pytest.fixture()
def stocked(sandbox: SandboxControl, make_client: Callable[..., AutotaskClient]) -> AutotaskProducts:
    sandbox.create_record("autotask", "InventoryLocations", {"locationName": STOCK_LOCATION, "isActive": True,
                                                              "isDefault": False})
    return AutotaskProducts(make_client(), inventory_location=STOCK_LOCATION)


def test_reads_the_default_vendor_with_the_products_in_one_paged_pass(
    adapter: AutotaskProducts, sandbox: SandboxControl, calls: Callable[[str], list[dict[str, Any]]]
) -> None:
    sandbox.control("autotask", "products/bulk", json={"count": 1200})
    frame = adapter.read_products()
    products = {str(p["id"]): p for p in sandbox.records("autotask", "Products")}
    assert len(frame) == len(products) > 1000
    td = td_synnex_id(sandbox)
    for row in frame.itertuples():
        default = products[row.psa_id]["defaultVendorID"]
        vendor = None if pd.isna(row.vendor) else row.vendor
        assert vendor == ("TD SYNNEX" if default == td else None if default is None else f"company #{default}")
    assert (frame["vendor"] == "TD SYNNEX").any() and frame["vendor"].isna().any()
    pages = -(-len(products) // 500)
    assert len(calls("Products/query")) == pages
    reads = [e for e in sandbox.requests("autotask") if "zoneinformation" not in e["path"].lower()]
    assert len(reads) <= pages + 3  # + the category picklist, the TD SYNNEX company, the budget check
    assert frame["quantity_on_hand"].isna().all()  # stock is not read unless a location is configured
    assert not calls("InventoryItems")


def test_create_writes_the_vendor_row_and_autotask_sets_the_default_vendor(
    adapter: AutotaskProducts, sandbox: SandboxControl
) -> None:
    product_id = int(adapter.execute(create_op()))
    rows = vendor_rows(sandbox, product_id)
    assert [(r["vendorID"], r["vendorPartNumber"], r["vendorCost"], r["isDefault"], r["isActive"]) for r in rows] == [
        (td_synnex_id(sandbox), "9900001", 700.0, True, True)]
    assert sandbox.record("autotask", "Products", product_id)["defaultVendorID"] == td_synnex_id(sandbox)
    read = adapter.read_products().set_index("psa_id").loc[str(product_id)]
    assert read["vendor"] == "TD SYNNEX"


def test_a_failed_vendor_row_after_a_create_is_outcome_unknown_and_the_look_up_completes_it(
    adapter: AutotaskProducts, sandbox: SandboxControl
) -> None:
    """The defect: the row used to be 'best effort' and the create recorded as a success without it."""
    sandbox.set_faults({"kind": "status", "system": "autotask", "method": "POST", "path": r"Products/\d+/Vendors",
                        "status": 503, "count": 1})
    operation = create_op()
    with pytest.raises(OutcomeUnknownError) as unknown:
        adapter.execute(operation)
    assert unknown.value.code == "AUTOTASK_PRODUCT_INCOMPLETE"
    [product] = [p for p in sandbox.records("autotask", "Products") if p["sku"] == "9900001"]
    assert vendor_rows(sandbox, product["id"]) == [] and product["defaultVendorID"] is None
    # What the loader does with an unknown create: look it up by its natural key (never send it again).
    assert adapter.resolve_unknown(operation) == str(product["id"])
    assert len(vendor_rows(sandbox, product["id"])) == 1
    assert sandbox.record("autotask", "Products", product["id"])["defaultVendorID"] == td_synnex_id(sandbox)
    assert adapter.resolve_unknown(operation) == str(product["id"])  # idempotent: still one row, one product
    assert len(vendor_rows(sandbox, product["id"])) == 1
    assert len([p for p in sandbox.records("autotask", "Products") if p["sku"] == "9900001"]) == 1


def test_a_vendor_row_whose_answer_was_lost_is_not_written_twice(adapter: AutotaskProducts,
                                                                 sandbox: SandboxControl) -> None:
    sandbox.set_faults({"kind": "write_then_drop", "system": "autotask", "method": "POST",
                        "path": r"Products/\d+/Vendors", "count": 1})
    operation = create_op()
    with pytest.raises(OutcomeUnknownError):
        adapter.execute(operation)
    product_id = int(adapter.resolve_unknown(operation) or 0)
    assert len(vendor_rows(sandbox, product_id)) == 1


def test_a_failed_look_up_keeps_the_create_uncertain(adapter: AutotaskProducts, sandbox: SandboxControl) -> None:
    """A look-up error must not read as "failed" (which the ledger would send again blindly)."""
    sandbox.set_faults({"kind": "status", "system": "autotask", "path": "Products/query", "status": 503})
    with pytest.raises(OutcomeUnknownError) as unknown:
        adapter.resolve_unknown(create_op())
    assert unknown.value.code == "AUTOTASK_LOOKUP_FAILED"


def test_a_vendor_change_creates_the_missing_row_with_vendor_calls_only(
    adapter: AutotaskProducts, sandbox: SandboxControl
) -> None:
    hand_made = next(p for p in sandbox.records("autotask", "Products") if p["defaultVendorID"] is None)
    assert vendor_rows(sandbox, hand_made["id"]) == []
    mark = seq(sandbox)
    assert adapter.execute(update_op(hand_made["id"], ["vendor"], vendor_sku="5550001")) == str(hand_made["id"])
    sent = writes(sandbox, mark)
    assert [e["path"].rsplit("/", 2)[-1] for e in sent] == ["Vendors"]  # the product itself is not written
    assert sandbox.record("autotask", "Products", hand_made["id"])["defaultVendorID"] == td_synnex_id(sandbox)
    mark = seq(sandbox)
    adapter.execute(update_op(hand_made["id"], ["vendor"], vendor_sku="5550001"))  # resent: nothing to do
    assert writes(sandbox, mark) == [] and len(vendor_rows(sandbox, hand_made["id"])) == 1


def test_a_vendor_change_makes_an_existing_td_synnex_row_the_default_again(
    adapter: AutotaskProducts, sandbox: SandboxControl
) -> None:
    product_id = int(adapter.execute(create_op()))
    [row] = vendor_rows(sandbox, product_id)
    sandbox.edit_record("autotask", "ProductVendors", row["id"], {"isDefault": False})
    sandbox.edit_record("autotask", "Products", product_id, {"defaultVendorID": None})
    assert pd.isna(adapter.read_products().set_index("psa_id").loc[str(product_id), "vendor"])
    adapter.execute(update_op(product_id, ["vendor", "unit_price"], unit_price=830.0))
    [fixed] = vendor_rows(sandbox, product_id)
    assert fixed["id"] == row["id"] and fixed["isDefault"] and fixed["isActive"]
    product = sandbox.record("autotask", "Products", product_id)
    assert product["defaultVendorID"] == td_synnex_id(sandbox) and product["unitPrice"] == 830.0


def test_only_td_synnex_vendor_rows_are_written(adapter: AutotaskProducts, sandbox: SandboxControl) -> None:
    before = len(sandbox.records("autotask", "Products"))
    with pytest.raises(FatalApiError, match="TD SYNNEX vendor rows only"):
        adapter.execute(create_op(vendor="Ingram Micro"))
    assert len(sandbox.records("autotask", "Products")) == before  # refused before anything was written


def test_emulator_default_vendor_follows_the_default_row(adapter: AutotaskProducts, sandbox: SandboxControl,
                                                         client: AutotaskClient) -> None:
    product_id = int(adapter.execute(create_op()))
    [row] = vendor_rows(sandbox, product_id)
    client.update_product_vendor(product_id, {"id": row["id"], "isDefault": False})
    assert sandbox.record("autotask", "Products", product_id)["defaultVendorID"] is None
    client.update_product_vendor(product_id, {"id": row["id"], "isDefault": True})
    assert sandbox.record("autotask", "Products", product_id)["defaultVendorID"] == td_synnex_id(sandbox)


# ---- stock (catalog_sync sync_inventory) -------------------------------------------------------------------

def test_stock_needs_an_existing_location(sandbox: SandboxControl, make_client: Callable[..., AutotaskClient]) -> None:
    with pytest.raises(FatalApiError, match="no active Autotask inventory location named 'Nowhere'"):
        AutotaskProducts(make_client(), inventory_location="Nowhere").read_products()


def test_stock_is_created_with_the_product_and_read_back(stocked: AutotaskProducts, sandbox: SandboxControl,
                                                         calls: Callable[[str], list[dict[str, Any]]]) -> None:
    product_id = int(stocked.execute(create_op(quantity_on_hand=7)))
    [item] = sandbox.records("autotask", "InventoryItems", productID=product_id)
    location = next(r["id"] for r in sandbox.records("autotask", "InventoryLocations")
                    if r["locationName"] == STOCK_LOCATION)
    assert (item["inventoryLocationID"], item["quantityOnHand"]) == (location, 7)
    frame = stocked.read_products().set_index("psa_id")
    assert frame.loc[str(product_id), "quantity_on_hand"] == 7
    assert frame.loc[str(product_id), "inventory_id"] == str(item["id"])
    assert frame["quantity_on_hand"].notna().sum() == 1
    assert len(calls("InventoryItems/query")) == 1  # one paged query of the location


def test_a_changed_quantity_is_one_call(stocked: AutotaskProducts, sandbox: SandboxControl) -> None:
    product_id = int(stocked.execute(create_op(quantity_on_hand=7)))
    [item] = sandbox.records("autotask", "InventoryItems", productID=product_id)
    mark = seq(sandbox)
    stocked.execute(update_op(product_id, ["quantity_on_hand"], quantity_on_hand=3, inventory_id=str(item["id"])))
    assert [(e["method"], e["path"].rsplit("/", 1)[-1]) for e in writes(sandbox, mark)] == [("PATCH", "InventoryItems")]
    assert sandbox.record("autotask", "InventoryItems", item["id"])["quantityOnHand"] == 3
    # No item at the location yet: one create.
    other = next(p for p in sandbox.records("autotask", "Products") if p["id"] != product_id)
    mark = seq(sandbox)
    stocked.execute(update_op(other["id"], ["quantity_on_hand"], quantity_on_hand=11, inventory_id=None))
    assert [(e["method"], e["path"].rsplit("/", 1)[-1]) for e in writes(sandbox, mark)] == [("POST", "InventoryItems")]
    assert [i["quantityOnHand"] for i in sandbox.records("autotask", "InventoryItems", productID=other["id"])] == [11]


def test_a_lost_stock_create_is_not_doubled(stocked: AutotaskProducts, sandbox: SandboxControl) -> None:
    other = sandbox.records("autotask", "Products")[0]
    sandbox.set_faults({"kind": "write_then_drop", "system": "autotask", "method": "POST", "path": "InventoryItems$",
                        "count": 1})
    stocked.execute(update_op(other["id"], ["quantity_on_hand"], quantity_on_hand=4, inventory_id=None))
    stocked.execute(update_op(other["id"], ["quantity_on_hand"], quantity_on_hand=4, inventory_id=None))  # resent
    assert [i["quantityOnHand"] for i in sandbox.records("autotask", "InventoryItems", productID=other["id"])] == [4]


def test_a_quantity_without_a_configured_location_is_refused_not_dropped(adapter: AutotaskProducts,
                                                                          sandbox: SandboxControl) -> None:
    product = sandbox.records("autotask", "Products")[0]
    with pytest.raises(FatalApiError, match="no Autotask inventory location is configured"):
        adapter.execute(update_op(product["id"], ["quantity_on_hand"], quantity_on_hand=4))


def test_emulator_keeps_one_inventory_item_per_product_and_location(stocked: AutotaskProducts,
                                                                    client: AutotaskClient,
                                                                    sandbox: SandboxControl) -> None:
    product = sandbox.records("autotask", "Products")[0]
    location = next(r["id"] for r in sandbox.records("autotask", "InventoryLocations")
                    if r["locationName"] == STOCK_LOCATION)
    client.create("InventoryItems", {"productID": product["id"], "inventoryLocationID": location, "quantityOnHand": 1})
    with pytest.raises(FatalApiError, match="already stocked at this inventory location"):
        client.create("InventoryItems", {"productID": product["id"], "inventoryLocationID": location,
                                         "quantityOnHand": 2})
