"""subscription_billing exactly once under faults: the worker dies before a posting is sent and after it
was sent but before the ledger knows, while Autotask answers 10 % 5xx, 5 % timeouts and loses 5 % of its
adjustment answers after applying them; then reruns until quiet. Counted from Autotask's own records:
every contract service carries exactly the invoice's units, made by exactly the expected adjustments
(none doubled, none missing). The same with a second integration on the same PSA and Crayon account
billing the same invoice at the same time.
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from channelsync.sandbox.control_client import SandboxControl
from channelsync.sandbox.server import SandboxServer
from channelsync.state.mappings import CustomerKey, set_mapping
from tests.e2e import billing_world as world
from tests.e2e.conftest import RunTemplate
from tests.e2e.fault_runner import Crasher, Runner, fault_mix

ROOT = Path(__file__).resolve().parents[2]
MONTHLY = "CFQ7TTC0LDPB:0001:P1M:Monthly"
CUSTOMERS = 8
MAX_RERUNS = 8
TEMPLATE = "subscription_billing"


class BillingRunner(Runner):
    """The fault runner's client factory (short retries), crash points on the adjustment POST, and
    a barrier that holds each run's first posting until the other integration has planned too, so both
    plan the same change from the same PSA state (the race the ledger must win)."""

    barrier: threading.Barrier | None = None

    def factory(self, system: str, conn_id: str) -> Any:
        client = super().factory(system, conn_id)
        if system == "autotask":
            create, crasher, barrier = client.create, self.crasher, self.barrier
            first = [True]

            def crashing_create(entity: str, fields: dict[str, Any]) -> Any:
                if entity == "ContractServiceAdjustments":
                    if barrier is not None and first[0]:
                        first[0] = False
                        with contextlib.suppress(threading.BrokenBarrierError):
                            barrier.wait(timeout=20)
                        self.barrier = None  # once: later rounds have nothing to race for
                    crasher.reach("before_send")
                answer = create(entity, fields)
                if entity == "ContractServiceAdjustments":
                    crasher.reach("after_send")
                return answer

            client.create = crashing_create
        return client

    def run_billing(self, integration: str) -> dict[str, Any]:
        return self.run(integration, template=TEMPLATE)

    def until_quiet(self, *integrations: str) -> list[dict[str, Any]]:
        summaries: list[dict[str, Any]] = []
        for _ in range(MAX_RERUNS):
            rounds = _together(self.run_billing, integrations)
            summaries.extend(rounds)
            if all(s["status"] in ("success", "warning", "no_change") and not s["counts"].get("failed")
                   and not s["counts"].get("deferred") for s in rounds):
                return summaries
        raise AssertionError(f"not quiet after {MAX_RERUNS} reruns: {summaries[-len(integrations):]}")


def _together(run: Any, integrations: tuple[str, ...]) -> list[dict[str, Any]]:
    """Run the integrations at the same time (threads: the ledger's claims are rows in the state store)."""
    results: dict[str, dict[str, Any]] = {}
    threads = [threading.Thread(target=lambda n=name: results.__setitem__(n, run(n))) for name in integrations]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    return [results[name] for name in integrations]


def _customers(sandbox: SandboxControl, state_store: str, integrations: list[str]) -> list[world.Customer]:
    """CUSTOMERS new tenants, 10 seats from 12/01 and 14 from 12/12 (two adjustments each, in order)."""
    made = []
    for n in range(CUSTOMERS):
        customer = world.new_customer(sandbox, state_store, integrations[0], name=f"Fault Test {n}", offer=MONTHLY,
                                      quantity=10, day=1, contract_start="2026-12-01", contract_end="2027-11-30")
        world.change(sandbox, "crayon", type="seat_change", subscription_id=int(customer.subscription_id),
                     quantity=14, day=12)
        for other in integrations[1:]:
            set_mapping(state_store, other, CustomerKey("crayon", "4401", customer.tenant_id),
                        company=customer.company_id, contract=customer.contract_id, by="test")
        made.append(customer)
    world.publish(sandbox, "crayon")
    return made


def _assert_posted_once(sandbox: SandboxControl, customers: list[world.Customer], service: str, price: float) -> None:
    adjustments = Counter(str(a["contractID"]) for a in sandbox.records("autotask", "ContractServiceAdjustments"))
    for customer in customers:
        assert world.autotask_units(sandbox, customer.contract_id, service, date(2027, 1, 1)) == [
            ("2026-12-01", "2026-12-11", 10, price), ("2026-12-12", "2026-12-31", 14, price)], customer
        assert adjustments[customer.contract_id] == 2, (customer, adjustments[customer.contract_id])


def _twin_config(tmp_path: Path) -> Path:
    config = yaml.safe_load((ROOT / "config" / "integrations.yaml").read_text())
    original = next(i for i in config["integrations"] if i["name"] == "demo-autotask")
    config["integrations"] = [original, {**original, "name": "demo-autotask-twin"}]
    path = tmp_path / "integrations.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.parametrize("twin", [False, True], ids=["one integration", "two integrations at once"])
def test_crashes_and_faults_post_each_adjustment_once(sandbox: SandboxControl, sandbox_server: SandboxServer,
                                                      run_template: RunTemplate, state_store: str, tmp_path: Path,
                                                      twin: bool) -> None:
    assert run_template("service_catalog_sync", "demo-autotask")["status"] in ("success", "warning")
    service = world.service_ids(sandbox, "autotask")[f"PC_{MONTHLY}"]
    price = next(float(p["RecommendedRetailPrice"]["Value"]) for p in sandbox.records("crayon", "agreementproducts")
                 if p["ProductVariant"]["PartNumber"] == MONTHLY)
    integrations = ["demo-autotask", "demo-autotask-twin"] if twin else ["demo-autotask"]
    customers = _customers(sandbox, state_store, integrations)
    crasher = Crasher()
    runner = BillingRunner(sandbox_server, state_store, _twin_config(tmp_path), crasher)

    sandbox.set_faults(
        {"kind": "write_then_drop", "system": "autotask", "method": "POST", "path": "ContractServiceAdjustments",
         "probability": 0.05},
        *fault_mix("autotask"))
    crasher.arm("before_send", 3)
    assert runner.run_billing("demo-autotask")["status"] == "crashed"
    crasher.arm("after_send", 4)
    assert runner.run_billing("demo-autotask")["status"] == "crashed"
    if twin:
        runner.barrier = threading.Barrier(2)
    runner.until_quiet(*integrations)
    sandbox.clear_faults()
    _assert_posted_once(sandbox, customers, service, price)
    # Quiet means quiet: one more round writes nothing.
    before = len(sandbox.records("autotask", "ContractServiceAdjustments"))
    runner.until_quiet(*integrations)
    assert len(sandbox.records("autotask", "ContractServiceAdjustments")) == before
