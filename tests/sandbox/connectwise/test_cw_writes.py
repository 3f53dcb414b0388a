"""Writes over HTTP: POST 201 + record, PUT, PATCH (JSON Patch lists), DELETE 204, server-side rules."""

from __future__ import annotations

import requests

CATALOG = "/procurement/catalog"


def new_item(**overrides: object) -> dict:
    return {"identifier": "NEW-SKU-1", "description": "New thing", "customerDescription": "A new thing",
            "subcategory": {"id": 1}, "type": {"name": "Hardware"}, "manufacturer": {"name": "lenovo"},
            "vendor": {"identifier": "TDSYNNEX"}, "price": 10.5, "cost": 7.25, **overrides}


def test_post_returns_201_with_the_full_record(api: str, cw: requests.Session) -> None:
    response = cw.post(api + CATALOG, json=new_item(bogusField=1, id=999), timeout=5)
    assert response.status_code == 201
    item = response.json()
    assert item["id"] != 999 and "bogusField" not in item
    assert item["subcategory"]["name"] == "Notebooks" and item["type"]["id"] == 1
    assert item["manufacturer"]["name"] == "Lenovo" and item["vendor"]["identifier"] == "TDSYNNEX"
    assert item["productClass"] == "NonInventory" and item["inactiveFlag"] is False  # defaults
    assert item["_info"]["lastUpdated"] and response.headers["Location"].endswith(f"/procurement/catalog/{item['id']}")
    assert cw.get(f"{api}{CATALOG}/{item['id']}", timeout=5).json() == item


def test_patch_applies_json_patch_ops(api: str, cw: requests.Session) -> None:
    item = cw.post(api + CATALOG, json=new_item(notes="keep me"), timeout=5).json()
    ops = [{"op": "replace", "path": "price", "value": 12.0}, {"op": "replace", "path": "/description",
                                                                 "value": "Renamed"},
           {"op": "remove", "path": "notes"}, {"op": "replace", "path": "manufacturer", "value": {"id": 2}},
           {"op": "replace", "path": "vendor/identifier", "value": "IGNORED"}]
    patched = cw.patch(f"{api}{CATALOG}/{item['id']}", json=ops, timeout=5)
    assert patched.status_code == 200
    body = patched.json()
    assert body["price"] == 12.0 and body["description"] == "Renamed" and "notes" not in body
    assert body["manufacturer"]["id"] == 2 and body["vendor"] == item["vendor"]  # sub-path: the false 200
    assert body["identifier"] == item["identifier"]


def test_put_replaces_the_whole_record(api: str, cw: requests.Session) -> None:
    item = cw.post(api + CATALOG, json=new_item(notes="gone after put"), timeout=5).json()
    replaced = cw.put(f"{api}{CATALOG}/{item['id']}", json=new_item(description="Put"), timeout=5)
    assert replaced.status_code == 200
    body = replaced.json()
    assert body["id"] == item["id"] and body["description"] == "Put" and "notes" not in body


def test_delete_answers_204_then_404(api: str, cw: requests.Session) -> None:
    item = cw.post(api + CATALOG, json=new_item(), timeout=5).json()
    deleted = cw.delete(f"{api}{CATALOG}/{item['id']}", timeout=5)
    assert deleted.status_code == 204 and deleted.content == b""
    assert cw.get(f"{api}{CATALOG}/{item['id']}", timeout=5).status_code == 404


def test_unique_identifier_is_free_again_after_delete_and_case_insensitive(api: str, cw: requests.Session) -> None:
    item = cw.post(api + CATALOG, json=new_item(), timeout=5).json()
    assert cw.post(api + CATALOG, json=new_item(identifier="new-sku-1"), timeout=5).status_code == 400
    cw.delete(f"{api}{CATALOG}/{item['id']}", timeout=5)
    assert cw.post(api + CATALOG, json=new_item(identifier="new-sku-1"), timeout=5).status_code == 201


