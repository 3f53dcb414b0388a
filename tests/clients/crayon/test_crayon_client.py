"""CrayonClient against the sandbox over real HTTP: paging, tokens, retries, errors, secrets."""

from __future__ import annotations

import logging
from decimal import ROUND_HALF_UP, Decimal
from types import SimpleNamespace
from typing import Any

import pytest
import requests

from channelsync.clients.crayon import (
    CRAYON_AUTH_FAILED,
    CRAYON_NOT_FOUND,
    CrayonClient,
    camel,
    camel_name,
    check_invoice_lines,
)
from channelsync.clients.http import RetryPolicy
from channelsync.errors import FatalApiError, OutcomeUnknownError, RetriableApiError
from channelsync.hooks.crayon import CrayonHook
from channelsync.sandbox.control_client import SandboxControl
from channelsync.sandbox.demo_credentials import CRAYON
from channelsync.sandbox.server import SandboxServer

POLICY = RetryPolicy(max_attempts=4, backoff_base=0.01, backoff_cap=0.05)


def make_client(server: SandboxServer, **overrides: Any) -> CrayonClient:
    args: dict[str, Any] = {
        "base_url": f"{server.url}/crayon/api/v1", "client_id": CRAYON["client_id"],
        "client_secret": CRAYON["client_secret"], "username": CRAYON["username"], "password": CRAYON["password"],
        "policy": POLICY, "page_size": 3, **overrides,
    }
    return CrayonClient(**args)


def _calls(sandbox: SandboxControl, fragment: str) -> int:
    return sum(1 for entry in sandbox.requests("crayon") if fragment.lower() in entry["path"].lower())


