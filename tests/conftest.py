"""Shared fixtures: a real sandbox server on loopback, and state stores on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from channelsync.sandbox.control_client import SandboxControl
from channelsync.sandbox.server import SandboxServer


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    server = SandboxServer(host="127.0.0.1", port=0, scale="small", seed=42).start()
    yield server
    server.stop()


@pytest.fixture()
def sandbox(sandbox_server: SandboxServer) -> SandboxControl:
    """The sandbox reset to small scale, seed 42, no faults, empty request log."""
    control = SandboxControl(sandbox_server.url)
    control.reset(scale="small", seed=42)
    return control
