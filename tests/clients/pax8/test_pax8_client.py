"""Pax8Client against the sandbox over real HTTP: paging, tokens, 429 handling, orders, secrets."""

from __future__ import annotations

import logging
from decimal import ROUND_HALF_UP, Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from channelsync.clients.http import RetryPolicy
from channelsync.clients.pax8 import (
    PAX8_AUTH_FAILED,
    PAX8_NOT_FOUND,
    PAX8_RATE_LIMITED,
    PAX8_VALIDATION_FAILED,
    Pax8Client,
)
from channelsync.errors import FatalApiError, OutcomeUnknownError, RetriableApiError
from channelsync.hooks.pax8 import Pax8Hook
from channelsync.sandbox.control_client import SandboxControl
from channelsync.sandbox.demo_credentials import PAX8
from channelsync.sandbox.server import SandboxServer

POLICY = RetryPolicy(max_attempts=4, backoff_base=0.01, backoff_cap=0.05, max_retry_after=5)


def make_client(server: SandboxServer, **overrides: Any) -> Pax8Client:
    args: dict[str, Any] = {
        "base_url": f"{server.url}/pax8/v1", "client_id": PAX8["client_id"], "client_secret": PAX8["client_secret"],
        "audience": PAX8["audience"], "policy": POLICY, "page_size": 3, **overrides,
    }
    return Pax8Client(**args)


def _calls(sandbox: SandboxControl, fragment: str, method: str = "GET") -> int:
    return sum(1 for e in sandbox.requests("pax8") if fragment in e["path"] and e["method"] == method)


