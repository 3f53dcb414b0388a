"""catalog_sync end to end on the sandbox at small scale, both PSAs (the quick check; medium scale in
test_catalog_sync.py)."""

from __future__ import annotations

import pytest

from channelsync.sandbox.control_client import SandboxControl
from tests.e2e.conftest import RunTemplate, last_seq, writes
from tests.e2e.psa_probe import PSA_TABLES


@pytest.mark.parametrize("integration", ["demo-connectwise", "demo-autotask"])
def test_first_sync_creates_then_second_sync_writes_nothing(
    sandbox: SandboxControl, run_template: RunTemplate, integration: str
) -> None:
    system = PSA_TABLES[integration][0]
    first = run_template("catalog_sync", integration)
    assert first["status"] == "success", first
    assert first["counts"].get("failed", 0) == 0
    assert first["counts"]["created"] == first["plan"]["create"] > 0
    mark = last_seq(sandbox)
    second = run_template("catalog_sync", integration)
    assert writes(sandbox, system, since=mark) == []
    assert second["status"] == "no_change", second
    assert second["plan"]["unchanged"] == first["plan"]["create"] + first["plan"]["update"]
