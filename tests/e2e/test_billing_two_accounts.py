"""One integration billing two distributor accounts (a Crayon organization and a Pax8 partner) into one
Autotask database: every line is keyed by its account, both customers post, each to its own contract —
what PRISM Connect cannot do (one CSP agreement per connection)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from channelsync.config import load_config
from channelsync.connections import SettingsClientFactory, connections_from_settings
from channelsync.imports import load_object
from channelsync.runs.context import RunContext
from channelsync.runs.runner import run_in_process
from channelsync.sandbox.control_client import SandboxControl
from channelsync.sandbox.server import SandboxServer
from channelsync.state.mappings import CustomerKey, set_mapping
from channelsync.templates.registry import TEMPLATES
from tests.e2e import billing_world as world

ROOT = Path(__file__).resolve().parents[2]
MONTHLY = "CFQ7TTC0LDPB:0001:P1M:Monthly"


@pytest.fixture()
def runner(tmp_path: Path, sandbox_server: SandboxServer, state_store: str) -> Any:
    config = yaml.safe_load((ROOT / "config" / "integrations.yaml").read_text())
    both = next(i for i in config["integrations"] if i["name"] == "demo-autotask")
    both["name"] = "two-accounts"
    both["distributors"]["pax8"] = {"conn_id": "sandbox_pax8"}
    config["integrations"] = [both]
    path = tmp_path / "integrations.yaml"
    path.write_text(yaml.safe_dump(config))
    integration = load_config(path).get("two-accounts")
    factory = SettingsClientFactory(connections_from_settings(ROOT / "airflow_settings.yaml",
                                                              sandbox_url=sandbox_server.url), state_url=state_store)
    count = [0]

    def run(template: str, **options: Any) -> dict[str, Any]:
        count[0] += 1
        spec = TEMPLATES[template]
        merged = {**integration.templates[template].options, **options}
        context = RunContext(integration=integration, template=template, run_key=f"two/{template}/{count[0]}",
                             options=spec.options_model.model_validate(merged), state_url=state_store,
                             client_factory=factory)
        return run_in_process(context, load_object(spec.steps)())

    return run


def test_two_accounts_one_integration(sandbox: SandboxControl, runner: Any, state_store: str) -> None:
    for distributor in ("crayon", "pax8"):
        assert runner("service_catalog_sync", distributor=distributor)["status"] in ("success", "warning")
    services = world.service_ids(sandbox, "autotask")
    crayon = world.change(sandbox, "crayon", type="new_tenant", name="Crayon Side Test", offer=MONTHLY, quantity=7,
                          day=1)
    pax8 = world.change(sandbox, "pax8", type="new_tenant", name="Pax8 Side Test", offer=MONTHLY, quantity=4, day=1)
    contracts = {}
    for name, key in (("Crayon Side Test", CustomerKey("crayon", "4401", str(crayon["tenantId"]))),
                      ("Pax8 Side Test", CustomerKey("pax8", "sandbox_pax8", str(pax8["companyId"])))):
        company, contract = world.contract(sandbox, "autotask", name, "2026-12-01", "2027-11-30")
        set_mapping(state_store, "two-accounts", key, company=company, contract=contract, by="test")
        contracts[key.distributor] = contract
    world.publish(sandbox, "crayon")
    world.publish(sandbox, "pax8")
    result = runner("subscription_billing")
    assert result["status"] == "warning", result  # the seeded customers of both accounts are unmapped
    product = next(p for p in sandbox.records("pax8", "products") if p["vendorSku"] == "CFQ7TTC0LDPB:0001")
    crayon_service, pax8_service = services[f"PC_{MONTHLY}"], services[f"PC_{product['sku']}:P1M:Monthly"]
    assert [u[2] for u in world.autotask_units(sandbox, contracts["crayon"], crayon_service, date(2027, 1, 1))] == [7]
    assert [u[2] for u in world.autotask_units(sandbox, contracts["pax8"], pax8_service, date(2027, 1, 1))] == [4]
