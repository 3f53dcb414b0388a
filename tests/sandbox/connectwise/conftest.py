"""Fixtures for the ConnectWise emulator tests: the API root URL and an authenticated session.

``cw_server`` is a real :class:`SandboxServer` on loopback hosting only the ConnectWise emulator, so
these tests neither wait for nor break on the other emulators (reset reseeds only ConnectWise);
``sandbox`` is overridden here to control that server, reset to small / seed 42 before each test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from channelsync.sandbox import demo_credentials
from channelsync.sandbox.control_client import SandboxControl
from channelsync.sandbox.server import SandboxServer
from tests.sandbox_servers import reset_sandbox, running_sandbox

CREDS = demo_credentials.CONNECTWISE
AUTH = (f"{CREDS['company']}+{CREDS['public_key']}", CREDS["private_key"])


@pytest.fixture(scope="session")
def cw_server() -> Iterator[SandboxServer]:
    yield from running_sandbox(["connectwise"])


@pytest.fixture()
def sandbox(cw_server: SandboxServer) -> SandboxControl:
    return reset_sandbox(cw_server)


@pytest.fixture()
def api(sandbox: SandboxControl, cw_server: SandboxServer) -> str:
    """``…/connectwise/v4_6_release/apis/3.0`` on a freshly reset sandbox."""
    return f"{cw_server.url}/connectwise/v4_6_release/apis/3.0"


@pytest.fixture()
def cw() -> requests.Session:
    session = requests.Session()
    session.auth = AUTH
    session.headers["clientId"] = CREDS["client_id"]
    return session