def test_paging_hidden_with_exact_call_counts(sandbox: SandboxControl, sandbox_server: SandboxServer) -> None:
    client = make_client(sandbox_server)
    companies = list(client.iter_companies())
    world = sandbox_server.app.context.world
    assert {c["externalId"] for c in companies} == {c.key for c in world.customers if c.billing_distributor == "pax8"}
    subscriptions = list(client.iter_subscriptions())
    assert len({s["id"] for s in subscriptions}) == len(subscriptions) > 6
    assert _calls(sandbox, "/v1/companies") == -(-len(companies) // 3)
    assert _calls(sandbox, "/v1/subscriptions") == -(-len(subscriptions) // 3)
    assert _calls(sandbox, "/v1/token", "POST") == 1
    assert client.page_size == 3 and make_client(sandbox_server, page_size=1000).page_size == 200


def test_products_pricing_and_invoices(sandbox: SandboxControl, sandbox_server: SandboxServer) -> None:
    client = make_client(sandbox_server, page_size=200)
    products = list(client.iter_products(vendor_name="Microsoft"))
    assert len(products) == 11
    pricing = client.get_product_pricing(next(p["id"] for p in products if p["requiresCommitment"]))
    assert {(p["billingTerm"], p["commitmentTerm"]) for p in pricing} == {
        ("Monthly", "1-Month"), ("Monthly", "1-Year"), ("Annual", "1-Year")}
    sandbox.control("pax8", "invoices/publish")
    invoices = list(client.iter_invoices())
    assert len(invoices) == 4 and invoices[0]["status"] == "Unpaid"
    for invoice in invoices:
        items = list(client.iter_invoice_items(invoice["id"]))
        assert sum((i["amountDue"] for i in items), Decimal("0")) == invoice["total"]
        for item in items:
            ratio = Decimal(item["details"].rsplit(" ", 1)[1])
            assert (item["quantity"] * item["cost"] * ratio).quantize(Decimal("0.01"), ROUND_HALF_UP) == \
                item["costTotal"]


def test_order_creates_a_subscription_and_mock_orders_do_not(sandbox: SandboxControl,
                                                             sandbox_server: SandboxServer) -> None:
    client = make_client(sandbox_server)
    company = next(client.iter_companies())
    product = next(p for p in client.iter_products(search="Business Basic"))
    commitment = client.get_product_dependencies(product["id"])["commitmentDependencies"][0]
    order = {"companyId": company["id"], "lineItems": [
        {"productId": product["id"], "billingTerm": "Monthly", "commitmentTermId": commitment["id"],
         "lineItemNumber": 1, "quantity": 7}]}
    before = len(list(client.iter_subscriptions(company_id=company["id"])))
    client.create_order(order, is_mock=True)
    assert len(list(client.iter_subscriptions(company_id=company["id"]))) == before
    created = client.create_order(order)
    sub = client.get_subscription(created["lineItems"][0]["subscriptionId"])
    assert (sub["quantity"], sub["companyId"]) == (7, company["id"])
    assert client.get_order(created["id"])["id"] == created["id"]
    with pytest.raises(FatalApiError) as raised:
        client.create_order({"companyId": company["id"], "lineItems": [{"productId": product["id"]}]})
    assert raised.value.code == PAX8_VALIDATION_FAILED and "quantity" in (raised.value.vendor_message or "")


def test_order_is_not_retried_blindly(sandbox: SandboxControl, sandbox_server: SandboxServer) -> None:
    client = make_client(sandbox_server)
    client.ping()
    sandbox.set_faults({"kind": "write_then_drop", "system": "pax8", "method": "POST", "path": "/v1/orders"})
    company = next(client.iter_companies())
    with pytest.raises(OutcomeUnknownError):
        client.create_order({"companyId": company["id"], "lineItems": []})
    assert _calls(sandbox, "/v1/orders", "POST") == 1


def test_rate_limit_is_retried_after_retry_after(sandbox: SandboxControl, sandbox_server: SandboxServer) -> None:
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # the sandbox clock is the limiter's clock: move it instead of waiting
        slept.append(seconds)
        sandbox.advance_clock(seconds=seconds)

    sandbox.set_clock("2026-03-10T12:00:00+00:00", frozen=True)
    client = make_client(sandbox_server, sleep=sleep)
    client.ping()
    sandbox.control("pax8", "limits", json={"limit": 2, "window_seconds": 2})
    companies = list(client.iter_companies())  # 3 pages at 2 requests per 2 s
    assert len(companies) > 3
    statuses = [e["status"] for e in sandbox.requests("pax8") if e["path"] == "/v1/companies"]
    assert statuses.count(429) >= 1 and statuses.count(200) == 1 + -(-len(companies) // 3)
    assert slept and all(s >= 1 for s in slept)  # Retry-After honoured


def test_rate_limit_gives_up_with_a_code(sandbox: SandboxControl, sandbox_server: SandboxServer) -> None:
    client = make_client(sandbox_server)
    client.ping()
    sandbox.set_faults({"kind": "status", "system": "pax8", "path": "/v1/companies", "status": 429, "retry_after": 0})
    with pytest.raises(RetriableApiError) as raised:
        client.get_company("x")
    assert raised.value.code == PAX8_RATE_LIMITED
    assert _calls(sandbox, "/v1/companies/x") == POLICY.max_attempts


def test_tokens_refresh_once_and_bad_credentials_fail(sandbox: SandboxControl, sandbox_server: SandboxServer,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client(sandbox_server)
    client.ping()
    sandbox.advance_clock(seconds=90000)
    client.ping()
    assert _calls(sandbox, "/v1/token", "POST") == 2
    with pytest.raises(FatalApiError) as raised:
        client.get_company("00000000-0000-4000-8000-000000000000")
    assert raised.value.code == PAX8_NOT_FOUND
    bad = make_client(sandbox_server, client_secret="pax8-wrong-secret-xyz")
    with pytest.raises(FatalApiError) as raised:
        bad.ping()
    assert raised.value.code == PAX8_AUTH_FAILED
    wrong_audience = make_client(sandbox_server, audience="api://usage")
    with pytest.raises(FatalApiError) as raised:
        wrong_audience.ping()
    assert raised.value.code == PAX8_AUTH_FAILED and raised.value.status == 403
    text = caplog.text + str(raised.value) + repr(bad) + repr(client)
    for secret in (PAX8["client_secret"], "pax8-wrong-secret-xyz"):
        assert secret not in text


def test_hook_builds_the_client_from_a_connection(sandbox: SandboxControl, sandbox_server: SandboxServer) -> None:
    connection = SimpleNamespace(host=f"{sandbox_server.url}/pax8", login=PAX8["client_id"],
                                 password=PAX8["client_secret"], extra_dejson={"audience": PAX8["audience"]})
    client = Pax8Hook().build_client(connection)
    assert client.base_url.endswith("/pax8/v1") and client.token_url.endswith("/pax8/v1/token")
    client.ping()
    assert Pax8Hook.conn_type == "pax8" and Pax8Hook.default_conn_name == "pax8_default"
