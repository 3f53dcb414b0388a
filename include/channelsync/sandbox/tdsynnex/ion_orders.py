"""Ion customer orders (create, get, list, cancel) and reports (list, ``reportDataCsv``).

Lifecycle on the sandbox clock: ``NEW`` for 30 s, ``IN_PROGRESS`` until 120 s, then ``COMPLETED``
(CREATE items add a subscription, UPDATE items change its quantity); ``ERROR`` / ``ON_HOLD`` and the
other moves come from ``POST /_sandbox/tdsynnex/ion/orders/{orderId}/{status}``. Cancel is allowed
while ``NEW`` / ``ON_HOLD`` / ``IN_PROGRESS`` (else 412 ``FAILED_PRECONDITION``: assumption).
Validation answers the spec's COMM-VL errors (``code: 3``, ``v3orberrors.ErrorBody``); the detail
code ``"COMM-VL-001 "`` keeps the trailing space of the vendor's example.

The seeded subscriptions come with the orders that created them (:func:`seed_orders`): one COMPLETED
order per customer and purchase day, one CREATE item per subscription whose ``resourceId`` is the
subscription's id at the vendor. Lists (``GET /orders``, ``GET /customers/{customerId}/orders``, the
customer ``-`` meaning every customer) take the spec's ``pageSize`` / ``pageToken``, ``status``,
``filter.customerIdList``, ``filter.providerNameList``, ``filter.accountIdList``, ``sortBy``
(``createTime`` | ``updateTime``) and ``sortOrder`` (``DESC`` by default). Orders carry ``createTime`` and
``updateTime`` (named in the reference's order object; the spec's Order schema omits them). ASSUMPTIONS:
an unknown ``sortBy`` / ``sortOrder`` is a 400 ``INVALID_REQUEST``; ``filter.excludeSubAccounts`` is
accepted and changes nothing (the sandbox account has no sub-accounts).
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime, timedelta
from typing import Any

from channelsync.sandbox.framework import SandboxRequest, SandboxResponse, json_response
from channelsync.sandbox.store import Table
from channelsync.sandbox.tdsynnex.ion_common import (
    IonError,
    invalid,
    json_body,
    not_found,
    page,
    page_window,
    request_id,
)

ORDER_STATUSES = ["NEW", "CONFIRMED", "ON_HOLD", "COMPLETED", "ERROR", "CANCELED", "IN_PROGRESS"]
REQUIRED_ITEM_FIELDS = ["action", "productId", "skuId", "planId", "quantity", "attributes"]
BAD_PROVISIONING = "BAD_REQUEST: Invalid provisioning data"


class OrderValidation(Exception):
    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__(BAD_PROVISIONING)
        self.errors = errors


def validation_response(errors: list[dict[str, str]]) -> SandboxResponse:
    return json_response(400, {"error": BAD_PROVISIONING, "message": BAD_PROVISIONING, "code": 3, "details": [
        {"@type": "type.googleapis.com/v3orberrors.ErrorBody", "requestId": request_id(), "errors": errors}]})


def _validate(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict):
        raise invalid("request body must be a JSON object")
    items = body.get("orderItems")
    if not isinstance(items, list) or not items:
        raise invalid("must have required property 'orderItems'")
    errors: list[dict[str, str]] = []
    if "status" in body and body["status"] not in ORDER_STATUSES:
        errors.append({"code": "COMM-VL-002", "detail": "The 'order.status' must be equal to one of the allowed "
                       "values: ['NEW', 'CONFIRMED', 'ON_HOLD', 'COMPLETED', 'ERROR', 'CANCELED']."})
    for item in items:
        if not isinstance(item, dict):
            raise invalid("orderItems[] must be objects")
        for field in REQUIRED_ITEM_FIELDS:
            if item.get(field) in (None, ""):
                code = "COMM-VL-001 " if field == "productId" else "COMM-VL-001"
                errors.append({"code": code,
                               "detail": f"The '{field}' attribute must be present in the 'order.orderItem' object."})
        if "quantity" in item and not isinstance(item["quantity"], int):
            raise invalid(f"invalid value for orderItems.quantity: {item['quantity']!r} is not an integer")
        if item.get("action") not in (None, "", "CREATE", "UPDATE"):
            errors.append({"code": "COMM-VL-002", "detail": "The 'order.orderItem.action' must be equal to one of "
                           "the allowed values: ['CREATE', 'UPDATE']."})
        if item.get("action") == "UPDATE" and not item.get("resourceId"):
            errors.append({"code": "COMM-VL-003", "detail": "The 'resourceId' attribute must be present in the "
                           "'order.orderItem' object when 'action' is 'UPDATE'."})
        attributes = item.get("attributes")
        names = {a.get("name") for a in attributes if isinstance(a, dict)} if isinstance(attributes, list) else set()
        provider = str(item.get("providerName") or "AZURE").upper()
        if item.get("action") == "CREATE" and provider in ("AZURE", "MICROSOFT") and "domainName" not in names:
            errors.append({"code": "COMM-VL-004", "detail": "The 'domainName' attribute must be present in the "
                           "'Order.orderItem.attributes' array when the provider is 'AZURE' and the action is "
                           "'CREATE'."})
    if errors:
        raise OrderValidation(errors)
    return items


def create_order(request: SandboxRequest, account_id: str, customer_id: str, orders: Table,
                 plans: dict[str, dict[str, Any]], now: datetime) -> dict[str, Any]:
    body = json_body(request)
    items = _validate(body)
    order_id = str(orders.next_id())
    order_items, total = [], 0.0
    for number, item in enumerate(items, start=1):
        plan = plans.get(str(item.get("planId")))
        if plan is None:
            raise invalid(f"plan '{item.get('planId')}' not found in the catalog")
        total += plan["pricebookPrice"] * item["quantity"]
        order_items.append({
            "name": f"accounts/{account_id}/customers/{customer_id}/orders/{order_id}/orderItems/{number}",
            "referenceId": str(item.get("referenceId", "")), "action": item["action"],
            "resourceId": str(item.get("resourceId", "")), "productId": str(item["productId"]),
            "skuId": str(item["skuId"]), "planId": str(item["planId"]), "quantity": item["quantity"],
            "providerName": str(item.get("providerName") or "AZURE"), "price": plan["pricebookPrice"],
            "endCustomerPO": str(item.get("endCustomerPO", "")), "resellerPO": str(item.get("resellerPO", "")),
            "attributes": [a for a in item["attributes"] if isinstance(a, dict)], "status": "NEW", "errors": [],
        })
    record = {
        "orderId": order_id, "name": f"accounts/{account_id}/customers/{customer_id}/orders/{order_id}",
        "accountId": account_id, "customerId": customer_id, "referenceId": str(body.get("referenceId", "")),
        "displayName": str(body.get("displayName", "")), "userId": "1", "userName": "api",
        "userEmail": "api@msp.example", "status": "NEW", "currencyCode": "USD", "total": round(total, 2),
        "errors": [], "orderItems": order_items, "createTime": _stamp(now), "updateTime": _stamp(now),
        "_createdAt": now.isoformat(), "_applied": False,
    }
    orders.insert(record)
    return record


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def seed_orders(account_id: str, customers: dict[str, dict[str, Any]], subscriptions: list[dict[str, Any]],
                orders: Table) -> None:
    """The COMPLETED orders that created ``subscriptions``: one per customer and purchase day."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for sub in subscriptions:
        groups.setdefault((sub["customerId"], sub["subscriptionPurchasedDate"]), []).append(sub)
    for (customer_id, purchased), subs in sorted(groups.items(), key=lambda g: (g[0][1], int(g[0][0]))):
        order_id = str(orders.next_id())
        name = f"accounts/{account_id}/customers/{customer_id}/orders/{order_id}"
        domain = str((customers.get(customer_id) or {}).get("_domain") or "")
        items = [{
            "name": f"{name}/orderItems/{number}", "referenceId": f"seed-{sub['id']}", "action": "CREATE",
            "resourceId": sub["subscriptionId"], "productId": sub["ccpProductId"], "skuId": sub["ccpSkuId"],
            "planId": sub["ccpPlanId"], "quantity": int(sub["subscriptionTotalLicenses"]), "providerName": "AZURE",
            "price": sub["price"], "endCustomerPO": sub.get("customerPO", ""), "resellerPO": sub.get("resellerPO", ""),
            "attributes": [{"name": "domainName", "value": domain}] if domain else [], "status": "ACTIVE",
            "errors": [], "productName": sub["ccpProductInfo"]["productDisplayName"],
            "skuName": sub["ccpProductInfo"]["skuDisplayName"], "planName": sub["ccpProductInfo"]["planDisplayName"],
        } for number, sub in enumerate(subs, start=1)]
        created = datetime.fromisoformat(purchased.replace("Z", "+00:00"))
        orders.insert({
            "orderId": order_id, "name": name, "accountId": account_id, "customerId": customer_id,
            "referenceId": f"seed-{customer_id}-{purchased[:10]}", "displayName": f"Licenses {purchased[:10]}",
            "userId": "1", "userName": "portal", "userEmail": "orders@msp.example", "status": "COMPLETED",
            "currencyCode": "USD", "total": round(sum(i["price"] * i["quantity"] for i in items), 2), "errors": [],
            "orderItems": items, "createTime": purchased, "updateTime": purchased,
            "_createdAt": created.isoformat(), "_applied": True,
        })


