"""Retries (429 / 5xx) with request counts, fatal errors not retried, coded errors, secrets, the hook."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from types import SimpleNamespace

import pytest

from channelsync.clients.connectwise import ConnectWiseApiError, ConnectWiseClient
from channelsync.errors import OutcomeUnknownError, RetriableApiError
from channelsync.hooks.connectwise import ConnectWiseHook, client_from_fields
from channelsync.sandbox.control_client import SandboxControl

from .conftest import CREDS

ITEM = {"identifier": "RES-1", "description": "d", "customerDescription": "c", "subcategory": {"id": 1},
        "type": {"id": 1}}


def api_calls(sandbox: SandboxControl, method: str = "GET") -> list[dict]:
    return [r for r in sandbox.requests("connectwise") if "/apis/3.0/" in r["path"] and r["method"] == method]


def test_429_from_the_rate_limit_is_retried_honouring_retry_after(
        make_client: Callable[..., ConnectWiseClient], sandbox: SandboxControl) -> None:
    waits: list[float] = []
    client = make_client(codebase="v4_6_release/", sleep=waits.append)
    sandbox.set_faults({"kind": "status", "status": 429, "retry_after": 3, "system": "connectwise",
                        "path": "/system/info", "count": 2})
    client.ping()
    assert [r["status"] for r in api_calls(sandbox)] == [429, 429, 200]
    assert waits == [3.0, 3.0] and client.calls == 3


def test_emulator_rate_limit_answers_are_retried(make_client: Callable[..., ConnectWiseClient],
                                                 sandbox: SandboxControl) -> None:
    client = make_client(codebase="v4_6_release/", sleep=time.sleep)  # really wait the 1 s Retry-After
    sandbox.control("connectwise", "limits", json={"requests_per_second": 2, "retry_after": 1})
    client.ping()
    client.ping()
    client.ping()  # the third inside one second is refused, then let through after Retry-After
    statuses = [r["status"] for r in api_calls(sandbox)]
    assert statuses[:3] == [200, 200, 429] and statuses[-1] == 200 and statuses.count(200) == 3
    assert sandbox.control("connectwise", "limits", method="GET")["refused"] == statuses.count(429)


def test_5xx_on_get_is_retried_then_succeeds(make_client: Callable[..., ConnectWiseClient],
                                             sandbox: SandboxControl) -> None:
    client = make_client(codebase="v4_6_release/")
    sandbox.set_faults({"kind": "status", "status": 503, "system": "connectwise", "path": "catalog", "count": 2})
    assert len(list(client.iter_catalog_items())) == 17
    assert [r["status"] for r in api_calls(sandbox)] == [503, 503, 200]


def test_retries_stop_at_max_attempts(make_client: Callable[..., ConnectWiseClient], sandbox: SandboxControl) -> None:
    client = make_client(codebase="v4_6_release/")
    sandbox.set_faults({"kind": "status", "status": 500, "system": "connectwise", "path": "catalog"})
    with pytest.raises(RetriableApiError) as caught:
        client.count("procurement/catalog")
    assert caught.value.code == "CW_SERVER_ERROR" and len(api_calls(sandbox)) == 4


def test_post_is_not_retried_blindly(make_client: Callable[..., ConnectWiseClient], sandbox: SandboxControl) -> None:
    client = make_client(codebase="v4_6_release/")
    sandbox.set_faults({"kind": "write_then_drop", "system": "connectwise", "method": "POST", "count": 1})
    with pytest.raises(OutcomeUnknownError):
        client.create_catalog_item(ITEM)
    assert len(api_calls(sandbox, "POST")) == 1
    # Resolved by the natural key: the write was applied.
    assert [i["identifier"] for i in client.find_catalog_items(["RES-1"])] == ["RES-1"]


def test_fatal_errors_are_coded_and_not_retried(make_client: Callable[..., ConnectWiseClient],
                                                sandbox: SandboxControl) -> None:
    client = make_client(codebase="v4_6_release/")
    existing = sandbox.records("connectwise", "catalogItems")[0]["identifier"]
    cases = [
        ({**ITEM, "identifier": existing}, "CW_DUPLICATE"),
        ({**ITEM, "description": None}, "CW_REQUIRED_FIELD"),
        ({**ITEM, "description": "x" * 61}, "CW_FIELD_TOO_LONG"),
        ({**ITEM, "subcategory": {"id": 4242}}, "CW_REFERENCE_NOT_FOUND"),
        ({**ITEM, "productClass": "Nope"}, "CW_INVALID_OBJECT"),
    ]
    for body, code in cases:
        with pytest.raises(ConnectWiseApiError) as caught:
            client.create_catalog_item(body)
        assert caught.value.code == code and caught.value.status == 400 and caught.value.errors
    assert len(api_calls(sandbox, "POST")) == len(cases)
    with pytest.raises(ConnectWiseApiError) as bad_query:
        client.count("procurement/catalog", "nosuch = 1")
    assert bad_query.value.code == "CW_BAD_REQUEST"
    sandbox.control("connectwise", "security", json={"deny": ["DELETE procurement"]})
    with pytest.raises(ConnectWiseApiError) as forbidden:
        client.delete("procurement/catalog", 1)
    assert forbidden.value.code == "CW_FORBIDDEN"
    with pytest.raises(ConnectWiseApiError) as in_use:
        sandbox.control("connectwise", "security", json={"deny": []})
        client.delete("procurement/subcategories", 1)
    assert in_use.value.code == "CW_CONFLICT"


def test_auth_and_client_id_errors(make_client: Callable[..., ConnectWiseClient], sandbox: SandboxControl) -> None:
    with pytest.raises(ConnectWiseApiError) as wrong:
        make_client(private_key="not-the-key").ping()
    assert wrong.value.code == "CW_AUTH_FAILED" and wrong.value.status == 401
    with pytest.raises(ConnectWiseApiError) as missing:
        make_client(client_id="").ping()
    assert missing.value.code == "CW_CLIENT_ID_MISSING"
    with pytest.raises(ConnectWiseApiError) as unknown_company:
        make_client(company="nobody").ping()
    assert unknown_company.value.code == "CW_NOT_FOUND"
    assert len(api_calls(sandbox)) == 2  # one attempt each; the third failed at discovery


def test_secrets_never_reach_logs_errors_or_reprs(make_client: Callable[..., ConnectWiseClient],
                                                  sandbox: SandboxControl, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client()
    secrets = [CREDS["private_key"], client._headers["Authorization"].split()[1]]
    sandbox.set_faults({"kind": "status", "status": 500, "system": "connectwise", "count": 2})
    messages = [repr(client), repr(client.transport)]
    client.ping()
    for bad in (make_client(private_key=CREDS["private_key"] + "x"), client):
        with pytest.raises(ConnectWiseApiError) as caught:
            bad.create_catalog_item({"identifier": CREDS["private_key"]})
        messages += [str(caught.value), repr(caught.value), str(caught.value.vendor_message)]
    text = caplog.text + "\n".join(messages)
    assert "retrying" in caplog.text  # logs were captured
    for secret in secrets:
        assert secret not in text


def test_hook_builds_the_client_from_connection_fields(sandbox: SandboxControl, cw_server: object) -> None:
    host = f"{cw_server.url}/connectwise"  # type: ignore[attr-defined]
    connection = SimpleNamespace(host=host, login=f"{CREDS['company']}+{CREDS['public_key']}",
                                 password=CREDS["private_key"], extra_dejson={"client_id": CREDS["client_id"]})
    client = ConnectWiseHook().build_client(connection)
    assert client.company == CREDS["company"] and client.ping()["version"]
    split = client_from_fields(host, CREDS["public_key"], CREDS["private_key"],
                               {"client_id": CREDS["client_id"], "company": CREDS["company"],
                                "codebase": "v4_6_release"})
    assert split.codebase() == "v4_6_release/" and split.count("company/companies") > 0
    with pytest.raises(ValueError):
        client_from_fields(host, CREDS["public_key"], "k", {"client_id": "x"})
    assert ConnectWiseHook.conn_type == "connectwise" and ConnectWiseHook.default_conn_name == "connectwise_default"
