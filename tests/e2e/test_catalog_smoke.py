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


def test_product_limit_refuses_the_plan_with_a_clear_message(
    sandbox: SandboxControl, run_template: RunTemplate
) -> None:
    """ConnectWise's catalog limit (20,000; lowered here): the run stops before any write and says how many
    products are over and which categories to narrow."""
    result = run_template("catalog_sync", "demo-connectwise", max_products=100)
    assert result["status"] == "failure"
    message = str(result["error"])
    assert "100" in message and ("Notebooks" in message or "Monitors" in message), message
    assert writes(sandbox, "connectwise") == []


def test_preview_writes_nothing_and_records_a_preview_run(sandbox: SandboxControl, run_template: RunTemplate) -> None:
    result = run_template("catalog_sync", "demo-autotask", preview=True)
    assert result["status"] == "preview" and result["plan"]["create"] > 0
    assert writes(sandbox, "autotask") == []


@pytest.mark.parametrize("staging", ["memory", "file"])
def test_staging_on_another_root_runs_the_sync(
    sandbox: SandboxControl, run_template: RunTemplate, monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory, staging: str,
) -> None:
    """Stages hand each other URLs under CHANNELSYNC_STAGING_URL (any fsspec URL), not local paths."""
    outside = tmp_path_factory.mktemp("shared-volume")
    url = "memory://channelsync-test" if staging == "memory" else f"file://{outside}"
    monkeypatch.setenv("CHANNELSYNC_STAGING_URL", url)
    result = run_template("catalog_sync", "demo-autotask")
    assert result["status"] == "success", result
    from channelsync.runs.staging import as_path

    staged = sorted(p.name for p in (as_path(url) / "demo-autotask" / "catalog_sync").iterdir())
    assert len(staged) == 1
    files = sorted(p.name for p in next((as_path(url) / "demo-autotask" / "catalog_sync").iterdir()).iterdir())
    # category_map.json: the effective category map the extract read, for the later stages (effective_maps)
    assert files == ["category_map.json", "extract.parquet", "plan.parquet", "plan_diff.csv", "valid.parquet"]
