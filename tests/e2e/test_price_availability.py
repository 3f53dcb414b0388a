"""price_availability end to end on the sandbox (small scale), both PSAs: real HTTP, PSA writes counted
from the sandbox request log."""

from __future__ import annotations

import math
from typing import Any

import pytest

from channelsync.sandbox.control_client import SandboxControl
from channelsync.state import repository
from tests.e2e.conftest import RunTemplate, last_seq, writes
from tests.e2e.psa_probe import PSA_TABLES

INTEGRATIONS = ["demo-connectwise", "demo-autotask"]
ACTIVE_FIELD = {"connectwise": ("inactiveFlag", False), "autotask": ("isActive", True)}


def _links(state_store: str, integration: str) -> dict[str, str]:
    """SKU → PSA id of the products catalog_sync linked."""
    rows = repository.load_xref(state_store, integration=integration, entity_type="product")
    return {key.split(":", 1)[1]: psa_id for key, psa_id, _fp in rows}


def _sellable(sandbox: SandboxControl, skus: list[str]) -> list[str]:
    """Linked SKUs TD SYNNEX sells, with room under the MSRP for a price rise (catalog_sync's suite
    quarantines a cost above the MSRP)."""
    out = []
    for sku in skus:
        record = sandbox.record("tdsynnex", "products", sku)
        if record["status"] == "Active" and record.get("authorized", True) and \
                float(record["msrp"]) >= float(record["price"]) * 1.2:
            out.append(sku)
    return out


def _is_active(sandbox: SandboxControl, integration: str, psa_id: str) -> bool:
    system, table, _, _ = PSA_TABLES[integration]
    field, active_value = ACTIVE_FIELD[system]
    return bool(sandbox.record(system, table, psa_id)[field] == active_value)


def _pna_calls(sandbox: SandboxControl, since: int) -> int:
    return sum(1 for e in sandbox.requests("tdsynnex", since=since) if "priceavailability" in e["path"].lower())


def _raise_price(sandbox: SandboxControl, sku: str, percent: float = 3.0) -> None:
    record = sandbox.record("tdsynnex", "products", sku)
    price = float(record["price"])
    sandbox.edit_record("tdsynnex", "products", sku, {"price": f"{price * (1 + percent / 100) + 0.01:.2f}"})


def _first_sync(run_template: RunTemplate, integration: str) -> dict[str, Any]:
    first = run_template("catalog_sync", integration)
    assert first["status"] == "success", first
    assert first["counts"]["created"] > 10
    return first


@pytest.mark.parametrize("integration", INTEGRATIONS)
def test_refresh_writes_only_changed_prices_and_flags_what_tdsynnex_stopped_selling(
    sandbox: SandboxControl, run_template: RunTemplate, state_store: str, integration: str
) -> None:
    system = PSA_TABLES[integration][0]
    _first_sync(run_template, integration)
    links = _links(state_store, integration)
    sellable = _sellable(sandbox, sorted(links))
    assert len(sellable) >= 5

    # Nothing changed at TD SYNNEX: P&A for every linked SKU in batches of 50, no PSA write.
    mark = last_seq(sandbox)
    quiet = run_template("price_availability", integration)
    assert writes(sandbox, system, since=mark) == [], quiet
    assert quiet["counts"].get("updated", 0) == 0 and quiet["counts"].get("failed", 0) == 0, quiet
    assert quiet["status"] in ("no_change", "warning"), quiet  # warning only if a linked SKU is flagged
    assert _pna_calls(sandbox, mark) == math.ceil(len(links) / 50)
    already_flagged = quiet["counts"].get("flagged", 0)

    # Three prices change at TD SYNNEX: exactly three PSA writes.
    changed = sellable[:3]
    for sku in changed:
        _raise_price(sandbox, sku)
    mark = last_seq(sandbox)
    refreshed = run_template("price_availability", integration)
    assert len(writes(sandbox, system, since=mark)) == 3, refreshed
    assert refreshed["counts"]["updated"] == 3 and refreshed["plan"]["update"] == 3, refreshed

    # One discontinued, one no longer authorized: flagged, Warning, the PSA products stay active.
    discontinued, unauthorized = sellable[3], sellable[4]
    sandbox.edit_record("tdsynnex", "products", discontinued, {"status": "Discontinued"})
    sandbox.edit_record("tdsynnex", "products", unauthorized, {"authorized": False})
    mark = last_seq(sandbox)
    flagged = run_template("price_availability", integration)
    assert writes(sandbox, system, since=mark) == [], flagged
    assert flagged["status"] == "warning", flagged
    assert flagged["counts"]["flagged"] == already_flagged + 2, flagged
    for sku in (discontinued, unauthorized):
        assert _is_active(sandbox, integration, links[sku])
    items = _items(state_store, flagged["run_id"], outcome="flagged")
    codes = {key: code for key, code in items}
    assert codes[f"tdsynnex:{discontinued}"] == "PNA_DISCONTINUED"
    assert codes[f"tdsynnex:{unauthorized}"] == "PNA_NOT_AUTHORIZED"


