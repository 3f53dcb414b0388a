"""Two integrations on one Autotask database and one TD SYNNEX catalog (the manuals' "multiple template
activations"), loading at the same time in separate processes: every product is created once, and
Autotask's limit of 3 concurrent calls per entity holds across the processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

from channelsync.sandbox.control_client import SandboxControl
from channelsync.sandbox.server import SandboxServer
from tests.e2e.psa_probe import lift_hourly_threshold, products_per_vendor_sku

ROOT = Path(__file__).resolve().parents[2]


def _twin_config(tmp_path: Path) -> Path:
    """demo-autotask and a twin with the same PSA connection and the same catalog options."""
    config = yaml.safe_load((ROOT / "config" / "integrations.yaml").read_text())
    original = next(i for i in config["integrations"] if i["name"] == "demo-autotask")
    twin = {**original, "name": "demo-autotask-twin"}
    config["integrations"] = [original, twin]
    path = tmp_path / "integrations.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.parametrize("backend", [
    "sqlite",
    pytest.param("postgresql", marks=[pytest.mark.postgres, pytest.mark.state_backend("postgresql")]),
])
def test_two_integrations_at_once_create_each_product_once_within_the_thread_limit(
    sandbox: SandboxControl, sandbox_server: SandboxServer, state_store: str, tmp_path: Path, backend: str
) -> None:
    """``backend``: the shared state store (the ledger and the leases) is SQLite or PostgreSQL."""
    lift_hourly_threshold(sandbox, "demo-autotask")
    # Each call holds its thread slot 30 ms, so overlapping calls are visible on loopback.
    sandbox.control("autotask", "limits", json={"processing_ms": 30})
    sandbox.reset_concurrency()
    config = _twin_config(tmp_path)
    start_at = time.time() + 4.0
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.e2e.run_integration", "--config", str(config), "--integration", name,
             "--template", "catalog_sync", "--sandbox-url", sandbox_server.url, "--state-url", state_store,
             "--start-at", str(start_at)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name in ("demo-autotask", "demo-autotask-twin")
    ]
    summaries = []
    for run in runs:
        stdout, stderr = run.communicate(timeout=600)
        assert run.returncode == 0, stderr[-3000:]
        summaries.append(json.loads(stdout.strip().splitlines()[-1]))

    per_sku = products_per_vendor_sku(sandbox, "demo-autotask")
    assert [sku for sku, count in per_sku.items() if count > 1] == []
    # Both planned (nearly) every product as a create — the later planner may already see a few the other
    # made — and between them each was created exactly once; the other run linked it.
    planned = [s["plan"]["create"] for s in summaries]
    created = [s["counts"].get("created", 0) for s in summaries]
    linked = [s["counts"].get("linked", 0) for s in summaries]
    assert min(planned) > 0 and sum(created) == max(planned), summaries
    assert all(c + n >= p for c, n, p in zip(created, linked, planned, strict=True)), summaries
    assert all(s["counts"].get(bad, 0) == 0 for s in summaries for bad in ("failed", "deferred")), summaries
    limits = sandbox.control("autotask", "limits", method="GET")
    assert limits["refusals"]["thread_limit"] == 0, limits
    high_water = sandbox.concurrency()["autotask"]
    assert max(high_water.values()) <= 3, high_water
    assert Counter(high_water).most_common(1)[0][1] >= 2, high_water  # they really overlapped
