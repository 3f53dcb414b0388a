"""Shared fixtures: a real sandbox server on loopback, and state stores on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from channelsync.sandbox.control_client import SandboxControl
from channelsync.sandbox.server import SandboxServer
from tests.sandbox_servers import reset_sandbox, running_sandbox


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    yield from running_sandbox()


@pytest.fixture()
def sandbox(sandbox_server: SandboxServer) -> SandboxControl:
    return reset_sandbox(sandbox_server)
