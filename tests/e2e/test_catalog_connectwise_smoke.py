"""catalog_sync to ConnectWise, end to end on the sandbox (small scale)."""

from __future__ import annotations

from channelsync.sandbox.control_client import SandboxControl

from tests.e2e.conftest import RunTemplate, last_seq, writes


def test_first_sync_creates_then_second_sync_writes_nothing(sandbox: SandboxControl, run_template: RunTemplate) -> None:
    first = run_template("catalog_sync", "demo-connectwise")
    assert first["status"] == "success", first
    assert first["counts"].get("failed", 0) == 0
    assert first["counts"]["created"] == first["plan"]["create"] > 0
    mark = last_seq(sandbox)
    second = run_template("catalog_sync", "demo-connectwise")
    assert writes(sandbox, "connectwise", since=mark) == []
    assert second["status"] == "no_change", second
    assert second["plan"]["unchanged"] == first["plan"]["create"] + first["plan"]["update"]