def advance(order: dict[str, Any], now: datetime, subscriptions: list[dict[str, Any]]) -> None:
    """Move NEW / IN_PROGRESS along with the clock; apply a completed order once."""
    created = datetime.fromisoformat(order["_createdAt"])
    age = now - created
    if order["status"] == "NEW" and age >= timedelta(seconds=30):
        set_status(order, "IN_PROGRESS", subscriptions, created + timedelta(seconds=30))
    if order["status"] == "IN_PROGRESS" and age >= timedelta(seconds=120):
        set_status(order, "COMPLETED", subscriptions, created + timedelta(seconds=120))


def set_status(order: dict[str, Any], status: str, subscriptions: list[dict[str, Any]],
               when: datetime | None = None) -> None:
    if status not in ORDER_STATUSES:
        raise ValueError(f"unknown order status {status!r}")
    order["status"] = status
    if when is not None:
        order["updateTime"] = _stamp(when)
    for item in order["orderItems"]:
        item["status"] = {"COMPLETED": "ACTIVE"}.get(status, status)
    if status == "COMPLETED" and not order["_applied"]:
        order["_applied"] = True
        for item in order["orderItems"]:
            _apply_item(order, item, subscriptions)


def _apply_item(order: dict[str, Any], item: dict[str, Any], subscriptions: list[dict[str, Any]]) -> None:
    if item["action"] == "UPDATE":
        for sub in subscriptions:
            if sub["subscriptionId"] == item["resourceId"] or sub["id"] == item["resourceId"]:
                sub["subscriptionTotalLicenses"] = str(item["quantity"])
        return
    template = next((s for s in subscriptions if s["ccpPlanId"] == item["planId"]), None)
    new = dict(template or {}, id=str(800000 + len(subscriptions)), customerId=order["customerId"],
               subscriptionId=str(uuid.uuid5(uuid.NAMESPACE_URL, item["name"])),
               subscriptionTotalLicenses=str(item["quantity"]), customerPO=item["endCustomerPO"],
               resellerPO=item["resellerPO"], subscriptionStatus="ACTIVE")
    item["resourceId"] = new["subscriptionId"]
    subscriptions.append(new)


