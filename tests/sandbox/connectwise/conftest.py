"""Fixtures for the ConnectWise emulator tests: the API root URL and an authenticated session.

``cw_server`` is a real :class:`SandboxServer` on loopback hosting only the ConnectWise emulator, so
these tests neither wait for nor break on the other emulators (reset reseeds only ConnectWise);
``sandbox`` is overridden here to control that server, reset to small / seed 42 before each test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from channelsync.sandbox import demo_credentials, registry
from channelsync.sandbox.control_client import SandboxControl
from channelsync.sandbox.server import SandboxServer

CREDS = demo_credentials.CONNECTWISE
AUTH = (f"{CREDS['company']}+{CREDS['public_key']}", CREDS["private_key"])
CONNECTWISE_ONLY = {"connectwise": registry.EMULATORS["connectwise"]}


@pytest.fixture(scope="session")
def cw_server() -> Iterator[SandboxServer]:
    saved = registry.EMULATORS
    registry.EMULATORS = CONNECTWISE_ONLY
    try:
        server = SandboxServer(host="127.0.0.1", port=0, scale="small", seed=42).start()
    finally:
        registry.EMULATORS = saved
    yield server
    server.stop()


@pytest.fixture()
def sandbox(cw_server: SandboxServer) -> SandboxControl:
    control = SandboxControl(cw_server.url)
    control.reset(scale="small", seed=42)
    return control


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