def test_paging_hidden_with_exact_call_counts(sandbox: SandboxControl, sandbox_server: SandboxServer) -> None:
    client = make_client(sandbox_server)
    tenants = list(client.iter_customer_tenants())
    world = sandbox_server.app.context.world
    assert {t["reference"] for t in tenants} == {c.key for c in world.customers if c.billing_distributor == "crayon"}
    subscriptions = list(client.iter_subscriptions())
    assert len({s["id"] for s in subscriptions}) == len(subscriptions) > 6
    # TotalHits ends the paging: a last full page needs no empty page after it.
    assert _calls(sandbox, "/CustomerTenants") == -(-len(tenants) // 3)
    assert _calls(sandbox, "/Subscriptions") == -(-len(subscriptions) // 3)
    assert _calls(sandbox, "/connect/token") == 1  # cached across every call


def test_price_list_and_invoice_lines_add_up(sandbox: SandboxControl, sandbox_server: SandboxServer) -> None:
    client = make_client(sandbox_server, page_size=50)
    products = list(client.iter_agreement_products())
    assert all(isinstance(p["salesPrice"]["value"], Decimal) for p in products)
    assert all(p["recommendedRetailPrice"]["value"] >= p["salesPrice"]["value"] for p in products)
    statements = list(client.iter_billing_statements())
    assert len(statements) >= 3
    for statement in statements:
        lines = client.get_invoice_lines(statement["id"])
        total = sum((ln["subTotal"] for ln in lines), Decimal("0"))
        for line in lines:
            expected = (line["quantity"] * line["unitPrice"] * line["billableRatio"]).quantize(
                Decimal("0.01"), rounding=ROUND_HALF_UP)
            assert expected == line["subTotal"]
        assert total == statement["totalSalesPrice"]["value"]
        rows = client.get_reconciliation_rows(statement["id"])
        assert [Decimal(r["SubTotal"]) for r in rows] == [ln["subTotal"] for ln in lines]


def test_new_invoice_appears_after_publish(sandbox: SandboxControl, sandbox_server: SandboxServer) -> None:
    client = make_client(sandbox_server, page_size=50)
    before = {s["id"] for s in client.iter_billing_statements()}
    sandbox.control("crayon", "invoices/publish")
    new = [s for s in client.iter_billing_statements() if s["id"] not in before]
    assert new and all(client.get_invoice_lines(s["id"]) for s in new)


def test_seat_change_through_the_api(sandbox: SandboxControl, sandbox_server: SandboxServer) -> None:
    client = make_client(sandbox_server)
    sub = next(iter(client.iter_subscriptions()))
    updated = client.update_subscription_quantity(sub["id"], sub["quantity"] + 2)
    assert updated["quantity"] == sub["quantity"] + 2 == client.get_subscription(sub["id"])["quantity"]


def test_expired_token_is_refreshed_once(sandbox: SandboxControl, sandbox_server: SandboxServer) -> None:
    client = make_client(sandbox_server)
    client.ping()
    sandbox.advance_clock(seconds=7200)  # the server's token expires; the client's cache does not know
    client.ping()
    assert _calls(sandbox, "/connect/token") == 2
    assert [e["status"] for e in sandbox.requests("crayon") if e["path"].lower().endswith("/me")] == [200, 401, 200]


def test_bad_credentials_fail_with_a_code_and_no_secret(sandbox: SandboxControl, sandbox_server: SandboxServer,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client(sandbox_server, password="wrong-pass-123")
    with pytest.raises(FatalApiError) as raised:
        client.ping()
    assert raised.value.code == CRAYON_AUTH_FAILED
    assert "wrong-pass-123" not in str(raised.value) and "wrong-pass-123" not in repr(client)
    assert _calls(sandbox, "/connect/token") == 1  # fatal: not retried
    assert "wrong-pass-123" not in caplog.text


def test_not_found_is_fatal_and_coded(sandbox: SandboxControl, sandbox_server: SandboxServer) -> None:
    client = make_client(sandbox_server)
    with pytest.raises(FatalApiError) as raised:
        client.get_subscription(1)
    assert raised.value.code == CRAYON_NOT_FOUND and raised.value.status == 404
    assert _calls(sandbox, "/Subscriptions/1") == 1


def test_429_and_5xx_are_retried_with_counts(sandbox: SandboxControl, sandbox_server: SandboxServer) -> None:
    client = make_client(sandbox_server, page_size=50)
    client.ping()
    sandbox.set_faults({"kind": "status", "system": "crayon", "path": "/Organizations", "status": 429,
                        "retry_after": 0, "count": 2},
                       {"kind": "status", "system": "crayon", "path": "/CustomerTenants", "status": 503, "count": 1})
    assert len(list(client.iter_organizations())) == 1
    assert len(list(client.iter_customer_tenants())) > 0
    assert [e["status"] for e in sandbox.requests("crayon") if "organizations" in e["path"].lower()] == [429, 429, 200]
    assert [e["status"] for e in sandbox.requests("crayon") if "customertenants" in e["path"].lower()] == [503, 200]
    sandbox.set_faults({"kind": "status", "system": "crayon", "path": "/Organizations", "status": 500})
    with pytest.raises(RetriableApiError) as raised:
        list(client.iter_organizations())
    assert raised.value.code == "CRAYON_SERVER_ERROR"
    assert _calls(sandbox, "/Organizations") == 3 + POLICY.max_attempts


def test_post_is_not_retried_blindly(sandbox: SandboxControl, sandbox_server: SandboxServer) -> None:
    client = make_client(sandbox_server)
    client.ping()
    sandbox.set_faults({"kind": "status", "system": "crayon", "method": "POST", "path": "/Subscriptions$",
                        "status": 502})
    with pytest.raises(OutcomeUnknownError):
        client._call("POST", "Subscriptions", json={"customerTenant": {"id": 310000}, "quantity": 1,
                                                     "partNumber": "CFQ7TTC0LH18:0001:P1M:Monthly"})
    assert sum(1 for e in sandbox.requests("crayon") if e["method"] == "POST" and "subscriptions" in
               e["path"].lower()) == 1


def test_secrets_never_logged(sandbox: SandboxControl, sandbox_server: SandboxServer,
                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client(sandbox_server)
    sandbox.set_faults({"kind": "status", "system": "crayon", "path": "/Me", "status": 503, "count": 1})
    client.ping()
    sandbox.advance_clock(seconds=7200)
    client.ping()
    text = caplog.text + repr(client) + repr(client.transport)
    assert "crayon" in caplog.text.lower()  # something was logged
    for secret in (CRAYON["client_secret"], CRAYON["password"]):
        assert secret not in text


def test_hook_builds_the_client_from_a_connection(sandbox_server: SandboxServer, sandbox: SandboxControl) -> None:
    connection = SimpleNamespace(
        host=f"{sandbox_server.url}/crayon", login=CRAYON["username"], password=CRAYON["password"],
        extra_dejson={"client_id": CRAYON["client_id"], "client_secret": CRAYON["client_secret"]},
    )
    client = CrayonHook().build_client(connection)
    assert client.base_url.endswith("/crayon/api/v1")
    client.ping()
    assert CrayonHook.conn_type == "crayon" and CrayonHook.default_conn_name == "crayon_default"


def test_reads_the_pascal_case_wire_as_camel_case_records(sandbox: SandboxControl,
                                                         sandbox_server: SandboxServer) -> None:
    client = make_client(sandbox_server, page_size=50)
    token = client.auth.token()  # fetched from {"AccessToken": ..., "ExpiresIn": 3600, ...}
    raw = requests.get(f"{client.base_url}/CustomerTenants", headers={"Authorization": f"Bearer {token}"},
                       params={"PageSize": 2}, timeout=10).json()
    assert set(raw) == {"TotalHits", "Items"} and "PublisherCustomerId" in raw["Items"][0]
    tenants = list(client.iter_customer_tenants())
    assert len(tenants) == raw["TotalHits"]
    assert tenants[0]["publisherCustomerId"] == raw["Items"][0]["PublisherCustomerId"]
    assert tenants[0]["organization"]["id"] == 4401


def test_camel_names_follow_newtonsoft() -> None:
    cases = {"Id": "id", "ID": "id", "TotalHits": "totalHits", "SKUID": "skuid", "URLValue": "urlValue",
             "PCToBCExchangeRate": "pcToBCExchangeRate", "accessToken": "accessToken", "A": "a", "": "",
             "Include.PartNumbers": "include.PartNumbers"}
    assert {name: camel_name(name) for name in cases} == cases
    assert camel({"Items": [{"CustomerTenant": {"Id": 1}}], "TotalHits": 1}) == {
        "items": [{"customerTenant": {"id": 1}}], "totalHits": 1}


def test_reversals_and_credits_pass_the_line_checks(sandbox: SandboxControl, sandbox_server: SandboxServer) -> None:
    client = make_client(sandbox_server, page_size=50)
    sub = next(s for s in client.iter_subscriptions() if s["billingCycle"] == 1 and s["provisionType"] == 1)
    sandbox.control("crayon", "changes", json={"changes": [
        {"type": "seat_change", "subscription_id": sub["id"], "day": 9, "quantity": sub["quantity"] + 3},
        {"type": "credit", "subscription_id": sub["id"], "day": 2, "quantity": 1}]})
    statement = sandbox.control("crayon", "invoices/publish")["billingStatements"][0]
    lines = client.get_invoice_lines(statement["Id"])
    assert any(line["billableRatio"] < 0 for line in lines)  # the reversal and the credit
    checked = check_invoice_lines(lines)
    assert not checked.quarantined and len(checked.good) == len(lines)
    assert check_invoice_lines([{**lines[0], "billableRatio": Decimal("-1.5")}]).quarantined[0].reason == \
        "billableRatio is -1.5, not between -1 and 1"
