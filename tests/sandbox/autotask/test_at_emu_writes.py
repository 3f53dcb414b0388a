"""Create / update / delete, child URLs and entity rules (docs/vendors/autotask.md §A.4, §A.7, §A.8)."""

from __future__ import annotations

from typing import Any

import pytest

NEW_PRODUCT = {"name": "Test Widget", "isActive": True, "isSerialized": False, "manufacturerProductName": "W-1",
               "unitCost": 10.5, "unitPrice": 20, "productCategory": 1}


def vendor_id(at: Any, name: str = "TD SYNNEX") -> int:
    return at.query("Companies", {"op": "eq", "field": "companyName", "value": name}).json()["items"][0]["id"]


def test_create_get_patch_put_product(at: Any) -> None:
    created = at.ok("POST", "Products", json=NEW_PRODUCT)
    new_id = created["itemId"]
    assert set(created) == {"itemId"}
    item = at.ok("GET", f"Products/{new_id}")["item"]
    assert item["name"] == "Test Widget" and item["unitCost"] == 10.5 and item["userDefinedFields"] == []
    assert at.ok("PATCH", "Products", json={"id": new_id, "unitPrice": 25.0}) == {"itemId": new_id}
    item = at.ok("GET", f"Products/{new_id}")["item"]
    assert item["unitPrice"] == 25.0 and item["manufacturerProductName"] == "W-1"
    at.ok("PUT", "Products", json={"id": new_id, "name": "Replaced", "isActive": True, "isSerialized": False})
    item = at.ok("GET", f"Products/{new_id}")["item"]
    assert item["name"] == "Replaced" and item["manufacturerProductName"] is None  # PUT clears unsent fields


def test_missing_id_reads_as_item_null(at: Any) -> None:
    assert at.ok("GET", "Products/987654") == {"item": None}


@pytest.mark.parametrize(("method", "path"), [("PATCH", "Products/1"), ("PUT", "Products/1"),
                                              ("DELETE", "Products/1"), ("DELETE", "Companies/1"),
                                              ("POST", "BillingCodes"), ("GET", "ContractServiceAdjustments/1")])
def test_operations_the_spec_does_not_have_are_405(at: Any, method: str, path: str) -> None:
    response = at.call(method, path, json={"id": 1})
    assert response.status_code == 405 and "Message" in response.json()


def test_required_field_and_boolean_literal(at: Any) -> None:
    missing = at.call("POST", "Products", json={"isActive": True, "isSerialized": False})
    assert missing.status_code == 500 and "name" in at.error_of(missing)
    not_bool = at.call("POST", "Products", json={**NEW_PRODUCT, "isActive": "yes"})
    assert not_bool.status_code == 500 and "isActive" in at.error_of(not_bool)


def test_picklist_value_must_exist(at: Any) -> None:
    response = at.call("POST", "Products", json={**NEW_PRODUCT, "productCategory": 999})
    assert response.status_code == 500
    assert at.error_of(response) == "Value does not reference an existing entity for productCategory . "


def test_patch_of_a_missing_id_is_a_500(at: Any) -> None:
    response = at.call("PATCH", "Products", json={"id": 987654, "name": "x"})
    assert response.status_code == 500 and at.error_of(response)


def test_product_vendors_through_the_parent_url(at: Any) -> None:
    product_id = at.ok("POST", "Products", json=NEW_PRODUCT)["itemId"]
    vendor = vendor_id(at)
    row_id = at.ok("POST", f"Products/{product_id}/Vendors", json={
        "vendorID": vendor, "vendorPartNumber": "5550001", "vendorCost": 9.99, "isDefault": True, "isActive": True,
    })["itemId"]
    listed = at.ok("GET", f"Products/{product_id}/Vendors")["items"]
    assert [(r["id"], r["productID"], r["vendorPartNumber"]) for r in listed] == [(row_id, product_id, "5550001")]
    assert at.ok("GET", f"Products/{product_id}")["item"]["defaultVendorID"] == vendor
    queried = at.query("ProductVendors", {"op": "eq", "field": "productID", "value": product_id}).json()["items"]
    assert [r["id"] for r in queried] == [row_id]
    customer = at.query("Companies", {"op": "eq", "field": "companyType", "value": 1}).json()["items"][0]["id"]
    refused = at.call("POST", f"Products/{product_id}/Vendors",
                      json={"vendorID": customer, "isDefault": False, "isActive": True})
    assert refused.status_code == 500 and "vendorID" in at.error_of(refused)


def recurring_code(at: Any) -> int:
    rows = at.query("BillingCodes", {"op": "eq", "field": "name", "value": "Recurring Services"}).json()["items"]
    return rows[0]["id"]


def test_service_name_is_unique(at: Any) -> None:
    body = {"name": "PC_TEST-1", "unitPrice": 5, "periodType": 2, "billingCodeID": recurring_code(at)}
    at.ok("POST", "Services", json=body)
    duplicate = at.call("POST", "Services", json={**body, "name": "pc_test-1"})
    assert duplicate.status_code == 500
    assert at.error_of(duplicate).startswith("Violation of UNIQUE KEY constraint 'IX_service'.")


@pytest.mark.parametrize(("field", "limit"), [("description", 400), ("invoiceDescription", 1000)])
def test_service_description_lengths(at: Any, field: str, limit: int) -> None:
    body: dict[str, Any] = {"name": f"PC_LEN_{field}", "unitPrice": 5, "periodType": 2,
                            "billingCodeID": recurring_code(at)}
    assert at.call("POST", "Services", json={**body, field: "x" * limit}).status_code == 200
    too_long = at.call("POST", "Services", json={**body, "name": f"PC_LEN_{field}2", field: "x" * (limit + 1)})
    assert too_long.status_code == 500 and str(limit) in at.error_of(too_long)


