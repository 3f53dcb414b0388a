"""Fixtures of the Autotask client tests: an Autotask-only sandbox and a client factory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from channelsync.clients.autotask import AutotaskClient
from channelsync.clients.autotask import client as client_module
from channelsync.clients.http import RetryPolicy
from channelsync.sandbox import demo_credentials
from channelsync.sandbox.control_client import SandboxControl
from channelsync.sandbox.server import SandboxServer
from tests.sandbox_servers import running_sandbox

CREDS = demo_credentials.AUTOTASK


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    yield from running_sandbox(["autotask"])


@pytest.fixture()
def make_client(sandbox: SandboxControl, sandbox_server: SandboxServer) -> Callable[..., AutotaskClient]:
    client_module._ZONES.clear()  # each test sees zone discovery happen

    def make(**overrides: Any) -> AutotaskClient:
        options: dict[str, Any] = {
            "base_url": f"{sandbox_server.url}/autotask", "username": CREDS["username"], "secret": CREDS["secret"],
            "integration_code": CREDS["integration_code"],
            "policy": RetryPolicy(max_attempts=4, backoff_base=0.01, backoff_cap=0.05),
        }
        options.update(overrides)
        return AutotaskClient(**options)

    return make


@pytest.fixture()
def client(make_client: Callable[..., AutotaskClient]) -> AutotaskClient:
    return make_client()


def api_calls(sandbox: SandboxControl, path_part: str = "") -> list[dict[str, Any]]:
    return [e for e in sandbox.requests("autotask") if path_part.lower() in e["path"].lower()]


@pytest.fixture()
def calls(sandbox: SandboxControl) -> Callable[[str], list[dict[str, Any]]]:
    """``calls("Products/query")``: request-log entries whose path contains the text."""
    def entries(path_part: str = "") -> list[dict[str, Any]]:
        return api_calls(sandbox, path_part)

    return entries
