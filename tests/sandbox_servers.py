"""Starting and resetting sandbox servers for tests (used by the conftests)."""

from __future__ import annotations

from collections.abc import Iterator

from channelsync.sandbox.control_client import SandboxControl
from channelsync.sandbox.server import SandboxServer


def running_sandbox(systems: list[str] | None = None) -> Iterator[SandboxServer]:
    """A real sandbox server on an ephemeral loopback port (``systems``: only those emulators, so a
    reset rebuilds one emulator and its tests depend on no other)."""
    server = SandboxServer(host="127.0.0.1", port=0, scale="small", seed=42, systems=systems).start()
    yield server
    server.stop()


def reset_sandbox(server: SandboxServer) -> SandboxControl:
    """The sandbox reset to small scale, seed 42, no faults, empty request log."""
    control = SandboxControl(server.url)
    control.reset(scale="small", seed=42)
    return control