def first_recurring_contract(at: Any) -> dict[str, Any]:
    return at.query("Contracts", {"op": "eq", "field": "contractType", "value": 7}).json()["items"][0]


def test_adjustment_outside_the_contract_dates_is_refused(at: Any) -> None:
    contract = first_recurring_contract(at)
    response = at.call("POST", f"Contracts/{contract['id']}/ServiceAdjustments",
                       json={"serviceID": 1, "effectiveDate": "2030-01-01", "unitChange": 1})
    assert response.status_code == 500 and "effectiveDate" in at.error_of(response)


def test_adjustment_creates_the_contract_service_and_applies_units(at: Any) -> None:
    contract = first_recurring_contract(at)
    service = at.ok("POST", "Services", json={"name": "PC_ADJ", "unitPrice": 12, "unitCost": 8, "periodType": 2,
                                              "billingCodeID": recurring_code(at)})["itemId"]
    at.ok("POST", "ContractServiceAdjustments", json={
        "contractID": contract["id"], "serviceID": service, "effectiveDate": "2026-03-15T00:00:00",
        "unitChange": 4, "adjustedUnitPrice": 11.5,
    })
    services = at.query("ContractServices", {"op": "eq", "field": "serviceID", "value": service}).json()["items"]
    assert len(services) == 1 and services[0]["contractID"] == contract["id"] and services[0]["unitPrice"] == 11.5
    units = at.query("ContractServiceUnits",
                     {"op": "eq", "field": "contractServiceID", "value": services[0]["id"]}).json()["items"]
    by_start = {u["startDate"][:10]: u["units"] for u in units}
    assert by_start["2026-03-01"] == 0 and by_start["2026-03-15"] == 4 and by_start["2026-04-01"] == 4
    assert at.call("POST", "ContractServiceAdjustments/query", json={"filter": []}).status_code == 405


def test_contract_services_only_on_recurring_contracts(at: Any) -> None:
    tm = at.query("Contracts", {"op": "eq", "field": "contractType", "value": 1}).json()["items"][0]
    response = at.call("POST", f"Contracts/{tm['id']}/Services", json={"serviceID": 1})
    assert response.status_code == 500 and "contractType = 7" in at.error_of(response)


def test_purchase_order_item_and_receiving_rules(at: Any) -> None:
    location = at.query("InventoryLocations", {"op": "exist", "field": "id"}).json()["items"][0]["id"]
    po = at.ok("POST", "PurchaseOrders", json={
        "vendorID": vendor_id(at), "status": 1, "shipToName": "MSP", "shipToAddress1": "1 Main St",
        "shipToCity": "Denver", "shipToState": "CO", "shipToPostalCode": "80202"})["itemId"]
    item = at.ok("POST", f"PurchaseOrders/{po}/Items", json={"productID": 1, "inventoryLocationID": location,
                                                             "quantity": 3, "unitCost": 10})["itemId"]
    early = at.call("POST", f"PurchaseOrderItems/{item}/Receiving", json={"quantityNowReceiving": 1})
    assert early.status_code == 500 and "submitted" in at.error_of(early)
    at.ok("PATCH", "PurchaseOrders", json={"id": po, "status": 2})
    late_item = at.call("POST", f"PurchaseOrders/{po}/Items", json={"productID": 1, "inventoryLocationID": location,
                                                                    "quantity": 1, "unitCost": 10})
    assert late_item.status_code == 500 and "New" in at.error_of(late_item)
    at.ok("POST", f"PurchaseOrderItems/{item}/Receiving", json={"quantityNowReceiving": 2})
    assert at.ok("GET", f"PurchaseOrders/{po}")["item"]["status"] == 3
    at.ok("POST", f"PurchaseOrderItems/{item}/Receiving", json={"quantityNowReceiving": 1})
    assert at.ok("GET", f"PurchaseOrders/{po}")["item"]["status"] == 4
    stock = at.query("InventoryItems", {"op": "eq", "field": "productID", "value": 1},
                     {"op": "eq", "field": "inventoryLocationID", "value": location}).json()["items"]
    assert stock[0]["quantityOnHand"] == 3


def test_delete_where_allowed_and_missing_delete(at: Any) -> None:
    bundle = at.query("ServiceBundles", {"op": "exist", "field": "id"}).json()["items"][0]["id"]
    assert at.ok("DELETE", f"ServiceBundles/{bundle}") == {"itemId": bundle}
    assert at.ok("GET", f"ServiceBundles/{bundle}") == {"item": None}
    again = at.call("DELETE", f"ServiceBundles/{bundle}")
    assert again.status_code == 500 and "No matching records found" in at.error_of(again)


def test_entity_information_and_picklists(at: Any) -> None:
    info = at.ok("GET", "Products/entityInformation")["info"]
    assert info["canCreate"] and info["canUpdate"] and not info["canDelete"] and info["hasUserDefinedFields"]
    fields = {f["name"]: f for f in at.ok("GET", "Products/entityInformation/fields")["fields"]}
    category = fields["productCategory"]
    assert category["isPickList"]
    assert {"value": "1", "label": "Notebooks"}.items() <= category["picklistValues"][0].items()
    contract_fields = at.ok("GET", "Contracts/entityInformation/fields")["fields"]
    contract_types = {f["name"]: f for f in contract_fields}["contractType"]
    assert {v["label"]: v["value"] for v in contract_types["picklistValues"]}["Recurring Service"] == "7"
    udfs = at.ok("GET", "Products/entityInformation/userDefinedFields")["fields"]
    assert [u["name"] for u in udfs] == ["Distributor SKU"]