def cancel_order(order: dict[str, Any], now: datetime | None = None) -> None:
    if order["status"] not in ("NEW", "ON_HOLD", "IN_PROGRESS"):
        raise IonError(412, "FAILED_PRECONDITION",
                       f"order {order['orderId']} is {order['status']} and cannot be canceled")
    order["status"] = "CANCELED"
    if now is not None:
        order["updateTime"] = _stamp(now)
    for item in order["orderItems"]:
        item["status"] = "CANCELED"


def wire(order: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in order.items() if not k.startswith("_")}


SORT_FIELDS = ("createTime", "updateTime")


def list_orders(request: SandboxRequest, orders: list[dict[str, Any]], account_id: str) -> dict[str, Any]:
    offset, size = page_window(request)
    status = request.arg("status") or ""
    if status and status not in ORDER_STATUSES:
        raise invalid(f"invalid value for status: {status!r}")
    sort_by, sort_order = request.arg("sortBy") or "createTime", (request.arg("sortOrder") or "DESC").upper()
    if sort_by not in SORT_FIELDS or sort_order not in ("ASC", "DESC"):
        raise invalid(f"invalid sort {sort_by!r} {sort_order!r}: sortBy is createTime or updateTime, sortOrder "
                      "ASC or DESC")
    customers = _id_list(request.arg("filter.customerIdList"))
    providers = {p.upper() for p in _id_list(request.arg("filter.providerNameList"))}
    accounts = _id_list(request.arg("filter.accountIdList"))
    rows = [o for o in orders if (not status or o["status"] == status)
            and (not customers or o["customerId"] in customers)
            and (not providers or any(str(i.get("providerName", "")).upper() in providers for i in o["orderItems"]))
            and (not accounts or account_id in accounts)]
    rows.sort(key=lambda o: (o.get(sort_by) or "", int(o["orderId"])), reverse=sort_order == "DESC")
    chunk, next_token = page(rows, offset, size)
    return {"orders": [wire(o) for o in chunk], "nextPageToken": next_token}


