"""The Pax8 emulator over real HTTP: conformance, auth, paging, errors, rate limit, billing levers."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import requests

from channelsync.sandbox.control_client import SandboxControl


def _items(session: requests.Session, url: str, invoice_id: str) -> list[dict[str, Any]]:
    return session.get(f"{url}/invoices/{invoice_id}/items", params={"size": 200}, timeout=10).json(
        parse_float=Decimal)["content"]


def _check_arithmetic(invoice: dict[str, Any], items: list[dict[str, Any]]) -> None:
    total = Decimal("0.00")
    for item in items:
        found = re.search(r"(\d+) of (\d+) days; billable ratio (-?[\d.]+)", item["details"])
        assert found is not None, item["details"]
        days, period, ratio = found.groups()
        ratio_value = Decimal(ratio)
        assert ratio_value == (Decimal(days) / Decimal(period)).quantize(Decimal("0.000001"), ROUND_HALF_UP)
        if item["term"] != "Arrears":
            start, end = date.fromisoformat(item["startPeriod"]), date.fromisoformat(item["endPeriod"])
            assert (end - start).days + 1 == int(days)
        cost = (Decimal(item["quantity"]) * item["cost"] * ratio_value).quantize(Decimal("0.01"), ROUND_HALF_UP)
        price = (Decimal(item["quantity"]) * item["price"] * ratio_value).quantize(Decimal("0.01"), ROUND_HALF_UP)
        assert cost == item["costTotal"] == item["amountDue"], item
        assert price == item["subTotal"] == item["total"], item
        total += cost
    assert total == invoice["total"]


def test_every_read_conforms_to_the_spec(pax8: requests.Session, pax8_url: str, conforms: Any,
                                         token_body: dict[str, str]) -> None:
    conforms(requests.post(f"{pax8_url}/token", json=token_body, timeout=10).json(), "/token", "post")
    companies = pax8.get(f"{pax8_url}/companies", timeout=10).json()
    conforms(companies, "/companies")
    company_id = companies["content"][0]["id"]
    conforms(pax8.get(f"{pax8_url}/companies/{company_id}", timeout=10).json(), "/companies/{companyId}")
    products = pax8.get(f"{pax8_url}/products", params={"size": 50}, timeout=10).json()
    conforms(products, "/products")
    product = next(p for p in products["content"] if p["requiresCommitment"])
    conforms(pax8.get(f"{pax8_url}/products/{product['id']}", timeout=10).json(), "/products/{productId}")
    conforms(pax8.get(f"{pax8_url}/products/{product['id']}/pricing", timeout=10).json(),
             "/products/{productId}/pricing")
    conforms(pax8.get(f"{pax8_url}/products/{product['id']}/dependencies", timeout=10).json(),
             "/products/{productId}/dependencies")
    subs = pax8.get(f"{pax8_url}/subscriptions", params={"companyId": company_id}, timeout=10).json()
    conforms(subs, "/subscriptions")
    conforms(pax8.get(f"{pax8_url}/subscriptions/{subs['content'][0]['id']}", timeout=10).json(),
             "/subscriptions/{subscriptionId}")
    invoices = pax8.get(f"{pax8_url}/invoices", timeout=10).json()
    conforms(invoices, "/invoices")
    invoice_id = invoices["content"][0]["id"]
    conforms(pax8.get(f"{pax8_url}/invoices/{invoice_id}", timeout=10).json(), "/invoices/{invoiceId}")
    conforms(pax8.get(f"{pax8_url}/invoices/{invoice_id}/items", timeout=10).json(), "/invoices/{invoiceId}/items")
    commitment = pax8.get(f"{pax8_url}/products/{product['id']}/dependencies", timeout=10).json()[
        "commitmentDependencies"][0]
    order = pax8.post(f"{pax8_url}/orders", timeout=10, json={
        "companyId": company_id, "orderedBy": "Pax8 Partner", "lineItems": [{
            "productId": product["id"], "billingTerm": "Monthly", "commitmentTermId": commitment["id"],
            "lineItemNumber": 1, "quantity": 4}]})
    assert order.status_code == 200, order.text
    conforms(order.json(), "/orders", "post")
    conforms(pax8.get(f"{pax8_url}/orders/{order.json()['id']}", timeout=10).json(), "/orders/{orderId}")
    conforms(pax8.get(f"{pax8_url}/orders", timeout=10).json(), "/orders")
    created = pax8.get(f"{pax8_url}/subscriptions/{order.json()['lineItems'][0]['subscriptionId']}", timeout=10)
    assert created.json()["quantity"] == 4


def test_auth_errors(sandbox: SandboxControl, pax8: requests.Session, pax8_url: str,
                     token_body: dict[str, str]) -> None:
    wrong = requests.post(f"{pax8_url}/token", json={**token_body, "client_secret": "nope"}, timeout=10)
    assert (wrong.status_code, wrong.json()) == (401, {"error": "access_denied", "error_description": "Unauthorized"})
    audience = requests.post(f"{pax8_url}/token", json={**token_body, "audience": "api://usage"}, timeout=10)
    assert audience.status_code == 403 and audience.json()["error"] == "access_denied"
    malformed = requests.post(f"{pax8_url}/token", data=b"{", timeout=10, headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400 and malformed.json()["error"] == "invalid_request"
    missing = requests.post(f"{pax8_url}/token", json={"client_id": "x"}, timeout=10)
    assert missing.status_code == 400 and "audience" in missing.json()["error_description"]
    no_token = requests.get(f"{pax8_url}/companies", timeout=10)
    assert no_token.status_code == 401 and set(no_token.json()) == {"type", "message", "instance", "status", "details"}
    sandbox.advance_clock(seconds=86401)
    assert pax8.get(f"{pax8_url}/companies", timeout=10).status_code == 401


def test_malformed_orders_get_the_error_shape(pax8: requests.Session, pax8_url: str) -> None:
    shape = {"type", "message", "instance", "status", "details"}
    bad_json = pax8.post(f"{pax8_url}/orders", data=b"{oops", timeout=10, headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 400 and set(bad_json.json()) == shape
    missing = pax8.post(f"{pax8_url}/orders", json={"lineItems": []}, timeout=10)
    assert missing.status_code == 422 and set(missing.json()) == shape
    assert {d["instance"] for d in missing.json()["details"]} == {"companyId", "lineItems"}
    company_id = pax8.get(f"{pax8_url}/companies", timeout=10).json()["content"][0]["id"]
    typed = pax8.post(f"{pax8_url}/orders", timeout=10, json={"companyId": company_id, "lineItems": [
        {"productId": "x", "billingTerm": "Weekly", "lineItemNumber": 1, "quantity": "four"}]})
    assert typed.status_code == 422
    assert {d["instance"] for d in typed.json()["details"]} >= {"lineItems[0].quantity", "lineItems[0].billingTerm"}
    assert pax8.get(f"{pax8_url}/subscriptions/nope", timeout=10).json()["status"] == 404


def test_paging_is_zero_based_and_capped_at_200(sandbox: SandboxControl, pax8: requests.Session,
                                                pax8_url: str) -> None:
    total = pax8.get(f"{pax8_url}/subscriptions", params={"size": 1}, timeout=10).json()["page"]["totalElements"]
    assert total > 6
    sandbox.clear_requests()
    seen: list[str] = []
    number = 0
    while True:
        body = pax8.get(f"{pax8_url}/subscriptions", params={"page": number, "size": 4}, timeout=10).json()
        assert body["page"]["number"] == number and body["page"]["size"] == 4
        seen += [s["id"] for s in body["content"]]
        if number + 1 >= body["page"]["totalPages"]:
            break
        number += 1
    assert len(seen) == len(set(seen)) == total
    assert len(sandbox.requests("pax8")) == -(-total // 4)
    capped = pax8.get(f"{pax8_url}/subscriptions", params={"size": 5000}, timeout=10).json()["page"]
    assert capped["size"] == 200 and capped["totalPages"] == 1
    assert pax8.get(f"{pax8_url}/companies", timeout=10).json()["page"]["size"] == 10  # the default


def test_rate_limit_answers_429_with_retry_after(sandbox: SandboxControl, pax8: requests.Session,
                                                 pax8_url: str) -> None:
    sandbox.set_clock("2026-03-10T12:00:00+00:00", frozen=True)
    token = pax8.headers["Authorization"]
    sandbox.control("pax8", "limits", json={"limit": 3, "window_seconds": 60})
    statuses = [pax8.get(f"{pax8_url}/companies", timeout=10, headers={"Authorization": token}).status_code
                for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    limited = pax8.get(f"{pax8_url}/companies", timeout=10)
    assert limited.headers["Retry-After"] == "60" and limited.json()["status"] == 429
    sandbox.advance_clock(seconds=45)
    assert pax8.get(f"{pax8_url}/companies", timeout=10).headers["Retry-After"] == "15"
    sandbox.advance_clock(seconds=15)
    assert pax8.get(f"{pax8_url}/companies", timeout=10).status_code == 200


def test_publish_and_changes_produce_prorate_items(sandbox: SandboxControl, pax8: requests.Session,
                                                   pax8_url: str) -> None:
    params: dict[str, str | int] = {"size": 200, "billingTerm": "Monthly"}
    subs = pax8.get(f"{pax8_url}/subscriptions", params=params,
                    timeout=10).json()["content"]
    seats = [s for s in subs if s["productName"] != "Azure plan"]
    answer = sandbox.control("pax8", "changes", json={"changes": [
        {"type": "seat_change", "subscription_id": seats[0]["id"], "day": 10, "quantity": seats[0]["quantity"] + 5},
        {"type": "seat_change", "subscription_id": seats[1]["id"], "day": 11, "quantity": 1},
        {"type": "cancel", "subscription_id": seats[2]["id"], "day": 20},
        {"type": "new_company", "day": 3, "name": "Fresh Company"},
        {"type": "annual_subscription", "day": 17, "quantity": 2},
    ]})
    assert len(answer["accepted"]) == 5
    before = pax8.get(f"{pax8_url}/invoices", timeout=10).json()["page"]["totalElements"]
    published = sandbox.control("pax8", "invoices/publish")
    invoices = pax8.get(f"{pax8_url}/invoices", timeout=10).json(parse_float=Decimal)["content"]
    assert len(invoices) == before + 1 and invoices[0]["id"] == published["invoice"]["id"]
    assert invoices[0]["status"] == "Unpaid" and all(i["status"] == "Paid" for i in invoices[1:])
    items = _items(pax8, pax8_url, invoices[0]["id"])
    _check_arithmetic(invoices[0], items)
    prorates = Counter(i["details"].split(";")[0] for i in items if i["type"] == "prorate")
    assert prorates == {"addQuantity": 1, "removeQuantity": 1, "cancelImmediate": 1, "new": 2}
    increase = next(i for i in items if i["details"].startswith("addQuantity"))
    assert increase["quantity"] == 5 and increase["startPeriod"].endswith("-10")
    assert pax8.get(f"{pax8_url}/companies", params={"size": 200}, timeout=10).json()["page"]["totalElements"] == \
        pax8.get(f"{pax8_url}/companies", timeout=10).json()["page"]["totalElements"]
    assert pax8.get(f"{pax8_url}/subscriptions/{seats[2]['id']}", timeout=10).json()["status"] == "Cancelled"


def test_every_published_invoice_adds_up(sandbox: SandboxControl, pax8: requests.Session, pax8_url: str) -> None:
    subs = pax8.get(f"{pax8_url}/subscriptions", params={"size": 200}, timeout=10).json()["content"]
    for month in range(3):
        sub = subs[month]
        sandbox.control("pax8", "changes", json={"type": "seat_change", "subscription_id": sub["id"],
                                                 "day": 2 + month * 9, "quantity": sub["quantity"] + 2})
        sandbox.control("pax8", "invoices/publish")
    invoices = pax8.get(f"{pax8_url}/invoices", timeout=10).json(parse_float=Decimal)["content"]
    assert len(invoices) == 6
    for invoice in invoices:
        _check_arithmetic(invoice, _items(pax8, pax8_url, invoice["id"]))
