"""Ion v3 emulator: every exercised response validates against the vendor's OpenAPI schemas; errors
come in the Google-RPC envelope; the token endpoint rotates and refuses reuse as documented."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

from channelsync.sandbox import demo_credentials
from channelsync.sandbox.control_client import SandboxControl
from channelsync.sandbox.server import SandboxServer

Call = Callable[..., requests.Response]
Schema = Callable[[Any, str], None]
Envelope = Callable[[Any], None]


def test_token_rotation_and_validate_access(sandbox: SandboxControl, sandbox_server: SandboxServer) -> None:
    url = f"{sandbox_server.url}/tdsynnex/ion/oauth"
    seed = demo_credentials.TDSYNNEX_ION["refresh_token"]
    first = requests.post(f"{url}/token", data={"grant_type": "refresh_token", "refresh_token": seed}, timeout=5)
    body = first.json()
    assert first.status_code == 200 and set(body) == {"access_token", "expires_in", "refresh_token", "token_type"}
    assert body["expires_in"] == 7200 and body["token_type"] == "Bearer" and body["refresh_token"] != seed
    again = requests.post(f"{url}/token", data={"grant_type": "refresh_token", "refresh_token": seed}, timeout=5)
    assert again.status_code == 400 and again.json() == {"error": "cannot validate token: redis: nil"}
    valid = requests.post(f"{url}/validateAccess", data={"access_token": body["access_token"]}, timeout=5).json()
    assert set(valid) == {"access_expires_in", "refresh_expires_in"} and valid["access_expires_in"] > 7000
    nxt = requests.post(f"{url}/token", data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
                        timeout=5)
    assert nxt.status_code == 200


def test_list_and_detail_responses_match_the_spec(ion_get: Call, schema: Schema) -> None:
    products = ion_get("GET", "/products", params={"pageSize": 4}).json()
    schema(products, "ListProductsResponse")
    assert len(products["products"]) == 4 and products["nextPageToken"]
    second = ion_get("GET", "/products", params={"pageToken": products["nextPageToken"]}).json()
    assert {p["id"] for p in second["products"]}.isdisjoint({p["id"] for p in products["products"]})
    schema(ion_get("GET", f"/products/{products['products'][0]['id']}").json(), "ProductResponse")
    pricing = ion_get("POST", "/products:pricing", json={"externalProductWithProvider": [
        {"provider": "MICROSOFT", "externalProducts": ["CFQ7TTC0LDPB:0001:P1M:M"]}], "priceBookCustomerId": 10002})
    schema(pricing.json(), "GetProductPricing")
    customers = ion_get("GET", "/customers", params={"pageSize": 2}).json()
    schema(customers, "ListCustomers")
    customer_id = customers["customers"][0]["name"].rsplit("/", 1)[-1]
    schema(ion_get("GET", f"/customers/{customer_id}").json(), "GetCustomerResponse")
    schema(ion_get("GET", f"/customers/{customer_id}/cloudProfiles").json(), "CustomerCloudProfiles")
    subs = ion_get("GET", "/subscriptions", params={"pagination.limit": 3, "customerId": customer_id}).json()
    schema(subs, "ListSubscriptions")
    detail = ion_get("GET", f"/customers/{customer_id}/subscriptions/{subs['items'][0]['id']}").json()
    schema(detail, "Subscription")
    schema(ion_get("GET", "/reports").json(), "ListReportsResponse")
    csv = ion_get("POST", "/reports/5001/reportDataCsv", json={"reportId": "5001"}).json()
    schema(csv, "GetReportDataCsvResponse")
    assert csv["results"].startswith("Customer ID,") and int(csv["resultCount"]) >= 0


def test_order_responses_match_the_spec(ion_get: Call, schema: Schema, sandbox: SandboxControl) -> None:
    customers = ion_get("GET", "/customers", params={"pageSize": 1}).json()
    customer_id = customers["customers"][0]["name"].rsplit("/", 1)[-1]
    body = {"referenceId": "r1", "displayName": "seats", "orderItems": [{
        "action": "CREATE", "productId": "20001", "skuId": "0001", "planId": "CFQ7TTC0LH18:0001:P1M:M",
        "quantity": 2, "attributes": [{"name": "domainName", "value": "a.onmicrosoft.com"}]}]}
    schema(body, "OrderRequest")
    created = ion_get("POST", f"/customers/{customer_id}/orders", json=body).json()
    schema(created, "Order")
    schema(ion_get("GET", f"/customers/{customer_id}/orders", params={"pageSize": 5}).json(), "ListOrdersResponse")
    schema(ion_get("GET", "/orders", params={"pageSize": 5}).json(), "ListOrdersResponse")
    sandbox.control("tdsynnex", f"ion/orders/{created['orderId']}/error")
    assert ion_get("GET", f"/customers/{customer_id}/orders/{created['orderId']}").json()["status"] == "ERROR"


def _all(ion_get: Call, path: str, **params: Any) -> list[dict[str, Any]]:
    out, token = [], ""
    while True:
        body = ion_get("GET", path, params={"pageSize": 4, **params, **({"pageToken": token} if token else {})}).json()
        out.extend(body["orders"])
        token = body["nextPageToken"]
        if not token:
            return out


def test_an_account_with_subscriptions_has_the_orders_that_created_them(ion_get: Call, schema: Schema,
                                                                        rpc_envelope: Envelope) -> None:
    subscriptions = ion_get("GET", "/subscriptions", params={"pagination.limit": 1000}).json()["items"]
    first_page = ion_get("GET", "/orders", params={"pageSize": 4}).json()
    schema(first_page, "ListOrdersResponse")
    assert len(first_page["orders"]) == 4 and first_page["nextPageToken"]
    orders = _all(ion_get, "/orders")
    schema({"orders": orders}, "ListOrdersResponse")
    created = {item["resourceId"]: (order, item) for order in orders for item in order["orderItems"]
               if item["action"] == "CREATE"}
    assert subscriptions and len(created) == len(subscriptions)
    for sub in subscriptions:
        order, item = created[sub["subscriptionId"]]
        assert order["status"] == "COMPLETED" and order["customerId"] == sub["customerId"]
        assert (item["planId"], item["quantity"], item["skuId"]) == (
            sub["ccpPlanId"], int(sub["subscriptionTotalLicenses"]), sub["ccpSkuId"])
        assert order["name"] == f"accounts/{order['accountId']}/customers/{sub['customerId']}/orders/{order['orderId']}"
        assert order["createTime"] <= sub["subscriptionStartDate"]
    # newest first by default; ASC reverses; one customer's list, and "-" for every customer
    times = [o["createTime"] for o in orders]
    assert times == sorted(times, reverse=True)
    assert [o["orderId"] for o in _all(ion_get, "/orders", sortOrder="ASC", sortBy="createTime")] == [
        o["orderId"] for o in reversed(orders)]
    customer = subscriptions[0]["customerId"]
    mine = _all(ion_get, f"/customers/{customer}/orders")
    schema({"orders": mine}, "ListOrdersResponse")
    assert mine and {o["customerId"] for o in mine} == {customer}
    assert [o["orderId"] for o in _all(ion_get, "/orders", **{"filter.customerIdList": customer})] == [
        o["orderId"] for o in mine]
    assert len(_all(ion_get, "/customers/-/orders")) == len(orders)
    assert len(_all(ion_get, "/orders", status="COMPLETED", **{"filter.providerNameList": "azure"})) == len(orders)
    assert _all(ion_get, "/orders", status="NEW") == []
    bad = ion_get("GET", "/orders", params={"pageSize": 4, "sortBy": "total"})
    assert bad.status_code == 400 and bad.json()["error"] == "INVALID_REQUEST"
    rpc_envelope(bad.json())
    assert ion_get("GET", "/orders").status_code == 400  # pageSize is required
    assert ion_get("GET", "/customers/99999/orders", params={"pageSize": 4}).status_code == 404


def test_errors_use_the_rpc_envelope(ion_get: Call, rpc_envelope: Envelope, schema: Schema,
                                     sandbox_server: SandboxServer) -> None:
    missing = ion_get("GET", "/products")
    assert missing.status_code == 400
    assert missing.json()["message"] == "At least one of page_size and page_token must be present"
    rpc_envelope(missing.json())
    for response, status, error in [
        (ion_get("GET", "/customers/99999"), 404, "NOT_FOUND"),
        (ion_get("GET", "/products", params={"pageSize": "ten"}), 400, "INVALID_REQUEST"),
        (ion_get("GET", "/products", params={"pageToken": "%%%"}), 400, "INVALID_REQUEST"),
        (ion_get("POST", "/products:pricing", data=b"{not json", headers={"Content-Type": "application/json"}),
         400, "INVALID_REQUEST"),
        (requests.get(f"{sandbox_server.url}/tdsynnex/ion/api/v3/accounts/1/products?pageSize=1", timeout=5),
         401, "UNAUTHENTICATED"),
    ]:
        assert (response.status_code, response.json()["error"]) == (status, error)
        rpc_envelope(response.json())


def test_order_validation_errors_are_comm_vl(ion_get: Call, schema: Schema) -> None:
    customers = ion_get("GET", "/customers", params={"pageSize": 1}).json()
    customer_id = customers["customers"][0]["name"].rsplit("/", 1)[-1]
    response = ion_get("POST", f"/customers/{customer_id}/orders", json={"orderItems": [
        {"action": "CREATE", "skuId": "0001", "planId": "CFQ7TTC0LH18:0001:P1M:M", "quantity": 1, "attributes": []},
        {"action": "UPDATE", "productId": "20001", "skuId": "0001", "planId": "CFQ7TTC0LH18:0001:P1M:M",
         "quantity": 1, "attributes": []}]})
    body = response.json()
    assert response.status_code == 400 and body["code"] == 3
    assert body["error"] == body["message"] == "BAD_REQUEST: Invalid provisioning data"
    schema(body, "CreateandUpdateErrorResponse")
    codes = [e["code"].strip() for e in body["details"][0]["errors"]]
    assert codes == ["COMM-VL-001", "COMM-VL-004", "COMM-VL-003"]
    assert body["details"][0]["@type"] == "type.googleapis.com/v3orberrors.ErrorBody"
    wrong_type = ion_get("POST", f"/customers/{customer_id}/orders", json={"orderItems": [
        {"action": "CREATE", "productId": "20001", "skuId": "0001", "planId": "x", "quantity": "two",
         "attributes": []}]})
    assert wrong_type.status_code == 400 and wrong_type.json()["error"] == "INVALID_REQUEST"


def test_other_account_is_permission_denied(sandbox: SandboxControl, sandbox_server: SandboxServer,
                                            rpc_envelope: Envelope) -> None:
    token = requests.post(f"{sandbox_server.url}/tdsynnex/ion/oauth/token", timeout=5, data={
        "grant_type": "refresh_token", "refresh_token": demo_credentials.TDSYNNEX_ION["refresh_token"]}).json()
    response = requests.get(f"{sandbox_server.url}/tdsynnex/ion/api/v3/accounts/10001/products?pageSize=1",
                            headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=5)
    assert response.status_code == 403 and response.json()["message"] == "permission denied to access accounts/10001"
    rpc_envelope(response.json())
