"""catalog_sync end to end on the sandbox at medium scale, for both PSAs (issue: "What it must show")."""

from __future__ import annotations

import pytest

from channelsync.sandbox.control_client import SandboxControl
from tests.e2e.conftest import RunTemplate, last_seq, writes
from tests.e2e.psa_probe import PSA_TABLES, edit_price, lift_hourly_threshold, price_of, products_per_vendor_sku

pytestmark = pytest.mark.slow
INTEGRATIONS = ["demo-connectwise", "demo-autotask"]


def _selected_active_skus(sandbox: SandboxControl, categories: list[str]) -> list[str]:
    skus = []
    for code in categories:
        skus += [p["synnexSKU"] for p in sandbox.records("tdsynnex", "products", categoryCode=code)
                 if p["status"] == "Active" and p.get("authorized", True)]
    return sorted(skus)


@pytest.mark.parametrize("integration", INTEGRATIONS)
def test_create_then_nothing_then_exact_updates_then_conflict(
    sandbox: SandboxControl, run_template: RunTemplate, integration: str
) -> None:
    system = PSA_TABLES[integration][0]
    sandbox.reset(scale="medium", seed=42)
    lift_hourly_threshold(sandbox, integration)

    first = run_template("catalog_sync", integration)
    assert first["status"] == "success", first
    assert first["counts"].get("failed", 0) == 0
    assert first["counts"]["created"] == first["plan"]["create"] > 1000

    mark = last_seq(sandbox)
    second = run_template("catalog_sync", integration)
    assert writes(sandbox, system, since=mark) == [], "a sync with nothing changed must not write"
    assert second["status"] == "no_change", second

    # 1 % of the selected products change cost at TD SYNNEX: exactly that many PSA writes.
    categories = sorted(first_options(integration))
    skus = _selected_active_skus(sandbox, categories)
    changed = skus[:: 100]
    for sku in changed:
        record = sandbox.record("tdsynnex", "products", sku)
        sandbox.edit_record("tdsynnex", "products", sku, {"price": f"{float(record['price']) + 1.37:.2f}"})
    mark = last_seq(sandbox)
    third = run_template("catalog_sync", integration)
    assert third["plan"]["update"] == len(changed), third
    assert len(writes(sandbox, system, since=mark)) == len(changed)
    assert third["counts"]["updated"] == len(changed) and third["status"] == "success"

    # A person edits a synced product's price in the PSA: reported as a conflict, not overwritten.
    product_id = next(iter(_synced_ids(sandbox, integration)))
    edit_price(sandbox, integration, product_id, 1.23)
    sandbox.edit_record("tdsynnex", "products", _sku_of(sandbox, integration, product_id), {"price": "777.00"})
    fourth = run_template("catalog_sync", integration)
    assert fourth["counts"].get("conflict") == 1, fourth
    assert fourth["status"] == "warning"
    assert price_of(sandbox, integration, product_id) == 1.23


@pytest.mark.parametrize("integration", INTEGRATIONS)
def test_crash_after_half_the_writes_then_rerun_leaves_one_product_per_sku(
    sandbox: SandboxControl, run_template: RunTemplate, integration: str
) -> None:
    system = PSA_TABLES[integration][0]
    sandbox.reset(scale="medium", seed=7)
    lift_hourly_threshold(sandbox, integration)
    preview = run_template("catalog_sync", integration, preview=True)
    creates = preview["plan"]["create"]
    assert writes(sandbox, system) == [] and creates > 1000
    half = creates // 2
    create_path = "procurement/catalog/?$" if system == "connectwise" else "products/?$"
    # After half the creates: 3 answers are lost after the write is applied, then the PSA is unreachable.
    sandbox.set_faults(
        {"kind": "write_then_drop", "system": system, "method": "POST", "path": create_path, "skip": half, "count": 3},
        {"kind": "drop", "system": system, "method": "POST", "path": create_path, "skip": half + 3},
    )
    crashed = run_template("catalog_sync", integration)
    assert crashed["status"] == "failure", crashed
    assert 0 < crashed["counts"].get("created", 0) <= half + 3
    # The failed load still counts its calls on the run (every write the PSA saw, plus the reads).
    assert crashed["api_calls"][system] > len(writes(sandbox, system)) >= crashed["counts"]["created"], crashed
    sandbox.clear_faults()

    rerun = run_template("catalog_sync", integration)
    assert rerun["status"] in ("success", "warning") and rerun["counts"].get("failed", 0) == 0, rerun
    per_sku = products_per_vendor_sku(sandbox, integration)
    synced = [f"{sku}" for sku in _selected_active_skus(sandbox, sorted(first_options(integration)))]
    assert all(per_sku[sku] == 1 for sku in synced), {s: per_sku[s] for s in synced if per_sku[s] != 1}


def first_options(integration: str) -> dict[str, str]:
    from pathlib import Path

    from channelsync.config import load_config

    config = load_config(Path(__file__).resolve().parents[2] / "config" / "integrations.yaml")
    return dict(config.get(integration).templates["catalog_sync"].options["category_map"])


def _synced_ids(sandbox: SandboxControl, integration: str) -> list[str]:
    from sqlalchemy import select

    from channelsync.state.db import session_scope
    from channelsync.state.models import CrossReference

    with session_scope() as session:
        return list(session.scalars(select(CrossReference.psa_id).where(CrossReference.integration == integration)
                                    .order_by(CrossReference.id).limit(5)))


def _sku_of(sandbox: SandboxControl, integration: str, product_id: str) -> str:
    from sqlalchemy import select

    from channelsync.state.db import session_scope
    from channelsync.state.models import CrossReference

    with session_scope() as session:
        key = session.scalar(select(CrossReference.source_key).where(
            CrossReference.integration == integration, CrossReference.psa_id == str(product_id)))
    assert key is not None
    return key.split(":", 1)[1]
