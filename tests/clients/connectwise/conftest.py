"""Fixtures for the ConnectWise client tests: a loopback sandbox hosting only ConnectWise, and clients.

(The sandbox tests in tests/sandbox/connectwise use the same isolated server for the same reason:
resets reseed only ConnectWise and other emulators cannot break these tests.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from channelsync.clients.connectwise import ConnectWiseClient
from channelsync.clients.http import RetryPolicy
from channelsync.sandbox import demo_credentials
from channelsync.sandbox.control_client import SandboxControl
from channelsync.sandbox.server import SandboxServer
from tests.sandbox_servers import reset_sandbox, running_sandbox

CREDS = demo_credentials.CONNECTWISE
FAST = RetryPolicy(max_attempts=4, backoff_base=0.01, backoff_cap=0.05, connect_timeout=2, read_timeout=5)


@pytest.fixture(scope="session")
def cw_server() -> Iterator[SandboxServer]:
    yield from running_sandbox(["connectwise"])


@pytest.fixture()
def sandbox(cw_server: SandboxServer) -> SandboxControl:
    return reset_sandbox(cw_server)


@pytest.fixture()
def make_client(sandbox: SandboxControl, cw_server: SandboxServer) -> Callable[..., ConnectWiseClient]:
    def build(**overrides: Any) -> ConnectWiseClient:
        kwargs: dict[str, Any] = {
            "site_url": f"{cw_server.url}/connectwise", "company": CREDS["company"],
            "public_key": CREDS["public_key"], "private_key": CREDS["private_key"],
            "client_id": CREDS["client_id"], "policy": FAST, "sleep": lambda _s: None, **overrides,
        }
        return ConnectWiseClient(**kwargs)

    return build


@pytest.fixture()
def client(make_client: Callable[..., ConnectWiseClient]) -> ConnectWiseClient:
    return make_client()
