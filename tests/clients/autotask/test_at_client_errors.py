"""Error mapping, retries (counted in the sandbox log), fatal errors not retried, secrets never shown."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from channelsync.clients.autotask import AutotaskClient, Filter
from channelsync.errors import FatalApiError, OutcomeUnknownError, RetriableApiError
from channelsync.sandbox import demo_credentials
from channelsync.sandbox.control_client import SandboxControl

SERVICE = {"name": "PC_DUP", "unitPrice": 5, "periodType": 2}


@pytest.mark.parametrize(
    ("override", "code", "status"),
    [({"secret": "wrong-secret-value"}, "AUTOTASK_AUTH_FAILED", 401),
     ({"integration_code": "WRONGCODE0000"}, "AUTOTASK_AUTH_FAILED", 500)],
)
def test_auth_failures_are_fatal_and_not_retried(make_client: Callable[..., AutotaskClient], calls: Any,
                                                 override: dict[str, str], code: str, status: int) -> None:
    client = make_client(**override)
    with pytest.raises(FatalApiError) as caught:
        client.get("Products", 1)
    assert caught.value.code == code and caught.value.status == status
    # one API call (the budget guard's first ThresholdInformation reading), not retried
    assert len([e for e in calls() if "zoneinformation" not in e["path"].lower()]) == 1


def test_unknown_user_fails_zone_discovery(make_client: Callable[..., AutotaskClient]) -> None:
    with pytest.raises(FatalApiError) as caught:
        make_client(username="nobody@example.com").get("Products", 1)
    assert caught.value.code == "AUTOTASK_ZONE_UNKNOWN"


def test_unknown_user_with_a_known_zone_is_an_auth_failure(make_client: Callable[..., AutotaskClient],
                                                           sandbox_server: Any) -> None:
    client = make_client(username="nobody@example.com", zone_url=f"{sandbox_server.url}/autotask/ATServicesRest/")
    with pytest.raises(FatalApiError) as caught:
        client.get("Products", 1)
    assert caught.value.code == "AUTOTASK_AUTH_FAILED" and caught.value.status == 500


def test_locked_user(client: AutotaskClient, sandbox: SandboxControl) -> None:
    sandbox.control("autotask", "user", json={"locked": True})
    with pytest.raises(FatalApiError) as caught:
        client.ping()
    assert caught.value.code == "AUTOTASK_USER_LOCKED"


@pytest.mark.parametrize("status", [429, 502, 503])
def test_transient_errors_are_retried(client: AutotaskClient, sandbox: SandboxControl, calls: Any,
                                      status: int) -> None:
    client.get("Products", 1)  # discovery done
    sandbox.clear_requests()
    sandbox.set_faults({"system": "autotask", "path": "Products/query", "kind": "status", "status": status,
                        "count": 2, "retry_after": 0 if status == 429 else None})
    assert len(list(client.iter_products())) == 13
    assert [e["status"] for e in calls("Products/query")] == [status, status, 200]


def test_retries_stop_after_max_attempts(client: AutotaskClient, calls: Any, sandbox: SandboxControl) -> None:
    client.get("Products", 1)
    sandbox.set_faults({"system": "autotask", "path": "Products/2", "kind": "status", "status": 503})
    with pytest.raises(RetriableApiError) as caught:
        client.get("Products", 2)
    assert caught.value.code == "AUTOTASK_SERVER_ERROR" and len(calls("Products/2")) == 4


def test_create_is_never_retried_blindly(client: AutotaskClient, sandbox: SandboxControl, calls: Any) -> None:
    client.get("Products", 1)
    sandbox.set_faults({"system": "autotask", "method": "POST", "path": "Products$", "kind": "write_then_drop"})
    with pytest.raises(OutcomeUnknownError):
        client.create_product({"name": "Maybe", "manufacturerProductName": "MAYBE-1", "isActive": True,
                               "isSerialized": False})
    assert len([e for e in calls("Products") if e["method"] == "POST" and e["path"].endswith("Products")]) == 1
    sandbox.clear_faults()
    assert [p["name"] for p in client.find_products(["MAYBE-1"])] == ["Maybe"]  # resolved by natural key


@pytest.mark.parametrize(
    ("action", "code"),
    [
        (lambda c, code_id: c.create("Services", {**SERVICE, "billingCodeID": code_id}), "AUTOTASK_DUPLICATE_SERVICE"),
        (lambda c, code_id: c.create("Services", {**SERVICE, "name": "x", "description": "d" * 401,
                                                  "billingCodeID": code_id}), "AUTOTASK_VALIDATION"),
        (lambda c, code_id: list(c.iter_products(filters=Filter.eq("manufacturerProductNumber", "x"))),
         "AUTOTASK_UNKNOWN_FIELD"),
        (lambda c, code_id: c.delete("ServiceBundles", 10**6), "AUTOTASK_NOT_FOUND"),
        (lambda c, code_id: c.update("Products", {"id": 10**6, "name": "x"}), "AUTOTASK_NOT_FOUND"),
        (lambda c, code_id: c.delete("Products", 1), "AUTOTASK_METHOD_NOT_ALLOWED"),
    ],
)
def test_vendor_refusals_are_fatal_coded_and_sent_once(client: AutotaskClient, calls: Any, sandbox: SandboxControl,
                                                       action: Any, code: str) -> None:
    code_id = next(client.iter_query("BillingCodes", Filter.eq("name", "Recurring Services")))["id"]
    client.create("Services", {**SERVICE, "billingCodeID": code_id})
    sandbox.clear_requests()
    with pytest.raises(FatalApiError) as caught:
        action(client, code_id)
    assert caught.value.code == code
    assert len(calls()) == 1


def test_secrets_never_in_logs_messages_or_repr(make_client: Callable[..., AutotaskClient], sandbox: SandboxControl,
                                                caplog: pytest.LogCaptureFixture) -> None:
    secret, code = demo_credentials.AUTOTASK["secret"], demo_credentials.AUTOTASK["integration_code"]
    caplog.set_level(logging.DEBUG)
    client = make_client()
    sandbox.set_faults({"system": "autotask", "path": "Products/1", "kind": "status", "status": 503, "count": 1})
    client.get("Products", 1)
    messages = [str(e) for e in _errors(make_client(secret="bad-" + secret), make_client())]
    text = caplog.text + "\n".join(messages) + repr(client) + repr(client.transport)
    assert "retrying" in caplog.text  # the retry was logged ...
    assert secret not in text and code not in text  # ... without the credentials


def _errors(bad: AutotaskClient, good: AutotaskClient) -> list[Exception]:
    out: list[Exception] = []
    for action in (lambda: bad.get("Products", 1), lambda: good.create("Products", {"name": "no flags"})):
        try:
            action()
        except Exception as exc:
            out.append(exc)
    assert len(out) == 2
    return out