def test_purchase_order_lines_and_status_rules(api: str, cw: requests.Session) -> None:
    statuses = {s["name"]: s for s in cw.get(api + "/procurement/purchaseorderstatuses", timeout=5).json()}
    po = cw.post(api + "/procurement/purchaseorders", json={
        "status": {"id": statuses["New"]["id"]}, "terms": {"name": "Net 30"},
        "vendorCompany": {"identifier": "TDSYNNEX"}}, timeout=5)
    assert po.status_code == 201
    po_body = po.json()
    assert po_body["poNumber"] and po_body["closedFlag"] is False and po_body["vendorCompany"]["name"] == "TD SYNNEX"
    line = cw.post(f"{api}/procurement/purchaseorders/{po_body['id']}/lineitems", json={
        "product": {"id": 1}, "description": "Line", "quantity": 3, "unitCost": 10.0,
        "unitOfMeasure": {"name": "Each"}}, timeout=5).json()
    assert line["lineNumber"] == 1 and line["extCost"] == 30.0 and line["purchaseOrderId"] == po_body["id"]
    assert line["product"]["identifier"] and line["receivedStatus"] == "Waiting"
    assert cw.get(f"{api}/procurement/purchaseorders/{po_body['id']}", timeout=5).json()["total"] == 30.0
    closed = cw.patch(f"{api}/procurement/purchaseorders/{po_body['id']}", json=[
        {"op": "replace", "path": "status", "value": {"id": statuses["Closed"]["id"]}},
        {"op": "replace", "path": "closedFlag", "value": False}], timeout=5).json()
    assert closed["closedFlag"] is True and closed["dateClosed"]  # the flag follows the status only
    refused = cw.post(f"{api}/procurement/purchaseorders/{po_body['id']}/lineitems", json={
        "product": {"id": 1}, "description": "Late", "unitOfMeasure": {"id": 1}}, timeout=5)
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "purchaseOrderId"


def test_agreement_additions(api: str, cw: requests.Session) -> None:
    agreements = cw.get(api + "/finance/agreements", params={
        "conditions": 'type/name = "Microsoft 365" and agreementStatus = "Active"', "pageSize": "1000"}, timeout=5)
    agreement = agreements.json()[0]
    addition = cw.post(f"{api}/finance/agreements/{agreement['id']}/additions", json={
        "product": {"identifier": "MS-USER"}, "quantity": 12, "unitPrice": 20.0, "unitCost": 15.5,
        "billCustomer": "Billable", "effectiveDate": "2025-02-01T00:00:00Z"}, timeout=5)
    assert addition.status_code == 201
    body = addition.json()
    assert body["agreementId"] == agreement["id"] and body["extPrice"] == 240.0 and body["extCost"] == 186.0
    assert body["agreementStatus"] == "Active" and body["product"]["identifier"] == "MS-USER"
    url = f"{api}/finance/agreements/{agreement['id']}/additions/{body['id']}"
    cancelled = cw.patch(url, json=[{"op": "replace", "path": "cancelledDate", "value": "2025-03-01T00:00:00Z"},
                                    {"op": "replace", "path": "quantity", "value": 5}], timeout=5).json()
    assert cancelled["agreementStatus"] == "Cancelled" and cancelled["extPrice"] == 100.0
    listed = cw.get(f"{api}/finance/agreements/{agreement['id']}/additions", timeout=5).json()
    assert [a["id"] for a in listed] == [body["id"]]
    other = agreements.json()[1]["id"]
    assert cw.get(f"{api}/finance/agreements/{other}/additions/{body['id']}", timeout=5).status_code == 404
    assert cw.delete(url, timeout=5).status_code == 204


def test_cancelled_agreements_are_seeded(api: str, cw: requests.Session) -> None:
    statuses = {a["agreementStatus"] for a in cw.get(api + "/finance/agreements", params={"pageSize": "1000"},
                                                      timeout=5).json()}
    assert statuses == {"Active", "Cancelled"}


def test_manufacturer_category_and_type_crud(api: str, cw: requests.Session) -> None:
    created = cw.post(api + "/procurement/manufacturers", json={"name": "Netgear"}, timeout=5)
    assert created.status_code == 201 and created.json()["inactiveFlag"] is False
    category = cw.post(api + "/procurement/categories", json={"name": "Networking"}, timeout=5).json()
    sub = cw.post(api + "/procurement/subcategories", json={"name": "Routers", "category": {"id": category["id"]}},
                  timeout=5).json()
    assert sub["category"] == {**sub["category"], "id": category["id"], "name": "Networking"}
    product_type = cw.post(api + "/procurement/types", json={"name": "Accessory"}, timeout=5)
    assert product_type.status_code == 201
