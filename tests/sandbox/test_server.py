"""The sandbox server itself: routing to emulators, control API, faults and the request log."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import pytest
import requests

from channelsync.sandbox import registry
from channelsync.sandbox.framework import Emulator, SandboxRequest, SandboxResponse, json_response
from channelsync.sandbox.server import SandboxServer


class EchoEmulator(Emulator):
    system: ClassVar[str] = "echo"

    def reset(self) -> None:
        self.store.clear()
        self.store.table("things").insert({"name": "first"})

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        if request.method == "POST":
            return json_response(201, self.store.table("things").insert(request.json()))
        return json_response(200, {"path": request.path, "count": len(self.store.table("things"))})

    def error_response(self, status: int, message: str) -> SandboxResponse:
        return json_response(status, {"echoError": message})


@pytest.fixture()
def echo_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setattr(registry, "EMULATORS", {"echo": f"{__name__}:EchoEmulator"})
    server = SandboxServer(port=0, scale="tiny").start()
    yield server.url
    server.stop()


def test_routes_by_prefix_case_insensitively_and_logs(echo_server: str) -> None:
    assert requests.get(f"{echo_server}/ECHO/a/B?x=1", timeout=5).json()["path"] == "/a/B"
    log = requests.get(f"{echo_server}/_sandbox/requests", timeout=5).json()["requests"]
    assert [(e["system"], e["method"], e["path"], e["status"]) for e in log] == [("echo", "GET", "/a/B", 200)]
    assert requests.get(f"{echo_server}/nowhere", timeout=5).status_code == 404


def test_status_fault_uses_vendor_shape_and_retry_after(echo_server: str) -> None:
    requests.post(f"{echo_server}/_sandbox/faults",
                  json={"kind": "status", "status": 429, "retry_after": 7, "count": 1}, timeout=5)
    first = requests.get(f"{echo_server}/echo/x", timeout=5)
    assert first.status_code == 429 and first.headers["Retry-After"] == "7" and "echoError" in first.json()
    assert requests.get(f"{echo_server}/echo/x", timeout=5).status_code == 200


def test_write_then_drop_applies_the_write(echo_server: str) -> None:
    requests.post(f"{echo_server}/_sandbox/faults", json={"kind": "write_then_drop", "method": "POST"}, timeout=5)
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{echo_server}/echo/things", json={"name": "second"}, timeout=5)
    assert requests.get(f"{echo_server}/echo/x", timeout=5).json()["count"] == 2


def test_direct_record_edits_and_reset(echo_server: str) -> None:
    created = requests.post(f"{echo_server}/_sandbox/records/echo/things", json={"name": "x"}, timeout=5).json()
    assert requests.get(f"{echo_server}/_sandbox/records/echo/things/{created['id']}", timeout=5).json()["name"] == "x"
    requests.patch(f"{echo_server}/_sandbox/records/echo/things/{created['id']}", json={"name": "y"}, timeout=5)
    found = requests.get(f"{echo_server}/_sandbox/records/echo/things", params={"name": "y"}, timeout=5).json()
    assert found["count"] == 1
    requests.post(f"{echo_server}/_sandbox/reset", json={"scale": "tiny", "seed": 1}, timeout=5)
    assert requests.get(f"{echo_server}/_sandbox/records/echo/things", timeout=5).json()["count"] == 1


def test_clock_can_be_set_and_advanced(echo_server: str) -> None:
    set_to = requests.post(f"{echo_server}/_sandbox/clock", json={"now": "2026-01-31T00:00:00+00:00", "frozen": True},
                           timeout=5).json()
    assert set_to["now"].startswith("2026-01-31")
    moved = requests.post(f"{echo_server}/_sandbox/clock", json={"advance_days": 1}, timeout=5).json()
    assert moved["now"].startswith("2026-02-01")