@pytest.mark.parametrize("integration", INTEGRATIONS)
def test_catalog_sync_after_a_refresh_sees_no_conflict_and_writes_nothing(
    sandbox: SandboxControl, run_template: RunTemplate, state_store: str, integration: str
) -> None:
    system = PSA_TABLES[integration][0]
    _first_sync(run_template, integration)
    sellable = _sellable(sandbox, sorted(_links(state_store, integration)))
    for sku in sellable[:3]:
        _raise_price(sandbox, sku, percent=7.5)
    refreshed = run_template("price_availability", integration)
    assert refreshed["counts"]["updated"] == 3, refreshed

    mark = last_seq(sandbox)
    later = run_template("catalog_sync", integration)
    assert later["counts"].get("conflict", 0) == 0, later
    assert later["plan"].get("update", 0) == 0 and later["plan"].get("conflict", 0) == 0, later
    assert writes(sandbox, system, since=mark) == [], later
    assert later["status"] == "no_change", later


@pytest.mark.parametrize("integration", INTEGRATIONS)
def test_a_rerun_of_the_same_refresh_sends_nothing_twice(
    sandbox: SandboxControl, run_template: RunTemplate, state_store: str, integration: str
) -> None:
    system = PSA_TABLES[integration][0]
    _first_sync(run_template, integration)
    sellable = _sellable(sandbox, sorted(_links(state_store, integration)))
    for sku in sellable[:2]:
        _raise_price(sandbox, sku)
    run_template("price_availability", integration)
    mark = last_seq(sandbox)
    again = run_template("price_availability", integration)
    assert writes(sandbox, system, since=mark) == [] and again["counts"].get("updated", 0) == 0, again


@pytest.mark.parametrize("integration", INTEGRATIONS)
def test_list_source_asks_only_for_the_listed_skus(
    sandbox: SandboxControl, run_template: RunTemplate, state_store: str, integration: str
) -> None:
    system = PSA_TABLES[integration][0]
    _first_sync(run_template, integration)
    sellable = _sellable(sandbox, sorted(_links(state_store, integration)))
    for sku in sellable[:4]:
        _raise_price(sandbox, sku)
    mark = last_seq(sandbox)
    listed = run_template("price_availability", integration, source="list", skus=[*sellable[:2], "NOSUCHSKU"])
    assert listed["counts"]["updated"] == 2 and len(writes(sandbox, system, since=mark)) == 2, listed
    assert _pna_calls(sandbox, mark) == 1
    codes = dict(_items(state_store, listed["run_id"], outcome="flagged"))
    assert codes == {"tdsynnex:NOSUCHSKU": "TDS_PNA_NOT_FOUND"}


@pytest.mark.parametrize("integration", INTEGRATIONS)
def test_in_use_source_refreshes_products_on_open_purchase_orders(
    sandbox: SandboxControl, run_template: RunTemplate, state_store: str, integration: str
) -> None:
    system = PSA_TABLES[integration][0]
    _first_sync(run_template, integration)
    links = _links(state_store, integration)
    sellable = _sellable(sandbox, sorted(links))
    on_order, not_on_order = sellable[0], sellable[1]
    _put_on_open_po(sandbox, integration, links[on_order])
    _raise_price(sandbox, on_order)
    _raise_price(sandbox, not_on_order)
    mark = last_seq(sandbox)
    in_use = run_template("price_availability", integration, source="in_use")
    assert in_use["counts"]["updated"] == 1 and len(writes(sandbox, system, since=mark)) == 1, in_use
    updated = dict(_items(state_store, in_use["run_id"], outcome="updated"))
    assert list(updated) == [f"tdsynnex:{on_order}"]


def _put_on_open_po(sandbox: SandboxControl, integration: str, psa_id: str) -> None:
    """Add a line for the product to the seeded open purchase order (directly, as a person would)."""
    if PSA_TABLES[integration][0] == "autotask":
        order = next(o for o in sandbox.records("autotask", "PurchaseOrders") if o["status"] in (1, 2))
        item = sandbox.records("autotask", "PurchaseOrderItems")[0]
        sandbox.create_record("autotask", "PurchaseOrderItems", {
            **{k: v for k, v in item.items() if k != "id"}, "orderID": order["id"], "productID": int(psa_id)})
    else:
        order = next(o for o in sandbox.records("connectwise", "purchaseOrders") if not o["closedFlag"])
        line = next(r for r in sandbox.records("connectwise", "purchaseOrderLineItems")
                    if r["purchaseOrderId"] == order["id"])
        sandbox.create_record("connectwise", "purchaseOrderLineItems", {
            **{k: v for k, v in line.items() if k not in ("id", "_info")}, "lineNumber": 99,
            "product": {**line["product"], "id": int(psa_id)}})


def _items(state_store: str, run_id: int, *, outcome: str) -> list[tuple[str, str | None]]:
    from sqlalchemy import select

    from channelsync.state.db import session_scope
    from channelsync.state.models import SyncItem

    with session_scope(state_store) as session:
        rows = session.execute(select(SyncItem.source_key, SyncItem.error_code).where(
            SyncItem.run_id == run_id, SyncItem.outcome == outcome)).all()
    return [(r[0], r[1]) for r in rows]