def _id_list(value: str | None) -> set[str]:
    return {part.strip() for part in (value or "").split(",") if part.strip()}


def find_order(orders: Table, account_id: str, customer_id: str, order_id: str) -> dict[str, Any]:
    order = orders.get(order_id) if order_id.isdigit() else None
    if order is None or order["customerId"] != customer_id:
        raise not_found(f"accounts/{account_id}/customers/{customer_id}/orders/{order_id}")
    return order


# --- reports --------------------------------------------------------------------------------------

BILLING_REPORT_ID = "5001"
REPORT_COLUMNS = ["Customer ID", "Customer Name", "Subscription ID", "Product Name", "Manufacturer Part Number",
                  "Charge Type", "Charge Start", "Charge End", "Seat Count", "Unit Price (USD)",
                  "Seller Cost (USD)", "Customer Cost (USD)", "Margin (USD)"]


def list_reports() -> dict[str, Any]:
    return {"reports": [{
        "reportId": BILLING_REPORT_ID, "displayName": "Microsoft CSP license billing", "category": "BILLING_REPORTS",
        "reportModule": "REPORTS_REPORTS_MODULE", "createdBy": "system", "createTime": "2024-01-02T10:00:00Z",
        "providerIds": ["30"],
    }]}


def report_csv(request: SandboxRequest, report_id: str, subscriptions: list[dict[str, Any]],
               now: datetime) -> dict[str, Any]:
    if report_id != BILLING_REPORT_ID:
        raise not_found(f"reports/{report_id}")
    body = json_body(request) or {}
    if not isinstance(body, dict):
        raise invalid("request body must be a JSON object")
    first_of_month = now.date().replace(day=1)
    start = (first_of_month - timedelta(days=1)).replace(day=1)  # LAST_MONTH by default
    fixed = (((body.get("specs") or {}).get("dateRangeOption") or {}).get("fixedDateRange") or {})
    if fixed.get("startDate"):
        try:
            start = datetime.fromisoformat(str(fixed["startDate"])[:10]).date().replace(day=1)
        except ValueError as exc:
            raise invalid(f"invalid fixedDateRange.startDate {fixed['startDate']!r}") from exc
    end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(REPORT_COLUMNS)
    count = 0
    for sub in subscriptions:
        if sub.get("subscriptionStatus") != "ACTIVE" or sub["subscriptionStartDate"][:10] > end.isoformat():
            continue
        seats = int(sub["subscriptionTotalLicenses"])
        unit_cost = sub["cost"] if sub["subscriptionBillingCycle"] != "annual" else round(sub["cost"] / 12, 2)
        unit_price = sub["price"] if sub["subscriptionBillingCycle"] != "annual" else round(sub["price"] / 12, 2)
        seller, customer = round(unit_cost * seats, 2), round(unit_price * seats, 2)
        writer.writerow([sub["customerId"], sub["customerName"], sub["subscriptionId"], sub["subscriptionName"],
                         sub.get("mfgPartNumber", ""), "Cycle fee", start.isoformat(), end.isoformat(), seats,
                         f"{unit_price:.2f}", f"{seller:.2f}", f"{customer:.2f}", f"{customer - seller:.2f}"])
        count += 1
    return {"results": buffer.getvalue(), "resultCount": str(count)}
