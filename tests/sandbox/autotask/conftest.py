"""Fixtures of the Autotask emulator tests (the shared ``sandbox`` fixture resets state per test).

Helpers are methods of the ``at`` fixture, so test modules import nothing from here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from channelsync.sandbox import demo_credentials
from channelsync.sandbox.control_client import SandboxControl
from channelsync.sandbox.server import SandboxServer
from tests.sandbox_servers import running_sandbox

CREDS = demo_credentials.AUTOTASK


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    yield from running_sandbox(["autotask"])


def auth_headers(**overrides: str) -> dict[str, str]:
    headers = {"ApiIntegrationCode": CREDS["integration_code"], "UserName": CREDS["username"],
               "Secret": CREDS["secret"]}
    headers.update(overrides)
    return headers


class AtApi:
    """Calls ``/autotask/ATServicesRest/V1.0/...`` with the demo credentials."""

    def __init__(self, base: str, control: SandboxControl) -> None:
        self.root = f"{base}/autotask"
        self.api = f"{base}/autotask/ATServicesRest/V1.0/"
        self.control = control
        self.session = requests.Session()

    def call(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> requests.Response:
        url = path if path.startswith("http") else self.api + path
        return self.session.request(method, url, headers=headers or auth_headers(), timeout=10, **kwargs)

    def query(self, entity: str, *filters: dict[str, Any], **extra: Any) -> requests.Response:
        return self.call("POST", f"{entity}/query", json={"filter": list(filters), **extra})

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.call(method, path, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()

    headers = staticmethod(auth_headers)

    @staticmethod
    def error_of(response: requests.Response) -> str:
        body = response.json()
        assert isinstance(body.get("errors"), list) and body["errors"], body
        return str(body["errors"][0])

    def limits(self, **settings: Any) -> dict[str, Any]:
        return self.control.control("autotask", "limits", json=settings)


@pytest.fixture()
def at(sandbox: SandboxControl, sandbox_server: SandboxServer) -> AtApi:
    return AtApi(sandbox_server.url, sandbox)
