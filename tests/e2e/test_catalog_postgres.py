"""The same catalog sync with the state store on PostgreSQL (production's store): upserts, ledger and
cross-reference on the PostgreSQL dialect."""

from __future__ import annotations

import pytest

from channelsync.sandbox.control_client import SandboxControl
from tests.e2e.conftest import RunTemplate, last_seq, writes

pytestmark = [pytest.mark.postgres, pytest.mark.state_backend("postgresql")]


@pytest.mark.parametrize("integration", ["demo-connectwise", "demo-autotask"])
def test_sync_twice_and_crash_resume_on_postgres(
    sandbox: SandboxControl, run_template: RunTemplate, state_store: str, integration: str
) -> None:
    assert state_store.startswith("postgresql")
    system = "connectwise" if integration == "demo-connectwise" else "autotask"
    create_path = "procurement/catalog/?$" if system == "connectwise" else "products/?$"
    sandbox.set_faults({"kind": "drop", "system": system, "method": "POST", "path": create_path, "skip": 40})
    crashed = run_template("catalog_sync", integration)
    assert crashed["status"] == "failure"
    sandbox.clear_faults()
    first = run_template("catalog_sync", integration)
    assert first["status"] == "success" and not first["counts"].get("failed"), first
    mark = last_seq(sandbox)
    second = run_template("catalog_sync", integration)
    assert second["status"] == "no_change" and writes(sandbox, system, since=mark) == []
