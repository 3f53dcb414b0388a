"""Requests in flight: injected latency counts as time in flight (inside Autotask's thread slots, as
on the real API), and ``/_sandbox/concurrency`` reports per-(system, entity) high-water marks."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from channelsync.sandbox import demo_credentials
from channelsync.sandbox.concurrency import entity_of
from channelsync.sandbox.control_client import SandboxControl
from channelsync.sandbox.server import SandboxServer
from tests.sandbox_servers import reset_sandbox, running_sandbox

AT = demo_credentials.AUTOTASK
CW = demo_credentials.CONNECTWISE


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    yield from running_sandbox(["autotask", "connectwise", "pax8"])


@pytest.fixture()
def sandbox(server: SandboxServer) -> SandboxControl:
    return reset_sandbox(server)


def at_get(server: SandboxServer, path: str) -> requests.Response:
    headers = {"ApiIntegrationCode": AT["integration_code"], "UserName": AT["username"], "Secret": AT["secret"]}
    return requests.get(f"{server.url}/autotask/ATServicesRest/V1.0/{path}", headers=headers, timeout=10)


def cw_get(server: SandboxServer, path: str) -> requests.Response:
    return requests.get(f"{server.url}/connectwise/v4_6_release/apis/3.0/{path}", timeout=10,
                        auth=(f"{CW['company']}+{CW['public_key']}", CW["private_key"]),
                        headers={"clientId": CW["client_id"]})


def together(*calls: Any) -> list[requests.Response]:
    """Send the calls at once (one thread each); the answers in order."""
    answers: list[Any] = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(index: int) -> None:
        start.wait()
        answers[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_latency_holds_an_autotask_thread_slot(sandbox: SandboxControl, server: SandboxServer) -> None:
    sandbox.set_faults({"kind": "latency", "system": "autotask", "path": "Products", "latency_ms": 200})
    statuses = [r.status_code for r in together(*[lambda: at_get(server, "Products/1")] * 4)]
    assert sorted(statuses) == [200, 200, 200, 429]  # the 4th found three slots held by slow requests
    limits = sandbox.control("autotask", "limits")
    assert limits["refusals"]["thread_limit"] == 1
    assert sandbox.concurrency() == {"autotask": {"products": 4}}  # the refused one was in flight too


def test_with_the_limit_lifted_four_slow_requests_are_in_flight_at_once(
    sandbox: SandboxControl, server: SandboxServer,
) -> None:
    sandbox.control("autotask", "limits", json={"thread_limit": 10})
    sandbox.set_faults({"kind": "latency", "system": "autotask", "latency_ms": 200})
    assert [r.status_code for r in together(*[lambda: at_get(server, "Products/1")] * 4)] == [200] * 4
    assert sandbox.concurrency()["autotask"] == {"products": 4}
    assert sandbox.control("autotask", "limits")["max_in_flight"] == {f"{AT['integration_code']}|products": 4}


def test_concurrency_reports_per_system_and_entity_maxima(sandbox: SandboxControl, server: SandboxServer) -> None:
    sandbox.set_faults({"kind": "latency", "latency_ms": 150})
    answers = together(
        lambda: cw_get(server, "procurement/catalog?pageSize=1"),
        lambda: cw_get(server, "procurement/catalog/1"),
        lambda: cw_get(server, "company/companies?pageSize=1"),
        lambda: at_get(server, "Products/1"),
        lambda: at_get(server, "Companies/1"),
        lambda: requests.get(f"{server.url}/pax8/v1/products", timeout=10),  # refused (no token): still in flight
    )
    assert [a.status_code for a in answers][:5] == [200, 200, 200, 200, 200]
    assert sandbox.concurrency() == {
        "autotask": {"companies": 1, "products": 1},
        "connectwise": {"company/companies": 1, "procurement/catalog": 2},
        "pax8": {"products": 1},
    }
    sandbox.reset_concurrency()
    assert sandbox.concurrency() == {}
    at_get(server, "Products/1")
    assert sandbox.concurrency() == {"autotask": {"products": 1}}
    sandbox.reset()
    assert sandbox.concurrency() == {}


def test_zone_information_ci_is_fixed_per_seeded_database(sandbox: SandboxControl, server: SandboxServer) -> None:
    def ci() -> int:
        url = f"{server.url}/autotask/atservicesrest/v1.0/zoneInformation"
        return int(requests.get(url, params={"user": AT["username"]}, timeout=5).json()["ci"])

    first = ci()
    sandbox.reset(seed=42)
    assert ci() == first
    sandbox.reset(seed=43)
    assert ci() != first
    sandbox.reset(seed=42)


@pytest.mark.parametrize(("system", "path", "entity"), [
    ("autotask", "/ATServicesRest/V1.0/Products/query", "products"),
    ("autotask", "/atservicesrest/v1.0/PurchaseOrderItems/7/Receiving", "purchaseorderitems"),
    ("autotask", "/atservicesrest/v1.0/zoneInformation", "zoneinformation"),
    ("connectwise", "/v4_6_release/apis/3.0/procurement/catalog/12/inventory", "procurement/catalog"),
    ("connectwise", "/login/companyinfo/channelsync", "login/companyinfo"),
    ("pax8", "/v1/products/abc/pricing", "products"),
    ("crayon", "/api/v1/Subscriptions/5", "subscriptions"),
    ("tdsynnex", "/ion/api/v3/accounts/100001/customers/9/orders", "customers"),
    ("tdsynnex", "/ion/api/v3/accounts/100001/products:pricing", "products"),
    ("tdsynnex", "/xml/SynnexXML/PriceAvailability", "priceavailability"),
    ("tdsynnex", "/ftp/catalog.zip", "ftp"),
])
def test_entity_of_a_path(system: str, path: str, entity: str) -> None:
    assert entity_of(system, path) == entity
