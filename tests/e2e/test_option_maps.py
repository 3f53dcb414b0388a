"""Category mappings and service overrides saved in the state store (the pages' and the CLI's) change what
the templates write: catalog_sync files products under the store's categories, syncs a code only the
store maps and leaves out a code the store excludes — its preview shows it first; subscription_billing
posts a retired SKU's lines to the service the store names instead of quarantining them."""

from __future__ import annotations

from datetime import date

import pandas as pd

from channelsync.sandbox.autotask.metadata import PRODUCT_CATEGORY
from channelsync.sandbox.control_client import SandboxControl
from channelsync.state import repository
from channelsync.state.db import session_scope
from channelsync.state.models import SyncRun
from channelsync.state.option_maps import CATEGORIES, SERVICES, exclude_entry, set_entry
from tests.e2e import billing_world as world
from tests.e2e.conftest import RunTemplate, writes

MONTHLY = "CFQ7TTC0LDPB:0001:P1M:Monthly"  # a monthly offer of the sandbox's Crayon price list
INTEGRATION = "demo-autotask"


def _skus(sandbox: SandboxControl, code: str) -> set[str]:
    return {p["synnexSKU"] for p in sandbox.records("tdsynnex", "products", categoryCode=code)
            if p["status"] == "Active" and p.get("authorized", True)}


def _diff(state_url: str, run_id: int) -> pd.DataFrame:
    from channelsync.runs.staging import as_path

    with session_scope(state_url) as session:
        run = session.get(SyncRun, run_id)
        assert run is not None and run.plan_path
        with as_path(run.plan_path).open("r") as source:
            return pd.read_csv(source, dtype="string")


def test_store_category_mappings_change_what_catalog_sync_writes(sandbox: SandboxControl, run_template: RunTemplate,
                                                                 state_store: str) -> None:
    sandbox.reset(scale="tiny", seed=42)
    set_entry(state_store, CATEGORIES, INTEGRATION, "PRN", "Printers", by="alice")  # not in the file
    set_entry(state_store, CATEGORIES, INTEGRATION, "NSW", "Wireless Networking", by="alice")  # the file: Switches
    exclude_entry(state_store, CATEGORIES, INTEGRATION, "KBM", by="alice")  # the file maps it
    printers, switches, keyboards = _skus(sandbox, "PRN"), _skus(sandbox, "NSW"), _skus(sandbox, "KBM")
    assert printers and switches and keyboards

    preview = run_template("catalog_sync", INTEGRATION, preview=True)
    assert preview["status"] == "preview" and writes(sandbox, "autotask") == []
    planned = _diff(state_store, preview["run_id"])
    categories = planned[planned["field"] == "category"].set_index("source_key")["after"]
    assert {categories[f"tdsynnex:{sku}"] for sku in printers} == {"Printers"}
    assert {categories[f"tdsynnex:{sku}"] for sku in switches} == {"Wireless Networking"}
    assert not {f"tdsynnex:{sku}" for sku in keyboards} & set(planned["source_key"])

    result = run_template("catalog_sync", INTEGRATION)
    assert result["status"] == "success", result
    filed = {str(p["sku"]): p["productCategory"] for p in sandbox.records("autotask", "Products") if p.get("sku")}
    assert {filed[sku] for sku in printers} == {PRODUCT_CATEGORY["Printers"]}
    assert {filed[sku] for sku in switches} == {PRODUCT_CATEGORY["Wireless Networking"]}
    synced = {i["source_key"] for i in repository.list_items(state_store, result["run_id"])}
    assert not {f"tdsynnex:{sku}" for sku in keyboards} & synced


def test_a_store_service_override_lets_a_retired_sku_post(sandbox: SandboxControl, run_template: RunTemplate,
                                                          state_store: str) -> None:
    assert run_template("service_catalog_sync", INTEGRATION)["status"] in ("success", "warning")
    services = world.service_ids(sandbox, "autotask")
    legacy = next(name for name in sorted(services) if name.startswith("PC_") and name != f"PC_{MONTHLY}")
    customer = world.new_customer(sandbox, state_store, INTEGRATION, name="Retired Plan Ltd", offer=MONTHLY,
                                  quantity=4, day=1, contract_start="2026-12-01", contract_end="2027-11-30")
    world.publish(sandbox, "crayon")
    (line,) = [r for r in sandbox.records("crayon", "billingrecords")
               if str(r["Subscription"]["Id"]) == customer.subscription_id]
    retired = "CFQ7TTC0GONE:0001:P1M:Monthly"
    sandbox.create_record("crayon", "billingrecords",
                          world.line_variant(line, 990101, Product__PartNumber=retired, Quantity=3))
    set_entry(state_store, SERVICES, INTEGRATION, retired, legacy, by="alice")

    result = run_template("subscription_billing", INTEGRATION)
    quarantined = [i for i in repository.list_items(state_store, result["run_id"]) if i["outcome"] == "quarantined"]
    assert not [i for i in quarantined if i["source_key"].endswith(":990101")], quarantined
    units = world.autotask_units(sandbox, customer.contract_id, services[legacy], date(2027, 1, 1))
    assert [(start, end, seats) for start, end, seats, _ in units] == [("2026-12-01", "2026-12-31", 3)]
    assert world.autotask_units(sandbox, customer.contract_id, services[f"PC_{MONTHLY}"], date(2027, 1, 1))[0][2] == 4
